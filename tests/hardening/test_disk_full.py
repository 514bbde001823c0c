"""A full disk (18.1): the close on a warehouse whose disk fills up stops in one sentence, and once space
returns the next close ends exactly where an uninterrupted close ends (failed files are loaded again).

The disk is a small tmpfs mounted for the test, which needs root; elsewhere the test is skipped, saying why.
The closes are ``shebao run`` children of the crash harness's fork server, against its reference close.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hardening.test_crash_consistency import _assert_same, _state
from tests.hardening.test_crash_consistency import harness as harness  # a fixture, shared

DISK_MB = 48
LEFT_FREE_KB = 256  # room for the empty warehouse's first writes, not for the inbox


@contextlib.contextmanager
def small_disk(folder: Path, options: str = ""):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (the full disk) needs root; run the hardening tests as root")
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m{options}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the full-disk test needs one")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path, leave_kb: int) -> Path:
    filler = disk / "filler"
    free_kb = shutil.disk_usage(disk).free // 1024
    subprocess.run(["fallocate", "-l", f"{(free_kb - leave_kb) * 1024}", str(filler)], check=True)
    return filler


def close_month(server, inbox: Path, warehouse: Path, log: Path, out: Path | None = None) -> int:
    """``shebao run`` as the crash harness runs it, with its log kept off the full disk."""
    from tests.hardening.test_crash_consistency import PERIOD, POLICY

    argv = ["run", "--inbox", str(inbox), "--period", PERIOD, "--policy", str(POLICY), "--warehouse",
            str(warehouse), "--out", str(out or warehouse.parent / "out")]
    request = {"argv": argv, "kill_at": None, "log": str(log), "env": {}, "cwd": str(log.parent)}
    server.process.stdin.write(json.dumps(request) + "\n")
    server.process.stdin.flush()
    server._answer(120)
    return server._answer(900)["code"]


@pytest.mark.slow
def test_a_close_on_a_full_disk_stops_in_one_sentence_and_the_next_equals_an_uninterrupted_one(harness, tmp_path):  # noqa: F811
    from warehouse.db import connect

    server, inbox, expected, _ = harness
    with small_disk(tmp_path / "disk") as disk:
        warehouse = disk / "w.duckdb"
        connect(warehouse).close()  # an existing warehouse, as on the 5th of any month
        filler = fill(disk, LEFT_FREE_KB)
        log_file = tmp_path / "runs.log"
        code = close_month(server, inbox, warehouse, log_file)
        log = log_file.read_text(errors="replace")
        last = log.strip().splitlines()[-1]
        assert code == 2, "\n".join(log.strip().splitlines()[-6:])
        assert last.startswith("shebao: shebao could not write ") and "no space left" in last, last
        assert "unexpected" not in log
        filler.unlink()
        code = close_month(server, inbox, warehouse, log_file)
        assert code == 0, log_file.read_text(errors="replace")[-3000:]
        state = _state(warehouse)
    failed = [load for load in state["loads"] if load[2] == "failed"]
    state["loads"] = [load for load in state["loads"] if load[2] != "failed"]
    _assert_same(state, expected)
    print(f"\nfull disk: the first close stopped after {len(failed)} failed file(s); the next equalled the reference")


@pytest.mark.slow
def test_out_on_a_read_only_disk_is_one_sentence(harness, tmp_path):  # noqa: F811
    server, inbox, _, _ = harness
    with small_disk(tmp_path / "disk", ",ro") as disk:
        log_file = tmp_path / "runs.log"
        argv_out = disk / "out"
        code = close_month(server, inbox, tmp_path / "w.duckdb", log_file, out=argv_out)
        last = log_file.read_text(errors="replace").strip().splitlines()[-1]
    assert code == 2, last
    assert last.startswith(f"shebao: shebao could not write {argv_out}") and "read-only" in last, last


def test_full_and_read_only_disks_are_sentences_naming_the_file():
    import errno

    import duckdb

    from warehouse.errors import WarehouseError, storage_error

    full = storage_error(OSError(errno.ENOSPC, "No space left on device", "/out/2025-03/ledger.xlsx"))
    assert isinstance(full, WarehouseError)
    assert str(full).startswith("shebao could not write /out/2025-03/ledger.xlsx because there is no space left")
    assert "read-only" in str(storage_error(OSError(errno.EROFS, "Read-only file system", "/out")))
    wal = storage_error(duckdb.IOException('IO Error: Could not write file "/w/w.duckdb.wal": No space left on device'))
    assert str(wal).startswith("shebao could not write /w/w.duckdb.wal because there is no space left")
    assert storage_error(ValueError("no space left on device")) is not None  # DuckDB's text, whatever the class
    assert storage_error(ValueError("a bug")) is None and storage_error(OSError(errno.ENOENT, "gone")) is None
