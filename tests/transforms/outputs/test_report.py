"""The HR validation report: Chinese, self-contained, masked by default, escaped, rendered by Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from expectations.registry import CHECKS
from expectations.validate import start_run, validate_period
from tests.expectations.conftest import id_number, make_warehouse
from transforms.common.privacy import mask_id
from transforms.common.roles import PermissionDenied
from transforms.outputs.report import render_report, resolve_run, write_report
from warehouse.db import connect

EVIL = "<script>alert(1)</script>公司"
ID1 = id_number(birth="19900101", seq="123")
ID2 = id_number(birth="19850505", seq="456")


@pytest.fixture(scope="module")
def validated_file(migrated_warehouse, tmp_path_factory) -> tuple[Path, list[str]]:
    """Two validation runs of 2024-03 over a handful of problems, once for the module: (warehouse, run ids)."""
    path = tmp_path_factory.mktemp("validated") / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        wh = make_warehouse(con)
        wh.policy()
        wh.payroll(employee_id="E1", id_number=ID1, entity=EVIL)
        wh.payroll(employee_id="E2", id_number=ID1, entity=EVIL, row_number=2)
        wh.insurance(id_number=ID1, base="3000", employer=EVIL)
        wh.insurance(id_number=ID2, base="99999", employer=EVIL, row_number=2)
        wh.transfer(transfer_id="T1", stage_on="2024-01-05", id_number=ID2)
        wh.employee_month(employee_id="E1", entity=EVIL, id_number=ID1, si_withheld="10", withholding_difference="-630")
        wh.ledger_run()
        runs = []
        for run_id in ("20240401T000000000000Z-0001", "20240402T000000000000Z-0002"):
            start_run(con, run_id, "2024-03")
            validate_period(con, "2024-03", run_id)
            runs.append(run_id)
    finally:
        con.close()
    return path, runs


@pytest.fixture()
def validated(validated_file, warehouse_path):
    """A connection to this test's own copy of ``validated_file``, and the two run ids."""
    path, runs = validated_file
    shutil.copy(path, warehouse_path)
    con = connect(warehouse_path)
    yield con, runs
    con.close()


def test_masked_by_default_and_escaped(validated):
    con, runs = validated
    html = render_report(con, runs[-1])
    assert ID1 not in html and ID2 not in html
    assert mask_id(ID1) in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;公司" in html
    for title in ("重复身份证号", "缴费基数低于下限", "缴费基数高于上限", "代扣社保不符", "转移接续超时", "缺少数据"):
        assert title in html
    assert html.count('<tr><td>') >= len(CHECKS)  # the summary lists every code
    assert 'id="chart-by-code"' in html and 'id="chart-by-entity"' in html and 'id="chart-trend"' in html
    assert "已等待" in html and "工资表 payroll.csv 第 2 行" in html


def test_hr_manager_sees_full_ids_finance_is_refused(validated):
    con, runs = validated
    assert ID1 in render_report(con, runs[-1], role="hr_manager")
    with pytest.raises(PermissionDenied, match="finance may not see validation findings"):
        render_report(con, runs[-1], role="finance")


def test_trend_over_earlier_runs_and_run_resolution(validated, tmp_path):
    con, runs = validated
    html = render_report(con, runs[-1])
    trend = html[html.index('id="trend-table"'):]
    assert "<td>2024-03</td>" in trend and runs[0] not in html and runs[1] not in html  # labelled by period
    assert resolve_run(con, "2024-03") == runs[-1]
    path = write_report(con, runs[0], tmp_path)
    assert path.name == f"validation_report_{runs[0]}.html"
    assert "<td>2024-03</td>" in path.read_text(encoding="utf-8")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_report_renders_in_headless_chromium(validated, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian chromium is not installed; run scripts/system-deps.sh (CI does) to install it.")
    con, runs = validated
    path = write_report(con, runs[-1], tmp_path / "out")
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1280,4000", path.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
    dom = subprocess.run([*common, "--dump-dom", path.as_uri()], check=True, capture_output=True, timeout=120,
                         text=True).stdout
    assert 'id="summary-table"' in dom and "社保月度核对报告 2024-03" in dom
    codes = con.execute("SELECT DISTINCT code FROM quality.findings WHERE run_id = ?", [runs[-1]]).fetchall()
    for (code,) in codes:
        assert f'data-code="{code}"' in dom, code
    assert 'id="trend-table"' in dom and 'id="chart-by-code"' in dom
    assert ID1 not in dom


def test_template_is_self_contained():
    template = (Path(__file__).resolve().parents[3] / "transforms" / "templates" / "report.html").read_text()
    assert "http" not in template.replace("http://www.w3.org/2000/svg", "") and "<link" not in template


def test_arrears_say_where_data_starts_and_that_late_fees_are_estimates(con):
    """SPEC §5/§7 v3: the report lists who owes arrears for months before P, names the day the late fee is
    estimated as of, and says whose arrears start before the data does."""
    from decimal import Decimal

    wh = make_warehouse(con)
    wh.policy()
    wh.payroll(period="2024-02", employee_id="E1", id_number=ID1)
    wh.payroll(period="2024-03", employee_id="E1", id_number=ID1)
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1, hire_date="2023-06-01")
    wh._insert("ledger.contributions", dict(
        period="2024-02", entity="长沙甲公司", employee_id="E1", id_number=ID1, name="张三", region="长沙",
        insurance_type="pension", base=Decimal("8000"), month_fraction=Decimal(1), employer_rate=Decimal("0.16"),
        employee_rate=Decimal("0.08"), employer_amount=Decimal("1280.00"), employee_amount=Decimal("640.00"),
        entry_type="original", run_id="L1", created_at="2024-04-01 00:00:00"))
    wh.ledger_run()
    start_run(con, "20240401T000000000000Z-0001", "2024-03")
    validate_period(con, "2024-03", "20240401T000000000000Z-0001")
    html = render_report(con, "20240401T000000000000Z-0001")
    section = html.split('id="todo"')[1].split("</section>")[0]
    assert "应补缴与滞纳金（估算）" in section and 'id="arrears-table"' in section
    # 1920.00 × 0.05% × 31 days (02-29 → 03-31) = 29.76
    assert "2024-02" in section and "29.76" in section and "估算" in section and "2024-03-31" in section
    assert 'id="arrears-before-data"' in section and "1 人入职早于本系统最早的工资数据" in section
def test_a_sheet_named_like_an_id_is_masked_in_the_unbooked_people(con, tmp_path):
    """未入账人员 names the file and sheet of a rejected payroll row: a sheet named with an ID number (HR
    names sheets after people) shows it masked (issue 30.3)."""
    import openpyxl

    from tests.transforms.outputs.test_export import ATTENDANCE, _id, _payroll
    from transforms.ingest.inbox import ingest_inbox
    from transforms.ledger.book import compute_ledger
    from transforms.outputs.report import _unbooked

    sheet_id = _id("43010219900101777")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "attendance.csv").write_text(ATTENDANCE + f"2024-03,E1,王芳,{_id('43010219900101000')},星城公司,"
                                          "2020-01-06,\n", encoding="utf-8")
    book = openpyxl.Workbook()
    book.active.title = sheet_id
    for line in _payroll("E5").splitlines():
        book.active.append(line.split(","))
    book.save(inbox / "payroll.xlsx")
    ingest_inbox(con, inbox)
    compute_ledger(con, "2024-03")
    html = _unbooked(con, "2024-03", False)
    assert "导入时被拒收" in html and sheet_id not in html and mask_id(sheet_id) in html


def test_policy_sources_read_as_chinese_and_what_no_document_states_is_assumed():
    from transforms.outputs.report import policy_source_zh

    shipped = ("seed document (人事系统 article); lower than other published 2024 figures; rates: 国办发〔2019〕13号"
               " (employer 16%), employee 8%; national default — verify locally")
    assert policy_source_zh(shipped) == "依据 国办发〔2019〕13号；推定：部分数值为全国默认值，请按参保地当年通知核实"
    assert policy_source_zh("湘人社发〔2024〕12号") == "湘人社发〔2024〕12号"  # Chinese: as given
    assert policy_source_zh("seed document").startswith("推定") and policy_source_zh(None).startswith("推定")


def test_a_month_without_data_is_not_shown_as_checked_and_green(validated):
    con, runs = validated
    assert "项检查通过" in render_report(con, runs[-1]) and "状态 已完成" in render_report(con, runs[-1])
    con.execute("DELETE FROM ledger.employee_months WHERE period = '2024-03'")
    html = render_report(con, runs[-1])
    assert "项检查通过" not in html and "状态 已完成" not in html and "无本月数据" in html and 'id="no-data"' in html


def test_report_text_holds_no_flags_or_spec_references_and_ids_do_not_wrap(acceptance_closed, tmp_path):
    import re

    from warehouse.db import opened

    with opened(acceptance_closed, read_only=True) as con:
        run_id = con.execute("SELECT max(run_id) FROM quality.runs WHERE period = '2024-03'").fetchone()[0]
        html = render_report(con, run_id)
    for words in ("--policy", "--full-ids", "SPEC", "not found again", "verify locally", "national default"):
        assert words not in html, words
    assert '<td class="nowrap">' in html
    # the findings tables: 工号, 姓名 and 身份证号 (columns 3 to 5) never wrap either
    style = html.split("<style>")[1].split("</style>")[0]
    assert all(f"table.findings td:nth-child({n})" in style for n in (3, 4, 5))
    # the to-do list: what blocks most first (people not booked, amounts, time limits, records)
    todo = html.split('id="todo-table"')[1].split("</table>")[0]
    from transforms.actions.cleanup import TYPES

    rank = {t.name_zh: t.rank for t in TYPES}
    order = [rank[m] for m in re.findall(r"<tr><td>([^<]+)</td>", todo)]
    assert order and order == sorted(order)


def test_findings_tables_rendered_a_check_at_a_time_are_the_whole_macro(validated, tmp_path, monkeypatch):
    """The report writes each check's findings table apart (a large close's page is 105 MB): the pieces are
    what the ``details`` macro makes of every check at once, and the file written is the page rendered whole."""
    from transforms.outputs import report

    con, runs = validated
    findings = [report._finding(row) for row in con.execute(
        "SELECT code, severity, entity, employee_id, id_number, region, insurance_type, transfer_id, details"
        " FROM quality.findings WHERE run_id = ? ORDER BY code, entity, employee_id, id_number, insurance_type,"
        " transfer_id, region", [runs[-1]]).fetchall()]
    checks = report.checks_of(con, findings)
    rows = {check.code: [report._row(f, check.evidence_zh, mask_id, report.redact, {}) for f in findings
                         if f["code"] == check.code] for check in checks}
    sections = [(check, report.SEVERITY_ZH[check.severity], len(rows[check.code]), report._body(rows[check.code]))
                for check in checks]
    read: list[str] = []

    def findings_of(code):  # a check's findings read from DuckDB when its table is rendered, not all at once
        read.append(code)
        mine = report.findings_of(con, runs[-1], code)
        assert all(f["code"] == code for f in mine)
        assert mine == [f for f in findings if f["code"] == code]  # same rows, same order
        assert [f["details"] for f in mine] == [f["details"] for f in findings if f["code"] == code]
        return mine

    pieces = list(report._details(checks, findings_of, mask_id, report.redact, {}))
    assert len(pieces) > 2  # several checks found something
    assert read == [check.code for check in checks]
    assert "".join(pieces) == report._part("details", [s for s in sections if s[2]])
    assert list(report._details(checks, lambda code: [], mask_id, report.redact, {})) == [report._part("details", [])]
    monkeypatch.setattr(report, "BODY_ROWS", 1)  # a table's rows rendered a row at a time: the same markup
    rows_apart = list(report._details(checks, lambda code: report.findings_of(con, runs[-1], code), mask_id,
                                      report.redact, {}))
    assert len(rows_apart) > len(pieces) and "".join(rows_apart) == "".join(pieces)
    path = write_report(con, runs[-1], tmp_path)
    assert path.read_text(encoding="utf-8") == render_report(con, runs[-1])
    assert "\x00" not in path.read_text(encoding="utf-8")


def test_table_bodies_print_each_cell_as_the_template_engine_does():
    """A table's rows are built column-wise (``_body``), not by a macro's loop per cell: each cell prints as the
    engine prints it (markupsafe's escapes, ``&#34;`` and ``&#39;`` included; a number as ``str``; ``None`` empty),
    with ``class="nowrap"`` on the marked columns."""
    from decimal import Decimal

    from transforms.common.templating import environment
    from transforms.outputs import report

    loop = environment().from_string(
        "{% for row in rows %}<tr>{% for nowrap, cell in row %}<td{% if nowrap %} class=\"nowrap\"{% endif %}>"
        "{{ '' if cell is none else cell }}</td>{% endfor %}</tr>{% endfor %}")
    rows = [[EVIL, None, 'a "quoted" & \'single\'', "", 3, Decimal("1.50")],
            ["&amp; already", "多行\n文本", "<>", None, 0, "—"]]
    for nowrap in ([False] * 6, [True, False, True, False, False, True]):
        expected = loop.render(rows=[list(zip(nowrap, row, strict=True)) for row in rows])
        assert str(report._body(rows, nowrap)) == expected
    assert str(report._body(rows)) == loop.render(rows=[[(False, cell) for cell in row] for row in rows])
    assert "&lt;script&gt;" in str(report._body(rows)) and "&#34;quoted&#34; &amp; &#39;single&#39;" in str(
        report._body(rows))
    assert str(report._body([])) == ""
