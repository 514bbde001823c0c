"""Cleanup actions on hand-built findings: the mapping, ids from the problem, grouping, the transfer rule,
the lifecycle across months, dismissals and roles. The acceptance sample is in test_actions_acceptance.py."""

from __future__ import annotations

import getpass
import hashlib
import json

import pytest

from expectations.registry import BY_CODE, FINDING_ACTION
from tests.expectations.conftest import id_number, make_warehouse
from transforms.actions.cleanup import dismiss, list_actions, update_actions
from transforms.common.roles import PermissionDenied
from warehouse.errors import ShebaoError

ID_A = id_number(seq="123")
ID_B = id_number(area="420102", seq="456")
ID_C = id_number(birth="19850505", seq="222")

# SPEC §6, written out independently of transforms.actions.cleanup
SPEC_MAPPING = {
    "DUPLICATE_ID_NUMBER": "MERGE_RECORDS", "DUPLICATE_PERSON": "MERGE_RECORDS", "INVALID_ID_NUMBER": "FIX_ID_NUMBER",
    "BASE_BELOW_FLOOR": "ADJUST_BASE", "BASE_ABOVE_CEILING": "ADJUST_BASE", "BASE_MISMATCH": "ADJUST_BASE",
    "WITHHOLDING_MISMATCH": "CORRECT_WITHHOLDING", "HIRED_NOT_ENROLLED": "ENROLL_EMPLOYEE",
    "DEPARTED_STILL_CONTRIBUTING": "STOP_CONTRIBUTION", "ACTIVE_ELSEWHERE": "STOP_ORIGIN_RECORD",
    "DOUBLE_ENROLLMENT": "STOP_ORIGIN_RECORD", "TRANSFER_NEEDED": "INITIATE_TRANSFER",
    "FIRST_ENROLLMENT_MISJUDGED": "LINK_PRIOR_HISTORY", "STALE_TRANSFER": "CHASE_TRANSFER",
    "TRANSFER_NOT_REFLECTED": "UPDATE_TRANSFER_STATUS", "POLICY_OUTDATED": "UPDATE_POLICY",
    "NO_POLICY": "ADD_POLICY", "BILL_MISMATCH": "RECONCILE_BILL",
    "RETIREMENT_DUE": "PREPARE_RETIREMENT", "POLICY_CONFLICTS_BILL": "UPDATE_POLICY",
}


class Runs:
    """Validation runs with hand-written findings, and the actions stage after each."""

    def __init__(self, con):
        self.con = con
        self.wh = make_warehouse(con)
        self.count = 0

    def run(self, period: str, findings: list[dict], run_id: str | None = None) -> dict:
        if run_id is None:
            self.count += 1
            run_id = f"2024-run-{self.count:03d}"
        if not self.con.execute("SELECT count(*) FROM quality.runs WHERE run_id = ?", [run_id]).fetchone()[0]:
            self.con.execute("INSERT INTO quality.runs (run_id, period, started_at, status)"
                             " VALUES (?, ?, now(), 'succeeded')", [run_id, period])
            for f in findings:
                row = {"severity": "error", "entity": None, "employee_id": None, "id_number": None, "region": None,
                       "insurance_type": None, "transfer_id": None} | f
                row["details"] = json.dumps(row.get("details") or {}, ensure_ascii=False)
                columns = ", ".join(row)
                self.con.execute(f"INSERT INTO quality.findings (run_id, period, {columns})"
                                 f" VALUES (?, ?, {', '.join('?' for _ in row)})", [run_id, period, *row.values()])
        self.last_run = run_id
        return update_actions(self.con, period, run_id)

    def actions(self) -> dict[str, dict]:
        cursor = self.con.execute("SELECT *, CAST(details AS VARCHAR) AS d FROM actions.cleanup_actions")
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        return {r["action_id"]: r | {"details": json.loads(r["d"])} for r in rows}

    def events(self, action_id: str) -> list[tuple]:
        return self.con.execute("SELECT event, from_status, to_status, period, run_id FROM actions.action_events"
                                " WHERE action_id = ? ORDER BY occurred_at, rowid", [action_id]).fetchall()


@pytest.fixture()
def runs(con) -> Runs:
    return Runs(con)


def base_finding(code="BASE_MISMATCH", entity="长沙甲公司", ident=ID_A, insurance_type="pension", **details):
    severity = "warning" if code == "BASE_MISMATCH" else "error"
    return {"code": code, "severity": severity, "entity": entity, "id_number": ident, "insurance_type": insurance_type,
            "details": {"name": "张三", "base": "3000.00"} | details}


def employee_finding(code, employee_id="E1", entity="长沙甲公司", ident=ID_A, severity="error", **details):
    return {"code": code, "severity": severity, "entity": entity, "employee_id": employee_id, "id_number": ident,
            "details": {"name": "张三"} | details}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_every_finding_code_maps_to_its_spec_action_type():
    assert FINDING_ACTION == SPEC_MAPPING
    # every check the validation area ships has an action type, except the one about missing extracts
    assert set(BY_CODE) - set(FINDING_ACTION) == {"MISSING_EXTRACT"}


def test_action_id_comes_from_the_problem_not_the_month(runs):
    runs.run("2024-01", [base_finding()])
    runs.run("2024-02", [base_finding(base="3100.00")])
    (action_id, action), = runs.actions().items()
    assert action_id == "ADJ-" + digest(f"ADJUST_BASE|长沙甲公司|{ID_A}")
    assert (action["status"], action["period_first_seen"], action["period_last_seen"]) == ("open", "2024-01", "2024-02")
    assert action["details"]["current_base"] == {"pension": "3100.00"}  # the latest month's evidence
    assert [e[0] for e in runs.events(action_id)] == ["opened", "updated"]


def test_adjust_base_is_one_action_per_person_and_entity_with_each_types_expected_base(runs):
    runs.wh.contribution(period="2024-03", id_number=ID_A, insurance_type="pension", base="8000")
    runs.wh.contribution(period="2024-03", id_number=ID_A, insurance_type="medical", base="8000")
    runs.run("2024-03", [
        base_finding("BASE_BELOW_FLOOR", insurance_type="pension", expected_base="3604.00", base_floor="3604.00"),
        base_finding("BASE_MISMATCH", insurance_type="medical", expected_base="8000.00"),
        base_finding("BASE_ABOVE_CEILING", insurance_type="unemployment", expected_base="18021.00"),
        base_finding("BASE_MISMATCH", entity="长沙乙公司", insurance_type="pension", expected_base="5000.00"),
    ])
    actions = {a["entity"]: a for a in runs.actions().values()}
    assert set(actions) == {"长沙甲公司", "长沙乙公司"}
    one = actions["长沙甲公司"]
    assert one["action_type"] == "ADJUST_BASE" and one["severity"] == "error"
    assert one["finding_codes"] == ["BASE_ABOVE_CEILING", "BASE_BELOW_FLOOR", "BASE_MISMATCH"]
    assert one["details"]["insurance_types"] == ["medical", "pension", "unemployment"]
    # the ledger's base where the person has a ledger row, else the ceiling the finding names
    assert one["details"]["expected_base"] == {"pension": "8000.00", "medical": "8000.00", "unemployment": "18021.00"}
    assert actions["长沙乙公司"]["details"]["expected_base"] == {"pension": "5000.00"}
    assert actions["长沙乙公司"]["severity"] == "warning"


def test_merge_records_groups_by_shared_number_and_by_name_and_birth_date(runs):
    twins = [employee_finding("DUPLICATE_ID_NUMBER", "E1", "长沙甲公司", ID_A),
             employee_finding("DUPLICATE_ID_NUMBER", "E7", "长沙乙公司", ID_A)]
    person = {"name": "李四", "birth_digits": "19850505"}
    lookalikes = [employee_finding("DUPLICATE_PERSON", "E3", ident=ID_C, severity="warning", **person),
                  employee_finding("DUPLICATE_PERSON", "E4", ident=ID_B, severity="warning", **person)]
    runs.run("2024-01", twins + lookalikes)
    actions = runs.actions()
    assert len(actions) == 2
    shared = actions["MRG-" + digest(f"MERGE_RECORDS|id|{ID_A}")]
    assert shared["id_number"] == ID_A and shared["entity"] is None and shared["employee_id"] is None
    assert [(p["entity"], p["employee_id"]) for p in shared["details"]["people"]] == [("长沙乙公司", "E7"),
                                                                                   ("长沙甲公司", "E1")]
    group_id = "MRG-" + digest("MERGE_RECORDS|person|李四|19850505")
    assert actions[group_id]["id_number"] is None and len(actions[group_id]["details"]["people"]) == 2
    # February: the group changes (E4 left, E5 joined) — still the same problem, the same action
    runs.run("2024-02", twins + [lookalikes[0], employee_finding("DUPLICATE_PERSON", "E5", ident=ID_B,
                                                                 severity="warning", **person)])
    after = runs.actions()
    assert set(after) == set(actions) and all(a["status"] == "open" for a in after.values())
    assert [p["employee_id"] for p in after[group_id]["details"]["people"]] == ["E3", "E5"]


def test_stop_origin_record_only_without_a_transfer_from_that_region(runs):
    """SPEC §6: a transfer from that region, any stage but rejected, in a snapshot up to P covers it."""
    other = {"other_region": "武汉", "other_employer": "武汉丙公司", "other_start_month": "2019-03"}
    runs.wh.transfer(period="2024-03", transfer_id="T-open", id_number=ID_A, from_region="武汉", stage="origin_approved")
    runs.wh.transfer(period="2024-03", transfer_id="T-refused", id_number=ID_B, from_region="武汉", stage="rejected",
                     row_number=2)
    runs.wh.transfer(period="2024-03", transfer_id="T-elsewhere", id_number=ID_C, from_region="广州", row_number=3)
    summary = runs.run("2024-03", [employee_finding("ACTIVE_ELSEWHERE", "E1", ident=ID_A, **other),
                                   employee_finding("ACTIVE_ELSEWHERE", "E2", ident=ID_B, **other),
                                   employee_finding("ACTIVE_ELSEWHERE", "E3", ident=ID_C, **other)])
    actions = runs.actions()
    assert sorted(a["employee_id"] for a in actions.values()) == ["E2", "E3"]
    assert summary["found"] == 2 and summary["suppressed"] == 1
    details = next(iter(actions.values()))["details"]
    assert (details["other_region"], details["other_employer"]) == ("武汉", "武汉丙公司")


def test_a_stop_origin_record_action_is_resolved_once_a_transfer_is_under_way(runs):
    finding = employee_finding("ACTIVE_ELSEWHERE", "E1", ident=ID_A, other_region="武汉")
    runs.run("2024-02", [finding])
    (action_id, action), = runs.actions().items()
    assert action["status"] == "open"
    runs.wh.transfer(period="2024-03", transfer_id="T9", id_number=ID_A, from_region="武汉")
    runs.run("2024-03", [finding])
    assert runs.actions()[action_id]["status"] == "resolved"
    reason = runs.con.execute("SELECT reason FROM actions.action_events WHERE action_id = ? AND event = 'resolved'",
                              [action_id]).fetchone()[0]
    assert reason == "转移接续 T9 正在办理"


def test_fixed_problem_is_resolved_by_that_run_and_reopened_when_it_returns(runs):
    x = base_finding(ident=ID_A)
    y = employee_finding("WITHHOLDING_MISMATCH", "E2", ident=ID_B, severity="warning", difference="12.00")
    runs.run("2024-01", [x, y])
    ids = {a["action_type"]: i for i, a in runs.actions().items()}
    runs.run("2024-02", [y])
    feb_run = runs.last_run
    actions = runs.actions()
    assert actions[ids["ADJUST_BASE"]]["status"] == "resolved"
    assert actions[ids["ADJUST_BASE"]]["resolved_by_run"] == feb_run
    assert actions[ids["ADJUST_BASE"]]["period_last_seen"] == "2024-01"
    assert actions[ids["CORRECT_WITHHOLDING"]]["status"] == "open"
    runs.run("2024-03", [x, y])
    again = runs.actions()[ids["ADJUST_BASE"]]
    assert (again["status"], again["resolved_by_run"], again["period_last_seen"]) == ("open", None, "2024-03")
    assert [(e[0], e[1], e[2], e[3]) for e in runs.events(ids["ADJUST_BASE"])] == [
        ("opened", None, "open", "2024-01"), ("resolved", "open", "resolved", "2024-02"),
        ("reopened", "resolved", "open", "2024-03")]


def test_rerunning_a_period_keeps_every_id_and_duplicates_nothing(runs):
    findings = [base_finding(), employee_finding("HIRED_NOT_ENROLLED", "E5", ident=ID_B)]
    runs.run("2024-03", findings, run_id="r1")
    before = runs.actions()
    events = runs.con.execute("SELECT count(*) FROM actions.action_events").fetchone()[0]
    runs.run("2024-03", findings, run_id="r1")  # the same run again (a crashed close re-run)
    assert runs.con.execute("SELECT count(*) FROM actions.action_events").fetchone()[0] == events
    runs.run("2024-03", findings, run_id="r2")  # a new validation run of the same month
    after = runs.actions()
    assert set(after) == set(before)
    assert [(a["status"], a["period_first_seen"], a["period_last_seen"]) for a in after.values()] == \
           [(a["status"], a["period_first_seen"], a["period_last_seen"]) for a in before.values()]


def test_an_earlier_month_run_after_a_later_one_neither_resolves_nor_reopens(runs):
    x = base_finding()
    runs.run("2024-02", [x])
    (action_id, _), = runs.actions().items()
    runs.run("2024-01", [])                         # January checked late: not found there, nothing resolved
    assert runs.actions()[action_id]["status"] == "open"
    runs.run("2024-03", [])                         # fixed in March
    march_run = runs.last_run
    runs.run("2024-02", [x])                        # February re-checked: it was a problem then, still fixed now
    action = runs.actions()[action_id]
    assert (action["status"], action["resolved_by_run"]) == ("resolved", march_run)
    assert (action["period_first_seen"], action["period_last_seen"]) == ("2024-02", "2024-02")


def test_a_dismissed_action_stays_dismissed_while_the_problem_persists(runs):
    x = base_finding()
    runs.run("2024-01", [x])
    (action_id, _), = runs.actions().items()
    dismiss(runs.con, action_id, "已与社保局确认，基数按合同执行", role="hr_manager")
    runs.run("2024-02", [x])
    runs.run("2024-03", [])
    action = runs.actions()[action_id]
    assert (action["status"], action["period_last_seen"]) == ("dismissed", "2024-02")
    assert action["dismissed_reason"] == "已与社保局确认，基数按合同执行"
    dismissed = runs.con.execute("SELECT from_status, actor, reason FROM actions.action_events"
                                 " WHERE action_id = ? AND event = 'dismissed'", [action_id]).fetchall()
    assert dismissed == [("open", getpass.getuser(), "已与社保局确认，基数按合同执行")]
    audit = runs.con.execute("SELECT actor, role, command, target, allowed FROM actions.audit"
                             " WHERE command <> 'create warehouse'").fetchall()
    assert audit == [(getpass.getuser(), "hr_manager", "actions dismiss", action_id, True)]


def test_a_missing_extract_resolves_nothing_that_depends_on_it(runs):
    runs.run("2024-01", [base_finding(), employee_finding("WITHHOLDING_MISMATCH", "E2", ident=ID_B)])
    summary = runs.run("2024-02", [{"code": "MISSING_EXTRACT", "details": {"kind": "insurance"}}])
    status = {a["action_type"]: a["status"] for a in runs.actions().values()}
    assert status == {"ADJUST_BASE": "open", "CORRECT_WITHHOLDING": "resolved"}
    assert "ADJUST_BASE" in summary["not_resolvable_types"]


def test_staff_cannot_dismiss_and_the_refusal_is_audited(runs):
    runs.run("2024-01", [base_finding()])
    (action_id, _), = runs.actions().items()
    with pytest.raises(PermissionDenied, match="may not dismiss"):
        dismiss(runs.con, action_id, "no", role="hr_staff")
    with pytest.raises(PermissionDenied):
        dismiss(runs.con, action_id, "no")  # the default role is staff
    audit = runs.con.execute("SELECT actor, role, command, target, allowed, reason FROM actions.audit"
                             " WHERE command <> 'create warehouse'").fetchall()
    assert audit[0] == (getpass.getuser(), "hr_staff", "actions dismiss", action_id, False, "role may not dismiss")
    assert len(audit) == 2
    assert runs.actions()[action_id]["status"] == "open"
    with pytest.raises(ShebaoError, match=r"^There is no action ADJ-doesnotexist; `shebao actions list` shows"):
        dismiss(runs.con, "ADJ-doesnotexist", "typo", role="hr_manager")
    with pytest.raises(ShebaoError, match="needs a reason"):
        dismiss(runs.con, action_id, "  ", role="hr_manager")


def test_listing_masks_ids_for_staff_filters_and_refuses_finance(runs):
    runs.run("2024-01", [base_finding(), employee_finding("HIRED_NOT_ENROLLED", "E5", ident=ID_B)])
    staff = list_actions(runs.con, role="hr_staff")
    assert sorted(staff["id_number"].to_list()) == sorted([ID_A[:6] + "*" * 8 + ID_A[-4:],
                                                          ID_B[:6] + "*" * 8 + ID_B[-4:]])
    assert list_actions(runs.con, role="hr_manager")["id_number"].to_list().count(ID_A) == 1
    assert list_actions(runs.con, action_type="ENROLL_EMPLOYEE")["employee_id"].to_list() == ["E5"]
    assert list_actions(runs.con, status="resolved").height == 0
    # errors first, then older first: the warning (BASE_MISMATCH) comes after the error
    assert list_actions(runs.con)["action_type"].to_list() == ["ENROLL_EMPLOYEE", "ADJUST_BASE"]
    with pytest.raises(ShebaoError, match="status 'closed' is unknown"):
        list_actions(runs.con, status="closed")
    with pytest.raises(ShebaoError, match="action type 'ADJUST' is unknown"):
        list_actions(runs.con, action_type="ADJUST")
    with pytest.raises(PermissionDenied):
        list_actions(runs.con, role="finance")
    assert runs.con.execute("SELECT role, allowed FROM actions.audit WHERE command <> 'create warehouse'").fetchall() == [("finance", False)]


def test_findings_with_missing_key_parts_make_one_action_each(runs):
    runs.run("2024-03", [
        base_finding("BASE_BELOW_FLOOR", insurance_type="pension", expected_base="3604.00"),
        base_finding("BASE_MISMATCH", entity=None, insurance_type="medical", expected_base="5000.00"),
        {"code": "WITHHOLDING_MISMATCH", "severity": "warning", "employee_id": "E9"},
    ])
    actions = sorted((a["action_type"], a["entity"] or "") for a in runs.actions().values())
    assert actions == [("ADJUST_BASE", ""), ("ADJUST_BASE", "长沙甲公司"), ("CORRECT_WITHHOLDING", "")]


def test_actions_need_a_validation_run_of_that_month(runs):
    with pytest.raises(ShebaoError, match="There is no validation run nope"):
        update_actions(runs.con, "2024-03", "nope")
    runs.run("2024-02", [])
    with pytest.raises(ShebaoError, match="is of 2024-02, not 2024-03"):
        update_actions(runs.con, "2024-03", runs.last_run)


def test_findings_grouped_part_by_part_give_the_same_actions(runs):
    """actions_found.sql groups a large run's findings a part at a time (bounded memory): an action's findings
    always fall in one part, so the actions are those of one pass."""
    findings = [base_finding(t, ident=ident) for t in ("BASE_BELOW_FLOOR", "BASE_MISMATCH") for ident in (ID_A, ID_B)]
    findings += [base_finding("BASE_MISMATCH", ident=ID_A, insurance_type=t) for t in ("medical", "unemployment")]
    findings += [employee_finding("DUPLICATE_ID_NUMBER", employee_id=e, ident=ID_C) for e in ("E7", "E8", "E9")]
    findings += [employee_finding("HIRED_NOT_ENROLLED", employee_id=f"N{n}", ident=None) for n in range(5)]
    runs.run("2024-03", findings)
    query = "SELECT * EXCLUDE (details), CAST(details AS VARCHAR) FROM candidate_actions ORDER BY action_id"
    whole = runs.con.execute(query).fetchall()
    for _ in range(3):  # the details' lists and maps come in one order, part by part or not
        update_actions(runs.con, "2024-03", runs.last_run, findings_per_part=2)
        assert runs.con.execute(query).fetchall() == whole
    assert len(whole) == 8  # ADJUST_BASE for 2 people, 1 merge, 5 enrolments
