"""Readers: encodings detected, xlsx sheets with title rows, cell counts for ragged rows."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from transforms.ingest.inbox import ingest_inbox
from transforms.ingest.readers import CELLS, UnreadableFile, read_extract, to_utf8
from transforms.ingest.staging import find_header
from warehouse.errors import InputError

TEXT = "工资月份,员工编号,姓名\n2024-03,E001,王芳\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (TEXT.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
    (TEXT.encode("gbk"), "gbk"),
    ((TEXT + "2024-03,E002,𠀀\n").encode("gb18030"), "gb18030"),  # a character beyond GBK
])
def test_encodings_are_detected(data, encoding):
    payload, found = to_utf8(data)
    assert found == encoding
    assert payload.decode("utf-8").startswith("工资月份")


def test_utf16_is_refused_with_a_sentence():
    with pytest.raises(UnreadableFile, match="UTF-16"):
        to_utf8(TEXT.encode("utf-16"))


@pytest.mark.parametrize("start", ["x^", "x\x01", "x\u0680"])  # zlib's first bytes: 78 5E, 78 01, 78 DA
def test_a_csv_that_starts_as_compressed_data_does_is_read_as_text(tmp_path: Path, start: str):
    """polars takes bytes that begin as zlib (or gzip, zstd) data for compressed; these are text, read as such."""
    grid = read_extract(tmp_path / "x.csv", (start + "a,b\n1,2,3\n").encode()).sheets[0].grid
    assert grid["c0"].to_list() == [start + "a", "1"] and grid[CELLS].to_list() == [2, 3]


def test_bytes_that_start_as_compressed_data_and_are_no_text_are_refused_with_a_sentence():
    with pytest.raises(UnreadableFile, match="none of UTF-8"):
        to_utf8(b"x\x01\x80")  # Hypothesis' find: polars' "corrupt deflate stream" escaped as an OSError


def test_quoted_cells_with_separators_count_as_one_cell(tmp_path: Path):
    data = b'a,b,c\n"1,000",2,3\n4,5,6,7\n'
    grid = read_extract(tmp_path / "x.csv", data).sheets[0].grid
    assert grid[CELLS].to_list() == [3, 3, 4]
    assert grid["c0"].to_list() == ["a", "1,000", "4"]


def test_xlsx_every_sheet_title_rows_and_typed_cells(tmp_path: Path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "三月"
    sheet.append(["2024年3月考勤表"])
    sheet.merge_cells("A1:F1")
    sheet.append(["制表：人事部"])
    sheet.append(["月份", "工号", "姓名", "公司", "入职日期", "出勤天数"])
    sheet.append([202403, "E001", "王芳", "长沙测试有限公司", dt.datetime(2024, 3, 5), 21.5])
    sheet.append([202403, "E002", "李四", "长沙测试有限公司", "=1+1", 22.0])
    workbook.create_sheet("空白")
    path = tmp_path / "att.xlsx"
    workbook.save(path)
    content = read_extract(path, path.read_bytes())
    assert [s.name for s in content.sheets] == ["三月", "空白"]
    grid = content.sheets[0].grid
    header = find_header(grid)
    assert header is not None and header.kind.name == "attendance" and header.row_index == 2
    assert grid.row(3)[:6] == ("202403", "E001", "王芳", "长沙测试有限公司", "2024-03-05", "21.5")
    # a formula cell is never evaluated: openpyxl gives no cached value for it
    assert grid.row(4)[4] is None


# --- Hostile workbooks (issue 18.2, 18.3): real xlsx files whose sheet xml is edited through zipfile ---

PAYROLL = ["工资月份", "员工编号", "姓名", "身份证号", "公司", "参保城市", "应发工资", "实发工资", "个人社保"]


def payroll_workbook(rows: int) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(PAYROLL)
    for index in range(rows):
        sheet.append(["2024-03", f"E{index:03}", "王芳", "430102199001011237", "长沙测试有限公司", "长沙", 10000, 8950, 1050])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def edit_sheet_xml(data: bytes, edit) -> bytes:
    """The workbook with ``edit(xml bytes) -> xml bytes`` applied to its first worksheet's part."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            payload = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                payload = edit(payload)
            target.writestr(item, payload)
    return out.getvalue()


def with_dimension(data: bytes, ref: str) -> bytes:
    def edit(xml: bytes) -> bytes:
        edited, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml)
        assert count == 1
        return edited
    return edit_sheet_xml(data, edit)


@pytest.mark.parametrize("ref", ["A1:I4", "A1"])
def test_rows_read_are_the_rows_in_the_sheet_whatever_its_dimension_says(con, tmp_path: Path, ref):
    """18.2: openpyxl's read-only mode trusted ``<dimension>``: A1:I4 loaded 3 of 10 rows, A1 none."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "payroll.xlsx").write_bytes(with_dimension(payroll_workbook(10), ref))
    [load] = ingest_inbox(con, inbox)
    assert (load["status"], load["rows_read"], load["rows_staged"], load["rows_rejected"]) == ("loaded", 10, 10, 0)


# Run in a child with its address space capped: the old reader went past 8 GB, calamine aborts the process
# when it cannot allocate, and neither may take the test run down with it.
CAPPED_READ = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from pathlib import Path
from transforms.ingest.readers import UnreadableFile, read_extract
path = Path(sys.argv[1])
try:
    sheets = read_extract(path, path.read_bytes()).sheets
except UnreadableFile as exc:
    print("refused:", exc)
else:
    print("rows:", sheets[0].grid.height)
"""


def capped_read(path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", CAPPED_READ, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_small_workbook_claiming_the_whole_sheet_reads_the_cells_present(tmp_path: Path):
    """18.3: a 5 KB workbook whose dimension says A1:XFD1048576, with one more row far below: the old reader
    padded every row to 16,384 cells and the gap with empty rows (past 8 GB)."""
    def far_row(xml: bytes) -> bytes:
        cells = "".join(f'<c r="{letter}200000" t="inlineStr"><is><t>x</t></is></c>' for letter in "ABCDEFGHI")
        return xml.replace(b"</sheetData>", f'<row r="200000">{cells}</row></sheetData>'.encode())
    path = tmp_path / "claims.xlsx"
    path.write_bytes(with_dimension(edit_sheet_xml(payroll_workbook(3), far_row), "A1:XFD1048576"))
    assert path.stat().st_size < 10_000
    assert capped_read(path) == "rows: 200000"


def test_a_sheet_past_the_size_limit_is_one_sentence(tmp_path: Path):
    """A real cell at XFD1048576 makes the sheet 17 billion cells as a grid: refused, not allocated."""
    def far_cell(xml: bytes) -> bytes:
        cell = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace(b"</sheetData>", cell + b"</sheetData>")
    path = tmp_path / "far.xlsx"
    path.write_bytes(edit_sheet_xml(payroll_workbook(3), far_cell))
    out = capped_read(path)
    assert out.startswith("refused: the sheet Sheet reaches row 1,048,576 and column 16,384"), out
    assert "SHEBAO_XLSX_MAX_CELLS" in out and "\n" not in out


def test_the_size_limit_is_a_setting(tmp_path: Path, monkeypatch):
    data = payroll_workbook(3)  # 4 rows x 9 columns
    monkeypatch.setenv("SHEBAO_XLSX_MAX_CELLS", "36")
    assert read_extract(tmp_path / "ok.xlsx", data).sheets[0].grid.height == 4
    monkeypatch.setenv("SHEBAO_XLSX_MAX_CELLS", "35")
    with pytest.raises(UnreadableFile, match="36 cells"):
        read_extract(tmp_path / "big.xlsx", data)
    monkeypatch.setenv("SHEBAO_XLSX_MAX_CELLS", "lots")
    with pytest.raises(InputError, match="SHEBAO_XLSX_MAX_CELLS"):
        read_extract(tmp_path / "big.xlsx", data)


_CELL = st.text(alphabet=[",", '"', "\n", "\r", " ", "合", "计", "a", "1", "é", "\t"], max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.lists(_CELL, min_size=1, max_size=6), min_size=1, max_size=12),
       quoted=st.booleans(), encoding=st.sampled_from(["utf-8", "gb18030"]), tail=st.sampled_from(["", "\n"]))
def test_a_csv_read_in_pieces_gives_the_whole_files_grid(tmp_path_factory, rows, quoted, encoding, tail):
    """Pieces of a few bytes, hostile cells (quotes, separators, line ends inside cells, stray quotes): the
    pieces' grids, one after the other, are the whole file's grid, or the file is NotStreamable."""
    import csv

    import polars as pl

    from transforms.ingest.readers import NotStreamable, stream_extract

    if quoted:  # as an exporter quotes: cells with separators, quotes or line ends in quotes
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        body = out.getvalue()
    else:  # as a careless one joins them, stray quotes and all
        body = "".join(",".join(row) + "\n" for row in rows)
    text = "标题\n工资月份,员工编号,姓名,金额\n" + body * (9000 // max(len(body), 1) + 1)
    path = tmp_path_factory.mktemp("pieces") / "x.csv"
    path.write_bytes((text.rstrip("\n") + tail).encode(encoding))
    try:
        whole = read_extract(path, path.read_bytes()).sheets[0].grid
    except UnreadableFile:  # refused: then read whole too, for the same sentence
        whole = None
    try:
        stream = stream_extract(path, 50).sheets[0].stream
        assert stream is not None
        list(stream.grids())  # the first pass settles the UTF-8 rows
        pieces = list(stream.grids())
    except NotStreamable:
        return
    assert whole is not None
    assert len(pieces) > 1
    assert pl.concat(pieces, how="vertical").equals(whole)
