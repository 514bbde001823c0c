"""Run identifiers: text that sorts in the order runs started."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id() -> str:
    """``20240305T101502123456Z-3fa2``: UTC start time to the microsecond, then a short random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(2)


def latest_validation_run(con, period: str) -> str | None:
    """The latest succeeded validation run of ``period`` (run ids sort in start order), or None: what the
    action list, the declarations and the report act on when no run is named."""
    row = con.execute("SELECT max(run_id) FROM quality.runs WHERE period = ? AND status = 'succeeded'",
                      [period]).fetchone()
    return row[0] if row else None


RUN_TABLES = ("ingest.loads", "ledger.runs", "quality.runs")  # the tables whose rows carry a run_id


def record_flow_run(con, run_id: str, flow_run_id: str | None) -> None:
    """Mark the rows of ``run_id`` in every run table with the Prefect flow run that wrote them."""
    if not flow_run_id:
        return
    for table in RUN_TABLES:
        con.execute(f"UPDATE {table} SET flow_run_id = ? WHERE run_id = ?", [str(flow_run_id), run_id])
