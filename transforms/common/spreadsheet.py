"""Writing tables people open in Excel: Chinese headers, numbers as numbers, no formula injection.

A table workbook is written as SpreadsheetML straight from polars columns: each row's XML is built by
column expressions over whole chunks of the frame and streamed into the zip, so a 700,000-row ledger
costs seconds and a chunk of memory, not a Python call per cell. Text goes in as shared strings (each
distinct text escaped and stored once, never as a formula; past ``SHARED_TEXT_BYTES`` of them a new text is
written inline in its cell, so a million people's names never sit in memory at once) and is neutralised on top, so a cell that would
run as a formula when retyped or re-saved starts with an apostrophe. Tables longer than one sheet allows
continue on sheets named ``name (2)``…

Printed forms (:func:`write_form_pages`: a label and a value per row, a form per A4 page) are written here
too, their XML over whole columns as well, so every xlsx of a close comes from this module and every cell's
text follows one rule (:func:`_xml_text`, over polars columns): characters XML 1.0 cannot carry are
dropped, ``& < >`` escaped, and text that would run as a formula neutralised.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import polars as pl
import pyarrow as pa

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"
_XML_INVALID = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # characters XML 1.0 cannot carry
EXCEL_MAX_ROWS = 1_048_576
CHUNK_ROWS = 50_000
# The shared strings a workbook holds while it is written: texts first seen past this many bytes go inline in
# their cells (``t="inlineStr"``, which Excel, openpyxl and calamine read as the same text). Without a bound a
# 1,000,000-employee entity's workbook held every name, staff number and action's details at once.
SHARED_TEXT_BYTES = 32 * 2**20
_HEADER_STYLE, _MONEY_STYLE, _PERCENT_STYLE = 1, 2, 3
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _neutralised(column: pl.Expr) -> pl.Expr:
    return pl.when(column.str.contains(_FORMULA_PATTERN)).then(pl.lit("'") + column).otherwise(column)


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns([_neutralised(pl.col(c)).alias(c) for c in text])


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _is_text(dtype: pl.DataType) -> bool:
    return not (dtype == pl.Boolean or dtype.is_numeric())


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """A text column's values as the strings a cell shows (dates as ISO text)."""
    if dtype == pl.Date or dtype == pl.Datetime:
        return pl.col(column).dt.to_string("%Y-%m-%d" if dtype == pl.Date else "%Y-%m-%dT%H:%M:%S")
    return pl.col(column).cast(pl.String)


def _xml_text(text: pl.Expr) -> pl.Expr:
    """Text as XML character data: characters XML cannot carry dropped, formulas neutralised, escaped."""
    text = _neutralised(text.str.replace_all(_XML_INVALID, ""))
    return (text.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


def _cell_pieces(column: str, dtype: pl.DataType, letter: str, row: pl.Expr, style: int | None,
                 nullable: bool, inline: bool = False) -> list[pl.Expr]:
    """One column's cells as pieces of its row's XML: numbers as numbers, text as the index of its shared
    string (the column holds that index, see :meth:`TableWorkbook._shared`), or, in an ``inline`` column, the
    text itself where it has no index. A column without nulls gives its pieces straight into the row's one
    ``concat_str``; only a column with nulls needs its own (empty for a null), which costs a string column per
    cell column."""
    value = pl.col(column)
    if inline:
        shared = pl.concat_str([pl.lit(f'<c r="{letter}'), row, pl.lit('" t="s"><v>'),
                                pl.col(_index_of(column)).cast(pl.String), pl.lit("</v></c>")])
        written = pl.concat_str([pl.lit(f'<c r="{letter}'), row, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'),
                                 _xml_text(_as_text(column, dtype)), pl.lit("</t></is></c>")])
        return [pl.when(value.is_null()).then(pl.lit("")).when(pl.col(_index_of(column)).is_null()).then(written)
                .otherwise(shared)]
    if dtype == pl.Boolean:
        tail, shown = ' t="b"><v>', value.cast(pl.Int8).cast(pl.String)
    elif dtype.is_numeric():
        tail, shown = (f' s="{style}"' if style else "") + "><v>", value.cast(pl.String)
    else:
        tail, shown = ' t="s"><v>', pl.col(_index_of(column)).cast(pl.String)
    pieces = [pl.lit(f'<c r="{letter}'), row, pl.lit(f'"{tail}'), shown, pl.lit("</v></c>")]
    if not nullable:
        return pieces
    return [pl.when(value.is_null()).then(pl.lit("")).otherwise(pl.concat_str(pieces))]


def _index_of(column: str) -> str:
    return f"__shared_{column}"


@dataclass(frozen=True)
class Chunks:
    """A table read a chunk at a time, never held whole (a million people's ledger): ``height`` rows in all, of
    ``schema``; each call of ``frames`` yields them again, in order, as frames of that schema."""

    height: int
    schema: pl.Schema
    frames: Callable[[], Iterator[pl.DataFrame]]

    @property
    def columns(self) -> list[str]:
        return list(self.schema)

    def map(self, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Chunks:
        """The same rows, each chunk changed by ``change`` (row for row: a select or labels, no filter)."""
        return Chunks(self.height, change(pl.DataFrame(schema=self.schema)).schema,
                      lambda: (change(frame) for frame in self.frames()))


def as_chunks(frame: pl.DataFrame | Chunks) -> Chunks:
    """``frame`` as :class:`Chunks` (a frame is one chunk)."""
    if isinstance(frame, Chunks):
        return frame
    return Chunks(frame.height, frame.schema, lambda: iter([frame]))


class _Rows:
    """Chunks taken a number of rows at a time (a sheet's share), a chunk cut where a share ends."""

    def __init__(self, frames: Iterator[pl.DataFrame]):
        self._frames = frames
        self._rest: pl.DataFrame | None = None

    def take(self, rows: int) -> Iterator[pl.DataFrame]:
        while rows > 0:
            frame = self._rest if self._rest is not None else next(self._frames, None)
            self._rest = None
            if frame is None:
                return
            if frame.height > rows:
                frame, self._rest = frame.slice(0, rows), frame.slice(rows)
            rows -= frame.height
            yield frame


class TableWorkbook:
    """An xlsx of plain tables (bold frozen header row, autofilter, money as ``0.00``, rates as ``0.00%``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheets: list[tuple[str, str]] = []  # (sheet name, autofilter range)
        # every distinct text of the workbook once, in first-seen order; cells hold its index
        self._strings = pl.DataFrame(schema={"text": pl.String, "index": pl.UInt32})
        self._string_bytes = 0  # of the texts above, up to SHARED_TEXT_BYTES

    def __enter__(self) -> TableWorkbook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add_table(self, name: str, frame: pl.DataFrame | Chunks, headers: dict[str, str],
                  money: Set[str] = frozenset(), widths: dict[str, int] | None = None,
                  percent: Set[str] = frozenset(), choices: dict[str, Sequence[str]] | None = None) -> None:
        """``frame``: the table's rows, whole or as :class:`Chunks` (each chunk's rows are built and written,
        then let go)."""
        columns = list(headers)
        # a frame is selected once; Chunks learn their new schema from an empty frame (a query of its own)
        if isinstance(frame, pl.DataFrame):
            table = as_chunks(frame if frame.columns == columns else frame.select(columns))
        else:
            table = frame.map(lambda chunk: chunk.select(columns))
        per_sheet = EXCEL_MAX_ROWS - 1
        parts = max(1, -(-table.height // per_sheet))
        rows = _Rows(table.frames())
        for part in range(parts):
            title = name[:31] if part == 0 else f"{name[:25]} ({part + 1})"
            height = min(per_sheet, table.height - part * per_sheet)
            self._write_sheet(title, rows.take(height), height, headers,
                              {c: _MONEY_STYLE for c in money} | {c: _PERCENT_STYLE for c in percent}, widths or {},
                              choices or {})

    def _write_sheet(self, title: str, frames: Iterator[pl.DataFrame], height: int, headers: dict[str, str],
                     styles: dict[str, int], widths: dict[str, int],
                     choices: dict[str, Sequence[str]] | None = None) -> None:
        columns = list(headers)
        letters = [_column_letter(i) for i in range(len(columns))]
        last = f"{letters[-1]}{height + 1}"
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{widths.get(c, max(10, len(headers[c]) * 2 + 2))}" '
                       f'customWidth="1"/>' for i, c in enumerate(columns))
        header = "".join(f'<c r="{letter}1" t="inlineStr" s="{_HEADER_STYLE}"><is><t>{escape(headers[c])}</t></is></c>'
                         for letter, c in zip(letters, columns, strict=True))
        selected = ' tabSelected="1"' if not self._sheets else ""
        self._sheets.append((title, f"$A$1:${letters[-1]}${height + 1}"))
        index = len(self._sheets)
        with self._zip.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True) as part:
            part.write((f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><dimension ref="A1:{last}"/>'
                        f'<sheetViews><sheetView workbookViewId="0"{selected}><pane ySplit="1" topLeftCell="A2" '
                        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
                        f'</sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
                        f'<row r="1">{header}</row>').encode())
            written = 0
            for frame in frames:  # a chunk's texts join the shared strings, then its rows are written
                if frame.is_empty():  # most sheets of a small close: nothing to look up or build
                    continue
                nullable = {c for c in columns if frame.get_column(c).null_count()}
                shared = self._shared(frame)
                inline = {c for c in columns if _index_of(c) in shared.columns
                          and shared.get_column(_index_of(c)).null_count() > shared.get_column(c).null_count()}
                row_xml = _rows_expression(columns, letters, frame.schema, styles, nullable, inline)
                for xml in _chunks_xml(shared, row_xml, first_row=written + 2):
                    part.write(xml)
                written += frame.height
            if written != height:  # the dimension and autofilter above name the rows promised
                raise ValueError(f"The sheet {title} was given {written} rows, not the {height} it was told.")
            part.write(f'</sheetData><autoFilter ref="A1:{last}"/>{_validations(columns, letters, choices)}'
                       '</worksheet>'.encode())

    def _shared(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with each text column's shared-string index beside it (new texts join the table): each
        distinct text is escaped and stored once, so a region or entity repeated on every row costs a
        number per cell. Only the text columns are joined: the frame's other columns are never copied.
        The rows are joined to this sheet's own texts (``lookup``), never to the whole table: a join builds
        its hash table on the right side, and the workbook's table grows with every sheet (0.2 s a sheet,
        an empty one too, once an action workbook holds 100,000 texts). Once the table holds
        ``SHARED_TEXT_BYTES`` of text, new texts get no index (null): their cells are written inline."""
        names = [c for c, t in frame.schema.items() if _is_text(t)]
        if not names or frame.is_empty():  # an empty sheet: nothing to look up, no text joins the table
            return frame.with_columns(pl.lit(None, pl.UInt32).alias(_index_of(c)) for c in names)
        # the text columns one under the other: one unique and one join for them all (a join per column cost
        # more than the rows of a small sheet, and a close writes a hundred of them)
        texts = (frame.select(_as_text(c, frame.schema[c]).alias(str(i)) for i, c in enumerate(names))
                 .unpivot().get_column("value").alias("text"))
        seen = texts.drop_nulls().unique(maintain_order=True)
        known = self._strings.filter(pl.col("text").is_in(seen.implode()))
        new = seen.to_frame().join(known, on="text", how="anti", maintain_order="left")
        sizes = new.get_column("text").str.len_bytes().cum_sum()
        new = (new.filter(sizes <= SHARED_TEXT_BYTES - self._string_bytes)  # first seen first, up to the bound
               .with_row_index("index", offset=self._strings.height).select("text", "index"))
        self._string_bytes += int(new.get_column("text").str.len_bytes().sum())
        self._strings = pl.concat([self._strings, new])
        lookup = pl.concat([known, new])
        indexes = texts.to_frame().join(lookup, on="text", how="left", maintain_order="left").get_column("index")
        height = frame.height
        return frame.with_columns(indexes.slice(i * height, height).alias(_index_of(c)) for i, c in enumerate(names))

    def _write_shared_strings(self) -> None:
        count = self._strings.height
        with self._zip.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'{XML_HEAD}<sst xmlns="{MAIN_NS}" uniqueCount="{count}">'.encode())
            for start in range(0, count, CHUNK_ROWS):
                part.write(_utf8(self._strings.slice(start, CHUNK_ROWS),
                                 pl.concat_str([pl.lit('<si><t xml:space="preserve">'), _xml_text(pl.col("text")),
                                                pl.lit("</t></si>")])))
            part.write(b"</sst>")

    def close(self) -> None:
        if self._zip.fp is None:
            return
        self._write_shared_strings()
        names = "".join(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                        f"{escape(_quoted(title))}!{ref}</definedName>"
                        for i, (title, ref) in enumerate(self._sheets))
        write_package(self._zip, [title for title, _ in self._sheets], _STYLES,
                      f"<definedNames>{names}</definedNames>" if names else "", shared_strings=True)
        self._zip.close()


def _rows_expression(columns: list[str], letters: list[str], schema: pl.Schema, styles: dict[str, int],
                     nullable: Set[str], inline: Set[str] = frozenset()) -> pl.Expr:
    """Each row's ``<row>`` element, from the frame's columns and its row number as text (``__row``, made
    once per chunk rather than once per cell)."""
    row_number = pl.col("__row")
    cells = [piece for letter, c in zip(letters, columns, strict=True)
             for piece in _cell_pieces(c, schema[c], letter, row_number, styles.get(c), c in nullable, c in inline)]
    return pl.concat_str([pl.lit('<row r="'), row_number, pl.lit('">'), *cells, pl.lit("</row>")])


def _chunks_xml(frame: pl.DataFrame, row_xml: pl.Expr, first_row: int = 2) -> Iterator[memoryview]:
    """The rows' XML as UTF-8, a chunk at a time, the first row numbered ``first_row``. The next chunk is built
    while the caller compresses this one (polars and zlib both let go of the GIL)."""
    def build(start: int) -> memoryview:
        numbered = frame.slice(start, CHUNK_ROWS).with_row_index("__row", offset=start + first_row)
        return _utf8(numbered.with_columns(pl.col("__row").cast(pl.String)), row_xml)

    with ThreadPoolExecutor(max_workers=1) as builder:
        ahead = None
        for start in range(0, frame.height, CHUNK_ROWS):
            following = builder.submit(build, start)
            if ahead is not None:
                yield ahead.result()
            ahead = following
        if ahead is not None:
            yield ahead.result()


def _utf8(frame: pl.DataFrame, xml: pl.Expr) -> memoryview:
    """``xml`` over every row of ``frame``, joined, as UTF-8 straight from polars (never a Python string per
    row): the character data of the column's Arrow array is the rows one after another, so it is handed
    on as it is (``str.join`` would copy it once more, half of the time of a sheet)."""
    texts = frame.select(xml.alias("xml")).get_column("xml").to_arrow()
    if texts.null_count:  # a row would be left out of the data: never, the expression has no null piece
        raise ValueError("An xlsx row's XML is null.")
    if not len(texts):
        return memoryview(b"")
    texts = texts.cast(pa.large_string())
    _, offsets, data = texts.buffers()
    first, last = np.frombuffer(offsets, dtype=np.int64, count=len(texts) + 1, offset=texts.offset * 8)[[0, -1]]
    return memoryview(data)[first:last]


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def write_package(book: zipfile.ZipFile, titles: list[str], styles: str, defined_names: str = "",
                  shared_strings: bool = False) -> None:
    """The parts of an xlsx beside its sheets (sheet ``i`` is ``xl/worksheets/sheet<i>.xml``, named
    ``titles[i-1]``): content types, relationships, the workbook and its styles; ``xl/sharedStrings.xml``
    is referenced when ``shared_strings``."""
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    count = len(titles)
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{kinds}.worksheet+xml"/>'
                        for i in range(1, count + 1))
    if shared_strings:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kinds}.sharedStrings+xml"/>'
    relations = "".join(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                        for i in range(1, count + 1))
    relations += f'<Relationship Id="rId{count + 1}" Type="{REL_NS}/styles" Target="styles.xml"/>'
    if shared_strings:
        relations += f'<Relationship Id="rId{count + 2}" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    sheets = "".join(f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, title in enumerate(titles, start=1))
    parts = {
        "[Content_Types].xml": ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                                '<Default Extension="rels" '
                                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                                '<Default Extension="xml" ContentType="application/xml"/>'
                                f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
                                f'<Override PartName="/xl/styles.xml" ContentType="{kinds}.styles+xml"/>'
                                f"{overrides}</Types>"),
        "_rels/.rels": (f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
                        f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><bookViews><workbookView/>'
                            f"</bookViews><sheets>{sheets}</sheets>{defined_names}</workbook>"),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG_REL_NS}">{relations}</Relationships>',
        "xl/styles.xml": styles,
    }
    for name, xml in parts.items():
        book.writestr(name, XML_HEAD + xml)


_STYLES = (
    f'<styleSheet xmlns="{MAIN_NS}"><numFmts count="2"><numFmt numFmtId="164" formatCode="0.00"/>'
    '<numFmt numFmtId="165" formatCode="0.00%"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill>'
    '</fills><borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border>'
    '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def _validations(columns: list[str], letters: list[str], choices: dict[str, Sequence[str]] | None) -> str:
    """A dropdown (list data validation) on every data row of each column in ``choices``; typing anything
    else is refused by Excel with a message naming the values."""
    rules = []
    for column, letter in zip(columns, letters, strict=True):
        values = (choices or {}).get(column)
        if not values:
            continue
        listed = "、".join(values)
        rules.append(f'<dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1" '
                     f'errorTitle="取值无效" error="{escape(f"请从下拉列表中选择：{listed}")}" '
                     f'sqref="{letter}2:{letter}{EXCEL_MAX_ROWS}">'
                     f'<formula1>{escape(chr(34) + ",".join(values) + chr(34))}</formula1></dataValidation>')
    return f'<dataValidations count="{len(rules)}">{"".join(rules)}</dataValidations>' if rules else ""


def write_sheet(workbook: TableWorkbook, name: str, frame: pl.DataFrame | Chunks, headers: dict[str, str],
                money: Set[str] = frozenset(), widths: dict[str, int] | None = None,
                percent: Set[str] = frozenset(), choices: dict[str, Sequence[str]] | None = None) -> None:
    """One sheet: a bold header row with the Chinese names, then the rows; money as 0.00 numbers, the
    ``percent`` columns (rates, fractions) as 0.00% numbers, ``choices`` columns with a dropdown."""
    workbook.add_table(name, frame, headers, money, widths, percent, choices)


def new_workbook(path: Path) -> TableWorkbook:
    return TableWorkbook(path)

# --------------------------------------------------------------------------------------- printed forms


FORM_ROW_SCHEMA = {"form": pl.Int64, "kind": pl.String, "label": pl.String, "value": pl.String, "height": pl.Int64}


def write_form_pages(path: Path, name: str, forms: pl.DataFrame, per_sheet: int) -> Path:
    """Forms of two columns (label, value) on A4 pages, a page break after each, ``per_sheet`` forms a sheet
    (sheets ``name``, or ``name1``, ``name2``… when there are several). ``forms``: one row per form row
    (:data:`FORM_ROW_SCHEMA`), forms numbered from 0 in ``form``, their rows in order; ``kind`` is ``title``
    (merged, large), ``small`` (two cells of small print), ``section`` (a merged heading) or ``field`` (label,
    value; ``height`` in points for a tall row). The sheets' XML is built over whole columns, as a table
    sheet's is: a Python call per cell (xlsxwriter: 8 s for the 11,411 transfer forms of 200,000 employees;
    our own per-cell f-strings after it: 2 s) would be most of the time. Text goes in as inline strings,
    never formulas, by the table sheets' rule (:func:`_xml_text`)."""
    batches = -(-forms.get_column("form").n_unique() // per_sheet) if forms.height else 0
    names = [name if batches == 1 else f"{name}{n}" for n in range(1, batches + 1)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for number in range(1, batches + 1):
            batch = forms.filter(pl.col("form") // per_sheet == number - 1)
            with book.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
                for piece in _form_sheet_xml(batch, selected=number == 1):
                    part.write(piece)
        write_package(book, names, _FORM_STYLES)
    return path


# form cell styles (cellXfs of _FORM_STYLES): title, small print, section heading, label, value
_TITLE, _SMALL, _SECTION, _LABEL, _VALUE = 1, 2, 3, 4, 5
_FORM_STYLE = {"title": (_TITLE, _TITLE), "section": (_SECTION, _SECTION), "small": (_SMALL, _SMALL),
               "field": (_LABEL, _VALUE)}  # (column A, column B) of each kind of row
_MERGED = ("title", "section")  # label across both columns; column B an empty styled cell


def _form_sheet_xml(batch: pl.DataFrame, selected: bool) -> Iterator[bytes | memoryview]:
    """One sheet of forms (rows of :func:`write_form_pages`' frame), its XML a piece at a time."""
    rows = batch.with_row_index("__row", offset=1).with_columns(
        pl.col("__row").cast(pl.String),
        # a page break after each form but the sheet's last
        (pl.col("form") != pl.col("form").shift(-1)).fill_null(False).alias("__break"))
    last = rows.height
    row, kind = pl.col("__row"), pl.col("kind")
    style_a, style_b = (kind.replace_strict({k: str(v[i]) for k, v in _FORM_STYLE.items()}, return_dtype=pl.String)
                        for i in (0, 1))
    tall = (pl.when((kind == "field") & (pl.col("height").fill_null(0) != 0))
            .then(pl.concat_str([pl.lit(' ht="'), pl.col("height").cast(pl.String), pl.lit('" customHeight="1"')]))
            .otherwise(pl.lit("")))
    cell_b = (pl.when(kind.is_in(_MERGED))
              .then(pl.concat_str([pl.lit('<c r="B'), row, pl.lit('" s="'), style_b, pl.lit('"/>')]))
              .otherwise(_form_cell_xml("B", row, pl.col("value").fill_null(""), style_b)))
    xml = pl.concat_str([pl.lit('<row r="'), row, pl.lit('"'), tall, pl.lit(">"),
                         _form_cell_xml("A", row, pl.col("label"), style_a), cell_b, pl.lit("</row>")])
    merges = rows.filter(kind.is_in(_MERGED))
    breaks = rows.filter(pl.col("__break"))
    view = ' tabSelected="1"' if selected else ""
    yield (f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheetPr><pageSetUpPr fitToPage="1"/>'
           f'</sheetPr><dimension ref="A1:B{max(last, 1)}"/><sheetViews><sheetView{view} workbookViewId="0"/>'
           '</sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>'
           '<col min="1" max="1" width="22.7109375" customWidth="1"/>'
           '<col min="2" max="2" width="56.7109375" customWidth="1"/></cols><sheetData>').encode()
    yield _utf8(rows, xml)
    yield f'</sheetData><mergeCells count="{merges.height}">'.encode()
    yield _utf8(merges, pl.concat_str([pl.lit('<mergeCell ref="A'), row, pl.lit(":B"), row, pl.lit('"/>')]))
    yield (b'</mergeCells><printOptions horizontalCentered="1"/><pageMargins left="0.7" right="0.7" top="0.75" '
           b'bottom="0.75" header="0.3" footer="0.3"/><pageSetup paperSize="9" fitToHeight="0" orientation="portrait"/>'
           )
    if breaks.height:
        yield f'<rowBreaks count="{breaks.height}" manualBreakCount="{breaks.height}">'.encode()
        yield _utf8(breaks, pl.concat_str([pl.lit('<brk id="'), row, pl.lit('" max="16383" man="1"/>')]))
        yield b"</rowBreaks>"
    yield b"</worksheet>"


def _form_cell_xml(column: str, row: pl.Expr, text: pl.Expr, style: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(f'<c r="{column}'), row, pl.lit('" s="'), style,
                          pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), _xml_text(text),
                          pl.lit("</t></is></c>")])


_FONT = '<sz val="{size}"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
_FORM_STYLES = (
    f'<styleSheet xmlns="{MAIN_NS}"><fonts count="4"><font>{_FONT.format(size=11)}</font>'
    f'<font><b/>{_FONT.format(size=16)}</font><font>{_FONT.format(size=9)}</font><font><b/>{_FONT.format(size=11)}</font>'
    '</fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill><fill><patternFill patternType="solid"><fgColor rgb="FFE7E6E6"/><bgColor indexed="64"/></patternFill></fill>'
    '</fills><borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border>'
    '<left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right><top style="thin">'
    '<color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="3" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
