"""The agency's bill (SPEC §2 kind `bill`): recognised by its header, GBK CSV and xlsx, rejects with the
row number, nothing lost, regions and employers normalised, supersession per (period, region), and the
public ``ingest.bills`` view (SPEC §7)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl

from tests.expectations.conftest import id_number
from transforms.ingest.inbox import ingest_inbox

ID1 = id_number(birth="19900101", seq="123")
ID2 = id_number(birth="19850505", seq="456")
HEADER = ["缴费所属期", "公民身份号码", "姓名", "征收地", "单位名称", "险种", "缴费基数", "单位应缴", "个人缴费", "备注"]
PUBLIC = ["period", "id_number", "name", "region", "employer", "insurance_type", "base", "employer_amount",
          "employee_amount", "load_id"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "gbk") -> Path:
    text = "\n".join(",".join(cell for cell in row) for row in [HEADER, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[str]], title: str | None = "2024年3月社保费缴费明细") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "明细"
    if title:
        sheet.append([title])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def loads(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, kind, status, rows_read, rows_staged, rows_rejected FROM ingest.loads").fetchall()}


def test_gbk_csv_and_xlsx_bills_staged_normalised_and_public(con, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "社保缴费明细_长沙_202403.csv", [
        ["2024年3月", f" {ID1} ", "王 芳", "湖南省长沙市", "星城智造（长沙）有限公司", "企业职工基本养老保险",
         '"8,000.00"', "￥1280.00", "640.00", "x"],
        ["202403", ID1.lower(), "王芳", "长沙", "星城智造(长沙)有限公司", "工伤保险", "8000", "32.00", "0.00", ""],
    ])
    write_xlsx(inbox / "社保账单_武汉_202403.xlsx", [
        ["2024-03", ID2, "李雷", "武汉市", "武汉江城软件有限公司", "医疗保险", "9000", "720.00", "180.00", None],
    ])
    ingest_inbox(con, inbox)
    assert loads(con) == {"社保缴费明细_长沙_202403.csv": ("bill", "loaded", 2, 2, 0),
                          "社保账单_武汉_202403.xlsx": ("bill", "loaded", 1, 1, 0)}
    cursor = con.execute("SELECT * FROM ingest.bills ORDER BY region, insurance_type")
    assert [d[0] for d in cursor.description] == PUBLIC
    rows = [dict(zip(PUBLIC, r, strict=True)) for r in cursor.fetchall()]
    assert [(r["period"], r["id_number"], r["name"], r["region"], r["employer"], r["insurance_type"], r["base"],
             r["employer_amount"], r["employee_amount"]) for r in rows] == [
        ("2024-03", ID2, "李雷", "武汉", "武汉江城软件有限公司", "medical", Decimal("9000.00"), Decimal("720.00"),
         Decimal("180.00")),
        ("2024-03", ID1, "王芳", "长沙", "星城智造(长沙)有限公司", "pension", Decimal("8000.00"), Decimal("1280.00"),
         Decimal("640.00")),
        ("2024-03", ID1, "王芳", "长沙", "星城智造(长沙)有限公司", "work_injury", Decimal("8000.00"), Decimal("32.00"),
         Decimal("0.00")),
    ]
    encoding = con.execute("SELECT encoding FROM ingest.loads WHERE source_file LIKE '%.csv'").fetchone()[0]
    assert encoding.lower() in ("gbk", "gb18030")


def test_bad_rows_are_rejected_with_their_row_number_and_nothing_is_lost(con, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = ["2024-03", ID1, "王芳", "长沙", "甲公司", "养老保险", "8000", "1280", "640", ""]
    write_csv(inbox / "bill.csv", [
        good,
        ["2024-03", ID2, "李雷", "长沙", "甲公司", "养老保险", "8000", "待定", "640", ""],      # row 2
        ["2024-13", ID2, "李雷", "长沙", "甲公司", "养老保险", "8000", "1280", "640", ""],      # row 3
        ["2024-03", "", "李雷", "长沙", "甲公司", "养老保险", "8000", "1280", "640", ""],         # row 4
        ["2024-03", ID2, "李雷", "长沙", "甲公司", "意外险", "8000", "1280", "640", ""],        # row 5
        ["2024-03", ID2, "李雷", "长沙", "甲公司", "养老保险", "-8000", "1280", "640", ""],     # row 6
        good,                                                                                     # row 7
        ["2024-03", ID2, "李雷", "长沙", "甲公司", "医疗保险", "8000", "-12.50", "0", ""],      # a refund line
    ], encoding="utf-8")
    ingest_inbox(con, inbox)
    assert loads(con)["bill.csv"] == ("bill", "loaded", 8, 2, 6)
    rejects = con.execute("SELECT row_number, reason_code, reason FROM ingest.rejects ORDER BY row_number").fetchall()
    assert [(r[0], r[1]) for r in rejects] == [(2, "BAD_AMOUNT"), (3, "BAD_MONTH"), (4, "MISSING_FIELD"),
                                               (5, "UNKNOWN_VALUE"), (6, "NEGATIVE_AMOUNT"), (7, "DUPLICATE_ROW")]
    assert "待定" in rejects[0][2]
    assert con.execute("SELECT count(*) FROM raw.rows WHERE kind = 'bill'").fetchone()[0] == 8
    refund = con.execute("SELECT employer_amount FROM ingest.bills WHERE insurance_type = 'medical'").fetchone()[0]
    assert refund == Decimal("-12.50")


def test_a_corrected_bill_supersedes_its_own_region_only(con, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_csv(first / "社保缴费明细_长沙_202403.csv", [
        ["2024-03", ID1, "王芳", "长沙", "甲公司", "养老保险", "8000", "1280", "640", ""],
        ["2024-03", ID2, "李雷", "长沙", "甲公司", "养老保险", "8000", "1280", "640", ""],
    ])
    write_csv(first / "社保缴费明细_武汉_202403.csv", [
        ["2024-03", ID1, "王芳", "武汉", "乙公司", "养老保险", "9000", "1440", "720", ""],
    ])
    write_csv(first / "社保缴费明细_长沙_202402.csv", [
        ["2024-02", ID1, "王芳", "长沙", "甲公司", "养老保险", "8000", "1280", "640", ""],
    ])
    ingest_inbox(con, first)
    # the agency re-issues 长沙's March bill: one person, a corrected amount
    write_csv(second / "社保缴费明细_长沙_202403_更正.csv", [
        ["2024年3月", ID1, "王芳", "长沙市", "甲公司", "养老保险", "8000", "1300", "650", ""],
    ])
    ingest_inbox(con, second)
    current = con.execute("SELECT period, region, id_number, employer_amount FROM ingest.bills ORDER BY ALL").fetchall()
    assert current == [("2024-02", "长沙", ID1, Decimal("1280.00")), ("2024-03", "武汉", ID1, Decimal("1440.00")),
                       ("2024-03", "长沙", ID1, Decimal("1300.00"))]
    standing = con.execute(
        "SELECT standing, count(*) FROM raw.rows_status WHERE kind = 'bill' GROUP BY ALL ORDER BY ALL").fetchall()
    assert standing == [("current", 3), ("superseded", 2)]
    # loading the same files again changes nothing
    ingest_inbox(con, first)
    ingest_inbox(con, second)
    assert con.execute("SELECT count(*) FROM ingest.bills").fetchone()[0] == 3


def test_a_bill_is_not_taken_for_another_kind(con, tmp_path):
    from transforms.ingest.kinds import match_header

    kind, positions = match_header(HEADER)
    assert kind.name == "bill" and set(positions) == {c.name for c in kind.columns}
    insurance = ["数据期间", "公民身份号码", "姓名", "参保地", "单位名称", "险种", "参保状态", "参保开始年月", "缴费基数"]
    assert match_header(insurance)[0].name == "insurance"
