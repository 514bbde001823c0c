"""Sample bills: one file per region and month (GBK or UTF-8 CSV, read back with plain csv), ledger-true
except the planted differences, which BILL_MISMATCH finds exactly: an amount off, a billed non-employee and
an unbilled employee are found, a sub-yuan rounding difference is not."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from expectations.gx_duckdb import SCOPE_QUALIFIED, set_scope
from expectations.registry import BY_CODE
from sample import generate_inbox
from transforms.ingest.kinds import match_header

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("billed") / "inbox"
    return folder, generate_inbox(folder, 250, "2024-12", "2025-02", seed=5, bills=True)


def test_one_bill_per_region_and_month_in_gbk_or_utf8(billed):
    folder, manifest = billed
    bills = {name: rows for name, rows in manifest["files"].items() if manifest["kinds"][name] == "bill"}
    assert bills
    for name, rows in bills.items():
        region, month = re.fullmatch(r"社保费缴费明细_(.+)_(\d{6})\.csv", name).groups()
        encoding = manifest["encodings"][name]
        assert encoding in ("gbk", "utf-8")
        table = list(csv.reader(io.StringIO((folder / name).read_bytes().decode(encoding))))
        kind, positions = match_header(table[0])
        assert kind.name == "bill" and len(table) - 1 == rows
        assert {row[positions["region"]].removeprefix(region)[:1] in ("", "市") or region in row[positions["region"]]
                for row in table[1:]} == {True}
    per_month = {}
    for name in bills:
        per_month.setdefault(name.split("_")[2].removesuffix(".csv"), set()).add(name.split("_")[1])
    assert set(per_month) == {"202412", "202501", "202502"}
    assert all(len(regions) >= 3 for regions in per_month.values())
    files = len(bills)
    assert manifest["bill_plants"] == {"amount_off": files, "non_employee": files, "unbilled": files, "rounding": files}


def test_bills_do_not_change_the_other_files(billed, tmp_path):
    folder, manifest = billed
    plain = generate_inbox(tmp_path, 250, "2024-12", "2025-02", seed=5)
    assert plain["files"] == {n: r for n, r in manifest["files"].items() if manifest["kinds"][n] != "bill"}
    name = next(n for n in plain["files"] if plain["encodings"][n] != "xlsx")
    assert (tmp_path / name).read_bytes() == (folder / name).read_bytes()


def test_the_check_finds_exactly_the_planted_differences(billed, con):
    from transforms.ingest.inbox import ingest_inbox
    from transforms.ledger.book import compute_ledger
    from transforms.ledger.policy import apply_policy

    folder, manifest = billed
    ingest_inbox(con, folder)
    loaded = dict(con.execute("SELECT source_file, rows_read - rows_rejected FROM ingest.loads WHERE kind = 'bill'"
                              ).fetchall())
    assert loaded == {n: r for n, r in manifest["files"].items() if manifest["kinds"][n] == "bill"}
    apply_policy(con)
    for period in manifest["periods"]:
        compute_ledger(con, period)
        set_scope(con, period)
        found = sorted(con.execute(f"SELECT id_number, insurance_type, region FROM "
                                   f"({BY_CODE['BILL_MISMATCH'].sql_for(SCOPE_QUALIFIED)})").fetchall())
        assert found == [tuple(k) for k in manifest["bill_differences"][period]], period
        assert found
        # the rounding plants are there, one per bill, and stay under 1.00
        rounding = con.execute(
            "SELECT count(*) FROM quality.bill_comparison(?) WHERE billed AND booked"
            " AND abs(billed_employee_amount - ledger_employee_amount) BETWEEN 0.01 AND 0.99", [period]).fetchone()[0]
        bills = sum(1 for n in manifest["files"] if manifest["kinds"][n] == "bill" and period.replace("-", "") in n)
        assert rounding == bills


def test_cli_writes_bills_on_request(tmp_path):
    out = tmp_path / "inbox"
    done = subprocess.run([sys.executable, "-m", "flows.launch", "sample", "--employees", "40", "--from", "2025-01",
                           "--to", "2025-01", "--out", str(out), "--seed", "4", "--bills"],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert any(p.name.startswith("社保费缴费明细_") for p in out.iterdir())
    assert not re.search(r"\d{15}", done.stdout + done.stderr)
