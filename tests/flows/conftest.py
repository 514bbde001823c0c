"""Fixtures for the close tests (tests/flows/test_close*.py): one reference close of the acceptance
sample, read-only queries on a warehouse file, and the ``shebao`` CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
PERIOD = "2024-03"
# Sorted query outputs two closes must agree on, to the cent and the key.
LEDGER_TOTALS = """SELECT period, entity, region, insurance_type, sum(employer_amount), sum(employee_amount), count(*)
                   FROM ledger.current_contributions GROUP BY ALL ORDER BY ALL"""
FINDING_KEYS = """SELECT period, code, severity, entity, employee_id, id_number, insurance_type, transfer_id, region,
                         CAST(details AS VARCHAR)
                  FROM quality.findings WHERE run_id = (SELECT max(run_id) FROM quality.runs) ORDER BY ALL"""
ACTIONS = "SELECT action_type, status, entity, employee_id, finding_codes FROM actions.cleanup_actions ORDER BY ALL"


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def shebao(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """``shebao`` in a fresh process (embedded Prefect, no SHEBAO_* or Prefect API settings inherited)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SHEBAO_", "PREFECT_API"))}
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**clean, "PYTHONPATH": str(REPO), **(env or {})})


@pytest.fixture(scope="session")
def close_reference(prefect_harness, tmp_path_factory, acceptance_dir):
    """One uninterrupted close of the acceptance sample for 2024-03: (folder, warehouse, summary)."""
    from flows.close import monthly_close

    folder = tmp_path_factory.mktemp("close")
    warehouse = folder / "w.duckdb"
    summary = monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                            out=str(folder / "out"), policy=str(acceptance_dir / "policy.csv"))
    return folder, warehouse, summary
