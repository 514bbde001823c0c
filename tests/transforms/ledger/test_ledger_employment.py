"""SPEC v3 §3/§4.5 employment types in the ledger: a full-timer is levied every type the region has, a
part-timer work injury only, a retired re-hire and an intern nothing (and they are not in the ledger
population); the latest attendance row up to P that carries the column decides, none is full-time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.transforms.ledger.test_ledger import Staging, cells, with_policy
from transforms.ledger.book import compute_ledger

POLICY = """region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,employee_rate
长沙,pension,2024-01,,3604,18021,0.16,0.08
长沙,medical,2024-01,,3604,18021,0.08,0.02
长沙,unemployment,2024-01,,3604,18021,0.007,0.003
长沙,work_injury,2024-01,,3604,18021,0.004,0
"""
HIRED = dt.date(2020, 1, 1)


@pytest.fixture(scope="module")
def migrated_warehouse(migrated_warehouse, tmp_path_factory) -> Path:
    """Each test's ``con``: a copy of a new warehouse with POLICY applied once for the module."""
    return with_policy(migrated_warehouse, tmp_path_factory.mktemp("employment-policy"), POLICY)


@pytest.fixture()
def staging(con):
    return Staging(con)


def population(con, period="2024-03") -> list[str]:
    return [r[0] for r in con.execute("SELECT employee_id FROM ledger.population(?) ORDER BY employee_id",
                                      [period]).fetchall()]


@pytest.mark.parametrize(("employment_type", "levied"), [
    ("full_time", {"pension", "medical", "unemployment", "work_injury"}),
    (None, {"pension", "medical", "unemployment", "work_injury"}),   # no attendance says: full-time
    ("part_time", {"work_injury"}),
    ("retiree", set()),
    ("intern", set()),
])
def test_types_levied_per_employment_type(con, staging, employment_type, levied):
    staging.payroll("2024-03", "E1", "10000")
    staging.attendance("2024-03", "E1", HIRED, employment_type=employment_type)
    compute_ledger(con, "2024-03")
    assert set(cells(con, "2024-03")) == levied
    assert population(con) == (["E1"] if levied else [])
    stored = con.execute("SELECT employment_type FROM ledger.employee_months WHERE employee_id = 'E1'").fetchone()
    assert stored == (employment_type or "full_time",)


def test_a_part_timers_work_injury_cell_is_the_full_timers(con, staging):
    staging.payroll("2024-03", "E1", "10000")
    staging.payroll("2024-03", "E2", "10000")
    staging.attendance("2024-03", "E1", HIRED, employment_type="part_time")
    staging.attendance("2024-03", "E2", HIRED, employment_type="full_time", row_number=2)
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03", "E1")["work_injury"] == cells(con, "2024-03", "E2")["work_injury"]


def test_a_retiree_owes_nothing_so_withholding_is_a_mismatch(con, staging):
    """Nothing is levied on a retired re-hire: withholding from their pay is compared with 0 (§4.8)."""
    staging.payroll("2024-03", "E1", "10000", si_withheld="1050.00")
    staging.attendance("2024-03", "E1", HIRED, employment_type="retiree")
    compute_ledger(con, "2024-03")
    assert con.execute("SELECT expected_employee_amount, withholding_difference FROM ledger.employee_months"
                       " WHERE employee_id = 'E1'").fetchone() == (0, 1050)


def test_the_latest_row_that_carries_the_type_decides_and_a_change_adjusts(con, staging):
    staging.payroll("2024-02", "E1", "10000")
    staging.payroll("2024-03", "E1", "10000")
    staging.attendance("2024-02", "E1", HIRED, employment_type="part_time")
    staging.attendance("2024-03", "E1", HIRED)   # a file without 用工形式 (NULL): February's row still decides
    compute_ledger(con, "2024-03")
    assert set(cells(con, "2024-03")) == {"work_injury"}
    # a corrected roster for March says full-time: the next run appends the other types' cells only
    staging.loads.pop(("attendance", "2024-03", "星城公司"))
    staging.attendance("2024-03", "E1", HIRED, employment_type="full_time")
    compute_ledger(con, "2024-03")
    assert set(cells(con, "2024-03")) == {"pension", "medical", "unemployment", "work_injury"}
    entries = con.execute("SELECT insurance_type, entry_type FROM ledger.contributions WHERE period = '2024-03'"
                          " ORDER BY ALL").fetchall()
    assert entries == [("medical", "original"), ("pension", "original"), ("unemployment", "original"),
                       ("work_injury", "original")]
    compute_ledger(con, "2024-03")   # nothing changed: nothing appended
    assert con.execute("SELECT count(*) FROM ledger.contributions WHERE period = '2024-03'").fetchone()[0] == len(entries)


def test_unbooked_people_say_a_retiree_or_intern_owes_nothing(con, staging):
    from transforms.outputs.export import unbooked_people

    staging.payroll("2024-03", "E1", "10000")
    staging.payroll("2024-03", "E2", "10000")
    staging.attendance("2024-03", "E1", HIRED, employment_type="retiree")
    staging.attendance("2024-03", "E2", HIRED, employment_type="intern", row_number=2)
    compute_ledger(con, "2024-03")
    frame = unbooked_people(con, "2024-03", full_ids=False)
    assert dict(zip(frame["employee_id"], zip(frame["reason"], frame["detail"], strict=True), strict=True)) == {
        "E1": ("用工形式不缴纳社会保险", "用工形式为退休返聘：不缴纳社会保险"),
        "E2": ("用工形式不缴纳社会保险", "用工形式为实习：不缴纳社会保险")}


def test_the_position_category_rides_from_attendance_to_the_employee_month(con, staging):
    staging.payroll("2024-03", "E1", "10000")
    staging.attendance("2024-03", "E1", HIRED)
    con.execute("UPDATE staging.attendance SET position_category = 'cadre'")
    compute_ledger(con, "2024-03")
    assert con.execute("SELECT employment_type, position_category FROM ledger.employee_months").fetchone() == (
        "full_time", "cadre")
