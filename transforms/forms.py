"""Filled 《基本养老保险关系转移接续申请表》 for every open INITIATE_TRANSFER action: printable HTML and xlsx.

Layout as the form is published (参保人员基本信息; 转出地信息; 转入地信息; 申请人签字 and 申请日期 left blank
for the applicant; 经办机构意见 boxes for both agencies). 性别 comes from the ID number's 17th digit (odd
male, even female); 户籍所在地 is not in any extract and is left blank. The form is the one place a full ID
number appears by necessity: it is written in full only for a role that may see full IDs (hr_manager);
otherwise it is masked and the form says so. File names carry the action id only.

No PDF: none of the project's pinned dependencies renders HTML to PDF, and the candidates are not pure
PyPI (WeasyPrint needs the system's Pango) or not in the environment (xhtml2pdf/reportlab, fpdf2, which
would also need a CJK font registered); the HTML page prints to A4 from any browser (print CSS).
"""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path

import duckdb

from transforms.privacy import mask_id, redact
from transforms.roles import get_role
from transforms.spreadsheet import neutralise

TEMPLATE = Path(__file__).with_name("templates") / "transfer_form.html"
MASKED_NOTE = "（号码已遮蔽：提交经办机构前，请由 HR 经理以 --role hr_manager 重新生成本表）"
XLSX_LAYOUT = (
    ("参保人员基本信息", None), ("姓名", "name"), ("性别", "sex"), ("公民身份号码", "id_number"), ("户籍所在地", "hukou"),
    ("联系电话", None), ("工号", "employee_id"),
    ("转出地信息", None), ("转出地（参保地）", "from_region"), ("转出地社保经办机构", "from_agency"),
    ("原参保单位", "from_employer"), ("原参保起始年月", "from_start"),
    ("转入地信息", None), ("转入地（参保地）", "to_region"), ("转入地社保经办机构", "to_agency"),
    ("现参保单位", "to_employer"),
    ("申请", None), ("申请人签字", None), ("申请日期", None), ("单位（盖章）", None),
    ("经办机构意见", None), ("转入地意见", None), ("转出地意见", None),
)


def sex_from_id(id_number: str | None) -> str:
    """GB 11643: the 17th character is odd for men, even for women; blank when it is not a digit."""
    if id_number and len(id_number) == 18 and id_number[16].isdigit():
        return "男" if int(id_number[16]) % 2 else "女"
    return ""


def form_fields(con: duckdb.DuckDBPyConnection, full_ids: bool) -> list[dict]:
    rows = con.execute(
        """
        SELECT a.action_id, a.entity, a.employee_id, a.id_number, CAST(a.details AS VARCHAR), e.region
        FROM actions.cleanup_actions a
        LEFT JOIN ledger.employee_months e
          ON e.entity = a.entity AND e.employee_id = a.employee_id AND e.period = a.period_last_seen
        WHERE a.action_type = 'INITIATE_TRANSFER' AND a.status = 'open'
        ORDER BY a.entity, a.employee_id, a.action_id
        """
    ).fetchall()
    fields = []
    for action_id, entity, employee_id, id_number, details, ledger_region in rows:
        d = json.loads(details) if details else {}
        from_region = d.get("other_region") or ""
        to_region = ledger_region or d.get("region") or ""
        fields.append({
            "action_id": action_id, "name": d.get("name") or "", "sex": sex_from_id(id_number),
            "id_number": (id_number if full_ids else mask_id(id_number)) or "",
            "masked_note": "" if full_ids or not id_number else MASKED_NOTE,
            "hukou": "", "employee_id": employee_id or "",
            "from_region": from_region, "from_agency": f"{from_region}社会保险经办机构" if from_region else "",
            "from_employer": d.get("other_employer") or "", "from_start": d.get("other_start_month") or "",
            "to_region": to_region, "to_agency": f"{to_region}社会保险经办机构" if to_region else "",
            "to_employer": entity or "", "today": date.today().isoformat(),
        })
    if not full_ids:  # any field may hold an ID typed into the wrong column
        fields = [{key: redact(value) for key, value in f.items()} for f in fields]
    return fields


def render_html(fields: dict) -> str:
    page = TEMPLATE.read_text(encoding="utf-8")
    for key, value in fields.items():
        shown = html.escape(str(value))
        if key == "masked_note" and value:
            shown = f'<span class="masked">{shown}</span>'
        page = page.replace("{" + key + "}", shown)
    return page


def write_forms(con: duckdb.DuckDBPyConnection, folder: Path, role: str | None = None) -> list[Path]:
    """One HTML page per open INITIATE_TRANSFER action and one xlsx (a sheet per form) into ``folder``."""
    fields = form_fields(con, get_role(role).sees_full_ids)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("转移申请表_*.html"), folder / "转移申请表.xlsx"]:
        stale.unlink(missing_ok=True)   # a form of an action no longer open must not linger
    paths = []
    for f in fields:
        path = folder / f"转移申请表_{f['action_id']}.html"
        path.write_text(render_html(f), encoding="utf-8")
        paths.append(path)
    if fields:
        paths.append(_write_xlsx(fields, folder / "转移申请表.xlsx"))
    return paths


def _write_xlsx(fields: list[dict], path: Path) -> Path:
    import xlsxwriter  # a printed form's layout (merged cells, page setup), not a table

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    title = workbook.add_format({"bold": True, "font_size": 16, "align": "center"})
    section = workbook.add_format({"bold": True, "border": 1, "bg_color": "#E7E6E6"})
    label = workbook.add_format({"border": 1, "align": "center"})
    cell = workbook.add_format({"border": 1, "text_wrap": True})
    small = workbook.add_format({"font_size": 9})
    for f in fields:
        sheet = workbook.add_worksheet(f["action_id"][:31])
        sheet.set_paper(9)                 # A4
        sheet.fit_to_pages(1, 1)
        sheet.center_horizontally()
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 1, 56)
        sheet.merge_range(0, 0, 0, 1, "基本养老保险关系转移接续申请表", title)
        sheet.write_string(1, 0, f"编号：{f['action_id']}", small)
        sheet.write_string(1, 1, f"生成日期：{f['today']}", small)
        for row, (text, key) in enumerate(XLSX_LAYOUT, start=2):
            if key is None and text in ("参保人员基本信息", "转出地信息", "转入地信息", "申请", "经办机构意见"):
                sheet.merge_range(row, 0, row, 1, text, section)
                continue
            value = str(f.get(key) or "") if key else ""
            if key == "id_number" and f.get("masked_note"):
                value += f["masked_note"]
            if text in ("转入地意见", "转出地意见"):
                sheet.set_row(row, 60)
                value = "经办人：　　　复核人：　　　（盖章）　　年　　月　　日"
            if text == "申请日期":
                value = "　　　　年　　月　　日"
            sheet.write_string(row, 0, text, label)
            sheet.write_string(row, 1, str(neutralise(value)), cell)
    workbook.close()
    return path
