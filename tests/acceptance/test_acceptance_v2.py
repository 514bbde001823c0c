"""Acceptance, SPEC version 2: ../shared/acceptance-v2 closed 2024-06, 2024-07, 2024-08 in order on one
warehouse with its policy file gives exactly its expected.json: files, findings, ledger cells, the
arrears of HIRED_NOT_ENROLLED and the open actions of each period."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from expectations.registry import BY_CODE
from expectations.validate import start_run, validate_period
from transforms.actions.cleanup import update_actions
from transforms.common.runs import new_run_id
from transforms.ingest.inbox import ingest_inbox
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from warehouse.db import connect

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "acceptance-v2"
CELLS = """
    SELECT entity, employee_id, insurance_type, printf('%.2f', base), printf('%.2f', month_fraction),
           printf('%.2f', employer_amount), printf('%.2f', employee_amount)
    FROM ledger.current_contributions WHERE period = ?
"""


@pytest.fixture(scope="module")
def expected_v2() -> dict:
    if not (SAMPLE / "expected.json").exists():
        pytest.fail(f"The v2 acceptance sample is missing at {SAMPLE}; CI provides ../shared beside the repo.")
    return json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def closed_v2(tmp_path_factory, expected_v2):
    """The warehouse after each period's close: period -> (run_id, findings, ledger cells, open actions)."""
    con = connect(tmp_path_factory.mktemp("acceptance-v2") / "v2.duckdb")
    ingest_inbox(con, SAMPLE / "inbox")
    apply_policy(con, SAMPLE / "policy.csv")
    results = {}
    for period in expected_v2["closed_in_order"]:
        compute_ledger(con, period)
        run_id = new_run_id()
        start_run(con, run_id, period)
        validate_period(con, period, run_id)
        update_actions(con, period, run_id)
        findings = con.execute(
            "SELECT code, entity, employee_id, id_number, insurance_type, transfer_id, region,"
            " CAST(details AS VARCHAR) FROM quality.findings WHERE run_id = ?", [run_id]).fetchall()
        actions = con.execute(
            "SELECT action_type, CAST(details AS VARCHAR) FROM actions.cleanup_actions"
            " WHERE status IN ('open', 'submitted')").fetchall()
        results[period] = (findings, sorted(con.execute(CELLS, [period]).fetchall()), actions)
    files = con.execute(
        "SELECT l.source_file, l.kind, l.rows_read, r.reason_code, count(r.reason_code)"
        " FROM ingest.loads l LEFT JOIN ingest.rejects r USING (load_id) GROUP BY ALL").fetchall()
    con.close()
    return results, files


def finding_key(code: str, entity, employee_id, id_number, insurance_type, transfer_id, region, details):
    """SPEC §5 "one row per" key in expected.json's shape."""
    key = BY_CODE[code].key
    values = {"entity": entity, "employee_id": employee_id, "id_number": id_number,
              "insurance_type": insurance_type, "transfer_id": transfer_id, "region": region}
    if key == ("kind",):
        return json.loads(details)["kind"]
    if len(key) == 1:
        return values[key[0]]
    return [values[k] for k in key]


def compare(got: list, want: list) -> list[str]:
    dumps = [json.dumps(k, ensure_ascii=False) for k in got]
    doubles = [k for k, n in Counter(dumps).items() if n > 1]
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    return [f"missing {missing}"] * bool(missing) + [f"extra {extra}"] * bool(extra) + [f"twice {doubles}"] * bool(doubles)


def test_every_file_is_read_as_expected(closed_v2, expected_v2):
    _, files = closed_v2
    got: dict[str, dict] = {}
    for source_file, kind, rows, reason, n in files:
        entry = got.setdefault(Path(source_file).name, {"kind": kind, "rows": rows, "rejected": {}})
        if reason:
            entry["rejected"][reason] = n
    want = expected_v2["files"]
    wrong = {name: (got.get(name), spec) for name, spec in want.items() if got.get(name) != spec}
    assert not wrong, "\n".join(f"{name}: got {g}, want {w}" for name, (g, w) in sorted(wrong.items()))


@pytest.mark.parametrize("period", ["2024-06", "2024-07", "2024-08"])
def test_findings_keys_equal_expected(closed_v2, expected_v2, period):
    findings = closed_v2[0][period][0]
    got: dict[str, list] = {}
    for code, *rest in findings:
        got.setdefault(code, []).append(finding_key(code, *rest))
    want = expected_v2["periods"][period]["findings"]
    problems = [f"{code}: {'; '.join(p)}" for code in sorted(set(got) | set(want))
                if (p := compare(got.get(code, []), want.get(code, [])))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("period", ["2024-06", "2024-07", "2024-08"])
def test_ledger_cells_equal_expected(closed_v2, expected_v2, period):
    got = closed_v2[0][period][1]
    want = sorted(tuple(cell) for cell in expected_v2["periods"][period]["ledger"])
    assert not (diff := sorted(set(got) ^ set(want))), f"{len(diff)} cells differ, e.g. {diff[:6]}"


@pytest.mark.parametrize("period", ["2024-06", "2024-07", "2024-08"])
def test_hired_not_enrolled_arrears_equal_expected(closed_v2, expected_v2, period):
    want = expected_v2["periods"][period]["hired_not_enrolled_arrears"]
    # every key expected.json gives (v3: registration_due, overdue and arrears_before_data besides the arrears)
    keys = sorted({k for entry in want.values() for k in entry}) or ["arrears_months", "arrears_employer",
                                                                     "arrears_employee", "late_fee"]
    got = {}
    for code, entity, employee_id, *_, details in closed_v2[0][period][0]:
        if code == "HIRED_NOT_ENROLLED":
            d = json.loads(details)
            got[f"{entity}|{employee_id}"] = {k: d.get(k) for k in keys}
    assert got == want


@pytest.mark.parametrize("period", ["2024-06", "2024-07", "2024-08"])
def test_retirement_due_equals_expected(closed_v2, expected_v2, period):
    got = {}
    for code, entity, employee_id, *_, details in closed_v2[0][period][0]:
        if code == "RETIREMENT_DUE":
            d = json.loads(details)
            got[f"{entity}|{employee_id}"] = {k: d[k] for k in
                                              ("retirement_month", "retirement_age", "basis", "basis_assumed",
                                               "months_paid", "min_contribution_months", "short_of_minimum")
                                              if d.get(k) is not None}  # the contribution months where given
    assert got == expected_v2["periods"][period]["retirement_due"]


@pytest.mark.parametrize("period", ["2024-06", "2024-07", "2024-08"])
def test_open_actions_equal_expected(closed_v2, expected_v2, period):
    got = []
    for action_type, details in closed_v2[0][period][2]:
        for f in json.loads(details)["findings"]:
            key = finding_key(f["code"], f.get("entity"), f.get("employee_id"), f.get("id_number"),
                              f.get("insurance_type"), f.get("transfer_id"), f.get("region"),
                              json.dumps(f.get("evidence") or {}))
            got.append([action_type, f["code"], key])
    want = expected_v2["periods"][period]["actions"]
    assert not (problems := compare(got, want)), "\n".join(problems)
