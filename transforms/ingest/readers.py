"""Reading extract files into grids of text, as read: CSV (UTF-8, UTF-8 BOM, GBK, GB18030), xlsx and xls.

A grid is a polars DataFrame of String columns ``c0..cN`` holding every row of a sheet, header and
title rows included; CSVs have one sheet (``None``). A ``__cells`` column counts the cells each row
really had, so rows with more cells than the header can be rejected rather than silently cut; in a GBK
file, a Boolean ``__foreign`` column marks the rows that are in UTF-8 instead (they are rejected).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from warehouse.settings import whole_number_setting

CELLS = "__cells"
FOREIGN = "__foreign"  # a CSV row in UTF-8 inside a GBK/GB18030 file: rejected, never staged as mojibake
MAX_HEADER_SEARCH = 10  # a header row may follow up to 9 title rows (SPEC §2 v3)


class UnreadableFile(Exception):
    """The file cannot be read at all; the message is one sentence without personal data."""


@dataclass
class Sheet:
    name: str | None
    grid: pl.DataFrame  # of a streamed CSV, its top rows only (where the header is looked for)
    stream: CsvStream | None = None  # a large CSV read a piece at a time: its rows


@dataclass
class FileContent:
    encoding: str | None
    sheets: list[Sheet]


def read_extract(path: Path, data: bytes) -> FileContent:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return FileContent("xlsx", read_xlsx(data))
    if suffix == ".xls":  # the Excel 97-2003 format agency portals still export; calamine reads it too
        return FileContent("xls", read_xlsx(data, check_extents=False))
    if suffix in (".csv", ".txt"):
        payload, encoding = to_utf8(data)
        grid = read_csv_bytes(payload)
        if encoding in ("gbk", "gb18030"):
            grid = _mark_utf8_rows(grid, data)
        return FileContent(encoding, [Sheet(None, grid)])
    raise UnreadableFile(f"the file type {suffix or '(none)'} is not an extract; export it as .csv, .xlsx or .xls")


def to_utf8(data: bytes) -> tuple[bytes, str]:
    """Detect UTF-8 (with or without BOM), GBK or GB18030 and return UTF-8 bytes; anything else is
    refused, not guessed."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("the file is UTF-16 encoded; save it as CSV UTF-8 or GBK")
    if b"\x00" in data:  # anywhere: a NUL deep in the file is as binary as one in its first bytes
        raise UnreadableFile("the file is binary, not a CSV text file; export the extract again as CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        if not _decodes(_blocks(data, 3), "utf-8"):
            raise UnreadableFile("the file starts with a UTF-8 mark but is not valid UTF-8; export it again")
        return data[3:], "utf-8-sig"
    if _decodes(_blocks(data), "utf-8"):
        return data, "utf-8"
    for encoding in CHINESE_ENCODINGS:
        try:
            return _transcode(data, encoding), encoding
        except UnicodeDecodeError:
            continue
    # GB18030 with some rows in UTF-8 (pasted from another export): those rows are rejected later, so their
    # bytes may decode to anything; any other undecodable row means the file is in another encoding.
    payload = _transcode(data, "gb18030", errors="replace")
    if _lines(payload).str.contains("\ufffd", literal=True).any() and not _undecodable_rows_are_utf8(data, payload):
        raise UnreadableFile("the file is in none of UTF-8, GBK or GB18030; save it as CSV UTF-8")
    return payload, "gb18030"


_PIECE = 1 << 24  # decode 16 MB at a time: a whole 150 MB file as one Python str would cost ~4x its size
# Tried in this order after UTF-8 (a GBK file is also GB18030, not the other way round).
CHINESE_ENCODINGS = ("gbk", "gb18030")


def _blocks(data: bytes, start: int = 0) -> Iterator[bytes]:
    return (data[offset:offset + _PIECE] for offset in range(start, len(data), _PIECE))


def _decodes(blocks: Iterable[bytes], encoding: str) -> bool:
    """Whether the bytes, given a block at a time, are all ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in blocks:
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(data: bytes, encoding: str, errors: str = "strict") -> bytes:
    """``data`` in ``encoding`` as UTF-8, a piece at a time; UnicodeDecodeError when it is not that encoding."""
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    pieces = [decoder.decode(data[offset:offset + _PIECE]).encode("utf-8") for offset in range(0, len(data), _PIECE)]
    pieces.append(decoder.decode(b"", final=True).encode("utf-8"))
    return b"".join(pieces)


def _lines(payload: bytes, encoding: str = "utf8") -> pl.Series:
    """The lines of a CSV as polars splits them into rows (quotes ignored), as text."""
    lines = _whole_lines(payload, encoding)
    return lines.to_series(0).fill_null("") if lines.width else pl.Series([], dtype=pl.String)


# polars reads bytes that begin as gzip, zlib or zstd data do as compressed, with no switch to say they are not: a
# CSV that merely starts so ("x^", or "x" then a character whose UTF-8 begins 0xDA) failed as a corrupt stream.
# Such bytes are read after an empty line, whose row is dropped.
_COMPRESSED_STARTS = (b"\x1f\x8b", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x28\xb5\x2f\xfd")


def _starts_as_compressed(payload: bytes) -> bool:
    return payload.startswith(_COMPRESSED_STARTS)


def _whole_lines(payload: bytes, encoding: str = "utf8") -> pl.DataFrame:
    """The bytes as whole lines (no quoting), one text column."""
    guarded = _starts_as_compressed(payload)
    lines = pl.read_csv(io.BytesIO(b"\n" + payload if guarded else payload), has_header=False, infer_schema=False,
                        separator="\x1f", quote_char=None, truncate_ragged_lines=True, raise_if_empty=False,
                        encoding=encoding)
    return lines.slice(1) if guarded else lines


def _utf8_lines(data: bytes) -> pl.Series:
    """Per line of a GBK/GB18030 file: is it UTF-8 (valid UTF-8 with non-ASCII characters)? A line of
    Chinese text in GBK is almost never valid UTF-8; read lossily, it shows replacement characters."""
    lines = _lines(data, "utf8-lossy")
    return ~lines.str.contains("\ufffd", literal=True) & lines.str.contains(r"[^\x00-\x7f]")


def _undecodable_rows_are_utf8(data: bytes, payload: bytes) -> bool:
    replaced, utf8 = _lines(payload).str.contains("\ufffd", literal=True), _utf8_lines(data)
    return replaced.len() == utf8.len() and not (replaced & ~utf8).any()


def _mark_utf8_rows(grid: pl.DataFrame, data: bytes) -> pl.DataFrame:
    """``FOREIGN`` on the rows of a GBK/GB18030 file that are in UTF-8: decoded as GBK they are mojibake."""
    utf8 = _utf8_lines(data)
    if not utf8.any():
        return grid
    if utf8.len() != grid.height:  # a quoted cell spans lines: rows cannot be told apart by line
        raise UnreadableFile("the file mixes GBK and UTF-8 rows; save the whole file again in one encoding")
    return grid.with_columns(utf8.alias(FOREIGN))


def _sniff_separator(payload: bytes) -> str:
    head = payload[:8192].decode("utf-8", errors="ignore")
    # over the top lines: a title row above the header may hold no separator at all
    top = [line for line in head.splitlines()[:MAX_HEADER_SEARCH] if line.strip()]
    separators = (",", "\t", ";", "|")
    first = next((line for line in top if any(sep in line for sep in separators)), "")
    counts = {sep: first.count(sep) for sep in separators}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _empty_grid() -> pl.DataFrame:
    return pl.DataFrame({CELLS: pl.Series([], dtype=pl.Int32)})


_LONE_CR = re.compile(rb"\r(?!\n)")


def read_csv_bytes(payload: bytes) -> pl.DataFrame:
    """Parse UTF-8 CSV into a grid, vectorised; the cell count per row comes from the raw lines."""
    if not payload or payload.isspace():  # (no strip(): that would copy the whole file)
        return _empty_grid()
    return _csv_grid(payload)[0]


def _line_ends(payload: bytes) -> bytes:
    if b"\r" in payload and b"\n" not in payload:  # classic-Mac line ends (some exporters): one row per CR
        return payload.replace(b"\r", b"\n")
    if b"\r" in payload and _LONE_CR.search(payload):  # a lone CR in an LF or CRLF file ends a row too
        return _LONE_CR.sub(b"\n", payload)
    return payload


def _csv_grid(payload: bytes, separator: str | None = None, width: int | None = None,
              cell_counts: bool = True) -> tuple[pl.DataFrame, bool]:
    """(grid, whether its lines align with its rows). ``separator``/``width``: a later piece of a streamed
    file, parsed with the first piece's separator and as many columns as its grid has; ``cell_counts``
    False: ``CELLS`` left null (a streamed file's first pass needs the cells only)."""
    payload = _line_ends(payload)
    separator = separator or _sniff_separator(payload)
    try:
        # The bytes as whole lines (no quoting), to count the cells each row really had.
        whole_lines = _whole_lines(payload)
        if not whole_lines.width:  # nothing polars reads as a line, e.g. only byte-order marks
            return _empty_grid(), True
        lines = whole_lines.to_series(0)
        del whole_lines
        counts = _cell_counts(lines if cell_counts else lines.head(MAX_HEADER_SEARCH + 1), separator)
        if width is None:
            # As wide as the widest of the top rows: a title row above the header has fewer cells than it.
            width = max(int(counts.head(MAX_HEADER_SEARCH + 1).fill_null(1).max() or 1), 1)  # type: ignore[arg-type]
            # polars takes the width of the first line: a title row narrower than the header gets a line of empty
            # cells, as wide as the widest top row, put before it (and dropped) so that no column is cut.
            widen = int(counts[0] or 1) < width or _starts_as_compressed(payload)
        else:
            widen = True  # a later piece: exactly the first piece's columns, however wide its first line
        source = (separator * (width - 1)).encode() + b"\n" + payload if widen else payload
        grid = pl.read_csv(
            io.BytesIO(source), has_header=False, infer_schema=False, separator=separator,
            truncate_ragged_lines=True, quote_char='"', raise_if_empty=False,
        )
        del source
        grid = grid.slice(1) if widen else grid
        grid = grid.rename({c: f"c{i}" for i, c in enumerate(grid.columns)})
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFile(f"the CSV cannot be parsed ({type(exc).__name__}); check quoting and separators") from None
    # Exact only when lines align with rows (no line breaks inside quoted cells); else unknown.
    if lines.len() == grid.height and cell_counts:
        return grid.with_columns(counts.alias(CELLS)), True
    return grid.with_columns(pl.lit(None, pl.Int32).alias(CELLS)), lines.len() == grid.height


_LINES_AT_A_TIME = 100_000  # the cell count's temporaries, whole-column, would cost several times the file


def _cell_counts(lines: pl.Series, separator: str) -> pl.Series:
    """Cells per line as far as its last non-empty one: the separators outside quoted cells, plus one. Empty
    cells beyond the header's width are an exporter's habit (SPEC §2 v3), not data."""
    line = pl.col("line").str.strip_chars_end(separator + " \t\r")
    count = (pl.when(line.str.contains('"', literal=True)).then(line.str.replace_all(r'"(?:[^"]|"")*"', ""))
             .otherwise(line).str.count_matches(separator, literal=True).fill_null(0).cast(pl.Int32) + 1)
    parts = [lines.slice(start, _LINES_AT_A_TIME).to_frame("line").select(count.alias(CELLS)).to_series()
             for start in range(0, lines.len(), _LINES_AT_A_TIME)]
    return pl.concat(parts) if parts else pl.Series(CELLS, [], dtype=pl.Int32)


# A large CSV is read a piece at a time (issue 28): parsed whole, a file costs 4-5 times its size (its bytes, its
# text, its lines and its grid), so a 527 MB insurance extract needed about 3 GB. Past this size a file is
# parsed in pieces of a quarter of it; below it, whole (one parse is faster than several).
STREAM_BYTES = 64 << 20
STREAM_BYTES_ENV = "SHEBAO_INGEST_STREAM_BYTES"


def stream_bytes() -> int:
    """A CSV larger than this many bytes is read and staged a piece at a time."""
    return whole_number_setting(STREAM_BYTES_ENV, STREAM_BYTES, "bytes")


class NotStreamable(Exception):
    """The file is read whole instead: it is refused or odd in a way the whole-file reading decides (no line
    ends, a quoted cell across lines, an encoding none of ours), so the answer is the whole file's own."""


def file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _stream_encoding(path: Path) -> tuple[str, bool]:
    """(encoding, lenient) as ``to_utf8`` decides it, a piece at a time; lenient: GB18030 with UTF-8 rows,
    whose undecodable rows are checked piece by piece. A file ``to_utf8`` refuses is NotStreamable."""
    with path.open("rb") as stream:
        head = stream.read(3)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotStreamable

    def blocks(start: int = 0) -> Iterator[bytes]:
        with path.open("rb") as stream:
            stream.seek(start)
            while block := stream.read(_PIECE):
                if b"\x00" in block:
                    raise NotStreamable
                yield block

    if head == b"\xef\xbb\xbf":
        if not _decodes(blocks(3), "utf-8"):
            raise NotStreamable
        return "utf-8-sig", False
    encoding = next((encoding for encoding in ("utf-8", *CHINESE_ENCODINGS) if _decodes(blocks(), encoding)), None)
    return (encoding, False) if encoding else ("gb18030", True)


def _raw_pieces(path: Path, size: int) -> Iterator[bytes]:
    """The file's bytes in pieces of at least ``size``, each ending at a line end outside quoted cells (an even
    number of quote marks before it: where polars itself splits a CSV's rows). The first piece holds the top
    rows the header is looked for in, and the bytes the separator is sniffed from, whatever ``size``."""
    first, held = True, b""
    with path.open("rb") as stream:
        while True:
            block = stream.read(size)
            held += block
            if not block:
                if held:
                    yield held
                return
            cut = held.rfind(b"\n") + 1
            if not cut or held.count(b'"', 0, cut) % 2:
                continue  # no line end yet, or inside a quoted cell: read on
            if first and (cut < 8192 + 3 or held.count(b"\n", 0, cut) < MAX_HEADER_SEARCH + 2):
                continue
            yield held[:cut]
            held, first = held[cut:], False


@dataclass
class CsvStream:
    """A CSV read a piece at a time: ``grids`` gives each piece's grid, exactly the rows the whole file's grid
    would hold there (the same columns, cell counts and UTF-8 rows marked)."""

    path: Path
    encoding: str
    lenient: bool  # GB18030 with some rows in UTF-8
    piece: int  # bytes a piece at least
    separator: str = ","
    width: int = 0  # the grid's cell columns, set by the first piece
    foreign: bool = False  # some row of the file is UTF-8 in a GBK/GB18030 file: FOREIGN on every piece

    def _text(self, raw: bytes, first: bool) -> bytes:
        if b"\x00" in raw:  # (the encoding's passes may have stopped before it)
            raise NotStreamable  # binary: the whole file's reading refuses it
        if self.encoding == "utf-8":
            return raw
        if self.encoding == "utf-8-sig":
            return raw[3:] if first else raw
        # a piece ends at a line end, which no multi-byte character spans: decoded alone, it is decoded as whole
        payload = raw.decode(self.encoding, "replace" if self.lenient else "strict").encode("utf-8")
        if self.lenient and _lines(payload).str.contains("\ufffd", literal=True).any() \
                and not _undecodable_rows_are_utf8(raw, payload):
            raise NotStreamable  # in none of our encodings: the whole file's reading says so
        return payload

    def grids(self, cell_counts: bool = True) -> Iterator[pl.DataFrame]:
        """Each piece's grid in order (``CELLS`` null unless ``cell_counts``). NotStreamable, before the last
        piece is given, when a quoted cell spans lines (the whole file's cell counts are then unknown) or the
        file's rows cannot be told apart."""
        utf8_rows = misaligned = False
        for index, raw in enumerate(_raw_pieces(self.path, self.piece)):
            payload = self._text(raw, index == 0)
            try:
                separator, width = (self.separator, self.width) if index else (None, None)
                grid, aligned = _csv_grid(payload, separator, width, cell_counts)
            except UnreadableFile:
                raise NotStreamable from None
            if index == 0:
                if grid.height <= MAX_HEADER_SEARCH or grid.width < 3:  # (a single column of cells: read whole)
                    raise NotStreamable
                self.separator, self.width = _sniff_separator(_line_ends(payload)), grid.width - 1
            if not aligned or grid.width - 1 != self.width:
                raise NotStreamable
            if self.encoding in ("gbk", "gb18030"):
                utf8 = _utf8_lines(raw)
                utf8_rows |= bool(utf8.any())
                misaligned |= utf8.len() != grid.height
                if self.foreign:
                    grid = grid.with_columns(utf8.alias(FOREIGN))
            yield grid
        if utf8_rows and misaligned:
            raise NotStreamable  # "the file mixes GBK and UTF-8 rows": the whole file's reading refuses it
        self.foreign = utf8_rows


def stream_extract(path: Path, piece: int) -> FileContent:
    """A large CSV's content as far as its header is concerned: one sheet of its top rows; its rows come from
    the stream. NotStreamable when the file is to be read whole."""
    try:
        encoding, lenient = _stream_encoding(path)
        stream = CsvStream(path, encoding, lenient, piece)
        head = next(stream.grids(), None)
    except OSError:
        raise NotStreamable from None  # read whole, whose failure is recorded
    if head is None:
        raise NotStreamable
    return FileContent(encoding, [Sheet(None, head.head(MAX_HEADER_SEARCH + 1), stream)])


MAX_CELLS = 30_000_000  # a sheet of 1,000,000 rows x 30 columns; calamine holds a sheet as a dense grid
MAX_CELLS_ENV = "SHEBAO_XLSX_MAX_CELLS"


def max_cells() -> int:
    """The largest sheet (rows x columns, as far as its farthest cell) read; a larger one is refused."""
    return whole_number_setting(MAX_CELLS_ENV, MAX_CELLS, "cells")


# A cell's address, ``r="B7"``: a row's ``r`` is digits only, ``ref=`` and ``r:id=`` do not match. (Another
# attribute ending in ``r`` could: it only makes the check more careful.)
_CELL_REF = re.compile(rb'r="([A-Z]{1,3})([0-9]{1,7})"')
_LETTERS = {n: re.compile(rb'r="[A-Z]{%d}[0-9]' % n) for n in (3, 2, 1)}
_DIGITS = {n: re.compile(rb'r="[A-Z]{1,3}[0-9]{%d}"' % n) for n in range(7, 0, -1)}
_XML_PIECE = 1 << 22


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _xml_pieces(archive: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part's text a piece at a time (memory stays flat however far it inflates); each piece starts with
    the previous one's last bytes, so an address cut between two pieces is whole in the next."""
    tail = b""
    with archive.open(part) as stream:
        while piece := stream.read(_XML_PIECE):
            text = tail + piece
            yield text
            tail = text[-32:]


def _sheet_extent(archive: zipfile.ZipFile, part: str, limit: int) -> tuple[int, int]:
    """(rows, columns) from A1 to the farthest cell present, whatever the sheet's ``<dimension>`` says:
    calamine allocates that grid. First a bound from the longest addresses (a few fast searches); only
    when the bound passes ``limit`` the exact extent, address by address."""
    letters = digits = 0
    for text in _xml_pieces(archive, part):
        letters = next((n for n, pattern in _LETTERS.items() if n > letters and pattern.search(text)), letters)
        digits = next((n for n, pattern in _DIGITS.items() if n > digits and pattern.search(text)), digits)
    if (10 ** digits - 1) * _column_number(b"Z" * letters) <= limit:
        return 10 ** digits - 1, _column_number(b"Z" * letters)
    rows = columns = 0
    for text in _xml_pieces(archive, part):
        found = _CELL_REF.findall(text)
        if found:
            columns = max(columns, max(_column_number(x) for x in {letters for letters, _ in found}))
            rows = max(rows, max(int(x) for x in {digits for _, digits in found}))
    return rows, columns


def _worksheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, part path) of every worksheet, in workbook order."""
    from xml.etree import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    parts = []
    for sheet in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{main}sheet"):
        target = targets.get(sheet.get(rel_id), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        parts.append((sheet.get("name", ""), path))
    return parts


def _check_extents(data: bytes, limit: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            for name, part in _worksheet_parts(archive):
                if part not in names:
                    continue
                rows, columns = _sheet_extent(archive, part, limit)
                if rows * columns > limit:
                    raise UnreadableFile(
                        f"the sheet {name} reaches row {rows:,} and column {columns:,} ({rows * columns:,} cells), "
                        f"past the limit of {limit:,} cells ({MAX_CELLS_ENV}); delete the stray cells far below "
                        "or right of the table, or split the sheet")
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise UnreadableFile(f"the workbook is damaged or not an xlsx file ({type(exc).__name__}); save it again from Excel") from None
    except Exception as exc:  # ElementTree.ParseError, zlib.error and the like
        raise UnreadableFile(f"the workbook cannot be read ({type(exc).__name__}); save it again from Excel") from None


def read_xlsx(data: bytes, check_extents: bool = True) -> list[Sheet]:
    """Every sheet of a workbook through calamine (``fastexcel``): cached values only, so formulas are never
    evaluated; the rows are the cells present, never what the sheet's ``<dimension>`` record claims."""
    import fastexcel

    if check_extents:  # an .xls is no zip of XML parts; its size bounds its grid
        _check_extents(data, max_cells())
    try:
        reader = fastexcel.read_excel(data)
        sheets = []
        for index, name in enumerate(reader.sheet_names):
            sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string")
            sheets.append(Sheet(name, _grid(sheet.to_polars())))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # fastexcel errors, and pyo3's PanicException (a BaseException) if calamine panics
        raise UnreadableFile(f"the workbook is damaged or cannot be read ({type(exc).__name__}); save it again from Excel") from None
    return sheets


def _grid(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns ``c0..``; a date at midnight as ``2024-03-05`` (calamine writes ``2024-03-05 00:00:00``); the
    cells each row really has, trailing empty ones being formatting, not data."""
    columns = [f"c{i}" for i in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, columns, strict=True)))
    if not columns:
        return _empty_grid()
    midnight = r"^\d{4}-\d{2}-\d{2} 00:00:00$"
    frame = frame.with_columns(
        pl.when(pl.col(c).str.ends_with(" 00:00:00") & pl.col(c).str.contains(midnight))
        .then(pl.col(c).str.slice(0, 10)).otherwise(pl.col(c)).alias(c)
        for c in columns
    )
    filled = [pl.when(pl.col(c).is_not_null() & (pl.col(c) != "")).then(pl.lit(i + 1, pl.Int32)).otherwise(pl.lit(0, pl.Int32))
              for i, c in enumerate(columns)]
    return frame.with_columns(pl.max_horizontal(filled).alias(CELLS))
