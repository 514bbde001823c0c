"""Ledger exports for finance: the net ledger rows of a period plus totals by entity × region × type."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from transforms.privacy import mask_id_sql, redact_frame
from transforms.roles import get_role
from transforms.spreadsheet import neutralise_frame, new_workbook, write_sheet
from warehouse.errors import ShebaoError

FORMATS = ("parquet", "xlsx", "csv")
TYPE_NAMES = {"pension": "养老保险", "medical": "医疗保险", "unemployment": "失业保险", "work_injury": "工伤保险",
              "maternity": "生育保险"}
ROW_HEADERS = {
    "period": "期间", "entity": "单位", "employee_id": "工号", "name": "姓名", "id_number": "身份证号",
    "region": "参保地", "insurance_type": "险种", "base": "缴费基数", "month_fraction": "计费比例",
    "employer_rate": "单位费率", "employee_rate": "个人费率", "employer_amount": "单位缴费",
    "employee_amount": "个人缴费", "total_amount": "合计",
}
TOTAL_HEADERS = {
    "entity": "单位", "region": "参保地", "insurance_type": "险种", "people": "人数",
    "employer_amount": "单位缴费", "employee_amount": "个人缴费", "total_amount": "合计",
}
MONEY = {"base", "employer_amount", "employee_amount", "total_amount"}


def ledger_rows(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool) -> pl.DataFrame:
    id_expr = "id_number" if full_ids else mask_id_sql("id_number")
    return con.execute(
        f"""
        SELECT period, entity, employee_id, name, {id_expr} AS id_number, region, insurance_type, base,
               month_fraction, employer_rate, employee_rate, employer_amount, employee_amount,
               employer_amount + employee_amount AS total_amount
        FROM ledger.current_contributions WHERE period = ?
        ORDER BY entity, employee_id, insurance_type
        """,
        [period],
    ).pl()


def ledger_totals(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    return con.execute(
        """
        SELECT entity, region, insurance_type, count(DISTINCT employee_id) AS people,
               sum(employer_amount) AS employer_amount, sum(employee_amount) AS employee_amount,
               sum(employer_amount + employee_amount) AS total_amount
        FROM ledger.current_contributions WHERE period = ?
        GROUP BY ALL ORDER BY entity, region, insurance_type
        """,
        [period],
    ).pl()


def export_ledger(con: duckdb.DuckDBPyConnection, period: str, fmt: str, out_dir: Path,
                  role: str | None = None) -> list[Path]:
    """Write the ledger of ``period`` in ``fmt``; IDs masked unless the role may see them."""
    if fmt not in FORMATS:
        raise ShebaoError(f"The export format {fmt!r} is unknown; use one of {', '.join(FORMATS)}.")
    permitted = get_role(role)
    if not con.execute("SELECT count(*) FROM ledger.runs WHERE period = ?", [period]).fetchone()[0]:
        raise ShebaoError(f"There is no ledger for {period} yet; run `shebao ledger --period {period}` first.")
    rows = ledger_rows(con, period, permitted.sees_full_ids)
    totals = ledger_totals(con, period)
    if not permitted.sees_full_ids:  # free text (entity, name, region) may hold an ID typed in the wrong column
        rows, totals = redact_frame(rows), redact_frame(totals)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"ledger_{period}"
    if fmt == "parquet":  # typed: DECIMAL stays DECIMAL
        paths = [stem.with_suffix(".parquet"), out_dir / f"ledger_totals_{period}.parquet"]
        rows.write_parquet(paths[0])
        totals.write_parquet(paths[1])
        return paths
    if fmt == "csv":  # UTF-8 with BOM so Excel shows the Chinese headers
        paths = [stem.with_suffix(".csv"), out_dir / f"ledger_totals_{period}.csv"]
        for frame, headers, path in ((rows, ROW_HEADERS, paths[0]), (totals, TOTAL_HEADERS, paths[1])):
            named = neutralise_frame(labelled(frame)).rename(headers)
            named.write_csv(path, include_bom=True)
        return paths
    path = stem.with_suffix(".xlsx")
    workbook = new_workbook(path)
    write_sheet(workbook, "缴费明细", labelled(rows), ROW_HEADERS, MONEY)
    grand = pl.DataFrame({
        "entity": ["总计"], "region": [None], "insurance_type": [None], "people": [rows["employee_id"].n_unique()],
        "employer_amount": [totals["employer_amount"].sum()], "employee_amount": [totals["employee_amount"].sum()],
        "total_amount": [totals["total_amount"].sum()],
    }, schema=totals.schema)
    write_sheet(workbook, "合计", pl.concat([labelled(totals), grand]), TOTAL_HEADERS, MONEY)
    workbook.close()
    return [path]


def labelled(frame: pl.DataFrame) -> pl.DataFrame:
    if "insurance_type" not in frame.columns:
        return frame
    return frame.with_columns(pl.col("insurance_type").replace(TYPE_NAMES))
