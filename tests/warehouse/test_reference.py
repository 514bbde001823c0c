"""Region names: province prefix and 市/地区 suffix removed via the region table."""

from __future__ import annotations

import pytest

from warehouse.reference import normalise_region, refresh_regions, region_lookup


@pytest.fixture()
def lookup(con):
    refresh_regions(con)
    return region_lookup(con)


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
