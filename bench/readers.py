"""Benchmark: reading a payroll workbook, the old reader (openpyxl read-only, cell by cell) vs the new one
(calamine through fastexcel, ``transforms.ingest.readers.read_xlsx``), from one run.

The workbook: a title row, the payroll header and ``--rows`` (default 50,000) rows of 14 columns (text,
numbers, dates), written with xlsxwriter. Each reader runs in a fresh interpreter, so its peak RSS is its own.
The old reader is kept here, as it was before issue 16, only to be measured.

Usage: python bench/readers.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

from _common import REPO, measure_child, stopwatch

HEADER = ["工资月份", "员工编号", "姓名", "身份证号", "公司", "参保城市", "部门", "入职日期", "基本工资", "绩效",
          "应发工资", "实发工资", "个人社保", "备注"]

OLD = """
import datetime as dt, io, json, sys, time
import openpyxl
import polars as pl

def cell_text(value):
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

data = open({path!r}, "rb").read()
started = time.perf_counter()
workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
heights = []
for worksheet in workbook.worksheets:
    rows = [[cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    counts = []
    for row in rows:
        n = len(row)
        while n and (row[n - 1] is None or row[n - 1] == ""):
            n -= 1
        counts.append(n)
    columns = {{f"c{{i}}": [r[i] if i < len(r) else None for r in rows] for i in range(width)}}
    grid = pl.DataFrame(columns, schema={{c: pl.String for c in columns}}).with_columns(pl.Series("__cells", counts, pl.Int32))
    heights.append(grid.height)
workbook.close()
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": sum(heights), "sample": grid.row(2)[:9]}}))
"""

NEW = """
import json, sys, time
sys.path.insert(0, {repo!r})
from transforms.ingest.readers import read_xlsx
data = open({path!r}, "rb").read()
started = time.perf_counter()
sheets = read_xlsx(data)
grid = sheets[0].grid
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": sum(s.grid.height for s in sheets),
                   "sample": grid.row(2)[:9]}}))
"""


def write_workbook(path: Path, rows: int) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("工资")
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["2025年3月工资表"])
    sheet.write_row(1, 0, HEADER)
    for index in range(rows):
        base = 6000 + (index * 37) % 20000
        sheet.write_row(index + 2, 0, ["2025-03", f"E{index:06d}", f"员工{index}", f"43010219900101{index % 10000:04d}",
                                       f"长沙测试{index % 7}有限公司", "长沙", f"部门{index % 12}"])
        sheet.write_datetime(index + 2, 7, dt.datetime(2020, 1, 1) + dt.timedelta(days=index % 1500), date)
        sheet.write_row(index + 2, 8, [base, 1000.5, base + 1000.5, round((base + 1000.5) * 0.895, 2),
                                       round((base + 1000.5) * 0.105, 2), "" if index % 5 else "补发"])
    workbook.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "payroll.xlsx"
        with stopwatch() as written:
            write_workbook(path, args.rows)
        print(f"workbook: {args.rows:,} payroll rows x {len(HEADER)} columns, {path.stat().st_size / 2**20:.1f} MB "
              f"(written in {written():.1f} s)")
        old, old_mb = measure_child(OLD.format(path=str(path)))
        new, new_mb = measure_child(NEW.format(path=str(path), repo=str(REPO)))
    for label, result, peak in (("old: openpyxl read-only, cell by cell", old, old_mb),
                                ("new: calamine (fastexcel)", new, new_mb)):
        print(f"{label}: {result['seconds']:.2f} s for {result['rows']:,} rows; peak RSS {peak:.0f} MB")
    print(f"new vs old: {old['seconds'] / new['seconds']:.1f}x faster")
    if old["rows"] != new["rows"] or old["sample"] != new["sample"]:
        print(f"note: the readers differ: old {old['rows']:,} rows {old['sample']}, new {new['rows']:,} rows {new['sample']}")


if __name__ == "__main__":
    main()
