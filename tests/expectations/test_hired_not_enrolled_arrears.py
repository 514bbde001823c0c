"""HIRED_NOT_ENROLLED arrears (SPEC §5) against a hand-computed case: two months unpaid, closed a month later."""

from __future__ import annotations

from decimal import Decimal

from tests.expectations.conftest import id_number

A = "长沙甲公司"
ID1 = id_number(birth="19900101", seq="123")


def cell(wh, period, insurance_type, employer, employee, region="长沙", entry_type="original"):
    wh._insert("ledger.contributions", dict(
        period=period, entity=A, employee_id="E1", id_number=ID1, name="张三", region=region,
        insurance_type=insurance_type, base=Decimal("8000") if entry_type == "original" else Decimal(0),
        month_fraction=Decimal(1) if entry_type == "original" else Decimal(0),
        employer_rate=Decimal("0.16"), employee_rate=Decimal("0.08"), employer_amount=Decimal(employer),
        employee_amount=Decimal(employee), entry_type=entry_type, run_id="L1", created_at="2024-04-01 00:00:00"))


def test_two_months_unpaid_closed_a_month_later(wh):
    # hired in January, never enrolled; March is covered by a (suspended) record of the entity in 长沙
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1)
    wh.insurance(period="2024-03", id_number=ID1, region="长沙", employer=A, status="suspended",
                 start_month="2024-03")
    cell(wh, "2024-01", "pension", "1280.00", "640.00")
    cell(wh, "2024-01", "medical", "640.00", "160.00")
    cell(wh, "2024-01", "pension", "-20.00", "0.00", entry_type="adjustment")   # a correction nets in
    cell(wh, "2024-02", "pension", "1280.33", "640.00")
    cell(wh, "2024-02", "medical", "640.00", "160.00")
    cell(wh, "2024-02", "pension", "999.00", "999.00", region="武汉")              # another region: not R
    cell(wh, "2024-03", "pension", "1280.00", "640.00")                           # covered (any status)
    cell(wh, "2024-04", "pension", "1280.00", "640.00")                           # after P
    [row] = wh.findings("HIRED_NOT_ENROLLED")
    d = row["details"]
    assert d["arrears_months"] == ["2024-01", "2024-02"]
    # January 1900.00 + 800.00 = 2700.00 × 0.05% × 60 days (01-31 → 03-31) = 81.00
    # February 1920.33 + 800.00 = 2720.33 × 0.05% × 31 days (02-29 → 03-31) = 42.165115 → 42.17
    assert d["arrears_employer"] == "3820.33"
    assert d["arrears_employee"] == "1600.00"
    assert d["late_fee"] == "123.17"
    assert [(m["month"], m["days"], m["late_fee"]) for m in d["arrears_by_month"]] == [
        ("2024-01", 60, "81.00"), ("2024-02", 31, "42.17")]


def test_no_arrears_months_when_only_p_and_covered(wh):
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1)
    cell(wh, "2024-03", "pension", "1280.00", "640.00")
    [row] = wh.findings("HIRED_NOT_ENROLLED")
    d = row["details"]
    assert d["arrears_months"] == ["2024-03"]
    assert (d["arrears_employer"], d["arrears_employee"], d["late_fee"]) == ("1280.00", "640.00", "0.00")
