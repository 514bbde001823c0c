"""The shipped policy and region settings, as the generator needs them to make *correct* values.

Bases and withholdings in the sample are right unless planted wrong, so they follow SPEC §4 with the
shipped tables: the base clamps the reference wage to the floor and ceiling, the employee share is
rounded per type by the region's rule. Where the shipped table has no row (株洲, or 武汉 before 2025),
a nearby row stands in so the values still look like the region's; the pipeline reports NO_POLICY there.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import numpy as np

from transforms.ledger.policy import SHIPPED_POLICY
from warehouse.reference import PROVINCE_NAMES, REGIONS_CSV

INSURANCE_TYPES = ("pension", "medical", "unemployment", "work_injury", "maternity")
STAND_IN_REGION = {"株洲": "长沙"}  # same province, for plausible values only


@dataclass(frozen=True)
class TypePolicy:
    floor_cents: int
    ceiling_cents: int
    employee_rate: float
    employer_rate: float = 0.0
    employer_fixed_cents: int = 0  # SPEC §4.6: a fixed sum per month when f > 0 (北京's 3 yuan 大额医疗互助)
    employee_fixed_cents: int = 0


@dataclass(frozen=True)
class MonthPolicy:
    types: dict[str, TypePolicy]  # the types levied that month
    has_pension_row: bool  # False: the pipeline finds NO_POLICY; ``types`` then comes from a stand-in
    cutoff_day: int
    late_hire_fraction: float
    jiao_up: bool
    base_year_start_month: int = 1  # SPEC §4.4: 7 where the contribution year runs July to June

    @property
    def pension(self) -> TypePolicy:
        return self.types["pension"]


@cache
def _policy_rows() -> tuple[dict, ...]:
    with SHIPPED_POLICY.open(encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


@cache
def _regions() -> dict[str, dict]:
    with REGIONS_CSV.open(encoding="utf-8") as handle:
        return {row["region"]: row for row in csv.DictReader(handle)}


def _rows_for(region: str, period: str) -> list[dict]:
    return [r for r in _policy_rows() if r["region"] == region and r["effective_from"] <= period
            and (not r["effective_to"] or r["effective_to"] >= period)]


def _nearest_rows(region: str, period: str) -> list[dict]:
    mine = [r for r in _policy_rows() if r["region"] == region]
    if not mine:
        return _nearest_rows(STAND_IN_REGION.get(region, "长沙"), period) if region != "长沙" else []
    # the rows in force at the nearest month a pension row starts (types start on months of their own)
    starts = {r["effective_from"] for r in mine if r["insurance_type"] == "pension"} or {r["effective_from"] for r in mine}
    nearest = min(sorted(starts), key=lambda m: abs(_month_number(m) - _month_number(period)))
    return _rows_for(region, nearest)


def _month_number(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7])


@cache
def month_policy(region: str, period: str) -> MonthPolicy:
    rows = _rows_for(region, period)
    has_pension = any(r["insurance_type"] == "pension" for r in rows)
    if not has_pension:
        rows = _nearest_rows(region, period)
    settings = _regions().get(region, {})
    types = {r["insurance_type"]: TypePolicy(int(round(float(r["base_floor"]) * 100)),
                                             int(round(float(r["base_ceiling"]) * 100)), float(r["employee_rate"]),
                                             float(r["employer_rate"]), _cents(r.get("employer_fixed")),
                                             _cents(r.get("employee_fixed")))
             for r in rows}
    return MonthPolicy(types, has_pension, int(settings.get("hire_cutoff_day") or 15),
                       float(settings.get("late_hire_fraction") or 0.5), settings.get("rounding") == "jiao_up",
                       int(settings.get("base_year_start_month") or 1))


def _cents(text: str | None) -> int:
    return int(round(float(text or 0) * 100))


def employee_share_cents(base_cents: np.ndarray, rate: float, fraction: np.ndarray, jiao_up: bool) -> np.ndarray:
    """round(base × rate × f) in cents: half-up to the cent, or up to the next jiao (上海)."""
    exact = base_cents * rate * fraction
    if jiao_up:
        return (np.ceil(np.round(exact, 6) / 10) * 10).astype(np.int64)
    return np.floor(np.round(exact, 6) + 0.5).astype(np.int64)


@cache
def region_spellings(region: str) -> tuple[str, ...]:
    """``成都``, ``成都市``, ``四川省成都市``: the ways exports name a region."""
    province = _regions().get(region, {}).get("province", "")
    if not province or province == region:  # 北京, 上海, ...: the city is the province
        return (region, region + "市")
    full = next((p for p in PROVINCE_NAMES if p.startswith(province) and p != province), province)
    return (region, region + "市", full + region + "市")


def _covered(region: str, period: str) -> bool:
    return any(r["insurance_type"] == "pension" for r in _rows_for(region, period))


def demo_plan(closed: int = 3, history: int = 15) -> tuple[tuple, str, str, str]:
    """The demo's entities and months, from the shipped policy, so that every entity is booked (issue 24).

    An entity whose city has no shipped pension row in any month moves to the first region of its province
    (regions.csv order: the capital first) that has one, and takes that city's name. The closed months are the
    ``closed`` latest months, up to the newest effective_from of the entities' pension rows (the newest figures
    loaded), in which every entity's city has a pension row; the inbox holds ``history`` months ending there.
    Returns (entities, first month of the inbox, first closed month, last closed month)."""
    from sample.people import ENTITIES, Entity

    pension = [r for r in _policy_rows() if r["insurance_type"] == "pension"]
    shipped = {r["region"] for r in pension}
    chosen: list[Entity] = []
    for entity in ENTITIES:
        city = entity.city
        if city not in shipped:
            city = next((region for region, row in _regions().items()
                         if row.get("province") == entity.province and region in shipped), "")
            if not city:
                raise ValueError(f"The shipped policy books no region of {entity.province} for the demo's {entity.name}.")
        chosen.append(entity if city == entity.city else Entity(
            entity.name.replace(entity.city, city), city, entity.province, entity.prefix, entity.share,
            entity.median_pay, region_spellings(city)))
    cities = {e.city for e in chosen}
    newest = max(r["effective_from"] for r in pension if r["region"] in cities)
    end = _month_number(newest)
    while not all(_covered(city, _period(m)) for city in cities for m in range(end - closed + 1, end + 1)):
        end -= 1
        if end < _month_number("2000-01"):
            raise ValueError("The shipped policy covers no common months of the demo's cities.")
    return tuple(chosen), _period(end - history + 1), _period(end - closed + 1), _period(end)


def _period(number: int) -> str:
    """The month of ``_month_number``: 24289 -> '2024-01'."""
    year, month = divmod(number - 1, 12)
    return f"{year}-{month + 1:02d}"
