"""Cleanup actions: ids from the problem, lifecycle across months, dismissals, roles, acceptance."""

from __future__ import annotations

import json

import pytest

from expectations.validate import start_run, validate_period
from transforms.actions import dismiss, list_actions, update_actions
from transforms.ledger import compute_ledger
from transforms.roles import PermissionDenied
from transforms.runs import new_run_id
from warehouse.db import connect
from warehouse.errors import ShebaoError
from warehouse.policy import apply_policy

PERIODS = ("2024-01", "2024-02", "2024-03")


def close(con, period: str) -> str:
    compute_ledger(con, period)
    run_id = new_run_id()
    start_run(con, run_id, period)
    validate_period(con, period, run_id)
    update_actions(con, period, run_id)
    return run_id


@pytest.fixture()
def closed(acceptance_copy, acceptance_dir):
    con = connect(acceptance_copy)
    apply_policy(con, acceptance_dir / "policy.csv")
    runs = {period: close(con, period) for period in PERIODS}
    yield con, runs
    con.close()


CODE_TO_TYPE = {
    "DUPLICATE_ID_NUMBER": "MERGE_RECORDS", "DUPLICATE_PERSON": "MERGE_RECORDS", "INVALID_ID_NUMBER": "FIX_ID_NUMBER",
    "BASE_BELOW_FLOOR": "ADJUST_BASE", "BASE_ABOVE_CEILING": "ADJUST_BASE", "BASE_MISMATCH": "ADJUST_BASE",
    "WITHHOLDING_MISMATCH": "CORRECT_WITHHOLDING", "HIRED_NOT_ENROLLED": "ENROLL_EMPLOYEE",
    "DEPARTED_STILL_CONTRIBUTING": "STOP_CONTRIBUTION", "ACTIVE_ELSEWHERE": "INITIATE_TRANSFER",
    "FIRST_ENROLLMENT_MISJUDGED": "LINK_PRIOR_HISTORY", "STALE_TRANSFER": "CHASE_TRANSFER",
    "TRANSFER_NOT_REFLECTED": "UPDATE_TRANSFER_STATUS",
}


def test_every_march_finding_has_an_open_action(closed):
    con, runs = closed
    findings = con.execute(
        "SELECT code, entity, employee_id, id_number, transfer_id, CAST(details AS VARCHAR) FROM quality.findings"
        " WHERE run_id = ?", [runs["2024-03"]]).fetchall()
    actions = con.execute("SELECT action_type, status, CAST(details AS VARCHAR) FROM actions.cleanup_actions").fetchall()
    covered = set()
    for action_type, status, details in actions:
        if status != "open":
            continue
        for finding in json.loads(details)["findings"]:
            covered.add((action_type, finding["code"], finding["entity"], finding["employee_id"], finding["transfer_id"]))
    suppressed = 0
    for code, entity, employee_id, _id_number, transfer_id, details in findings:
        if code not in CODE_TO_TYPE:
            continue
        key = (CODE_TO_TYPE[code], code, entity, employee_id, transfer_id)
        if key not in covered:
            # only INITIATE_TRANSFER may be left out: an open transfer from that region exists
            assert code == "ACTIVE_ELSEWHERE", key
            other = json.loads(details)["other_region"]
            assert con.execute(
                "SELECT count(*) FROM core.transfers WHERE period = '2024-03' AND from_region = ?"
                " AND id_number = ? AND stage NOT IN ('completed', 'rejected')", [other, _id_number]).fetchone()[0]
            suppressed += 1
    assert len(covered) > 40


def test_rerunning_march_keeps_every_action_id(closed):
    con, _ = closed
    before = con.execute("SELECT action_id, status FROM actions.cleanup_actions ORDER BY 1").fetchall()
    close(con, "2024-03")
    after = con.execute("SELECT action_id, status FROM actions.cleanup_actions ORDER BY 1").fetchall()
    assert before == after


def test_a_problem_fixed_in_february_is_resolved_and_dismissed_stays_dismissed(acceptance_copy, acceptance_dir):
    con = connect(acceptance_copy)
    apply_policy(con, acceptance_dir / "policy.csv")
    close(con, "2024-01")
    adjust = con.execute("SELECT action_id, id_number, entity FROM actions.cleanup_actions"
                         " WHERE action_type = 'ADJUST_BASE' ORDER BY action_id LIMIT 2").fetchall()
    (fixed_id, fixed_person, fixed_entity), (kept_id, _, _) = adjust
    dismiss(con, kept_id, "已与社保局确认，基数按合同执行", role="hr_manager")
    # February's snapshot: the fixed person's bases now equal the ledger's
    con.execute(
        """
        UPDATE staging.insurance s SET base = c.base
        FROM ledger.current_contributions c
        WHERE s.period = '2024-02' AND s.id_number = ? AND s.employer = ? AND c.period = '2024-01'
          AND c.id_number = s.id_number AND c.insurance_type = s.insurance_type
        """, [fixed_person, fixed_entity])
    close(con, "2024-02")
    status = dict(con.execute("SELECT action_id, status FROM actions.cleanup_actions").fetchall())
    assert status[fixed_id] == "resolved"
    assert status[kept_id] == "dismissed"
    events = [r[0] for r in con.execute("SELECT event FROM actions.action_events WHERE action_id = ? ORDER BY occurred_at",
                                        [fixed_id]).fetchall()]
    assert events[0] == "opened" and events[-1] == "resolved"
    con.close()


def test_staff_cannot_dismiss_and_the_refusal_is_audited(closed):
    con, _ = closed
    action_id = con.execute("SELECT min(action_id) FROM actions.cleanup_actions").fetchone()[0]
    with pytest.raises(PermissionDenied, match="may not dismiss"):
        dismiss(con, action_id, "no", role="hr_staff")
    assert con.execute("SELECT allowed FROM actions.audit WHERE target = ?", [action_id]).fetchone()[0] is False
    with pytest.raises(ShebaoError, match="There is no action"):
        dismiss(con, "ADJ-doesnotexist", "typo", role="hr_manager")


def test_listing_masks_ids_for_staff_and_refuses_finance(closed):
    con, _ = closed
    staff = list_actions(con, role="hr_staff")
    assert all(i is None or "*" in i for i in staff["id_number"].to_list())
    manager = list_actions(con, role="hr_manager")
    assert any(i and len(i) == 18 and "*" not in i for i in manager["id_number"].to_list())
    with pytest.raises(PermissionDenied):
        list_actions(con, role="finance")


def test_adjust_base_groups_the_types_of_one_person(closed):
    con, _ = closed
    rows = con.execute("SELECT finding_codes, CAST(details AS VARCHAR) FROM actions.cleanup_actions"
                       " WHERE action_type = 'ADJUST_BASE'").fetchall()
    assert any(len(json.loads(d)["insurance_types"]) > 1 for _, d in rows)
    ids = con.execute("SELECT entity, id_number, count(*) FROM actions.cleanup_actions"
                      " WHERE action_type = 'ADJUST_BASE' GROUP BY ALL HAVING count(*) > 1").fetchall()
    assert ids == []


def test_findings_with_missing_key_parts_and_repeated_types_make_one_action_each(con):
    con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES ('r1', '2024-03', now(), 'succeeded')")
    rows = [
        ("BASE_BELOW_FLOOR", "error", "甲公司", None, "430102199001011237", "pension", '{"expected_base": "3604.00"}'),
        ("BASE_MISMATCH", "warning", "甲公司", None, "430102199001011237", "pension", '{"expected_base": "5000.00"}'),
        ("BASE_MISMATCH", "warning", None, None, "430102199001011237", "medical", '{"expected_base": "5000.00"}'),
        ("WITHHOLDING_MISMATCH", "warning", None, "E9", None, None, "{}"),
    ]
    con.executemany("INSERT INTO quality.findings (run_id, period, code, severity, entity, employee_id, id_number,"
                    " insurance_type, details) VALUES ('r1', '2024-03', ?, ?, ?, ?, ?, ?, ?)", rows)
    update_actions(con, "2024-03", "r1")
    actions = con.execute("SELECT action_type, entity, CAST(details AS VARCHAR) FROM actions.cleanup_actions"
                          " ORDER BY ALL").fetchall()
    assert [(t, e) for t, e, _ in actions] == [("ADJUST_BASE", "甲公司"), ("ADJUST_BASE", None),
                                               ("CORRECT_WITHHOLDING", None)]  # NULLs sort last
    assert json.loads(actions[0][2])["expected_base"] == {"pension": "3604.00"}
