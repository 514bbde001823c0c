"""Declarations (SPEC §7) per file: headers, people, amounts, read back with openpyxl. Findings come from
the real check SQL over hand-built warehouse rows, stored as a validation run's findings."""

from __future__ import annotations

import json
from decimal import Decimal

import openpyxl
import pytest

from tests.expectations.conftest import id_number, make_warehouse
from transforms.declarations import write_declarations

A = "长沙甲公司"
ID1 = id_number(birth="19900101", seq="123")
ID2 = id_number(birth="19850505", seq="456")
FOREIGN = "9" + id_number(area="430100", birth="19800101", seq="777")[1:]  # the check digit is not the point
RUN = "2024-04-01T00:00:00Z-test"


def cell(wh, period, employee_id, ident, insurance_type, base, employer, employee, name="张三"):
    wh._insert("ledger.contributions", dict(
        period=period, entity=A, employee_id=employee_id, id_number=ident, name=name, region="长沙",
        insurance_type=insurance_type, base=Decimal(base), month_fraction=Decimal(1),
        employer_rate=Decimal("0.16"), employee_rate=Decimal("0.08"), employer_amount=Decimal(employer),
        employee_amount=Decimal(employee), entry_type="original", run_id="L1", created_at="2024-04-01 00:00:00"))


def store(wh, period, codes):
    wh.con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES (?, ?, now(), 'succeeded')",
                   [RUN, period])
    for code in codes:
        for f in wh.findings(code, period):
            wh.con.execute(
                "INSERT INTO quality.findings (run_id, period, code, severity, entity, employee_id, id_number, region,"
                " insurance_type, transfer_id, details) VALUES (?, ?, ?, 'error', ?, ?, ?, ?, ?, ?, ?)",
                [RUN, period, code, f["entity"], f["employee_id"], f["id_number"], f["region"], f["insurance_type"],
                 f["transfer_id"], json.dumps(f["details"], ensure_ascii=False)])


def rows(path):
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return values[0], values[1:]


@pytest.fixture()
def closed(con, tmp_path):
    wh = make_warehouse(con)
    # E1 hired 2024-01-10, never enrolled: January and February unpaid, closed in March
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1, name="张三")
    wh.attendance(period="2024-03", employee_id="E1", id_number=ID1, hire_date="2024-01-10")
    for month, employer in (("2024-01", "1280.00"), ("2024-02", "1280.33"), ("2024-03", "1280.00")):
        cell(wh, month, "E1", ID1, "pension", "8000.00", employer, "640.00")
        cell(wh, month, "E1", ID1, "medical", "8000.00", "640.00", "160.00")
    # E2 left in February, still insured by A in March
    wh.payroll(period="2024-02", employee_id="E2", id_number=ID2, name="李四")
    wh.attendance(period="2024-03", employee_id="E2", id_number=ID2, name="李四", leave_date="2024-02-20",
                  row_number=2)
    wh.insurance(period="2024-03", id_number=ID2, name="李四", employer=A, insurance_type="pension", row_number=2)
    wh.insurance(period="2024-03", id_number=ID2, name="李四", employer=A, insurance_type="medical", row_number=3)
    wh.con.execute("UPDATE ledger.employee_months SET hire_date = DATE '2024-01-10' WHERE employee_id = 'E1'")
    store(wh, "2024-03", ["HIRED_NOT_ENROLLED", "DEPARTED_STILL_CONTRIBUTING"])
    return wh


def test_enrolment_list(closed, tmp_path):
    files = write_declarations(closed.con, "2024-03", tmp_path / "declarations")
    assert sorted(p.name for p in files) == ["长沙_减员_2024-03.xlsx", "长沙_增员_2024-03.xlsx", "长沙_补缴_2024-03.xlsx"]
    header, body = rows(tmp_path / "declarations" / "长沙_增员_2024-03.xlsx")
    assert header == ["姓名", "证件类型", "证件号码", "参保险种", "缴费基数", "参保起始年月", "单位"]
    masked = ID1[:6] + "********" + ID1[-4:]
    assert body == [["张三", "居民身份证", masked, "养老保险", 8000, "2024-01", A],
                    ["张三", "居民身份证", masked, "医疗保险", 8000, "2024-01", A]]


def test_stop_list(closed, tmp_path):
    write_declarations(closed.con, "2024-03", tmp_path)
    header, body = rows(tmp_path / "长沙_减员_2024-03.xlsx")
    assert header == ["姓名", "证件类型", "证件号码", "参保险种", "离职日期", "停保年月", "单位"]
    assert [r[0] for r in body] == ["李四", "李四"]
    assert {r[3] for r in body} == {"养老保险", "医疗保险"}
    assert {(r[4], r[5]) for r in body} == {("2024-02-20", "2024-03")}


def test_arrears_list_with_late_fee(closed, tmp_path):
    write_declarations(closed.con, "2024-03", tmp_path, full_ids=True)
    header, body = rows(tmp_path / "长沙_补缴_2024-03.xlsx")
    assert header == ["姓名", "证件类型", "证件号码", "补缴年月", "单位缴费", "个人缴费", "合计", "滞纳天数", "滞纳金", "单位"]
    # January 1920.00 + 800.00 over 60 days = 81.60; February 1920.33 + 800.00 over 31 days = 42.165115 -> 42.17
    assert body == [["张三", "居民身份证", ID1, "2024-01", 1920, 800, 2720, 60, 81.6, A],
                    ["张三", "居民身份证", ID1, "2024-02", 1920.33, 800, 2720.33, 31, 42.17, A],
                    ["张三", "居民身份证", ID1, "2024-03", 1920, 800, 2720, 0, 0, A]]


def test_base_declaration_in_the_month_the_contribution_year_starts(con, tmp_path):
    wh = make_warehouse(con)
    con.execute("INSERT INTO ref.regions (region, province, aliases) VALUES ('长沙', '湖南', []) ON CONFLICT DO NOTHING")
    wh.employee_month(period="2024-01", employee_id="E1", id_number=ID1, gross_pay="9000")
    wh.employee_month(period="2024-01", employee_id="E9", id_number=FOREIGN, name="John", gross_pay="3000",
                      month_fraction="0")  # not in the ledger population
    cell(wh, "2024-01", "E1", ID1, "pension", "9000.00", "1440.00", "720.00")
    cell(wh, "2024-01", "E1", ID1, "work_injury", "9000.00", "36.00", "0.00")
    store(wh, "2024-01", [])
    files = write_declarations(con, "2024-01", tmp_path)
    assert [p.name for p in files] == ["长沙_缴费基数申报_2024.xlsx"]
    header, body = rows(files[0])
    assert header == ["姓名", "证件类型", "证件号码", "单位", "月平均工资", "养老保险缴费基数", "工伤保险缴费基数"]
    assert body == [["张三", "居民身份证", ID1[:6] + "********" + ID1[-4:], A, 9000, 9000, 9000]]
    # not the start month: no base declaration
    assert write_declarations(con, "2024-02", tmp_path) == []
