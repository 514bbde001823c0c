"""The people behind a sample inbox: who works where, since when, for what pay, with which ID number.

Everything is drawn once for the whole range as numpy arrays (one element per employee record), so the
monthly extracts are selections and column expressions, never per-row Python. The anomalies of SPEC §5
that live in the people (ID numbers, enrolment, prior insurance) are planted here as boolean columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from transforms.ingest.normalise import ID_CHECK_CHARS, ID_WEIGHTS


@dataclass(frozen=True)
class Entity:
    name: str
    city: str
    province: str
    prefix: str  # employee ids read C00042, W00107, ...
    share: float  # of the workforce
    median_pay: int  # monthly gross, yuan
    city_spellings: tuple[str, ...]


ENTITIES = (
    Entity("长沙星城智造有限公司", "长沙", "湖南", "C", 0.30, 7200, ("长沙", "长沙市", "湖南省长沙市")),
    Entity("武汉江城软件有限公司", "武汉", "湖北", "W", 0.22, 9500, ("武汉", "武汉市", "湖北省武汉市")),
    Entity("广州羊城商贸有限公司", "广州", "广东", "G", 0.18, 9800, ("广州", "广州市", "广东省广州市")),
    Entity("上海浦江科技有限公司", "上海", "上海", "S", 0.16, 13500, ("上海", "上海市")),
    # 北京: a July contribution year and a fixed employee sum (3 yuan 大额医疗互助 on medical), SPEC §4.4/§4.6
    Entity("北京燕京咨询有限公司", "北京", "北京", "B", 0.08, 14000, ("北京", "北京市")),
    # The shipped policy has no 株洲 rows: its payroll gives NO_POLICY, as a city new to the table would.
    Entity("株洲动力装备有限公司", "株洲", "湖南", "Z", 0.06, 6500, ("株洲", "株洲市", "湖南省株洲市")),
)

_PLACED: list[tuple[Entity, ...]] = []  # the entities of the inbox being generated (sample.rules.demo_plan)


def entities() -> tuple[Entity, ...]:
    """The entities of the inbox being generated: ``ENTITIES`` unless ``placed`` chose others."""
    return _PLACED[-1] if _PLACED else ENTITIES


@contextmanager
def placed(chosen: tuple[Entity, ...] | None) -> Iterator[None]:
    """Generate with ``chosen`` entities (the demo's, placed where the shipped policy books them)."""
    _PLACED.append(tuple(chosen) if chosen else ENTITIES)
    try:
        yield
    finally:
        _PLACED.pop()


# Real county-level area codes (GB/T 2260) by province; birthplaces lean to the employer's province.
AREA_CODES = {
    "湖南": ("430102", "430103", "430104", "430105", "430111", "430121", "430202", "430203", "430211", "430302",
             "430602", "430702", "431002", "430521"),
    "湖北": ("420102", "420103", "420106", "420111", "420502", "420602", "421002", "420902"),
    "广东": ("440103", "440104", "440106", "440111", "440305", "440306", "440604", "441302", "445202"),
    "上海": ("310101", "310104", "310105", "310110", "310115"),
    "北京": ("110101", "110105", "110108"),
    "浙江": ("330102", "330106", "330302"),
    "四川": ("510104", "510107", "510603"),
    "河南": ("410102", "410105", "411302"),
    "江西": ("360102", "360403"),
    "陕西": ("610104", "610113"),
    "重庆": ("500103", "500112"),
    "广西": ("450103", "450305"),
}
ALL_AREA_CODES = tuple(code for codes in AREA_CODES.values() for code in codes)
PROVINCE_CODES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
                            "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
                            "63", "64", "65", "71", "81", "82", "83"})

# Surnames roughly by frequency (the first few cover a third of China); given-name characters by sex.
SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
                         "苏魏吕丁任沈姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾"))
_SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.8
SURNAME_P = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
GIVEN_MALE = np.array(list("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国文博志成"))
GIVEN_FEMALE = np.array(list("芳娜敏静丽艳娟霞秀英玉兰萍红燕婷雪琳晨欣怡佳瑶涵颖倩璐洁慧莉丹"))

# Regions where people were insured before joining (all in the region table, so none is "unknown").
PRIOR_REGIONS = np.array(["成都", "郑州", "深圳", "杭州", "南昌", "北京", "重庆", "西安", "南宁", "长沙", "武汉",
                          "广州", "东莞", "佛山"])
PRIOR_EMPLOYERS = np.array(["前程人力资源有限公司", "恒信物流有限公司", "华远建设工程有限公司", "新天地餐饮管理有限公司",
                            "宏达电子科技有限公司", "安泰保险代理有限公司"])


def check_chars(bodies: np.ndarray) -> np.ndarray:
    """GB 11643 check characters (ISO 7064 MOD 11-2) for an array of 17-digit strings."""
    if bodies.size == 0:
        return bodies.astype("<U1")
    digits = np.frombuffer("".join(bodies.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
    totals = (digits.astype(np.int64) * np.array(ID_WEIGHTS)).sum(axis=1) % 11
    return np.array(list(ID_CHECK_CHARS))[totals]


def id_numbers(areas: np.ndarray, births: np.ndarray, sequences: np.ndarray) -> np.ndarray:
    """18-character ID numbers from area codes, ``datetime64[D]`` birth dates and 3-digit sequences."""
    bodies = np.char.add(np.char.add(areas.astype("<U6"), np.char.replace(births.astype(str), "-", "")),
                         np.char.zfill(sequences.astype(str), 3))
    return np.char.add(bodies, check_chars(bodies))


def _unique_sequences(rng: np.random.Generator, areas: np.ndarray, births: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Sequence numbers (odd for men) such that no two people share area, birth date and sequence."""
    sequences = rng.integers(0, 500, size=areas.size) * 2 + male
    # one integer per (area, birth date): area < 10^6, days since 1900 < 10^5, sequence < 10^3
    person = (areas.astype(np.int64) * 100_000 + (births - np.datetime64("1900-01-01", "D")).astype(np.int64)) * 1000
    for _ in range(50):
        _, first = np.unique(person + sequences, return_index=True)
        clash = np.ones(areas.size, dtype=bool)
        clash[first] = False
        if not clash.any():
            return sequences
        sequences[clash] = rng.integers(0, 500, size=int(clash.sum())) * 2 + male[clash]
    return _settle_clashes(areas, births, male, sequences, clash)


def _settle_clashes(areas: np.ndarray, births: np.ndarray, male: np.ndarray, sequences: np.ndarray,
                    clash: np.ndarray) -> np.ndarray:
    """The few people still sharing a number after the random draws get the first free sequence of their
    sex, on their birth date or the nearest later one (``births`` is moved in place): at a million people
    an (area, birth date, sex) can hold more people than its 500 sequence numbers. Deterministic, and
    never reached at the sizes the tests generate, so their files stay the same."""
    days = (births - np.datetime64("1900-01-01", "D")).astype(np.int64)
    taken = set(((areas.astype(np.int64) * 100_000 + days) * 1000 + sequences)[~clash].tolist())
    for index in np.flatnonzero(clash).tolist():
        for shift in range(366):
            base = (int(areas[index]) * 100_000 + int(days[index]) + shift) * 1000
            free = next((s for s in range(int(male[index]), 1000, 2) if base + s not in taken), None)
            if free is not None:
                taken.add(base + free)
                sequences[index] = free
                births[index] += np.timedelta64(shift, "D")
                break
        else:  # pragma: no cover - a year of full birthdays
            raise RuntimeError("could not draw unique ID numbers")
    return sequences


def _names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = male.size
    first = np.where(male, rng.choice(GIVEN_MALE, n), rng.choice(GIVEN_FEMALE, n))
    second = np.where(male, rng.choice(GIVEN_MALE, n), rng.choice(GIVEN_FEMALE, n))
    names = np.char.add(rng.choice(SURNAMES, n, p=SURNAME_P), first)
    return np.where(rng.random(n) < 0.62, np.char.add(names, second), names)  # most given names are two characters


def draw_people(rng: np.random.Generator, employees: int, first_day: date, last_day: date, months: int) -> pl.DataFrame:
    """The workforce: ``employees`` people on the roster at ``first_day`` plus the hires of the range.

    About 1.2% of the staff join and 1% leave each month, so the headcount stays near ``employees``.
    """
    hires = int(round(employees * 0.012 * max(months - 1, 0)))
    n = employees + hires
    entity = np.concatenate([np.arange(min(len(entities()), n)),  # every entity has someone
                             rng.choice(len(entities()), size=max(n - len(entities()), 0), p=[e.share for e in entities()])])
    start = np.datetime64(first_day, "D")
    span = max((last_day - first_day).days, 1)
    age_days = (np.clip(rng.normal(36, 9, n), 19, 59) * 365.25).astype(np.int64)
    birth = start - age_days.astype("timedelta64[D]")
    male = (rng.random(n) < 0.55).astype(np.int64)
    areas = rng.choice(np.array(ALL_AREA_CODES), n)
    for index, e in enumerate(entities()):
        mine = (entity == index) & (rng.random(n) < 0.6)
        areas[mine] = rng.choice(np.array(AREA_CODES[e.province]), int(mine.sum()))
    sequences = _unique_sequences(rng, areas, birth, male)
    ids = id_numbers(areas, birth, sequences)

    # the first ``employees`` were hired before the range (never before 18), the rest during it
    adult_days = np.maximum(age_days - int(18 * 365.25), 31)
    tenure = np.minimum(rng.exponential(5 * 365, n).astype(np.int64) + 20, adult_days)
    hire = start - tenure.astype("timedelta64[D]")
    hire[employees:] = start + rng.integers(0, span + 1, size=hires).astype("timedelta64[D]")
    leaves = rng.random(n) < 0.01 * max(months, 1)
    leave = start + rng.integers(0, span + 1, size=n).astype("timedelta64[D]")
    leave = np.where(leaves & (leave > hire + np.timedelta64(20, "D")), leave, np.datetime64("NaT"))

    median = np.array([entities()[i].median_pay for i in entity], dtype=np.float64)
    pay = np.clip(median * rng.lognormal(0, 0.42, n), 2300, 150_000)
    prior = rng.random(n) < 0.35  # insured somewhere else before joining
    prior_region = rng.choice(PRIOR_REGIONS, n)
    same_city = prior_region == np.array([entities()[i].city for i in entity])
    prior_region[same_city] = "成都"  # a transfer is between regions; no entity is in 成都
    frame = pl.DataFrame({
        "entity_index": entity.astype(np.int32),
        "id_number": ids,
        "name": _names(rng, male.astype(bool)),
        "hire_date": hire,
        "leave_date": leave.astype("datetime64[D]"),
        "pay": np.round(pay, 0),
        "prior_region": pl.Series(prior_region, dtype=pl.String).set(pl.Series(~prior), None),
        "prior_employer": np.char.add(prior_region, rng.choice(PRIOR_EMPLOYERS, n)),
        # years insured before joining: the prior record starts that long before the hire month
        "prior_years": rng.integers(1, 12, n).astype(np.int32),
    }).with_row_index("person")
    return frame


def employee_ids(people: pl.DataFrame) -> pl.Series:
    """Per entity, numbered in order of hire (ids are handed out as people join)."""
    prefixes = pl.Series([e.prefix for e in entities()])
    order = people.select(
        pl.struct("hire_date", "person").rank("ordinal").over("entity_index").alias("n"),
        pl.col("entity_index"),
    )
    width = max(5, len(str(people.height)))
    return (prefixes.gather(order["entity_index"]) + order["n"].cast(pl.String).str.zfill(width)).alias("employee_id")
