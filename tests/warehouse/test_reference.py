"""Region names: province prefix and 市/地区 suffix removed via the region table."""

from __future__ import annotations

import csv
import random
import shutil
import time
from types import MappingProxyType

import pytest

from warehouse.db import connect
from warehouse.reference import (
    DIVISIONS_CSV,
    normalise_region,
    province_of,
    refresh_regions,
    region_lookup,
    shipped_region_lookup,
)


@pytest.fixture(scope="module")
def lookup(tmp_path_factory, migrated_warehouse):
    """The region lookup, built once for the module: the tests only read it (a warehouse per test cost a
    second of every ten seconds of the unit tests)."""
    path = tmp_path_factory.mktemp("lookup") / "regions.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        refresh_regions(con)
        return MappingProxyType(region_lookup(con))
    finally:
        con.close()


def test_the_shipped_lookup_without_a_warehouse_is_the_warehouses(lookup):
    """A policy file is checked against the shipped regions before any warehouse is opened: the same spellings,
    aliases included, as ``ref.regions`` refreshed from the same file."""
    assert shipped_region_lookup() == dict(lookup)
    assert shipped_region_lookup()["襄樊"] == "襄阳"


@pytest.mark.parametrize(("given", "region"), [
    ("湖南省长沙市", "长沙"), ("长沙市", "长沙"), ("长沙", "长沙"), ("广东省广州市", "广州"), ("北京市", "北京"),
    ("上海", "上海"), ("湖北武汉", "武汉"), (" 三沙市 ", "三沙"), ("襄樊", "襄阳"),
])
def test_known_regions(lookup, given, region):
    assert normalise_region(given, lookup) == (region, True)


@pytest.mark.parametrize("given", ["火星市", "湖南省", "Springfield"])
def test_unknown_regions_are_kept_as_given(lookup, given):
    assert normalise_region(given, lookup) == (given, False)


def test_region_settings_are_shipped(con):
    refresh_regions(con)
    rows = dict(con.execute("SELECT region, rounding FROM ref.regions").fetchall())
    assert rows["上海"] == "jiao_up" and rows["长沙"] == "cent_half_up"
    assert con.execute("SELECT DISTINCT hire_cutoff_day FROM ref.regions").fetchall() == [(15,)]


# District, county and 本级 names (SPEC §2 "Region and city"), from warehouse/reference/divisions.csv.

@pytest.mark.parametrize(("given", "region"), [
    ("长沙市天心区", "长沙"), ("天心区", "长沙"), ("湖南省长沙市天心区", "长沙"), ("浦东新区", "上海"),
    ("上海市浦东新区", "上海"), ("长沙市本级", "长沙"), ("湖南省本级", "长沙"), ("湖北省本级", "武汉"),
    ("广西壮族自治区本级", "南宁"), ("北京市本级", "北京"), ("北京市朝阳区", "北京"), ("长沙县", "长沙"),
    ("浏阳市", "长沙"), ("湖南省长沙市长沙县", "长沙"), ("宁波市江北区", "宁波"), ("重庆市江北区", "重庆"),
    ("南昌市东湖区", "南昌"), ("湖北省襄樊市", "襄阳"),
])
def test_districts_and_own_level_map_to_their_city(lookup, given, region):
    assert normalise_region(given, lookup) == (region, True)


@pytest.mark.parametrize(("given", "region"), [
    # prefecture-level cities the region table does not list: known, under the same short-name rule
    ("恩施土家族苗族自治州", "恩施"), ("恩施州", "恩施"), ("湖北省恩施土家族苗族自治州", "恩施"), ("阿克苏地区", "阿克苏"),
    ("兴安盟", "兴安"), ("湘西", "湘西"), ("仙桃市", "仙桃"), ("利川市", "恩施"),
    # a short form equal to a province keeps the official name
    ("吉林市", "吉林市"), ("吉林省吉林市船营区", "吉林市"), ("海南藏族自治州", "海南藏族自治州"),
])
def test_cities_outside_the_region_table_are_known(lookup, given, region):
    assert normalise_region(given, lookup) == (region, True)


@pytest.mark.parametrize("given", [
    "鼓楼区",  # 南京, 徐州, 福州, 开封
    "朝阳区",  # 北京, 长春
    "江北区",  # 宁波, and 重庆 until 2025
    "长沙市鼓楼区",  # no such district
    "湖南省武汉市天心区", "省本级", "本级", "湖南省", "火星区",
])
def test_ambiguous_or_unknown_names_are_kept_as_given(lookup, given):
    assert normalise_region(given, lookup) == (given, False)


def test_region_table_names_stay_canonical(lookup):
    """Every region the table lists comes back under its own name, from its official full name too."""
    for region in set(lookup.values()):
        assert normalise_region(region, lookup) == (region, True)
    assert normalise_region("湖北省襄阳市樊城区", lookup) == ("襄阳", True)


def test_fifty_random_districts_map_to_their_city(lookup):
    rows = _division_rows()
    unique = {}
    for row in rows:
        if row["level"] == "county":
            unique.setdefault(row["name"], set()).add(row["city"])
    counties = sorted(name for name, cities in unique.items() if len(cities) == 1)
    sample = random.Random(13).sample(counties, 50)
    by_name = {row["name"]: row for row in rows if row["level"] == "county"}
    for name in sample:
        row = by_name[name]
        city = lookup.get(row["city"], row["city"])
        assert normalise_region(name, lookup) == (city, True), name
        official = next(r["name"] for r in rows if r["level"] == "city" and r["city"] == row["city"])
        assert normalise_region(official + name, lookup) == (city, True), official + name


def test_five_thousand_distinct_values_normalise_fast(lookup):
    rows = _division_rows()
    cities = {r["city"]: r["name"] for r in rows if r["level"] == "city"}
    values = set()
    for row in rows:
        if row["level"] in ("county", "former"):
            values |= {row["name"], cities.get(row["city"], row["city"]) + row["name"]}
    values = sorted(values)[:5000] + [f"未知地名{i}" for i in range(max(0, 5000 - len(values)))]
    assert len(set(values)) == 5000
    started = time.perf_counter()
    results = [normalise_region(value, lookup) for value in values]
    print(f"\n5,000 distinct region values normalised in {time.perf_counter() - started:.3f} s")
    assert sum(known for _, known in results) > 4000


@pytest.mark.parametrize(("given", "province"), [
    ("湖南省长沙市岳麓区麓山路1号", "湖南"), ("湖南长沙", "湖南"), ("长沙市", "湖南"), ("湖南省", "湖南"),
    ("岳麓区桃子湖路", "湖南"), ("广西壮族自治区南宁市", "广西"), ("北京市朝阳区", "北京"), ("上海", "上海"),
    ("新疆乌鲁木齐", "新疆"), ("吉林市船营区", "吉林"), ("海南藏族自治州共和县", "青海"), ("恩施州利川市", "湖北"),
    ("朝阳区", None), ("火星", None), ("", None), ("  ", None),
])
def test_province_of_free_text(given, province):
    assert province_of(given) == province


def test_cities_table_lists_every_city_with_province_and_code(con):
    from transforms.ledger.policy import apply_policy

    apply_policy(con)
    rows = {city: (province, adcode) for city, province, adcode in
            con.execute("SELECT city, province, adcode FROM ref.cities").fetchall()}
    assert rows["长沙"] == ("湖南", "430100") and rows["北京"] == ("北京", "110000")
    assert rows["恩施"] == ("湖北", "422800") and rows["南宁"] == ("广西", "450100")
    assert len(rows) > 330 and all(len(code) == 6 and code.isdigit() for _, code in rows.values())
    # the region table's regions are all cities here, under the same names and provinces
    missing = con.execute(
        "SELECT region FROM ref.regions r WHERE NOT EXISTS"
        " (SELECT 1 FROM ref.cities c WHERE c.city = r.region AND c.province = r.province)"
    ).fetchall()
    assert missing == []


def _division_rows() -> list[dict]:
    with DIVISIONS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_ingest_fills_the_cities_table(con, tmp_path):
    from transforms.ingest.inbox import ingest_inbox

    (tmp_path / "inbox").mkdir()
    ingest_inbox(con, tmp_path / "inbox")
    assert con.execute("SELECT province, adcode FROM ref.cities WHERE city = '株洲'").fetchall() == [("湖南", "430200")]


# The transfer stage limits (warehouse/reference/transfer_stage_limits.csv, STALE_TRANSFER).

def _limits(con) -> dict[str, int]:
    return dict(con.execute("SELECT stage, limit_days FROM ref.transfer_stage_limits").fetchall())


def test_transfer_limits_are_reference_data_with_their_source(con):
    """The shipped file is what migration 003 seeded (a warehouse no policy was applied to agrees with it),
    and each row names its source and mark."""
    from warehouse.reference import TRANSFER_LIMITS_CSV, refresh_transfer_limits

    seeded = _limits(con)
    con.execute("UPDATE ref.transfer_stage_limits SET limit_days = 3")
    refresh_transfer_limits(con)
    assert _limits(con) == seeded == {"submitted": 15, "origin_approved": 15, "funds_received": 15}
    with TRANSFER_LIMITS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all("66号" in row["source"] and row["verified"] in ("official", "secondary", "assumed") for row in rows)


def test_a_changed_limits_file_configures_stale_transfer(con, tmp_path):
    from transforms.ledger.policy import apply_policy
    from warehouse.errors import InputError
    from warehouse.reference import TRANSFER_LIMITS_CSV, refresh_transfer_limits

    changed = tmp_path / "transfer_stage_limits.csv"
    changed.write_text(TRANSFER_LIMITS_CSV.read_text(encoding="utf-8").replace("submitted,15,", "submitted,20,"),
                       encoding="utf-8")
    refresh_transfer_limits(con, changed)
    assert _limits(con)["submitted"] == 20
    apply_policy(con)  # every run refreshes the limits from the shipped file, as it does the regions
    assert _limits(con)["submitted"] == 15
    changed.write_text("stage,limit_days,source,verified\nsubmitted,15,x,assumed\nsubmitted,10,y,assumed\n",
                       encoding="utf-8")
    with pytest.raises(InputError, match=r"^transfer_stage_limits.csv: name each stage once"):
        refresh_transfer_limits(con, changed)
    changed.write_text("stage,limit_days,source,verified\nsubmitted,fifteen,x,assumed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^transfer_stage_limits.csv, row 2: give limit_days"):
        refresh_transfer_limits(con, changed)
