"""Cleanup actions (SPEC §6): derived from a validation run's findings, kept from month to month.

An action found again stays one action (its id comes from the problem, not the month); an open action not
found in a later month's run is resolved; a dismissed action stays dismissed. Every change is written to
``actions.action_events``; dismissals and refusals to ``actions.audit``.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.faults import checkpoint
from transforms.privacy import mask_id_sql
from transforms.roles import PermissionDenied, get_role
from warehouse.db import transaction
from warehouse.errors import ShebaoError

SQL = Path(__file__).with_name("sql")
ACTION_TYPES = {
    "MERGE_RECORDS": "合并档案", "FIX_ID_NUMBER": "更正身份证号", "ADJUST_BASE": "调整缴费基数",
    "CORRECT_WITHHOLDING": "更正代扣", "ENROLL_EMPLOYEE": "办理参保", "STOP_CONTRIBUTION": "停止缴费",
    "INITIATE_TRANSFER": "发起转移", "LINK_PRIOR_HISTORY": "关联历史缴费", "CHASE_TRANSFER": "催办转移",
    "UPDATE_TRANSFER_STATUS": "更新转移状态",
}
# The extracts a type's findings come from: when one is missing for the month, not finding the problem
# proves nothing, so those actions are not resolved by that run.
NEEDS = {
    "MERGE_RECORDS": ("payroll", "attendance"), "FIX_ID_NUMBER": ("payroll", "attendance"),
    "ADJUST_BASE": ("insurance", "payroll"), "CORRECT_WITHHOLDING": ("payroll",),
    "ENROLL_EMPLOYEE": ("insurance", "payroll"), "STOP_CONTRIBUTION": ("insurance", "attendance"),
    "INITIATE_TRANSFER": ("insurance", "payroll", "transfers"), "LINK_PRIOR_HISTORY": ("insurance",),
    "CHASE_TRANSFER": ("transfers",), "UPDATE_TRANSFER_STATUS": ("transfers", "insurance"),
}


def actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def update_actions(con: duckdb.DuckDBPyConnection, period: str, run_id: str) -> dict:
    """Open, keep, reopen and resolve actions from validation run ``run_id`` of ``period``."""
    if not con.execute("SELECT count(*) FROM quality.runs WHERE run_id = ?", [run_id]).fetchone()[0]:
        raise ShebaoError(f"There is no validation run {run_id}; run `shebao validate --period {period}` first.")
    missing_kinds = [r[0] for r in con.execute(
        "SELECT json_extract_string(details, '$.kind') FROM quality.findings WHERE run_id = ? AND code = 'MISSING_EXTRACT'",
        [run_id]).fetchall()]
    unprovable = [t for t, kinds in NEEDS.items() if set(kinds) & set(missing_kinds)]
    now = datetime.now()
    with transaction(con):
        con.execute((SQL / "actions_found.sql").read_text(encoding="utf-8"), {"run_id": run_id, "period": period})
        params = {"period": period, "run_id": run_id, "now": now}
        # history first, while the old statuses are still there to read
        con.execute(
            """
            INSERT INTO actions.action_events
            SELECT f.action_id,
                   CASE WHEN a.action_id IS NULL THEN 'opened' WHEN a.status = 'resolved' THEN 'reopened' ELSE 'updated' END,
                   a.status, CASE WHEN a.status = 'dismissed' THEN 'dismissed' ELSE 'open' END,
                   $run_id, $period, NULL, NULL, $now
            FROM found_actions f LEFT JOIN actions.cleanup_actions a USING (action_id)
            WHERE a.action_id IS NULL OR a.status = 'resolved' OR a.last_run_id <> $run_id
            """, params)
        con.execute(
            """
            INSERT INTO actions.cleanup_actions
            SELECT action_id, action_type, 'open', $period, $period, entity, employee_id, id_number, finding_codes,
                   details, $now, severity, problem_key, $run_id, NULL, NULL
            FROM found_actions
            WHERE action_id NOT IN (SELECT action_id FROM actions.cleanup_actions)
            """, params)
        con.execute(
            """
            UPDATE actions.cleanup_actions a SET
                status = CASE WHEN a.status = 'dismissed' THEN 'dismissed' ELSE 'open' END,
                period_first_seen = least(a.period_first_seen, $period),
                period_last_seen = greatest(a.period_last_seen, $period),
                entity = f.entity, employee_id = f.employee_id, id_number = f.id_number,
                finding_codes = f.finding_codes, details = f.details, severity = f.severity,
                updated_at = $now, last_run_id = $run_id,
                resolved_by_run = CASE WHEN a.status = 'resolved' THEN NULL ELSE a.resolved_by_run END
            FROM found_actions f
            WHERE a.action_id = f.action_id
            """, params)
        resolve = """
            FROM actions.cleanup_actions a
            WHERE a.status = 'open' AND a.period_last_seen <= $period
              AND a.action_id NOT IN (SELECT action_id FROM found_actions)
              AND NOT list_contains($unprovable, a.action_type)
        """
        resolve_params = params | {"unprovable": unprovable}
        con.execute(f"""INSERT INTO actions.action_events
                        SELECT a.action_id, 'resolved', 'open', 'resolved', $run_id, $period, NULL,
                               'not found again', $now {resolve}""", resolve_params)
        checkpoint("actions.before_commit")
        con.execute(f"""UPDATE actions.cleanup_actions SET status = 'resolved', resolved_by_run = $run_id,
                        updated_at = $now WHERE action_id IN (SELECT a.action_id {resolve})""", resolve_params)
    return action_counts(con) | {"found": con.execute("SELECT count(*) FROM found_actions").fetchone()[0],
                                 "not_resolvable_types": unprovable}


def action_counts(con: duckdb.DuckDBPyConnection) -> dict:
    rows = con.execute("SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall()
    by_status: dict[str, int] = {}
    by_type: dict[str, dict[str, int]] = {}
    for action_type, status, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        by_type.setdefault(action_type, {})[status] = count
    return {"by_status": by_status, "by_type": by_type}


def audit(con, role: str, command: str, target: str | None, allowed: bool, reason: str | None = None) -> None:
    con.execute("INSERT INTO actions.audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                [datetime.now(), actor(), role, command, target, allowed, reason])


def dismiss(con: duckdb.DuckDBPyConnection, action_id: str, reason: str, role: str | None = None) -> None:
    """A person says the action needs nothing more: it stays dismissed, with who, when and why."""
    permitted = get_role(role)
    if not permitted.may_dismiss:
        audit(con, permitted.name, "actions dismiss", action_id, False, "role may not dismiss")
        raise PermissionDenied(f"The role {permitted.name} may not dismiss actions; ask an HR manager (--role hr_manager).")
    if not reason or not reason.strip():
        raise ShebaoError("A dismissal needs a reason; pass --reason with why the action needs nothing more.")
    row = con.execute("SELECT status FROM actions.cleanup_actions WHERE action_id = ?", [action_id]).fetchone()
    if row is None:
        raise ShebaoError(f"There is no action {action_id}; `shebao actions list` shows the action ids.")
    with transaction(con):
        con.execute("INSERT INTO actions.action_events VALUES (?, 'dismissed', ?, 'dismissed', NULL, NULL, ?, ?, ?)",
                    [action_id, row[0], actor(), reason.strip(), datetime.now()])
        con.execute("UPDATE actions.cleanup_actions SET status = 'dismissed', dismissed_reason = ?, updated_at = ?"
                    " WHERE action_id = ?", [reason.strip(), datetime.now(), action_id])
        audit(con, permitted.name, "actions dismiss", action_id, True, reason.strip())


def list_actions(con: duckdb.DuckDBPyConnection, status: str | None = None, action_type: str | None = None,
                 role: str | None = None) -> pl.DataFrame:
    permitted = get_role(role)
    if not permitted.sees_findings:
        audit(con, permitted.name, "actions list", None, False, "role may not see the action list")
        raise PermissionDenied(f"The role {permitted.name} may not see the action list; it holds findings about people.")
    id_expr = "id_number" if permitted.sees_full_ids else mask_id_sql("id_number")
    return con.execute(
        f"""
        SELECT action_id, action_type, status, severity, period_first_seen, period_last_seen, entity, employee_id,
               {id_expr} AS id_number, json_extract_string(details, '$.name') AS name,
               array_to_string(finding_codes, ',') AS finding_codes, details
        FROM actions.cleanup_actions
        WHERE ($status IS NULL OR status = $status) AND ($type IS NULL OR action_type = $type)
        ORDER BY CASE severity WHEN 'error' THEN 0 ELSE 1 END, period_first_seen, action_type, action_id
        """,
        {"status": status, "type": action_type},
    ).pl()
