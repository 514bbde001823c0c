"""A file staged apart from the warehouse: only a plain, small extract not loaded before is staged whole; the
writer decides every other file itself."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from transforms.ingest.staged_file import stage_file
from transforms.ingest.staging import REASON_CODE

HEADER = "账单月份,人员编码,员工姓名,身份证号码,单位名称,所在城市,税前工资,实发合计,个人社保"
ROW = "2025-03,E{n:03d},张三,110101199003071234,长沙星城智造有限公司,长沙,8000.00,6500.00,800.00"


def _stage(path: Path, size: int = 100, loaded: bool = False, handed_back: bool = False):
    return stage_file(path, path.name, {"长沙": "430100"}, None, size, [lambda content: handed_back],
                      lambda sha: loaded)


def _payroll(tmp_path: Path, rows: int, name: str = "工资表.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *(ROW.format(n=n) for n in range(rows)), "合计,,,,,,8000.00,,"]) + "\n",
                    encoding=encoding)
    return path


def test_a_small_extract_is_staged_whole(tmp_path):
    staged = _stage(_payroll(tmp_path, 5, encoding="gb18030"))
    assert staged is not None and list(staged.staged) == ["payroll"] and staged.content.encoding in ("gbk", "gb18030")
    rows = pl.concat([chunk for _, chunk in staged.staged["payroll"]])
    assert rows.height == 6 and rows.get_column(REASON_CODE).to_list() == [None] * 5 + ["NOT_DATA"]


def test_the_writer_decides_every_other_file(tmp_path):
    empty = tmp_path / "空.csv"
    empty.write_bytes(b"")
    notes = tmp_path / "说明.csv"
    notes.write_text("没有表头的说明\n", encoding="utf-8")
    broken = tmp_path / "坏.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    payroll = _payroll(tmp_path, 5)
    assert _stage(empty) is None
    assert _stage(notes) is None  # no header: the writer looks for the closest kind and says so
    assert _stage(broken) is None  # unreadable: the writer records why
    assert _stage(payroll, loaded=True) is None  # loaded before: the writer skips it
    assert _stage(payroll, handed_back=True) is None  # a workbook HR hand back: its stage loads it
    assert _stage(_payroll(tmp_path, 150, "大.csv"), size=100) is None  # large: written in chunks
