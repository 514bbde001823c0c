"""Real export layouts (SPEC §2 v3, issue 23), built here as the systems write them: GBK CSV, xlsx, xls;
title rows, two-row headers, totals and sample rows, per-type withholding, the month in the file name and
the region and employer in folders, import profiles. Real files through the real ingest."""

from __future__ import annotations

import os
import shutil
import tomllib
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from transforms.actions.status_updates import ACTION_WORKBOOK
from transforms.common.privacy import redact, redact_file_name
from transforms.ingest.context import month_in
from transforms.ingest.inbox import ingest_inbox
from transforms.ingest.profile_suggest import suggest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ID1, ID2, ID3 = "430102199001011237", "430102198502023456", "44010619850524007X"


def write(path: Path, text: str, encoding: str = "gbk") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def loads(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, kind, status, rows_read, rows_staged, rows_rejected, rows_not_data, message"
        " FROM ingest.loads ORDER BY load_id").fetchall()}


def test_agency_insurance_export_with_titles_codes_and_a_totals_row(con, tmp_path):
    """单位参保人员信息查询 (GBK): title rows, 人员参保状态, 险种 codes with a legend in the header, a 合计 row;
    the month, region and employer from the folders."""
    inbox = tmp_path / "inbox"
    write(inbox / "星城智造有限公司" / "长沙" / "2024-06" / "单位参保人员信息查询.csv", "\n".join([
        "单位参保人员信息查询,,,,,,,",
        "打印时间：2024-07-03 10:00,,,,,,,",
        "序号,个人编号,姓名,*证件号码,人员参保状态,\"险种类型(110 养老,210 失业)\",开始年月,人员缴费基数(元)",
        f"1,0001,张 三,{ID1},正常参保,110,2020-01,8000",
        f"2,0002,李四,{ID2},终止缴费,210,2019-05,6000.00",
        "合计：,,,,,,,14000",
    ]) + "\n")
    ingest_inbox(con, inbox)
    name = "星城智造有限公司/长沙/2024-06/单位参保人员信息查询.csv"
    assert loads(con)[name][:6] == ("insurance", "loaded", 3, 2, 0, 1)
    rows = con.execute("SELECT period, region, employer, insurance_type, status, start_month, base, name"
                       " FROM staging.insurance ORDER BY row_number").fetchall()
    assert rows == [("2024-06", "长沙", "星城智造有限公司", "pension", "active", "2020-01", Decimal("8000.00"), "张三"),
                    ("2024-06", "长沙", "星城智造有限公司", "unemployment", "terminated", "2019-05",
                     Decimal("6000.00"), "李四")]  # the print date in the title is not the month


def test_sap_payroll_with_a_two_row_header_and_per_type_withholding(con, tmp_path):
    """An enterprise 工资表 (xlsx): a merged title with the month, a two-row header whose 代扣款项 spans its
    children, per-type withholding added up (never 住房公积金), a 合计 row; entity and city from folders."""
    inbox = tmp_path / "inbox"
    path = inbox / "星城智造有限公司" / "长沙" / "工资表.xlsx"
    path.parent.mkdir(parents=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年6月工资表"])
    sheet.merge_cells("A1:H1")
    sheet.append(["员工编号", "姓名", "身份证号码", "应发合计", "代扣款项", None, None, "实发合计"])
    sheet.append([None, None, None, None, "养老保险(个人)", "医疗保险(个人)", "住房公积金", None])
    sheet.merge_cells("E2:G2")
    sheet.append(["E001", "王芳", ID1, 10000, 800, 200.5, 1200, 7799.5])
    sheet.append(["E002", "赵六", ID2, "8,000.00", None, 160, 960, 6880])
    sheet.append(["合计", None, None, 18000, 800, 360.5, 2160, 14679.5])
    book.save(path)
    ingest_inbox(con, inbox)
    assert loads(con)["星城智造有限公司/长沙/工资表.xlsx"][:6] == ("payroll", "loaded", 3, 2, 0, 1)
    rows = con.execute("SELECT employee_id, period, entity, city, gross_pay, si_withheld, net_pay"
                       " FROM staging.payroll ORDER BY row_number").fetchall()
    assert rows == [("E001", "2024-06", "星城智造有限公司", "长沙", Decimal("10000.00"), Decimal("1000.50"),
                     Decimal("7799.50")),
                    ("E002", "2024-06", "星城智造有限公司", "长沙", Decimal("8000.00"), Decimal("160.00"),
                     Decimal("6880.00"))]
    raw = con.execute("SELECT cells FROM raw.rows WHERE row_number = 1").fetchone()[0]
    assert "代扣款项/养老保险(个人)" in raw  # a two-row header reads as parent/child


def test_outsourcer_template_sample_row_and_id_number_as_employee_id(con, tmp_path):
    """An outsourcer's salary import template: `*` marks, a unit in the header, its 序号 例 sample row with
    导入样板数据, no 工号 column (the normalised ID number stands in), the month in the file name."""
    inbox = tmp_path / "inbox"
    write(inbox / "星城智造有限公司" / "长沙" / "薪资导入模板_2024年6月.csv", "\n".join([
        "*序号,*姓名,*证件号码,*应发工资(单位:元),备注",
        "例,张三,110101199003077777,8000,导入样板数据",
        f"1,王芳,{ID1.replace('7', '7', 1)} ,9000,",
        f"2,刘七,{ID3.lower()},7000,,",  # one empty cell more than the header: not a malformed row
    ]) + "\n", "utf-8-sig")
    ingest_inbox(con, inbox)
    assert loads(con)["星城智造有限公司/长沙/薪资导入模板_2024年6月.csv"][:6] == ("payroll", "loaded", 3, 2, 0, 1)
    rows = con.execute("SELECT employee_id, id_number, period, gross_pay FROM staging.payroll ORDER BY row_number"
                       ).fetchall()
    assert rows == [(ID1, ID1, "2024-06", Decimal("9000.00")), (ID3, ID3, "2024-06", Decimal("7000.00"))]
    listed = con.execute("SELECT row_number, reason_code FROM ingest.rejects").fetchall()
    assert listed == [(1, "NOT_DATA")]


def test_unemployment_portal_xls_takes_its_insurance_type_from_the_title(con, tmp_path):
    inbox = tmp_path / "inbox"
    target = inbox / "202406" / "武汉江城软件有限公司" / "武汉" / "失业保险人员缴费查询列表.xls"
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "unemployment_payments.xls", target)
    ingest_inbox(con, inbox)
    (load,) = loads(con).values()
    assert load[:6] == ("bill", "loaded", 30, 29, 0, 1)
    totals = con.execute("SELECT DISTINCT period, region, employer, insurance_type, sum(employee_amount) OVER (),"
                         " sum(employer_amount) OVER () FROM staging.bill").fetchall()
    assert totals == [("2024-06", "武汉", "武汉江城软件有限公司", "unemployment", Decimal("877.50"), Decimal("2045.80"))]


def test_a_column_no_source_gives_rejects_its_rows_naming_where_it_could_come_from(con, tmp_path):
    """No month anywhere: the file is recognised, its rows are MISSING_FIELD saying where a month could be."""
    inbox = tmp_path / "inbox"
    write(inbox / "星城智造有限公司" / "长沙" / "工资.csv", f"工号,姓名,身份证号,应发工资\nE1,王芳,{ID1},9000\n")
    summaries = ingest_inbox(con, inbox)
    assert loads(con)["星城智造有限公司/长沙/工资.csv"][:6] == ("payroll", "loaded", 1, 0, 1, 0)
    reason = con.execute("SELECT reason FROM ingest.rejects").fetchone()[0]
    assert reason.startswith("第 1 行：文件没有工资月份列") and "文件名" in reason and "文件夹" in reason
    assert "缺少列：工资月份" in summaries[0]["message"]


def test_first_listed_alias_wins_and_the_other_is_an_extra_column(con, tmp_path):
    inbox = tmp_path / "inbox"
    write(inbox / "2024-06" / "长沙" / "星城智造有限公司" / "失业参保.csv", "\n".join([
        "姓名,身份证号,参加失业保险时间,开始年月,参保状态,缴费基数,险种",
        f"王芳,{ID1},2015-03-01,2016-07,参保缴费,5000,失业保险",
    ]) + "\n")
    ingest_inbox(con, inbox)
    assert con.execute("SELECT start_month, employer FROM staging.insurance").fetchall() == [
        ("2016-07", "星城智造有限公司")]


def test_one_kind_per_file_payroll_before_attendance(con, tmp_path):
    """A payroll's 入职时间 column is information, not an attendance file."""
    inbox = tmp_path / "inbox"
    write(inbox / "工资_202406.csv", "\n".join([
        "工号,姓名,身份证号,公司,参保城市,入职时间,应发工资",
        f"E1,王芳,{ID1},星城智造有限公司,长沙,2020-01-01,9000",
    ]) + "\n")
    ingest_inbox(con, inbox)
    assert [v[0] for v in loads(con).values()] == ["payroll"]


def test_profile_maps_columns_and_sums_and_a_header_it_lacks_fails_naming_both(con, tmp_path):
    inbox = tmp_path / "inbox"
    write(inbox / "外包" / "发薪_202406.csv", "\n".join([
        "员工代码,员工名字,证件号,税前应发,社保个人A,社保个人B,公积金个人,单位,缴纳城市",
        f"A1,王芳,{ID1},9000,100.10,50,300,星城智造有限公司,长沙",
    ]) + "\n")
    write(inbox / "外包" / "发薪_202407.csv", f"员工代码,员工名字,证件号,税前\nA1,王芳,{ID1},9000\n")
    write(inbox / "shebao-import.toml", "\n".join([
        "[[source]]", 'match = "外包/发薪_*"', 'kind = "payroll"',
        "[source.columns]", 'employee_id = "员工代码"', 'name = "员工名字"', 'id_number = "证件号"',
        'gross_pay = "税前应发"', 'entity = "单位"', 'city = "缴纳城市"',
        "[source.sum]", 'si_withheld = ["社保个人A", "社保个人B"]',
    ]) + "\n", "utf-8")
    ingest_inbox(con, inbox)
    recorded = loads(con)
    assert recorded["外包/发薪_202406.csv"][:6] == ("payroll", "loaded", 1, 1, 0, 0)
    assert con.execute("SELECT employee_id, period, gross_pay, si_withheld FROM staging.payroll").fetchall() == [
        ("A1", "2024-06", Decimal("9000.00"), Decimal("150.10"))]
    status, message = recorded["外包/发薪_202407.csv"][1], recorded["外包/发薪_202407.csv"][-1]
    assert status == "failed" and "税前应发" in message and "导入方案" in message
    assert "shebao-import.toml" not in recorded  # the profile is not an extract


def test_profile_suggest_drafts_a_profile_that_loads_the_file(con, tmp_path):
    source = write(tmp_path / "x" / "发薪.csv", "\n".join([
        "员工代码,员工名字,证件号,税前应发,发放月,单位,缴纳城市",
        f"A1,王芳,{ID1},9000,2024-06,星城智造有限公司,长沙",
    ]) + "\n")
    draft = suggest(source)
    parsed = tomllib.loads(draft)
    (entry,) = parsed["source"]
    assert entry["kind"] == "payroll"
    assert entry["columns"]["gross_pay"] == "税前应发" and entry["columns"]["name"] == "员工名字"
    inbox = tmp_path / "inbox"
    shutil.copy(source, inbox.mkdir() or inbox / "发薪.csv")
    profile = tmp_path / "profiles.toml"
    profile.write_text(draft.replace("# period = \"\"", 'period = "2024-06"'), encoding="utf-8")
    ingest_inbox(con, inbox)  # unrecognised without the profile, naming what it lacks
    (unrecognised,) = loads(con).values()
    assert unrecognised[1] == "unrecognized" and "应发工资" in unrecognised[-1]
    con.execute("DELETE FROM ingest.loads")
    ingest_inbox(con, inbox, profiles_file=profile)
    (load,) = loads(con).values()
    assert load[:5] == ("payroll", "loaded", 1, 1, 0)


def test_a_non_ascii_digit_is_one_rows_bad_amount_not_a_failed_file(con, tmp_path):
    """Issue 30.5: an Arabic-Indic, Devanagari, Thai or math-bold digit in an amount cell."""
    inbox = tmp_path / "inbox"
    rows = [f"E{i},王芳,{ID1},星城智造有限公司,长沙,2024-06,{amount}"
            for i, amount in enumerate(["9000", "٩٠٠٠", "९०००", "๙๐๐๐", "𝟗𝟎𝟎𝟎"])]
    write(inbox / "工资.csv", "工号,姓名,身份证号,公司,参保城市,工资月份,应发工资\n" + "\n".join(rows) + "\n", "utf-8")
    ingest_inbox(con, inbox)
    assert loads(con)["工资.csv"][:6] == ("payroll", "loaded", 5, 1, 4, 0)
    assert {r[0] for r in con.execute("SELECT reason_code FROM ingest.rejects").fetchall()} == {"BAD_AMOUNT"}


def test_a_re_export_written_later_supersedes_its_original_whatever_the_names(con, tmp_path):
    """Issue 30.7: `…202408 (1).csv` sorts before `…202408.csv` but was exported later: it is current."""
    inbox = tmp_path / "inbox"
    header = "费款所属期,身份证号,姓名,参保地,单位名称,险种,缴费基数,单位缴费,个人缴费"
    original = write(inbox / "社保缴费明细_长沙_202408.csv",
                     f"{header}\n2024-08,{ID1},王芳,长沙,星城智造有限公司,养老,5000,800,400\n", "utf-8")
    again = write(inbox / "社保缴费明细_长沙_202408 (1).csv",
                  f"{header}\n2024-08,{ID1},王芳,长沙,星城智造有限公司,养老,6000,960,480\n", "utf-8")
    os.utime(original, (1_700_000_000, 1_700_000_000))
    os.utime(again, (1_700_000_600, 1_700_000_600))
    ingest_inbox(con, inbox)
    assert con.execute("SELECT base FROM ingest.bills").fetchall() == [(Decimal("6000.00"),)]


def test_an_extra_sheet_of_another_kind_in_an_action_workbook_is_loaded(con, tmp_path):
    """Issue 30.6: the workbook's action rows are applied (or rejected), and a payroll sheet pasted into it is
    loaded and counted, not ignored."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    book = openpyxl.Workbook()
    actions = book.active
    actions.title = "更正代扣"
    actions.append(["动作编号", "处理状态", "处理说明"])
    actions.append(["ADJ-ffffffffffff", "已提交", "已处理"])
    payroll = book.create_sheet("工资表")
    payroll.append(["工号", "姓名", "身份证号", "公司", "参保城市", "工资月份", "应发工资"])
    payroll.append(["E1", "王芳", ID1, "星城智造有限公司", "长沙", "2024-06", 9000])
    book.save(inbox / "actions_2024-06.xlsx")
    ingest_inbox(con, inbox, returned=[ACTION_WORKBOOK])
    kinds = {r[0]: r[1:] for r in con.execute(
        "SELECT kind, status, rows_read, rows_staged, rows_rejected FROM ingest.loads").fetchall()}
    assert kinds["action_updates"] == ("loaded", 1, 0, 1)
    assert kinds["payroll"] == ("loaded", 1, 1, 0)


def test_a_file_name_with_a_date_range_is_not_masked_but_ids_still_are():
    name = "每日统计_20240601-20240630.xlsx"
    assert redact_file_name(name) == name
    assert redact_file_name(f"{ID1}_{name}") == f"430102********1237_{name}"
    assert redact(f"{ID1} 20240601-20240630") != f"{ID1} 20240601-20240630"


@pytest.mark.parametrize(("text", "month"), [
    ("正常工资薪金收入_202406", "2024-06"), ("工资表2024-06", "2024-06"), ("2024年6月工资表", "2024-06"),
    ("每日统计_20240601-20240630", "2024-06"), ("考勤_20240601-20240715", None), ("参保人员数据", None),
    ("花名册_2024.6", "2024-06"),
])
def test_month_in_a_name_or_title(text, month):
    assert month_in(text) == month


def test_dingtalk_daily_attendance_counts_days_present_per_person_and_month(con, tmp_path):
    """DingTalk 每日统计 (xlsx): a row per person and day; one attendance row per person and month with the
    days present, no hire date required; the file name's date range is shown unmasked."""
    inbox = tmp_path / "inbox"
    path = inbox / "星城智造有限公司" / "每日统计_20240601-20240630.xlsx"
    path.parent.mkdir(parents=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["每日统计 统计日期：2024-06-01 至 2024-06-30"])
    sheet.append(["姓名", "考勤组", "部门", "工号", "职位", "UserId", "日期", "班次", "上班1打卡时间", "上班1打卡结果",
                  "下班1打卡时间", "下班1打卡结果"])
    days = [("王芳", "E1", "24-06-03 星期一", "A 09:00-18:00", "08:55", "正常", "18:02", "正常"),
            ("王芳", "E1", "24-06-04 星期二", "A 09:00-18:00", "09:10", "迟到", None, "缺卡"),
            ("王芳", "E1", "24-06-05 星期三", "A 09:00-18:00", None, "缺卡", None, "缺卡"),
            ("王芳", "E1", "24-06-08 星期六", "休息", None, None, None, None),
            ("赵六", "E2", "24-06-03 星期一", "A 09:00-18:00", "08:30", "正常", "18:30", "正常")]
    for name, number, day, shift, t1, r1, t2, r2 in days:
        sheet.append([name, "研发", "研发部", number, "工程师", "u1", day, shift, t1, r1, t2, r2])
    book.save(path)
    summaries = ingest_inbox(con, inbox)
    assert summaries[0]["kind"] == "attendance" and summaries[0]["rows_staged"] == 2
    rows = con.execute("SELECT employee_id, period, entity, attendance_days, hire_date FROM staging.attendance"
                       " ORDER BY employee_id").fetchall()
    assert rows == [("E1", "2024-06", "星城智造有限公司", Decimal("2.00"), None),
                    ("E2", "2024-06", "星城智造有限公司", Decimal("1.00"), None)]
    assert redact_file_name(summaries[0]["source_file"]) == "星城智造有限公司/每日统计_20240601-20240630.xlsx"


def test_a_date_in_a_month_column_is_its_month(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [f"E{i},王芳,{ID1},星城智造有限公司,长沙,{month},9000"
            for i, month in enumerate(["2024/6/30", "2024-06-01", "20240630", "2024年6月30日"])]
    write(inbox / "工资.csv", "工号,姓名,身份证号,公司,参保城市,工资月份,应发工资\n" + "\n".join(rows) + "\n")
    ingest_inbox(con, inbox)
    assert {r[0] for r in con.execute("SELECT period FROM staging.payroll").fetchall()} == {"2024-06"}


@pytest.mark.parametrize(("relative", "titles", "want"), [
    ("202406/武汉江城软件有限公司/武汉/参保人员数据.csv", [],
     {"month": "2024-06", "org": "武汉江城软件有限公司", "region": "武汉"}),
    ("2024/06/星城智造有限公司/长沙/工资.csv", [], {"month": "2024-06", "org": "星城智造有限公司", "region": "长沙"}),
    ("2024/星城智造有限公司/工资_202405.csv", ["2024年7月工资表"], {"month": "2024-07", "org": "星城智造有限公司"}),
    ("工资.csv", ["报表生成时间：2024-07-03", "失业保险人员缴费查询"], {"insurance_type": "失业保险"}),
])
def test_context_from_titles_name_and_folders_in_spec_order(relative, titles, want):
    from transforms.ingest.context import gather

    found = gather(relative, titles, {"武汉": "武汉", "长沙": "长沙"}).values
    assert {what: value for what, (value, _) in found.items()} == want


def test_the_report_opens_with_the_files_not_loaded_and_never_says_all_rows_loaded_then(con, tmp_path):
    from transforms.outputs.report import _rejects, files_not_loaded

    inbox = tmp_path / "inbox"
    write(inbox / "工资_202406.csv", f"工号,姓名,身份证号,公司,参保城市,应发工资\nE1,王芳,{ID1},星城智造有限公司,长沙,9000\n")
    assert files_not_loaded(con, "2024-06", None, redact) == ""
    ingest_inbox(con, inbox)
    assert "所有数据行均已载入" in _rejects(con, "2024-06", None, redact)
    write(inbox / "每日统计_20240601-20240630.csv", "备注,内容\n1,无\n")
    write(inbox / "合计.csv", "工号,姓名,身份证号,公司,参保城市,工资月份,应发工资\n合计,,,,,,9000\n")
    ingest_inbox(con, inbox)
    block = files_not_loaded(con, "2024-06", None, redact)
    assert "每日统计_20240601-20240630.csv" in block and "未识别" in block
    assert "合计.csv" not in block  # a totals row is not data: nothing was lost
    assert "所有数据行均已载入" not in _rejects(con, "2024-06", None, redact)


def test_dingtalk_daily_attendance_with_a_two_row_header(con, tmp_path):
    """The same export with 上班1/下班1 merged over 打卡时间 and 打卡结果, and a title naming the range."""
    inbox = tmp_path / "inbox"
    path = inbox / "星城智造有限公司" / "每日统计.xlsx"
    path.parent.mkdir(parents=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["每日统计 统计日期：2024-06-01 至 2024-06-30 报表生成时间：2024-07-01 09:00"])
    sheet.append(["姓名", "工号", "日期", "班次", "上班1", None, "下班1", None])
    sheet.append([None, None, None, None, "打卡时间", "打卡结果", "打卡时间", "打卡结果"])
    sheet.merge_cells("E2:F2")
    sheet.merge_cells("G2:H2")
    sheet.append(["王芳", "E1", "2024-06-03", "A", "08:55", "正常", "18:01", "正常"])
    sheet.append(["王芳", "E1", "2024-06-04", "A", None, "旷工", None, "旷工"])
    sheet.append(["王芳", "E1", "2024-06-05", "A", "09:20", "迟到", "18:00", "正常"])
    book.save(path)
    ingest_inbox(con, inbox)
    assert con.execute("SELECT employee_id, period, attendance_days FROM staging.attendance").fetchall() == [
        ("E1", "2024-06", Decimal("2.00"))]


def test_the_report_says_who_has_daily_attendance_but_no_hire_date(con, tmp_path):
    """SPEC §2 v3: daily attendance gives no hire or leave dates; the whole month counts (§4.2) and the report
    says for how many people no row gave one, until a roster (花名册) does."""
    from transforms.ledger.book import compute_ledger
    from transforms.outputs.report import _without_hire_dates

    inbox = tmp_path / "inbox"
    write(inbox / "工资_202406.csv", "工号,姓名,身份证号,公司,参保城市,应发工资\n"
          f"E1,王芳,{ID1},星城智造有限公司,长沙,9000\nE2,赵六,{ID2},星城智造有限公司,长沙,8000\n")
    write(inbox / "星城智造有限公司" / "每日统计_20240601-20240630.csv",
          "姓名,工号,日期,上班1打卡结果\n王芳,E1,24-06-03 星期一,正常\n赵六,E2,24-06-03 星期一,正常\n")
    ingest_inbox(con, inbox)
    compute_ledger(con, "2024-06")
    assert 'id="no-hire-dates">2 人只有每日考勤' in _without_hire_dates(con, "2024-06")
    write(inbox / "花名册_202405.csv", "工号,姓名,身份证号,所属公司,入职时间\n"
          f"E1,王芳,{ID1},星城智造有限公司,2020-01-06\n")  # last month's roster gives 王芳's date
    ingest_inbox(con, inbox)
    compute_ledger(con, "2024-06")
    assert 'id="no-hire-dates">1 人只有每日考勤' in _without_hire_dates(con, "2024-06")
