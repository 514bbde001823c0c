"""Acceptance, SPEC version 3 §2 "Real exports": ../shared/real-formats (four files in layouts real systems
export, filed in month / entity / region folders with one import profile) ingest exactly as its
expected.json says: each file's kind, rows read / staged / not data / rejected, totals and one row."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from transforms.ingest.inbox import ingest_inbox
from warehouse.db import connect

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "real-formats"


@pytest.fixture(scope="module")
def expected() -> dict:
    if not (SAMPLE / "expected.json").exists():
        pytest.fail(f"The real-formats sample is missing at {SAMPLE}; CI provides ../shared beside the repo.")
    return json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real-formats")
    shutil.copytree(SAMPLE / "inbox", folder / "inbox")
    con = connect(folder / "w.duckdb")
    ingest_inbox(con, folder / "inbox")
    yield con, folder / "inbox"
    con.close()


def test_every_file_is_recognised_and_counted_as_expected(ingested, expected):
    con, _ = ingested
    got = {row[0]: dict(zip(("kind", "rows_read", "rows_staged", "rows_not_data", "rows_rejected"), row[1:], strict=True))
           for row in con.execute("SELECT source_file, kind, rows_read, rows_staged, rows_not_data, rows_rejected"
                                  " FROM ingest.loads WHERE status = 'loaded'").fetchall()}
    want = {name: {key: spec[key] for key in ("kind", "rows_read", "rows_staged", "rows_not_data", "rows_rejected")}
            for name, spec in expected["files"].items()}
    assert got == want
    assert con.execute("SELECT count(*) FROM ingest.loads WHERE status <> 'loaded'").fetchone()[0] == 0


def test_not_data_rows_are_listed_with_their_reason(ingested, expected):
    con, _ = ingested
    listed = dict(con.execute("SELECT source_file, count(*) FROM ingest.rejects WHERE reason_code = 'NOT_DATA'"
                              " GROUP BY ALL").fetchall())
    assert listed == {name: spec["rows_not_data"] for name, spec in expected["files"].items() if spec["rows_not_data"]}


def _load_id(con, name: str) -> int:
    return con.execute("SELECT load_id FROM ingest.loads WHERE source_file = ? AND status = 'loaded'", [name]).fetchone()[0]


def test_totals_statuses_and_one_row_equal_expected(ingested, expected):
    con, _ = ingested
    for name, spec in expected["files"].items():
        table, load_id = f"staging.{spec['kind']}", _load_id(con, name)
        for column, total in spec.get("totals", {}).items():
            got = con.execute(f"SELECT sum({column}) FROM {table} WHERE load_id = ?", [load_id]).fetchone()[0]
            assert got == Decimal(total), (name, column)
        if "statuses" in spec:
            got = dict(con.execute(f"SELECT status, count(*) FROM {table} WHERE load_id = ? GROUP BY ALL",
                                   [load_id]).fetchall())
            assert got == spec["statuses"], name
        if "one_row" in spec:
            row = spec["one_row"]
            columns = list(row)
            got = con.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE load_id = ? AND employee_id = ?",
                              [load_id, row["employee_id"]]).fetchone()
            assert got is not None, name
            assert [str(v) for v in got] == [row[c] for c in columns], name


def test_context_fills_what_each_file_lacks(ingested):
    con, _ = ingested
    assert con.execute("SELECT DISTINCT period, region, employer, insurance_type FROM staging.insurance").fetchall() == [
        ("2024-06", "武汉", "武汉江城软件有限公司", "unemployment")]  # folders, and the import profile
    assert con.execute("SELECT DISTINCT period, region, employer, insurance_type FROM staging.bill").fetchall() == [
        ("2024-06", "武汉", "武汉江城软件有限公司", "unemployment")]  # the title names 失业保险
    assert con.execute("SELECT DISTINCT period, entity, city FROM staging.payroll").fetchall() == [
        ("2024-06", "武汉江城软件有限公司", "武汉")]  # the file name, then the folders
    assert con.execute("SELECT DISTINCT period FROM staging.attendance").fetchall() == [("2024-06",)]


def test_loading_again_changes_nothing(ingested):
    con, inbox = ingested
    count = con.execute("SELECT count(*) FROM ingest.loads").fetchone()[0]
    assert {s["status"] for s in ingest_inbox(con, inbox)} == {"already_loaded"}
    assert con.execute("SELECT count(*) FROM ingest.loads").fetchone()[0] == count
