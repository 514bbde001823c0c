"""Filled 基本养老保险关系转移接续申请表 for every open INITIATE_TRANSFER action: printable HTML and xlsx.

The full ID number appears only for a role that may see it (the form goes to the insurance office);
otherwise it is masked and the form says so.
"""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path

import duckdb

from transforms.privacy import mask_id
from transforms.roles import get_role
from transforms.spreadsheet import neutralise, new_workbook

TEMPLATE = Path(__file__).with_name("templates") / "transfer_form.html"


def form_fields(con: duckdb.DuckDBPyConnection, full_ids: bool) -> list[dict]:
    rows = con.execute(
        """
        SELECT a.action_id, a.entity, a.employee_id, a.id_number, a.details, e.region AS to_region
        FROM actions.cleanup_actions a
        LEFT JOIN ledger.employee_months e
          ON e.entity = a.entity AND e.employee_id = a.employee_id AND e.period = a.period_last_seen
        WHERE a.action_type = 'INITIATE_TRANSFER' AND a.status = 'open'
        ORDER BY a.entity, a.employee_id
        """
    ).fetchall()
    fields = []
    for action_id, entity, employee_id, id_number, details, to_region in rows:
        d = json.loads(details) if details else {}
        first = (d.get("findings") or [{}])[0].get("evidence") or {}
        records = first.get("records") or []
        from_start = next((r.get("start_month") for r in records if r.get("region") == d.get("other_region")), "")
        sex = ""
        if id_number and len(id_number) == 18 and id_number[16].isdigit():
            sex = "男" if int(id_number[16]) % 2 else "女"
        fields.append({
            "action_id": action_id, "name": d.get("name") or "", "sex": sex,
            "id_number": id_number if full_ids else mask_id(id_number),
            "masked_note": "" if full_ids else "（已遮蔽：由有权限的人员导出完整号码）",
            "hukou": "", "entity": entity or "", "employee_id": employee_id or "",
            "from_region": d.get("other_region") or "", "from_employer": d.get("other_employer") or "",
            "from_start": from_start or "", "to_region": to_region or "", "today": date.today().isoformat(),
        })
    return fields


def write_forms(con: duckdb.DuckDBPyConnection, folder: Path, role: str | None = None) -> list[Path]:
    permitted = get_role(role)
    fields = form_fields(con, permitted.sees_full_ids)
    folder.mkdir(parents=True, exist_ok=True)
    template = TEMPLATE.read_text(encoding="utf-8")
    paths = []
    for f in fields:
        page = template
        for key, value in f.items():
            shown = html.escape(str(value))
            if key == "masked_note" and value:
                shown = f'<span class="masked">{shown}</span>'
            page = page.replace("{" + key + "}", shown)
        path = folder / f"转移申请表_{f['action_id']}.html"
        path.write_text(page, encoding="utf-8")
        paths.append(path)
    if fields:
        paths.append(_write_xlsx(fields, folder / "转移申请表.xlsx"))
    return paths


def _write_xlsx(fields: list[dict], path: Path) -> Path:
    workbook = new_workbook(path)
    title = workbook.add_format({"bold": True, "font_size": 16, "align": "center"})
    label = workbook.add_format({"bold": True, "border": 1, "bg_color": "#F2F2F2"})
    cell = workbook.add_format({"border": 1})
    layout = [("编号", "action_id"), ("姓名", "name"), ("性别", "sex"), ("公民身份号码", "id_number"),
              ("户籍所在地", "hukou"), ("现工作单位", "entity"), ("原参保地（转出地）", "from_region"),
              ("原参保单位", "from_employer"), ("原参保起始年月", "from_start"), ("现参保地（转入地）", "to_region"),
              ("现参保单位", "entity"), ("填表日期", "today"), ("申请人（签字）", None), ("单位（盖章）", None),
              ("转入地经办机构意见", None), ("转出地经办机构意见", None)]
    for f in fields:
        sheet = workbook.add_worksheet(f["action_id"][:31])
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 1, 48)
        sheet.merge_range(0, 0, 0, 1, "基本养老保险关系转移接续申请表", title)
        for row, (text, key) in enumerate(layout, start=2):
            sheet.write_string(row, 0, text, label)
            sheet.write_string(row, 1, str(neutralise(str(f.get(key) or ""))) if key else "", cell)
    workbook.close()
    return path
