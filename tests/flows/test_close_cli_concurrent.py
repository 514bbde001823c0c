"""Two ``shebao run`` processes on one warehouse at once: one completes, the other refuses or waits."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import PERIOD, finish, query, shebao

from flows.lock import lock_path


def _wait_for_holder(warehouse: Path, process, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if json.loads(lock_path(warehouse).read_text() or "{}").get("pid") == process.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("the first run never took the warehouse lock")


@pytest.mark.slow
def test_two_concurrent_runs_one_completes_the_others_refuse_or_wait(tmp_path, acceptance_dir, expected):
    """While one run holds the warehouse, a second with ``--wait 0`` refuses at once and a third with
    ``--wait 900`` waits for it, then finds everything done: one close's work for the three (each case
    once cost a close of its own)."""
    inbox = tmp_path / "inbox"
    shutil.copytree(acceptance_dir / "inbox", inbox)
    warehouse = tmp_path / "w.duckdb"
    args = ("run", "--inbox", str(inbox), "--period", PERIOD, "--policy", str(acceptance_dir / "policy.csv"),
            "--warehouse", str(warehouse), "--out", str(tmp_path / "out"), "--wait")
    first = shebao(*args, "0", cwd=tmp_path)
    _wait_for_holder(warehouse, first)
    refusing, waiting = shebao(*args, "0", cwd=tmp_path), shebao(*args, "900", cwd=tmp_path)
    refused, refused_out, refused_err = finish(refusing)
    waited, waited_out, waited_err = finish(waiting)
    code1, out1, err1 = finish(first)
    assert code1 == 0, err1[-3000:]
    assert "HR report:" in out1
    assert refused == 2, refused_err[-3000:]
    assert f"is being written by another shebao run (pid {first.pid}, `shebao run --inbox " in refused_err
    assert "Traceback" not in refused_err and "HR report:" not in refused_out
    # the waiting run, once the first was done: nothing new read, nothing booked twice
    assert waited == 0, waited_err[-3000:]
    assert "Ingest: 0 rows staged" in waited_out
    single_run = len(expected["periods"][PERIOD]["ledger"])
    assert query(warehouse, "SELECT count(*) FROM ledger.contributions") == [(single_run,)]
    assert query(warehouse, "SELECT count(*) FROM ingest.loads WHERE status = 'loaded'") == \
        query(warehouse, "SELECT count(DISTINCT sha256) FROM ingest.loads WHERE status = 'loaded'")
