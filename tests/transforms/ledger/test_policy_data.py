"""The shipped policy data (warehouse/reference/policy.csv, regions.csv): coverage, provenance, consistency."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest

from transforms.ledger.policy import SHIPPED_POLICY, apply_policy, check_table, shipped_rows
from warehouse.reference import REGIONS_CSV

# SPEC §3: every provincial capital (with the four municipalities) and these cities.
REQUIRED = {
    "北京", "上海", "天津", "重庆", "石家庄", "太原", "呼和浩特", "沈阳", "长春", "哈尔滨", "南京", "杭州", "合肥", "福州",
    "南昌", "济南", "郑州", "武汉", "长沙", "广州", "南宁", "海口", "成都", "贵阳", "昆明", "拉萨", "西安", "兰州", "西宁",
    "银川", "乌鲁木齐", "深圳", "苏州", "宁波", "青岛", "厦门", "大连", "无锡", "佛山", "东莞",
}
# Required regions with no row at all (docs/policy.md says why): none since the v3 rebuild; 沈阳 and 大连 are assumed.
NOT_FOUND: set[str] = set()


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with SHIPPED_POLICY.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def regions() -> dict[str, dict]:
    with REGIONS_CSV.open(encoding="utf-8") as handle:
        return {r["region"]: r for r in csv.DictReader(handle)}


def test_at_least_forty_regions_and_every_required_city_but_the_unfound(rows):
    shipped = {r["region"] for r in rows}
    assert len(shipped) >= 40
    assert REQUIRED - shipped == NOT_FOUND


def test_every_row_has_a_source_and_a_verified_mark(rows):
    assert [r for r in rows if not r["source"].strip()] == []
    assert {r["verified"] for r in rows} <= {"official", "secondary", "assumed"}


def test_rows_are_consistent(rows):
    check_table(shipped_rows(), "The shipped policy")  # no overlapping periods per key, floor ≤ ceiling
    for row in rows:
        assert Decimal(row["base_floor"]) <= Decimal(row["base_ceiling"]), row
        for side in ("employer_rate", "employee_rate"):
            assert Decimal(0) <= Decimal(row[side]) < 1, row
        for side in ("employer_fixed", "employee_fixed"):
            assert Decimal(row[side]) >= 0, row


def test_only_the_latest_row_of_a_key_is_open_ended(rows):
    """Each year's rows are closed, so an old row never silently applies to a later year (per hukou, SPEC §3)."""
    by_key: dict[tuple, list[dict]] = {}
    for row in rows:
        by_key.setdefault((row["region"], row["insurance_type"], row.get("hukou") or ""), []).append(row)
    for key, group in by_key.items():
        group.sort(key=lambda r: r["effective_from"])
        assert all(r["effective_to"] for r in group[:-1]), key


def test_every_policy_region_is_in_the_region_table(rows, regions):
    assert {r["region"] for r in rows} - set(regions) == set()


def test_every_region_is_covered_now_or_explained(rows, regions):
    """A pension row for this month, or a finding that says why not: POLICY_OUTDATED (the latest pension row is
    open-ended, so it still applies, and is reported once 12 months old) or NO_POLICY (no pension row at all)."""
    now = date.today().strftime("%Y-%m")
    unexplained = []
    for region in regions:
        pension = sorted((r for r in rows if r["region"] == region and r["insurance_type"] == "pension"),
                         key=lambda r: r["effective_from"])
        if not pension:
            continue  # NO_POLICY
        covers = any(r["effective_from"] <= now and (not r["effective_to"] or r["effective_to"] >= now)
                     for r in pension)
        if not covers and pension[-1]["effective_to"]:
            unexplained.append(region)
    assert unexplained == [], f"no pension row for {now} and no POLICY_OUTDATED/NO_POLICY explanation: {unexplained}"


def test_the_seed_row_stays_as_spec_says(rows):
    changsha = {r["insurance_type"]: r for r in rows if r["region"] == "长沙" and r["effective_from"] == "2024-01"}
    assert (changsha["pension"]["base_floor"], changsha["pension"]["base_ceiling"]) == ("3604", "18021")
    assert (changsha["pension"]["employer_rate"], changsha["pension"]["employee_rate"]) == ("0.16", "0.08")
    assert (changsha["medical"]["employer_rate"], changsha["medical"]["employee_rate"]) == ("0.08", "0.02")


def test_maternity_is_never_charged_twice(rows):
    """Where medical includes maternity (北京 9.8% = 9% + 0.8%), there is no maternity row of its own."""
    assert [r for r in rows if r["region"] == "北京" and r["insurance_type"] == "maternity"] == []
    maternity = {(r["region"], r["effective_from"]) for r in rows if r["insurance_type"] == "maternity"}
    merged = {(r["region"], r["effective_from"]) for r in rows
              if r["insurance_type"] == "medical" and "including maternity" in r["source"]}
    assert maternity & merged == set()


def test_beijing_medical_carries_the_three_yuan(rows):
    medical = [r for r in rows if r["region"] == "北京" and r["insurance_type"] == "medical"]
    assert medical and {r["employee_fixed"] for r in medical} == {"3.00"}
    assert {r["employer_fixed"] for r in rows if r["region"] == "北京"} == {"0"}


def test_contribution_year_start_months(regions):
    july = {r for r, row in regions.items() if row["base_year_start_month"] == "7"}
    assert {"北京", "上海", "广州", "深圳", "佛山", "东莞", "珠海"} <= july
    assert {row["base_year_start_month"] for row in regions.values()} <= {str(m) for m in range(1, 13)}
    assert regions["长沙"]["base_year_start_month"] == "1"


def test_the_shipped_tables_load(con):
    summary = apply_policy(con)
    assert summary["policy_rows"] == len(shipped_rows())
    assert con.execute("SELECT count(*) FROM ref.policy WHERE verified NOT IN ('official', 'secondary', 'assumed')"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT base_year_start_month FROM ref.regions WHERE region = '上海'").fetchone() == (7,)
