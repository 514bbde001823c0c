"""Cleanup actions (SPEC §6): derived from a validation run's findings, kept from month to month.

An action found again stays one action: its id is the type's prefix and a digest of the type and the
problem's key (never the month) — ``ADJUST_BASE|entity|id_number``, ``MERGE_RECORDS|id|<shared number>``
or ``MERGE_RECORDS|person|<name>|<birth date>``, the transfer id for transfer actions, the employee
otherwise. This is recipe v1 of the id (``<prefix>-`` + the first 12 hex digits of
``sha256(action_type || '|' || problem_key)``, each code's key expression in its row of the check
registry, read from ``quality.checks`` and spliced into ``sql/actions_findings.sql``): ids are what people
dismissed, so a problem found again keeps the id of its existing action, matched by type and key
(``sql/actions_keep_ids.sql``); changing a key's format needs a migration that rewrites the stored keys, as
migration 012 does for the merge keys of older warehouses. All ADJUST_BASE findings about one person at one
entity are one action listing the insurance types and the expected base of each (the ledger's base of the
month; the floor or ceiling when the person has no ledger row).

STOP_ORIGIN_RECORD is not raised for ACTIVE_ELSEWHERE while a pension transfer of that person from that
region (any stage but rejected) appears in a transfers snapshot up to the month: the transfer's own
findings cover it; such an open action is resolved with that reason. INITIATE_TRANSFER comes from
TRANSFER_NEEDED, which already leaves out people with a transfer under way or completed; a TRANSFER_NEEDED
whose details meet the interim-account rule calls for CONFIRM_INTERIM_ACCOUNT instead (the registry row's
``action_if``), which gets no transfer form.

Lifecycle, for the run of month P: found → opened, or stays open / dismissed (period_last_seen moves on);
an open action not found again is resolved by that run — only when P ≥ its period_last_seen, and not
when an extract its findings need is missing for P (not finding proves nothing then); a resolved
action found again by a month ≥ the month that resolved it is reopened. Every change is a row of
``actions.action_events``; dismissals and refusals also go to ``actions.audit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.common.faults import checkpoint
from transforms.common.privacy import mask_id_sql, redact_frame
from transforms.common.roles import PermissionDenied, Role, get_role, try_audit
from warehouse.db import one, scalar, transaction
from warehouse.errors import ShebaoError
from warehouse.sql import sql_text

SQL = Path(__file__).with_name("sql")


@dataclass(frozen=True)
class Column:
    """One of an action type's own columns on its workbook sheet, read from the action's details."""
    name: str                    # the details' field
    header_zh: str
    # how the value shows: text, money (Decimal), count (integer), list (joined by 、), yes_no (是/否),
    # retirement_age (60岁1个月), or zh:TABLE (its label in that table of transforms.common.glossary)
    kind: str = "text"
    fallback: str | None = None  # the field read when ``name`` is missing


@dataclass(frozen=True)
class ActionType:
    code: str
    prefix: str                  # of the action id
    name_zh: str                 # the workbook's sheet name
    todo_zh: str                 # what HR does about it
    # what its open work holds up, for the order of the HR report's to-do list (issue 30): 0 people who cannot
    # be booked at all, 1 amounts paid or withheld wrong, 2 time limits (transfers, stopping a record),
    # 3 records to tidy
    rank: int
    columns: tuple[Column, ...] = ()   # its own columns on its workbook sheet
    also_in_zh: str | None = None      # where its list is besides its sheet (the report's to-do list says)


def _text(*columns: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(name, header) for name, header in columns)


# SPEC §6's action types, one row each with everything about the type: id prefix, sheet, what HR does, its
# rank in the to-do list, its own workbook columns and where else its list is. Which finding codes call for
# each, the extracts they need and the problem key are the codes' registry rows (expectations/registry.py,
# read from ``quality.checks``); a new finding code names one of these types and touches nothing here.
TYPES = (
    ActionType("MERGE_RECORDS", "MRG", "合并档案", "核对是否同一人，合并重复的员工档案并保留正确的身份证号", 3),
    ActionType("FIX_ID_NUMBER", "FIX", "更正身份证号", "核对身份证原件，更正人事和工资系统中的身份证号", 3,
               (Column("id_problem", "身份证号问题", "zh:ID_PROBLEM"), Column("insured_as", "参保所用身份证号"))),
    ActionType("ADJUST_BASE", "ADJ", "调整缴费基数", "向参保地经办机构申报调整缴费基数为应为基数", 1,
               # one row per insurance type (transforms.actions.workbook)
               (Column("insurance", "险种"), Column("current_base", "现基数", "money"),
                Column("expected_base", "应为基数", "money"))),
    ActionType("CORRECT_WITHHOLDING", "WHD", "更正代扣", "核对并更正工资中的个人社保代扣金额，下月补扣或退还差额", 1,
               (Column("si_withheld", "已代扣", "money"), Column("expected_employee_amount", "应代扣", "money"),
                Column("withholding_difference", "代扣差额", "money"))),
    ActionType("ENROLL_EMPLOYEE", "ENR", "办理参保", "为员工在工作地办理养老保险参保登记（入职30日内）", 1,
               (Column("hire_date", "入职日期"), Column("registration_due", "应登记日期"),
                Column("arrears_months", "补缴月份", "list"),
                Column("arrears_employer", "补缴单位部分", "money"), Column("arrears_employee", "补缴个人部分", "money"),
                Column("late_fee", "滞纳金（估算）", "money"), Column("late_fee_until", "滞纳金估算截至")),
               "declarations/ 文件夹中的 增员、补缴 申报表"),
    ActionType("STOP_CONTRIBUTION", "STP", "停止缴费", "为已离职员工办理停保（减员）", 1,
               _text(("leave_date", "离职日期"), ("stop_month", "停保年月")),
               "declarations/ 文件夹中的 减员 申报表"),
    ActionType("STOP_ORIGIN_RECORD", "SOR", "原参保停保",
               "联系原单位或原参保地经办机构办理停保（减员）；原参保停止后才能在本地参保或申请转移", 2,
               # a transfer's origin, whichever finding named it
               (Column("other_region", "原参保地", fallback="from_region"), Column("other_employer", "原参保单位"))),
    ActionType("INITIATE_TRANSFER", "TRF", "发起转移", "向本地（转入地）经办机构提交基本养老保险关系转移接续申请表", 2,
               _text(("from_region", "转出地"), ("from_employer", "原参保单位")),
               "transfer_forms/ 文件夹中的转移接续申请表"),
    # SPEC §6 version 3, 国办发〔2009〕66号 第六条: a man of 50 or more or a woman of 40 or more moving in from
    # another province without local hukou keeps the relationship at the origin; R opens an interim account
    ActionType("CONFIRM_INTERIM_ACCOUNT", "TMP", "确认临时缴费账户",
               "核对户籍：跨省流动且男满50周岁、女满40周岁、户籍不在本省的，养老保险关系暂留原参保地，"
               "向本地经办机构确认建立临时缴费账户；不申请转移，不填转移接续申请表", 2,
               _text(("from_region", "原参保地"), ("from_employer", "原参保单位"), ("hukou_region", "户籍所在地"))),
    ActionType("LINK_PRIOR_HISTORY", "LNK", "关联历史缴费", "更正首次参保标记，关联此前的参保缴费记录", 1),
    ActionType("CHASE_TRANSFER", "CHS", "催办转移", "联系经办机构催办超期未办的转移接续业务", 2,
               (Column("transfer_id", "转移业务编号"), Column("stage", "办理环节", "zh:STAGE"),
                Column("working_days_waited", "已等待工作日", "count"))),
    ActionType("UPDATE_TRANSFER_STATUS", "UPD", "更新转移状态", "转移已办结：请转出地终止原参保记录并更新参保信息", 2,
               _text(("transfer_id", "转移业务编号"), ("from_region", "转出地"))),
    ActionType("UPDATE_POLICY", "POL", "更新政策", "取得参保地本年度缴费基数上下限和费率的通知，更新政策文件后重跑此后各月", 1),
    ActionType("ADD_POLICY", "ADP", "补充政策", "请 HR 经理为该参保地补充政策数据（政策文件），然后重跑本月", 0),
    ActionType("RECONCILE_BILL", "BIL", "核对账单", "与经办机构核对账单与台账的差异，更正申报或台账后按差额补缴或申请退费", 1),
    ActionType("PREPARE_RETIREMENT", "RET", "办理退休",
               "核对累计缴费月数；到龄且缴满最低年限的办理退休（停保、申领养老金），不足的可延长缴费至满最低年限", 2,
               (Column("retirement_month", "退休年月"), Column("retirement_age", "法定退休年龄", "retirement_age"),
                Column("months_paid", "累计缴费月数", "count"), Column("min_contribution_months", "最低缴费月数", "count"),
                Column("short_of_minimum", "缴费不足", "yes_no")),
               "本报告「到龄退休人员」一节"),
)
BY_TYPE = {t.code: t for t in TYPES}
ACTION_TYPES = {t.code: t.name_zh for t in TYPES}
STATUSES = ("open", "submitted", "resolved", "dismissed")


def actor() -> str:
    """The OS user running the command (from the user id, never from $USER: see transforms.common.roles)."""
    from transforms.common.roles import caller

    return caller()


def run_sql_file(con: duckdb.DuckDBPyConnection, name: str, params: dict, fragments: dict | None = None) -> None:
    """Run the statements of ``transforms/actions/sql/<name>`` in order, each with the parameters it names; each
    ``{fragment}`` of ``fragments`` is replaced by its SQL text first."""
    text = sql_text(SQL / name)
    for fragment, sql in (fragments or {}).items():
        text = text.replace("{" + fragment + "}", sql)
    for statement in re.split(r";[ \t]*(?:\n|$)", text):
        body = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()
        if body:
            used = set(re.findall(r"\$(\w+)", body))
            con.execute(body, {k: v for k, v in params.items() if k in used})


def finding_actions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(code, action type, problem-key expression) of every finding code that calls for an action, from the
    registry the latest validation recorded in ``quality.checks``."""
    rows = con.execute("SELECT code, action_type, problem_key FROM quality.checks"
                       " WHERE action_type IS NOT NULL ORDER BY ordinal").fetchall()
    if not rows:
        raise ShebaoError("The warehouse holds no check registry with action types (quality.checks); run "
                          "`shebao validate` for the month again, which records it, then the actions.")
    exceptions = action_exceptions(con)
    unknown = sorted(({t for _, t, _ in rows} | {t for _, _, t in exceptions}) - set(BY_TYPE))
    if unknown or any(not re.fullmatch(r"[A-Z_]+", code) or not key for code, _, key in rows):
        raise ShebaoError(f"quality.checks names action types this program does not know ({', '.join(unknown)}) "
                          "or a code without a problem key; run `shebao validate` with this version first.")
    return rows


def action_exceptions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(code, condition over finding ``f``, action type) of each code whose details may call for another type
    than its own (SPEC §6: TRANSFER_NEEDED with interim_account_check → CONFIRM_INTERIM_ACCOUNT)."""
    return con.execute("SELECT code, action_if, action_if_type FROM quality.checks"
                       " WHERE action_type IS NOT NULL AND action_if IS NOT NULL ORDER BY ordinal").fetchall()


def register_action_map(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``action_map(code, action_type, prefix)`` and ``action_prefix(action_type, prefix)`` as temporary tables
    for the SQL; returns the SQL fragments of ``actions_findings.sql``: ``problem_key``, a CASE of each code's
    key expression over finding ``f``, and ``action_type``, the code's type or the one its details call for."""
    rows = finding_actions(con)
    con.execute("CREATE OR REPLACE TEMP TABLE action_map (code VARCHAR, action_type VARCHAR, prefix VARCHAR)")
    con.executemany("INSERT INTO action_map VALUES (?, ?, ?)", [[code, t, BY_TYPE[t].prefix] for code, t, _ in rows])
    con.execute("CREATE OR REPLACE TEMP TABLE action_prefix (action_type VARCHAR, prefix VARCHAR)")
    con.executemany("INSERT INTO action_prefix VALUES (?, ?)", [[t.code, t.prefix] for t in TYPES])
    cases = "\n".join(f"            WHEN '{code}' THEN {key}" for code, _, key in rows)
    exceptions = "\n".join(f"            WHEN f.code = '{code}' AND ({condition}) THEN '{action}'"
                           for code, condition, action in action_exceptions(con))
    return {"problem_key": f"CASE f.code\n{cases}\n        END",
            "action_type": f"CASE\n{exceptions}\n            ELSE f.action_type\n        END" if exceptions
                           else "f.action_type"}


def unprovable_types(con: duckdb.DuckDBPyConnection, missing_kinds: set[str]) -> list[str]:
    """The action types some of whose findings need an extract that is missing: not finding proves nothing."""
    rows = con.execute("SELECT DISTINCT unnest([action_type, action_if_type]) FROM quality.checks"
                       " WHERE action_type IS NOT NULL AND len(list_intersect(needs, ?)) > 0",
                       [sorted(missing_kinds)]).fetchall()
    found = {r[0] for r in rows}
    return [t.code for t in TYPES if t.code in found]


# findings grouped into actions at a time (actions_found.sql): their aggregates cost about 30 KB per action and
# cannot spill, so a part stays near 300 MB of DuckDB's 1 GB
FINDINGS_PER_PART = 10_000


def update_actions(con: duckdb.DuckDBPyConnection, period: str, run_id: str,
                   findings_per_part: int = FINDINGS_PER_PART) -> dict:
    """Open, keep, reopen and resolve actions from validation run ``run_id`` of ``period``.

    Returns counts only (no personal data): ``by_status``, ``by_type``, ``found`` (this run's actions),
    ``suppressed`` (STOP_ORIGIN_RECORD left out for a transfer under way), ``not_resolvable_types``.
    """
    run = con.execute("SELECT period FROM quality.runs WHERE run_id = ?", [run_id]).fetchone()
    if run is None:
        raise ShebaoError(f"There is no validation run {run_id}; run `shebao validate --period {period}` first.")
    if run[0] != period:
        raise ShebaoError(f"Validation run {run_id} is of {run[0]}, not {period}; pass a run of {period}.")
    missing_kinds = {r[0] for r in con.execute(
        "SELECT json_extract_string(details, '$.kind') FROM quality.findings WHERE run_id = ? AND code = 'MISSING_EXTRACT'",
        [run_id]).fetchall()}
    if not scalar(con, "SELECT count(*) FROM core.bills WHERE period = ?", [period]):
        missing_kinds.add("bill")  # bills are optional (no MISSING_EXTRACT), but a month without one proves nothing
    unprovable = unprovable_types(con, missing_kinds)
    params = {"period": period, "run_id": run_id, "now": datetime.now(), "actor": actor(), "unprovable": unprovable}
    with transaction(con):
        fragments = register_action_map(con)
        findings = scalar(con, "SELECT count(*) FROM quality.findings WHERE run_id = ?", [run_id])
        parts = max(1, -(-findings // findings_per_part))
        con.execute("DROP TABLE IF EXISTS temp.candidate_actions")
        run_sql_file(con, "actions_findings.sql", params, fragments)
        for part in range(parts):
            run_sql_file(con, "actions_found.sql", params | {"part": part, "parts": parts})
        run_sql_file(con, "actions_not_suppressed.sql", params)
        run_sql_file(con, "actions_keep_ids.sql", params)
        run_sql_file(con, "actions_apply.sql", params)
        checkpoint("actions.before_commit")
    found, suppressed = one(
        con, "SELECT count(*) FILTER (WHERE suppressed_by IS NULL), count(*) FILTER (WHERE suppressed_by IS NOT NULL)"
        " FROM candidate_actions")
    return action_counts(con) | {"found": found, "suppressed": suppressed, "not_resolvable_types": unprovable}


def action_counts(con: duckdb.DuckDBPyConnection) -> dict:
    rows = con.execute("SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall()
    by_status: dict[str, int] = {}
    by_type: dict[str, dict[str, int]] = {}
    for action_type, status, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        by_type.setdefault(action_type, {})[status] = count
    return {"by_status": by_status, "by_type": by_type}


def audit(con, role: str, command: str, target: str | None, allowed: bool, reason: str | None = None) -> None:
    """Who asked for what, allowed or not (``actions.audit``; not on a read-only connection)."""
    try_audit(con, actor(), role, command, target, allowed, reason)


def output_role(con: duckdb.DuckDBPyConnection, role: str | None, full_ids: bool, command: str) -> str | None:
    """The role the written files are for (SPEC §8): masked unless an hr_manager asked for full ID numbers
    (``--full-ids``); who asked is audited, and a role that may not is refused (audited too)."""
    permitted = get_role(role)
    if not full_ids:
        return None if permitted.sees_full_ids else role  # None: the default role, masked
    if not permitted.sees_full_ids:
        audit(con, permitted.name, command, None, False, "role may not see full ID numbers")
        raise PermissionDenied(f"The role {permitted.name} may not see full ID numbers; only an HR manager may "
                               "use --full-ids.")
    audit(con, permitted.name, command, None, True, "full ID numbers (--full-ids)")
    return role


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
    now, who, why = datetime.now(), actor(), reason.strip()
    with transaction(con):
        con.execute("INSERT INTO actions.action_events VALUES (?, 'dismissed', ?, 'dismissed', NULL, NULL, ?, ?, ?)",
                    [action_id, row[0], who, why, now])
        con.execute("UPDATE actions.cleanup_actions SET status = 'dismissed', dismissed_reason = ?, updated_at = ?"
                    " WHERE action_id = ?", [why, now, action_id])
        audit(con, permitted.name, "actions dismiss", action_id, True, why)


def list_role(con: duckdb.DuckDBPyConnection, role: str | None) -> Role:
    """The role's view of the action list; a role that may not see it is refused (audited)."""
    permitted = get_role(role)
    if not permitted.sees_findings:
        audit(con, permitted.name, "actions list", None, False, "role may not see the action list")
        raise PermissionDenied(f"The role {permitted.name} may not see the action list; it holds findings about people.")
    return permitted


def list_version(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of everything :func:`list_actions` and the workbook's text read (every action's row, the check
    registry): the same while the list reads the same, so a rendering of it kept for later (the close's, for
    its per-entity step) is used only while it is still the list's."""
    return str(scalar(con, sql_text(SQL / "actions_version.sql")))


def list_actions(con: duckdb.DuckDBPyConnection, status: str | None = None, action_type: str | None = None,
                 role: str | None = None) -> pl.DataFrame:
    """The actions, most severe and oldest first; id numbers masked unless the role may see them."""
    if status is not None and status not in STATUSES:
        raise ShebaoError(f"The status {status!r} is unknown; use one of {', '.join(STATUSES)}.")
    if action_type is not None and action_type not in BY_TYPE:
        raise ShebaoError(f"The action type {action_type!r} is unknown; use one of {', '.join(BY_TYPE)}.")
    permitted = list_role(con, role)
    id_expr = "id_number" if permitted.sees_full_ids else mask_id_sql("id_number")
    frame = con.execute(
        f"""
        SELECT action_id, action_type, status, severity, period_first_seen, period_last_seen, entity, employee_id,
               {id_expr} AS id_number, json_extract_string(details, '$.name') AS name,
               array_to_string(finding_codes, ',') AS finding_codes, CAST(details AS VARCHAR) AS details,
               resolved_by_run, dismissed_reason, updated_at
        FROM actions.cleanup_actions
        WHERE ($status IS NULL OR status = $status) AND ($type IS NULL OR action_type = $type)
        ORDER BY CASE severity WHEN 'error' THEN 0 ELSE 1 END, period_first_seen, action_type, action_id
        """,
        {"status": status, "type": action_type},
    ).pl()
    # an ID typed into a name, entity or city (or inside details) is masked too for a masking role (SPEC §8)
    return frame if permitted.sees_full_ids else redact_frame(frame)
