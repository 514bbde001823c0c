"""``backfill``: one ingest, then the months closed in order, March as the uninterrupted close."""

from __future__ import annotations

from pathlib import Path

from conftest import LEDGER_TOTALS, PERIOD, query


def test_backfill_ingests_once_and_closes_the_months_in_order(prefect_harness, tmp_path, acceptance_dir,
                                                              close_reference):
    from flows.close import backfill

    _, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    summaries = backfill(inbox=str(acceptance_dir / "inbox"), start="2024-02", end=PERIOD, warehouse=str(warehouse),
                         out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    assert [s["period"] for s in summaries] == ["2024-02", PERIOD]
    assert summaries[0]["ingest"]["run_id"] == summaries[1]["ingest"]["run_id"]
    assert query(warehouse, "SELECT count(DISTINCT run_id) FROM ingest.loads") == [(1,)]
    assert query(warehouse, "SELECT period FROM ledger.runs ORDER BY started_at") == [("2024-02",), (PERIOD,)]
    assert all(Path(s["validation"]["report"]).is_file() and Path(s["actions"]["workbook"]).is_file()
               for s in summaries)
    march = LEDGER_TOTALS.replace("GROUP BY", f"WHERE period = '{PERIOD}' GROUP BY")
    assert query(warehouse, march) == query(reference, march)
