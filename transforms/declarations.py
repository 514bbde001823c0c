"""The declarations HR files with the social-insurance agency (SPEC §7), one xlsx per region under
``<out>/<P>/declarations/``: ``<region>_增员_<P>`` (HIRED_NOT_ENROLLED), ``<region>_减员_<P>``
(DEPARTED_STILL_CONTRIBUTING), ``<region>_补缴_<P>`` (the arrears of SPEC §5 with the late fee) and, in the
month a region's contribution year starts, ``<region>_缴费基数申报_<year>`` (the ledger population's
reference wage and base per type). A file is written only for a region with rows. ID numbers are masked
unless ``full_ids`` (an hr_manager who asked, SPEC §8)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from transforms import glossary
from transforms.privacy import mask_id, redact, redact_frame
from transforms.spreadsheet import new_workbook, write_sheet
from warehouse.db import sql_text

SQL = Path(__file__).with_name("sql")
TYPE_ORDER = list(glossary.INSURANCE)

ENROL_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "insurance": "参保险种",
                 "base": "缴费基数", "start_month": "参保起始年月", "entity": "单位"}
STOP_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "insurance": "参保险种",
                "leave_date": "离职日期", "stop_month": "停保年月", "entity": "单位"}
ARREARS_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "month": "补缴年月",
                   "employer": "单位缴费", "employee": "个人缴费", "total": "合计", "days": "滞纳天数",
                   "late_fee": "滞纳金", "entity": "单位"}
BASE_HEADERS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "entity": "单位",
                "reference_wage": "月平均工资"} | {t: f"{glossary.INSURANCE[t]}缴费基数" for t in TYPE_ORDER}


def latest_run(con: duckdb.DuckDBPyConnection, period: str) -> str | None:
    row = con.execute("SELECT max(run_id) FROM quality.runs WHERE period = ? AND status = 'succeeded'",
                      [period]).fetchone()
    return row[0] if row else None


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


def write_declarations(con: duckdb.DuckDBPyConnection, period: str, folder: Path, full_ids: bool = False,
                       run_id: str | None = None) -> list[Path]:
    """Write the period's declarations into ``folder``; returns the files written."""
    run_id = run_id or latest_run(con, period)
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
        rank = {t: i for i, t in enumerate(TYPE_ORDER)}  # 养老 first, as the agencies' forms list them
        enrol = enrol.with_columns(pl.col("insurance_type").replace_strict(rank, default=99).alias("_rank")).sort(
            "region", "entity", "employee_id", "_rank")
        enrol = _people(enrol, full_ids).with_columns(
            pl.col("insurance_type").replace_strict(glossary.INSURANCE, default="").alias("insurance"))
        for (region,), rows in enrol.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_增员_{period}.xlsx", "增员", rows, ENROL_HEADERS,
                                  {"base"}))

    stop = _query(con, "stop", params)
    if stop.height:
        rank = {t: i for i, t in enumerate(TYPE_ORDER)}
        stop = stop.with_columns(pl.col("insurance_type").replace_strict(rank, default=99).alias("_rank")).sort(
            "region", "entity", "employee_id", "_rank")
        stop = _people(stop, full_ids).with_columns(
            pl.col("insurance_type").replace_strict(glossary.INSURANCE, default="").alias("insurance"),
            pl.col("leave_date").fill_null(""))
        for (region,), rows in stop.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_减员_{period}.xlsx", "减员", rows, STOP_HEADERS, set()))

    arrears = _query(con, "arrears", params)
    if arrears.height:
        arrears = _people(arrears, full_ids)
        for (region,), rows in arrears.group_by("region", maintain_order=True):
            written.append(_write(folder, f"{_safe(region)}_补缴_{period}.xlsx", "补缴", rows, ARREARS_HEADERS,
                                  {"employer", "employee", "total", "late_fee"}))

    regions = year_start_regions(con, period)
    base = _query(con, "base", params | {"regions": regions}) if regions else pl.DataFrame()
    if base.height:
        wide = base.pivot(on="insurance_type", index=["region", "entity", "employee_id", "name", "id_number",
                                                      "reference_wage"], values="base", aggregate_function="first")
        missing = [t for t in TYPE_ORDER if t not in wide.columns]
        wide = wide.with_columns([pl.lit(None, dtype=pl.Decimal(14, 2)).alias(t) for t in missing])
        wide = _people(wide, full_ids)
        for (region,), rows in wide.group_by("region", maintain_order=True):
            headers = {k: v for k, v in BASE_HEADERS.items() if k not in TYPE_ORDER or rows[k].is_not_null().any()}
            written.append(_write(folder, f"{_safe(region)}_缴费基数申报_{period[:4]}.xlsx", "缴费基数申报", rows,
                                  headers, {"reference_wage", *TYPE_ORDER}))
    return written
