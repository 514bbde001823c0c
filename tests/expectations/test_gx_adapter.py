"""The GX/DuckDB adapter: GX runs every check inside DuckDB on our own connection, and its counts agree with
the rows the same SQL text gives ``quality.findings``."""

from __future__ import annotations

import duckdb_engine
import great_expectations as gx
import pytest
import sqlalchemy as sa

from expectations import gx_duckdb
from expectations.registry import CHECKS, OUTPUT_COLUMNS
from expectations.suites import drop_rows, rows_table, run_suites, write_findings
from expectations.validate import start_run, validate_period
from tests.expectations.conftest import id_number
from warehouse.db import connect, transaction


def _seed(wh) -> None:
    ident = id_number()
    wh.policy()
    wh.payroll(employee_id="E1", id_number=ident)
    wh.payroll(employee_id="E2", id_number=ident, row_number=2)
    wh.insurance(id_number=ident, base="3000")
    wh.employee_month(employee_id="E1", id_number=ident, si_withheld="10", withholding_difference="-630")


def test_pinned_versions_are_the_proven_ones():
    assert gx.__version__ == gx_duckdb.PROVEN_GX_VERSION
    assert sa.__version__ == "2.0.58"


def test_probe_passes_through_the_adapter(con):
    context = gx.get_context(mode="ephemeral")
    cursor = gx_duckdb.gx_cursor(con)
    gx_duckdb.add_datasource(context, cursor)  # probes


def test_probe_fails_loudly_when_results_are_dropped(con):
    """Without the adapter's transaction handling GX's DuckDB results vanish; the probe must say so."""
    cursor = gx_duckdb.gx_cursor(con)
    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_sql(
        name="plain", connection_string="duckdb:///:memory:",
        kwargs={"creator": lambda: duckdb_engine.ConnectionWrapper(cursor), "poolclass": sa.pool.StaticPool},
    )
    with pytest.raises(gx_duckdb.GXAdapterError, match="proven on 1.24.1"):
        gx_duckdb.probe(datasource)


def test_every_check_runs_in_gx_with_the_counts_of_its_findings(wh):
    _seed(wh)
    outcome = run_suites(wh.con, "2024-03")
    assert set(outcome.counts) == {check.code for check in CHECKS}
    assert outcome.counts["DUPLICATE_ID_NUMBER"] == 2
    assert outcome.counts["BASE_BELOW_FLOOR"] == 1
    assert outcome.counts["WITHHOLDING_MISMATCH"] == 1
    assert outcome.counts["MISSING_EXTRACT"] == 2  # attendance and transfers
    assert not outcome.success
    with transaction(wh.con):
        counts = write_findings(wh.con, "run-1", "2024-03", expected_counts=outcome.counts)
    assert counts == outcome.counts


def test_the_findings_are_the_rows_gx_counted(wh):
    """GX runs each check's text once, into a table of its rows in DuckDB; the findings are those rows: a row
    taken out of GX's table after it counted is a row the findings miss, and the counts then disagree."""
    _seed(wh)
    outcome = run_suites(wh.con, "2024-03")
    for check in CHECKS:
        assert outcome.rows[check.code] == rows_table(check.sql)
        table_count = wh.con.execute(f"SELECT count(*) FROM {outcome.rows[check.code]}").fetchone()[0]
        assert table_count == outcome.counts[check.code], check.code
    wh.con.execute(f"DELETE FROM {outcome.rows['DUPLICATE_ID_NUMBER']} WHERE employee_id = 'E2'")
    with pytest.raises(Exception, match="DUPLICATE_ID_NUMBER gave 1 rows .* GX observed 2"), transaction(wh.con):
        write_findings(wh.con, "run-1", "2024-03", expected_counts=outcome.counts, rows=outcome.rows)
    drop_rows(wh.con, outcome)
    assert not outcome.rows
    assert _rows_tables(wh.con) == []


def test_a_validation_leaves_no_rows_tables_behind(wh):
    _seed(wh)
    wh.ledger_run()
    start_run(wh.con, "run-1", "2024-03")
    summary = validate_period(wh.con, "2024-03", "run-1")
    assert summary["counts"]["DUPLICATE_ID_NUMBER"] == 2
    assert wh.con.execute("SELECT count(*) FROM quality.findings WHERE run_id = 'run-1'").fetchone()[0] \
        == summary["findings"]
    assert _rows_tables(wh.con) == []


def _rows_tables(con) -> list:
    return con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'"
                       " AND table_name LIKE 'check_rows_%'").fetchall()


def test_every_check_returns_the_findings_columns(wh):
    for check in CHECKS:
        cursor = wh.con.execute(f"SELECT * FROM ({check.sql_for('(SELECT ' + repr('2024-03') + ' AS period)')}) LIMIT 0")
        assert tuple(d[0] for d in cursor.description) == OUTPUT_COLUMNS, check.code
        assert "{batch}" in check.sql and check.sql.count("{") == 1, check.code


def test_findings_refuse_counts_that_differ_from_gx(wh):
    _seed(wh)
    outcome = run_suites(wh.con, "2024-03")
    wrong = dict(outcome.counts, BASE_BELOW_FLOOR=0)
    with pytest.raises(Exception, match="BASE_BELOW_FLOOR"), transaction(wh.con):
        write_findings(wh.con, "run-1", "2024-03", expected_counts=wrong)
    assert wh.con.execute("SELECT count(*) FROM quality.findings").fetchone()[0] == 0


def test_data_docs_are_static_html_without_personal_data(wh, tmp_path):
    _seed(wh)
    ident = id_number()
    outcome = run_suites(wh.con, "2024-03", data_docs_dir=tmp_path / "docs")
    assert outcome.data_docs.endswith("index.html")
    pages = list((tmp_path / "docs").rglob("*.html"))
    assert len(pages) >= 2
    text = "".join(page.read_text(encoding="utf-8") for page in pages)
    assert "DUPLICATE_ID_NUMBER" in text
    assert ident not in text and "张三" not in text


def test_an_encrypted_warehouse_validates_through_our_connection(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_WAREHOUSE_KEY", "test-key-0123456789")
    con = connect(tmp_path / "secret.duckdb")
    try:
        outcome = run_suites(con, "2024-03")
        assert outcome.counts["MISSING_EXTRACT"] == 4
    finally:
        con.close()
