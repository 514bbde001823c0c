"""Reference data shipped with the project (regions), refreshed into ``ref.*`` on every write run."""

from __future__ import annotations

from pathlib import Path

import duckdb

REFERENCE = Path(__file__).with_name("reference")
REGIONS_CSV = REFERENCE / "regions.csv"

# Province-level names as written in addresses, longest first so 内蒙古自治区 wins over 内蒙古.
PROVINCE_NAMES = sorted(
    [
        "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
        "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
        "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
        "新疆维吾尔自治区", "台湾省", "香港特别行政区", "澳门特别行政区",
        "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建",
        "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏",
        "陕西", "甘肃", "青海", "宁夏", "新疆", "台湾", "香港", "澳门",
    ],
    key=len,
    reverse=True,
)


def refresh_regions(con: duckdb.DuckDBPyConnection) -> None:
    """Replace ``ref.regions`` with the shipped table (policy overrides adjust it later, per run).

    base_year_start_month is the month the region's contribution year starts (SPEC §3; blank = 1)."""
    con.execute("DELETE FROM ref.regions")
    con.execute(
        """
        INSERT INTO ref.regions (region, province, aliases, hire_cutoff_day, late_hire_fraction, rounding,
                                 base_year_start_month)
        SELECT region, province, string_split(coalesce(aliases, ''), '|'), hire_cutoff_day,
               late_hire_fraction, rounding, coalesce(base_year_start_month, '1')
        FROM read_csv(?, header = true, all_varchar = true)
        """,
        [str(REGIONS_CSV)],
    )


def region_lookup(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every spelling we know (name, aliases) -> canonical region name."""
    lookup: dict[str, str] = {}
    for region, aliases in con.execute("SELECT region, aliases FROM ref.regions").fetchall():
        lookup[region] = region
        for alias in aliases or []:
            if alias:
                lookup[alias] = region
    return lookup


def normalise_region(text: str, lookup: dict[str, str]) -> tuple[str, bool]:
    """``湖南省长沙市`` -> (``长沙``, True); an unknown region is kept as given -> (text, False)."""
    given = "".join(text.split())
    if given in lookup:
        return lookup[given], True
    rest = given
    for province in PROVINCE_NAMES:
        if rest.startswith(province) and len(rest) > len(province):
            rest = rest[len(province):]
            break
    for candidate in (rest, rest.removesuffix("市"), rest.removesuffix("地区")):
        if candidate in lookup:
            return lookup[candidate], True
    return given, False
