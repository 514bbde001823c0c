"""Filled 《基本养老保险关系转移接续申请表》 for every open INITIATE_TRANSFER action: printable HTML and xlsx.

Layout as the form is published (参保人员基本信息; 转出地信息; 转入地信息; 申请人签字 and 申请日期 left blank
for the applicant; 代办单位/经办人 lines; 经办机构意见 boxes for both agencies). 性别 and 出生日期 come from the ID
number (17th digit odd male, even female); 户籍所在地 from attendance's hukou_region where given; 原参保地
with its administrative-division code from ``ref.cities`` when that table is there (else blank); an
agency's name only when the data give it, never made up. The interim-account notice (国办发〔2009〕66号
第六条) is printed when the action's details say ``interim_account_check`` or ``hukou_unknown``. The form is the one place a full ID
number appears by necessity: it is written in full only for a role that may see full IDs (hr_manager);
otherwise it is masked and the form says so. File names carry the action id only.

No PDF: none of the project's pinned dependencies renders HTML to PDF, and the candidates are not pure
PyPI (WeasyPrint needs the system's Pango) or not in the environment (xhtml2pdf/reportlab, fpdf2, which
would also need a CJK font registered); the HTML page prints to A4 from any browser (print CSS).
"""

from __future__ import annotations

import functools
import html
import json
from datetime import date
from pathlib import Path

import duckdb

from transforms.privacy import mask_id, redact
from transforms.roles import get_role
from transforms.spreadsheet import neutralise

TEMPLATE = Path(__file__).with_name("templates") / "transfer_form.html"
MASKED_NOTE = "（号码已遮蔽：提交经办机构前，请由 HR 经理以 --full-ids 重新生成本表）"
INTERIM_NOTICE = ("临时缴费账户提示：参保人员男性年满50周岁、女性年满40周岁跨省流动就业的，应在原参保地继续保留基本养老保险关系，"
                  "同时在新参保地建立临时基本养老保险缴费账户；达到待遇领取条件时再归集（国办发〔2009〕66号 第六条）。"
                  "户籍在新参保地所在省份的除外。提交本表前请核对是否适用。")
HUKOU_UNKNOWN = "本人户籍所在地未知，请补填后判断。"
XLSX_LAYOUT = (
    ("参保人员基本信息", None), ("姓名", "name"), ("性别", "sex"), ("出生日期", "birth"), ("公民身份号码", "id_number"),
    ("户籍所在地", "hukou"), ("联系电话", None), ("通讯地址", None), ("工号", "employee_id"),
    ("原参保地信息", None), ("原参保地", "from_region"), ("原参保地行政区划代码", "from_adcode"),
    ("原参保地社保机构", "from_agency"), ("原参保单位", "from_employer"), ("原参保起始年月", "from_start"),
    ("转入地信息", None), ("转入地（现参保地）", "to_region"), ("转入地行政区划代码", "to_adcode"),
    ("转入地社保机构", "to_agency"), ("现参保单位", "to_employer"),
    ("申请", None), ("申请人签字", None), ("申请日期", None),
    ("代办单位", "agent_unit"), ("经办人", None), ("经办人联系电话", None), ("单位（盖章）", None),
    ("提示", "interim_notice"),
    ("经办机构意见", None), ("转入地意见", None), ("转出地意见", None),
)


def sex_from_id(id_number: str | None) -> str:
    """GB 11643: the 17th character is odd for men, even for women; blank when it is not a digit."""
    if id_number and len(id_number) == 18 and id_number[16].isdigit():
        return "男" if int(id_number[16]) % 2 else "女"
    return ""


def birth_from_id(id_number: str | None) -> str:
    """出生日期 from digits 7-14 (YYYY-MM-DD); blank when they are not a date's digits."""
    if id_number and len(id_number) == 18 and id_number[6:14].isdigit():
        return f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    return ""


def _adcodes(con) -> dict[str, str]:
    """City -> administrative-division code (ref.cities)."""
    return {city: str(code) for city, code in con.execute(
        "SELECT city, any_value(adcode) FROM ref.cities WHERE adcode IS NOT NULL GROUP BY city").fetchall()}


def _hukou(con) -> dict[tuple[str, str], str]:
    """(entity, employee_id) -> 户籍所在地 from the latest attendance row that gives one (SPEC §4.2)."""
    rows = con.execute("""
        SELECT entity, employee_id, arg_max(hukou_region, period) FROM core.attendance
        WHERE coalesce(hukou_region, '') <> '' GROUP BY entity, employee_id""").fetchall()
    return {(e, emp): h for e, emp, h in rows}


def interim_notice(d: dict) -> str:
    """The 国办发〔2009〕66号 第六条 notice when the action's details say it may apply (SPEC §6)."""
    if d.get("interim_account_check"):
        return INTERIM_NOTICE
    if d.get("hukou_unknown"):
        return INTERIM_NOTICE + HUKOU_UNKNOWN
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
    adcodes, hukou = _adcodes(con), _hukou(con)
    fields = []
    for action_id, entity, employee_id, id_number, details, ledger_region in rows:
        d = json.loads(details) if details else {}
        from_region = d.get("other_region") or d.get("from_region") or ""
        to_region = ledger_region or d.get("region") or ""
        fields.append({
            "action_id": action_id, "name": d.get("name") or "", "sex": sex_from_id(id_number),
            "birth": birth_from_id(id_number),
            "id_number": (id_number if full_ids else mask_id(id_number)) or "",
            "masked_note": "" if full_ids or not id_number else MASKED_NOTE,
            "hukou": d.get("hukou_region") or hukou.get((entity, employee_id)) or "",
            "employee_id": employee_id or "",
            "from_region": from_region, "from_adcode": adcodes.get(from_region, ""),
            # an agency's name only when the data give it: never made up from the region's name
            "from_agency": d.get("from_agency") or "",
            "from_employer": d.get("other_employer") or "", "from_start": d.get("other_start_month") or "",
            "to_region": to_region, "to_adcode": adcodes.get(to_region, ""), "to_agency": d.get("to_agency") or "",
            "to_employer": entity or "", "agent_unit": entity or "",
            "interim_notice": interim_notice(d), "today": date.today().isoformat(),
        })
    if not full_ids:  # any field may hold an ID typed into the wrong column
        fields = [{key: redact(value) for key, value in f.items()} for f in fields]
    return fields


@functools.cache
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def render_html(fields: dict) -> str:
    page = _template()
    for key, value in fields.items():
        shown = html.escape(str(value))
        if key == "masked_note" and value:
            shown = f'<span class="masked">{shown}</span>'
        page = page.replace("{" + key + "}", shown)
    notice = fields.get("interim_notice")
    block = f'<div class="interim" id="interim">{html.escape(notice)}</div>' if notice else ""
    return page.replace("{interim_block}", block)


def write_forms(con: duckdb.DuckDBPyConnection, folder: Path, role: str | None = None) -> list[Path]:
    """One HTML page per open INITIATE_TRANSFER action and one xlsx (every form, a page each) into ``folder``."""
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


FORMS_PER_SHEET = 1000  # Excel keeps at most 1,026 manual page breaks on a sheet


def _write_xlsx(fields: list[dict], path: Path) -> Path:
    """Every form on A4 pages of one sheet (a page break after each), a thousand forms a sheet: printed,
    one form per page; a sheet per form would make a workbook of thousands of sheets nobody can open."""
    import xlsxwriter  # a printed form's layout (merged cells, page setup), not a table

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "in_memory": True})
    styles = {
        "title": workbook.add_format({"bold": True, "font_size": 16, "align": "center"}),
        "section": workbook.add_format({"bold": True, "border": 1, "bg_color": "#E7E6E6"}),
        "label": workbook.add_format({"border": 1, "align": "center"}),
        "cell": workbook.add_format({"border": 1, "text_wrap": True}),
        "small": workbook.add_format({"font_size": 9}),
    }
    batches = [fields[i:i + FORMS_PER_SHEET] for i in range(0, len(fields), FORMS_PER_SHEET)]
    for number, batch in enumerate(batches, start=1):
        sheet = workbook.add_worksheet("转移申请表" if len(batches) == 1 else f"转移申请表{number}")
        sheet.set_paper(9)                 # A4
        sheet.fit_to_pages(1, 0)           # one page wide; the page breaks make one form a page
        sheet.center_horizontally()
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 1, 56)
        top, breaks = 0, []
        for f in batch:
            top = _write_form(sheet, top, f, styles)
            breaks.append(top)
        sheet.set_h_pagebreaks(breaks[:-1])
    workbook.close()
    return path


SECTIONS = ("参保人员基本信息", "原参保地信息", "转入地信息", "申请", "经办机构意见")


def _write_form(sheet, top: int, f: dict, styles: dict) -> int:
    """One form from row ``top``; returns the row after it (where the next form's page starts)."""
    sheet.merge_range(top, 0, top, 1, "基本养老保险关系转移接续申请表", styles["title"])
    sheet.write_string(top + 1, 0, f"编号：{f['action_id']}", styles["small"])
    sheet.write_string(top + 1, 1, f"生成日期：{f['today']}", styles["small"])
    row = top + 2
    for text, key in XLSX_LAYOUT:
        if key is None and text in SECTIONS:
            sheet.merge_range(row, 0, row, 1, text, styles["section"])
            row += 1
            continue
        value = str(f.get(key) or "") if key else ""
        if key == "interim_notice":
            if not value:
                continue
            sheet.set_row(row, 75)
        if key == "id_number" and f.get("masked_note"):
            value += f["masked_note"]
        if text in ("转入地意见", "转出地意见"):
            sheet.set_row(row, 60)
            value = "经办人：　　　复核人：　　　（盖章）　　年　　月　　日"
        if text == "申请日期":
            value = "　　　　年　　月　　日"
        sheet.write_string(row, 0, text, styles["label"])
        sheet.write_string(row, 1, str(neutralise(value)), styles["cell"])
        row += 1
    return row
