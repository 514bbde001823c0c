"""Writing one extract file: CSV in UTF-8, UTF-8 with BOM or GBK, or xlsx with title rows above the header."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

CSV_ENCODINGS = ("utf-8", "utf-8-sig", "gbk")
XLSX = "xlsx"
CSV_SLICE_ROWS = 100_000
XLSX_MAX_ROWS = 20_000  # bigger workbooks would dominate the run time; HR exports those as CSV anyway


@dataclass(frozen=True)
class FileFormat:
    encoding: str  # one of CSV_ENCODINGS, or XLSX
    crlf: bool = False  # Windows line ends (CSV)
    typed_cells: bool = False  # xlsx: amounts as numbers, dates as date cells, as Excel users type them

    @property
    def suffix(self) -> str:
        return ".xlsx" if self.encoding == XLSX else ".csv"

    @property
    def yuan_sign(self) -> str:
        return "￥" if self.encoding == "gbk" else "¥"  # no GBK code for the half-width sign


def choose_format(rng: np.random.Generator, rows: int, formats: str) -> FileFormat:
    """Mixed: mostly CSV in the three encodings, some xlsx; ``csv``: UTF-8 or GBK CSV only (benchmarks)."""
    if formats == "csv":
        return FileFormat(("utf-8", "gbk")[int(rng.integers(2))])
    draw = rng.random()
    crlf = bool(rng.random() < 0.3)
    if draw < 0.2 and rows <= XLSX_MAX_ROWS:
        return FileFormat(XLSX, typed_cells=bool(rng.random() < 0.5))
    return FileFormat(CSV_ENCODINGS[int(rng.integers(3))], crlf=crlf)


def write_extract(path: Path, header: list[str], rows: pl.DataFrame, fmt: FileFormat, titles: list[str],
                  amount_columns: frozenset[int] = frozenset(), date_columns: frozenset[int] = frozenset()) -> None:
    """Write ``rows`` (text columns in ``header`` order) to ``path``; ``titles`` go above an xlsx header."""
    if fmt.encoding == XLSX:
        _write_xlsx(path, header, rows, titles, fmt.typed_cells, amount_columns, date_columns)
        return
    newline = "\r\n" if fmt.crlf else "\n"
    # strict: a character GBK cannot hold is a generator bug, never a silent '?'. Written a slice of rows at
    # a time: a million people's insurance export is 5 million rows, whose text whole took gigabytes.
    body_encoding = "utf-8" if fmt.encoding == "utf-8-sig" else fmt.encoding  # the mark once, at the start
    with path.open("wb") as out:
        out.write((",".join(header) + newline).encode(fmt.encoding))
        for start in range(0, rows.height, CSV_SLICE_ROWS):
            body = rows.slice(start, CSV_SLICE_ROWS).write_csv(include_header=False, null_value="",
                                                               line_terminator=newline)
            out.write(body.encode(body_encoding))


def _write_xlsx(path: Path, header: list[str], rows: pl.DataFrame, titles: list[str], typed: bool,
                amount_columns: frozenset[int], date_columns: frozenset[int]) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(titles[0][:31].replace("/", "-") if titles else "Sheet1")
    bold = workbook.add_format({"bold": True, "align": "center"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    line = 0
    for number, title in enumerate(titles):
        if number == 0 and len(header) > 1:
            sheet.merge_range(line, 0, line, len(header) - 1, title, bold)  # the merged 2024年3月工资表 banner
        else:
            sheet.write_string(line, 0, title)
        line += 1
    for column, text in enumerate(header):
        sheet.write_string(line, column, text, bold)
    for values in rows.iter_rows():
        line += 1
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            if typed and column in amount_columns and _is_plain_number(value):
                sheet.write_number(line, column, float(value))
            elif typed and column in date_columns and _is_iso_date(value):
                sheet.write_datetime(line, column, dt.datetime.fromisoformat(value), date_format)
            else:
                sheet.write_string(line, column, value)
    workbook.close()


def _is_plain_number(text: str) -> bool:
    head, _, tail = text.partition(".")
    return head.isascii() and head.isdigit() and (not tail or (tail.isascii() and tail.isdigit()))


def _is_iso_date(text: str) -> bool:
    if not (len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii()):
        return False
    try:
        dt.date.fromisoformat(text)  # a planted 2024-02-30 stays text, to be rejected
    except ValueError:
        return False
    return True
