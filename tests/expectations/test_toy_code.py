"""Issue 27: a finding code is its SQL file and its registry row, nothing else. A toy code — one SQL file in a
folder of the test's own and one ``Check`` row, passed to the validation with the registry's rows — goes
through the real stages of a close on a small warehouse: its findings reach the HR report, an action of the
type its row names, that type's workbook sheet, and the declaration its row says it feeds."""

from __future__ import annotations

import openpyxl
import pytest

from expectations.registry import CHECKS, CHECKS_DIR, Check
from expectations.validate import start_run, validate_period
from tests.conftest import built_from, connected_copy
from tests.expectations.conftest import id_number, make_warehouse
from transforms.actions.cleanup import update_actions
from transforms.actions.workbook import write_workbook
from transforms.outputs.declarations import write_declarations
from transforms.outputs.report import render_report

PERIOD = "2025-03"
RUN = "20250401T000000000000Z-0001"
LOW = id_number(birth="19900101", seq="611")
FULL = id_number(birth="19910101", seq="612")

TOY_SQL = """-- TOY_LOW_PAY: a test's toy code: someone paid less than 1000.00 in P, to be stopped from P on.
WITH scope AS (SELECT period FROM {batch})
SELECT y.period, y.entity, y.employee_id, y.id_number, y.city AS region, NULL AS insurance_type,
       NULL AS transfer_id,
       json_object('name', y.name, 'gross_pay', CAST(y.gross_pay AS VARCHAR), 'leave_date', NULL,
                   'stop_month', y.period, 'records', [json_object('region', y.city)]) AS details
FROM core.payroll y
WHERE y.period = (SELECT period FROM scope) AND y.gross_pay < 1000
"""


def toy_check(folder) -> Check:
    (folder / "toy_low_pay.sql").write_text(TOY_SQL, encoding="utf-8")
    return Check("TOY_LOW_PAY", "warning", ("entity", "employee_id"), "enrolment", "测试：工资过低",
                 "A test's toy code: paid less than 1000.00 in the month.",
                 action="STOP_CONTRIBUTION", needs=("payroll",),
                 problem_key="concat_ws('|', 'toy', f.entity, f.employee_id)",
                 evidence_zh="本月工资 {{ gross_pay }}，低于 1000.00", declarations=("stop",), folder=folder)


@pytest.fixture(scope="module")
def closed_once(migrated_warehouse, tmp_path_factory):
    """(warehouse, validation summary) of the small warehouse validated with the toy code and its actions
    updated, built once for the module: each test changes a copy of it (``closed``)."""
    folder = tmp_path_factory.mktemp("toy")

    def build(con):
        wh = make_warehouse(con)
        for n, (employee_id, ident, pay) in enumerate((("E1", FULL, "8000"), ("E2", LOW, "800"))):
            wh.payroll(period=PERIOD, employee_id=employee_id, id_number=ident, name=f"员工{n + 1}", gross_pay=pay,
                       row_number=n + 1)
            wh.employee_month(period=PERIOD, employee_id=employee_id, id_number=ident, name=f"员工{n + 1}",
                              gross_pay=pay)
            wh.insurance(period=PERIOD, id_number=ident, name=f"员工{n + 1}", row_number=n + 1)
        wh.ledger_run(period=PERIOD)
        start_run(con, RUN, PERIOD)
        summary = validate_period(con, PERIOD, RUN, checks=(*CHECKS, toy_check(folder)))
        update_actions(con, PERIOD, RUN)
        return summary

    path = folder / "closed.duckdb"
    return path, built_from(migrated_warehouse, path, build)


@pytest.fixture()
def closed(closed_once, tmp_path):
    path, summary = closed_once
    with connected_copy(path, tmp_path / path.name) as con:
        yield con, summary, tmp_path


def test_the_toy_code_is_its_file_and_its_row_only(tmp_path):
    toy = toy_check(tmp_path)
    assert toy.path.parent == tmp_path and not (CHECKS_DIR / toy.path.name).exists()
    assert "TOY_LOW_PAY" not in {c.code for c in CHECKS}


def test_its_findings_and_action(closed):
    con, summary, _ = closed
    assert summary["counts"]["TOY_LOW_PAY"] == 1
    assert con.execute("SELECT title_zh, declarations FROM quality.checks WHERE code = 'TOY_LOW_PAY'").fetchone() \
        == ("测试：工资过低", ["stop"])
    rows = con.execute("SELECT action_type, employee_id, finding_codes, severity FROM actions.cleanup_actions"
                       " WHERE list_contains(finding_codes, 'TOY_LOW_PAY')").fetchall()
    assert rows == [("STOP_CONTRIBUTION", "E2", ["TOY_LOW_PAY"], "warning")]


def test_the_report_shows_its_title_and_sentence(closed):
    con, _, _ = closed
    html = render_report(con, RUN)
    assert "测试：工资过低" in html and "本月工资 800.00，低于 1000.00" in html
    assert "停止缴费" in html[:html.index('id="summary"')]   # its action type in the to-do list


def test_the_workbook_lists_it_on_its_action_types_sheet(closed):
    con, _, tmp_path = closed
    sheet = openpyxl.load_workbook(write_workbook(con, tmp_path / "actions.xlsx", role="hr_staff"))["停止缴费"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, v, strict=True)) for v in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(r["工号"], r["停保年月"]) for r in rows] == [("E2", PERIOD)]
    assert "测试：工资过低" in rows[0]["发现的问题"] and "本月工资 800.00，低于 1000.00" in rows[0]["说明"]


def test_the_declaration_its_row_names_picks_it_up(closed):
    con, _, tmp_path = closed
    written = write_declarations(con, PERIOD, tmp_path / "declarations", run_id=RUN)
    assert [p.name for p in written] == [f"长沙_减员_{PERIOD}.xlsx"]
    sheet = openpyxl.load_workbook(written[0]).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [dict(zip(header, r, strict=True))["姓名"] for r in rows] == ["员工2"]
    assert dict(zip(header, rows[0], strict=True))["停保年月"] == PERIOD.replace("-", "")


def test_a_dismissed_toy_action_leaves_the_declaration(closed):
    from transforms.actions.cleanup import dismiss

    con, _, tmp_path = closed
    action_id = con.execute("SELECT action_id FROM actions.cleanup_actions"
                            " WHERE list_contains(finding_codes, 'TOY_LOW_PAY')").fetchone()[0]
    dismiss(con, action_id, "测试", role="hr_manager")
    assert write_declarations(con, PERIOD, tmp_path / "declarations", run_id=RUN) == []
