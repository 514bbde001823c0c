"""SPEC v3 §5 by employment type, on hand-built rows: a part-timer's enrolment is read on work-injury records
and the pension-only rules (ACTIVE_ELSEWHERE, DOUBLE_ENROLLMENT, TRANSFER_NEEDED) leave them out; a retired
re-hire or an intern is in no rule of the ledger population. RETIREMENT_DUE: who reaches the statutory age
by P + 3 months, on what basis, and whether their contribution months reach the minimum."""

from __future__ import annotations

import pytest

from tests.expectations.conftest import id_number
from warehouse.reference import refresh_cities, refresh_regions

A = "长沙甲公司"


@pytest.fixture(autouse=True)
def regions(con):
    refresh_regions(con)
    refresh_cities(con)


def employ(wh, con, employee_id: str, ident: str, employment_type: str | None, category: str | None = None,
           period: str = "2024-03") -> None:
    wh.employee_month(period=period, employee_id=employee_id, id_number=ident)
    con.execute("UPDATE ledger.employee_months SET employment_type = ?, position_category = ?"
                " WHERE employee_id = ? AND period = ?", [employment_type, category, employee_id, period])


def test_a_part_timer_is_enrolled_by_a_work_injury_record(wh, con):
    insured, pension_only, full_timer = (id_number(seq=s) for s in ("201", "203", "205"))
    employ(wh, con, "E1", insured, "part_time")
    wh.insurance(id_number=insured, insurance_type="work_injury", row_number=1)
    employ(wh, con, "E2", pension_only, "part_time")
    wh.insurance(id_number=pension_only, insurance_type="pension", row_number=2)   # not what a part-timer needs
    employ(wh, con, "E3", full_timer, "full_time")
    wh.insurance(id_number=full_timer, insurance_type="work_injury", row_number=3)  # a full-timer needs pension
    found = {f["employee_id"]: (f["insurance_type"], f["details"]["record_type"])
             for f in wh.findings("HIRED_NOT_ENROLLED")}
    assert found == {"E2": ("work_injury", "work_injury"), "E3": ("pension", "pension")}


def test_pension_rules_leave_part_timers_out(wh, con):
    for n, kind in enumerate(("part_time", "full_time")):
        ident = id_number(seq=f"3{n}1")
        employ(wh, con, f"E{n}", ident, kind)
        wh.insurance(id_number=ident, employer=A, row_number=10 * n + 1)                      # enrolled here
        wh.insurance(id_number=ident, employer="武汉丙公司", region="武汉", row_number=10 * n + 2)  # elsewhere
        wh.insurance(id_number=ident, employer="长沙乙公司", row_number=10 * n + 3)           # same region
        wh.insurance(id_number=ident, employer="原单位", region="广州", status="suspended", start_month="2015-01",
                     end_month="2023-12", row_number=10 * n + 4)                              # another province
    for code in ("ACTIVE_ELSEWHERE", "DOUBLE_ENROLLMENT", "TRANSFER_NEEDED"):
        assert wh.keys(code) == [(A, "E1")], code


@pytest.mark.parametrize("employment_type", ["retiree", "intern"])
def test_retirees_and_interns_are_in_no_rule_of_the_population(wh, con, employment_type):
    old_man = id_number(birth="19580101", seq="401")
    employ(wh, con, "E1", old_man, employment_type)
    wh.insurance(id_number=old_man, employer="武汉丙公司", region="武汉", row_number=1)
    for code in ("HIRED_NOT_ENROLLED", "ACTIVE_ELSEWHERE", "RETIREMENT_DUE"):
        assert wh.findings(code) == [], code


def test_retirement_due_by_p_plus_three_months(wh, con):
    """P = 2025-03, so retirement months up to 2025-06 are due."""
    people = {
        "M1": (id_number(birth="19650401", seq="501"), None),      # man 60y1m -> 2025-05: due
        "M2": (id_number(birth="19650901", seq="503"), None),      # man 60y3m -> 2025-12: not yet
        "F1": (id_number(birth="19700301", seq="502"), "cadre"),   # woman cadre 55y1m -> 2025-04: due
        "F2": (id_number(birth="19700301", seq="504"), None),      # no category: 50 -> 2020-03: due, assumed
        "F3": (id_number(birth="19750601", seq="506"), "worker"),  # woman worker 50y3m -> 2025-09: not yet
        "F4": (id_number(birth="19750301", seq="508"), "worker"),  # 50y2m -> 2025-05: due
    }
    for employee_id, (ident, category) in people.items():
        employ(wh, con, employee_id, ident, "full_time", category, period="2025-03")
    employ(wh, con, "X1", "43010219600101001X", "full_time", period="2025-03")   # invalid check digit: no finding
    found = {f["employee_id"]: f["details"] for f in wh.findings("RETIREMENT_DUE", "2025-03")}
    assert sorted(found) == ["F1", "F2", "F4", "M1"]
    assert {k: (d["retirement_month"], d["retirement_age"], d["basis"], d["basis_assumed"])
            for k, d in found.items()} == {
        "M1": ("2025-05", "60y1m", "male", False), "F1": ("2025-04", "55y1m", "female_55", False),
        "F2": ("2020-03", "50y0m", "female_50", True), "F4": ("2025-05", "50y2m", "female_50", False)}
    assert all(d["min_contribution_months"] == 180 and d["months_paid"] is None and d["short_of_minimum"] is None
               for d in found.values())


def test_retirement_due_carries_the_contribution_months(wh, con):
    short, enough = id_number(birth="19640601", seq="511"), id_number(birth="19640501", seq="513")
    for n, ident in enumerate((short, enough)):
        employ(wh, con, f"E{n}", ident, "full_time")
        wh.insurance(id_number=ident, row_number=2 * n + 1)
        wh.insurance(id_number=ident, region="武汉", employer="原单位", status="terminated", row_number=2 * n + 2)
    con.execute("UPDATE staging.insurance SET months_paid = CASE WHEN id_number = ? THEN"
                " (CASE region WHEN '长沙' THEN 150 ELSE 90 END) ELSE 200 END", [short])
    found = {f["employee_id"]: f["details"] for f in wh.findings("RETIREMENT_DUE")}
    # the largest of the person's records (a transfer carries the months over: adding would count twice)
    assert (found["E0"]["months_paid"], found["E0"]["short_of_minimum"]) == (150, True)
    assert (found["E1"]["months_paid"], found["E1"]["short_of_minimum"]) == (200, False)
