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
@pytest.mark.parametrize("wait", ["0", "900"])
def test_two_concurrent_runs_one_completes_the_other_refuses_or_waits(wait, tmp_path, acceptance_dir, expected):
    inbox = tmp_path / "inbox"
    shutil.copytree(acceptance_dir / "inbox", inbox)
    warehouse = tmp_path / "w.duckdb"
    args = ("run", "--inbox", str(inbox), "--period", PERIOD, "--policy", str(acceptance_dir / "policy.csv"),
            "--warehouse", str(warehouse), "--out", str(tmp_path / "out"), "--wait", wait)
    first = shebao(*args, cwd=tmp_path)
    _wait_for_holder(warehouse, first)
    second = shebao(*args, cwd=tmp_path)
    code2, out2, err2 = finish(second)
    code1, out1, err1 = finish(first)
    assert code1 == 0, err1[-3000:]
    assert "HR report:" in out1
    if wait == "0":
        assert code2 == 2, err2[-3000:]
        assert f"is being written by another shebao run (pid {first.pid}, `shebao run --inbox " in err2
        assert "Traceback" not in err2 and "HR report:" not in out2
    else:  # it waited, then found everything done: nothing new read, nothing booked twice
        assert code2 == 0, err2[-3000:]
        assert "Ingest: 0 rows staged" in out2
    single_run = len(expected["periods"][PERIOD]["ledger"])
    assert query(warehouse, "SELECT count(*) FROM ledger.contributions") == [(single_run,)]
    assert query(warehouse, "SELECT count(*) FROM ingest.loads WHERE status = 'loaded'") == \
        query(warehouse, "SELECT count(DISTINCT sha256) FROM ingest.loads WHERE status = 'loaded'")
