"""Readers: encodings detected, xlsx sheets with title rows, cell counts for ragged rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from transforms.readers import CELLS, UnreadableFile, read_extract, to_utf8
from transforms.staging import find_header

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
