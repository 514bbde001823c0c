"""SPEC v2 §5 checks on hand-built rows: DOUBLE_ENROLLMENT, TRANSFER_NEEDED (with provincial pooling, a
transfer under way and the interim-account notice) and POLICY_OUTDATED, each with its decoys."""

from __future__ import annotations

import pytest

from tests.expectations.conftest import id_number
from warehouse.reference import refresh_cities, refresh_regions

ENTITY = "长沙甲公司"


@pytest.fixture(autouse=True)
def regions(con):
    """Provinces come from the shipped region and division tables, as after any ingest."""
    refresh_regions(con)
    refresh_cities(con)


def test_double_enrollment_is_another_employer_in_the_same_region(wh):
    person, other, elsewhere = id_number(seq="101"), id_number(seq="103"), id_number(seq="105")
    for employee_id, ident in (("E1", person), ("E2", other), ("E3", elsewhere)):
        wh.employee_month(employee_id=employee_id, id_number=ident)
        wh.insurance(id_number=ident, employer=ENTITY)
    wh.insurance(id_number=person, employer="长沙乙公司", row_number=2)           # same region, other employer
    wh.insurance(id_number=other, employer="长沙乙公司", status="suspended", row_number=3)  # not active: decoy
    wh.insurance(id_number=elsewhere, employer="武汉丙公司", region="武汉", row_number=4)  # ACTIVE_ELSEWHERE
    assert wh.keys("DOUBLE_ENROLLMENT") == [(ENTITY, "E1")]
    assert wh.findings("DOUBLE_ENROLLMENT")[0]["details"]["other_employer"] == "长沙乙公司"
    assert wh.keys("ACTIVE_ELSEWHERE") == [(ENTITY, "E3")]


def _enrolled_with_origin(wh, employee_id: str, ident: str, origin: str, status: str = "suspended", row: int = 1):
    wh.employee_month(employee_id=employee_id, id_number=ident)
    wh.insurance(id_number=ident, employer=ENTITY, row_number=row)
    wh.insurance(id_number=ident, employer="原单位", region=origin, status=status, start_month="2015-01",
                 end_month="2023-12", row_number=row + 1)


def test_transfer_needed_only_across_provinces_and_without_a_transfer(wh):
    needed, pooled, under_way, refused = (id_number(seq=s) for s in ("111", "113", "115", "117"))
    _enrolled_with_origin(wh, "E1", needed, "武汉", row=1)                 # 湖北 -> 湖南: needed
    _enrolled_with_origin(wh, "E2", pooled, "株洲", row=3)                 # 湖南 -> 湖南: provincial pooling
    _enrolled_with_origin(wh, "E3", under_way, "武汉", "terminated", row=5)
    _enrolled_with_origin(wh, "E4", refused, "武汉", row=7)
    wh.transfer(transfer_id="T1", id_number=under_way, from_region="武汉", stage="origin_approved", period="2024-02")
    wh.transfer(transfer_id="T2", id_number=refused, from_region="武汉", stage="rejected", row_number=2)
    assert wh.keys("TRANSFER_NEEDED") == [(ENTITY, "E1"), (ENTITY, "E4")]
    details = wh.findings("TRANSFER_NEEDED")[0]["details"]
    assert details["from_region"] == "武汉" and details["to_region"] == "长沙"


def test_transfer_needed_carries_the_interim_account_notice(wh, con):
    man_52, woman_38, man_unknown = (id_number(birth="19711201", seq="111"), id_number(birth="19851201", seq="122"),
                                     id_number(birth="19700101", seq="131"))
    for n, (employee_id, ident) in enumerate((("E1", man_52), ("E2", woman_38), ("E3", man_unknown))):
        _enrolled_with_origin(wh, employee_id, ident, "武汉", row=2 * n + 1)
    wh.attendance(employee_id="E1", id_number=man_52, row_number=1)
    wh.attendance(employee_id="E2", id_number=woman_38, row_number=2)
    con.execute("UPDATE staging.attendance SET hukou_region = '湖北省武汉市', hukou_province = '湖北'")
    notes = {f["employee_id"]: (f["details"]["interim_account_check"], f["details"]["hukou_unknown"])
             for f in wh.findings("TRANSFER_NEEDED")}
    assert notes == {"E1": (True, False), "E2": (False, False), "E3": (False, True)}


def test_policy_outdated_when_the_row_in_force_is_open_and_a_year_old(wh):
    wh.employee_month(region="长沙")
    wh.employee_month(employee_id="E2", region="株洲", id_number=id_number(seq="141"))
    wh.employee_month(employee_id="E3", region="武汉", id_number=id_number(seq="143"))
    wh.policy(region="长沙", effective_from="2023-03")                      # open, 12 months before: outdated
    wh.policy(region="株洲", effective_from="2023-04")                      # 11 months: not yet
    wh.policy(region="武汉", effective_from="2023-01", effective_to="2024-12")  # closed: this year's figures
    assert wh.keys("POLICY_OUTDATED") == ["长沙"]
