"""The declarations HR files with the social-insurance agency (SPEC §7), one xlsx per region under
``<out>/<P>/declarations/``: ``<region>_增员_<P>`` (HIRED_NOT_ENROLLED), ``<region>_减员_<P>``
(DEPARTED_STILL_CONTRIBUTING), ``<region>_补缴_<P>`` (the arrears of SPEC §5 with the late fee) and, in the
month a region's contribution year starts, ``<region>_缴费基数申报_<year>`` (the ledger population's
reference wage and base per type). A file is written only for a region with rows. ID numbers are masked
unless ``full_ids`` (an hr_manager who asked, SPEC §8). Which findings feed 增员, 减员 and 补缴 is each
code's registry row (``quality.checks.declarations``, read through ``quality.declared_findings``).

Column lists: SPEC §7 version 3, after the batch-import templates of agencies' 单位网上经办 systems (人员增员 /
人员减员 / 补缴 / 缴费基数申报); which of their optional columns a given agency requires varies, so the list is
SPEC's — assumed to import where an agency's template names the same columns."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from transforms.common import glossary
from transforms.common.privacy import mask_id, redact, redact_frame
from transforms.common.runs import latest_validation_run
from transforms.common.spreadsheet import new_workbook, write_sheet
from warehouse.sql import sql_text

SQL = Path(__file__).with_name("sql")
TYPE_ORDER = list(glossary.INSURANCE)

# SPEC §7 version 3: the shape agencies' batch imports take — one header row, one row per person (补缴: per
# person, month and type), no title or totals row, IDs as text, months as YYYYMM. A 缴费基数 column per type
# levied in the region's file follows 月缴费工资 / 上年月平均工资 (BASE_COLUMNS).
ENROL_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "sex": "性别", "birth_date": "出生日期",
                 "reason": "增员原因", "insurance": "参保险种", "reference_wage": "月缴费工资", "@bases": "",
                 "start_month": "参保起始年月", "hire_date": "入职日期", "employment_type": "用工形式", "entity": "单位"}
STOP_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "stop_reason": "减员原因",
                "leave_date": "离职日期", "stop_month": "停保年月", "refund": "需退费", "entity": "单位"}
ARREARS_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "month": "费款所属期",
                   "insurance": "险种", "base": "缴费基数", "employer": "单位缴费", "employee": "个人缴费",
                   "late_fee": "滞纳金", "fee_until": "滞纳金计算截止日", "entity": "单位"}
BASE_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "reference_wage": "上年月平均工资",
                "@bases": "", "entity": "单位"}
BASE_COLUMNS = {t: f"{glossary.INSURANCE[t]}缴费基数" for t in TYPE_ORDER}
ENROL_REASON = {"transfer_in": "转入", "new": "新参保"}   # SPEC §7 增员原因
STOP_REASON = "解除或终止劳动关系"                        # SPEC §7 减员原因 (a departure: the only one we declare)


def year_start_regions(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """Regions whose contribution year starts in P's month (ref.regions.base_year_start_month)."""
    return [r[0] for r in con.execute("SELECT region FROM ref.regions WHERE base_year_start_month = ? ORDER BY region",
                                      [int(period[5:])]).fetchall()]


def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> pl.DataFrame:
    text = sql_text(SQL / f"declaration_{name}.sql")
    used = {k: v for k, v in params.items() if f"${k}" in text}
    return con.execute(text, used).pl()


def _people(frame: pl.DataFrame, full_ids: bool) -> pl.DataFrame:
    """证件类型 from the full number, then the number masked unless full_ids; no empty name shows None."""
    ids = frame["id_number"].to_list()
    people = frame.with_columns(
        pl.Series("id_type", [glossary.id_type(i) for i in ids], dtype=pl.String),
        pl.Series("id_number", [(i if full_ids else mask_id(i)) or "" for i in ids], dtype=pl.String),
        pl.col("name").fill_null(""),
    )
    return people if full_ids else redact_frame(people)  # an ID typed into a name or entity too (SPEC §8)


def _safe(region: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", redact(region) if region else "未知地区")  # file names: no IDs


def _write(folder: Path, name: str, sheet: str, frame: pl.DataFrame, headers: dict, money: set[str]) -> Path:
    path = folder / name
    workbook = new_workbook(path)
    write_sheet(workbook, sheet, frame, headers, money=money,
                widths={"id_number": 22, "entity": 26, "id_type": 20})
    workbook.close()
    return path


def _per_type(long: pl.DataFrame, index: list[str]) -> pl.DataFrame:
    """One row per person from one row per (person, type): the base of each type as its own column (every type
    of TYPE_ORDER, empty where not levied) and 参保险种, the types levied joined by 、 (养老 first)."""
    wide = long.pivot(on="insurance_type", index=index, values="base", aggregate_function="first")
    wide = wide.with_columns([pl.lit(None, dtype=pl.Decimal(14, 2)).alias(t) for t in TYPE_ORDER
                              if t not in wide.columns])
    return wide.with_columns(pl.concat_str([pl.when(pl.col(t).is_not_null()).then(pl.lit(glossary.INSURANCE[t]))
                                            for t in TYPE_ORDER], separator="、", ignore_nulls=True).alias("insurance"))


def _with_bases(headers: dict, rows: pl.DataFrame) -> dict:
    """``headers`` with ``@bases`` replaced by a 缴费基数 column per type levied for someone of ``rows``."""
    out: dict[str, str] = {}
    for key, label in headers.items():
        if key == "@bases":
            out |= {t: BASE_COLUMNS[t] for t in TYPE_ORDER if rows[t].is_not_null().any()}
        else:
            out[key] = label
    return out


def write_declarations(con: duckdb.DuckDBPyConnection, period: str, folder: Path, full_ids: bool = False,
                       run_id: str | None = None) -> list[Path]:
    """Write the period's declarations into ``folder``; returns the files written."""
    run_id = run_id or latest_validation_run(con, period)
    if run_id is None:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.xlsx"):  # a rerun of the month replaces, never mixes
        old.unlink()
    params = {"run_id": run_id, "period": period}
    written: list[Path] = []

    enrol = _query(con, "enrol", params)
    if enrol.height:
        person = ["region", "entity", "employee_id", "name", "id_number", "sex", "birth_date", "reason",
                  "reference_wage", "start_month", "hire_date", "employment_type"]
        enrol = _people(_per_type(enrol, person).sort("region", "entity", "employee_id"), full_ids).with_columns(
            pl.col("sex").replace_strict(glossary.SEX, default="").alias("sex"),
            pl.col("reason").replace_strict(ENROL_REASON, default="").alias("reason"),
            pl.col("employment_type").replace_strict(glossary.EMPLOYMENT_TYPE, default="").alias("employment_type"),
            pl.col("birth_date").fill_null(""), pl.col("hire_date").fill_null(""))
        for (region,), rows in enrol.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_增员_{period}.xlsx", "增员", rows,
                                  _with_bases(ENROL_HEADERS, rows), {"reference_wage", *TYPE_ORDER}))

    stop = _query(con, "stop", params)
    if stop.height:
        stop = _people(stop, full_ids).with_columns(
            pl.lit(STOP_REASON).alias("stop_reason"),
            pl.col("refund").replace_strict(glossary.YES_NO, default="", return_dtype=pl.String).alias("refund"),
            pl.col("leave_date").fill_null(""), pl.col("stop_month").fill_null(""))
        for (region,), rows in stop.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_减员_{period}.xlsx", "减员", rows, STOP_HEADERS, set()))

    arrears = _query(con, "arrears", params)
    if arrears.height:
        rank = {t: i for i, t in enumerate(TYPE_ORDER)}  # 养老 first, as the agencies' forms list them
        arrears = _people(arrears.sort("region", "entity", "employee_id", "month",
                                       pl.col("insurance_type").replace_strict(rank, default=99)),
                          full_ids).with_columns(
            pl.col("insurance_type").replace_strict(glossary.INSURANCE, default="").alias("insurance"))
        for (region,), rows in arrears.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_补缴_{period}.xlsx", "补缴", rows, ARREARS_HEADERS,
                                  {"base", "employer", "employee", "late_fee"}))

    regions = year_start_regions(con, period)
    base = _query(con, "base", params | {"regions": regions}) if regions else pl.DataFrame()
    if base.height:
        wide = _people(_per_type(base, ["region", "entity", "employee_id", "name", "id_number", "reference_wage"])
                       .sort("region", "entity", "employee_id"), full_ids)
        for (region,), rows in wide.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_缴费基数申报_{period[:4]}.xlsx", "缴费基数申报", rows,
                                  _with_bases(BASE_HEADERS, rows), {"reference_wage", *TYPE_ORDER}))
    return written
