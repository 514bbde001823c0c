"""The HR validation report: one self-contained HTML file per validation run, in Chinese.

Summary, inline SVG charts of findings by code and by entity, the trend over earlier runs, and per code a
table of the people concerned with the evidence from ``quality.findings.details``. ID numbers are masked
(``430102********1234``) unless the role may see them. The page is ``templates/report.html`` and its parts
the macros of ``templates/report_parts.html`` (jinja2, autoescape on: every value is escaped there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions.evidence import UNKNOWN_TITLE, sentence
from transforms.common import glossary
from transforms.common.privacy import mask_id, redact, redact_file_name
from transforms.common.roles import PermissionDenied, Role, get_role
from transforms.common.runs import latest_validation_run
from transforms.common.templating import Markup, page
from warehouse.db import one
from warehouse.errors import ShebaoError

TEMPLATE = "report.html"  # in transforms/templates, with its parts in report_parts.html

SEVERITY_ZH = glossary.SEVERITY
STATUS_ZH = glossary.RUN_STATUS
KIND_ZH = glossary.KIND


def report_filename(run_id: str, full_ids: bool = False) -> str:
    """The masked report is the run's file; a report with full IDs is kept apart so it is never mistaken for it."""
    return f"validation_report_{run_id}{'_full_ids' if full_ids else ''}.html"


def resolve_run(con: duckdb.DuckDBPyConnection, period: str, run_id: str | None = None) -> str:
    """The run to report: ``run_id`` if given (it must be of ``period``), else the latest finished one."""
    if run_id:
        row = con.execute("SELECT period FROM quality.runs WHERE run_id = ?", [run_id]).fetchone()
        if row is None:
            raise ShebaoError(f"There is no validation run {run_id}; run `shebao validate --period {period}`.")
        if row[0] != period:
            raise ShebaoError(f"The validation run {run_id} is for {row[0]}, not {period}; pass its period.")
        return run_id
    latest = latest_validation_run(con, period)
    if latest is None:
        raise ShebaoError(f"No validation run for {period} has finished; run `shebao validate --period {period}` first.")
    return latest


def write_report(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, role: str | None = None) -> Path:
    """Render the report of ``run_id`` for ``role`` into ``out_dir``; return its path. The page is written a
    piece at a time (:func:`report_pieces`): at 1,000,000 employees it is 105 MB."""
    pieces = report_pieces(con, run_id, role)
    first = next(pieces)  # a refusal (the role, no such run) comes before any file is made
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / report_filename(run_id, full_ids=get_role(role).sees_full_ids)
    with path.open("w", encoding="utf-8") as file:
        file.write(first)
        file.writelines(pieces)
    return path


def authorise(role_name: str | None) -> Role:
    role = get_role(role_name)
    if not role.sees_findings:
        raise PermissionDenied(
            f"The role {role.name} may not see validation findings; ask an HR manager or HR staff member."
        )
    return role


@dataclass(frozen=True)
class CheckInfo:
    code: str
    severity: str
    title_zh: str
    evidence_zh: str | None = None  # the template of its evidence sentence (transforms.actions.evidence)


def checks_of(con: duckdb.DuckDBPyConnection, findings: list[dict]) -> list[CheckInfo]:
    """The finding codes in registry order (``quality.checks``, written by the validation), with any code a
    finding carries that the table lacks appended under a generic title."""
    checks = [CheckInfo(*row) for row in con.execute(
        "SELECT code, severity, title_zh, evidence_zh FROM quality.checks ORDER BY ordinal").fetchall()]
    known = {check.code for check in checks}
    for finding in findings:
        if finding["code"] not in known:
            known.add(finding["code"])
            checks.append(CheckInfo(finding["code"], finding["severity"], UNKNOWN_TITLE))
    return checks


def render_report(con: duckdb.DuckDBPyConnection, run_id: str, role: str | None = None) -> str:
    return "".join(report_pieces(con, run_id, role))


# Where the findings' tables go in the page: rendered apart, a check at a time (see report_pieces)
_DETAILS_SLOT = "\x00details\x00"


def report_pieces(con: duckdb.DuckDBPyConnection, run_id: str, role: str | None = None) -> Iterator[str]:
    """The report's HTML in pieces: the page around the findings' tables, then each check's table, then the rest
    of the page. A check's table is built, rendered and let go before the next one's (the 207,815 findings of a
    million employees made a page of 105 MB, and building it whole took 2.5 GB)."""
    who = authorise(role)
    run = con.execute(
        "SELECT run_id, period, started_at, finished_at, status, warnings FROM quality.runs WHERE run_id = ?", [run_id]
    ).fetchone()
    if run is None:
        raise ShebaoError(f"There is no validation run {run_id}.")
    _, period, started_at, finished_at, status, warnings = run
    ids = (lambda value: value) if who.sees_full_ids else mask_id
    text = (lambda value: value) if who.sees_full_ids else redact

    # what the page says of all findings is counted by DuckDB; their rows are read a check at a time
    # (findings_of): the 207,815 findings of a million employees, details and all, were 2 GB held at once
    found = con.execute(f"SELECT code, first(severity ORDER BY {_FINDING_ORDER.removeprefix('code, ')}), count(*)"
                        " FROM quality.findings WHERE run_id = ? GROUP BY code ORDER BY code", [run_id]).fetchall()
    checks = checks_of(con, [{"code": code, "severity": severity} for code, severity, _ in found])
    titles = {check.code: check.title_zh for check in checks}
    counts = {check.code: 0 for check in checks} | {code: number for code, _, number in found}
    by_entity: dict[str, int] = {}
    # in the order the findings list them first (code, then entity), as counting them one by one did
    for entity, found in con.execute("SELECT entity, count(*) FROM quality.findings WHERE run_id = ? GROUP BY entity"
                                     " ORDER BY min(code), entity", [run_id]).fetchall():
        name = text(entity) if entity else "（未关联单位）"
        by_entity[name] = by_entity.get(name, 0) + found

    action_ids = _action_ids(con, run_id)
    # a month with no one in its ledger was not checked in any useful sense: never "已完成" and green
    has_data = bool((con.execute("SELECT count(*) FROM ledger.employee_months WHERE period = ?", [period]
                                 ).fetchone() or (0,))[0])
    shown_status = STATUS_ZH.get(status, "") if has_data else "无本月数据"
    # the page's sections: markup built by the parts' macros (values escaped there), passed through as such
    sections = dict(
        warnings=_warnings(warnings) + ("" if has_data else NO_DATA_NOTE),
        todo=files_not_loaded(con, period, started_at, text) + _without_hire_dates(con, period) + _todo(con, period),
        arrears=_arrears(findings_of(con, run_id, "HIRED_NOT_ENROLLED"), period, ids, text),
        policy_basis=_policy_basis(con, period),
        summary=_summary(checks, counts, has_data),
        charts=_bar_chart("按问题类型", [(titles[c], n) for c, n in counts.items() if n], "chart-by-code")
        + _bar_chart("按单位", sorted(by_entity.items(), key=lambda item: -item[1]), "chart-by-entity"),
        details=_DETAILS_SLOT,
        rejects=_rejects(con, period, started_at, text),
        unbooked=_unbooked(con, period, who.sees_full_ids),
        policy=_policy(con, period, text),
        trend=_trend(con, run_id),
        retirements=_retirements(findings_of(con, run_id, "RETIREMENT_DUE"), period, ids, text, action_ids),
    )
    html = page(TEMPLATE).render(
        {name: Markup(markup) for name, markup in sections.items()},  # noqa: S704 - escaped by the macros
        title=f"社保月度核对报告 {period}",
        meta=(f"所属期 {period} · 校验开始 {_when(started_at)} · 结束 {_when(finished_at)} · "
              f"状态 {shown_status} · 查看角色 {who.label}（身份证号{'完整显示' if who.sees_full_ids else '已脱敏'}）"),
        footer="本报告由 shebao 生成，数据仅供内部核对使用。",
    )
    before, after = html.split(_DETAILS_SLOT, 1)
    del html, sections
    yield before
    yield from _details(checks, lambda code: findings_of(con, run_id, code), ids, text, action_ids)
    yield after


_FINDING_ORDER = "code, entity, employee_id, id_number, insurance_type, transfer_id, region"


def findings_of(con: duckdb.DuckDBPyConnection, run_id: str, code: str) -> list[dict]:
    """The findings of one check of a run, in the report's order, each details kept as JSON text until read."""
    return [_finding(row) for row in con.execute(
        "SELECT code, severity, entity, employee_id, id_number, region, insurance_type, transfer_id, details"
        f" FROM quality.findings WHERE run_id = ? AND code = ? ORDER BY {_FINDING_ORDER}", [run_id, code]).fetchall()]


def _part(name: str, *args) -> str:
    """The markup of the macro ``name`` of ``templates/report_parts.html`` over ``args`` (escaped there)."""
    return str(getattr(page("report_parts.html").module, name)(*args))


NOWRAP_HEADERS = {"身份证号", "姓名", "工号", "动作编号", "事项编号", "地区", "险种", "执行期间", "行号"}


def _table(element_id: str, headers: list[str], rows: list[list], empty: str) -> str:
    """A table of cells (escaped by :func:`_body`); ``empty`` when there are no rows."""
    # an ID number, a name or an action id is read whole: never wrapped mid-value
    return _part("table", element_id, headers, _body(rows, [h in NOWRAP_HEADERS for h in headers]), empty)


# markupsafe's escapes, which the template engine prints a value with (``&#34;``, ``&#39;``: not html.escape's)
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}


def _body(rows: list[list], nowrap: list[bool] | None = None) -> Markup:
    """The ``<tr>`` rows of a table, each cell printed as the template engine prints a value (``str``, escaped; a
    missing cell empty), ``class="nowrap"`` on the columns ``nowrap`` marks. Column-wise in polars, one call a
    table: a macro's loop over every cell took 0.8 CPU-s for the 38,883 findings of 200,000 employees."""
    if not rows:
        return Markup("")
    frame = pl.DataFrame({f"c{index}": pl.Series([None if cell is None else str(cell) for cell in column],
                                                 dtype=pl.String)
                          for index, column in enumerate(zip(*rows, strict=True))})
    cells = []
    for name, mark in zip(frame.columns, nowrap or [False] * frame.width, strict=True):
        cells += [pl.lit('<td class="nowrap">' if mark else "<td>"),
                  pl.col(name).str.replace_many(list(_ESCAPES), list(_ESCAPES.values())).fill_null(""),
                  pl.lit("</td>")]
    # joined by polars into one string: no Python string per row
    html = frame.select(pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")]).str.join("")).item()
    return Markup(html)  # noqa: S704 - every cell escaped above


def _action_ids(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple, list[str]]:
    """Each finding's key -> the ids of the actions it is evidence of (actions updated by this run)."""
    # json_transform reads the details once into the fields named; a `->>` per field over JSON[] parsed each
    # action's findings (megabytes for a large close) seven times over: 1.2 s, not 0.2
    try:
        rows = con.execute("""
            SELECT action_id, f.code, f.entity, f.employee_id, f.id_number, f.insurance_type, f.transfer_id
            FROM (SELECT a.action_id, unnest(json_transform(a.details, '{"findings": [{"code": "VARCHAR",
                      "entity": "VARCHAR", "employee_id": "VARCHAR", "id_number": "VARCHAR",
                      "insurance_type": "VARCHAR", "transfer_id": "VARCHAR"}]}').findings) AS f
                  FROM actions.cleanup_actions a WHERE a.last_run_id = ?)""", [run_id]).fetchall()
    except duckdb.Error:
        return {}
    found: dict[tuple, list[str]] = {}
    for action_id, *key in rows:
        found.setdefault(tuple(key), []).append(action_id)
    return found


# What an action type's open work holds up (its row's rank in transforms.actions.cleanup.TYPES), most first (issue 30).
TODO_EFFECT = {0: "{people} 人因此未能入账", 1: "影响缴费或代扣金额", 2: "有办理时限", 3: "影响档案准确"}


def _todo(con: duckdb.DuckDBPyConnection, period: str | None = None) -> str:
    """What to do next, what blocks most first: per action type with work left, what it holds up, how many,
    the next step, where the list is."""
    from transforms.actions.cleanup import TYPES

    counts = dict(((t, s), n) for t, s, n in con.execute(
        "SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall())
    unbooked = _people_without_policy(con, period) if period else 0
    rows = []
    for t in TYPES:
        open_, submitted = counts.get((t.code, "open"), 0), counts.get((t.code, "submitted"), 0)
        if not open_ and not submitted:
            continue
        rank = t.rank
        where = f"动作清单 actions.xlsx 的「{t.name_zh}」工作表" + (f"；{t.also_in_zh}" if t.also_in_zh else "")
        effect = TODO_EFFECT[rank].format(people=unbooked) if rank or unbooked else "本月部分人员未能入账"
        rows.append(((rank, -(unbooked if rank == 0 else open_ + submitted)),
                     [t.name_zh, effect, open_, submitted, t.todo_zh, where]))
    rows.sort(key=lambda row: row[0])
    return _table("todo-table", ["事项", "影响", "待处理", "已提交待确认", "下一步", "清单在哪里"],
                  [row for _, row in rows], "没有待处理的事项。")


def _without_hire_dates(con: duckdb.DuckDBPyConnection, period: str) -> str:
    """SPEC §2 v3: daily attendance (每日统计) carries no hire or leave dates; when no attendance row up to P
    gives a paid person's, the whole month was counted (§4.2) and the report says so."""
    n = (con.execute("""
        SELECT count(*) FROM ledger.employee_months m
        WHERE m.period = ? AND m.hire_date IS NULL
          AND EXISTS (SELECT 1 FROM core.attendance a WHERE a.entity = m.entity AND a.employee_id = m.employee_id
                      AND a.period <= m.period)""", [period]).fetchone() or (0,))[0]
    if not n:
        return ""
    return (f'<p class="note" id="no-hire-dates">{n} 人只有每日考勤、没有任何一行给出入职或离职日期，本月按整月计缴；'
            "请把花名册（含入职日期、离职日期）放进收件箱后重新运行。</p>")


def _people_without_policy(con: duckdb.DuckDBPyConnection, period: str) -> int:
    """People paid in ``period`` whose region has no pension policy: what 补充政策 holds up."""
    return (con.execute("SELECT count(*) FROM ledger.employee_months WHERE period = ? AND NOT has_pension_policy",
                        [period]).fetchone() or (0,))[0]


def _arrears(findings: list[dict], period: str, ids, text) -> str:
    """SPEC §5/§7 补缴: who owes arrears for months before P and the late fee, an estimate as of the last day of
    P (the day it was computed to), and whose arrears start before the data does (months not computed here)."""
    mine = [f for f in findings if f["code"] == "HIRED_NOT_ENROLLED"
            and (f["details"].get("arrears_months") or f["details"].get("arrears_before_data"))]
    if not mine:
        return ""
    as_of = (date(int(period[:4]), int(period[5:7]), 1) + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    rows = [[text(f["entity"] or ""), text(f["employee_id"] or ""), text(f["details"].get("name") or ""),
             ids(f["id_number"]) or "", text(f["details"].get("hire_date") or "—"),
             "、".join(f["details"].get("arrears_months") or []) or "—",
             f["details"].get("arrears_employer") or "0.00", f["details"].get("arrears_employee") or "0.00",
             f["details"].get("late_fee") or "0.00",
             "是：入职早于本系统最早的工资数据，此前月份须另行核算补缴" if f["details"].get("arrears_before_data")
             else "否"] for f in mine]
    note = str(Markup('<p class="note" id="late-fee-note">滞纳金按每日万分之五（社会保险法 第86条）计算至 {}，'
                      "为截至该日的估算，实际以经办机构核定为准；本月（{}）的缴费通过增员申报，不计入补缴。</p>"
                      ).format(as_of.isoformat(), period))
    before = [r for r, f in zip(rows, mine, strict=True) if f["details"].get("arrears_before_data")]
    warn = (f'<p class="note" id="arrears-before-data">{len(before)} 人入职早于本系统最早的工资数据：'
            "其入职后、数据开始前各月的补缴无法在此计算，请按工资档案另行核算。</p>") if before else ""
    return ("<h3>应补缴与滞纳金（估算）</h3>" + note + warn
            + _table("arrears-table", ["单位", "工号", "姓名", "身份证号", "入职日期", "补缴月份", "单位部分",
                                       "个人部分", "滞纳金（估算）", "补缴早于数据起点"], rows, ""))


def _rejects(con: duckdb.DuckDBPyConnection, period: str, started_at, text) -> str:
    """Rows not loaded: rejects of the files that carry this month's data, and of files that staged nothing."""
    rows = con.execute("""
        SELECT r.source_file, r.sheet, r.row_number, r.kind, r.reason_code
        FROM ingest.rejects r JOIN ingest.loads l USING (load_id)
        WHERE (r.load_id IN (SELECT load_id FROM ingest.load_keys WHERE period = ?)
               OR r.load_id NOT IN (SELECT load_id FROM ingest.load_keys))
          AND (? IS NULL OR l.loaded_at <= ?)
          AND r.reason_code <> 'NOT_DATA'
        ORDER BY r.source_file, r.sheet NULLS FIRST, r.row_number LIMIT 2001""",
                       [period, started_at, started_at]).fetchall()
    shown = [[text(f), text(sheet) if sheet else "", n, KIND_ZH.get(kind, "数据文件"),
              glossary.zh(glossary.REJECT_REASON, code, "数据不符合要求")] for f, sheet, n, kind, code in rows[:2000]]
    more = '<p class="note">只列出前 2000 行。</p>' if len(rows) > 2000 else ""
    every = "所有数据行均已载入。" if not _unloaded_files(con, period, started_at) else "已载入文件的数据行均已载入；但有文件未能载入，见第一节。"
    return _table("rejects-table", ["文件", "工作表", "行号", "文件类型", "原因"], shown, every) + more


def _unbooked(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool) -> str:
    """People paid in P but not in the ledger, and why: finance's 未入账人员 (one definition, the export's),
    rejected payroll rows included."""
    from transforms.outputs.export import unbooked_people

    frame = unbooked_people(con, period, full_ids)
    shown = [[row["entity"] or "", row["employee_id"] or "", row["name"] or "", row["id_number"] or "",
              # the detail names the file and sheet a row came from: a sheet named like an ID is masked
              row["region"] or "", redact(f"{row['reason']}：{row['detail']}") if row["detail"] else row["reason"]]
             for row in frame.iter_rows(named=True)]
    return _table("unbooked-table", ["单位", "工号", "姓名", "身份证号", "工资所在城市", "未入账原因"], shown,
                  "本月所有发薪人员均已入账。")


def _policy(con: duckdb.DuckDBPyConnection, period: str, text=str) -> str:
    """The policy rows this month's ledger used (SPEC §3: the rows in force for its regions), with their
    fixed sums, source and verified mark."""
    rows = con.execute("""
        SELECT p.region, p.insurance_type, p.effective_from, p.effective_to, p.base_floor, p.base_ceiling,
               p.employer_rate, p.employee_rate, p.employer_fixed, p.employee_fixed, p.source, p.verified,
               p.hukou
        FROM ref.policy_in_force(?) p
        WHERE p.region IN (SELECT DISTINCT region FROM ledger.employee_months WHERE period = ?)
        ORDER BY p.region, p.insurance_type""", [period, period]).fetchall()
    order = list(glossary.INSURANCE)
    rows.sort(key=lambda r: (r[0], order.index(r[1]) if r[1] in order else 99, r[12]))
    shown = [[text(region), glossary.zh(glossary.INSURANCE, t, "其他险种"), glossary.zh(glossary.HUKOU, hukou, ""),
              f"{start} 至 {end or '今'}", floor, ceiling,
              f"{employer_rate * 100:.2f}%", f"{employee_rate * 100:.2f}%",
              "" if not (ef or eef) else f"单位 {ef} / 个人 {eef}", text(policy_source_zh(source)),
              glossary.zh(glossary.POLICY_VERIFIED, verified, "未注明")]
             for region, t, start, end, floor, ceiling, employer_rate, employee_rate, ef, eef, source, verified, hukou
             in rows]
    return _table("policy-table", ["地区", "险种", "户籍", "执行期间", "基数下限", "基数上限", "单位费率", "个人费率",
                                   "固定金额", "来源", "核实情况"], shown, "本月台账没有用到政策。")


def _policy_basis(con: duckdb.DuckDBPyConnection, period: str) -> str:
    """SPEC §3/§7, in the first section: how many people's amounts rest on `assumed` policy figures, and how
    many took a region's 外地户籍 row because no hukou is known."""
    assumed, no_hukou = one(con, """
        SELECT (SELECT count(DISTINCT (entity, employee_id)) FROM ledger.net_contributions($period)
                WHERE policy_verified = 'assumed'),
               (SELECT count(*) FROM ledger.population($period)
                WHERE hukou IS NULL
                  AND region IN (SELECT region FROM ref.policy_in_force($period) WHERE hukou <> 'all'))""",
                             {"period": period})
    lines = []
    if assumed:
        lines.append(f"本月有 {assumed} 人的缴费金额用到了推定的政策数据（没有来源说明该地区该期间的数值），"
                     "请向当地社保经办机构或其公布的文件核实，并更新政策表；本报告的政策一节列出了每行的来源与核实情况。")
    if no_hukou:
        lines.append(f"本月有 {no_hukou} 人的参保地按户籍区分费率，但考勤表没有其户籍所在地，已按外地户籍计算；"
                     "请在考勤表中补充户籍所在地。")
    if not lines:
        lines.append("本月台账的缴费金额均基于有来源的政策数据。")
    return '<div id="policy-basis">' + _part("notes", lines) + "</div>"
_CITATION = re.compile(r"[\u4e00-\u9fff]{1,12}〔\d{4}〕\d+号")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_ASSUMED_MARKS = ("default", "verify", "assumed", "推定", "默认")


def policy_source_zh(source: str | None) -> str:
    """A policy row's source as HR reads it: a Chinese source as given; a note with English in it (a
    developer's "national default — verify locally") is never shown: its document numbers are, and a figure
    no local document states is labelled 推定 with what to do."""
    if not source or not source.strip():
        return "推定：未注明出处，请按参保地当年通知核实"
    if not _LATIN_WORD.search(source):
        return source
    cited = list(dict.fromkeys(_CITATION.findall(source)))
    assumed = any(mark in source.lower() for mark in _ASSUMED_MARKS) or not cited
    parts = ([f"依据 {'、'.join(cited)}"] if cited else []) + (
        ["推定：部分数值为全国默认值，请按参保地当年通知核实"] if assumed else [])
    return "；".join(parts)


class _Finding(dict):
    """A finding's columns; ``finding["details"]`` parses its details (JSON text) each time it is read and never
    keeps them parsed: 207,815 findings' parsed details held at once took over a gigabyte."""

    __slots__ = ("_details",)
    _details: str | None

    def __missing__(self, key: str):
        if key != "details":
            raise KeyError(key)
        return json.loads(self._details) if self._details else {}


def _finding(row: tuple) -> dict:
    keys = ("code", "severity", "entity", "employee_id", "id_number", "region", "insurance_type", "transfer_id")
    finding = _Finding(zip(keys, row[:8], strict=True))
    finding._details = row[8]
    return finding


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _warnings(warnings) -> str:
    items = json.loads(warnings) if isinstance(warnings, str) else (warnings or [])
    return _part("notes", [str(item) for item in items])


NO_DATA_NOTE = ('<p class="note" id="no-data">本月台账中没有任何人员：收件箱里可能没有本月的工资表或考勤表，'
                '本月实际上没有核对。请放入本月数据后重新运行。</p>')


def _summary(checks: list[CheckInfo], counts: dict[str, int], has_data: bool = True) -> str:
    errors = sum(counts[check.code] for check in checks if check.severity == "error")
    warnings = sum(counts[check.code] for check in checks if check.severity == "warning")
    clean = sum(1 for n in counts.values() if n == 0)
    return _part("summary", checks, counts, SEVERITY_ZH, errors, warnings, clean, has_data)


def _bar_chart(title: str, items: list[tuple[str, int]], element_id: str) -> str:
    """A horizontal bar chart as inline SVG."""
    width, label_w, bar_h, gap = 560, 220, 18, 6
    top = 28
    height = top + max(len(items), 1) * (bar_h + gap) + 8
    peak = max((n for _, n in items), default=0) or 1
    bars = []
    for index, (label, count) in enumerate(items):
        bars.append((label, count, top + index * (bar_h + gap), max(1, int((width - label_w - 50) * count / peak))))
    return _part("bar_chart", element_id, title, width, height, top, label_w, bar_h, bars)


def _trend(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """Errors and warnings of the latest run of each period up to this run's, labelled by period."""
    runs = con.execute(
        "WITH latest AS (SELECT period, max(run_id) AS run_id FROM quality.runs"
        "                WHERE status = 'succeeded' AND run_id <= ? GROUP BY period)"
        " SELECT l.period,"
        " count(f.code) FILTER (WHERE f.severity = 'error'), count(f.code) FILTER (WHERE f.severity = 'warning')"
        " FROM latest l LEFT JOIN quality.findings f ON f.run_id = l.run_id"
        " GROUP BY l.period ORDER BY l.period DESC LIMIT 12",
        [run_id],
    ).fetchall()[::-1]
    if not runs:
        return '<p id="trend-empty">尚无历次校验。</p>'
    width, height, left, bottom = 560, 180, 40, 150
    peak = max(max(e, w) for _, e, w in runs) or 1
    step = (width - left - 20) / max(len(runs) - 1, 1)

    def points(column: int) -> str:
        return " ".join(f"{left + i * step:.1f},{bottom - (row[column] / peak) * 120:.1f}" for i, row in enumerate(runs))

    labels = [(f"{left + i * step:.1f}", period) for i, (period, _, _) in enumerate(runs)]
    return _part("trend", width, height, left, bottom, peak, points(1), points(2), labels, runs)


# Where a findings table's rows go in the macro's markup, and how many are rendered at a time: no check's whole
# table is held as markup (the page is 105 MB at 1,000,000 employees)
_BODY_SLOT = "\x00body\x00"
BODY_ROWS = 5000


def _details(checks: list[CheckInfo], findings: Callable[[str], list[dict]], ids, text,
             action_ids: dict | None = None) -> Iterator[str]:
    """The macro ``details`` a check at a time (its markup for several sections is theirs one after another);
    ``findings(code)`` reads a check's findings, so one check's are held at a time, and its table's rows are
    built and rendered :data:`BODY_ROWS` at a time, between the macro's markup before and after them."""
    shown = False
    for check in checks:
        mine = findings(check.code)
        if mine:
            shown = True
            head, tail = _part("details", [(check, SEVERITY_ZH[check.severity], len(mine), Markup(_BODY_SLOT))]
                               ).split(_BODY_SLOT)
            yield head
            for start in range(0, len(mine), BODY_ROWS):
                yield str(_body([_row(f, check.evidence_zh, ids, text, action_ids or {})
                                 for f in mine[start:start + BODY_ROWS]]))
            yield tail
    if not shown:
        yield _part("details", [])


def _row(finding: dict, template: str | None, ids, text, action_ids: dict) -> list[str | None]:
    details = finding["details"]
    key = tuple(finding[k] for k in ("code", "entity", "employee_id", "id_number", "insurance_type", "transfer_id"))
    free_text = [  # any of them may hold an ID number pasted into the wrong column: redacted for the role
        "、".join(action_ids.get(key, [])) or "—",
        finding["entity"], finding["employee_id"], details.get("name"), None, finding["region"],
        glossary.zh(glossary.INSURANCE_SHORT, finding["insurance_type"]), finding["transfer_id"],
        sentence(template, details), source_text(details.get("source")),
    ]
    cells = [text(str(cell)) if cell is not None else None for cell in free_text]
    cells[4] = ids(finding["id_number"])
    return cells


def source_text(source: dict | None) -> str:
    if not source or not source.get("file"):
        return ""
    sheet = f" / {source['sheet']}" if source.get("sheet") else ""
    row = f" 第 {source['row']} 行" if source.get("row") is not None else ""
    return f"{KIND_ZH.get(source.get('kind') or '', '')} {source['file']}{sheet}{row}".strip()


# --- Files not loaded (SPEC §2 v3, issue 23/30.6): the first section opens with what did not load. ---

_LOAD_STATUS_ZH = {"unrecognized": "未识别：表头中没有可识别的列", "failed": "载入失败"}


def _unloaded_files(con: duckdb.DuckDBPyConnection, period: str, started_at) -> list[tuple]:
    """(file, status, message, rows read, rows rejected) of every file whose latest record is a failure or
    an unrecognised file, and of the loads holding ``period`` (or nothing) with rejected rows or columns
    they lacked, up to ``started_at``."""
    return con.execute("""
        WITH latest AS (
            SELECT source_file, status, message, rows_read, rows_rejected, load_id,
                   row_number() OVER (PARTITION BY source_file ORDER BY load_id DESC) AS n
            FROM ingest.loads WHERE (? IS NULL OR loaded_at <= ?) AND kind IS DISTINCT FROM 'action_updates'
        )
        SELECT source_file, status, message, rows_read, rows_rejected FROM latest
        WHERE (n = 1 AND status IN ('failed', 'unrecognized'))
           OR (status = 'loaded' AND (rows_rejected > 0 OR message LIKE '%缺少列%')
               AND (load_id IN (SELECT load_id FROM ingest.load_keys WHERE period = ?)
                    OR load_id NOT IN (SELECT load_id FROM ingest.load_keys)))
        ORDER BY status = 'loaded', source_file, load_id""", [started_at, started_at, period]).fetchall()


def files_not_loaded(con: duckdb.DuckDBPyConnection, period: str, started_at, text=str) -> str:
    """A block naming each file that was not loaded, or only in part, and what it lacks; empty when none."""
    rows = []
    for source, status, message, read, rejected in _unloaded_files(con, period, started_at):
        said = message or ""
        chinese = "；".join(part for part in said.split("; ") if any("\u4e00" <= ch <= "\u9fff" for ch in part))
        if status == "loaded":
            what = f"部分载入：{read} 行中 {rejected} 行未载入（见第三节）" if rejected else "已载入"
        else:
            what = _LOAD_STATUS_ZH.get(status, "未载入")
        rows.append([redact_file_name(source) if text is redact else source, what, text(chinese) if chinese else ""])
    if not rows:
        return ""
    return ('<p class="note">以下文件未能载入或只载入了一部分，本期结果可能不完整；请补齐后重新运行。</p>'
            + _table("unloaded-files", ["文件", "情况", "缺少什么、可在哪里给出"], rows, ""))
def _retirements(findings: list[dict], period: str, ids, text, action_ids: dict) -> str:
    """SPEC §5 RETIREMENT_DUE for HR: who reaches the statutory retirement age by three months after P (or
    has passed it), with the contribution months where the insurance export gives them, who falls short of
    the minimum, and whose category was not given so that a woman was judged at 50. The ages are the
    check's (ref.statutory_retirement), never computed here."""
    due = sorted((f for f in findings if f["code"] == "RETIREMENT_DUE"),
                 key=lambda f: (f["details"].get("retirement_month") or "", f["entity"] or "", f["employee_id"] or ""))
    rows, assumed, short, unknown = [], 0, 0, 0
    for f in due:
        d = f["details"]
        paid, minimum = d.get("months_paid"), d.get("min_contribution_months")
        month = d.get("retirement_month") or ""
        basis = glossary.zh(glossary.RETIREMENT_BASIS, d.get("basis"), "")
        if d.get("basis_assumed"):
            assumed += 1
            basis = "女职工（未提供岗位类别，按50周岁推定）"
        if paid is None:
            unknown += 1
            shortfall = "参保明细未提供缴费月数"
        elif d.get("short_of_minimum"):
            short += 1
            shortfall = f"不足，尚差 {minimum - paid} 个月"
        else:
            shortfall = "已满"
        key = ("RETIREMENT_DUE", f["entity"], f["employee_id"], f["id_number"], f["insurance_type"], f["transfer_id"])
        rows.append(["、".join(action_ids.get(key, [])) or "—", text(f["entity"] or ""), text(f["employee_id"] or ""),
                     text(d.get("name") or ""), ids(f["id_number"]), basis, d.get("birth_month") or "",
                     glossary.retirement_age_zh(d.get("retirement_age")), month,
                     "已到龄" if month <= period else "三个月内到龄",
                     "—" if paid is None else paid, minimum, shortfall])
    if not rows:
        return '<p id="retirements-empty">本月及未来三个月内没有到达法定退休年龄的在册人员。</p>'
    notes = [f"{len(rows)} 人已到或将于三个月内（{period} 之后三个月以内）到达法定退休年龄（全国人大常委会"
             "关于实施渐进式延迟法定退休年龄的决定，2025年1月1日起施行）：请核对累计缴费月数，办理退休或延长缴费。"]
    if short:
        notes.append(f"{short} 人累计缴费月数不足最低缴费年限：可延长缴费至满最低年限后按月领取养老金。")
    if unknown:
        notes.append(f"{unknown} 人的累计缴费月数参保明细未提供：请向参保地经办机构查询。")
    if assumed:
        notes.append(f"{assumed} 名女职工未提供岗位类别（人员身份），按女职工50周岁计算；如为干部或管理、技术岗位，"
                     "法定退休年龄为55周岁起，请在考勤表或花名册中填写岗位类别后重新核对。")
    return _part("notes", notes) + _table(
        "retirements-table", ["动作编号", "单位", "工号", "姓名", "身份证号", "依据", "出生年月", "法定退休年龄",
                              "退休年月", "状态", "累计缴费月数", "最低缴费月数", "缴费是否足额"], rows, "")
