"""The agency's bills of the public acceptance sample (SPEC version 2, ../shared/acceptance-v2): every bill
file staged with the rows and rejects of expected.json, and BILL_MISMATCH's keys for each closed period."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SHARED

ACCEPTANCE_V2 = SHARED / "acceptance-v2"


@pytest.fixture(scope="module")
def expected_v2() -> dict:
    if not (ACCEPTANCE_V2 / "expected.json").exists():
        pytest.fail(f"The acceptance sample is missing at {ACCEPTANCE_V2}; CI provides ../shared beside the repo.")
    return json.loads((ACCEPTANCE_V2 / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def closed_v2(tmp_path_factory, expected_v2) -> Path:
    """The sample ingested, its policy applied and the ledger of each closed period computed, in order."""
    from transforms.ingest import ingest_inbox
    from transforms.ledger import compute_ledger
    from warehouse.db import connect
    from warehouse.policy import apply_policy

    path = tmp_path_factory.mktemp("acceptance_v2") / "w.duckdb"
    con = connect(path)
    try:
        ingest_inbox(con, ACCEPTANCE_V2 / "inbox")
        apply_policy(con, ACCEPTANCE_V2 / "policy.csv")
        for period in expected_v2["closed_in_order"]:
            compute_ledger(con, period)
    finally:
        con.close()
    return path


def test_every_bill_file_is_staged_with_its_rows_and_rejects(closed_v2, expected_v2):
    from warehouse.db import opened

    bills = {name: spec for name, spec in expected_v2["files"].items() if spec["kind"] == "bill"}
    assert len(bills) >= 60
    with opened(closed_v2, read_only=True) as con:
        loads = {row[0]: row[1:] for row in con.execute(
            "SELECT source_file, kind, status, rows_read, rows_staged FROM ingest.loads").fetchall()}
        rejects: dict[str, Counter] = {}
        for source, code, count in con.execute(
                "SELECT source_file, reason_code, count(*) FROM ingest.rejects GROUP BY ALL").fetchall():
            rejects.setdefault(source, Counter())[code] = count
        staged = dict(con.execute("SELECT l.source_file, count(*) FROM ingest.bills b"
                                  " JOIN ingest.loads l USING (load_id) GROUP BY ALL").fetchall())
    for name, spec in bills.items():
        rejected = sum(spec["rejected"].values())
        assert loads[name] == ("bill", "loaded", spec["rows"], spec["rows"] - rejected), name
        assert dict(rejects.get(name, {})) == spec["rejected"], name
        assert staged.get(name, 0) == spec["rows"] - rejected, name  # one file per region and month: all current


def test_bill_mismatch_keys_for_each_closed_period(closed_v2, expected_v2):
    from expectations.gx_duckdb import SCOPE_QUALIFIED, set_scope
    from expectations.registry import BY_CODE
    from warehouse.db import opened

    with opened(closed_v2) as con:
        for period in expected_v2["closed_in_order"]:
            set_scope(con, period)
            found = sorted(list(row) for row in con.execute(
                f"SELECT id_number, insurance_type, region FROM ({BY_CODE['BILL_MISMATCH'].sql_for(SCOPE_QUALIFIED)})"
            ).fetchall())
            assert found == sorted(expected_v2["periods"][period]["findings"]["BILL_MISMATCH"]), period
