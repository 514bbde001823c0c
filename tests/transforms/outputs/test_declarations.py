"""Declarations (SPEC §7) per file: headers, people, amounts, read back with openpyxl. Findings come from
the real check SQL over hand-built warehouse rows, stored as a validation run's findings."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import openpyxl
import pytest

from tests.conftest import built_from, connected_copy
from tests.expectations.conftest import Warehouse, id_number, make_warehouse
from transforms.outputs.declarations import write_declarations

A = "长沙甲公司"
ID1 = id_number(birth="19900101", seq="123")
ID2 = id_number(birth="19850505", seq="456")
FOREIGN = "9" + id_number(area="430100", birth="19800101", seq="777")[1:]  # the check digit is not the point
RUN = "2024-04-01T00:00:00Z-test"


def cell(wh, period, employee_id, ident, insurance_type, base, employer, employee, name="张三"):
    wh._insert("ledger.contributions", dict(
        period=period, entity=A, employee_id=employee_id, id_number=ident, name=name, region="长沙",
        insurance_type=insurance_type, base=Decimal(base), month_fraction=Decimal(1),
        employer_rate=Decimal("0.16"), employee_rate=Decimal("0.08"), employer_amount=Decimal(employer),
        employee_amount=Decimal(employee), entry_type="original", run_id="L1", created_at="2024-04-01 00:00:00"))


def store(wh, period, codes):
    wh.con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES (?, ?, now(), 'succeeded')",
                   [RUN, period])
    for code in codes:
        for f in wh.findings(code, period):
            wh.con.execute(
                "INSERT INTO quality.findings (run_id, period, code, severity, entity, employee_id, id_number, region,"
                " insurance_type, transfer_id, details) VALUES (?, ?, ?, 'error', ?, ?, ?, ?, ?, ?, ?)",
                [RUN, period, code, f["entity"], f["employee_id"], f["id_number"], f["region"], f["insurance_type"],
                 f["transfer_id"], json.dumps(f["details"], ensure_ascii=False)])


def rows(path):
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return values[0], values[1:]


def cells(path):
    """Every cell of the first sheet as openpyxl reads it (type and value)."""
    sheet = openpyxl.load_workbook(path).worksheets[0]
    return [list(r) for r in sheet.iter_rows()]


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


ID3 = id_number(birth="19870303", seq="222")
ID4 = id_number(area="420102", birth="19920202", seq="242")   # 17th digit 4: a woman
ID5 = id_number(birth="19950606", seq="135")


@pytest.fixture(scope="module")
def closed_once(migrated_warehouse, tmp_path_factory):
    """The hand-built warehouse below with its findings stored, built once for the module: each test writes
    declarations from a copy of it (``closed``)."""
    path = tmp_path_factory.mktemp("declared") / "closed.duckdb"
    built_from(migrated_warehouse, path, _closed)
    return path


@pytest.fixture()
def closed(closed_once, tmp_path):
    with connected_copy(closed_once, tmp_path / closed_once.name) as con:
        yield Warehouse(con)


def _closed(con) -> None:
    wh = make_warehouse(con)
    # E1 hired 2024-01-10, never enrolled: January and February unpaid, closed in March (P itself: the 增员)
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1, name="张三", hire_date="2024-01-10")
    wh.attendance(period="2024-03", employee_id="E1", id_number=ID1, hire_date="2024-01-10")
    for month, employer in (("2024-01", "1280.00"), ("2024-02", "1280.33"), ("2024-03", "1280.00")):
        cell(wh, month, "E1", ID1, "pension", "8000.00", employer, "640.00")
        cell(wh, month, "E1", ID1, "medical", "8000.00", "640.00", "160.00")
    # E4 hired in P, insured before in 武汉 (terminated): a 转入, no arrears
    wh.employee_month(period="2024-03", employee_id="E4", id_number=ID4, name="王芳", hire_date="2024-03-20",
                      gross_pay="6000")
    wh.insurance(period="2024-03", id_number=ID4, name="王芳", region="武汉", employer="武汉乙公司",
                 status="terminated", end_month="2024-02", row_number=4)
    cell(wh, "2024-03", "E4", ID4, "pension", "6000.00", "960.00", "480.00", name="王芳")
    # E5: payroll's ID mistyped, insured by A under the real number: no 增员, no 补缴 (FIX_ID_NUMBER only)
    typo = wrong_check_digit(ID5)
    wh.payroll(period="2024-03", employee_id="E5", id_number=typo, name="赵敏")
    wh.employee_month(period="2024-03", employee_id="E5", id_number=typo, name="赵敏", hire_date="2023-05-01")
    wh.insurance(period="2024-03", id_number=ID5, name="赵敏", employer=A, row_number=5)
    for month in ("2024-02", "2024-03"):
        cell(wh, month, "E5", typo, "pension", "8000.00", "1280.00", "640.00", name="赵敏")
    # E2 left on 2024-02-20, after the cutoff: February was charged, insurance stops from March
    wh.payroll(period="2024-02", employee_id="E2", id_number=ID2, name="李四")
    wh.attendance(period="2024-03", employee_id="E2", id_number=ID2, name="李四", leave_date="2024-02-20",
                  row_number=2)
    wh.insurance(period="2024-03", id_number=ID2, name="李四", employer=A, insurance_type="pension", row_number=2)
    wh.insurance(period="2024-03", id_number=ID2, name="李四", employer=A, insurance_type="medical", row_number=3)
    # E3 left on 2024-01-10, on or before the cutoff: January not charged, so 停保 from January: a refund
    wh.payroll(period="2024-01", employee_id="E3", id_number=ID3, name="周五")
    wh.attendance(period="2024-03", employee_id="E3", id_number=ID3, name="周五", leave_date="2024-01-10",
                  row_number=3)
    wh.insurance(period="2024-03", id_number=ID3, name="周五", employer=A, insurance_type="pension", row_number=6)
    store(wh, "2024-03", ["HIRED_NOT_ENROLLED", "DEPARTED_STILL_CONTRIBUTING", "INVALID_ID_NUMBER"])


ENROL = ["姓名", "证件类型", "证件号码", "性别", "出生日期", "增员原因", "参保险种", "月缴费工资", "养老保险缴费基数",
         "医疗保险缴费基数", "参保起始年月", "入职日期", "用工形式", "单位"]
STOP = ["姓名", "证件类型", "证件号码", "减员原因", "离职日期", "停保年月", "需退费", "单位"]
ARREARS = ["姓名", "证件类型", "证件号码", "费款所属期", "险种", "缴费基数", "单位缴费", "个人缴费", "滞纳金",
           "滞纳金计算截止日", "单位"]


def test_enrolment_list_one_row_per_person(closed, tmp_path):
    files = write_declarations(closed.con, "2024-03", tmp_path / "declarations")
    assert sorted(p.name for p in files) == ["长沙_减员_2024-03.xlsx", "长沙_增员_2024-03.xlsx", "长沙_补缴_2024-03.xlsx"]
    header, body = rows(tmp_path / "declarations" / "长沙_增员_2024-03.xlsx")
    assert header == ENROL
    masked = ID1[:6] + "********" + ID1[-4:]
    assert body == [
        ["张三", "居民身份证", masked, "男", "1990-01-01", "新参保", "养老保险、医疗保险", 8000, 8000, 8000, "202403",
         "2024-01-10", "全日制", A],
        ["王芳", "居民身份证", ID4[:6] + "********" + ID4[-4:], "女", "1992-02-02", "转入", "养老保险", 6000, 6000,
         None, "202403", "2024-03-20", "全日制", A]]
    # the mistyped ID of someone insured is not declared (nor any number of theirs)
    assert not any("赵敏" in str(v) for r in body for v in r)


def test_every_declaration_is_one_header_row_of_text_ids_and_yyyymm_months(closed, tmp_path):
    write_declarations(closed.con, "2024-03", tmp_path, full_ids=True)
    for name, columns, id_col, month_cols in (("增员", ENROL, 2, [10]), ("减员", STOP, 2, [5]),
                                              ("补缴", ARREARS, 2, [3])):
        grid = cells(tmp_path / f"长沙_{name}_2024-03.xlsx")
        assert [c.value for c in grid[0]] == columns, name
        for row in grid[1:]:   # data rows only: no title, no 合计 row, IDs and months as text
            assert not any(isinstance(c.value, str) and c.value.strip() in ("合计", "总计", "小计") for c in row)
            assert row[id_col].data_type == "s" and len(row[id_col].value) == 18, name
            assert row[0].value and row[0].value != columns[0], name
            for m in month_cols:
                assert row[m].data_type == "s" and re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", row[m].value), name


def test_stop_list_stops_from_the_first_month_not_charged(closed, tmp_path):
    write_declarations(closed.con, "2024-03", tmp_path)
    header, body = rows(tmp_path / "长沙_减员_2024-03.xlsx")
    assert header == STOP
    reason = "解除或终止劳动关系"
    assert [[r[0], r[3], r[4], r[5], r[6], r[7]] for r in body] == [
        ["李四", reason, "2024-02-20", "202403", "否", A],   # left after the 15th: February charged
        ["周五", reason, "2024-01-10", "202401", "是", A]]   # left by the 15th: January not charged, refunded


def test_arrears_list_per_person_month_and_type(closed, tmp_path):
    write_declarations(closed.con, "2024-03", tmp_path, full_ids=True)
    header, body = rows(tmp_path / "长沙_补缴_2024-03.xlsx")
    assert header == ARREARS
    # January 1920.00 + 800.00 over 60 days = 81.60, split 1920 : 800 → 57.60 + 24.00; February 1920.33 + 800.00
    # over 31 days = 42.165115 → 42.17, split 29.768… : 12.401… → 29.76 + 12.40 + the last cent to the larger
    # remainder (养老) → 29.77 + 12.40. March is P: declared by the 增员, not here.
    assert body == [["张三", "居民身份证", ID1, "202401", "养老保险", 8000, 1280, 640, 57.6, "2024-03-31", A],
                    ["张三", "居民身份证", ID1, "202401", "医疗保险", 8000, 640, 160, 24, "2024-03-31", A],
                    ["张三", "居民身份证", ID1, "202402", "养老保险", 8000, 1280.33, 640, 29.77, "2024-03-31", A],
                    ["张三", "居民身份证", ID1, "202402", "医疗保险", 8000, 640, 160, 12.4, "2024-03-31", A]]


def test_late_fees_of_the_arrears_file_add_up_to_the_findings(closed, tmp_path):
    write_declarations(closed.con, "2024-03", tmp_path, full_ids=True)
    _, body = rows(tmp_path / "长沙_补缴_2024-03.xlsx")
    [(late_fee,)] = closed.con.execute(
        "SELECT details ->> '$.late_fee' FROM quality.findings WHERE code = 'HIRED_NOT_ENROLLED' AND employee_id = 'E1'"
    ).fetchall()
    assert sum(Decimal(str(r[8])) for r in body) == Decimal(late_fee) == Decimal("123.77")


def test_late_fee_split_sums_to_the_month_fee_for_awkward_amounts(con, tmp_path):
    """Three types whose shares all have a remainder: the cents still add up to the month's fee."""
    wh = make_warehouse(con)
    wh.employee_month(period="2024-03", employee_id="E1", id_number=ID1, hire_date="2023-12-01")
    for t, employer, employee in (("pension", "1001.01", "333.33"), ("medical", "777.77", "111.11"),
                                  ("unemployment", "13.13", "7.07")):
        cell(wh, "2023-12", "E1", ID1, t, "8000.00", employer, employee)
    store(wh, "2024-03", ["HIRED_NOT_ENROLLED"])
    write_declarations(con, "2024-03", tmp_path, full_ids=True)
    _, body = rows(tmp_path / "长沙_补缴_2024-03.xlsx")
    [(late_fee,)] = con.execute("SELECT details ->> '$.late_fee' FROM quality.findings").fetchall()
    # 2243.42 × 0.05% × 91 days (12-31 → 03-31) = 102.07561 → 102.08
    assert late_fee == "102.08" and len(body) == 3
    assert sum(Decimal(str(r[8])) for r in body) == Decimal("102.08")
    shares = {r[4]: Decimal(str(r[8])) for r in body}
    assert shares == {"养老保险": Decimal("60.71"), "医疗保险": Decimal("40.45"), "失业保险": Decimal("0.92")}


def test_base_declaration_in_the_month_the_contribution_year_starts(con, tmp_path):
    wh = make_warehouse(con)
    con.execute("INSERT INTO ref.regions (region, province, aliases) VALUES ('长沙', '湖南', []) ON CONFLICT DO NOTHING")
    wh.employee_month(period="2024-01", employee_id="E1", id_number=ID1, gross_pay="9000")
    wh.employee_month(period="2024-01", employee_id="E9", id_number=FOREIGN, name="John", gross_pay="3000",
                      month_fraction="0")  # not in the ledger population
    cell(wh, "2024-01", "E1", ID1, "pension", "9000.00", "1440.00", "720.00")
    cell(wh, "2024-01", "E1", ID1, "work_injury", "9000.00", "36.00", "0.00")
    store(wh, "2024-01", [])
    files = write_declarations(con, "2024-01", tmp_path)
    assert [p.name for p in files] == ["长沙_缴费基数申报_2024.xlsx"]
    header, body = rows(files[0])
    assert header == ["姓名", "证件类型", "证件号码", "上年月平均工资", "养老保险缴费基数", "工伤保险缴费基数", "单位"]
    assert body == [["张三", "居民身份证", ID1[:6] + "********" + ID1[-4:], 9000, 9000, 9000, A]]
    # not the start month: no base declaration
    assert write_declarations(con, "2024-02", tmp_path) == []


def test_ids_typed_into_names_or_regions_are_masked_in_declarations():
    """Issue 18.7: a name holding an ID (full-width here) is redacted unless full IDs were asked for, and a
    region holding one never reaches a file name."""
    import polars as pl

    from transforms.outputs.declarations import _people, _safe

    frame = pl.DataFrame({"id_number": ["430102199001011234"], "name": ["王芳４３０１０２１９９００１０１１２３４"],
                          "entity": ["星城 430102 19900101 1234"]})
    masked = _people(frame, full_ids=False)
    assert masked.row(0, named=True) | {"id_type": None} == {
        "id_number": "430102********1234", "name": "王芳430102********1234", "entity": "星城 430102********1234",
        "id_type": None}
    assert _people(frame, full_ids=True)["name"].to_list() == ["王芳４３０１０２１９９００１０１１２３４"]
    assert "19900101" not in _safe("430102199001011234")


def test_stop_month_follows_the_regions_cutoff_day(con, tmp_path):
    """§4.3 with hire_cutoff_day 20: leaving on the 18th is on or before the cutoff, so that month is not charged
    and insurance stops from it; the ledger's own month_fraction decides, so the two cannot disagree."""
    wh = make_warehouse(con)
    con.execute("INSERT INTO ref.regions (region, province, aliases, hire_cutoff_day) VALUES ('长沙', '湖南', [], 20)"
                " ON CONFLICT (region) DO UPDATE SET hire_cutoff_day = 20")
    wh.payroll(period="2024-02", employee_id="E2", id_number=ID2, name="李四")
    wh.attendance(period="2024-03", employee_id="E2", id_number=ID2, name="李四", leave_date="2024-02-18")
    wh.insurance(period="2024-03", id_number=ID2, name="李四", employer=A)
    [finding] = wh.findings("DEPARTED_STILL_CONTRIBUTING")
    assert finding["details"]["stop_month"] == "2024-02"
    [(fraction,)] = con.execute("SELECT ledger.month_fraction(DATE '2020-01-01', DATE '2024-02-18',"
                                " ref.hire_cutoff(20, '2024-02'), DATE '2024-02-29', 0.5)").fetchall()
    assert fraction == 0
    store(wh, "2024-03", ["DEPARTED_STILL_CONTRIBUTING"])
    write_declarations(con, "2024-03", tmp_path)
    _, body = rows(tmp_path / "长沙_减员_2024-03.xlsx")
    assert [(r[5], r[6]) for r in body] == [("202402", "是")]


def test_a_part_timer_is_declared_for_work_injury_only(con, tmp_path):
    """SPEC §3/§7: a part-timer (非全日制) is levied work injury only: the 增员 names 工伤保险 and 非全日制."""
    wh = make_warehouse(con)
    wh.employee_month(period="2024-03", employee_id="E6", id_number=ID3, name="周五", hire_date="2024-03-04")
    con.execute("UPDATE ledger.employee_months SET employment_type = 'part_time' WHERE employee_id = 'E6'")
    wh._insert("ledger.contributions", dict(
        period="2024-03", entity=A, employee_id="E6", id_number=ID3, name="周五", region="长沙",
        insurance_type="work_injury", base=Decimal("8000.00"), month_fraction=Decimal(1),
        employer_rate=Decimal("0.004"), employee_rate=Decimal("0"), employer_amount=Decimal("32.00"),
        employee_amount=Decimal("0.00"), entry_type="original", run_id="L1", created_at="2024-04-01 00:00:00"))
    store(wh, "2024-03", ["HIRED_NOT_ENROLLED"])
    write_declarations(con, "2024-03", tmp_path)
    header, body = rows(tmp_path / "长沙_增员_2024-03.xlsx")
    person = dict(zip(header, body[0], strict=True))
    assert len(body) == 1 and person["参保险种"] == "工伤保险" and person["用工形式"] == "非全日制"
    assert person["工伤保险缴费基数"] == 8000 and "养老保险缴费基数" not in header
