"""Each SPEC §5 code: one positive case and one near-miss negative case, on hand-built rows."""

from __future__ import annotations

from tests.expectations.conftest import id_number

A = "长沙甲公司"
B = "长沙乙公司"
ID1 = id_number(birth="19900101", seq="123")
ID2 = id_number(birth="19850505", seq="456")


def to_15(ident: str) -> str:
    return ident[:6] + ident[8:17]


# --- identity -------------------------------------------------------------------------------------------

def test_duplicate_id_number_15_and_18_digits_of_one_person(wh):
    wh.payroll(employee_id="E1", id_number=ID1, row_number=1)
    wh.payroll(employee_id="E2", id_number=ID1, id_number_raw=to_15(ID1), row_number=2)  # ingest normalised it
    rows = wh.findings("DUPLICATE_ID_NUMBER")
    assert sorted((r["entity"], r["employee_id"]) for r in rows) == [(A, "E1"), (A, "E2")]
    e2 = next(r for r in rows if r["employee_id"] == "E2")
    assert e2["id_number"] == ID1
    assert e2["details"]["id_number_raw"] == to_15(ID1)
    assert e2["details"]["others"] == [{"entity": A, "employee_id": "E1"}]
    assert e2["details"]["source"] == {"kind": "payroll", "file": "payroll.csv", "sheet": None, "row": 2}


def test_duplicate_id_number_near_miss_same_employee_in_payroll_and_attendance(wh):
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.attendance(employee_id="E1", id_number=ID1)
    wh.payroll(employee_id="E2", id_number=ID2, row_number=2)
    wh.payroll(period="2024-02", employee_id="E3", id_number=ID1)  # another month: not P's employee
    assert wh.findings("DUPLICATE_ID_NUMBER") == []


def test_duplicate_id_number_across_entities_and_attendance_only_employees(wh):
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.attendance(employee_id="X9", entity=B, id_number=ID1)
    assert wh.keys("DUPLICATE_ID_NUMBER") == sorted([(A, "E1"), (B, "X9")])


def test_duplicate_person(wh):
    wh.payroll(employee_id="E1", name="王芳", id_number=id_number(birth="19900101", seq="124"))
    wh.payroll(employee_id="E2", name="王芳", id_number=id_number(birth="19900101", seq="126"), row_number=2)
    rows = wh.findings("DUPLICATE_PERSON")
    assert sorted(r["employee_id"] for r in rows) == ["E1", "E2"]
    assert rows[0]["details"]["birth_digits"] == "19900101"


def test_duplicate_person_near_miss_other_birth_date_or_same_id(wh):
    wh.payroll(employee_id="E1", name="王芳", id_number=id_number(birth="19900101", seq="124"))
    wh.payroll(employee_id="E2", name="王芳", id_number=id_number(birth="19900102", seq="124"), row_number=2)
    wh.payroll(employee_id="E3", name="李雷", id_number=ID2, row_number=3)
    wh.payroll(employee_id="E4", name="李雷", id_number=ID2, row_number=4)  # same id: DUPLICATE_ID_NUMBER's case
    assert wh.findings("DUPLICATE_PERSON") == []


def test_invalid_id_number(wh):
    bad = ID1[:17] + ("0" if ID1[17] != "0" else "1")
    wh.payroll(employee_id="E1", id_number=bad)
    wh.attendance(employee_id="E2", id_number=id_number(area="990102"))
    rows = {r["employee_id"]: r for r in wh.findings("INVALID_ID_NUMBER")}
    assert rows["E1"]["details"]["id_problem"] == "check_digit"
    assert rows["E2"]["details"]["id_problem"] == "province"
    assert rows["E2"]["details"]["source"]["kind"] == "attendance"


def test_invalid_id_number_near_miss_valid_with_x_and_sixteen_on_the_first_of_p(wh):
    wh.payroll(employee_id="E1", id_number="34052419800101001X")
    wh.payroll(employee_id="E2", id_number=id_number(birth="20080301"), row_number=2)  # 16 on 2024-03-01
    wh.payroll(employee_id="E4", id_number=id_number(area="943012"), row_number=4)  # foreign permanent resident
    assert wh.findings("INVALID_ID_NUMBER") == []
    wh.payroll(employee_id="E3", id_number=id_number(birth="20240401"), row_number=3)  # born after P
    wh.payroll(employee_id="E5", id_number=id_number(birth="20080302"), row_number=5)  # 16 only on 2024-03-02
    found = {r["employee_id"]: r["details"]["id_problem"] for r in wh.findings("INVALID_ID_NUMBER")}
    assert found == {"E3": "birth_date", "E5": "too_young"}


# --- bases ---------------------------------------------------------------------------------------------

def test_base_below_floor_and_exactly_at_floor(wh):
    wh.policy()
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, base="3603.99")
    wh.insurance(id_number=ID2, base="3604", row_number=2)                 # exactly at the floor
    wh.insurance(id_number=ID2, base="3000", insurance_type="medical")     # no medical policy row: not levied
    rows = wh.findings("BASE_BELOW_FLOOR")
    assert [(r["id_number"], r["insurance_type"]) for r in rows] == [(ID1, "pension")]
    d = rows[0]["details"]
    assert (d["base"], d["base_floor"], d["expected_base"]) == ("3603.99", "3604.00", "3604.00")
    assert rows[0]["employee_id"] == "E1" and rows[0]["entity"] == A


def test_base_below_floor_only_for_active_records_of_ours_covering_p(wh):
    wh.policy()
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, base="3000", employer="别家公司")                  # not ours
    wh.insurance(id_number=ID2, base="3000", status="suspended")                  # not active
    wh.insurance(id_number=id_number(seq="777"), base="3000", end_month="2024-02")  # does not cover P
    wh.insurance(id_number=id_number(seq="778"), base="3000", start_month="2024-04")
    assert wh.findings("BASE_BELOW_FLOOR") == []


def test_our_record_means_an_entity_seen_in_payroll_up_to_p(wh):
    wh.policy()
    wh.payroll(period="2024-01", entity=B, employee_id="B1")
    wh.insurance(id_number=ID1, base="3000", employer=B)
    assert wh.keys("BASE_BELOW_FLOOR") == [(ID1, "pension")]
    assert wh.keys("BASE_BELOW_FLOOR", period="2023-12") == []


def test_base_above_ceiling_and_exactly_at_ceiling(wh):
    wh.policy()
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, base="18021.01")
    wh.insurance(id_number=ID2, base="18021", row_number=2)
    rows = wh.findings("BASE_ABOVE_CEILING")
    assert [(r["id_number"], r["insurance_type"]) for r in rows] == [(ID1, "pension")]
    assert rows[0]["details"]["expected_base"] == "18021.00"


def test_base_mismatch_one_yuan_and_near_miss(wh):
    wh.policy()
    for employee_id, ident, base in (("E1", ID1, "5001.00"), ("E2", ID2, "5000.99")):
        wh.payroll(employee_id=employee_id, id_number=ident)
        wh.employee_month(employee_id=employee_id, id_number=ident)
        wh.contribution(employee_id=employee_id, id_number=ident, base="5000")
        wh.insurance(id_number=ident, base=base)
    rows = wh.findings("BASE_MISMATCH")
    assert [(r["id_number"], r["insurance_type"]) for r in rows] == [(ID1, "pension")]
    assert (rows[0]["details"]["base"], rows[0]["details"]["ledger_base"]) == ("5001.00", "5000.00")


def test_base_mismatch_needs_the_ledger_population_and_a_base_in_range(wh):
    wh.policy()
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.employee_month(employee_id="E1", id_number=ID1, month_fraction="0")  # f = 0: not in the population
    wh.contribution(employee_id="E1", id_number=ID1, base="5000")
    wh.insurance(id_number=ID1, base="6000")
    wh.payroll(employee_id="E2", id_number=ID2)
    wh.employee_month(employee_id="E2", id_number=ID2)
    wh.contribution(employee_id="E2", id_number=ID2, base="5000")
    wh.insurance(id_number=ID2, base="3000")                                 # below floor: that code's case
    assert wh.findings("BASE_MISMATCH") == []


def test_withholding_mismatch_above_one_yuan(wh):
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.employee_month(employee_id="E1", id_number=ID1, si_withheld="641.01", withholding_difference="1.01")
    wh.employee_month(employee_id="E2", id_number=ID2, si_withheld="641.00", withholding_difference="1.00")
    wh.employee_month(employee_id="E3", id_number=id_number(seq="333"), si_withheld="0",
                      expected_employee_amount="0", withholding_difference="-5", has_pension_policy=False)
    rows = wh.findings("WITHHOLDING_MISMATCH")
    assert [(r["entity"], r["employee_id"]) for r in rows] == [(A, "E1")]
    assert rows[0]["details"]["si_withheld"] == "641.01"
    assert rows[0]["details"]["source"]["file"] == "payroll.csv"


# --- enrolment and lifecycle -----------------------------------------------------------------------------

def test_hired_not_enrolled(wh):
    wh.employee_month(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, region="武汉", employer=A)       # wrong region does not count
    wh.employee_month(employee_id="E2", id_number=ID2)
    wh.insurance(id_number=ID2, region="长沙", employer=A, row_number=2)
    rows = wh.findings("HIRED_NOT_ENROLLED")
    assert [(r["entity"], r["employee_id"]) for r in rows] == [(A, "E1")]
    assert rows[0]["details"]["records"][0]["region"] == "武汉"


def test_hired_not_enrolled_near_miss_late_hire_outside_population(wh):
    wh.employee_month(employee_id="E1", id_number=ID1, month_fraction="0")
    wh.employee_month(employee_id="E2", id_number=ID2, has_pension_policy=False)
    assert wh.findings("HIRED_NOT_ENROLLED") == []


def test_departed_still_contributing(wh):
    wh.payroll(period="2024-02", employee_id="E1", id_number=ID1)
    wh.attendance(period="2024-02", employee_id="E1", leave_date="2024-02-29")   # no id here: payroll's
    wh.insurance(id_number=ID1, employer=A, insurance_type="medical")
    rows = wh.findings("DEPARTED_STILL_CONTRIBUTING")
    assert [(r["entity"], r["employee_id"], r["id_number"]) for r in rows] == [(A, "E1", ID1)]
    assert rows[0]["details"]["leave_date"] == "2024-02-29"


def test_departed_near_miss_leaving_on_the_first_or_still_paid(wh):
    wh.attendance(period="2024-03", employee_id="E1", id_number=ID1, leave_date="2024-03-01")
    wh.insurance(id_number=ID1, employer=A)
    wh.attendance(period="2024-02", employee_id="E2", id_number=ID2, leave_date="2024-02-10", row_number=2)
    wh.payroll(employee_id="E2b", id_number=ID2)  # rehired under another id: on P's payroll of A
    wh.insurance(id_number=ID2, employer=A, row_number=2)
    assert wh.findings("DEPARTED_STILL_CONTRIBUTING") == []


def test_active_elsewhere(wh):
    wh.employee_month(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, region="武汉", employer="武汉某公司")
    rows = wh.findings("ACTIVE_ELSEWHERE")
    assert [(r["entity"], r["employee_id"]) for r in rows] == [(A, "E1")]
    assert (rows[0]["details"]["other_region"], rows[0]["details"]["other_employer"]) == ("武汉", "武汉某公司")


def test_active_elsewhere_near_miss_ended_or_not_pension(wh):
    wh.employee_month(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, region="武汉", end_month="2024-02")
    wh.insurance(id_number=ID1, region="武汉", insurance_type="medical", row_number=2)
    wh.insurance(id_number=ID1, region="武汉", status="terminated", row_number=3)
    assert wh.findings("ACTIVE_ELSEWHERE") == []


def test_first_enrollment_misjudged(wh):
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, start_month="2024-01", first_enrollment=True)
    wh.insurance(period="2023-06", id_number=ID1, region="武汉", employer="武汉某公司", start_month="2023-05",
                 status="terminated", end_month="2023-12")
    rows = wh.findings("FIRST_ENROLLMENT_MISJUDGED")
    assert [r["id_number"] for r in rows] == [ID1]
    assert rows[0]["details"]["earlier_start_month"] == "2023-05"


def test_first_enrollment_near_miss_same_start_month(wh):
    wh.payroll(employee_id="E1", id_number=ID1)
    wh.insurance(id_number=ID1, start_month="2024-01", first_enrollment=True)
    wh.insurance(id_number=ID1, region="武汉", employer="别家", start_month="2024-01", row_number=2)
    wh.insurance(id_number=ID1, insurance_type="medical", start_month="2020-01", row_number=3)  # not pension
    assert wh.findings("FIRST_ENROLLMENT_MISJUDGED") == []


def test_no_policy(wh):
    wh.employee_month(employee_id="E1", id_number=ID1, region="三沙", has_pension_policy=False)
    wh.employee_month(employee_id="E2", id_number=ID2, region="三沙", has_pension_policy=False)
    rows = wh.findings("NO_POLICY")
    assert [r["region"] for r in rows] == ["三沙"]
    assert rows[0]["details"]["employees"] == 2


def test_no_policy_near_miss_month_fraction_zero(wh):
    wh.employee_month(employee_id="E1", id_number=ID1, region="三沙", has_pension_policy=False, month_fraction="0")
    assert wh.findings("NO_POLICY") == []


# --- transfers -------------------------------------------------------------------------------------------

def test_stale_transfer_exactly_at_limit_and_one_day_over(wh):
    from transforms.common.workdays import ensure_calendar

    ensure_calendar(wh.con)
    # March 2024 has no public holiday; from 03-08 (Fri) to 03-31: 15 working days, from 03-07: 16.
    wh.transfer(transfer_id="AT_LIMIT", stage="origin_approved", stage_on="2024-03-08")
    wh.transfer(transfer_id="OVER", stage="funds_received", stage_on="2024-03-07", id_number=ID2, row_number=2)
    wh.transfer(transfer_id="DONE", stage="completed", stage_on="2024-01-02", row_number=3)
    rows = wh.findings("STALE_TRANSFER")
    assert [r["transfer_id"] for r in rows] == ["OVER"]
    d = rows[0]["details"]
    assert (d["working_days_waited"], d["limit_days"], d["calendar"]) == (16, 15, "official")


def test_stale_transfer_uses_holidays_make_up_days_and_configured_limits(wh):
    from transforms.common.workdays import ensure_calendar

    ensure_calendar(wh.con)
    # October 2024: 1–7 off (National Day), Saturday 12 is a make-up working day: 19 working days from 09-30.
    wh.transfer(period="2024-10", transfer_id="T1", stage_on="2024-09-30")
    wh.con.execute("UPDATE ref.transfer_stage_limits SET limit_days = 19 WHERE stage = 'submitted'")
    assert wh.findings("STALE_TRANSFER", period="2024-10") == []
    wh.con.execute("UPDATE ref.transfer_stage_limits SET limit_days = 18 WHERE stage = 'submitted'")
    assert [r["details"]["working_days_waited"] for r in wh.findings("STALE_TRANSFER", period="2024-10")] == [19]


def test_stale_transfer_beyond_the_official_calendar_counts_weekends_only(wh):
    from transforms.common.workdays import ensure_calendar

    ensure_calendar(wh.con)
    wh.transfer(period="2031-10", transfer_id="T1", stage_on="2031-09-30")  # 2031-10: 23 weekdays
    rows = wh.findings("STALE_TRANSFER", period="2031-10")
    assert [(r["details"]["working_days_waited"], r["details"]["calendar"]) for r in rows] == [(23, "weekends_only")]


def test_transfer_not_reflected(wh):
    wh.transfer(transfer_id="T1", stage="completed", stage_on="2024-02-20", from_region="武汉", id_number=ID1)
    wh.insurance(id_number=ID1, region="武汉", employer="武汉某公司", start_month="2024-02")
    rows = wh.findings("TRANSFER_NOT_REFLECTED")
    assert [r["transfer_id"] for r in rows] == ["T1"]
    assert rows[0]["details"]["record_start_month"] == "2024-02"


def test_transfer_not_reflected_near_miss_record_started_after_the_transfer(wh):
    wh.transfer(transfer_id="T1", stage="completed", stage_on="2024-02-20", from_region="武汉", id_number=ID1)
    wh.insurance(id_number=ID1, region="武汉", employer="武汉某公司", start_month="2024-03")
    wh.transfer(transfer_id="T2", stage="funds_received", stage_on="2024-03-20", from_region="武汉", id_number=ID2,
                row_number=2)
    wh.insurance(id_number=ID2, region="武汉", employer="武汉某公司", start_month="2020-01", row_number=2)
    assert wh.findings("TRANSFER_NOT_REFLECTED") == []


# --- completeness ----------------------------------------------------------------------------------------

def test_missing_extract(wh):
    wh.payroll()
    wh.attendance()
    wh.insurance()
    wh.transfer(period="2024-02")
    rows = wh.findings("MISSING_EXTRACT")
    assert [r["details"] for r in rows] == [{"kind": "transfers", "latest_period_before": "2024-02"}]


def test_missing_extract_near_miss_every_kind_present(wh):
    wh.payroll()
    wh.attendance()
    wh.insurance()
    wh.transfer()
    assert wh.findings("MISSING_EXTRACT") == []
