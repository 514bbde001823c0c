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


def test_a_run_of_small_files_stages_each_files_rows_as_it_alone_stages_them_in_one_query_a_kind(
        tmp_path, monkeypatch):
    """Files of one kind and columns are staged together (issue 28); each file's rows, reject reasons (its own
    labels, rows and header width) and order are those it stages alone."""
    import transforms.ingest.staged_file as staged_file

    other = "所属期,员工编号,姓名,身份证号码,公司,工作城市,应发合计,实发工资,社保个人扣款"  # the same columns, other labels
    files = []
    for number, (header, rows) in enumerate([
        (HEADER, [ROW.format(n=1), "2025-13,E002,李四,110101199003071234,长沙星城智造有限公司,长沙,8000.00,,",
                  ROW.format(n=1), "2025-03,E003,王五,110101199003071234,公司,长沙,-5,,,多余"]),
        (other, ["2025-03,E004,赵六,110101199003071234,公司,长沙,八千,,", ROW.format(n=5),
                 "2025-03,,钱七,110101199003071234,公司,长沙,100,,"]),
        (HEADER, [ROW.format(n=7), "合计,,,,,,8000.00,,"]),
        ("期间,工号,姓名,身份证号,公司,入职日期,离职日期,出勤天数", ["2025-03,E1,张三,110101199003071234,公司,2025-13-01,,31"]),
    ]):
        path = tmp_path / f"{number}.csv"
        path.write_text("\n".join([header, *rows]) + "\n", encoding="gb18030" if number == 1 else "utf-8")
        files.append(path)
    lookup = {"长沙": "430100"}
    alone = {path: stage_file(path, path.name, lookup, None, 100, [], lambda sha: False) for path in files}
    calls = []
    stage_rows = staged_file.stage_rows
    monkeypatch.setattr(staged_file, "stage_rows", lambda rows, *args: calls.append(rows.height) or stage_rows(rows, *args))
    together = staged_file.stage_run([(path, path.name, None) for path in files], lookup, 100, [],
                                     lambda source, sha: False)
    assert calls == [9, 1]  # the three payrolls in one query, the attendance file alone
    reasons = []
    for path in files:
        one, run = alone[path], together[path]
        assert one is not None and run is not None and list(run.staged) == list(one.staged)
        for kind in one.staged:
            assert len(run.staged[kind]) == len(one.staged[kind]) == 1
            assert run.staged[kind][0][1].equals(one.staged[kind][0][1]), path.name
            reasons += run.staged[kind][0][1].get_column("reason").drop_nulls().to_list()
    assert "第 2 行：账单月份“2025-13”不是月份，请写成 2024-03" in reasons
    assert "第 1 行：应发合计“八千”不是金额，请写成 10000.00" in reasons
    assert "第 3 行：员工编号为空，请填写员工编号" in reasons
    assert any(reason.startswith("第 4 行：该行有 10 个单元格，表头只有 9 列") for reason in reasons)


def test_id_numbers_are_staged_as_their_normalisation_whatever_their_spelling(tmp_path):
    """Each distinct spelling that is not plain is normalised once (a 15-digit number converted), the plain
    ones kept as they are: the staged column is ``normalise_id_number`` of every cell (issue 28)."""
    from transforms.ingest.normalise import normalise_id_number

    spellings = ["110101199003071234", "110101900307123", " 44011320141005001x ", "4301 0219 9001 0112 37",
                 "610104 620927 690", "\u200b3\u200b1\u200b2199001011237", "110101900307123", "430102199001011237"]
    path = tmp_path / "工资表.csv"
    path.write_text("\n".join([HEADER, *(ROW.replace("110101199003071234", f'"{spelling}"').format(n=n)
                                         for n, spelling in enumerate(spellings))]) + "\n", encoding="utf-8")
    staged = _stage(path)
    assert staged is not None
    rows = staged.staged["payroll"][0][1]
    expected = pl.Series(spellings).str.strip_chars().to_frame("v").select(normalise_id_number(pl.col("v")))
    assert rows.get_column("id_number").to_list() == expected.to_series().to_list()
    assert rows.get_column("id_number").to_list()[1] == "110101199003071233"  # converted to 18 digits


def test_amounts_and_names_are_staged_as_their_parse_whatever_their_spelling(tmp_path):
    """Each column is read stripped (blank as null) once, and the values not written plainly are parsed lazily, the
    parser's steps shared (issue 28): the staged amount is ``parse_amount`` of the cell and the staged name
    ``normalise_name``, for plain, spaced, full-width, grouped and bad spellings alike; a blank cell is missing."""
    from transforms.ingest.normalise import normalise_name, parse_amount

    amounts = ["8000.00", " 8000.5 ", "10,000.00", "１２,０００", "¥9,491.50", "9491.50元", "8 000", "RMB 7,000",
               "999999999999.995", "12,34.00", "abc", "\u3000", "0.10", "10,000.00"]
    names = ["张三", " 李 四 ", "王\u3000芳", "Anna Li", "赵  六", "张三", "钱七", "孙 八", "周九", "吴十", "郑一",
             "王二", "冯三", "陈四"]
    path = tmp_path / "工资表.csv"
    path.write_text("\n".join([HEADER, *(ROW.replace("8000.00", f'"{amount}"').replace("张三", f'"{name}"').format(n=n)
                                         for n, (amount, name) in enumerate(zip(amounts, names, strict=True)))])
                    + "\n", encoding="utf-8")
    staged = _stage(path)
    assert staged is not None
    rows = staged.staged["payroll"][0][1].sort("row_number")
    cells = pl.DataFrame({"amount": amounts, "name": names}).select(pl.all().str.strip_chars())
    expected = cells.select(parse_amount(pl.col("amount")).alias("amount"), normalise_name(pl.col("name")).alias("name"))
    blank = cells.get_column("amount") == ""
    assert rows.get_column("gross_pay").to_list() == [None if b else a for a, b in zip(expected["amount"], blank, strict=True)]
    assert rows.get_column("name").to_list() == expected.get_column("name").to_list()
    reasons = dict(zip(rows.get_column("row_number"), rows.get_column(REASON_CODE), strict=True))
    assert [reasons[n + 1] for n in (8, 9, 10, 11)] == ["BAD_AMOUNT", "BAD_AMOUNT", "BAD_AMOUNT", "MISSING_FIELD"]
    assert rows.get_column("gross_pay").to_list()[:3] == ["8000.00", "8000.5", "10000.00"]


def test_a_small_files_rows_and_exact_copies_are_those_its_chunks_give(tmp_path):
    """A file whose sheets are each one chunk builds its rows once and finds its copies in their raw JSON; the
    rows, their numbers and which are exact copies (within a sheet and across sheets, blank rows left out, a
    cell's spacing or one cell apart not a copy) are those the same file gives read in chunks of two rows."""
    from openpyxl import Workbook

    from transforms.ingest.readers import read_extract
    from transforms.ingest.staged_file import chunks, group_sheets
    from transforms.ingest.staging import DUPLICATE

    row = ROW.format(n=1).split(",")
    spaced = [*row[:2], " 张三", *row[3:]]
    apart = [*row[:6], "8000.01", *row[7:]]
    workbook = Workbook()
    first = workbook.active
    first.title = "三月"
    second = workbook.create_sheet("补充")
    for sheet, rows in ((first, [row, [None] * 9, row, spaced, apart]), (second, [apart, [None] * 9, spaced, row])):
        sheet.append(HEADER.split(","))
        for cells in rows:
            sheet.append(cells)
    path = tmp_path / "工资表.xlsx"
    workbook.save(path)
    groups, _ = group_sheets(read_extract(path, path.read_bytes()), path.name, {"长沙": "430100"})

    def staged(size: int) -> pl.DataFrame:
        return pl.concat([rows for _, rows in chunks(groups["payroll"], size)], how="diagonal_relaxed")

    whole, in_pieces = staged(100), staged(2)
    assert whole.get_column(DUPLICATE).to_list() == [False, True, False, False, True, True, True]
    assert whole.equals(in_pieces)
