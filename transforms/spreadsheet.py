"""Writing tables people open in Excel: Chinese headers, numbers as numbers, no formula injection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns([
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text
    ])


def write_sheet(workbook, name: str, frame: pl.DataFrame, headers: dict[str, str], money: set[str] = frozenset(),
                widths: dict[str, int] | None = None) -> None:
    """One sheet: a bold header row with the Chinese names, then the rows; money as 0.00 numbers."""
    sheet = workbook.add_worksheet(name[:31])
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money_format = workbook.add_format({"num_format": "#,##0.00"})
    columns = list(headers)
    for index, column in enumerate(columns):
        sheet.write_string(0, index, headers[column], bold)
        sheet.set_column(index, index, (widths or {}).get(column, max(10, len(headers[column]) * 2 + 2)))
    for row_index, row in enumerate(frame.select(columns).iter_rows(), start=1):
        for index, (column, value) in enumerate(zip(columns, row, strict=True)):
            if value is None:
                continue
            if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
                sheet.write_number(row_index, index, float(value), money_format if column in money else None)
            elif isinstance(value, dt.date | dt.datetime):
                sheet.write_string(row_index, index, value.isoformat())
            else:
                sheet.write_string(row_index, index, str(neutralise(str(value))))
    sheet.freeze_panes(1, 0)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, len(columns) - 1)


def new_workbook(path: Path):
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    # constant_memory: rows go to disk as they are written, so a 700k-row ledger does not sit in memory
    return xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "constant_memory": True})
