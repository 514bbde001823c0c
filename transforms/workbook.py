"""The HR action workbook: a summary sheet, then one sheet per action type, sorted by severity and age."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions import ACTION_TYPES, list_actions
from transforms.spreadsheet import new_workbook, write_sheet

HEADERS = {
    "action_id": "编号", "status": "状态", "severity": "严重程度", "period_first_seen": "首次发现",
    "period_last_seen": "最近发现", "entity": "单位", "employee_id": "工号", "name": "姓名",
    "id_number": "身份证号", "finding_codes": "问题代码", "evidence": "说明",
}
STATUS_NAMES = {"open": "待处理", "resolved": "已解决", "dismissed": "已忽略"}
SEVERITY_NAMES = {"error": "错误", "warning": "警告"}
SUMMARY_HEADERS = {"type_name": "事项类型", "action_type": "类型代码", "open": "待处理", "resolved": "已解决",
                   "dismissed": "已忽略", "total": "合计"}


def evidence(details: str | None) -> str:
    """One readable line of what HR needs to act on, from the action's details."""
    if not details:
        return ""
    d = json.loads(details)
    parts = []
    if d.get("insurance_types"):
        parts.append("险种: " + "、".join(d["insurance_types"]))
    if d.get("expected_base"):
        parts.append("应为基数: " + "、".join(f"{k} {v}" for k, v in d["expected_base"].items() if v))
    if d.get("other_region"):
        parts.append(f"异地参保: {d['other_region']} {d.get('other_employer') or ''}".strip())
    if d.get("stage"):
        parts.append(f"办理状态: {d['stage']}，已等待 {d.get('working_days_waited')} 个工作日")
    findings = d.get("findings") or []
    sources = {json.dumps(f.get("evidence", {}).get("source"), ensure_ascii=False) for f in findings
               if isinstance(f.get("evidence"), dict) and f["evidence"].get("source")}
    if sources:
        first = json.loads(sorted(sources)[0])
        if isinstance(first, dict) and first.get("file"):
            parts.append(f"来源: {first['file']} 第{first.get('row')}行")
    return "；".join(parts)


def write_workbook(con: duckdb.DuckDBPyConnection, path: Path, role: str | None = None) -> Path:
    actions = list_actions(con, role=role)
    actions = actions.with_columns(
        pl.col("details").map_elements(evidence, return_dtype=pl.String).alias("evidence"),
        pl.col("status").replace(STATUS_NAMES),
        pl.col("severity").replace(SEVERITY_NAMES),
    )
    workbook = new_workbook(path)
    counts = con.execute("SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall()
    summary_rows = []
    for action_type, name in ACTION_TYPES.items():
        row = {"type_name": name, "action_type": action_type, "open": 0, "resolved": 0, "dismissed": 0}
        for t, status, count in counts:
            if t == action_type:
                row[status] = count
        row["total"] = row["open"] + row["resolved"] + row["dismissed"]
        summary_rows.append(row)
    write_sheet(workbook, "汇总", pl.DataFrame(summary_rows), SUMMARY_HEADERS)
    for action_type, name in ACTION_TYPES.items():
        write_sheet(workbook, name, actions.filter(pl.col("action_type") == action_type), HEADERS,
                    widths={"evidence": 60, "action_id": 18, "entity": 24, "id_number": 20})
    workbook.close()
    return path
