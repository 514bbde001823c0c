"""The HR validation report: one self-contained HTML file per validation run, in Chinese.

Summary, inline SVG charts of findings by code and by entity, the trend over earlier runs, and per code a
table of the people concerned with the evidence from ``quality.findings.details``. ID numbers are masked
(``430102********1234``) unless the role may see them; every value is HTML-escaped.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from string import Template

import duckdb

from expectations.registry import BY_CODE, CHECKS
from transforms.privacy import mask_id, redact
from transforms.roles import PermissionDenied, Role, get_role
from warehouse.errors import ShebaoError

TEMPLATE = Path(__file__).with_name("templates") / "report.html"

SEVERITY_ZH = {"error": "错误", "warning": "警告"}
STATUS_ZH = {"succeeded": "已完成", "running": "进行中", "failed": "失败"}
TYPE_ZH = {"pension": "养老", "medical": "医疗", "unemployment": "失业", "work_injury": "工伤", "maternity": "生育"}
STAGE_ZH = {"submitted": "已提交", "origin_approved": "转出地已审核", "funds_received": "资金已到账",
            "completed": "已完成", "rejected": "已退回"}
KIND_ZH = {"payroll": "工资表", "attendance": "考勤", "insurance": "参保明细", "transfers": "转移接续",
          "bill": "社保账单"}
PROBLEM_ZH = {"format": "格式错误（应为17位数字加校验位）", "province": "前两位不是省级行政区代码",
              "birth_date": "出生日期不可能", "check_digit": "校验位错误",
              "too_young": "出生日期距本月不足16周岁"}


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
    row = con.execute(
        "SELECT max(run_id) FROM quality.runs WHERE period = ? AND status = 'succeeded'", [period]
    ).fetchone()
    if row is None or row[0] is None:
        raise ShebaoError(f"No validation run for {period} has finished; run `shebao validate --period {period}` first.")
    return row[0]


def write_report(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, role: str | None = None) -> Path:
    """Render the report of ``run_id`` for ``role`` into ``out_dir``; return its path."""
    html = render_report(con, run_id, role)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / report_filename(run_id, full_ids=get_role(role).sees_full_ids)
    path.write_text(html, encoding="utf-8")
    return path


def authorise(role_name: str | None) -> Role:
    role = get_role(role_name)
    if not role.sees_findings:
        raise PermissionDenied(
            f"The role {role.name} may not see validation findings; ask an HR manager or HR staff member."
        )
    return role


def render_report(con: duckdb.DuckDBPyConnection, run_id: str, role: str | None = None) -> str:
    who = authorise(role)
    run = con.execute(
        "SELECT run_id, period, started_at, finished_at, status, warnings FROM quality.runs WHERE run_id = ?", [run_id]
    ).fetchone()
    if run is None:
        raise ShebaoError(f"There is no validation run {run_id}.")
    _, period, started_at, finished_at, status, warnings = run
    rows = con.execute(
        "SELECT code, severity, entity, employee_id, id_number, region, insurance_type, transfer_id, details"
        " FROM quality.findings WHERE run_id = ? ORDER BY code, entity, employee_id, id_number, insurance_type,"
        " transfer_id, region",
        [run_id],
    ).fetchall()
    findings = [_finding(row) for row in rows]
    ids = (lambda value: value) if who.sees_full_ids else mask_id
    text = (lambda value: value) if who.sees_full_ids else redact

    counts = {check.code: 0 for check in CHECKS}
    for finding in findings:
        counts[finding["code"]] += 1
    by_entity: dict[str, int] = {}
    for finding in findings:
        name = text(finding["entity"]) if finding["entity"] else "（未关联单位）"
        by_entity[name] = by_entity.get(name, 0) + 1

    page = Template(TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(
        title=escape(f"社保数据校验报告 {period}"),
        meta=escape(f"校验批次 {run_id} · 开始 {_when(started_at)} · 结束 {_when(finished_at)} · 状态 {STATUS_ZH.get(status, status)}"
                    f" · 查看角色 {who.label}（身份证号{'完整显示' if who.sees_full_ids else '已脱敏'}）"),
        warnings=_warnings(warnings),
        summary=_summary(counts),
        charts=_bar_chart("按问题类型", [(BY_CODE[c].title_zh, n) for c, n in counts.items() if n], "chart-by-code")
        + _bar_chart("按单位", sorted(by_entity.items(), key=lambda item: -item[1]), "chart-by-entity"),
        trend=_trend(con, run_id),
        details=_details(findings, ids, text),
        footer=escape("本报告由 shebao 生成；问题代码与规则见 SPEC §5。数据仅供内部核对使用。"),
    )


def _finding(row: tuple) -> dict:
    keys = ("code", "severity", "entity", "employee_id", "id_number", "region", "insurance_type", "transfer_id")
    finding = dict(zip(keys, row[:8], strict=True))
    finding["details"] = json.loads(row[8]) if row[8] else {}
    return finding


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _warnings(warnings) -> str:
    items = json.loads(warnings) if isinstance(warnings, str) else (warnings or [])
    return "".join(f'<p class="note">{escape(str(item))}</p>' for item in items)


def _summary(counts: dict[str, int]) -> str:
    errors = sum(n for code, n in counts.items() if BY_CODE[code].severity == "error")
    warnings = sum(n for code, n in counts.items() if BY_CODE[code].severity == "warning")
    clean = sum(1 for n in counts.values() if n == 0)
    cards = (
        f'<div class="cards"><div class="card error"><div class="n">{errors}</div>错误</div>'
        f'<div class="card warning"><div class="n">{warnings}</div>警告</div>'
        f'<div class="card ok"><div class="n">{clean}/{len(counts)}</div>项检查通过</div></div>'
    )
    rows = "".join(
        f'<tr><td>{escape(check.title_zh)}</td><td>{escape(check.code)}</td>'
        f'<td class="sev-{check.severity}">{SEVERITY_ZH[check.severity]}</td><td>{counts[check.code]}</td></tr>'
        for check in CHECKS
    )
    return (cards + '<table id="summary-table"><thead><tr><th>问题类型</th><th>代码</th><th>级别</th><th>数量</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _bar_chart(title: str, items: list[tuple[str, int]], element_id: str) -> str:
    """A horizontal bar chart as inline SVG."""
    width, label_w, bar_h, gap = 560, 220, 18, 6
    top = 28
    height = top + max(len(items), 1) * (bar_h + gap) + 8
    peak = max((n for _, n in items), default=0) or 1
    parts = [f'<svg id="{element_id}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    if not items:
        parts.append(f'<text x="0" y="{top + 12}" font-size="12">没有发现问题</text>')
    for index, (label, count) in enumerate(items):
        y = top + index * (bar_h + gap)
        length = max(1, int((width - label_w - 50) * count / peak))
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end">{escape(str(label))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" fill="#3e7cb1"/>')
        parts.append(f'<text x="{label_w + length + 4}" y="{y + 13}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _trend(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    runs = con.execute(
        "SELECT r.run_id, r.period,"
        " count(f.code) FILTER (WHERE f.severity = 'error'), count(f.code) FILTER (WHERE f.severity = 'warning')"
        " FROM quality.runs r LEFT JOIN quality.findings f ON f.run_id = r.run_id"
        " WHERE r.status = 'succeeded' AND r.run_id <= ? GROUP BY r.run_id, r.period ORDER BY r.run_id DESC LIMIT 12",
        [run_id],
    ).fetchall()[::-1]
    if not runs:
        return '<p id="trend-empty">尚无历次校验。</p>'
    width, height, left, bottom = 560, 180, 40, 150
    peak = max(max(e, w) for _, _, e, w in runs) or 1
    step = (width - left - 20) / max(len(runs) - 1, 1)

    def points(column: int) -> str:
        return " ".join(f"{left + i * step:.1f},{bottom - (row[column] / peak) * 120:.1f}" for i, row in enumerate(runs))

    svg = [f'<svg id="chart-trend" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" role="img" '
           'aria-label="历次校验趋势">',
           f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#9fb3c8"/>',
           f'<polyline fill="none" stroke="#c0392b" stroke-width="2" points="{points(2)}"/>',
           f'<polyline fill="none" stroke="#b7791f" stroke-width="2" points="{points(3)}"/>',
           f'<text x="{left}" y="14" font-size="12" fill="#c0392b">错误</text>',
           f'<text x="{left + 40}" y="14" font-size="12" fill="#b7791f">警告</text>',
           f'<text x="{left - 6}" y="{bottom - 116}" font-size="10" text-anchor="end">{peak}</text>',
           f'<text x="{left - 6}" y="{bottom + 4}" font-size="10" text-anchor="end">0</text>']
    for i, (_, period, _, _) in enumerate(runs):
        svg.append(f'<text x="{left + i * step:.1f}" y="{bottom + 16}" font-size="10" text-anchor="middle">'
                   f"{escape(period)}</text>")
    svg.append("</svg>")
    rows = "".join(
        f"<tr><td>{escape(rid)}</td><td>{escape(period)}</td><td>{errors}</td><td>{warns}</td></tr>"
        for rid, period, errors, warns in runs
    )
    return ("".join(svg) + '<table id="trend-table"><thead><tr><th>校验批次</th><th>月份</th><th>错误</th><th>警告</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _details(findings: list[dict], ids, text) -> str:
    sections = []
    for check in CHECKS:
        mine = [f for f in findings if f["code"] == check.code]
        if not mine:
            continue
        body = "".join(_row(f, ids, text) for f in mine)
        sections.append(
            f'<h3 id="code-{check.code}">{escape(check.title_zh)}（{escape(check.code)}，'
            f'<span class="sev-{check.severity}">{SEVERITY_ZH[check.severity]}</span>）：{len(mine)} 条</h3>'
            f'<table class="findings" data-code="{check.code}"><thead><tr><th>单位</th><th>工号</th><th>姓名</th>'
            "<th>身份证号</th><th>地区</th><th>险种</th><th>业务流水号</th><th>证据</th><th>来源</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(sections) or '<p id="no-findings">本次校验没有发现问题。</p>'


def _row(finding: dict, ids, text) -> str:
    details = finding["details"]
    free_text = [  # any of them may hold an ID number pasted into the wrong column: redacted for the role
        finding["entity"], finding["employee_id"], details.get("name"), None, finding["region"],
        TYPE_ZH.get(finding["insurance_type"] or "", finding["insurance_type"]), finding["transfer_id"],
        evidence(finding["code"], details), source_text(details.get("source")),
    ]
    cells = [text(str(cell)) if cell is not None else None for cell in free_text]
    cells[3] = ids(finding["id_number"])
    return "<tr>" + "".join(f"<td>{escape(str(cell)) if cell is not None else ''}</td>" for cell in cells) + "</tr>"


def source_text(source: dict | None) -> str:
    if not source or not source.get("file"):
        return ""
    sheet = f" / {source['sheet']}" if source.get("sheet") else ""
    row = f" 第 {source['row']} 行" if source.get("row") is not None else ""
    return f"{KIND_ZH.get(source.get('kind'), source.get('kind') or '')} {source['file']}{sheet}{row}".strip()


def _people(items: list[dict] | None) -> str:
    return "、".join(f"{p.get('entity', '')} {p.get('employee_id', '')}".strip() for p in items or []) or "—"


def evidence(code: str, d: dict) -> str:
    """The evidence sentence for one finding (Chinese), from its details."""
    if code == "DUPLICATE_ID_NUMBER":
        return f"同一身份证号亦由 {_people(d.get('others'))} 使用；原始号码 {d.get('id_number_raw')}"
    if code == "DUPLICATE_PERSON":
        return f"姓名与出生日期 {d.get('birth_digits')} 相同、身份证号不同：{_people(d.get('others'))}"
    if code == "INVALID_ID_NUMBER":
        return f"{PROBLEM_ZH.get(d.get('id_problem'), d.get('id_problem'))}；原始号码 {d.get('id_number_raw')}"
    if code == "BASE_BELOW_FLOOR":
        return f"参保基数 {d.get('base')} 低于下限 {d.get('base_floor')}（上限 {d.get('base_ceiling')}）；参保单位 {d.get('employer')}"
    if code == "BASE_ABOVE_CEILING":
        return f"参保基数 {d.get('base')} 高于上限 {d.get('base_ceiling')}（下限 {d.get('base_floor')}）；参保单位 {d.get('employer')}"
    if code == "BASE_MISMATCH":
        return f"参保基数 {d.get('base')}，台账基数 {d.get('ledger_base')}，差额 {d.get('difference')}"
    if code == "WITHHOLDING_MISMATCH":
        return (f"工资代扣 {d.get('si_withheld')}，应扣 {d.get('expected_employee_amount')}，"
                f"差额 {d.get('difference')}（计费比例 {d.get('month_fraction')}）")
    if code == "HIRED_NOT_ENROLLED":
        found = "、".join(f"{r.get('region')} {r.get('employer')}（{r.get('status')}）" for r in d.get("records") or [])
        return f"入职日期 {d.get('hire_date') or '—'}；本单位在该地无有效养老参保记录；现有记录：{found or '无'}"
    if code == "DEPARTED_STILL_CONTRIBUTING":
        kinds = "、".join(TYPE_ZH.get(r.get("insurance_type"), r.get("insurance_type") or "") for r in d.get("records") or [])
        return f"离职日期 {d.get('leave_date')}，本月无工资记录，仍有有效参保：{kinds}"
    if code == "ACTIVE_ELSEWHERE":
        return (f"在 {d.get('other_region')}（{d.get('other_employer')}，自 {d.get('other_start_month')}）仍有有效养老参保")
    if code == "FIRST_ENROLLMENT_MISJUDGED":
        return (f"标记为首次参保（{d.get('start_month')} 起），但 {d.get('earlier_start_month')} 已在 "
                f"{d.get('earlier_region')}（{d.get('earlier_employer')}）参保")
    if code == "STALE_TRANSFER":
        calendar = "" if d.get("calendar") == "official" else "（超出官方日历年份，仅按周末计算）"
        return (f"{d.get('from_region')} → {d.get('to_region')}，阶段「{STAGE_ZH.get(d.get('stage'), d.get('stage'))}」"
                f"自 {d.get('stage_on')} 已等待 {d.get('working_days_waited')} 个工作日（上限 {d.get('limit_days')}）{calendar}")
    if code == "TRANSFER_NOT_REFLECTED":
        return (f"{d.get('from_region')} → {d.get('to_region')} 已于 {d.get('stage_on')} 办结，但转出地仍有有效养老参保"
                f"（{d.get('record_employer')}，自 {d.get('record_start_month')}）")
    if code == "NO_POLICY":
        return f"{d.get('employees')} 名员工在该地区无养老政策：{_people(d.get('people'))}"
    if code == "MISSING_EXTRACT":
        latest = d.get("latest_period_before")
        return f"本月没有「{KIND_ZH.get(d.get('kind'), d.get('kind'))}」数据" + (f"（最近一期 {latest}）" if latest else "")
    return "；".join(f"{k}: {v}" for k, v in d.items() if k not in ("source", "name"))
