"""Bad input: each case ends as a clear sentence, a failed/unrecognized load, or rows in ingest.rejects,
and the other files of the inbox still load."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from transforms.ingest.inbox import ingest_inbox
from warehouse.errors import InputError

PAYROLL_HEADER = "工资月份,员工编号,姓名,身份证号,公司,参保城市,应发工资,实发工资,个人社保"
GOOD_ROW = "2024-03,E001,王芳,430102199001011237,长沙测试有限公司,长沙,10000.00,8950.00,1050.00"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    write(folder / "zz_good.csv", f"{PAYROLL_HEADER}\n{GOOD_ROW}\n")  # loads whatever else fails
    return folder


def loads(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, kind, status, rows_read, rows_staged, rows_rejected, message FROM ingest.loads"
    ).fetchall()}


def rejects(con, source: str) -> list[tuple]:
    return con.execute(
        "SELECT row_number, reason_code, reason FROM ingest.rejects WHERE source_file = ? ORDER BY row_number",
        [source],
    ).fetchall()


def assert_good_file_loaded(con):
    assert loads(con)["zz_good.csv"][1:4] == ("loaded", 1, 1)


def test_empty_file_is_unrecognized(con, inbox):
    write(inbox / "empty.csv", "")
    ingest_inbox(con, inbox)
    kind, status, *_, message = loads(con)["empty.csv"]
    assert (kind, status) == (None, "unrecognized") and "empty" in message
    assert_good_file_loaded(con)


def test_a_file_of_byte_order_marks_only_is_unrecognized(con, inbox):
    """Found by hypothesis: two UTF-8 BOMs left polars a frame without columns (an IndexError traceback)."""
    (inbox / "boms.csv").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf")
    ingest_inbox(con, inbox)
    kind, status, *_, message = loads(con)["boms.csv"]
    assert (kind, status) == (None, "unrecognized") and message
    assert_good_file_loaded(con)


def test_header_only_loads_zero_rows(con, inbox):
    write(inbox / "header.csv", PAYROLL_HEADER + "\n")
    ingest_inbox(con, inbox)
    assert loads(con)["header.csv"][:5] == ("payroll", "loaded", 0, 0, 0)


def test_header_matching_no_kind_is_unrecognized(con, inbox):
    write(inbox / "menu.csv", "菜名,价格\n宫保鸡丁,28\n")
    ingest_inbox(con, inbox)
    kind, status, *_, message = loads(con)["menu.csv"]
    assert status == "unrecognized" and "header" in message
    assert_good_file_loaded(con)


def test_workbook_with_two_kinds_gives_one_load_per_kind(con, inbox):
    workbook = openpyxl.Workbook()
    payroll = workbook.active
    payroll.title = "工资"
    payroll.append(["2024年3月工资表"])
    for row in (PAYROLL_HEADER.split(","), GOOD_ROW.split(",")):
        payroll.append(row)
    attendance = workbook.create_sheet("考勤")
    attendance.append(["月份", "工号", "姓名", "公司", "入职日期", "离职日期"])
    attendance.append(["2024-03", "E001", "王芳", "长沙测试有限公司", "2020-01-01", None])
    attendance.append(["2024-03", "E002", "李四", "长沙测试有限公司", "2020-02-30", None])
    workbook.save(inbox / "mixed.xlsx")
    ingest_inbox(con, inbox)
    rows = con.execute(
        "SELECT kind, status, rows_read, rows_staged, rows_rejected, sheets FROM ingest.loads"
        " WHERE source_file = 'mixed.xlsx' ORDER BY kind"
    ).fetchall()
    assert rows == [("attendance", "loaded", 2, 1, 1, "考勤"), ("payroll", "loaded", 1, 1, 0, "工资")]
    assert [r[1] for r in rejects(con, "mixed.xlsx")] == ["BAD_DATE"]


TRADITIONAL = "工資月份,員工編號,姓名,身份證號,公司,參保城市,應發工資\n2024-03,E001,王芳,430102199001011237,長沙測試,長沙,10000\n"


@pytest.mark.parametrize(("text", "encoding", "label"), [
    (f"{PAYROLL_HEADER}\n{GOOD_ROW}\n", "utf-16", "UTF-16"),
    (f"{PAYROLL_HEADER}\n{GOOD_ROW}\n", "utf-16-le", "binary"),
    (TRADITIONAL, "big5", None),
])
def test_csv_in_another_encoding_is_not_staged(con, inbox, text, encoding, label):
    write(inbox / "foreign.csv", text, encoding)
    ingest_inbox(con, inbox)
    kind, status, read, staged, _, message = loads(con)["foreign.csv"]
    assert status in ("failed", "unrecognized") and staged == 0
    if label:
        assert label in message
    assert_good_file_loaded(con)


def test_truncated_xlsx_fails_with_a_sentence(con, inbox):
    workbook = openpyxl.Workbook()
    workbook.active.append(PAYROLL_HEADER.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    (inbox / "cut.xlsx").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    ingest_inbox(con, inbox)
    kind, status, *_, message = loads(con)["cut.xlsx"]
    assert status == "failed" and ("xlsx" in message or "workbook" in message)
    assert_good_file_loaded(con)


def test_binary_file_named_csv_fails(con, inbox):
    (inbox / "photo.csv").write_bytes(bytes(range(256)) * 10)
    ingest_inbox(con, inbox)
    assert loads(con)["photo.csv"][1] == "failed"
    assert_good_file_loaded(con)


def test_rows_with_fewer_or_more_cells_than_the_header(con, inbox):
    short = "2024-03,E002,李四,430102199001011237,长沙测试有限公司,长沙,9000"  # optional cells missing
    shorter = "2024-03,E003,张三,430102199001011237,长沙测试有限公司"  # required cells missing
    longer = GOOD_ROW.replace("E001", "E004") + ",多余,更多"
    write(inbox / "ragged.csv", "\n".join([PAYROLL_HEADER, short, shorter, longer]) + "\n")
    ingest_inbox(con, inbox)
    assert loads(con)["ragged.csv"][2:5] == (3, 1, 2)
    codes = [(r[0], r[1]) for r in rejects(con, "ragged.csv")]
    assert codes == [(2, "MISSING_FIELD"), (3, "MALFORMED_ROW")]


def test_amounts_with_bad_grouping_reject_and_fullwidth_digits_parse(con, inbox):
    bad = GOOD_ROW.replace("10000.00", '"1,2,3"').replace("E001", "E010")
    wide = GOOD_ROW.replace("10000.00", '"１２,０００"').replace("E001", "E011")
    write(inbox / "amounts.csv", "\n".join([PAYROLL_HEADER, bad, wide]) + "\n")
    ingest_inbox(con, inbox)
    assert [r[1] for r in rejects(con, "amounts.csv")] == ["BAD_AMOUNT"]
    assert "应发工资" in rejects(con, "amounts.csv")[0][2]
    gross = con.execute("SELECT gross_pay FROM staging.payroll WHERE employee_id = 'E011'").fetchone()[0]
    assert str(gross) == "12000.00"


def test_impossible_date_is_rejected(con, inbox):
    write(inbox / "att.csv", "月份,工号,姓名,公司,入职日期\n2024-03,E001,王芳,长沙测试有限公司,2024-02-30\n")
    ingest_inbox(con, inbox)
    assert [r[1] for r in rejects(con, "att.csv")] == ["BAD_DATE"]


def test_inbox_that_does_not_exist_is_one_sentence(con, tmp_path):
    with pytest.raises(InputError, match=r"^The inbox .* does not exist; pass --inbox"):
        ingest_inbox(con, tmp_path / "nowhere")


def test_reject_reasons_and_values(con, inbox):
    lines = [
        PAYROLL_HEADER,
        GOOD_ROW.replace("2024-03", "2024-13").replace("E001", "E020"),
        GOOD_ROW.replace("10000.00", "-5").replace("E001", "E021"),
        GOOD_ROW.replace(",王芳,", ",,").replace("E001", "E022"),
        GOOD_ROW.replace("E001", "E023"),
        GOOD_ROW.replace("E001", "E023"),
    ]
    write(inbox / "reasons.csv", "\n".join(lines) + "\n", "gbk")
    ingest_inbox(con, inbox)
    assert [(r[0], r[1]) for r in rejects(con, "reasons.csv")] == [
        (1, "BAD_MONTH"), (2, "NEGATIVE_AMOUNT"), (3, "MISSING_FIELD"), (5, "DUPLICATE_ROW"),
    ]
    raw = con.execute("SELECT raw->>'$.员工编号' FROM ingest.rejects WHERE reason_code = 'BAD_MONTH'").fetchone()[0]
    assert raw == "E020"
    assert loads(con)["reasons.csv"][2:5] == (5, 1, 4)


def test_unknown_coded_values_are_rejected(con, inbox):
    header = "数据期间,身份证号码,姓名,参保地,单位名称,险种,缴费状态,起始年月,缴费基数"
    rows = [
        "2024-03,430102199001011237,王芳,长沙,长沙测试有限公司,养老保险,正常参保,2020-01,5000",
        "2024-03,430102199001011237,王芳,长沙,长沙测试有限公司,住房公积金,正常参保,2020-01,5000",
        "2024-03,430102199001011237,王芳,长沙,长沙测试有限公司,医疗,冻结,2020-01,5000",
    ]
    write(inbox / "ins.csv", "\n".join([header, *rows]) + "\n")
    ingest_inbox(con, inbox)
    assert [r[1] for r in rejects(con, "ins.csv")] == ["UNKNOWN_VALUE", "UNKNOWN_VALUE"]


def test_large_files_are_written_in_chunks_with_copies_found_across_them(con, inbox, monkeypatch):
    import transforms.ingest.inbox as ingest

    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)
    rows = [GOOD_ROW.replace("E001", f"E1{i:02d}") for i in range(5)]
    write(inbox / "chunks.csv", "\n".join([PAYROLL_HEADER, *rows, rows[0], rows[4]]) + "\n")
    ingest_inbox(con, inbox)
    assert loads(con)["chunks.csv"][2:5] == (7, 5, 2)
    assert [(r[0], r[1]) for r in rejects(con, "chunks.csv")] == [(6, "DUPLICATE_ROW"), (7, "DUPLICATE_ROW")]


def _row_counts(con) -> dict[str, int]:
    from transforms.ingest.inbox import LOAD_TABLES

    return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in LOAD_TABLES}


def test_a_large_file_failing_between_its_chunks_leaves_no_rows(con, inbox, monkeypatch):
    """Large files commit chunk by chunk; a failure after some chunks leaves none of them behind."""
    import duckdb

    import transforms.ingest.inbox as ingest

    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)
    ingest_inbox(con, inbox)
    before = _row_counts(con)
    rows = [GOOD_ROW.replace("E001", f"E2{i:02d}") for i in range(7)]
    write(inbox / "large.csv", "\n".join([PAYROLL_HEADER, *rows]) + "\n")
    real_write, calls = ingest._write_rows, []

    def fail_on_the_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise duckdb.ConversionException("disk trouble")
        return real_write(*args)

    monkeypatch.setattr(ingest, "_write_rows", fail_on_the_third_chunk)
    ingest_inbox(con, inbox)
    assert loads(con)["large.csv"][1] == "failed" and "nothing of this file was loaded" in loads(con)["large.csv"][5]
    assert _row_counts(con) == before


def test_chunks_of_a_run_killed_midway_are_invisible_then_discarded(con, inbox, monkeypatch):
    """A kill between a large file's chunks leaves committed chunk rows without a load: no view shows them,
    and the next ingest deletes them before loading the file again."""
    import transforms.ingest.inbox as ingest

    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)
    rows = [GOOD_ROW.replace("E001", f"E3{i:02d}").replace("长沙测试有限公司", "另一公司") for i in range(5)]
    write(inbox / "large.csv", "\n".join([PAYROLL_HEADER, *rows]) + "\n")

    class Killed(BaseException):
        pass

    def killed(name):
        if name == "ingest.before_commit":
            raise Killed

    monkeypatch.setattr(ingest, "checkpoint", killed)
    with pytest.raises(Killed):
        ingest_inbox(con, inbox)
    assert con.execute("SELECT count(*) FROM staging.payroll WHERE employee_id LIKE 'E3%'").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM core.payroll WHERE employee_id LIKE 'E3%'").fetchone()[0] == 0
    monkeypatch.setattr(ingest, "checkpoint", lambda name: None)
    ingest_inbox(con, inbox)
    assert loads(con)["large.csv"][2:5] == (5, 5, 0)
    assert con.execute("SELECT count(*) FROM staging.payroll WHERE employee_id LIKE 'E3%'").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM core.payroll WHERE employee_id LIKE 'E3%'").fetchone()[0] == 5


@pytest.mark.parametrize("value", ["many", "0", "-5"])
def test_a_bad_chunk_size_setting_is_one_sentence(con, inbox, monkeypatch, value):
    monkeypatch.setenv("SHEBAO_INGEST_CHUNK_ROWS", value)
    with pytest.raises(InputError, match="SHEBAO_INGEST_CHUNK_ROWS is .*whole number of rows"):
        ingest_inbox(con, inbox)


def _statuses(con, source: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT status FROM ingest.loads WHERE source_file = ? ORDER BY load_id", [source]).fetchall()]


def test_a_file_that_failed_to_load_is_loaded_by_the_next_run(con, inbox, monkeypatch):
    """18.1: the "already loaded" check matched (file, sha256) whatever the status: a failed file stayed out."""
    import duckdb

    import transforms.ingest.inbox as ingest

    write(inbox / "a_payroll.csv", f"{PAYROLL_HEADER}\n{GOOD_ROW.replace('E001', 'E009')}\n")
    real_write = ingest._write_rows

    def fails_in_this_run(con, load_id, source, kind, rows):  # in the batch and again alone
        if source == "a_payroll.csv":
            raise duckdb.ConversionException("a write that failed")
        return real_write(con, load_id, source, kind, rows)

    monkeypatch.setattr(ingest, "_write_rows", fails_in_this_run)
    ingest_inbox(con, inbox)
    monkeypatch.setattr(ingest, "_write_rows", real_write)
    assert _statuses(con, "a_payroll.csv") == ["failed"]
    again = ingest_inbox(con, inbox)
    assert _statuses(con, "a_payroll.csv") == ["failed", "loaded"]
    assert {(load["source_file"], load["status"]) for load in again} == {
        ("a_payroll.csv", "loaded"), ("zz_good.csv", "already_loaded")}
    assert ingest_inbox(con, inbox)[0]["status"] == "already_loaded"  # and loaded once only


def test_a_write_that_fails_in_a_batch_loads_the_batch_files_again_alone(con, inbox, monkeypatch):
    """Small files share a transaction; one that cannot be written rolls it back, and each file of the batch is
    loaded again in its own: the others load, the one that fails again is recorded failed, alone."""
    import duckdb

    import transforms.ingest.inbox as ingest

    write(inbox / "a_payroll.csv", f"{PAYROLL_HEADER}\n{GOOD_ROW.replace('E001', 'E009')}\n")
    write(inbox / "b_payroll.csv", f"{PAYROLL_HEADER}\n{GOOD_ROW.replace('E001', 'E010')}\n")
    real_write = ingest._write_rows
    attempts = []

    def fails_for_b(con, load_id, source, kind, rows):
        attempts.append(source)
        if source == "b_payroll.csv":
            raise duckdb.ConversionException("a write that failed")
        return real_write(con, load_id, source, kind, rows)

    monkeypatch.setattr(ingest, "_write_rows", fails_for_b)
    summaries = ingest_inbox(con, inbox)
    assert attempts == ["a_payroll.csv", "b_payroll.csv", "a_payroll.csv", "b_payroll.csv", "zz_good.csv"]
    assert [(s["source_file"], s["status"]) for s in summaries] == [
        ("a_payroll.csv", "loaded"), ("b_payroll.csv", "failed"), ("zz_good.csv", "loaded")]
    assert _statuses(con, "a_payroll.csv") == ["loaded"] and _statuses(con, "b_payroll.csv") == ["failed"]
    assert con.execute("SELECT count(*) FROM staging.payroll WHERE employee_id IN ('E009', 'E010')").fetchone()[0] == 1


def test_files_a_batch_committed_before_a_failing_file_of_its_own_are_reported(con, inbox):
    """A file HR hand back commits the batch before it (its writes are its own); if its loader then fails, the
    files already committed keep their results, and the file is tried again alone."""
    import duckdb

    from transforms.ingest.inbox import HandedBack

    write(inbox / "a_payroll.csv", f"{PAYROLL_HEADER}\n{GOOD_ROW.replace('E001', 'E009')}\n")
    write(inbox / "b_returned.csv", "动作编号,处理状态\nA1,已完成\n")
    tries = []

    def load(con, path, sha, content, run_id, source):
        tries.append(source)
        if len(tries) == 1:
            raise duckdb.ConversionException("a write that failed")
        return {"source_file": source, "status": "loaded"}

    returned = HandedBack(recognises=lambda content: any(
        "动作编号" in sheet.grid.row(0) for sheet in content.sheets if sheet.grid.height), load=load)
    summaries = ingest_inbox(con, inbox, returned=[returned])
    assert tries == ["b_returned.csv", "b_returned.csv"]
    assert [(s["source_file"], s["status"]) for s in summaries] == [
        ("a_payroll.csv", "loaded"), ("b_returned.csv", "loaded"), ("zz_good.csv", "loaded")]
    assert _statuses(con, "a_payroll.csv") == ["loaded"]


def test_a_full_disk_stops_the_ingest_in_one_sentence_and_the_next_run_loads_the_rest(con, inbox, monkeypatch):
    """A full disk fails every later file too: the run stops at the first, in one sentence naming the file
    that could not be written, rather than closing on part of the inbox."""
    import duckdb

    import transforms.ingest.inbox as ingest
    from warehouse.errors import WarehouseError

    write(inbox / "a_payroll.csv", f"{PAYROLL_HEADER}\n{GOOD_ROW.replace('E001', 'E009')}\n")
    real_write = ingest._write_rows

    def disk_full(*args):
        raise duckdb.IOException('IO Error: Could not write file "/data/w.duckdb.wal": No space left on device')

    monkeypatch.setattr(ingest, "_write_rows", disk_full)
    with pytest.raises(WarehouseError) as raised:
        ingest_inbox(con, inbox)
    message = str(raised.value)
    assert message.startswith("shebao could not write /data/w.duckdb.wal because there is no space left")
    assert "\n" not in message and "Error" not in message
    assert _statuses(con, "zz_good.csv") == []  # never reached
    monkeypatch.setattr(ingest, "_write_rows", real_write)
    ingest_inbox(con, inbox)
    assert _statuses(con, "a_payroll.csv") == ["failed", "loaded"] and _statuses(con, "zz_good.csv") == ["loaded"]


# --- 18.4: each hostile row accounted for and named, the rest of its file loaded ---

def _row(employee: str, name: str = "王芳", pay: str = "10000.00") -> str:
    return GOOD_ROW.replace("E001", employee).replace("王芳", name).replace("10000.00", pay)


def _account(con, source: str) -> tuple:
    status, read, staged, rejected = con.execute(
        "SELECT status, rows_read, rows_staged, rows_rejected FROM ingest.loads WHERE source_file = ?", [source]
    ).fetchone()
    assert read == staged + rejected
    return status, read, staged, rejected


def test_a_lone_cr_inside_an_lf_file_ends_a_row(con, inbox):
    """A lone CR merged two rows into one MALFORMED_ROW: an employee vanished."""
    text = f"{PAYROLL_HEADER}\n{_row('E101')}\r{_row('E102')}\n{_row('E103')}\n"
    write(inbox / "cr.csv", text)
    ingest_inbox(con, inbox)
    assert _account(con, "cr.csv") == ("loaded", 3, 3, 0)
    assert con.execute("SELECT count(*) FROM staging.payroll WHERE employee_id IN ('E101', 'E102', 'E103')"
                       ).fetchone()[0] == 3


def test_one_oversized_amount_is_one_bad_amount_reject(con, inbox):
    """999999999999.999 rounds to 13 digits, past DECIMAL(14,2): it failed the whole file."""
    write(inbox / "big.csv", f"{PAYROLL_HEADER}\n{_row('E201', pay='999999999999.999')}\n{_row('E202')}\n"
                             f"{_row('E203', pay='999999999999.99')}\n")
    ingest_inbox(con, inbox)
    assert _account(con, "big.csv") == ("loaded", 3, 2, 1)
    [(row, code, reason)] = rejects(con, "big.csv")
    assert (row, code) == (1, "BAD_AMOUNT") and "999999999999.999" in reason


@pytest.mark.parametrize("offset", [100, 70_000])
def test_a_nul_anywhere_in_a_csv_is_binary(con, inbox, offset):
    """A NUL after the first 64 KB was staged; one before it failed the file: now both fail it."""
    rows = [_row(f"E{300 + i}") for i in range(800)]
    text = f"{PAYROLL_HEADER}\n" + "\n".join(rows) + "\n"
    data = text.encode()
    assert len(data) > 70_100
    cut = data.index(b"\n", offset) + 5
    (inbox / "nul.csv").write_bytes(data[:cut] + b"\x00" + data[cut:])
    ingest_inbox(con, inbox)
    status, *_, message = loads(con)["nul.csv"][1:]
    assert status == "failed" and "binary" in message
    assert_good_file_loaded(con)


@pytest.mark.parametrize("name", ["李四", "冯二"])  # 冯二's UTF-8 bytes are no valid GBK, 李四's are (as 鏉庡洓)
def test_a_utf8_row_in_a_gbk_file_is_rejected_with_a_reason(con, inbox, name):
    data = (f"{PAYROLL_HEADER}\n{_row('E401')}\n".encode("gbk") + f"{_row('E402', name=name)}\n".encode()
            + f"{_row('E403', name='张三')}\n".encode("gbk"))
    (inbox / "mixed.csv").write_bytes(data)
    ingest_inbox(con, inbox)
    assert _account(con, "mixed.csv") == ("loaded", 3, 2, 1)
    [(row, code, reason)] = rejects(con, "mixed.csv")
    assert (row, code) == (2, "MALFORMED_ROW") and "UTF-8" in reason
    names = con.execute("SELECT name, entity FROM staging.payroll WHERE employee_id LIKE 'E40%' ORDER BY ALL").fetchall()
    assert names == [("张三", "长沙测试有限公司"), ("王芳", "长沙测试有限公司")]


# --- 18.15: every inbox entry accounted for; links followed only inside the inbox ---

def test_inbox_entries_that_are_not_extracts_are_recorded_with_a_reason(con, inbox, tmp_path, monkeypatch):
    import os

    outside = write(tmp_path / "elsewhere.csv", f"{PAYROLL_HEADER}\n{_row('E501')}\n")
    (inbox / "link_out.csv").symlink_to(outside)
    (inbox / "sub").mkdir()
    write(inbox / "sub" / "inner.csv", f"{PAYROLL_HEADER}\n{_row('E502')}\n")
    (inbox / "link_in.csv").symlink_to(inbox / "sub" / "inner.csv")
    (inbox / "link_nowhere.csv").symlink_to(tmp_path / "missing.csv")
    os.mkfifo(inbox / "pipe.csv")
    write(inbox / ".hidden.csv", f"{PAYROLL_HEADER}\n{_row('E503')}\n")
    (inbox / "~$工资表.xlsx").write_bytes(b"\x00lock")
    ingest_inbox(con, inbox)
    recorded = loads(con)
    expected = {"link_out.csv": "outside the inbox", "link_nowhere.csv": "a link to nothing",
                "pipe.csv": "not a regular file", ".hidden.csv": "hidden", "~$工资表.xlsx": "lock file"}
    for name, words in expected.items():
        kind, status, read, *_, message = recorded[name]
        assert (kind, status, read) == (None, "unrecognized", 0) and words in message, name
    # SPEC v3: files in subfolders are read (a team files them by month, entity, region); the link to the
    # same file is the same content, loaded once
    assert recorded["link_in.csv"][1:4] == ("loaded", 1, 1)
    assert recorded["sub/inner.csv"][1] == "skipped_duplicate" and "sub" not in recorded
    staged = {r[0] for r in con.execute("SELECT employee_id FROM staging.payroll").fetchall()}
    assert "E502" in staged and not staged & {"E501", "E503"}
    count = con.execute("SELECT count(*) FROM ingest.loads").fetchone()[0]
    assert {load["status"] for load in ingest_inbox(con, inbox)} == {"already_loaded"}  # recorded once
    assert con.execute("SELECT count(*) FROM ingest.loads").fetchone()[0] == count
    monkeypatch.setenv("SHEBAO_INBOX_FOLLOW_LINKS", "1")  # the setting that allows links outside the inbox
    ingest_inbox(con, inbox)
    assert con.execute("SELECT count(*) FROM staging.payroll WHERE employee_id = 'E501'").fetchone()[0] == 1
    monkeypatch.setenv("SHEBAO_INBOX_FOLLOW_LINKS", "maybe")
    with pytest.raises(InputError, match="SHEBAO_INBOX_FOLLOW_LINKS"):
        ingest_inbox(con, inbox)
