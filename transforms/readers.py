"""Reading extract files into grids of text, as read: CSV (UTF-8, UTF-8 BOM, GBK, GB18030) and xlsx.

A grid is a polars DataFrame of String columns ``c0..cN`` holding every row of a sheet, header and
title rows included; CSVs have one sheet (``None``). A ``__cells`` column counts the cells each row
really had, so rows with more cells than the header can be rejected rather than silently cut.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

CELLS = "__cells"
MAX_HEADER_SEARCH = 6  # a header row may follow up to 5 title rows


class UnreadableFile(Exception):
    """The file cannot be read at all; the message is one sentence without personal data."""


@dataclass
class Sheet:
    name: str | None
    grid: pl.DataFrame


@dataclass
class FileContent:
    encoding: str | None
    sheets: list[Sheet]


def read_extract(path: Path, data: bytes) -> FileContent:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return FileContent("xlsx", read_xlsx(data))
    if suffix in (".csv", ".txt"):
        payload, encoding = to_utf8(data)
        return FileContent(encoding, [Sheet(None, read_csv_bytes(payload))])
    raise UnreadableFile(f"the file type {suffix or '(none)'} is not an extract; export it as .csv or .xlsx")


def to_utf8(data: bytes) -> tuple[bytes, str]:
    """Detect UTF-8 (with or without BOM), GBK or GB18030 and return UTF-8 bytes; anything else is
    refused, not guessed."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("the file is UTF-16 encoded; save it as CSV UTF-8 or GBK")
    if b"\x00" in data[:65536]:
        raise UnreadableFile("the file is binary, not a CSV text file; export the extract again as CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        if not _decodes(data, "utf-8", start=3):
            raise UnreadableFile("the file starts with a UTF-8 mark but is not valid UTF-8; export it again")
        return data[3:], "utf-8-sig"
    if _decodes(data, "utf-8"):
        return data, "utf-8"
    for encoding in ("gbk", "gb18030"):
        try:
            return _transcode(data, encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("the file is in none of UTF-8, GBK or GB18030; save it as CSV UTF-8")


_PIECE = 1 << 24  # decode 16 MB at a time: a whole 150 MB file as one Python str would cost ~4x its size


def _decodes(data: bytes, encoding: str, start: int = 0) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for offset in range(start, len(data), _PIECE):
            decoder.decode(data[offset:offset + _PIECE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(data: bytes, encoding: str) -> bytes:
    """``data`` in ``encoding`` as UTF-8, a piece at a time; UnicodeDecodeError when it is not that encoding."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pieces = [decoder.decode(data[offset:offset + _PIECE]).encode("utf-8") for offset in range(0, len(data), _PIECE)]
    pieces.append(decoder.decode(b"", final=True).encode("utf-8"))
    return b"".join(pieces)


def _sniff_separator(payload: bytes) -> str:
    head = payload[:8192].decode("utf-8", errors="ignore")
    first = next((line for line in head.splitlines()[:MAX_HEADER_SEARCH] if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _empty_grid() -> pl.DataFrame:
    return pl.DataFrame({CELLS: pl.Series([], dtype=pl.Int32)})


def read_csv_bytes(payload: bytes) -> pl.DataFrame:
    """Parse UTF-8 CSV into a grid, vectorised; the cell count per row comes from the raw lines."""
    if not payload or payload.isspace():  # (no strip(): that would copy the whole file)
        return _empty_grid()
    if b"\r" in payload and b"\n" not in payload:  # classic-Mac line ends (some exporters): one row per CR
        payload = payload.replace(b"\r", b"\n")
    separator = _sniff_separator(payload)
    try:
        grid = pl.read_csv(
            io.BytesIO(payload), has_header=False, infer_schema=False, separator=separator,
            truncate_ragged_lines=True, quote_char='"', raise_if_empty=False,
        )
        # The same bytes as whole lines (no quoting), to count the cells each row really had.
        whole_lines = pl.read_csv(
            io.BytesIO(payload), has_header=False, infer_schema=False, separator="\x1f", quote_char=None,
            truncate_ragged_lines=True, raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFile(f"the CSV cannot be parsed ({type(exc).__name__}); check quoting and separators") from None
    if not whole_lines.width:  # nothing polars reads as a line, e.g. only byte-order marks
        return _empty_grid()
    lines = whole_lines.to_series(0).fill_null("")
    grid = grid.rename({c: f"c{i}" for i, c in enumerate(grid.columns)})
    unquoted = pl.when(lines.str.contains('"', literal=True)).then(
        lines.str.replace_all(r'"(?:[^"]|"")*"', "")
    ).otherwise(lines)
    counts = pl.select(unquoted.str.count_matches(separator, literal=True).cast(pl.Int32) + 1).to_series()
    # Exact only when lines align with rows (no line breaks inside quoted cells); else unknown.
    if counts.len() == grid.height:
        return grid.with_columns(counts.alias(CELLS))
    return grid.with_columns(pl.lit(None, pl.Int32).alias(CELLS))


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def read_xlsx(data: bytes) -> list[Sheet]:
    """Every sheet of a workbook; cached values only, so formulas are never evaluated."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise UnreadableFile(f"the workbook is damaged or not an xlsx file ({type(exc).__name__}); save it again from Excel") from None
    except Exception as exc:  # openpyxl raises assorted errors on corrupt parts
        raise UnreadableFile(f"the workbook cannot be read ({type(exc).__name__}); save it again from Excel") from None
    sheets = []
    try:
        for worksheet in workbook.worksheets:
            rows = [[_cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True)]
            width = max((len(r) for r in rows), default=0)
            # trailing empty cells are formatting, not data
            counts = []
            for row in rows:
                n = len(row)
                while n and (row[n - 1] is None or row[n - 1] == ""):
                    n -= 1
                counts.append(n)
            columns = {f"c{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)}
            grid = pl.DataFrame(columns, schema={c: pl.String for c in columns})
            grid = grid.with_columns(pl.Series(CELLS, counts, pl.Int32))
            sheets.append(Sheet(worksheet.title, grid))
    except Exception as exc:
        raise UnreadableFile(f"the workbook is damaged ({type(exc).__name__}); save it again from Excel") from None
    finally:
        workbook.close()
    return sheets
