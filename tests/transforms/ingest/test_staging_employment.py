"""SPEC v3 §2/§3 attendance columns 用工形式 (employment_type) and 岗位类别 (position_category), read from real
files: every spelling maps to its code, a blank 用工形式 is full-time, a file without the column says nothing,
and a value outside the lists is an UNKNOWN_VALUE reject with a Chinese sentence naming the row."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from transforms.ingest.inbox import ingest_inbox

HEADER = "所属期,工号,姓名,公司,入职日期,用工形式,岗位类别"
ROWS = [
    "2024-03,E1,王芳,长沙测试有限公司,2020-01-01,全日制,干部",
    "2024-03,E2,李娜,长沙测试有限公司,2020-01-01,非全日制,工人",
    "2024-03,E3,张伟,长沙测试有限公司,2020-01-01,退休返聘,",
    "2024-03,E4,刘洋,长沙测试有限公司,2020-01-01,实习,",
    "2024-03,E5,陈静,长沙测试有限公司,2020-01-01,,管理",
    "2024-03,E6,杨帆,长沙测试有限公司,2020-01-01,劳动合同,技术",
    "2024-03,E7,赵敏,长沙测试有限公司,2020-01-01,临时工,工人",
    "2024-03,E8,周杰,长沙测试有限公司,2020-01-01,全日制,领导",
]


def staged(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT employee_id, employment_type, position_category FROM staging.attendance").fetchall()}


def test_employment_types_and_categories_map_and_unknown_values_are_rejected(con, tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "花名册_202403.csv").write_bytes(("\n".join([HEADER, *ROWS]) + "\n").encode("gbk"))
    ingest_inbox(con, inbox)
    assert staged(con) == {
        "E1": ("full_time", "cadre"), "E2": ("part_time", "worker"), "E3": ("retiree", None),
        "E4": ("intern", None), "E5": ("full_time", "cadre"), "E6": ("full_time", "cadre"),
    }
    rejects = con.execute("SELECT row_number, reason_code, reason FROM ingest.rejects ORDER BY row_number").fetchall()
    assert [r[:2] for r in rejects] == [(7, "UNKNOWN_VALUE"), (8, "UNKNOWN_VALUE")]
    assert rejects[0][2] == "第 7 行：用工形式“临时工”不是可识别的用工形式，请填写 全日制、非全日制、退休返聘 或 实习"
    assert rejects[1][2].startswith("第 8 行：岗位类别“领导”不是可识别的岗位类别")
    assert con.execute("SELECT rows_read, rows_staged, rows_rejected FROM ingest.loads").fetchone() == (8, 6, 2)


def test_a_file_without_the_column_leaves_the_type_unknown(con, tmp_path: Path):
    """A roster's blank 用工形式 is full-time; a file without the column (人员类别 absent) stages NULL, so
    the latest row that carries the column decides (core.latest_attendance)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["所属期", "工号", "姓名", "公司", "入职日期", "出勤天数"])
    sheet.append(["2024-04", "E1", "王芳", "长沙测试有限公司", "2020-01-01", 21])
    book.save(inbox / "考勤_202404.xlsx")
    (inbox / "花名册_202403.csv").write_text(
        "所属期,工号,姓名,公司,入职日期,人员类别,人员身份\n2024-03,E1,王芳,长沙测试有限公司,2020-01-01,非全日制,\n"
        "2024-03,E2,李娜,长沙测试有限公司,2020-01-01,,\n", encoding="utf-8")
    ingest_inbox(con, inbox)
    rows = con.execute("SELECT period, employee_id, employment_type, position_category FROM staging.attendance"
                       " ORDER BY period, employee_id").fetchall()
    assert rows == [("2024-03", "E1", "part_time", None), ("2024-03", "E2", "full_time", None),
                    ("2024-04", "E1", None, None)]
    latest = con.execute("SELECT employee_id, period, employment_type FROM core.latest_attendance('2024-04')"
                         " ORDER BY employee_id").fetchall()
    assert latest == [("E1", "2024-04", "part_time"), ("E2", "2024-03", "full_time")]
