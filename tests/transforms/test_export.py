"""Ledger exports for finance: numbers as numbers, totals that add up, IDs masked for finance."""

from __future__ import annotations

import re
import shutil
import zipfile
from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from transforms.export import export_ledger
from transforms.ingest import record_load_keys
from transforms.ledger import compute_ledger
from transforms.spreadsheet import neutralise
from warehouse.db import connect
from warehouse.errors import ShebaoError
from warehouse.policy import apply_policy

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory, acceptance_ingested, acceptance_dir):
    path = tmp_path_factory.mktemp("export") / "ledger.duckdb"
    shutil.copy(acceptance_ingested, path)
    con = connect(path)
    apply_policy(con, acceptance_dir / "policy.csv")
    compute_ledger(con, "2024-03")
    con.close()
    return path


def test_xlsx_numbers_and_totals(ledger_path, tmp_path):
    con = connect(ledger_path)
    [path] = export_ledger(con, "2024-03", "xlsx", tmp_path, role="finance")
    employer = con.execute("SELECT sum(employer_amount) FROM ledger.current_contributions WHERE period = '2024-03'").fetchone()[0]
    con.close()
    book = openpyxl.load_workbook(path)
    detail, totals = book["缴费明细"], book["合计"]
    assert [c.value for c in detail[1]][:3] == ["期间", "单位", "工号"]
    header = [c.value for c in totals[1]]
    column = header.index("单位缴费")
    rows = list(totals.iter_rows(min_row=2, values_only=True))
    assert all(isinstance(r[column], float | int) for r in rows)
    assert rows[-1][0] == "总计"
    assert round(sum(Decimal(str(r[column])) for r in rows[:-1]), 2) == employer
    assert Decimal(str(rows[-1][column])).quantize(Decimal("0.01")) == employer
    with zipfile.ZipFile(path) as archive:
        assert not FULL_ID.search("".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist()))


def test_parquet_keeps_decimals_and_csv_has_chinese_headers(ledger_path, tmp_path):
    con = connect(ledger_path)
    parquet = export_ledger(con, "2024-03", "parquet", tmp_path, role="hr_manager")
    csv = export_ledger(con, "2024-03", "csv", tmp_path, role="finance")
    con.close()
    frame = pl.read_parquet(parquet[0])
    assert isinstance(frame.schema["employer_amount"], pl.Decimal)
    assert frame["id_number"].str.contains(r"\*").sum() == 0  # the manager sees full IDs
    text = csv[0].read_text(encoding="utf-8-sig")
    assert text.startswith("期间,单位,工号") and not FULL_ID.search(text)


def test_no_ledger_yet_is_a_sentence(acceptance_copy, tmp_path):
    con = connect(acceptance_copy)
    with pytest.raises(ShebaoError, match="There is no ledger for 2024-03 yet"):
        export_ledger(con, "2024-03", "xlsx", tmp_path)
    con.close()


@pytest.mark.parametrize(("value", "safe"), [("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1", "'+1"),
                                             ("@SUM(A1)", "'@SUM(A1)"), ("王芳", "王芳"), (12, 12)])
def test_formula_text_is_neutralised(value, safe):
    assert neutralise(value) == safe


@pytest.fixture()
def hostile_ledger(con, tmp_path):
    """One hand-built employee whose name and entity a spreadsheet would run as formulas."""
    policy = tmp_path / "policy.csv"
    policy.write_text("region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,"
                      "employee_rate\n长沙,pension,2024-01,,3604,18021,0.16,0.08\n", encoding="utf-8")
    apply_policy(con, policy)
    con.execute("INSERT INTO staging.payroll VALUES (1, NULL, 1, '2024-03', 'E1', '=HYPERLINK(\"http://x\")',"
                " '430102199001010013', '430102199001010013', '-星城公司', '长沙', '长沙', true, 10000, NULL, NULL)")
    record_load_keys(con, 1)
    compute_ledger(con, "2024-03")
    return con


@pytest.mark.parametrize("role", ["hr_staff", "finance"])
def test_exports_neutralise_formulas_and_mask_ids(hostile_ledger, tmp_path, role):
    [xlsx] = export_ledger(hostile_ledger, "2024-03", "xlsx", tmp_path / "x", role=role)
    csv = export_ledger(hostile_ledger, "2024-03", "csv", tmp_path / "c", role=role)
    detail = openpyxl.load_workbook(xlsx)["缴费明细"]
    header = [c.value for c in detail[1]]
    row = dict(zip(header, [c.value for c in detail[2]], strict=True))
    assert row["姓名"] == "'=HYPERLINK(\"http://x\")" and row["单位"] == "'-星城公司"
    assert row["身份证号"] == "430102********0013"
    assert (row["缴费基数"], row["单位缴费"], row["个人缴费"], row["合计"]) == (10000, 1600, 800, 2400)
    assert row["险种"] == "养老保险"
    totals = list(openpyxl.load_workbook(xlsx)["合计"].iter_rows(values_only=True))
    assert totals[1][0] == "'-星城公司" and totals[-1][-3:] == (1600, 800, 2400)
    text = csv[0].read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'-星城公司" in text and not FULL_ID.search(text)


def test_unknown_format_is_a_sentence(hostile_ledger, tmp_path):
    with pytest.raises(ShebaoError, match="format 'pdf' is unknown"):
        export_ledger(hostile_ledger, "2024-03", "pdf", tmp_path)
