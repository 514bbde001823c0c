"""Hostile input: random and mutated bytes, formula cells, huge and wide rows, look-alike digits in ID
numbers, odd line endings, quotes and NUL bytes. Ingest never crashes; every file ends as a load
(``loaded``, ``failed``, ``unrecognized``, ``skipped_duplicate``); every data row written is read, and every
row read is staged or rejected; a hostile file beside a good one never stops the good one loading.

Example counts are modest by default; ``SHEBAO_FUZZ_EXAMPLES=2000`` runs each property that many times.
A coverage-guided run with atheris: ``tests/hardening/fuzz_readers.py`` (see docs/hardening.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from transforms.common.privacy import redact
from transforms.ingest.inbox import ingest_inbox
from transforms.ingest.normalise import normalise_id_number
from transforms.ingest.readers import CELLS, FOREIGN, UnreadableFile, read_extract, to_utf8
from warehouse.db import connect

EXAMPLES = int(os.environ.get("SHEBAO_FUZZ_EXAMPLES", "60"))
HEADER = ["工资月份", "员工编号", "姓名", "身份证号", "公司", "参保城市", "应发工资", "实发工资", "个人社保"]
GOOD_ID = "430102199001011237"  # a valid GB 11643 number (check digit 7)
TOTALS = {"files": 0, "rows": 0, "refused files": 0, "crashes": 0, "unaccounted": 0}
STATUSES = {"loaded", "failed", "unrecognized", "skipped_duplicate", "already_loaded"}

FULLWIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
ARABIC_INDIC = {str(d): chr(0x0660 + d) for d in range(10)}
# look-alikes of digits and X that are NOT the same character: Cyrillic/Greek O and Х, Arabic-Indic digits,
# the letter l for 1, plus invisible characters
LOOKALIKES = "ОоΟοΧХlI" + "".join(ARABIC_INDIC.values()) + "\u200b\u200c\u200d\ufeff\u2060\u00a0"
CELL = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789０１２３４５６７８９٠١٢٣٤٥٦٧٨٩xXОоΟο\u200b\u3000 ", min_size=15, max_size=20),
    st.sampled_from(["2024-03", "2024年3月", "202413", "=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "1,2,3",
                     "１２,０００", "-5", "+1", "@SUM(A1)", "", '"', 'a"b', '""', "a\r\nb", "a\rb", "\r", "长沙",
                     "王 芳", "￥10,000.00", "1e308", "NaN", "\ufeff2024-03", "\t", "\\N", "NULL", GOOD_ID]),
)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
FAST = settings(max_examples=EXAMPLES * 5, deadline=None, suppress_health_check=list(HealthCheck))
ID_SETTINGS = settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
_unique = itertools.count(1)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """One warehouse for the module: each example loads its own inbox into it (loads never interfere:
    accounting is per load_id)."""
    connection = connect(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    yield connection
    connection.close()


def _good_file() -> tuple[str, bytes]:
    """A correct payroll file, unique per call (so it is never a duplicate of an earlier load)."""
    n = next(_unique)
    text = ",".join(HEADER) + f"\n2024-03,G{n},王芳,{GOOD_ID},好公司,长沙,9000,8000,900\n"
    return f"good_{n}.csv", text.encode()


def _account(con, folder: Path, written_rows: int | None) -> list[dict]:
    """Ingest ``folder`` (the hostile file plus a good one); check every load balances and the good one loads."""
    good_name, good_bytes = _good_file()
    (folder / good_name).write_bytes(good_bytes)
    hostile = [p.name for p in folder.iterdir() if p.name != good_name]
    try:
        loads = ingest_inbox(con, folder)
    except Exception:
        TOTALS["crashes"] += 1
        raise
    TOTALS["files"] += len(hostile)
    missing = 0
    for load in loads:
        assert load["status"] in STATUSES, load
        if "load_id" not in load or load["status"] != "loaded":
            continue
        load_id, kind = load["load_id"], load["kind"]
        recorded, staged, rejected, raw = con.execute(
            f"SELECT (SELECT rows_read FROM ingest.loads WHERE load_id = $id),"
            f" (SELECT count(*) FROM staging.{kind} WHERE load_id = $id),"
            " (SELECT count(*) FROM ingest.rejects WHERE load_id = $id),"
            " (SELECT count(*) FROM raw.rows WHERE load_id = $id)", {"id": load_id}).fetchone()
        missing += abs(recorded - staged - rejected) + abs(raw - recorded)
        # ingest.rejects lists NOT_DATA rows too (SPEC §7 v3), counted apart from the rejects
        missing += abs(load["rows_staged"] - staged) + abs(load["rows_rejected"] + load["rows_not_data"] - rejected)
    hostile_loads = [load for load in loads if load["source_file"] != good_name]
    read = sum(load.get("rows_read", 0) for load in hostile_loads)
    TOTALS["rows"] += read
    statuses = {load["status"] for load in hostile_loads}
    if statuses & {"failed", "unrecognized"}:
        TOTALS["refused files"] += 1  # refused as a whole, with a reason: nothing of it staged
        assert read == 0
    elif statuses & {"already_loaded", "skipped_duplicate"}:
        pass  # the same bytes as an earlier example: loaded (and counted) then
    elif written_rows is not None:
        missing += abs(written_rows - read)  # every data row written was read (then staged or rejected)
    good = [load for load in loads if load["source_file"] == good_name]
    assert [(g["status"], g["rows_staged"]) for g in good] == [("loaded", 1)], "a hostile file stopped a good one"
    TOTALS["unaccounted"] += missing
    assert missing == 0
    return hostile_loads


def _data_rows(rows: list[list], formulas: bool = True) -> int:
    """Rows with any non-blank cell: what ingest must read (blank rows are not data rows). In xlsx a formula
    cell reads as empty (never evaluated, and openpyxl writes no cached value)."""
    def filled(cell) -> bool:
        if cell is None:
            return False
        if isinstance(cell, str):
            return bool(cell.strip()) and not (formulas and cell.startswith("="))
        return True
    return sum(1 for row in rows if any(filled(c) for c in row))


# --- the readers alone ---------------------------------------------------------------------------------------

@FAST
@given(data=st.binary(max_size=2048))
@example(data=b"\xef\xbb\xbf\xff")
@example(data=b"\xff\xfe" + "工资".encode("utf-16-le"))
@example(data=b"a,b\x00c")
def test_to_utf8_returns_utf8_or_refuses(data):
    try:
        payload, encoding = to_utf8(data)
    except UnreadableFile as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    payload.decode("utf-8")  # whatever it accepted is valid UTF-8 now
    assert encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030")


@FAST
@given(text=st.text(max_size=200), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]))
def test_to_utf8_round_trips_chinese_text(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    if "\x00" in text or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return
    payload, _ = to_utf8(data)
    if encoding.startswith("utf-8"):
        assert payload.decode("utf-8") == text.removeprefix("\ufeff") or payload.decode("utf-8") == text
    else:
        # GBK bytes that happen to be valid UTF-8 are read as UTF-8 (the spec's detection order)
        assert payload.decode("utf-8") in (text, data.decode("utf-8", errors="replace"))


@FAST
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".xlsx", ".CSV", ".txt", ".xls", ""]))
def test_read_extract_gives_string_grids_or_refuses(data, suffix):
    try:
        content = read_extract(Path(f"x{suffix}"), data)
    except UnreadableFile as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for sheet in content.sheets:
        assert CELLS in sheet.grid.columns
        assert all(dtype == pl.String for name, dtype in sheet.grid.schema.items() if name not in (CELLS, FOREIGN))


# --- whole files through ingest ------------------------------------------------------------------------------

def _xlsx(rows: list[list], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    book.active.append([f"fuzz {next(_unique)}"])  # a title row: every example's bytes differ from earlier loads
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_SEED = _xlsx([["2024-03", "E1", "王芳", GOOD_ID, "公司", "长沙", 9000, 8000, 900],
                   ["2024-03", "E2", "李雷", "43010219900101123X", "公司", "长沙", "9,000", "", ""]])


@st.composite
def mutated(draw, seed: bytes):
    """A real file with some bytes overwritten, cut short or spliced: the damaged files people do get."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=4096), mutated(XLSX_SEED),
                      st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=512).map(lambda b: b"\xef\xbb\xbf" + b)),
       suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_and_damaged_files_never_crash(con, tmp_path_factory, data, suffix):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / f"random{suffix}").write_bytes(data)
    _account(con, folder, None)


@SETTINGS
@given(rows=st.lists(st.lists(CELL, min_size=6, max_size=12), max_size=25),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk"]), newline=st.sampled_from(["\n", "\r\n"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_hostile_csv_cells_are_staged_or_rejected(con, tmp_path_factory, rows, encoding, newline, quoting):
    folder = tmp_path_factory.mktemp("cells")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline, quoting=quoting)
    writer.writerow([f"fuzz {next(_unique)}"])  # a title row: every example's bytes differ from earlier loads
    writer.writerow(HEADER)
    writer.writerows(rows)
    (folder / "payroll.csv").write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    # the data rows as the file holds them (the encoding may have replaced characters)
    written = list(csv.reader(io.StringIO(buffer.getvalue().encode(encoding, errors="replace").decode(encoding),
                                         newline="")))[2:]
    _account(con, folder, _data_rows(written, formulas=False))


XLSX_CELL = st.one_of(
    CELL.map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text)),
    st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)), st.none(), st.booleans(),
    st.sampled_from(["=1+1", "=cmd|' /C calc'!A0", '=HYPERLINK("http://evil","点我")', "=WEBSERVICE(\"http://x\")"]),
)


@SETTINGS
@given(rows=st.lists(st.lists(XLSX_CELL, min_size=6, max_size=12), max_size=20))
def test_hostile_xlsx_cells_are_staged_or_rejected(con, tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("xlsx")
    (folder / "payroll.xlsx").write_bytes(_xlsx(rows))
    _account(con, folder, _data_rows(rows))


@pytest.mark.slow
def test_huge_cells_and_very_wide_rows(con, tmp_path):
    """1 MB cells and 10,000-column rows, in CSV and xlsx: read, then staged or rejected (extra cells).
    Slow (about 15 s a file) because transforms/ingest/staging.py data_rows() is quadratic in the column count."""
    wide = HEADER + [f"额外{i}" for i in range(10_000)]
    row = ["2024-03", "W1", "王芳", GOOD_ID, "公司", "长沙", "9000", "8000", "900"] + ["x"] * 10_000
    huge = ["2024-03", "W2", "李" * 1_000_000, GOOD_ID, "公司", "长沙", "9000", "", ""]
    longer = ["2024-03", "W3", "王五", GOOD_ID, "公司", "长沙", "9000", "", ""] + ["y"] * 10_005  # beyond the header
    for name, data in (("wide.csv", "\n".join(",".join(r) for r in (wide, row, huge, longer)).encode()),
                       ("wide.xlsx", _xlsx([row, huge, longer], header=wide))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_bytes(data)
        loads = _account(con, folder, 3)
        assert loads[0]["status"] == "loaded"
        reasons = con.execute("SELECT row_number, reason_code FROM ingest.rejects WHERE load_id = ? ORDER BY 1",
                              [loads[0]["load_id"]]).fetchall()
        assert (3, "MALFORMED_ROW") in reasons or name.endswith(".xlsx"), reasons  # W3 has more cells than the header


def test_nul_bytes_crlf_and_quotes(con, tmp_path):
    good = ",".join(HEADER) + "\n2024-03,Q1,王芳,430102199001011237,公司,长沙,9000,8000,900\n"
    cases = {
        "nul_early.csv": (good + "2024-03,Q2,\x00,430102199001011237,公司,长沙,9000,,\n").encode(),  # refused: binary
        "nul_late.csv": (good + "2024-03,Q9,x,1,公司,长沙,1,,\n" * 3000
                         + "2024-03,Q3,\x00王,430102199001011237,公司,长沙,9000,,\n").encode(),  # binary too (18.4)
        "crlf.csv": good.replace("\n", "\r\n").encode("gbk"),
        "quotes.csv": (good + '2024-03,Q4,"王""芳","4301,02",公司,长沙,"9,000",,\n'
                       + '2024-03,Q5,"多\n行",430102199001011237,公司,长沙,9000,,\n').encode(),
        "open_quote.csv": (good + '2024-03,Q6,"王芳,430102199001011237,公司,长沙,9000,,\n').encode(),
    }
    expected_rows = {"nul_early.csv": None, "nul_late.csv": None, "crlf.csv": 1, "quotes.csv": 3, "open_quote.csv": None}
    for name, data in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_bytes(data)
        loads = _account(con, folder, expected_rows[name])
        assert (loads[0]["status"] == "loaded") is (expected_rows[name] is not None), (name, loads)


def test_cr_only_line_endings_lose_no_rows(con, tmp_path):
    """Classic-Mac line ends (CR only) still split into rows: nothing vanishes into the header."""
    text = ",".join(HEADER) + "\r2024-03,R1,王芳,430102199001011237,公司,长沙,9000,8000,900\r" \
                              "2024-03,R2,李雷,43010219900101123X,公司,长沙,9000,8000,900\r"
    (tmp_path / "cr.csv").write_bytes(text.encode())
    _account(con, tmp_path, 2)


def test_formula_cells_in_xlsx_are_never_evaluated(con, tmp_path):
    row = ["2024-03", "F1", "=cmd|' /C calc'!A0", GOOD_ID, '=HYPERLINK("http://evil","公司")', "长沙", "=1+1", "", ""]
    (tmp_path / "formula.xlsx").write_bytes(_xlsx([row]))
    loads = _account(con, tmp_path, 1)
    # openpyxl (data_only) keeps no cached value for an unevaluated formula: the cells arrive empty
    (code, raw), = con.execute("SELECT reason_code, raw FROM ingest.rejects WHERE load_id = ?",
                               [loads[0]["load_id"]]).fetchall()
    assert code == "MISSING_FIELD" and "calc" not in raw and "HYPERLINK" not in raw and "1+1" not in raw


# --- ID numbers: look-alikes -----------------------------------------------------------------------------------

VALID_IDS = st.sampled_from([GOOD_ID, "43010219900101123X", "110101200001010017", "440106198202020555",
                             "430102900101123"])  # the last one: 15 digits


def _normalised(text: str) -> str | None:
    return pl.select(normalise_id_number(pl.lit(text, pl.String))).item()


@ID_SETTINGS
@given(id_number=VALID_IDS, data=st.data())
def test_full_width_digits_spaces_and_lowercase_x_normalise_to_the_same_id(id_number, data):
    """SPEC §2: full-width to half-width, spaces removed, x to X: the same person, so duplicates are found."""
    ascii_id = _normalised(id_number)
    chars = [data.draw(st.sampled_from([c, FULLWIDTH.get(c, c), c.lower()])) for c in id_number]
    spaced = "".join(c + data.draw(st.sampled_from(["", "", " ", "\u3000"])) for c in chars)
    assert _normalised(spaced) == ascii_id


@ID_SETTINGS
@given(id_number=VALID_IDS, data=st.data())
def test_look_alike_characters_never_make_another_valid_id(con, id_number, data):
    """An ID with Arabic-Indic digits, Cyrillic/Greek letters or invisible characters in it is either
    recognised as the same person or reported INVALID_ID_NUMBER: never a different, valid-looking number."""
    ascii_id = _normalised(id_number)
    text = list(id_number)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(text)))
        lookalike = data.draw(st.sampled_from(LOOKALIKES))
        # a space of any width (U+00A0 among them) is removed by SPEC §2, so in place of a digit it is a lost digit,
        # not a look-alike: three lost can leave a valid first-generation number ("\xa03\xa01\xa02199001011237")
        if data.draw(st.booleans()) and position < len(text) and not lookalike.isspace():
            text[position] = lookalike  # replace a character
        else:
            text.insert(position, lookalike)  # or slip one in
    result = _normalised("".join(text))
    problem = con.execute("SELECT quality.id_number_problem(?, '2025-12')", [result]).fetchone()[0]
    assert result == ascii_id or problem is not None, (repr("".join(text)), result)


@FAST
@given(id_number=VALID_IDS, digits=st.sampled_from(["ascii", "fullwidth", "arabic"]),
       before=st.text(alphabet=" :：=,，。（(\"'[号码为\n\t#", max_size=5),
       after=st.text(alphabet=" :：=,，。）)\"']号\n\t#", max_size=5))
def test_redact_masks_every_id_in_free_text(id_number, digits, before, after):
    table = {"fullwidth": FULLWIDTH, "arabic": ARABIC_INDIC}.get(digits, {})
    shown = "".join(table.get(c, c) for c in id_number)
    text = f"row 7 {before}{shown}{after} failed"
    masked = redact(text)
    assert shown not in masked
    assert not re.search(r"\d{15}", masked)


def test_redact_masks_an_id_glued_to_latin_letters():
    assert GOOD_ID not in redact(f"ID{GOOD_ID}") and GOOD_ID not in redact(f"{GOOD_ID}abc")


def test_zip_bombs_and_nested_junk_are_refused(con, tmp_path):
    """A zip that claims to be a workbook but holds only junk, and a workbook whose sheet XML is garbage."""
    junk = io.BytesIO()
    with zipfile.ZipFile(junk, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("junk.bin", b"\x00" * 5_000_000)  # 5 MB of zeros in a few KB
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(XLSX_SEED)) as source, zipfile.ZipFile(broken, "w") as archive:
        for item in source.namelist():
            archive.writestr(item, b"<not xml" if item.endswith("sheet1.xml") else source.read(item))
    for name, data in (("junk.xlsx", junk.getvalue()), ("broken.xlsx", broken.getvalue())):
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_bytes(data)
        loads = _account(con, folder, None)
        assert loads[0]["status"] in ("failed", "unrecognized"), loads


def test_report_totals(capsys):
    """Runs last in this module: the figures of every example above."""
    with capsys.disabled():
        print(f"\nfuzz: {TOTALS['files']} files, {TOTALS['rows']} rows tried ({TOTALS['refused files']} files refused "
              f"whole, with a reason); crashes {TOTALS['crashes']}, rows unaccounted {TOTALS['unaccounted']}")
    assert TOTALS["files"] > 0
    assert TOTALS["crashes"] == 0 and TOTALS["unaccounted"] == 0
