"""RETIREMENT_DUE through the later stages: a PREPARE_RETIREMENT action per person with the retirement month
and contribution months, its workbook sheet with those as their own columns, and the HR report's block of
who reaches the statutory age in the next three months (short of the minimum, category assumed)."""

from __future__ import annotations

import openpyxl
import pytest

from expectations.validate import start_run, validate_period
from tests.conftest import built_from, connected_copy
from tests.expectations.conftest import id_number, make_warehouse
from transforms.actions.cleanup import update_actions
from transforms.actions.workbook import write_workbook
from transforms.outputs.report import render_report

A = "长沙甲公司"
MAN = id_number(birth="19650401", seq="501")     # 60y1m -> 2025-05
WOMAN = id_number(birth="19700301", seq="502")   # no category: 50 -> 2020-03 (assumed)
YOUNG = id_number(birth="19900101", seq="503")


RUN = "20250401T000000000000Z-0001"


@pytest.fixture(scope="module")
def closed_once(migrated_warehouse, tmp_path_factory):
    """The small warehouse validated and its actions updated, built once for the module: each test reads a copy
    of it (``closed``)."""
    def build(con):
        wh = make_warehouse(con)
        for n, (employee_id, ident) in enumerate((("E1", MAN), ("E2", WOMAN), ("E3", YOUNG))):
            wh.payroll(period="2025-03", employee_id=employee_id, id_number=ident, row_number=n + 1)
            wh.employee_month(period="2025-03", employee_id=employee_id, id_number=ident)
            wh.insurance(period="2025-03", id_number=ident, row_number=n + 1)
        wh.ledger_run(period="2025-03")
        con.execute("UPDATE staging.insurance SET months_paid = CASE id_number WHEN ? THEN 170 ELSE 300 END", [MAN])
        start_run(con, RUN, "2025-03")
        validate_period(con, "2025-03", RUN)
        update_actions(con, "2025-03", RUN)

    path = tmp_path_factory.mktemp("retirement") / "closed.duckdb"
    built_from(migrated_warehouse, path, build)
    return path


@pytest.fixture()
def closed(closed_once, tmp_path):
    with connected_copy(closed_once, tmp_path / closed_once.name) as con:
        yield con, RUN


def test_one_prepare_retirement_action_per_person_with_its_months(closed):
    con, _ = closed
    rows = con.execute("SELECT employee_id, finding_codes, severity, details ->> '$.retirement_month',"
                       " CAST(details ->> '$.months_paid' AS INTEGER), CAST(details ->> '$.short_of_minimum' AS BOOLEAN)"
                       " FROM actions.cleanup_actions WHERE action_type = 'PREPARE_RETIREMENT'"
                       " ORDER BY employee_id").fetchall()
    assert rows == [("E1", ["RETIREMENT_DUE"], "warning", "2025-05", 170, True),
                    ("E2", ["RETIREMENT_DUE"], "warning", "2020-03", 300, False)]
    assert con.execute("SELECT count(*) FROM actions.cleanup_actions WHERE action_id LIKE 'RET-%'").fetchone() == (2,)


def test_the_workbook_sheet_has_the_retirement_columns(closed, tmp_path):
    con, _ = closed
    book = openpyxl.load_workbook(write_workbook(con, tmp_path / "actions.xlsx", role="hr_staff"))
    sheet = book["办理退休"]
    header = [c.value for c in sheet[1]]
    rows = {r["工号"]: r for r in (dict(zip(header, v, strict=True)) for v in sheet.iter_rows(min_row=2, values_only=True))}
    assert (rows["E1"]["退休年月"], rows["E1"]["法定退休年龄"], rows["E1"]["累计缴费月数"], rows["E1"]["最低缴费月数"],
            rows["E1"]["缴费不足"]) == ("2025-05", "60岁1个月", 170, 180, "是")
    assert (rows["E2"]["法定退休年龄"], rows["E2"]["缴费不足"]) == ("50周岁", "否")
    assert "尚差 10 个月" in rows["E1"]["说明"] and "按女职工50周岁推定" in rows["E2"]["说明"]
    assert "到达法定退休年龄" in rows["E1"]["发现的问题"]


def test_the_report_lists_who_retires_and_says_what_was_assumed(closed):
    con, run_id = closed
    html = render_report(con, run_id)
    block = html[html.index('id="retirements"'):]
    table = block[block.index('id="retirements-table"'):]
    assert table.count("<tr>") == 3   # the header and the two people due, not the young one
    assert "<td>60岁1个月</td><td>2025-05</td><td>三个月内到龄</td><td>170</td><td>180</td><td>不足，尚差 10 个月</td>" in table
    assert "<td>2020-03</td><td>已到龄</td>" in table and "女职工（未提供岗位类别，按50周岁推定）" in table
    assert "1 人累计缴费月数不足最低缴费年限" in block and "1 名女职工未提供岗位类别" in block
    assert MAN not in html and "办理退休" in html[:html.index('id="summary"')]   # in 下一步要做的事
