"""The HR action workbook: opens with openpyxl, a summary and one sheet per type with Chinese headers and the
right counts, sorted by severity then age, IDs masked unless the manager asks, formulas neutralised."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.expectations.conftest import id_number
from transforms.actions import ACTION_TYPES, TYPES, dismiss, update_actions
from transforms.roles import PermissionDenied
from transforms.workbook import HEADERS, SUMMARY_HEADERS, write_workbook
from warehouse.db import opened

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")
SHEETS = ["汇总", "合并档案", "更正身份证号", "调整缴费基数", "更正代扣", "办理参保", "停止缴费", "发起转移", "关联历史缴费",
          "催办转移", "更新转移状态",
          "核对账单"]
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
    assert book.sheetnames == SHEETS == ["汇总", *ACTION_TYPES.values()]
    summary = book["汇总"]
    assert [c.value for c in summary[1]] == list(SUMMARY_HEADERS.values())
    for name, code, n_open, n_resolved, n_dismissed, total in summary.iter_rows(min_row=2, values_only=True):
        assert name == ACTION_TYPES[code]
        assert (n_open, n_resolved, n_dismissed) == tuple(counts.get((code, s), 0) for s in ("open", "resolved",
                                                                                           "dismissed"))
        assert total == n_open + n_resolved + n_dismissed
    assert summary.max_row - 1 == len(TYPES)
    severity_rank = {"错误": 0, "警告": 1}
    for t in TYPES:
        sheet = book[t.name_zh]
        assert [c.value for c in sheet[1]] == list(HEADERS.values())
        assert [c.value for c in sheet[1]][:4] == ["编号", "状态", "严重程度", "首次发现"]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert len(rows) == sum(n for (code, _), n in counts.items() if code == t.code), t.code
        order = [(severity_rank[r[2]], r[3]) for r in rows]
        assert order == sorted(order), f"{t.name_zh} not sorted by severity then age"
        assert all(r[11] == t.todo_zh for r in rows)
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
    rows = list(book["调整缴费基数"].iter_rows(min_row=2, values_only=True))
    # the error (February) before the older warning (January)
    assert [(r[2], r[3]) for r in rows] == [("错误", "2024-02"), ("警告", "2024-01")]
    warning = rows[1]
    assert warning[5] == "'=HYPERLINK(\"http://x\")" and warning[7] == "'+张三"
    assert all(cell.data_type != "f" for row in book["调整缴费基数"].iter_rows() for cell in row)
    assert "养老 现 3000.00 应为 8000.00" in warning[10]
    merged = list(book["合并档案"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[8]) for r in merged] == [("已忽略", ID_C[:6] + "********" + ID_C[-4:])]
    assert "长沙甲公司 E1" in merged[0][10] and ID_C[:6] + "********" + ID_C[-4:] in merged[0][10]
    assert not FULL_ID.search(archive_text(path))
    summary = {r[1]: r[2:] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["ADJUST_BASE"] == (2, 0, 0, 2) and summary["MERGE_RECORDS"] == (0, 0, 1, 1)
    manager = write_workbook(con, tmp_path / "manager.xlsx", role="hr_manager")
    assert ID_C in archive_text(manager)


def test_finance_gets_no_workbook(con, tmp_path):
    _seed(con)
    with pytest.raises(PermissionDenied):
        write_workbook(con, tmp_path / "actions.xlsx", role="finance")
    assert not (tmp_path / "actions.xlsx").exists()
