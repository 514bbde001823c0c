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

import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from transforms.common.heap import release_freed_memory
from transforms.common.privacy import mask_id, redact
from transforms.common.roles import get_role
from transforms.common.spreadsheet import write_form_pages
from transforms.common.templating import page

TEMPLATE = "transfer_form.html"  # in transforms/templates
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
        # once per distinct value: the notices, entities, regions and dates repeat on thousands of forms
        redacted: dict = {}
        fields = [{key: redacted[value] if value in redacted else redacted.setdefault(value, redact(value))
                   for key, value in f.items()} for f in fields]
    return fields


# every field a form prints (the keys of :func:`form_fields`); one the caller leaves out prints blank
FIELDS = ("action_id", "today", "name", "sex", "birth", "id_number", "masked_note", "hukou", "employee_id",
          "from_region", "from_adcode", "from_agency", "from_employer", "from_start", "to_region", "to_adcode",
          "to_agency", "to_employer", "agent_unit", "interim_notice")
_BLANK = dict.fromkeys(FIELDS, "")


def render_html(fields: dict) -> str:
    """The page: the compiled jinja2 template (autoescape on) over the form's fields. A value is printed,
    never read again as template text (a name typed as ``{id_number}`` or ``{{ id_number }}`` stays that
    text); the interim notice's block and the masked-number note appear only when they have text."""
    template = page(TEMPLATE)
    # what Template.render does, less two copies of the fields: the template reads no globals (shared)
    return "".join(template.root_render_func(template.new_context(_BLANK | fields, shared=True)))


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
        release_freed_memory()  # the actions' details read for the fields, before the pages' frames
        paths.append(_write_xlsx(fields, folder / "转移申请表.xlsx"))
    return paths


FORMS_PER_SHEET = 1000  # Excel keeps at most 1,026 manual page breaks on a sheet


def _write_xlsx(fields: list[dict], path: Path) -> Path:
    """Every form on A4 pages of one sheet (a page break after each), a thousand forms a sheet: printed,
    one form per page; a sheet per form would make a workbook of thousands of sheets nobody can open.
    The layout is here; :func:`transforms.common.spreadsheet.write_form_pages` writes the xlsx."""
    return write_form_pages(path, "转移申请表", _pages(fields), FORMS_PER_SHEET)


SECTIONS = ("参保人员基本信息", "原参保地信息", "转入地信息", "申请", "经办机构意见")
TITLE = "基本养老保险关系转移接续申请表"
OPINION = "经办人：　　　复核人：　　　（盖章）　　年　　月　　日"
DATE_LINE = "　　　　年　　月　　日"


def _pages(fields: list[dict]) -> pl.DataFrame:
    """Every form's rows (``write_form_pages``' frame), built a layout row at a time over all the forms
    (thousands of forms of 33 rows: no Python per form row): its title, its number and date line, then
    the layout's rows; the interim notice's row only where there is a notice."""
    forms = (pl.DataFrame(fields, schema=dict.fromkeys(FIELDS, pl.String)).fill_null("")
             .with_columns(pl.col("id_number") + pl.col("masked_note")).with_row_index("form"))
    form = pl.col("form").cast(pl.Int64)
    rows = [forms.select(form, pl.lit("title").alias("kind"), pl.lit(TITLE).alias("label"),
                         pl.lit("").alias("value"), pl.lit(None, pl.Int64).alias("height")),
            forms.select(form, pl.lit("small").alias("kind"), ("编号：" + pl.col("action_id")).alias("label"),
                         ("生成日期：" + pl.col("today")).alias("value"), pl.lit(None, pl.Int64).alias("height"))]
    for label, key, value, height in _form_rows():
        kind = "section" if value is None and key is None else "field"
        row = forms.select(form, pl.lit(kind).alias("kind"), pl.lit(label).alias("label"),
                           (pl.col(key) if key else pl.lit(value or "")).alias("value"),
                           pl.lit(height, pl.Int64).alias("height"))
        # the notice's row only on the forms that have one (neutralised and escaped by the writer): filtered
        # here, not over every form's rows (at 1,000,000 employees 55,102 forms, 1.9 million rows, copied once more)
        rows.append(row.filter(pl.col("value") != "") if label == "提示" else row)
    return pl.concat(rows).sort("form", maintain_order=True)  # each form's rows in layout order


def _form_rows() -> list[tuple[str, str | None, str | None, int | None]]:
    """The layout's rows after the title and number line: (column A, the field printed in column B or None,
    column B's fixed text or None (None with no field: a merged section heading), row height or None)."""
    rows: list[tuple[str, str | None, str | None, int | None]] = []
    for text, key in XLSX_LAYOUT:
        if key is None and text in SECTIONS:
            rows.append((text, None, None, None))
        elif text in ("转入地意见", "转出地意见"):
            rows.append((text, None, OPINION, 60))
        elif text == "申请日期":
            rows.append((text, None, DATE_LINE, None))
        else:  # id_number carries the masked-number note; the notice is taller
            rows.append((text, key, "" if key is None else None, 75 if key == "interim_notice" else None))
    return rows
