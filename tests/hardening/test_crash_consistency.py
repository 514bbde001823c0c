"""Crash consistency: the close killed (SIGKILL) at many points, then re-run, ends exactly where an
uninterrupted close ends: every file accounted once, no ledger row lost or doubled, same findings and actions."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from transforms.sample import generate_inbox

REPO = Path(__file__).resolve().parents[2]
CLOSE = ("import sys; from flows.close import monthly_close; "
         "monthly_close(inbox=sys.argv[1], period='2025-03', warehouse=sys.argv[2], out=sys.argv[3])")
KILL_POINTS = ["ingest.after_file#3", "ingest.before_commit#5", "ingest.after_file#30", "ledger.before_commit",
               "close.after_ledger", "validate.before_commit", "close.after_validate", "actions.before_commit",
               "close.after_actions"]
STATE = {
    "loads": "SELECT source_file, kind, status, rows_read, rows_staged, rows_rejected FROM ingest.loads ORDER BY ALL",
    "staged": "SELECT (SELECT count(*) FROM staging.payroll), (SELECT count(*) FROM staging.insurance),"
              " (SELECT count(*) FROM ingest.rejects), (SELECT count(*) FROM raw.rows)",
    "ledger": "SELECT period, entity, employee_id, insurance_type, base, month_fraction, employer_amount,"
              " employee_amount FROM ledger.current_contributions ORDER BY ALL",
    "originals": "SELECT count(*) FROM (SELECT period, entity, employee_id, insurance_type FROM ledger.contributions"
                 " WHERE entry_type = 'original' GROUP BY ALL HAVING count(*) > 1)",
    "findings": "SELECT code, entity, employee_id, id_number, insurance_type, transfer_id, region FROM quality.findings"
                " WHERE run_id = (SELECT max(run_id) FROM quality.runs WHERE status = 'succeeded') ORDER BY ALL",
    "actions": "SELECT action_id, action_type, status FROM actions.cleanup_actions ORDER BY ALL",
}


def _close(inbox: Path, warehouse: Path, out: Path, kill_at: str | None = None,
           kill_after: float | None = None) -> int:
    """Run a close in its own session; return its exit code (-9 when killed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEBAO_", "PREFECT_API"))}
    env["PYTHONPATH"] = str(REPO)
    if kill_at:
        env["SHEBAO_KILL_AT"] = kill_at
    # no pipes: the temporary Prefect server a killed close leaves behind would hold them open
    process = subprocess.Popen([sys.executable, "-c", CLOSE, str(inbox), str(warehouse), str(out)], env=env,
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        try:
            process.wait(timeout=kill_after if kill_after is not None else 600)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                raise
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
        return process.returncode
    finally:  # the temporary Prefect server of a killed close would outlive it otherwise
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _state(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in STATE.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash")
    inbox = folder / "inbox"
    generate_inbox(inbox, 80, "2025-01", "2025-03", seed=5)
    assert _close(inbox, folder / "reference.duckdb", folder / "out") == 0
    return inbox, _state(folder / "reference.duckdb")


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_killed_then_rerun_equals_uninterrupted(reference, tmp_path, kill_at):
    inbox, expected = reference
    warehouse = tmp_path / "w.duckdb"
    assert _close(inbox, warehouse, tmp_path / "out", kill_at=kill_at) == -signal.SIGKILL
    assert _close(inbox, warehouse, tmp_path / "out") == 0
    state = _state(warehouse)
    assert state["originals"] == [(0,)]
    for name in ("loads", "staged", "ledger", "findings", "actions"):
        assert state[name] == expected[name], name


@pytest.mark.slow
def test_killed_at_random_moments(reference, tmp_path):
    inbox, expected = reference
    rng = random.Random(7)
    warehouse = tmp_path / "w.duckdb"
    killed = 0
    for _ in range(3):
        started = time.monotonic()
        code = _close(inbox, warehouse, tmp_path / "out", kill_after=rng.uniform(4, 20))
        killed += code == -signal.SIGKILL
        assert code in (0, -signal.SIGKILL), time.monotonic() - started
    assert _close(inbox, warehouse, tmp_path / "out") == 0
    state = _state(warehouse)
    assert state["originals"] == [(0,)]
    for name in ("loads", "staged", "ledger", "findings", "actions"):
        assert state[name] == expected[name], name
