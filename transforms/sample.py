"""A realistic sample inbox: payroll, attendance, insurance and transfer extracts as HR exports them.

Vectorised with numpy and polars (200,000 employees × 13 months in minutes): per-file loops only. Every
anomaly of SPEC §5 is injected at a low rate, plus a few rows ingest must reject; the manifest says how
many of each, so tests can check the pipeline finds them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from transforms.normalise import ID_CHECK_CHARS, ID_WEIGHTS
from transforms.periods import months_between

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红燕鹏辉建国文斌宇浩凯婷雪琳晨欣怡佳瑶子涵博远")
# Real area codes (6 digits) of several provinces, for birthplaces.
AREA_CODES = ["430102", "430103", "430104", "430202", "430602", "420102", "420106", "420111", "440103", "440106",
              "440305", "310101", "310104", "110101", "110105", "330106", "510104", "410102", "360102", "610104"]


@dataclass(frozen=True)
class Entity:
    name: str
    city: str
    prefix: str
    share: float
    pay: float  # median monthly gross


ENTITIES = (
    Entity("长沙星城智造有限公司", "长沙", "C", 0.34, 8000),
    Entity("武汉江城软件有限公司", "武汉", "W", 0.25, 11000),
    Entity("广州羊城商贸有限公司", "广州", "G", 0.22, 10000),
    Entity("上海浦江科技有限公司", "上海", "S", 0.18, 16000),
    Entity("三沙南海渔业有限公司", "三沙", "N", 0.01, 6000),
)
CITY_SPELLINGS = {"长沙": ["长沙", "长沙市", "湖南省长沙市"], "武汉": ["武汉", "武汉市", "湖北省武汉市"],
                  "广州": ["广州", "广州市", "广东省广州市"], "上海": ["上海", "上海市"], "三沙": ["三沙", "三沙市"]}
OTHER_REGIONS = ["成都", "郑州", "深圳", "杭州", "南昌", "北京"]
TYPE_SPELLINGS = {"pension": ["养老保险", "企业职工基本养老保险", "养老"], "medical": ["医疗保险", "职工基本医疗保险"],
                  "unemployment": ["失业保险", "失业"], "work_injury": ["工伤保险", "工伤"], "maternity": ["生育保险"]}
STATUS_SPELLINGS = {"active": ["正常参保", "参保缴费", "正常缴费"], "terminated": ["终止参保", "停保"]}
STAGE_SPELLINGS = {"submitted": "已提交", "origin_approved": "转出地已审核", "funds_received": "资金已到账",
                   "completed": "办结", "rejected": "不予受理"}
PAYROLL_HEADERS = [("工资月份", "员工编号", "姓名", "身份证号", "公司", "参保城市", "应发工资", "实发工资", "个人社保"),
                   ("所属期", "工号", "姓名", "身份证号码", "用人单位", "社保缴纳地", "应发合计", "实发合计", "代扣社保")]
ATTENDANCE_HEADERS = [("月份", "员工编号", "姓名", "身份证号", "公司", "入职日期", "离职日期", "出勤天数"),
                      ("所属期", "工号", "姓名", "证件号码", "法人主体", "入职时间", "离职时间", "实际出勤")]
INSURANCE_HEADER = ("数据期间", "身份证号码", "姓名", "参保地", "单位名称", "险种", "缴费状态", "起始年月", "参保终止年月",
                    "缴费基数", "累计缴费月数", "首次参保")
TRANSFER_HEADER = ("数据期间", "申请编号", "身份证号码", "姓名", "险种", "转出地", "转入地", "办理状态", "申请日期", "状态更新日期")
EMPLOYEE_RATE = {"pension": 0.08, "medical": 0.02, "unemployment": 0.005, "work_injury": 0.0, "maternity": 0.0}


def _cols(*exprs) -> list[pl.Expr]:
    """Name the output columns c0..cN (their header comes from the file's header row)."""
    return [(pl.col(e) if isinstance(e, str) else e).alias(f"c{i}") for i, e in enumerate(exprs)]


def check_chars(bodies: np.ndarray) -> np.ndarray:
    """GB 11643 check characters for an array of 17-digit strings."""
    digits = np.frombuffer("".join(bodies).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    totals = (digits * np.array(ID_WEIGHTS)).sum(axis=1) % 11
    return np.array(list(ID_CHECK_CHARS))[totals]


def _people(rng: np.random.Generator, n: int, first: date, last: date) -> pl.DataFrame:
    entity_index = rng.choice(len(ENTITIES), size=n, p=[e.share for e in ENTITIES])
    birth = np.datetime64("1965-01-01") + rng.integers(0, 365 * 37, size=n).astype("timedelta64[D]")
    births = np.datetime_as_string(birth, unit="D")
    bodies = np.char.add(np.char.add(rng.choice(AREA_CODES, size=n), np.char.replace(births, "-", "")),
                         np.char.zfill(rng.integers(0, 1000, size=n).astype(str), 3))
    ids = np.char.add(bodies, check_chars(bodies))
    names = np.char.add(rng.choice(SURNAMES, size=n), rng.choice(GIVEN, size=n))
    two = rng.random(n) < 0.6
    names = np.where(two, np.char.add(names, rng.choice(GIVEN, size=n)), names)
    span = (last - first).days
    # most were hired before the range; 12% during it; 1.2% a month leave
    hire_offset = np.where(rng.random(n) < 0.12, rng.integers(0, span, size=n), -rng.integers(30, 4000, size=n))
    hire = np.datetime64(first) + hire_offset.astype("timedelta64[D]")
    leaves = rng.random(n) < 0.012 * max(1, span // 30)
    leave_offset = rng.integers(0, span + 1, size=n)
    leave = np.where(leaves, np.datetime64(first) + leave_offset.astype("timedelta64[D]"), np.datetime64("NaT"))
    leave = np.where(leave <= hire + np.timedelta64(20, "D"), np.datetime64("NaT"), leave)
    pay = np.array([ENTITIES[i].pay for i in entity_index]) * rng.lognormal(0, 0.45, size=n)
    frame = pl.DataFrame({
        "entity_index": entity_index, "id_number": ids, "name": names,
        "hire_date": hire.astype("datetime64[D]"), "leave_date": leave.astype("datetime64[D]"),
        "pay": np.round(np.clip(pay, 2600, 90000), 0),
    }).with_row_index("person")
    prior = rng.choice(OTHER_REGIONS, size=n)
    frame = frame.with_columns(pl.Series("prior_region", prior, dtype=pl.String)
                               .set(pl.Series(rng.random(n) >= 0.25), None))
    frame = frame.with_columns(
        pl.col("entity_index").map_elements(lambda i: ENTITIES[i].name, return_dtype=pl.String).alias("entity"),
        pl.col("entity_index").map_elements(lambda i: ENTITIES[i].city, return_dtype=pl.String).alias("city"),
        pl.col("entity_index").map_elements(lambda i: ENTITIES[i].prefix, return_dtype=pl.String).alias("prefix"),
    )
    return frame.with_columns(
        (pl.col("prefix") + (pl.col("person").rank("ordinal").over("entity_index")).cast(pl.String).str.zfill(6))
        .alias("employee_id")
    )


def _inject_identity(rng, people: pl.DataFrame, manifest: dict) -> pl.DataFrame:
    n = people.height
    ids = people["id_number"].to_numpy().copy()
    pick = lambda rate: rng.choice(n, size=min(n, max(3, int(n * rate))), replace=False)  # noqa: E731
    dup = pick(0.002)
    ids[dup] = ids[(dup + 7) % n]  # someone else's number: DUPLICATE_ID_NUMBER
    invalid = pick(0.002)
    ids[invalid] = np.array([i[:17] + ("0" if i[17] != "0" else "1") for i in ids[invalid]])
    manifest["anomalies"].update({"duplicate_id_number": len(dup), "invalid_id_number": len(invalid)})
    people = people.with_columns(pl.Series("id_number", ids))
    # the same person registered twice: same name and birth date, another sequence number
    twins = people[pick(0.001)]
    bodies = np.array([i[:14] + f"{(int(i[14:17]) + 2) % 1000:03d}" for i in twins["id_number"]])
    twins = twins.with_columns(
        pl.Series("id_number", np.char.add(bodies, check_chars(bodies))),
        (pl.col("person") + people.height).alias("person"),
    )
    manifest["anomalies"]["duplicate_person"] = twins.height
    people = pl.concat([people, twins]).with_columns(
        (pl.col("prefix") + pl.col("person").rank("ordinal").over("entity_index").cast(pl.String).str.zfill(6))
        .alias("employee_id"))
    return people


def _policy() -> pl.DataFrame:
    from warehouse.policy import SHIPPED_POLICY

    return pl.read_csv(SHIPPED_POLICY, infer_schema=False)


def _floor_ceiling(policy: pl.DataFrame, city: str, period: str) -> tuple[float, float] | None:
    rows = policy.filter((pl.col("region") == city) & (pl.col("insurance_type") == "pension")
                         & (pl.col("effective_from") <= period)
                         & ((pl.col("effective_to") == "") | pl.col("effective_to").is_null()
                            | (pl.col("effective_to") >= period)))
    if rows.height == 0:
        return None
    return float(rows["base_floor"][0]), float(rows["base_ceiling"][0])


def _write(out: Path, name: str, header: tuple, rows: pl.DataFrame, style: int, formats: str, manifest: dict,
           title: str | None = None) -> None:
    rows = rows.select([pl.col(c).cast(pl.String) for c in rows.columns])
    manifest["files"][name] = rows.height
    if formats == "mixed" and style % 4 == 3 and rows.height < 20_000:
        import xlsxwriter

        path = out / (name + ".xlsx")
        workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
        sheet = workbook.add_worksheet("Sheet1")
        offset = 0
        if title:
            sheet.merge_range(0, 0, 0, len(header) - 1, title)
            offset = 1
        for col, text in enumerate(header):
            sheet.write_string(offset, col, text)
        for r, row in enumerate(rows.iter_rows(), start=offset + 1):
            for col, value in enumerate(row):
                if value is not None:
                    sheet.write_string(r, col, value)
        workbook.close()
        return
    text = rows.write_csv(include_header=False, null_value="")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    payload = buffer.getvalue() + text
    encoding = ("utf-8", "utf-8-sig", "gbk")[style % 3] if formats == "mixed" else ("utf-8", "gbk")[style % 2]
    (out / (name + ".csv")).write_bytes(payload.encode(encoding, errors="replace"))


def _month_text(period: str, style: int) -> str:
    y, m = period.split("-")
    return (f"{y}-{m}", f"{y}年{int(m)}月", f"{y}{m}", f"{y}/{int(m)}")[style % 4]


def generate_inbox(out_dir: Path, employees: int, start: str, end: str, seed: int = 0,
                   formats: str = "mixed") -> dict:
    """Write an inbox for ``employees`` people from ``start`` to ``end``; return the manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    periods = months_between(start, end)
    first = date.fromisoformat(periods[0] + "-01")
    last_month = date.fromisoformat(periods[-1] + "-01")
    last = (last_month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    manifest: dict = {"employees": employees, "periods": periods, "files": {}, "anomalies": {}, "rejects": {}}
    people = _inject_identity(rng, _people(rng, employees, first, last), manifest)
    policy = _policy()
    n = people.height

    def chosen(rate: float, among: np.ndarray | None = None) -> np.ndarray:
        """A boolean mask of about ``rate`` of the people (at least two), optionally among some."""
        pool = np.flatnonzero(among) if among is not None else np.arange(n)
        mask = np.zeros(n, dtype=bool)
        if pool.size:
            mask[rng.choice(pool, size=min(pool.size, max(2, int(n * rate))), replace=False)] = True
        return mask

    hired = people["hire_date"].to_numpy()
    has_prior = people["prior_region"].is_not_null().to_numpy()
    leavers = people["leave_date"].is_not_null().to_numpy()
    wrong_withholding = chosen(0.01)
    base_shift = np.zeros(n, dtype=np.int8)
    for shift in (1, 2, 3):  # below the floor, above the ceiling, mismatching the ledger
        base_shift[chosen(0.005, base_shift == 0)] = shift
    not_enrolled = chosen(0.05 * 0.12, hired >= np.datetime64(first))
    still_active = chosen(0.1 * 0.012 * len(periods), leavers)
    active_elsewhere = chosen(0.003, has_prior)
    first_misjudged = chosen(0.025, has_prior & ~active_elsewhere)
    not_reflected = chosen(0.003, has_prior & ~active_elsewhere & ~first_misjudged)
    people = people.with_columns(
        pl.Series("wrong_withholding", wrong_withholding), pl.Series("base_shift", base_shift),
        pl.Series("not_enrolled", not_enrolled), pl.Series("still_active", still_active),
        pl.Series("active_elsewhere", active_elsewhere), pl.Series("first_misjudged", first_misjudged),
        pl.Series("not_reflected", not_reflected),
    )
    manifest["anomalies"].update({
        "withholding_wrong": int(wrong_withholding.sum()), "base_below_floor": int((base_shift == 1).sum()),
        "base_above_ceiling": int((base_shift == 2).sum()), "base_mismatch": int((base_shift == 3).sum()),
        "hired_not_enrolled": int(not_enrolled.sum()), "departed_still_contributing": int(still_active.sum()),
        "active_elsewhere": int(active_elsewhere.sum()), "first_enrollment_misjudged": int(first_misjudged.sum()),
        "transfer_not_reflected": int(not_reflected.sum()), "no_policy_entity": ENTITIES[-1].name,
    })
    for index, period in enumerate(periods):
        month_first = date.fromisoformat(period + "-01")
        month_last = (month_first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        active = people.filter((pl.col("hire_date") <= month_last)
                               & (pl.col("leave_date").is_null() | (pl.col("leave_date") >= month_first)))
        # pay fixed within a year (raises in January), so last year's mean is last year's pay
        raise_factor = 1.0 + 0.04 * (month_first.year - first.year)
        active = active.with_columns((pl.col("pay") * raise_factor).round(0).alias("gross"),
                                     (pl.col("pay") * (raise_factor - 0.04 if month_first.year > first.year else 1))
                                     .round(0).alias("last_year"))
        fraction = (pl.when(pl.col("hire_date") > date(month_first.year, month_first.month, 15))
                    .then(pl.when(pl.col("leave_date").is_null() | (pl.col("leave_date") > month_last)).then(0.5)
                          .otherwise(0.0))
                    .when(pl.col("leave_date").is_not_null() & (pl.col("leave_date") <= month_first.replace(day=15)))
                    .then(0.0).otherwise(1.0))
        hired_before_year = pl.col("hire_date") < date(month_first.year, 1, 1)
        wage = pl.when(hired_before_year & (month_first.year > first.year)).then(pl.col("last_year")) \
            .otherwise(pl.col("gross"))
        bounds = {e.city: _floor_ceiling(policy, e.city, period) for e in ENTITIES}
        floor = pl.col("city").replace_strict({c: b[0] if b else 0.0 for c, b in bounds.items()}, return_dtype=pl.Float64)
        ceiling = pl.col("city").replace_strict({c: b[1] if b else 1e9 for c, b in bounds.items()}, return_dtype=pl.Float64)
        active = active.with_columns(fraction.alias("f"), wage.clip(floor, ceiling).alias("base"))
        withheld = (pl.col("base") * 0.105 * pl.col("f")).round(2)
        active = active.with_columns(
            pl.when(pl.col("wrong_withholding")).then(withheld + 37.5).otherwise(withheld).alias("si"),
        )
        style = index
        for e_index, entity in enumerate(ENTITIES):
            rows = active.filter(pl.col("entity") == entity.name)
            if rows.height == 0:
                continue
            s = style + e_index
            spellings = CITY_SPELLINGS[entity.city]
            payroll = rows.select(_cols(
                pl.lit(_month_text(period, s)), "employee_id", "name", "id_number", "entity",
                pl.lit(spellings[s % len(spellings)]),
                pl.col("gross").cast(pl.Int64).cast(pl.String) + (".00" if s % 2 else "元"),
                (pl.col("gross") - pl.col("si") - pl.col("gross") * 0.03).round(2).cast(pl.String),
                pl.col("si").cast(pl.String),
            ))
            payroll = _with_rejects(rng, payroll, period, manifest, s, kind="payroll")
            _write(out, f"工资表_{period.replace('-', '')}_{entity.prefix}", PAYROLL_HEADERS[s % 2], payroll, s, formats,
                   manifest, title=f"{period[:4]}年{int(period[5:])}月工资表")
            attendance = rows.select(_cols(
                pl.lit(_month_text(period, s + 1)), "employee_id", "name", "id_number", "entity",
                pl.col("hire_date").dt.strftime("%Y-%m-%d" if s % 2 else "%Y/%-m/%-d"),
                pl.col("leave_date").dt.strftime("%Y-%m-%d"),
                pl.lit("21"),
            ))
            _write(out, f"考勤_{period.replace('-', '')}_{entity.prefix}", ATTENDANCE_HEADERS[s % 2], attendance, s + 1,
                   formats, manifest)
        _write_insurance(out, period, people, active, month_first, month_last, style, formats, manifest, rng)
        _write_transfers(out, period, people, month_last, style, formats, manifest)
    return manifest


def _with_rejects(rng, payroll: pl.DataFrame, period: str, manifest: dict, style: int, kind: str) -> pl.DataFrame:
    """A few rows ingest must reject: a bad month, a bad amount, a missing name, an exact copy."""
    if payroll.height < 20 or style % 3:
        return payroll
    columns = payroll.columns
    bad = payroll.sample(3, seed=style)
    bad_month = bad[0].with_columns(pl.lit(period[:4] + "-13").alias(columns[0]))
    bad_amount = bad[1].with_columns(pl.lit("1,2,3").alias(columns[6]))
    missing = bad[2].with_columns(pl.lit(None, pl.String).alias(columns[2]))
    copy = payroll[0]
    for code in ("BAD_MONTH", "BAD_AMOUNT", "MISSING_FIELD", "DUPLICATE_ROW"):
        manifest["rejects"][code] = manifest["rejects"].get(code, 0) + 1
    # the rejected copies replace nothing: they are extra rows next to the good ones
    return pl.concat([payroll, bad_month, bad_amount, missing, copy])


def _write_insurance(out, period, people, active, month_first, month_last, style, formats, manifest, rng) -> None:
    ours = active.filter(~pl.col("not_enrolled"))
    types = pl.DataFrame({"insurance_type": list(EMPLOYEE_RATE)})
    rows = ours.join(types, how="cross").filter(
        (pl.col("insurance_type") != "maternity") | pl.col("city").is_in(["长沙", "武汉", "三沙"]))
    shifted = (pl.when(pl.col("base_shift") == 1).then(pl.col("base") * 0.6)
               .when(pl.col("base_shift") == 2).then(pl.col("base") * 1.6 + 40000)
               .when(pl.col("base_shift") == 3).then(pl.col("base") + 321).otherwise(pl.col("base")))
    leaving = pl.col("leave_date").is_not_null() & (pl.col("leave_date") < month_first)
    ours_rows = rows.select(
        "id_number", "name", "city", "entity", "insurance_type",
        pl.when(leaving & ~pl.col("still_active")).then(pl.lit("terminated")).otherwise(pl.lit("active")).alias("status"),
        pl.col("hire_date").dt.strftime("%Y-%m").alias("start"),
        pl.lit(None, pl.String).alias("end"),
        shifted.round(2).alias("base_value"),
        pl.when((pl.col("insurance_type") == "pension") & pl.col("prior_region").is_not_null()
                & pl.col("first_misjudged")).then(pl.lit("是")).otherwise(pl.lit("否")).alias("first"),
    )
    # prior insurance elsewhere: terminated history, or still active (ACTIVE_ELSEWHERE)
    prior = people.filter(pl.col("prior_region").is_not_null() & pl.col("id_number").is_in(ours["id_number"].implode()))
    prior_rows = prior.select(
        "id_number", "name", pl.col("prior_region").alias("city"), pl.lit("原单位有限公司").alias("entity"),
        pl.lit("pension").alias("insurance_type"),
        pl.when(pl.col("active_elsewhere") | pl.col("not_reflected")).then(pl.lit("active"))
        .otherwise(pl.lit("terminated")).alias("status"),
        (pl.col("hire_date") - pl.duration(days=1500)).dt.strftime("%Y-%m").alias("start"),
        pl.when(pl.col("active_elsewhere") | pl.col("not_reflected")).then(None).otherwise(
            (pl.col("hire_date") - pl.duration(days=31)).dt.strftime("%Y-%m")).alias("end"),
        pl.lit(6000.0).alias("base_value"), pl.lit("是").alias("first"),
    )
    # leavers whose employer never stopped their insurance: still active months later
    departed = people.filter(pl.col("still_active") & (pl.col("leave_date") < month_first)
                             & (pl.col("leave_date") >= month_first - timedelta(days=180)))
    departed_rows = departed.select(
        "id_number", "name", "city", "entity", pl.lit("pension").alias("insurance_type"),
        pl.lit("active").alias("status"), pl.col("hire_date").dt.strftime("%Y-%m").alias("start"),
        pl.lit(None, pl.String).alias("end"), pl.col("pay").round(2).alias("base_value"), pl.lit("否").alias("first"),
    )
    rows = pl.concat([ours_rows, prior_rows, departed_rows])
    type_text = pl.col("insurance_type").replace_strict({t: s[style % len(s)] for t, s in TYPE_SPELLINGS.items()})
    status_text = pl.col("status").replace_strict({t: s[style % len(s)] for t, s in STATUS_SPELLINGS.items()})
    table = rows.select(_cols(
        pl.lit(_month_text(period, style)), "id_number", "name", "city", "entity", type_text, status_text,
        "start", "end", pl.col("base_value").cast(pl.String), pl.lit(None, pl.String), "first",
    ))
    _write(out, f"参保明细_{period.replace('-', '')}", INSURANCE_HEADER, table, style, formats, manifest)


def _write_transfers(out, period, people, month_last, style, formats, manifest) -> None:
    recent = month_last - timedelta(days=200)
    movers = people.filter(pl.col("prior_region").is_not_null() & (pl.col("hire_date") <= month_last)
                           & ((pl.col("hire_date") >= recent) | pl.col("not_reflected")))
    if movers.height == 0:
        return
    stages = ["submitted", "origin_approved", "funds_received", "completed", "rejected"]
    table = movers.select(_cols(
        pl.lit(_month_text(period, style)),
        pl.format("ZY{}", pl.col("person").cast(pl.String).str.zfill(9)),
        "id_number", "name", pl.lit("养老保险"), "prior_region", "city",
        pl.when(pl.col("not_reflected")).then(pl.lit(STAGE_SPELLINGS["completed"])).otherwise(
            pl.col("person").map_elements(lambda p: STAGE_SPELLINGS[stages[p % 5]], return_dtype=pl.String)),
        (pl.col("hire_date") + pl.duration(days=20)).dt.strftime("%Y-%m-%d"),
        pl.min_horizontal(pl.col("hire_date") + pl.duration(days=40), pl.lit(month_last)).dt.strftime("%Y%m%d"),
    ))
    _write(out, f"转移接续_{period.replace('-', '')}", TRANSFER_HEADER, table, style, formats, manifest)


def decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))
