"""Acceptance (issue 5) on ../shared/acceptance with its policy, after closing 2024-01..03 with the real
ingest, policy, ledger and validation: every March finding with an action type has an open action of that
type about that person (STOP_ORIGIN_RECORD of ACTIVE_ELSEWHERE only without a transfer from that region); re-running March keeps every id;
a base fixed in February resolves January's action; a dismissed one stays dismissed."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("transforms.ingest.inbox", reason="the ingest area (transforms.ingest.inbox) is not there yet")
pytest.importorskip("transforms.ledger.book", reason="the ledger area (transforms.ledger.book) is not there yet")
pytest.importorskip("transforms.ledger.policy", reason="the policy loader (transforms.ledger.policy) is not there yet")
pytest.importorskip("expectations.validate", reason="the validation area (expectations.validate) is not there yet")

from expectations.registry import FINDING_ACTION  # noqa: E402
from expectations.validate import start_run, validate_period  # noqa: E402
from transforms.actions.cleanup import dismiss, update_actions  # noqa: E402
from transforms.common.runs import new_run_id  # noqa: E402
from transforms.ledger.book import compute_ledger  # noqa: E402
from transforms.ledger.policy import apply_policy  # noqa: E402
from warehouse.db import connect, opened  # noqa: E402

pytestmark = pytest.mark.slow


def close(con, period: str) -> str:
    compute_ledger(con, period)
    run_id = new_run_id()
    start_run(con, run_id, period)
    validate_period(con, period, run_id)
    update_actions(con, period, run_id)
    return run_id


def people_of(action_id, entity, employee_id, id_number, details: dict) -> set:
    """Every way an action names a person: (entity, employee_id), the id number, the transfer."""
    names = {("emp", entity, employee_id), ("id", id_number), ("transfer", details.get("transfer_id")),
             ("region", details.get("region"))}
    for p in details.get("people") or []:
        names |= {("emp", p.get("entity"), p.get("employee_id")), ("id", p.get("id_number"))}
    return {n for n in names if None not in n[1:]}


def test_every_march_finding_has_an_open_action_about_that_person(acceptance_closed):
    with opened(acceptance_closed, read_only=True) as con:
        run_id = con.execute("SELECT max(run_id) FROM quality.runs WHERE period = '2024-03'").fetchone()[0]
        findings = con.execute(
            "SELECT code, entity, employee_id, id_number, transfer_id, region, CAST(details AS VARCHAR)"
            " FROM quality.findings WHERE run_id = ?", [run_id]).fetchall()
        actions = con.execute("SELECT action_id, action_type, entity, employee_id, id_number, CAST(details AS VARCHAR)"
                              " FROM actions.cleanup_actions WHERE status = 'open'").fetchall()
        known_transfers = set(con.execute(
            "SELECT id_number, from_region FROM core.transfers WHERE period <= '2024-03'"
            " AND stage <> 'rejected'").fetchall())
    about: dict[str, set] = {}
    for action_id, action_type, entity, employee_id, id_number, details in actions:
        about.setdefault(action_type, set()).update(
            people_of(action_id, entity, employee_id, id_number, json.loads(details)))
    checked = suppressed = 0
    for code, entity, employee_id, id_number, transfer_id, region, details in findings:
        if code not in FINDING_ACTION:
            continue
        action_type = FINDING_ACTION[code]
        person = {("emp", entity, employee_id), ("id", id_number), ("transfer", transfer_id)}
        if code in ("NO_POLICY", "POLICY_OUTDATED"):  # about a region's policy, not a person
            person = {("region", region)}
        person = {n for n in person if None not in n[1:]}
        assert person, (code, "a finding that names nobody")
        if person & about.get(action_type, set()):
            checked += 1
            continue
        # the one exception: a transfer of that person from that region is under way
        assert code == "ACTIVE_ELSEWHERE", f"no open {action_type} action for a {code} finding"
        assert (id_number, json.loads(details)["other_region"]) in known_transfers
        suppressed += 1
    assert checked > 100 and suppressed > 0


def test_rerunning_march_keeps_every_action_id(acceptance_closed, tmp_path):
    path = tmp_path / "closed.duckdb"
    shutil.copy(acceptance_closed, path)
    con = connect(path)
    try:
        before = con.execute("SELECT action_id, action_type, status, period_first_seen, period_last_seen"
                             " FROM actions.cleanup_actions ORDER BY 1").fetchall()
        close(con, "2024-03")
        after = con.execute("SELECT action_id, action_type, status, period_first_seen, period_last_seen"
                            " FROM actions.cleanup_actions ORDER BY 1").fetchall()
    finally:
        con.close()
    assert len(before) > 50
    assert after == before


def test_a_base_fixed_in_february_is_resolved_and_a_dismissed_action_stays_dismissed(acceptance_copy, acceptance_dir):
    con = connect(acceptance_copy)
    try:
        apply_policy(con, acceptance_dir / "policy.csv")
        close(con, "2024-01")
        adjust = con.execute("SELECT action_id, id_number, entity FROM actions.cleanup_actions"
                             " WHERE action_type = 'ADJUST_BASE' AND status = 'open' ORDER BY action_id").fetchall()
        assert len(adjust) >= 2
        # a person whose every base problem persists into February's snapshot, and one to fix there
        persisting = [a for a in adjust if con.execute(
            "SELECT count(*) FROM core.insurance WHERE period = '2024-02' AND id_number = ?", [a[1]]).fetchone()[0]]
        (fixed_id, fixed_person, fixed_entity), (kept_id, _, _) = persisting[:2]
        dismiss(con, kept_id, "已与社保局确认，基数按合同执行", role="hr_manager")
        # February's snapshot as HR fixes it: the person's bases now equal the ledger's
        con.execute(
            """
            UPDATE staging.insurance s SET base = c.base
            FROM ledger.current_contributions c
            WHERE s.period = '2024-02' AND s.id_number = ? AND s.employer = ? AND c.period = '2024-01'
              AND c.entity = s.employer AND c.id_number = s.id_number AND c.insurance_type = s.insurance_type
            """, [fixed_person, fixed_entity])
        feb_run = close(con, "2024-02")
        status = {r[0]: r[1:] for r in con.execute(
            "SELECT action_id, status, resolved_by_run, period_first_seen, period_last_seen"
            " FROM actions.cleanup_actions").fetchall()}
        events = [r[0] for r in con.execute(
            "SELECT event FROM actions.action_events WHERE action_id = ? ORDER BY occurred_at", [fixed_id]).fetchall()]
    finally:
        con.close()
    assert status[fixed_id] == ("resolved", feb_run, "2024-01", "2024-01")
    assert status[kept_id][0] == "dismissed" and status[kept_id][3] == "2024-02"  # found again, still dismissed
    assert events == ["opened", "resolved"]
