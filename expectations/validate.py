"""One validation run for a month: record it, run the suites through GX, write every finding in one
transaction. Used by ``flows/validate.py``; free of Prefect so tests and benchmarks call it directly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb

from expectations.gx_duckdb import PROVEN_GX_VERSION
from expectations.registry import CHECKS, Check, record_checks
from expectations.suites import drop_rows, run_suites, write_findings
from transforms.common.faults import checkpoint
from transforms.common.workdays import calendar_warning, ensure_calendar
from warehouse.db import CATALOG, scalar, transaction
from warehouse.errors import ShebaoError


def require_ledger(con: duckdb.DuckDBPyConnection, period: str) -> str:
    """The latest ledger run of ``period``; a clear sentence when the ledger has not been computed."""
    exists = scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'ledger'"
        " AND table_name = 'runs'", [CATALOG])
    row = con.execute("SELECT max(run_id) FROM ledger.runs WHERE period = ?", [period]).fetchone() if exists else None
    if not row or row[0] is None:
        raise ShebaoError(
            f"The ledger for {period} has not been computed; run `shebao ledger --period {period}` before validating."
        )
    return row[0]


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, period: str) -> None:
    con.execute(
        "INSERT INTO quality.runs (run_id, period, started_at, status) VALUES (?, ?, now(), 'running')", [run_id, period]
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, *, status: str) -> None:
    con.execute("UPDATE quality.runs SET status = ?, finished_at = now() WHERE run_id = ?", [status, run_id])


def validate_period(con: duckdb.DuckDBPyConnection, period: str, run_id: str,
                    data_docs_dir: Path | None = None, checks: tuple[Check, ...] = CHECKS) -> dict:
    """Run every check for ``period`` and store its findings under ``run_id`` (a started run).

    ``checks``: the registry's rows, or a caller's (a test's toy code: one SQL file in its own folder and its
    row); they are what ``quality.checks`` records for the later stages.

    Returns a summary without personal data: counts per code and severity, warnings, Data Docs path.
    """
    ledger_run = require_ledger(con, period)
    ensure_calendar(con)
    outcome = run_suites(con, period, checks=checks, data_docs_dir=data_docs_dir)
    warnings = [w for w in [calendar_warning(con, period)] if w]
    if outcome.gx_version != PROVEN_GX_VERSION:
        warnings.append(f"Great Expectations {outcome.gx_version} is not the version the DuckDB adapter was proven "
                        f"on ({PROVEN_GX_VERSION}); the adapter's probe passed.")
    try:
        with transaction(con):
            record_checks(con, checks)
            counts = write_findings(con, run_id, period, checks, expected_counts=outcome.counts, rows=outcome.rows)
            checkpoint("validate.before_commit")
            con.execute(
                "UPDATE quality.runs SET status = 'succeeded', finished_at = now(), ledger_run_id = ?, counts = ?,"
                " warnings = ?, gx_version = ?, gx_success = ?, data_docs = ? WHERE run_id = ?",
                [ledger_run, json.dumps(counts), json.dumps(warnings, ensure_ascii=False), outcome.gx_version,
                 outcome.success, outcome.data_docs, run_id],
            )
    finally:
        drop_rows(con, outcome)  # outside the transaction: it writes the warehouse, this the in-memory catalog
    by_severity = Counter({"error": 0, "warning": 0})
    severity = {check.code: check.severity for check in checks}
    for code, count in counts.items():
        by_severity[severity[code]] += count
    return {
        "run_id": run_id,
        "period": period,
        "ledger_run_id": ledger_run,
        "counts": counts,
        "by_severity": dict(by_severity),
        "findings": sum(counts.values()),
        "gx_success": outcome.success,
        "warnings": warnings,
        "data_docs": outcome.data_docs,
    }
