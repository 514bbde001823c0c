"""The sample generator: every kind, valid IDs, the encodings it claims, deterministic, and it loads as planned.

The generated files are read back here with plain tools (csv, openpyxl, stdnum), not with our ingest,
so a generator bug cannot hide behind the same bug in the reader; the ingest test comes last.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from sample import generate_inbox
from sample.people import PROVINCE_CODES
from transforms.ingest.kinds import KINDS, match_header
from transforms.ledger.policy import SHIPPED_POLICY

REPO = Path(__file__).resolve().parents[2]
SPEC_CODES = {"DUPLICATE_ID_NUMBER", "DUPLICATE_PERSON", "INVALID_ID_NUMBER", "BASE_BELOW_FLOOR", "BASE_ABOVE_CEILING",
              "BASE_MISMATCH", "WITHHOLDING_MISMATCH", "HIRED_NOT_ENROLLED", "DEPARTED_STILL_CONTRIBUTING",
              "ACTIVE_ELSEWHERE", "FIRST_ENROLLMENT_MISJUDGED", "STALE_TRANSFER", "TRANSFER_NOT_REFLECTED", "NO_POLICY",
              "DOUBLE_ENROLLMENT", "TRANSFER_NEEDED"}
REJECT_CODES = {"BAD_MONTH", "BAD_DATE", "BAD_AMOUNT", "MISSING_FIELD", "DUPLICATE_ROW"}
FULL_WIDTH = str.maketrans({chr(0xFF10 + d): str(d) for d in range(10)} | {c: None for c in " \u00a0\u3000\u200b'"})


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("small") / "inbox"
    return folder, generate_inbox(folder, 60, "2024-12", "2025-02", seed=3)


@pytest.fixture(scope="module")
def larger(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("larger") / "inbox"
    return folder, generate_inbox(folder, 1500, "2024-10", "2025-03", seed=8)


def read_table(path: Path, encoding: str) -> tuple[list[str], list[list[str | None]]]:
    """Header and data rows of one generated file, with plain csv / openpyxl (title rows skipped)."""
    if encoding == "xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        text = path.read_bytes().decode(encoding)
        rows = [[cell or None for cell in row] for row in csv.reader(io.StringIO(text))]
    start = next(i for i, row in enumerate(rows) if match_header(row))
    return [str(c) for c in rows[start]], rows[start + 1:]


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


def column(header: list[str], rows: list[list], kind: str, name: str) -> list:
    aliases = next(c.aliases for c in KINDS[kind].columns if c.name == name)
    index = next(i for i, h in enumerate(header) if h in aliases)
    return [row[index] if index < len(row) else None for row in rows]


def normalised_id(text: str) -> str:
    cleaned = text.translate(FULL_WIDTH).upper()  # spaces, zero-width space, apostrophe dropped (SPEC §2 v2)
    if re.fullmatch(r"\d{15}", cleaned):  # GB 11643: ``19`` before the year, then the check character
        body = cleaned[:6] + "19" + cleaned[6:]
        return body + ric.calc_check_digit(body + "?")  # stdnum ignores the last character
    return cleaned


def is_valid_id(number: str) -> bool:
    """GB 11643 with python-stdnum as the oracle for check digit and birth date (not its county rule); a
    foreign permanent resident's number (9, a province code) is valid too; no one born after 2008 is (16)."""
    province = number[1:3] if number[:1] == "9" else number[:2]
    if not re.fullmatch(r"\d{17}[\dX]", number) or province not in PROVINCE_CODES or number[6:10] > "2008":
        return False
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return ric.calc_check_digit(number) == number[17]


def ids_by_kind(folder: Path, manifest: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for name, kind in manifest["kinds"].items():
        header, rows = read_table(folder / name, manifest["encodings"][name])
        found[kind] += [normalised_id(v) for v in column(header, rows, kind, "id_number") if v]
    return found


def test_every_kind_for_every_month_and_entity(small):
    folder, manifest = small
    assert sorted(p.name for p in folder.iterdir()) == sorted(manifest["files"])
    per_month = Counter((kind, name.split("_")[1]) for name, kind in manifest["kinds"].items())
    for month in ("202412", "202501", "202502"):
        assert per_month["payroll", month] == per_month["attendance", month] == 6  # six entities
        assert per_month["insurance", month] == per_month["transfers", month] == 1
    for name in manifest["files"]:
        assert re.fullmatch(r"(工资表|考勤|参保明细|转移接续)_\d{6}_\d{3}\.(csv|xlsx)", name), name


def test_manifest_rows_and_kinds_match_the_files(small):
    folder, manifest = small
    for name, rows in manifest["files"].items():
        header, data = read_table(folder / name, manifest["encodings"][name])
        kind, _ = match_header(header)
        assert kind.name == manifest["kinds"][name], name
        assert len(data) == rows, name
    assert sum(sum(c.values()) for c in manifest["rejects_by_file"].values()) == sum(manifest["rejects"].values())


def test_ids_meant_valid_pass_gb11643_and_only_the_planted_fail(larger):
    folder, manifest = larger
    ids = ids_by_kind(folder, manifest)
    for kind in ("insurance", "transfers"):  # the platform's numbers are always valid
        assert ids[kind] and all(is_valid_id(i) for i in ids[kind]), kind
    invalid = {i for i in ids["payroll"] if not is_valid_id(i)}
    assert len(invalid) == manifest["anomalies"]["INVALID_ID_NUMBER"] >= 5
    assert {i for i in ids["attendance"] if not is_valid_id(i)} <= invalid


def test_ids_have_real_area_codes_and_plausible_birth_dates(larger):
    folder, manifest = larger
    ids = set(ids_by_kind(folder, manifest)["insurance"])
    births = [ric.get_birth_date(i) for i in ids]
    ages = [(date(2025, 1, 1) - b).days / 365.25 for b in births]
    assert min(ages) >= 18 and max(ages) <= 62 and 30 <= sum(ages) / len(ages) <= 42
    assert len({i[:6] for i in ids}) >= 20  # several provinces' counties
    sexes = Counter(int(i[16]) % 2 for i in ids)
    assert 0.4 < sexes[1] / len(ids) < 0.7


def test_encodings_are_what_the_manifest_says(larger):
    folder, manifest = larger
    seen = Counter(manifest["encodings"].values())
    assert set(seen) == {"utf-8", "utf-8-sig", "gbk", "xlsx"}
    for name, encoding in manifest["encodings"].items():
        data = (folder / name).read_bytes()
        if encoding == "xlsx":
            assert data[:2] == b"PK"
            continue
        assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig"), name
        if encoding == "gbk":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        data.decode(encoding)  # strict: nothing was replaced by '?'
        assert "?" not in data.decode(encoding), name


def test_xlsx_files_have_a_merged_title_row_above_the_header(larger):
    folder, manifest = larger
    workbooks = [name for name, encoding in manifest["encodings"].items() if encoding == "xlsx"]
    assert workbooks
    for name in workbooks:
        sheet = openpyxl.load_workbook(folder / name).worksheets[0]
        assert "A1" in {str(r).split(":")[0] for r in sheet.merged_cells.ranges}, name
        assert re.search(r"\d{4}年\d{1,2}月", sheet["A1"].value), name
        assert match_header([c.value for c in sheet[1]]) is None  # the header comes after the title


def test_value_spellings_vary_as_exports_do(larger):
    folder, manifest = larger
    months, amounts, dates, full_width = set(), set(), set(), 0
    for name, kind in manifest["kinds"].items():
        header, rows = read_table(folder / name, manifest["encodings"][name])
        months |= {re.sub(r"\d", "9", v) for v in column(header, rows, kind, "period") if v}
        if kind == "payroll":
            gross = [v for v in column(header, rows, kind, "gross_pay") if v]
            amounts |= {re.sub(r"\d", "9", v) for v in gross}
            full_width += sum(bool(re.search("[０-９]", v)) for v in gross)
        if kind == "attendance":
            dates |= {re.sub(r"\d", "9", v) for v in column(header, rows, kind, "hire_date") if v}
    assert {"9999-99", "9999年9月", "9999年99月", "999999", "9999/9"} <= months
    assert {"99,999.99", "99999.99元", "99999"} <= amounts and any(a.startswith(("¥", "￥")) for a in amounts)
    assert full_width >= 1
    assert {"9999-99-99", "99999999", "9999年9月9日"} <= dates


def test_every_anomaly_and_reject_is_planted_in_a_larger_sample(larger):
    folder, manifest = larger
    assert set(manifest["anomalies"]) == SPEC_CODES
    assert all(count >= 1 for count in manifest["anomalies"].values()), manifest["anomalies"]
    assert set(manifest["rejects"]) == REJECT_CODES
    assert "株洲" in manifest["no_policy_regions"]  # (and 武汉 before 2025: the shipped table starts then)
    policy_regions = {line.split(",")[0] for line in SHIPPED_POLICY.read_text(encoding="utf-8").splitlines()}
    assert "株洲" not in policy_regions
    # the identity anomalies are visible in the data itself, within one month's payroll
    people: dict[str, set] = {}
    fifteen_digit = 0
    for name, kind in manifest["kinds"].items():
        if kind != "payroll" or "_202503_" not in name:
            continue
        header, rows = read_table(folder / name, manifest["encodings"][name])
        for employee, raw in zip(column(header, rows, kind, "employee_id"), column(header, rows, kind, "id_number"),
                                 strict=True):
            if raw:
                fifteen_digit += len(raw.replace(" ", "")) == 15
                people.setdefault(normalised_id(raw), set()).add(employee)
    assert fifteen_digit >= 1
    assert any(len(employees) > 1 for employees in people.values())  # one number, two employees


def test_rates_stay_low(larger):
    _, manifest = larger
    rows = sum(manifest["files"].values())
    assert sum(manifest["rejects"].values()) < 0.002 * rows
    assert manifest["anomalies"]["INVALID_ID_NUMBER"] < 0.01 * manifest["employees"]


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = generate_inbox(tmp_path / "a", 40, "2025-01", "2025-02", seed=9)
    b = generate_inbox(tmp_path / "b", 40, "2025-01", "2025-02", seed=9)
    c = generate_inbox(tmp_path / "c", 40, "2025-01", "2025-02", seed=10)
    assert a == b and a != c
    for name, encoding in a["encodings"].items():
        if encoding == "xlsx":  # the zip carries a creation time: compare the cells
            assert read_table(tmp_path / "a" / name, encoding) == read_table(tmp_path / "b" / name, encoding)
        else:
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_csv_only_for_benchmarks_and_payroll_only_history(tmp_path):
    manifest = generate_inbox(tmp_path, 50, "2025-01", "2025-03", formats="csv", history_payroll_only=True)
    assert set(manifest["encodings"].values()) <= {"utf-8", "gbk"}
    assert all(name.endswith(".csv") for name in manifest["files"])
    before_last = {kind for name, kind in manifest["kinds"].items() if "_202503_" not in name}
    assert before_last == {"payroll"}
    assert {kind for name, kind in manifest["kinds"].items() if "_202503_" in name} == set(KINDS) - {"bill"}


def test_cli_writes_an_inbox_and_prints_no_id_numbers(tmp_path):
    out = tmp_path / "inbox"
    done = subprocess.run([sys.executable, "-m", "flows.launch", "sample", "--employees", "30", "--from", "2025-01",
                           "--to", "2025-02", "--out", str(out), "--seed", "4"],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Sample inbox .*: 28 files", done.stdout)
    assert len(list(out.iterdir())) == 28
    assert not re.search(r"\d{15}", done.stdout + done.stderr)
    bad = subprocess.run([sys.executable, "-m", "flows.launch", "sample", "--from", "2025-13", "--to", "2025-02",
                          "--out", str(tmp_path / "x")], capture_output=True, text=True, cwd=REPO, check=False)
    assert bad.returncode == 2 and "--from '2025-13' is not a month" in bad.stderr


def test_ingest_recognises_every_file_and_rejects_exactly_the_planted_rows(small, con):
    from transforms.ingest.inbox import ingest_inbox

    folder, manifest = small
    ingest_inbox(con, folder)
    loads = {Path(source).name: (kind, status, read, rejected) for source, kind, status, read, rejected in con.execute(
        "SELECT source_file, kind, status, rows_read, rows_rejected FROM ingest.loads").fetchall()}
    assert loads == {name: (manifest["kinds"][name], "loaded", rows, sum(manifest["rejects_by_file"].get(name, {}).values()))
                     for name, rows in manifest["files"].items()}
    rejects: dict[str, dict[str, int]] = {}
    for source, code, count in con.execute(
            "SELECT source_file, reason_code, count(*) FROM ingest.rejects GROUP BY ALL").fetchall():
        rejects.setdefault(Path(source).name, {})[code] = count
    assert rejects == manifest["rejects_by_file"]


# Codes whose only cause in the sample is their plant: found exactly as often as planted, in the plant's unit
# (distinct keys over the range). The others can also be set off by a related plant, as in real data: an invalid
# or copied ID number matches no insurance record (HIRED_NOT_ENROLLED) and changes the ledger base
# (BASE_MISMATCH); a transfer not reflected leaves the origin active (ACTIVE_ELSEWHERE); a duplicate is reported
# for each record involved (DUPLICATE_ID_NUMBER, DUPLICATE_PERSON). Those stay "planted is found".
COUNTED = {"BASE_BELOW_FLOOR": "id_number", "BASE_ABOVE_CEILING": "id_number",
           "WITHHOLDING_MISMATCH": "entity || employee_id", "DEPARTED_STILL_CONTRIBUTING": "entity || employee_id",
           "FIRST_ENROLLMENT_MISJUDGED": "id_number", "STALE_TRANSFER": "transfer_id",
           "TRANSFER_NOT_REFLECTED": "transfer_id", "NO_POLICY": "region"}
# Codes whose planted keys the manifest lists month by month (SPEC v2 plants, decoys included): equal.
KEYED = ("INVALID_ID_NUMBER", "DOUBLE_ENROLLMENT", "TRANSFER_NEEDED")


@pytest.mark.slow
def test_the_validation_finds_every_planted_anomaly(tmp_path):
    """End to end on a mid-sized inbox: each planted SPEC §5 code is found; where the plant is its only cause,
    exactly the planted keys (KEYED) or as many as planted (COUNTED)."""
    from expectations.validate import start_run, validate_period
    from transforms.common.runs import new_run_id
    from transforms.ingest.inbox import ingest_inbox
    from transforms.ledger.book import compute_ledger
    from transforms.ledger.policy import apply_policy
    from warehouse.db import connect

    manifest = generate_inbox(tmp_path / "inbox", 400, "2024-11", "2025-02", seed=2)
    con = connect(tmp_path / "w.duckdb")
    try:
        ingest_inbox(con, tmp_path / "inbox")
        apply_policy(con)
        found = set()
        for period in manifest["periods"]:
            compute_ledger(con, period)
            run_id = new_run_id()
            start_run(con, run_id, period)
            validate_period(con, period, run_id)
            found |= {code for (code,) in con.execute(
                "SELECT DISTINCT code FROM quality.findings WHERE run_id = ?", [run_id]).fetchall()}
            for code in KEYED:
                keys = sorted(f"{e}|{i}" for e, i in con.execute(
                    "SELECT entity, employee_id FROM quality.findings WHERE run_id = ? AND code = ?",
                    [run_id, code]).fetchall())
                assert keys == manifest["expected"][code][period], (code, period)
        counted = {code: con.execute(f"SELECT count(DISTINCT {key}) FROM quality.findings WHERE code = ?",
                                     [code]).fetchone()[0] for code, key in COUNTED.items()}
    finally:
        con.close()
    planted = {code for code, count in manifest["anomalies"].items() if count}
    assert planted <= found, planted - found
    assert counted == {code: manifest["anomalies"][code] for code in COUNTED}
    assert "MISSING_EXTRACT" not in found
