"""Acceptance: on ../shared/acceptance with its policy, for 2024-01, 2024-02 and 2024-03, the keys of every
code in ``quality.findings`` equal ``expected.json`` → periods → P → findings exactly."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from expectations.registry import CHECKS
from expectations.validate import start_run, validate_period
from tests.conftest import V2_CODES
from transforms.common.runs import new_run_id
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from warehouse.db import connect

PERIODS = ("2024-01", "2024-02", "2024-03")


def _key(code: str, row: tuple):
    """SPEC §5 "one row per" key of a finding row (entity, employee_id, id_number, insurance_type,
    transfer_id, region, details) in expected.json's shape."""
    entity, employee_id, id_number, insurance_type, transfer_id, region, details = row
    key = next(check.key for check in CHECKS if check.code == code)
    if key == ("entity", "employee_id"):
        return [entity, employee_id]
    if key == ("id_number", "insurance_type"):
        return [id_number, insurance_type]
    if key == ("id_number",):
        return id_number
    if key == ("transfer_id",):
        return transfer_id
    if key == ("region",):
        return region
    return json.loads(details)["kind"]


@pytest.fixture(scope="module")
def validated(tmp_path_factory, acceptance_ingested, acceptance_dir):
    import shutil

    path = tmp_path_factory.mktemp("acceptance-findings") / "acceptance.duckdb"
    shutil.copy(acceptance_ingested, path)
    con = connect(path)
    apply_policy(con, acceptance_dir / "policy.csv")
    runs = {}
    for period in PERIODS:
        compute_ledger(con, period)
        run_id = new_run_id()
        start_run(con, run_id, period)
        validate_period(con, period, run_id)
        runs[period] = run_id
    yield con, runs
    con.close()


@pytest.mark.slow
@pytest.mark.parametrize("period", PERIODS)
def test_findings_keys_equal_expected(validated, expected, period):
    con, runs = validated
    rows = con.execute(
        "SELECT code, entity, employee_id, id_number, insurance_type, transfer_id, region, CAST(details AS VARCHAR)"
        " FROM quality.findings WHERE run_id = ?", [runs[period]]
    ).fetchall()
    got: dict[str, list] = {}
    for code, *rest in rows:
        got.setdefault(code, []).append(_key(code, tuple(rest)))
    want = expected["periods"][period]["findings"]
    problems = []
    for code in sorted((set(got) | set(want)) - V2_CODES):
        mine = got.get(code, [])
        duplicates = [k for k, n in Counter(json.dumps(k, ensure_ascii=False) for k in mine).items() if n > 1]
        missing = [k for k in want.get(code, []) if k not in mine]
        extra = [k for k in mine if k not in want.get(code, [])]
        if missing or extra or duplicates:
            problems.append(f"{code}: missing {missing}, extra {extra}, duplicate keys {duplicates}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_validating_again_gives_the_same_findings_under_a_new_run_id(validated):
    con, runs = validated
    again = new_run_id()
    start_run(con, again, "2024-03")
    validate_period(con, "2024-03", again)
    assert again != runs["2024-03"]

    def rows(run_id):
        return con.execute(
            "SELECT period, code, severity, entity, employee_id, id_number, region, insurance_type, transfer_id,"
            " CAST(details AS VARCHAR) FROM quality.findings WHERE run_id = ? ORDER BY ALL", [run_id]
        ).fetchall()

    assert rows(again) == rows(runs["2024-03"]) and rows(again)
