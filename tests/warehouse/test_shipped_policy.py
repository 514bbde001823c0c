"""The shipped policy table as SPEC §3 (v3) requires it: honest marks, full coverage, hukou rows, fixed sums.

These read warehouse/reference/policy.csv and regions.csv as shipped; tests/transforms/ledger/test_policy_data.py loads
them through the policy loader."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

import pytest

from transforms.ledger.policy import SHIPPED_POLICY
from warehouse.reference import REGIONS_CSV

# SPEC §3: every provincial capital, the four municipalities, and these cities.
REQUIRED = [
    "北京", "上海", "天津", "重庆", "石家庄", "太原", "呼和浩特", "沈阳", "长春", "哈尔滨", "南京", "杭州", "合肥", "福州",
    "南昌", "济南", "郑州", "武汉", "长沙", "广州", "南宁", "海口", "成都", "贵阳", "昆明", "拉萨", "西安", "兰州", "西宁",
    "银川", "乌鲁木齐", "深圳", "苏州", "宁波", "青岛", "厦门", "大连", "无锡", "佛山", "东莞",
]
MONTHS = [f"{year}-{month:02d}" for year in (2023, 2024, 2025) for month in range(1, 13)]
MARKS = ("assumed", "secondary", "official")  # worst first
UNSURE = re.compile(r"default|默认|verify|核实", re.IGNORECASE)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with SHIPPED_POLICY.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def regions() -> list[dict]:
    with REGIONS_CSV.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def covering(rows: list[dict], region: str, insurance_type: str, month: str) -> list[dict]:
    return [r for r in rows if r["region"] == region and r["insurance_type"] == insurance_type
            and r["effective_from"] <= month and (not r["effective_to"] or r["effective_to"] >= month)]


def test_the_columns_are_the_agreed_ones(rows, regions):
    assert list(rows[0]) == ["region", "insurance_type", "effective_from", "effective_to", "base_floor", "base_ceiling",
                             "employer_rate", "employee_rate", "employer_fixed", "employee_fixed", "source", "verified",
                             "hukou"]
    assert list(regions[0])[-2:] == ["source", "verified"]


def test_every_row_has_a_source_and_a_known_mark(rows):
    assert [r for r in rows if not r["source"].strip()] == []
    assert {r["verified"] for r in rows} <= set(MARKS)
    assert {r["hukou"] for r in rows} <= {"", "local", "nonlocal"}


def test_no_unsure_figure_is_marked_better_than_assumed(rows):
    """A source that says 'default' or 'verify' (默认, 核实) does not state the figure: SPEC §3 marks it assumed."""
    assert [(r["region"], r["insurance_type"], r["effective_from"]) for r in rows
            if UNSURE.search(r["source"]) and r["verified"] != "assumed"] == []


def test_a_carried_over_or_borrowed_figure_is_assumed(rows):
    """An earlier year's, a neighbour's or a province's figure carried to this region and period says so, and is
    never better than assumed."""
    carried = [r for r in rows if "carried" in r["source"] or "stands in" in r["source"] or "applied to" in r["source"]]
    assert carried  # the table has gaps that it fills, and says so
    assert {r["verified"] for r in carried} == {"assumed"}


def test_every_required_region_has_one_pension_row_per_month_and_hukou(rows):
    gaps, overlaps = [], []
    for region in REQUIRED:
        for month in MONTHS:
            found = covering(rows, region, "pension", month)
            if not found:
                gaps.append((region, month))
            hukou = [r["hukou"] for r in found]
            if len(hukou) != len(set(hukou)):
                overlaps.append((region, month))
    assert gaps == [] and overlaps == []


def test_every_required_region_levies_all_four_types_every_month(rows):
    missing = [(region, t, month) for region in REQUIRED for t in ("medical", "unemployment", "work_injury")
               for month in MONTHS if not covering(rows, region, t, month)]
    assert missing == []


def test_rows_never_overlap_and_only_the_last_is_open_ended(rows):
    by_key: dict[tuple, list[dict]] = {}
    for row in rows:
        by_key.setdefault((row["region"], row["insurance_type"], row["hukou"]), []).append(row)
    for key, group in by_key.items():
        group.sort(key=lambda r: r["effective_from"])
        assert all(r["effective_to"] for r in group[:-1]), key
        for earlier, later in zip(group, group[1:], strict=False):
            assert earlier["effective_to"] < later["effective_from"], key
        for row in group:
            assert Decimal(row["base_floor"]) <= Decimal(row["base_ceiling"]), row
            assert all(Decimal(0) <= Decimal(row[side]) < 1 for side in ("employer_rate", "employee_rate")), row


def test_a_hukou_split_covers_both_kinds_of_people(rows):
    """Where a region charges by hukou, every such period has a local and a nonlocal row, and no row for everyone."""
    split = {(r["region"], r["insurance_type"], r["effective_from"]) for r in rows if r["hukou"]}
    for region, insurance_type, start in split:
        same = [r["hukou"] for r in rows if (r["region"], r["insurance_type"], r["effective_from"]) ==
                (region, insurance_type, start)]
        assert sorted(same) == ["local", "nonlocal"], (region, insurance_type, start)


def test_shenzhen_charges_nonlocal_staff_a_lower_pension_employer_rate(rows):
    for month in ("2024-07", "2025-03"):
        found = {r["hukou"]: r for r in covering(rows, "深圳", "pension", month)}
        assert set(found) == {"local", "nonlocal"}
        assert (found["local"]["employer_rate"], found["nonlocal"]["employer_rate"]) == ("0.16", "0.15")
        assert found["local"]["employee_rate"] == found["nonlocal"]["employee_rate"] == "0.08"
    assert {r["verified"] for r in covering(rows, "深圳", "pension", "2024-07")} == {"secondary"}


def test_suzhou_medical_2024_carries_its_five_yuan(rows):
    (medical,) = covering(rows, "苏州", "medical", "2024-06")
    assert (medical["employer_rate"], medical["employee_rate"]) == ("0.07", "0.02")
    assert Decimal(medical["employer_fixed"]) + Decimal(medical["employee_fixed"]) == Decimal(5)
    assert "大额医疗" in medical["source"]


def test_beijing_medical_carries_three_yuan_on_the_employee_side(rows):
    for month in MONTHS:
        (medical,) = covering(rows, "北京", "medical", month)
        assert (medical["employer_fixed"], medical["employee_fixed"]) == ("0", "3.00"), month


def test_the_one_percent_unemployment_rate_ends_with_2025(rows):
    """人社部发〔2024〕40号 set the 1% total rate to 2025-12-31: every row that spans the new year is cut there."""
    for row in (r for r in rows if r["insurance_type"] == "unemployment"):
        if row["effective_from"] <= "2025-12":
            assert row["effective_to"] and row["effective_to"] <= "2025-12", row
        else:
            assert row["verified"] == "assumed", row  # no source for 2026 yet


def test_shenyang_and_dalian_are_present(rows):
    assert {"沈阳", "大连"} <= {r["region"] for r in rows}


def test_no_separate_maternity_row_where_medical_includes_it(rows):
    assert [r for r in rows if r["insurance_type"] == "maternity"] == []


def test_the_seed_row_for_changsha_2024(rows):
    (pension,) = covering(rows, "长沙", "pension", "2024-05")
    (medical,) = covering(rows, "长沙", "medical", "2024-05")
    assert (pension["base_floor"], pension["base_ceiling"], pension["employer_rate"], pension["employee_rate"]) == \
        ("3604", "18021", "0.16", "0.08")
    assert (medical["employer_rate"], medical["employee_rate"]) == ("0.08", "0.02")


def test_every_region_setting_row_has_a_source_and_mark(regions):
    assert [r["region"] for r in regions if not r["source"].strip()] == []
    assert {r["verified"] for r in regions} <= set(MARKS)
    for row in regions:  # no source states a cutoff or a late-hire fraction: the settings are assumed and say so
        assert row["verified"] == "assumed" and "hire_cutoff_day" in row["source"], row["region"]
        assert Decimal(row["late_hire_fraction"]) in (Decimal(0), Decimal("0.5"), Decimal(1)), row["region"]
