"""Ledger exports for finance: numbers as numbers, totals that add up, IDs masked for finance."""

from __future__ import annotations

import re
import shutil
import zipfile
from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from transforms.common.spreadsheet import neutralise
from transforms.ingest.inbox import ingest_inbox, record_load_keys
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from transforms.outputs.export import (
    SHEETS,
    TYPE_NAMES,
    change_lines,
    export_ledger,
    ledger_rows,
    run_changes,
    unbooked_people,
)
from warehouse.db import connect
from warehouse.errors import ShebaoError

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")
# 缴费明细 rows a spool chunk in the chunked tests: seven chunks of the month's 633 rows, the last one short.
# Chunks of 7 rows (91 chunks) took three times as long.
SMALL_CHUNK = 97


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory, acceptance_ingested, acceptance_dir):
    path = tmp_path_factory.mktemp("export") / "ledger.duckdb"
    shutil.copy(acceptance_ingested, path)
    con = connect(path)
    apply_policy(con, acceptance_dir / "policy.csv")
    compute_ledger(con, "2024-03")
    con.close()
    return path


def test_xlsx_numbers_and_totals(ledger_path, tmp_path):
    con = connect(ledger_path)
    [path] = export_ledger(con, "2024-03", "xlsx", tmp_path, role="finance")
    employer = con.execute("SELECT sum(employer_amount) FROM ledger.current_contributions WHERE period = '2024-03'").fetchone()[0]
    con.close()
    book = openpyxl.load_workbook(path)
    detail, totals = book["缴费明细"], book["合计"]
    assert [c.value for c in detail[1]][:3] == ["期间", "单位", "工号"]
    header = [c.value for c in totals[1]]
    column = header.index("单位缴费")
    rows = list(totals.iter_rows(min_row=2, values_only=True))
    assert all(isinstance(r[column], float | int) for r in rows)
    assert rows[-1][0] == "总计"
    assert round(sum(Decimal(str(r[column])) for r in rows[:-1]), 2) == employer
    assert Decimal(str(rows[-1][column])).quantize(Decimal("0.01")) == employer
    with zipfile.ZipFile(path) as archive:
        assert not FULL_ID.search("".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist()))


def test_parquet_keeps_decimals_and_csv_has_chinese_headers(ledger_path, tmp_path):
    con = connect(ledger_path)
    parquet = export_ledger(con, "2024-03", "parquet", tmp_path, role="hr_manager")
    csv = export_ledger(con, "2024-03", "csv", tmp_path, role="finance")
    con.close()
    assert [p.name for p in parquet] == ["ledger_2024-03.parquet"] + [f"ledger_2024-03_{key}.parquet" for key in
                                                                      [s.key for s in SHEETS[1:]] + ["reconciliation"]]
    frame = pl.read_parquet(parquet[0])
    assert isinstance(frame.schema["单位缴费"], pl.Decimal)
    assert frame["身份证号"].str.contains(r"\*").sum() == 0  # the manager sees full IDs
    text = csv[0].read_text(encoding="utf-8-sig")
    assert text.startswith("期间,单位,工号") and not FULL_ID.search(text)


def test_no_ledger_yet_is_a_sentence(acceptance_copy, tmp_path):
    con = connect(acceptance_copy)
    with pytest.raises(ShebaoError, match="There is no ledger for 2024-03 yet"):
        export_ledger(con, "2024-03", "xlsx", tmp_path)
    con.close()


@pytest.mark.parametrize(("value", "safe"), [("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1", "'+1"),
                                             ("@SUM(A1)", "'@SUM(A1)"), ("王芳", "王芳"), (12, 12)])
def test_formula_text_is_neutralised(value, safe):
    assert neutralise(value) == safe


@pytest.fixture()
def hostile_ledger(con, tmp_path):
    """One hand-built employee whose name and entity a spreadsheet would run as formulas."""
    policy = tmp_path / "policy.csv"
    policy.write_text("region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,"
                      "employee_rate\n长沙,pension,2024-01,,3604,18021,0.16,0.08\n", encoding="utf-8")
    apply_policy(con, policy)
    con.execute("INSERT INTO staging.payroll VALUES (1, NULL, 1, '2024-03', 'E1', '=HYPERLINK(\"http://x\")',"
                " '430102199001010013', '430102199001010013', '-星城公司', '长沙', '长沙', true, 10000, NULL, NULL)")
    record_load_keys(con, 1)
    compute_ledger(con, "2024-03")
    return con


@pytest.mark.parametrize("role", ["hr_staff", "finance"])
def test_exports_neutralise_formulas_and_mask_ids(hostile_ledger, tmp_path, role):
    [xlsx] = export_ledger(hostile_ledger, "2024-03", "xlsx", tmp_path / "x", role=role)
    csv = export_ledger(hostile_ledger, "2024-03", "csv", tmp_path / "c", role=role)
    detail = openpyxl.load_workbook(xlsx)["缴费明细"]
    header = [c.value for c in detail[1]]
    row = dict(zip(header, [c.value for c in detail[2]], strict=True))
    assert row["姓名"] == "'=HYPERLINK(\"http://x\")" and row["单位"] == "'-星城公司"
    assert row["身份证号"] == "430102********0013"
    assert (row["缴费基数"], row["单位缴费"], row["个人缴费"], row["合计"]) == (10000, 1600, 800, 2400)
    assert row["险种"] == "养老保险"
    totals = list(openpyxl.load_workbook(xlsx)["合计"].iter_rows(values_only=True))
    assert totals[1][0] == "'-星城公司" and totals[-1][-3:] == (1600, 800, 2400)
    text = csv[0].read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'-星城公司" in text and not FULL_ID.search(text)


def test_unknown_format_is_a_sentence(hostile_ledger, tmp_path):
    with pytest.raises(ShebaoError, match="format 'pdf' is unknown"):
        export_ledger(hostile_ledger, "2024-03", "pdf", tmp_path)


# --------------------------------------------------------------------------- the bookable sheets (SPEC §7)

CODES = re.compile(r"^(pension|medical|unemployment|work_injury|maternity|original|adjustment|None|nan|NaN|null|"
                   r"[A-Z][A-Z_]{3,})$")


def _sheets(path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows()) for ws in book.worksheets}


def test_every_sheet_reads_back_clean_with_number_formats(ledger_path, tmp_path):
    con = connect(ledger_path)
    [path] = export_ledger(con, "2024-03", "xlsx", tmp_path, role="finance")
    con.close()
    sheets = _sheets(path)
    expected = [s.title for s in SHEETS]
    assert list(sheets)[:len(expected)] == expected
    for sheet in SHEETS:
        rows = sheets[sheet.title]
        assert [c.value for c in rows[0]] == list(sheet.headers.values()), sheet.title
        for row in rows[1:]:
            for header, cell in zip(sheet.headers, row, strict=True):
                assert not (isinstance(cell.value, str) and CODES.match(cell.value)), (sheet.title, header, cell.value)
                if cell.value is not None and header in {"employer_amount", "base", "total_amount", "gross_pay"}:
                    assert isinstance(cell.value, int | float) and cell.number_format == "0.00", (header, cell.value)
                if cell.value is not None and header in {"employer_rate", "employee_rate", "month_fraction"}:
                    assert isinstance(cell.value, int | float) and cell.number_format == "0.00%", (header, cell.value)
    from transforms.ledger.reconcile import HEADERS_ZH  # 账单核对, with the bill kind

    assert list(sheets) == [*expected, "账单核对"]
    assert [c.value for c in sheets["账单核对"][0]] == list(HEADERS_ZH.values())
    detail = sheets["缴费明细"]
    assert {r[6].value for r in detail[1:]} <= {"养老保险", "医疗保险", "失业保险", "工伤保险", "生育保险"}
    assert all(r[14].value is not None for r in detail[1:])  # gross_pay from payroll on every row


def test_csv_shows_rates_as_numbers(ledger_path, tmp_path):
    """Rates are numbers a pivot can use (issue 30), as in the xlsx and Parquet, not "16.00%" text."""
    con = connect(ledger_path)
    csv = export_ledger(con, "2024-03", "csv", tmp_path, role="finance")
    con.close()
    detail = pl.read_csv(csv[0], encoding="utf8-lossy", infer_schema=False)
    for column in ("计费比例", "单位费率", "个人费率"):
        assert detail[column].str.contains(r"^\d+(\.\d+)?$").all(), column
    assert {Decimal(v) for v in detail["单位费率"]} >= {Decimal("0.16")}
    assert {Decimal(v) for v in detail["计费比例"]} >= {Decimal("1")}
    assert detail["单位缴费"].str.contains(r"^-?\d+\.\d\d$").all()


def _id(body17: str) -> str:
    weights, checks = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
    return body17 + checks[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


PAYROLL = "工资月份,工号,姓名,身份证号,公司,参保城市,应发工资,实发工资,个人社保\n"
ATTENDANCE = "工资月份,工号,姓名,身份证号,公司,入职日期,离职日期\n"
# E2 works in 三沙, a region the shipped policy has no rows for: NO_POLICY
PEOPLE = {"E1": ("王芳", "长沙", "2020-01-06", ""), "E2": ("李娜", "三沙", "2020-01-06", ""),
          "E3": ("张伟", "长沙", "2020-01-06", "2024-03-05"), "E4": ("刘洋", "长沙", "2024-04-02", "")}


def _payroll(bad: str) -> str:
    rows = [f"2024-03,{e},{n},{_id(f'43010219900101{i:03d}')},星城公司,{city},10000.00,8000.00,"
            for i, (e, (n, city, _, _)) in enumerate(PEOPLE.items())]
    rows.append(f"2024-03,{bad},赵磊,{_id('43010219900109990')},星城公司,长沙,一万,,")  # gross unreadable
    return PAYROLL + "\n".join(rows) + "\n"


def test_unbooked_people_say_why_in_chinese(con, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "attendance.csv").write_text(ATTENDANCE + "\n".join(
        f"2024-03,{e},{n},{_id(f'43010219900101{i:03d}')},星城公司,{hire},{leave}"
        for i, (e, (n, _, hire, leave)) in enumerate(PEOPLE.items())) + "\n", encoding="utf-8")
    (inbox / "payroll_1.csv").write_text(_payroll("E5"), encoding="utf-8")
    policy = tmp_path / "policy.csv"
    policy.write_text("region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,"
                      "employee_rate\n长沙,pension,2024-01,,3604,18021,0.16,0.08\n", encoding="utf-8")
    apply_policy(con, policy)
    ingest_inbox(con, inbox)
    compute_ledger(con, "2024-03")
    unbooked = unbooked_people(con, "2024-03", full_ids=False)
    reasons = dict(zip(unbooked["employee_id"], unbooked["reason"], strict=True))
    assert reasons == {"E2": "参保地无养老保险政策", "E3": "截止日前离职", "E4": "本月之后入职", "E5": "导入时被拒收"}
    detail = dict(zip(unbooked["employee_id"], unbooked["detail"], strict=True))
    assert "离职日期 2024-03-05" in detail["E3"] and "本月截止日 2024-03-15" in detail["E3"]
    assert detail["E5"].startswith("payroll_1.csv") and "第 5 行" in detail["E5"] and "金额格式错误" in detail["E5"]
    assert unbooked["id_number"].str.contains(r"\*{8}").all()
    # A corrected file for the entity replaces the rejects of the one before: E5 fixed, E6 now unreadable.
    (inbox / "payroll_2.csv").write_text(_payroll("E6").replace(",E1,", ",E5,"), encoding="utf-8")
    ingest_inbox(con, inbox)
    compute_ledger(con, "2024-03")
    assert set(unbooked_people(con, "2024-03", full_ids=False)["employee_id"]) == {"E2", "E3", "E4", "E6"}


def test_unbooked_people_are_the_paid_without_a_cell_of_the_net_ledger(con):
    """未入账人员 reads whether a cell nets to nothing from its sums alone (ledger.cell_sums), not from
    ledger.net_contributions' rows: the people left out are still exactly those without a net cell."""
    from tests.expectations.conftest import make_warehouse

    wh = make_warehouse(con)
    wh.policy()
    for employee in ("E1", "E2", "E3", "E4"):
        wh.employee_month(employee_id=employee)
    wh.contribution(employee_id="E1")
    for employee, kind in (("E2", "pension"), ("E3", "pension"), ("E3", "medical")):
        wh.contribution(employee_id=employee, insurance_type=kind)
    # a correction removes E2's one cell and E3's pension cell: their rows sum to zero in base, fraction and amounts
    con.execute("""
        INSERT INTO ledger.contributions (period, entity, employee_id, id_number, name, region, insurance_type, base,
            month_fraction, employer_rate, employee_rate, employer_amount, employee_amount, entry_type, run_id,
            created_at)
        SELECT period, entity, employee_id, id_number, name, region, insurance_type, -base, -month_fraction,
               employer_rate, employee_rate, -employer_amount, -employee_amount, 'adjustment', 'L2', created_at
        FROM ledger.contributions WHERE (employee_id, insurance_type) IN (('E2', 'pension'), ('E3', 'pension'))""")
    net = {e for (e,) in con.execute("SELECT DISTINCT employee_id FROM ledger.net_contributions('2024-03')").fetchall()}
    assert net == {"E1", "E3"}
    unbooked = unbooked_people(con, "2024-03", full_ids=True)
    assert sorted(unbooked["employee_id"]) == ["E2", "E4"]
    assert set(unbooked["reason"]) == {"本月无应缴金额"}


# ------------------------------------------------------------------------------------- a correction (SPEC §4.7)


def _money_sum(frame: pl.DataFrame, column: str) -> Decimal:
    return Decimal(str(frame[column].sum() or 0))


def test_a_corrected_payroll_shows_as_adjustments(ledger_path, tmp_path):
    """Close P, re-export one entity's payroll with one person's gross_pay changed, close P again:
    本期调整 lists exactly the adjustment rows, 缴费明细 moves by exactly their sum, 调整汇总 says who moved."""
    path = tmp_path / "w.duckdb"
    shutil.copy(ledger_path, path)
    con = connect(path)
    before = export_ledger(con, "2024-03", "parquet", tmp_path / "before", role="finance")
    assert pl.read_parquet(before[1]).height == 0  # nothing adjusted yet
    # a person whose base is their 2024-03 pay (first paid in P, not clamped): a new gross_pay moves the ledger
    entity, employee_id = con.execute("""
        SELECT c.entity, c.employee_id FROM ledger.current_contributions c
        JOIN ledger.employee_months m USING (period, entity, employee_id)
        WHERE c.period = '2024-03' AND c.insurance_type = 'pension' AND c.base = m.gross_pay
          AND NOT EXISTS (SELECT 1 FROM core.payroll p WHERE p.entity = c.entity AND p.employee_id = c.employee_id
                          AND p.period < '2024-03')
        ORDER BY ALL LIMIT 1""").fetchone()
    rows = con.execute("""
        SELECT period, employee_id, name, id_number_raw, entity, city_raw,
               CASE WHEN employee_id = ? THEN gross_pay + 500 ELSE gross_pay END, net_pay, si_withheld
        FROM core.payroll WHERE period = '2024-03' AND entity = ? ORDER BY row_number""", [employee_id, entity]).fetchall()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "工资表_202403_更正.csv").write_text(
        "工资月份,工号,姓名,身份证号,用人单位,社保缴纳地,应发工资,实发工资,个人社保\n"
        + "\n".join(",".join("" if v is None else str(v) for v in r) for r in rows) + "\n", encoding="utf-8")
    ingest_inbox(con, inbox)
    run = compute_ledger(con, "2024-03")
    after = export_ledger(con, "2024-03", "parquet", tmp_path / "after", role="finance")
    [xlsx] = export_ledger(con, "2024-03", "xlsx", tmp_path / "after", role="finance")
    booked = con.execute("""SELECT employee_id, insurance_type, employer_amount, employee_amount FROM ledger.contributions
                            WHERE period = '2024-03' AND entry_type = 'adjustment' ORDER BY ALL""").fetchall()
    originals = con.execute("""SELECT employee_id, insurance_type, employer_amount + employee_amount FROM ledger.contributions
                               WHERE period = '2024-03' AND entry_type = 'original' AND employee_id = ?""",
                            [employee_id]).fetchall()
    changes = run_changes(con, "2024-03", run["run_id"])
    con.close()

    adjustments = pl.read_parquet(after[1])
    assert booked and {r[0] for r in booked} == {employee_id}
    assert sorted(zip(adjustments["工号"], adjustments["险种"], adjustments["单位缴费变动"], adjustments["个人缴费变动"],
                      strict=True)) == sorted((e, TYPE_NAMES[t], er, ee) for e, t, er, ee in booked)
    assert set(adjustments["记账类型"]) == {"调整"} and set(adjustments["核算批次"]) == {run["run_id"]}
    assert adjustments["记账时间"].null_count() == 0
    assert (adjustments["调整后合计"] - adjustments["调整前合计"] == adjustments["变动合计"]).all()
    # each adjusted cell's total before is its first close's row: the running total reads the cell's earlier rows
    before_by_cell = {(e, TYPE_NAMES[t]): total for e, t, total in originals}
    assert dict(zip(zip(adjustments["工号"], adjustments["险种"], strict=True), adjustments["调整前合计"],
                    strict=True)) == {cell: before_by_cell[cell] for cell in zip(adjustments["工号"], adjustments["险种"],
                                                                              strict=True)}
    for column in ("单位缴费变动", "个人缴费变动", "变动合计", "调整前合计", "调整后合计"):
        assert isinstance(adjustments.schema[column], pl.Decimal), column
    moved = _money_sum(adjustments, "变动合计")
    assert moved > 0
    assert _money_sum(pl.read_parquet(after[0]), "合计") == _money_sum(pl.read_parquet(before[0]), "合计") + moved
    summary = pl.read_parquet(after[2])
    assert set(summary["人数"]) == {1} and _money_sum(summary, "变动合计") == moved
    assert changes["people"] == 1 and Decimal(changes["total"]) == moved
    assert {c["entity"] for c in changes["by_entity_type"]} == {entity}
    lines = change_lines(changes)
    assert lines[0].startswith(f"Adjustments: 1 people moved, +{moved}")
    workbook = _sheets(xlsx)
    assert len(workbook["本期调整"]) == len(booked) + 1 and len(workbook["调整汇总"]) == summary.height + 1
    grand = [c.value for c in workbook["合计"][-1]]
    assert grand[0] == "总计" and Decimal(str(grand[-1])).quantize(Decimal("0.01")) == \
        _money_sum(pl.read_parquet(after[0]), "合计")


def _cells(path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: [tuple((c.value, c.number_format) for c in row) for row in sheet.iter_rows()]
            for sheet in book.worksheets}


@pytest.mark.parametrize("role", ["finance", "hr_manager"])
def test_the_detail_spooled_in_small_chunks_exports_as_one_chunk(ledger_path, tmp_path, monkeypatch, role):
    """缴费明细 is read from DuckDB, masked and written a chunk at a time (a million people's ledger is never
    held whole): chunks of SMALL_CHUNK rows give the files one chunk gives (CSV byte for byte, Parquet's rows and
    types, the workbook's cells, 合计 included), and the spool's file is gone afterwards."""
    import pyarrow.parquet as pq

    from transforms.outputs import export

    monkeypatch.setattr(export.tempfile, "tempdir", str(tmp_path))  # where the spool lives
    con = connect(ledger_path, read_only=True)
    try:
        whole = export_ledger(con, "2024-03", ["xlsx", "csv", "parquet"], tmp_path / "whole", role=role)
        monkeypatch.setattr(export, "SPOOL_ROWS", SMALL_CHUNK)
        chunked = export_ledger(con, "2024-03", ["xlsx", "csv", "parquet"], tmp_path / "chunked", role=role)
    finally:
        con.close()
    assert [p.name for p in whole] == [p.name for p in chunked]
    assert pq.ParquetFile(chunked[1 + len(SHEETS) + 1]).num_row_groups > 1  # ledger_2024-03.parquet, in chunks
    for before, after in zip(whole, chunked, strict=True):
        if before.suffix == ".xlsx":
            assert _cells(after) == _cells(before)
        elif before.suffix == ".parquet":
            assert pl.read_parquet(after).equals(pl.read_parquet(before)), after.name
            assert pl.read_parquet(after).schema == pl.read_parquet(before).schema
        else:
            assert after.read_bytes() == before.read_bytes(), after.name
    assert not list(tmp_path.glob(".ledger_*"))


def test_a_cell_whose_month_has_no_payroll_row_keeps_its_place_with_no_pay(ledger_path, tmp_path):
    """缴费明细 puts each person's payroll of the month beside their cells after sorting them: a person the month has
    no payroll row for keeps their cells and their place, 应发工资 and 代扣个人社保 empty, in the rows and in the
    spooled export alike; everyone else's rows are as they were."""
    path = tmp_path / "w.duckdb"
    shutil.copy(ledger_path, path)
    con = connect(path)
    try:
        before = ledger_rows(con, "2024-03", full_ids=True)
        entity, employee_id = before["entity"][0], before["employee_id"][0]
        con.execute("DELETE FROM ledger.employee_months WHERE period = '2024-03' AND entity = ? AND employee_id = ?",
                    [entity, employee_id])
        after = ledger_rows(con, "2024-03", full_ids=True)
        detail = pl.read_parquet(export_ledger(con, "2024-03", "parquet", tmp_path / "out", role="finance")[0])
    finally:
        con.close()
    theirs = (pl.col("entity") == entity) & (pl.col("employee_id") == employee_id)
    pay = ["gross_pay", "si_withheld"]
    assert after.columns == before.columns and after.schema == before.schema
    assert after.drop(pay).equals(before.drop(pay))  # the same cells in the same order
    assert after.filter(~theirs).equals(before.filter(~theirs))
    mine = after.filter(theirs)
    assert mine.height > 0 and mine.select(pay).null_count().row(0) == (mine.height, mine.height)
    assert before.filter(theirs).select(pay).null_count().row(0) == (0, 0)
    exported = detail.filter((pl.col("单位") == entity) & (pl.col("工号") == employee_id))
    assert exported.height == mine.height and exported["应发工资"].null_count() == mine.height
    assert detail.height == after.height and detail["应发工资"].null_count() == after["gross_pay"].null_count()


def test_a_spool_a_killed_close_left_is_swept_by_the_next_export(ledger_path, tmp_path):
    """A spool lives until its close lets the tables go, so a killed close leaves it in ``<out>/<period>/``: the
    next export into that folder deletes it before it spools, and nothing else there."""
    from transforms.outputs.export import detail_table, export_tables

    folder = tmp_path / "2024-03"
    folder.mkdir()
    left, kept = folder / ".ledger_k1ll3d.parquet", folder / "ledger_2024-03.parquet"
    left.write_bytes(b"PAR1")
    kept.write_bytes(b"PAR1")
    con = connect(ledger_path, read_only=True)
    try:
        tables = export_tables(con, "2024-03", role="finance", folder=folder)
    finally:
        con.close()
    assert not left.exists() and kept.exists()
    assert [p.name for p in folder.glob(".ledger_*")] == [detail_table(tables).path.name]


@pytest.mark.parametrize("rows", [100_000, SMALL_CHUNK])
def test_the_detail_written_beside_the_workbook_is_what_it_is_alone(ledger_path, tmp_path, monkeypatch, rows):
    """With the workbook, 缴费明细's Parquet and CSV files are written from the chunks the workbook reads (its
    spool read once): they are the files written without a workbook (CSV byte for byte, Parquet's rows, types and
    row groups), in one chunk and in many."""
    import pyarrow.parquet as pq

    from transforms.outputs import export

    monkeypatch.setattr(export, "SPOOL_ROWS", rows)
    con = connect(ledger_path, read_only=True)
    try:
        teed = export_ledger(con, "2024-03", ["xlsx", "parquet", "csv"], tmp_path / "teed", role="finance")
        alone = export_ledger(con, "2024-03", ["parquet", "csv"], tmp_path / "alone", role="finance")
    finally:
        con.close()
    assert [p.name for p in teed[1:]] == [p.name for p in alone]
    for after, before in zip(teed[1:], alone, strict=True):
        if before.suffix == ".parquet":
            assert pl.read_parquet(after).equals(pl.read_parquet(before)), after.name
            assert pl.read_parquet_schema(after) == pl.read_parquet_schema(before), after.name
            assert pq.ParquetFile(after).num_row_groups == pq.ParquetFile(before).num_row_groups, after.name
        else:
            assert after.read_bytes() == before.read_bytes(), after.name
