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
import re
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb

from transforms.privacy import mask_id, redact
from transforms.roles import get_role
from transforms.spreadsheet import MAIN_NS, REL_NS, XML_HEAD, neutralise, write_package

TEMPLATE = Path(__file__).with_name("templates") / "transfer_form.html"
MASKED_NOTE = "（号码已遮蔽：提交经办机构前，请由 HR 经理生成显示完整号码的本表）"
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
            # TRANSFER_NEEDED names the origin as from_*, ACTIVE_ELSEWHERE as other_*: the workbook shows either
            "from_employer": d.get("other_employer") or d.get("from_employer") or "",
            "from_start": d.get("other_start_month") or d.get("from_start_month") or "",
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
    """The page: each ``{key}`` of the template replaced by its field, escaped, and ``{interim_block}`` by
    the interim notice, in one pass over the template cut at its placeholders, so a value is never read
    again as a placeholder (a name typed as ``{id_number}`` stays that text)."""
    shown = {}
    for key, value in fields.items():
        text = html.escape(str(value))
        shown[key] = f'<span class="masked">{text}</span>' if key == "masked_note" and value else text
    notice = fields.get("interim_notice")
    shown["interim_block"] = f'<div class="interim" id="interim">{html.escape(notice)}</div>' if notice else ""
    literals, keys = _template_parts()
    parts = [literals[0]]
    for key, literal in zip(keys, literals[1:], strict=True):
        parts += [shown.get(key, "{" + key + "}"), literal]
    return "".join(parts)


@functools.cache
def _template_parts() -> tuple[list[str], list[str]]:
    """The template's literal texts and the placeholder keys between them."""
    pieces = re.split(r"\{(\w+)\}", _template())
    return pieces[0::2], pieces[1::2]


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
    one form per page; a sheet per form would make a workbook of thousands of sheets nobody can open.

    The SpreadsheetML is written here, a form's rows as one string each: the layout is fixed, and a
    writer's Python call per cell (xlsxwriter, 8 s for the 11,411 forms of 200,000 employees) is most of
    the time the forms take. Text goes in as inline strings, never formulas, neutralised as well."""
    batches = [fields[i:i + FORMS_PER_SHEET] for i in range(0, len(fields), FORMS_PER_SHEET)]
    names = ["转移申请表" if len(batches) == 1 else f"转移申请表{n}" for n in range(1, len(batches) + 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for number, batch in enumerate(batches, start=1):
            book.writestr(f"xl/worksheets/sheet{number}.xml", _sheet_xml(batch, selected=number == 1))
        write_package(book, names, _STYLES)
    return path


SECTIONS = ("参保人员基本信息", "原参保地信息", "转入地信息", "申请", "经办机构意见")
# cell styles (xl/styles.xml cellXfs): title, small print, section heading, label, value
_TITLE, _SMALL, _SECTION, _LABEL, _VALUE = 1, 2, 3, 4, 5


def _form_rows(f: dict) -> list[tuple[str, str | None, int | None]]:
    """A form's rows after its title and number line: (column A, column B or None for a merged section
    heading, row height or None)."""
    rows: list[tuple[str, str | None, int | None]] = []
    for text, key in XLSX_LAYOUT:
        if key is None and text in SECTIONS:
            rows.append((text, None, None))
            continue
        value = str(f.get(key) or "") if key else ""
        height = None
        if key == "interim_notice":
            if not value:
                continue
            height = 75
        if key == "id_number" and f.get("masked_note"):
            value += f["masked_note"]
        if text in ("转入地意见", "转出地意见"):
            height = 60
            value = "经办人：　　　复核人：　　　（盖章）　　年　　月　　日"
        if text == "申请日期":
            value = "　　　　年　　月　　日"
        rows.append((text, str(neutralise(value)), height))
    return rows


def _sheet_xml(batch: list[dict], selected: bool) -> str:
    rows, merges, breaks = [], [], []
    row = 0
    for f in batch:
        row += 1
        merges.append(f"A{row}:B{row}")
        rows.append(f'<row r="{row}">{_cell("A", row, "基本养老保险关系转移接续申请表", _TITLE)}'
                    f'<c r="B{row}" s="{_TITLE}"/></row>')
        row += 1
        rows.append(f'<row r="{row}">{_cell("A", row, "编号：" + str(f["action_id"]), _SMALL)}'
                    f'{_cell("B", row, "生成日期：" + str(f["today"]), _SMALL)}</row>')
        for label, value, height in _form_rows(f):
            row += 1
            tall = f' ht="{height}" customHeight="1"' if height else ""
            if value is None:
                merges.append(f"A{row}:B{row}")
                rows.append(f'<row r="{row}">{_cell("A", row, label, _SECTION)}<c r="B{row}" s="{_SECTION}"/></row>')
            else:
                rows.append(f'<row r="{row}"{tall}>{_cell("A", row, label, _LABEL)}'
                            f'{_cell("B", row, value, _VALUE)}</row>')
        breaks.append(row)
    breaks = breaks[:-1]
    view = ' tabSelected="1"' if selected else ""
    page_breaks = (f'<rowBreaks count="{len(breaks)}" manualBreakCount="{len(breaks)}">'
                   + "".join(f'<brk id="{b}" max="16383" man="1"/>' for b in breaks) + "</rowBreaks>") if breaks else ""
    return (f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheetPr><pageSetUpPr fitToPage="1"/>'
            f'</sheetPr><dimension ref="A1:B{max(row, 1)}"/><sheetViews><sheetView{view} workbookViewId="0"/>'
            '</sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>'
            '<col min="1" max="1" width="22.7109375" customWidth="1"/>'
            '<col min="2" max="2" width="56.7109375" customWidth="1"/></cols>'
            f'<sheetData>{"".join(rows)}</sheetData><mergeCells count="{len(merges)}">'
            + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
            + '</mergeCells><printOptions horizontalCentered="1"/><pageMargins left="0.7" right="0.7" top="0.75" '
            'bottom="0.75" header="0.3" footer="0.3"/><pageSetup paperSize="9" fitToHeight="0" orientation="portrait"/>'
            f"{page_breaks}</worksheet>")


def _cell(column: str, row: int, text: str, style: int) -> str:
    text = escape(_XML_INVALID.sub(lambda c: f"_x{ord(c.group(0)):04X}_", text))
    return f'<c r="{column}{row}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


# characters XML 1.0 cannot carry: written as Excel's _xHHHH_ escapes, as xlsxwriter did
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


_FONT = '<sz val="{size}"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
_STYLES = (
    f'<styleSheet xmlns="{MAIN_NS}"><fonts count="4"><font>{_FONT.format(size=11)}</font>'
    f'<font><b/>{_FONT.format(size=16)}</font><font>{_FONT.format(size=9)}</font><font><b/>{_FONT.format(size=11)}</font>'
    '</fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill><fill><patternFill patternType="solid"><fgColor rgb="FFE7E6E6"/><bgColor indexed="64"/></patternFill></fill>'
    '</fills><borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border>'
    '<left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right><top style="thin">'
    '<color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="3" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
