"""HIRED_NOT_ENROLLED (SPEC §5 version 3) against hand-computed cases: the arrears of two months unpaid, closed a
month later (months before P only); the 30-day registration window; a mistyped ID of someone insured."""

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


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


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


def test_p_itself_is_no_arrears_month(wh):
    # P is declared by the 增员 (参保起始年月 = P), never by the 补缴
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1)
    cell(wh, "2024-03", "pension", "1280.00", "640.00")
    [row] = wh.findings("HIRED_NOT_ENROLLED")
    d = row["details"]
    assert d["arrears_months"] == [] and d["arrears_by_month"] == []
    assert (d["arrears_employer"], d["arrears_employee"], d["late_fee"]) == ("0.00", "0.00", "0.00")


def test_registration_window_of_30_days(wh):
    # 社会保险法 第58条: hired on the 20th of P, registered by the 19th of P + 1: not overdue at P's end
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1, hire_date="2024-03-20")
    wh.employee_month(period="2024-03", employee_id="E2", id_number=id_number(seq="124"), hire_date="2024-02-29")
    wh.employee_month(period="2024-03", employee_id="E3", id_number=id_number(seq="125"), hire_date=None)
    wh.employee_month(period="2024-03", employee_id="E4", id_number=id_number(seq="126"), hire_date="2024-03-01")
    got = {r["employee_id"]: (r["details"]["registration_due"], r["details"]["overdue"])
           for r in wh.findings("HIRED_NOT_ENROLLED")}
    assert got == {"E1": ("2024-04-19", False), "E2": ("2024-03-30", True), "E3": (None, True),
                   "E4": ("2024-03-31", False)}   # due on P's last day: not before it


def test_arrears_before_data_when_hired_before_the_first_payroll_month(wh):
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1, hire_date="2023-11-05")
    wh.employee_month(period="2024-03", employee_id="E2", id_number=id_number(seq="124"), hire_date="2024-03-02")
    wh.payroll(period="2024-01", employee_id="E1", id_number=ID1)
    wh.payroll(period="2024-03", employee_id="E2", id_number=id_number(seq="124"))
    got = {r["employee_id"]: r["details"]["arrears_before_data"] for r in wh.findings("HIRED_NOT_ENROLLED")}
    assert got == {"E1": True, "E2": False}


def test_a_mistyped_id_of_someone_insured_is_no_hired_not_enrolled(wh):
    typo = wrong_check_digit(ID1)
    wh.payroll(period="2024-03", employee_id="E1", id_number=typo)
    wh.employee_month(period="2024-03", employee_id="E1", id_number=typo)
    wh.insurance(period="2024-03", id_number=ID1, name="张三", region="长沙", employer=A)
    # the same mistake without a record under the real number (another name) is still not enrolled
    other = id_number(seq="124")
    other_typo = wrong_check_digit(other)
    wh.payroll(period="2024-03", employee_id="E2", id_number=other_typo, name="李四")
    wh.employee_month(period="2024-03", employee_id="E2", id_number=other_typo, name="李四")
    wh.insurance(period="2024-03", id_number=other, name="李思", region="长沙", employer=A)
    assert [r["employee_id"] for r in wh.findings("HIRED_NOT_ENROLLED")] == ["E2"]
    invalid = {r["employee_id"]: r["details"].get("insured_as") for r in wh.findings("INVALID_ID_NUMBER")}
    assert invalid == {"E1": ID1[:6] + "********" + ID1[-4:], "E2": None}
