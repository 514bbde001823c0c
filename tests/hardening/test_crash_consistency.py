"""Crash consistency: ``shebao run`` killed (SIGKILL) at named points and at random moments, then re-run,
ends exactly where an uninterrupted close ends: every file accounted once, no ledger row lost or doubled,
the same findings and the same actions.

The runs are children of a fork server (``_forkserver.py``) that imported the project once, talking to
the session's Prefect server: a run costs its own work only. The kill points are the
``transforms.common.faults.checkpoint`` calls in ingest, ledger, validation, actions and the close.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from sample import generate_inbox
from tests.conftest import built_once

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO.parent / "shared" / "acceptance" / "policy.csv"
PERIOD = "2025-03"
EMPLOYEES, FIRST_MONTH, FILES = 60, "2025-02", 28  # the generated inbox: 28 files (six entities)
# One point per stage boundary and inside each stage's transaction (a kill in a transaction leaves a WAL
# that DuckDB must roll back on the next open). SHEBAO_CRASH_POINTS=all adds every file of the ingest and
# the points whose committed state another point already covers.
KILL_POINTS = [
    "ingest.after_file#1", "ingest.before_commit#13", f"ingest.after_file#{FILES}",
    "ledger.before_commit", "validate.before_commit", "close.after_validate",
    "actions.before_commit", "close.after_actions",  # then the exports
]
if os.environ.get("SHEBAO_CRASH_POINTS") == "all":
    KILL_POINTS += [f"ingest.after_file#{n}" for n in range(2, FILES)] + [
        f"ingest.before_commit#{n}" for n in (1, 6, 12, 18, FILES)] + ["close.after_ledger"]
RANDOM_KILLS = int(os.environ.get("SHEBAO_CRASH_RANDOM", "3"))
STATE = {
    "loads": "SELECT source_file, kind, status, rows_read, rows_staged, rows_rejected FROM ingest.loads ORDER BY ALL",
    "staged": "SELECT (SELECT count(*) FROM staging.payroll), (SELECT count(*) FROM staging.attendance),"
              " (SELECT count(*) FROM staging.insurance), (SELECT count(*) FROM staging.transfers),"
              " (SELECT count(*) FROM ingest.rejects), (SELECT count(*) FROM raw.rows)",
    # every ledger row, not only the net: a lost or doubled row shows here even if adjustments balanced it
    "contributions": "SELECT period, entity, employee_id, insurance_type, base, month_fraction, employer_amount,"
                     " employee_amount, entry_type FROM ledger.contributions ORDER BY ALL",
    "net": "SELECT period, entity, employee_id, insurance_type, base, month_fraction, employer_amount,"
           " employee_amount FROM ledger.current_contributions ORDER BY ALL",
    "doubled": "SELECT count(*) FROM (SELECT period, entity, employee_id, insurance_type FROM ledger.contributions"
               " WHERE entry_type = 'original' GROUP BY ALL HAVING count(*) > 1)",
    "findings": "SELECT code, entity, employee_id, id_number, insurance_type, transfer_id, region FROM quality.findings"
                " WHERE run_id = (SELECT max(run_id) FROM quality.runs WHERE status = 'succeeded') ORDER BY ALL",
    "actions": "SELECT action_id, action_type, status, period_first_seen, period_last_seen, finding_codes"
               " FROM actions.cleanup_actions ORDER BY ALL",
}
TRIED = {"kill points": 0, "random kills": 0}


class ForkServer:
    """Runs ``shebao`` commands as forked children of one pre-imported interpreter."""

    def __init__(self, api_url: str, scratch: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEBAO_", "PREFECT_API"))}
        env |= {"PYTHONPATH": str(REPO), "PREFECT_API_URL": api_url}
        self.scratch = scratch
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_forkserver.py")), str(REPO)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=scratch)

    def _answer(self, timeout: float) -> dict | None:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server stopped (exit {self.process.poll()})")
        return json.loads(line)

    def close_month(self, inbox: Path, warehouse: Path, kill_at: str | None = None,
                    kill_after: float | None = None, env: dict | None = None) -> int:
        """``shebao run`` on ``warehouse``; its exit code (-9 when killed). ``kill_after``: SIGKILL after so
        many seconds if still running."""
        argv = ["run", "--inbox", str(inbox), "--period", PERIOD, "--policy", str(POLICY), "--warehouse",
                str(warehouse), "--out", str(warehouse.parent / "out")]
        log = str(warehouse.parent / "runs.log")
        self.process.stdin.write(json.dumps({"argv": argv, "kill_at": kill_at, "log": log, "env": env or {},
                                             "cwd": str(warehouse.parent)}) + "\n")
        self.process.stdin.flush()
        pid = self._answer(120)["pid"]
        answer = self._answer(kill_after if kill_after is not None else 900)
        if answer is None:
            if kill_after is None:
                raise TimeoutError("a close took more than 15 minutes")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            answer = self._answer(120)
        return answer["code"]

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _state(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in STATE.items()}
    finally:
        con.close()


def _assert_same(state: dict, expected: dict) -> None:
    assert state["doubled"] == [(0,)], "an original ledger row was written twice"
    for name in STATE:
        assert state[name] == expected[name], f"{name} differs from the uninterrupted close"


@pytest.fixture(scope="module")
def harness(prefect_harness, tmp_path_factory):
    """A fork server for this module, the generated inbox and the uninterrupted close's state and duration.
    The inbox and its reference close are made once for the whole run (``built_once``): this module and
    tests/hardening/test_disk_full.py compare against the same close, each through its own fork server."""
    from prefect.settings import PREFECT_API_URL

    server = ForkServer(PREFECT_API_URL.value(), tmp_path_factory.mktemp("crash"))

    def build(folder: Path) -> None:
        inbox = folder / "inbox"
        generate_inbox(inbox, EMPLOYEES, FIRST_MONTH, PERIOD, seed=5)
        assert len(list(inbox.iterdir())) == FILES, "the kill points assume this many files"
        reference = folder / "reference" / "w.duckdb"
        reference.parent.mkdir()
        started = time.monotonic()
        code = server.close_month(inbox, reference)
        seconds = time.monotonic() - started
        assert code == 0, (reference.parent / "runs.log").read_text(errors="replace")[-3000:]
        expected = _state(reference)
        assert expected["contributions"] and expected["findings"] and expected["actions"], "a close with nothing to lose"
        (folder / "reference.pickle").write_bytes(pickle.dumps((expected, seconds)))

    folder = built_once(tmp_path_factory, "crash-reference", build)
    expected, seconds = pickle.loads((folder / "reference.pickle").read_bytes())
    yield server, folder / "inbox", expected, seconds
    server.stop()
    print(f"\ncrash harness: {TRIED['kill points']} named kill points and {TRIED['random kills']} random kills "
          f"tried; every re-run equal to the uninterrupted close")


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_killed_at_a_named_point_then_rerun_equals_uninterrupted(harness, tmp_path, kill_at):
    server, inbox, expected, _ = harness
    warehouse = tmp_path / "w.duckdb"
    assert server.close_month(inbox, warehouse, kill_at=kill_at) == -signal.SIGKILL, f"{kill_at} was never reached"
    code = server.close_month(inbox, warehouse)
    assert code == 0, (tmp_path / "runs.log").read_text(errors="replace")[-3000:]
    _assert_same(_state(warehouse), expected)
    TRIED["kill points"] += 1


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["ingest.before_commit#3", "ingest.before_commit#13"])
def test_killed_between_the_chunks_of_large_files_then_rerun_equals_uninterrupted(harness, tmp_path, kill_at):
    """Every file staged in chunks of 7 rows, each chunk its own commit: the kill leaves committed chunks of a
    file whose load row never landed; the re-run discards them and ends equal to the uninterrupted close."""
    server, inbox, expected, _ = harness
    warehouse = tmp_path / "w.duckdb"
    chunked = {"SHEBAO_INGEST_CHUNK_ROWS": "7"}
    assert server.close_month(inbox, warehouse, kill_at=kill_at, env=chunked) == -signal.SIGKILL
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orphans = con.execute("SELECT count(*) FROM raw.rows WHERE load_id IN (SELECT load_id FROM ingest.pending_loads)"
                              ).fetchone()[0]
    finally:
        con.close()
    assert orphans > 0, "the kill did not fall between a large file's chunks"
    assert server.close_month(inbox, warehouse, env=chunked) == 0, (tmp_path / "runs.log").read_text()[-3000:]
    _assert_same(_state(warehouse), expected)
    TRIED["kill points"] += 1


@pytest.mark.slow
def test_killed_at_random_moments_then_rerun_equals_uninterrupted(harness, tmp_path):
    """SIGKILL after random delays within an uninterrupted close's duration, each on the warehouse the
    previous kill left; then one clean run."""
    server, inbox, expected, seconds = harness
    rng = random.Random(int(os.environ.get("SHEBAO_CRASH_SEED", "7")))
    warehouse = tmp_path / "w.duckdb"
    codes = []
    for _ in range(RANDOM_KILLS):
        codes.append(server.close_month(inbox, warehouse, kill_after=rng.uniform(0.05, 0.9) * seconds))
        assert codes[-1] in (0, -signal.SIGKILL), (tmp_path / "runs.log").read_text(errors="replace")[-3000:]
    assert -signal.SIGKILL in codes
    assert server.close_month(inbox, warehouse) == 0, (tmp_path / "runs.log").read_text(errors="replace")[-3000:]
    _assert_same(_state(warehouse), expected)
    TRIED["random kills"] += codes.count(-signal.SIGKILL)
