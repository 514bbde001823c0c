"""The HR action workbook: opens with openpyxl, a summary and one sheet per type with Chinese headers and the
right counts, sorted by severity then age, IDs masked unless the manager asks, formulas neutralised."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from tests.expectations.conftest import id_number
from transforms.actions.cleanup import ACTION_TYPES, BY_TYPE, TYPES, dismiss, list_actions, update_actions
from transforms.actions.workbook import SUMMARY_HEADERS, readable_actions, write_workbook
from transforms.common.roles import PermissionDenied
from warehouse.db import opened

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")
ID_A, ID_B, ID_C = id_number(seq="123"), id_number(seq="456"), id_number(seq="789")


def archive_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist())


def test_acceptance_workbook_sheets_headers_counts_order_and_masking(acceptance_closed, tmp_path):
    with opened(acceptance_closed, read_only=True) as con:
        path = write_workbook(con, tmp_path / "2024-03" / "actions.xlsx")   # the default role: staff
        counts = {(t, s): n for t, s, n in con.execute(
            "SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall()}
        full_ids = [r[0] for r in con.execute(
            "SELECT DISTINCT id_number FROM actions.cleanup_actions WHERE id_number IS NOT NULL").fetchall()]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", *ACTION_TYPES.values()]
    summary = book["汇总"]
    assert [c.value for c in summary[1]] == list(SUMMARY_HEADERS.values())
    by_name = {t.name_zh: t.code for t in TYPES}
    for name, n_open, n_submitted, n_resolved, n_dismissed, total, todo in summary.iter_rows(min_row=2,
                                                                                             values_only=True):
        code = by_name[name]
        assert (n_open, n_submitted, n_resolved, n_dismissed) == tuple(
            counts.get((code, s), 0) for s in ("open", "submitted", "resolved", "dismissed"))
        assert total == n_open + n_submitted + n_resolved + n_dismissed
        assert todo == BY_TYPE[code].todo_zh
    assert summary.max_row - 1 == len(TYPES)
    severity_rank = {"错误": 0, "警告": 1}
    for t in TYPES:
        sheet = book[t.name_zh]
        header = [c.value for c in sheet[1]]
        assert header[:5] == ["动作编号", "处理状态", "处理说明", "严重程度", "首次发现"]
        assert header[-3:] == ["发现的问题", "说明", "处理建议"]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        ids = {r[0] for r in rows}
        assert len(ids) == sum(n for (code, _), n in counts.items() if code == t.code), t.code
        order = [(severity_rank[r[3]], r[4]) for r in rows]
        assert order == sorted(order), f"{t.name_zh} not sorted by severity then age"
        assert all(r[-1] == t.todo_zh for r in rows)
    assert sum(r[1] == "已解决" for r in book["更正代扣"].iter_rows(min_row=2, values_only=True)) > 0
    text = archive_text(path)
    assert full_ids and not FULL_ID.search(text)
    assert "********" in text


def test_the_manager_workbook_has_full_ids(acceptance_closed, tmp_path):
    with opened(acceptance_closed, read_only=True) as con:
        path = write_workbook(con, tmp_path / "actions.xlsx", role="hr_manager")
    assert FULL_ID.search(archive_text(path))


def _seed(con) -> None:
    con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES (?, ?, now(), 'succeeded')",
                ["r1", "2024-01"])
    con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES (?, ?, now(), 'succeeded')",
                ["r2", "2024-02"])
    findings = [
        ("r1", "2024-01", "BASE_MISMATCH", "warning", "=HYPERLINK(\"http://x\")", None, ID_A, "pension",
         {"name": "+张三", "base": "3000.00", "expected_base": "8000.00"}),
        ("r2", "2024-02", "BASE_MISMATCH", "warning", "=HYPERLINK(\"http://x\")", None, ID_A, "pension",
         {"name": "+张三", "base": "3000.00", "expected_base": "8000.00"}),
        ("r2", "2024-02", "BASE_BELOW_FLOOR", "error", "长沙甲公司", None, ID_B, "medical",
         {"name": "李四", "base": "2000.00", "expected_base": "3604.00"}),
        ("r2", "2024-02", "DUPLICATE_ID_NUMBER", "error", "长沙甲公司", "E1", ID_C, None, {"name": "王五"}),
        ("r2", "2024-02", "DUPLICATE_ID_NUMBER", "error", "长沙乙公司", "E9", ID_C, None, {"name": "王五"}),
    ]
    for run_id, period, code, severity, entity, employee_id, ident, insurance_type, details in findings:
        con.execute("INSERT INTO quality.findings (run_id, period, code, severity, entity, employee_id, id_number,"
                    " insurance_type, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, period, code, severity, entity, employee_id, ident, insurance_type,
                     json.dumps(details, ensure_ascii=False)])
    update_actions(con, "2024-01", "r1")
    update_actions(con, "2024-02", "r2")


def test_rows_sorted_by_severity_then_age_formulas_neutralised_evidence_masked(con, tmp_path):
    _seed(con)
    merge = con.execute("SELECT action_id FROM actions.cleanup_actions WHERE action_type = 'MERGE_RECORDS'").fetchone()[0]
    dismiss(con, merge, "同一人，已合并", role="hr_manager")
    path = write_workbook(con, tmp_path / "actions.xlsx", role="hr_staff")
    book = openpyxl.load_workbook(path)
    sheet = book["调整缴费基数"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    # the error (February) before the older warning (January)
    assert [(r["严重程度"], r["首次发现"]) for r in rows] == [("错误", "2024-02"), ("警告", "2024-01")]
    warning = rows[1]
    assert warning["单位"] == "'=HYPERLINK(\"http://x\")" and warning["姓名"] == "'+张三"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert (warning["险种"], warning["现基数"], warning["应为基数"]) == ("养老", 3000, 8000)  # numbers, not text
    assert "养老 现 3000.00 应为 8000.00" in warning["说明"]
    sheet = book["合并档案"]
    header = [c.value for c in sheet[1]]
    merged = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(r["处理状态"], r["处理说明"], r["身份证号"]) for r in merged] == [
        ("忽略", "同一人，已合并", ID_C[:6] + "********" + ID_C[-4:])]
    assert "长沙甲公司 E1" in merged[0]["说明"] and ID_C[:6] + "********" + ID_C[-4:] in merged[0]["说明"]
    assert merged[0]["发现的问题"] == "重复身份证号"  # the registry title, as the report shows it
    assert not FULL_ID.search(archive_text(path))
    summary = {r[0]: r[1:6] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["调整缴费基数"] == (2, 0, 0, 0, 2) and summary["合并档案"] == (0, 0, 0, 1, 1)
    manager = write_workbook(con, tmp_path / "manager.xlsx", role="hr_manager")
    assert ID_C in archive_text(manager)


def test_finance_gets_no_workbook(con, tmp_path):
    _seed(con)
    with pytest.raises(PermissionDenied):
        write_workbook(con, tmp_path / "actions.xlsx", role="finance")
    assert not (tmp_path / "actions.xlsx").exists()


def _typed_rows(action_type: str, row: dict) -> list[dict]:
    """One action's own typed columns, as the workbook reads them over a whole type's column."""
    from transforms.actions.workbook import _typed_frame

    with duckdb.connect() as con:
        typed = _typed_frame(con, action_type, pl.Series("details", [row["details"]], dtype=pl.String))
    return typed.drop("__n").to_dicts()


def test_typed_columns_read_the_findings_v3_details():
    """SPEC v3: 停保年月 is the finding's stop_month (§4.3: the first month not charged, not simply the month
    after the leave), a mistyped ID names the number it is insured under, an interim case its hukou."""
    stop = _typed_rows("STOP_CONTRIBUTION", {"details": json.dumps({"leave_date": "2024-01-10",
                                                                     "stop_month": "2024-01"})})
    assert stop == [{"leave_date": "2024-01-10", "stop_month": "2024-01"}]
    fix = _typed_rows("FIX_ID_NUMBER", {"details": json.dumps({"id_problem": "check_digit",
                                                                "insured_as": "430102********1234"})})
    assert fix == [{"id_problem": "校验位错误", "insured_as": "430102********1234"}]
    interim = _typed_rows("CONFIRM_INTERIM_ACCOUNT", {"details": json.dumps(
        {"from_region": "深圳", "from_employer": "乙公司", "hukou_region": "武汉"})})
    assert interim == [{"from_region": "深圳", "from_employer": "乙公司", "hukou_region": "武汉"}]
    assert [c.header_zh for c in BY_TYPE["ENROLL_EMPLOYEE"].columns][:2] == ["入职日期", "应登记日期"]


def test_the_status_column_has_a_dropdown_of_what_the_round_trip_reads(acceptance_closed, tmp_path):
    with opened(acceptance_closed, read_only=True) as con:
        path = write_workbook(con, tmp_path / "actions.xlsx")
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[1]]
        letter = openpyxl.utils.get_column_letter(header.index("处理状态") + 1)
        (rule,) = sheet.data_validations.dataValidation
        assert rule.type == "list" and rule.formula1 == '"待处理,已提交,忽略"' and rule.showErrorMessage
        assert str(rule.sqref) == f"{letter}2:{letter}1048576"


def test_adjust_base_has_a_row_per_insurance_type_read_over_the_whole_column():
    """ADJUST_BASE's rows (read by DuckDB from the details, shown once per distinct value): one per type of
    its expected bases in code order, else of its insurance_types as listed, else one blank row; a base that
    is absent, JSON null or not a number is blank, a number is money to the cent."""
    from decimal import Decimal

    both = _typed_rows("ADJUST_BASE", {"details": json.dumps(
        {"expected_base": {"pension": "5000", "medical": 4000.5}, "current_base": {"pension": 4800, "medical": None},
         "insurance_types": ["maternity"]})})
    assert both == [{"insurance": "医疗", "current_base": None, "expected_base": Decimal("4000.50")},
                    {"insurance": "养老", "current_base": Decimal("4800.00"), "expected_base": Decimal("5000.00")}]
    listed = _typed_rows("ADJUST_BASE", {"details": json.dumps(
        {"expected_base": {}, "current_base": {"unemployment": "x"}, "insurance_types": ["unemployment", "pension"]})})
    assert listed == [{"insurance": "失业", "current_base": None, "expected_base": None},
                      {"insurance": "养老", "current_base": None, "expected_base": None}]
    assert _typed_rows("ADJUST_BASE", {"details": json.dumps({"note": 1})}) == [
        {"insurance": "", "current_base": None, "expected_base": None}]
    assert _typed_rows("ADJUST_BASE", {"details": None}) == [{"insurance": "", "current_base": None, "expected_base": None}]
    retire = _typed_rows("PREPARE_RETIREMENT", {"details": json.dumps(
        {"retirement_age": "60y1m", "months_paid": 170, "min_contribution_months": None, "short_of_minimum": True})})
    assert retire == [{"retirement_month": None, "retirement_age": "60岁1个月", "months_paid": 170,
                       "min_contribution_months": None, "short_of_minimum": "是"}]


def _cells(path: Path) -> list[list[tuple]]:
    return [[tuple(c.value for c in row) for row in sheet.iter_rows()] for sheet in openpyxl.load_workbook(path)]


def _masked_rows(con) -> dict[str, pl.DataFrame]:
    """Each type's rows as a masked role reads them (what the close renders once: transforms.outputs.entities)."""
    return {code: readable_actions(con, list_actions(con, action_type=code), False) for code in BY_TYPE}


@pytest.mark.parametrize("role", [None, "hr_staff", "hr_manager_masked"])
def test_a_masked_workbook_from_the_rows_already_rendered_is_the_one_read_here(con, tmp_path, role):
    """The close renders the masked list once, for this workbook and its per-entity files: a masked role's
    workbook written from those rows is the one it reads itself, its notes and a dismissal's reason (an ID
    typed in it) included."""
    _seed(con)
    merge = con.execute("SELECT action_id FROM actions.cleanup_actions WHERE action_type = 'MERGE_RECORDS'").fetchone()[0]
    dismiss(con, merge, f"同一人 {ID_C}，已合并", role="hr_manager")
    read = write_workbook(con, tmp_path / "read.xlsx", role)
    given = write_workbook(con, tmp_path / "given.xlsx", role, _masked_rows(con).__getitem__)
    assert _cells(given) == _cells(read)
    assert not FULL_ID.search(archive_text(given))


def test_the_rows_already_rendered_are_what_a_masked_workbook_shows(con, tmp_path):
    _seed(con)
    rows = _masked_rows(con)
    rows["ADJUST_BASE"] = rows["ADJUST_BASE"].with_columns(pl.lit("已渲染").alias("evidence"))
    sheet = openpyxl.load_workbook(write_workbook(con, tmp_path / "actions.xlsx", None, rows.__getitem__))["调整缴费基数"]
    header = [c.value for c in sheet[1]]
    assert {r[header.index("说明")] for r in sheet.iter_rows(min_row=2, values_only=True)} == {"已渲染"}


def test_rows_rendered_masked_never_stand_in_for_a_full_id_workbook_nor_let_finance_in(con, tmp_path):
    _seed(con)
    rows = _masked_rows(con)
    manager = write_workbook(con, tmp_path / "manager.xlsx", "hr_manager", rows.__getitem__)
    assert _cells(manager) == _cells(write_workbook(con, tmp_path / "read.xlsx", "hr_manager"))
    assert ID_C in archive_text(manager)
    with pytest.raises(PermissionDenied):
        write_workbook(con, tmp_path / "finance.xlsx", "finance", rows.__getitem__)
    assert not (tmp_path / "finance.xlsx").exists()
    assert con.execute("SELECT count(*) FROM actions.audit WHERE role = 'finance' AND NOT allowed").fetchone()[0] == 1


def test_a_type_with_no_action_is_the_sheet_its_empty_rows_write(con, tmp_path):
    """A type no action has is written as its header alone, its rows never asked for: the same sheet, cell for
    cell, as its empty rows read and shown (typed columns and dropdown included)."""
    from transforms.actions.workbook import _write_sheets

    _seed(con)
    rows = _masked_rows(con)
    listed = pl.concat([frame for frame in rows.values() if frame.height])
    assert 0 < listed["action_type"].n_unique() < len(BY_TYPE), "some types listed, some not"
    counts = {(r["action_type"], r["status"]): r["len"] for r in listed.group_by("action_type", "status").len().iter_rows(
        named=True)}
    asked: list[str] = []

    def rows_of(code: str) -> pl.DataFrame:
        asked.append(code)
        return rows[code]

    skipped = _write_sheets(tmp_path / "skipped.xlsx", counts, rows_of)
    assert set(asked) == set(listed["action_type"])
    read = _write_sheets(tmp_path / "read.xlsx", counts, rows.__getitem__, every_type=True)
    assert _cells(skipped) == _cells(read)
    with zipfile.ZipFile(skipped) as one, zipfile.ZipFile(read) as other:
        assert one.namelist() == other.namelist()
        assert all(one.read(name) == other.read(name) for name in one.namelist() if name.startswith("xl/"))
