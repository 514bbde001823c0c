"""The table workbook writer, read back the way finance opens it (openpyxl)."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from typing import NamedTuple
from xml.sax.saxutils import escape

import openpyxl
import polars as pl

from transforms.common import spreadsheet
from transforms.common.spreadsheet import FORM_ROW_SCHEMA, new_workbook, write_form_pages, write_sheet

HEADERS = {"name": "姓名", "base": "缴费基数", "note": "备注"}


class FormRow(NamedTuple):
    """A printed form's row as the tests write it: kind, label, value, height (``write_form_pages``' columns)."""

    kind: str
    label: str
    value: str = ""
    height: int | None = None


def _form_frame(forms: list[list[FormRow]]) -> pl.DataFrame:
    return pl.DataFrame([(number, *row) for number, form in enumerate(forms) for row in form],
                        schema=FORM_ROW_SCHEMA, orient="row")


def _xml_text(text: str) -> str:
    """The cell text rule stated one value at a time, independently of the writer: characters XML 1.0
    cannot carry dropped, then a formula start neutralised (so a NUL before ``=cmd`` does not hide it), then
    ``& < >`` escaped."""
    kept = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)
    return escape("'" + kept if kept.startswith(("=", "+", "-", "@", "\t", "\r")) else kept)


def _frame(rows: int) -> pl.DataFrame:
    return pl.DataFrame({
        "name": [f"员工{i}" if i % 7 else None for i in range(rows)],
        "base": [Decimal(f"{5000 + i}.25") if i % 5 else None for i in range(rows)],
        "note": [("=SUM(A1)" if i % 3 == 0 else f"a<b & c {i}") for i in range(rows)],
    }, schema_overrides={"base": pl.Decimal(18, 2)})


def _write(path, frame: pl.DataFrame) -> None:
    workbook = new_workbook(path)
    write_sheet(workbook, "明细", frame, HEADERS, money={"base"})
    workbook.close()


def test_rows_written_a_chunk_at_a_time_read_back_in_order(tmp_path, monkeypatch):
    frame = _frame(23)
    _write(tmp_path / "whole.xlsx", frame)
    monkeypatch.setattr(spreadsheet, "CHUNK_ROWS", 5)  # five chunks, the last one short
    _write(tmp_path / "chunked.xlsx", frame)

    sheet_xml = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(tmp_path / "whole.xlsx") as whole, zipfile.ZipFile(tmp_path / "chunked.xlsx") as chunked:
        assert whole.read(sheet_xml) == chunked.read(sheet_xml)

    rows = list(openpyxl.load_workbook(tmp_path / "chunked.xlsx").active.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "缴费基数", "备注")
    assert len(rows) == 24
    for i, (name, base, note) in enumerate(rows[1:]):
        assert name == (f"员工{i}" if i % 7 else None)
        assert base == (float(f"{5000 + i}.25") if i % 5 else None)
        assert note == ("'=SUM(A1)" if i % 3 == 0 else f"a<b & c {i}")


def test_an_empty_table_has_its_header_only(tmp_path):
    _write(tmp_path / "empty.xlsx", _frame(0))
    rows = list(openpyxl.load_workbook(tmp_path / "empty.xlsx").active.iter_rows(values_only=True))
    assert rows == [("姓名", "缴费基数", "备注")]


def test_texts_are_shared_across_sheets_and_read_back_exactly(tmp_path):
    import datetime

    first = pl.DataFrame({"name": ["  两端空格 ", "长沙", "a\x01b", None], "day": [datetime.date(2024, 3, 1)] * 4})
    second = pl.DataFrame({"name": ["长沙", "@cmd", "新值", "长沙"], "day": [None, datetime.date(2024, 3, 2)] * 2})
    path = tmp_path / "shared.xlsx"
    workbook = new_workbook(path)
    write_sheet(workbook, "一", first, {"name": "名称", "day": "日期"})
    write_sheet(workbook, "二", second, {"name": "名称", "day": "日期"})
    workbook.close()

    book = openpyxl.load_workbook(path)
    assert list(book["一"].iter_rows(min_row=2, values_only=True)) == [
        ("  两端空格 ", "2024-03-01"), ("长沙", "2024-03-01"), ("ab", "2024-03-01"), (None, "2024-03-01")]
    assert list(book["二"].iter_rows(min_row=2, values_only=True)) == [
        ("长沙", None), ("'@cmd", "2024-03-02"), ("新值", None), ("长沙", "2024-03-02")]
    with zipfile.ZipFile(path) as archive:
        strings = archive.read("xl/sharedStrings.xml").decode()
    assert strings.count("长沙") == 1 and strings.count("2024-03-01") == 1  # each distinct text stored once


HOSTILE = ["a\x01b<c>&d", "\x00=HYPERLINK(\"http://x\")", "\x0b@cmd\x1f", "+1\ufffe", "  两端空格 ", "普通\t文本"]


def test_a_table_sheet_and_a_form_page_write_the_same_hostile_text_the_same_way(tmp_path):
    """One rule for every xlsx a close writes: characters XML cannot carry dropped (never written as
    ``_xHHHH_``), then text that would run as a formula neutralised, the rest read back exactly."""
    table = tmp_path / "table.xlsx"
    workbook = new_workbook(table)
    write_sheet(workbook, "表", pl.DataFrame({"text": HOSTILE}), {"text": "内容"})
    workbook.close()
    form = write_form_pages(tmp_path / "form.xlsx", "表单",
                            _form_frame([[FormRow("title", "标题"),
                                          *(FormRow("field", f"栏{i}", text) for i, text in enumerate(HOSTILE))]]),
                            per_sheet=10)

    in_table = [row[0] for row in openpyxl.load_workbook(table).active.iter_rows(min_row=2, values_only=True)]
    in_form = [row[1] for row in openpyxl.load_workbook(form).active.iter_rows(min_row=2, values_only=True)]
    expected = ["ab<c>&d", "'=HYPERLINK(\"http://x\")", "'@cmd", "'+1", "  两端空格 ", "普通\t文本"]
    assert in_table == expected and in_form == expected
    for path in (table, form):
        with zipfile.ZipFile(path) as archive:
            assert "_x00" not in "".join(archive.read(n).decode() for n in archive.namelist())


def _per_cell_rows(forms) -> str:
    """The forms' ``<sheetData>`` rows as the writer built them a cell at a time (before issue 28), by
    :func:`_xml_text`: the reference the column-wise writer must equal."""
    def cell(column, row, text, style):
        return f'<c r="{column}{row}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'

    rows, row = [], 0
    for form in forms:
        for kind, label, value, height in form:
            row += 1
            if kind in ("title", "section"):
                style = 1 if kind == "title" else 3
                rows.append(f'<row r="{row}">{cell("A", row, label, style)}<c r="B{row}" s="{style}"/></row>')
            elif kind == "small":
                rows.append(f'<row r="{row}">{cell("A", row, label, 2)}{cell("B", row, value, 2)}</row>')
            else:
                tall = f' ht="{height}" customHeight="1"' if height else ""
                rows.append(f'<row r="{row}"{tall}>{cell("A", row, label, 4)}{cell("B", row, value, 5)}</row>')
    return "".join(rows)


def test_form_pages_built_over_columns_equal_the_per_cell_rule_for_hostile_text(tmp_path):
    """Every cell of a form sheet (built over whole columns) is what :func:`_xml_text` makes of its text, one
    value at a time: characters XML cannot carry dropped, formula starts neutralised, ``& < >`` escaped;
    merged headings, tall rows and a page break after each form but a sheet's last."""
    forms = [[FormRow("title", f"标题{n}<&>"), FormRow("small", f"=编号{n}", "\x00@日期"),
              FormRow("section", "\x0b-分节"), *(FormRow("field", f"+栏{i}", text, 75 if i == 2 else None)
                                                 for i, text in enumerate(HOSTILE))] for n in range(5)]
    path = write_form_pages(tmp_path / "forms.xlsx", "表单", _form_frame(forms), per_sheet=2)

    with zipfile.ZipFile(path) as archive:
        sheets = [archive.read(f"xl/worksheets/sheet{n}.xml").decode() for n in (1, 2, 3)]
        assert "xl/worksheets/sheet4.xml" not in archive.namelist()
    for sheet, batch in zip(sheets, (forms[0:2], forms[2:4], forms[4:]), strict=True):
        rows = sheet[sheet.index("<sheetData>") + len("<sheetData>"):sheet.index("</sheetData>")]
        assert rows == _per_cell_rows(batch)
        size = len(batch[0])
        assert sheet.count("<mergeCell ") == 2 * len(batch)
        breaks = [f'<brk id="{size * (n + 1)}" max="16383" man="1"/>' for n in range(len(batch) - 1)]
        assert ("<rowBreaks" in sheet) == bool(breaks) and all(b in sheet for b in breaks)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["表单1", "表单2", "表单3"]
    values = [row[1] for row in book["表单3"].iter_rows(min_row=4, values_only=True)]
    assert values == ["ab<c>&d", "'=HYPERLINK(\"http://x\")", "'@cmd", "'+1", "  两端空格 ", "普通\t文本"]


def _cells(path) -> dict[str, list[tuple]]:
    """Every sheet's cells as finance sees them: value and number format."""
    book = openpyxl.load_workbook(path)
    return {sheet.title: [tuple((cell.value, cell.number_format) for cell in row) for row in sheet.iter_rows()]
            for sheet in book.worksheets}


def test_a_table_written_in_chunks_reads_as_the_whole_frame(tmp_path, monkeypatch):
    """Chunks (a million-row ledger read from DuckDB a piece at a time) give the cells the whole frame gives:
    row numbers run on across chunks, a text seen in an earlier chunk is the same shared string, nulls only in
    some chunks, and the sheets split where Excel's row limit falls, inside a chunk."""
    monkeypatch.setattr(spreadsheet, "EXCEL_MAX_ROWS", 10)  # 9 data rows a sheet
    monkeypatch.setattr(spreadsheet, "CHUNK_ROWS", 3)  # each chunk's XML built 3 rows at a time
    rows = 23
    frame = pl.DataFrame({
        "name": [f"张{n % 5}" for n in range(rows)],
        "base": [Decimal(f"{n}.50") if n % 7 else None for n in range(rows)],
        "note": [None if n < 12 else ("=1+1" if n % 2 else f"备注{n % 3}") for n in range(rows)],
    }, schema={"name": pl.String, "base": pl.Decimal(14, 2), "note": pl.String})
    chunks = spreadsheet.Chunks(rows, frame.schema, lambda: (frame.slice(start, 4) for start in range(0, rows, 4)))
    paths = {}
    for kind, table in (("whole", frame), ("chunks", chunks)):
        paths[kind] = tmp_path / f"{kind}.xlsx"
        with new_workbook(paths[kind]) as workbook:
            write_sheet(workbook, "明细", table, HEADERS, money={"base"})
            empty = spreadsheet.Chunks(0, frame.schema, lambda: iter([])) if kind == "chunks" else frame.head(0)
            write_sheet(workbook, "另表", empty, HEADERS)
    whole, chunked = _cells(paths["whole"]), _cells(paths["chunks"])
    assert list(chunked) == ["明细", "明细 (2)", "明细 (3)", "另表"]
    assert chunked == whole
    assert [len(rows) for rows in chunked.values()] == [10, 10, 6, 1]
    assert chunked["明细 (3)"][-2][2] == ("'=1+1", "General")  # row 23: the 22nd data row
    with zipfile.ZipFile(paths["chunks"]) as book:
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", book.read("xl/sharedStrings.xml").decode())
    assert len(strings) == len(set(strings)) == 5 + 4  # each text once, whichever chunks it came in


def test_a_sheet_given_fewer_rows_than_told_is_refused(tmp_path):
    frame = pl.DataFrame({"name": ["甲"], "base": [1], "note": ["x"]})
    chunks = spreadsheet.Chunks(2, frame.schema, lambda: iter([frame]))
    with new_workbook(tmp_path / "short.xlsx") as workbook:
        try:
            write_sheet(workbook, "明细", chunks, HEADERS)
        except ValueError as exc:
            assert "1 rows, not the 2" in str(exc)
        else:
            raise AssertionError("a short sheet was written")


def test_texts_past_the_shared_bound_are_inline_and_read_back_the_same(tmp_path, monkeypatch):
    """Issue 28: a workbook holds at most SHARED_TEXT_BYTES of shared strings while it is written; a text first
    seen past that goes inline in its cell. openpyxl (and calamine, which the same-outputs check reads with)
    read the same cells either way: hostile text, dates, nulls, a text shared before the bound used after it,
    across chunks and sheets."""
    import datetime

    rows = 40
    frame = pl.DataFrame({
        "name": [f"员工{n}" if n % 6 else None for n in range(rows)],
        "base": [Decimal(f"{n}.50") for n in range(rows)],
        "note": [HOSTILE[n % len(HOSTILE)] if n % 4 else f"备注{n}" for n in range(rows)],
        "day": [datetime.date(2024, 3, 1 + n % 28) if n % 5 else None for n in range(rows)],
    }, schema={"name": pl.String, "base": pl.Decimal(14, 2), "note": pl.String, "day": pl.Date})
    headers = HEADERS | {"day": "日期"}
    chunks = spreadsheet.Chunks(rows, frame.schema, lambda: (frame.slice(start, 7) for start in range(0, rows, 7)))
    paths = {}
    for kind, bound in (("shared", spreadsheet.SHARED_TEXT_BYTES), ("inline", 60)):
        monkeypatch.setattr(spreadsheet, "SHARED_TEXT_BYTES", bound)
        paths[kind] = tmp_path / f"{kind}.xlsx"
        with new_workbook(paths[kind]) as workbook:
            write_sheet(workbook, "明细", chunks, headers, money={"base"})
            write_sheet(workbook, "另表", frame.reverse(), headers)
    assert _cells(paths["inline"]) == _cells(paths["shared"])
    with zipfile.ZipFile(paths["inline"]) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    stored = re.findall(r"<t[^>]*>([^<]*)</t>", strings)
    assert 0 < len(stored) == len(set(stored)) and sum(len(s.encode()) for s in stored) <= 60
    assert sheet.count('t="inlineStr"') > len(headers) and sheet.count('t="s"') > 0  # both kinds of cell
    import fastexcel

    def calamine(path):
        reader = fastexcel.read_excel(path.read_bytes())
        return [reader.load_sheet(i, header_row=None, dtypes="string").to_polars().rows()
                for i in range(len(reader.sheet_names))]

    assert calamine(paths["inline"]) == calamine(paths["shared"])
