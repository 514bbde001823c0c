"""The HR action workbook ``actions.xlsx``: a summary sheet (汇总), then one sheet per action type.

Rows are sorted by severity, then age (the month first seen); id numbers are masked unless the role may
see them in full, also inside the evidence text; text that a spreadsheet would run as a formula is
neutralised (``transforms.spreadsheet``).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions import BY_TYPE, TYPES, list_actions
from transforms.privacy import mask_id, redact
from transforms.roles import get_role
from transforms.spreadsheet import new_workbook, write_sheet

HEADERS = {
    "action_id": "编号", "status": "状态", "severity": "严重程度", "period_first_seen": "首次发现",
    "period_last_seen": "最近发现", "entity": "单位", "employee_id": "工号", "name": "姓名",
    "id_number": "身份证号", "finding_codes": "问题代码", "evidence": "说明", "todo": "处理建议",
}
STATUS_NAMES = {"open": "待处理", "resolved": "已解决", "dismissed": "已忽略"}
SEVERITY_NAMES = {"error": "错误", "warning": "警告"}
SUMMARY_HEADERS = {"type_name": "事项类型", "action_type": "类型代码", "open": "待处理", "resolved": "已解决",
                   "dismissed": "已忽略", "total": "合计"}
INSURANCE_NAMES = {"pension": "养老", "medical": "医疗", "unemployment": "失业", "work_injury": "工伤",
                   "maternity": "生育"}
STAGE_NAMES = {"submitted": "已提交", "origin_approved": "转出地已审核", "funds_received": "资金已到账",
               "completed": "已办结", "rejected": "已退回"}


def _ins(code: str) -> str:
    return INSURANCE_NAMES.get(code, code)


def evidence(details: str | None, full_ids: bool = False) -> str:
    """One readable line of what HR needs to act on, from the action's details (ids masked unless full_ids)."""
    if not details:
        return ""
    d = json.loads(details)
    parts = []
    people = d.get("people") or []
    if len(people) > 1:
        shown = [" ".join(x for x in (p.get("entity"), p.get("employee_id"), p.get("name"),
                                      p.get("id_number") if full_ids else mask_id(p.get("id_number"))) if x)
                 for p in people]
        parts.append("涉及: " + "、".join(shown))
    if d.get("id_problem"):
        parts.append(f"身份证号问题: {d['id_problem']}")
    if d.get("insurance_types"):
        parts.append("险种: " + "、".join(_ins(t) for t in d["insurance_types"]))
    if d.get("expected_base"):
        current = d.get("current_base") or {}
        parts.append("基数: " + "、".join(
            f"{_ins(k)} 现 {current.get(k) or '—'} 应为 {v}" for k, v in sorted(d["expected_base"].items()) if v))
    for line in d.get("bill") or []:
        parts.append(f"账单 {_ins(line.get('insurance_type'))}: 单位 {line.get('billed_employer_amount')}"
                     f"（台账 {line.get('ledger_employer_amount')}），个人 {line.get('billed_employee_amount')}"
                     f"（台账 {line.get('ledger_employee_amount')}），基数 {line.get('billed_base') or '—'}"
                     f"（台账 {line.get('ledger_base') or '—'}）")
    if d.get("withholding_difference"):
        parts.append(f"代扣 {d.get('si_withheld')} 应为 {d.get('expected_employee_amount')}"
                     f"（差额 {d['withholding_difference']}）")
    if d.get("leave_date"):
        parts.append(f"离职日期: {d['leave_date']}")
    elif d.get("hire_date"):
        parts.append(f"入职日期: {d['hire_date']}")
    if d.get("other_region"):
        parts.append(f"异地在缴: {d['other_region']} {d.get('other_employer') or ''}".strip()
                     + (f"（自 {d['other_start_month']}）" if d.get("other_start_month") else ""))
    if d.get("earlier_start_month"):
        parts.append(f"更早参保: {d['earlier_start_month']} {d.get('earlier_region') or ''} "
                     f"{d.get('earlier_employer') or ''}".strip())
    if d.get("transfer_id"):
        route = f"{d.get('from_region') or ''}→{d.get('to_region') or ''}"
        parts.append(f"转移业务 {d['transfer_id']}（{route}）")
    if d.get("stage"):
        stage = STAGE_NAMES.get(d["stage"], d["stage"])
        waited = d.get("working_days_waited")
        parts.append(f"办理状态: {stage}（{d.get('stage_on') or ''}）"
                     + (f"，已等待 {waited} 个工作日（时限 {d.get('limit_days')}）" if waited is not None else ""))
    if d.get("record_employer"):
        parts.append(f"原参保记录仍在缴: {d['record_employer']}")
    sources = [s for s in d.get("sources") or [] if isinstance(s, dict) and s.get("file")]
    if sources:
        first = sorted(sources, key=lambda s: (str(s.get("file")), str(s.get("row"))))[0]
        parts.append(f"来源: {first['file']} 第{first.get('row')}行")
    text = "；".join(parts)
    return text if full_ids else redact(text)


def write_workbook(con: duckdb.DuckDBPyConnection, path: Path, role: str | None = None) -> Path:
    """Write ``path`` (an xlsx openpyxl and Excel open) for ``role``; returns the path."""
    return write_action_rows(list_actions(con, role=role), path, get_role(role).sees_full_ids)


def write_action_rows(actions: pl.DataFrame, path: Path, full_ids: bool) -> Path:
    """The workbook of these actions (rows of ``list_actions``, ids already masked for the role): the
    summary sheet counts them, each type's sheet lists them. Used whole, and per entity by the close."""
    counts = actions.group_by("action_type", "status").len()
    by_type = {(r["action_type"], r["status"]): r["len"] for r in counts.iter_rows(named=True)}
    actions = actions.with_columns(
        pl.col("details").map_elements(lambda d: evidence(d, full_ids), return_dtype=pl.String).alias("evidence"),
        pl.col("action_type").replace_strict({t.code: t.todo_zh for t in TYPES}, return_dtype=pl.String).alias("todo"),
        pl.col("status").replace_strict(STATUS_NAMES, return_dtype=pl.String),
        pl.col("severity").replace_strict(SEVERITY_NAMES, return_dtype=pl.String),
    )
    summary_rows = []
    for t in TYPES:
        row = {"type_name": t.name_zh, "action_type": t.code} | {s: by_type.get((t.code, s), 0) for s in STATUS_NAMES}
        summary_rows.append(row | {"total": sum(row[s] for s in STATUS_NAMES)})
    workbook = new_workbook(path)
    write_sheet(workbook, "汇总", pl.DataFrame(summary_rows), SUMMARY_HEADERS, widths={"action_type": 26})
    for code, t in BY_TYPE.items():
        write_sheet(workbook, t.name_zh, actions.filter(pl.col("action_type") == code), HEADERS,
                    widths={"evidence": 70, "todo": 36, "action_id": 18, "entity": 24, "id_number": 20,
                            "finding_codes": 24})
    workbook.close()
    return path
