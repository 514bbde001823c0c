"""The HR action workbook ``actions.xlsx`` (SPEC §6, §7): 汇总, then one sheet per action type.

Every action row starts with 动作编号, 处理状态 (待处理 / 已提交 / 忽略 / 已解决) and 处理说明: HR fills the
last two and puts the workbook back into the inbox (kind ``action_updates``, ``transforms.actions.status_updates``).
The target values are their own typed columns (应为基数 a number, one row per insurance type on the
ADJUST_BASE sheet; the arrears of ENROLL_EMPLOYEE as amounts). Every cell a person reads is Chinese: codes go
through ``transforms.common.glossary``; an action with no entity shows 未关联单位. Rows are sorted by severity, then
age; id numbers are masked unless the role may see them, also inside the evidence text; text a spreadsheet
would run as a formula is neutralised (``transforms.common.spreadsheet``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions.cleanup import BY_TYPE, TYPES, list_actions, list_role
from transforms.actions.evidence import findings_sentences, registry, titles
from transforms.common import glossary
from transforms.common.privacy import mask_id, redact, redact_series
from transforms.common.roles import get_role
from transforms.common.spreadsheet import new_workbook, write_sheet
from warehouse.scratch import scratch

NO_ENTITY = "未关联单位"
# The round trip reads these three columns back (transforms.actions.status_updates): keep the names.
ID_COLUMN, STATUS_COLUMN, NOTE_COLUMN = "动作编号", "处理状态", "处理说明"
STATUS_CHOICES = ("待处理", "已提交", "忽略")  # the 处理状态 dropdown: what HR may write back
HEADERS = {
    "action_id": ID_COLUMN, "status": STATUS_COLUMN, "note": NOTE_COLUMN, "severity": "严重程度",
    "period_first_seen": "首次发现", "period_last_seen": "最近发现", "entity": "单位", "employee_id": "工号",
    "name": "姓名", "id_number": "身份证号", "problems": "发现的问题", "evidence": "说明", "todo": "处理建议",
}
SUMMARY_HEADERS = {"type_name": "事项类型", "open": "待处理", "submitted": "已提交", "resolved": "已解决",
                   "dismissed": "忽略", "total": "合计", "todo": "下一步"}
COUNTED = ("open", "submitted", "resolved", "dismissed")
MONEY = pl.Decimal(14, 2)
STRING = pl.String()

# An action type's own columns (name, header, kind) are its row of transforms.actions.cleanup.TYPES; a kind's dtype here.
DTYPES: dict[str, pl.DataType] = {"money": MONEY, "count": pl.Int64()}


def _ins(code: str) -> str:
    return glossary.zh(glossary.INSURANCE_SHORT, code, "其他险种")


def _money(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def evidence(details: str | None, checks: dict[str, tuple[str, str | None]], full_ids: bool = False) -> str:
    """One readable line of what HR needs to act on, from the action's details (ids masked unless full_ids):
    who and what it is about, the expected bases, each finding's evidence sentence (its code's template in
    the check registry, the report's sentence too) and where the first finding came from."""
    if not details:
        return ""
    d = json.loads(details)
    parts = []
    people = d.get("people") or []
    if len(people) > 1:
        shown = [" ".join(x for x in (p.get("entity"), p.get("employee_id"), p.get("name"),
                                      p.get("id_number") if full_ids else mask_id(p.get("id_number"))) if x)
                 for p in people]
        parts.append("涉及：" + "、".join(shown))
    if d.get("insurance_types"):
        parts.append("险种：" + "、".join(_ins(t) for t in d["insurance_types"]))
    if d.get("expected_base"):
        current = d.get("current_base") or {}
        parts.append("基数：" + "、".join(
            f"{_ins(k)} 现 {current.get(k) or '—'} 应为 {v}" for k, v in sorted(d["expected_base"].items()) if v))
    parts += findings_sentences(d, checks)
    sources = [s for s in d.get("sources") or [] if isinstance(s, dict) and s.get("file")]
    if sources:
        first = sorted(sources, key=lambda s: (str(s.get("file")), str(s.get("row"))))[0]
        parts.append(f"来源：{first['file']} 第{first.get('row')}行")
    text = "；".join(parts)
    return text if full_ids else redact(text)


def _typed_frame(con: duckdb.DuckDBPyConnection, action_type: str, details: pl.Series) -> pl.DataFrame:
    """The type's own columns of each action (``__n``: its position in ``details``), over the whole column:
    DuckDB reads the fields named from each action's details (a JSON text of kilobytes, once) and each
    distinct value is shown by :func:`_shown` once, so no Python runs per action. ADJUST_BASE gives one row
    per insurance type of its expected bases (sorted), else of its ``insurance_types``, else one blank."""
    con.register("typed_details", details.rename("details").to_frame().with_row_index("__n"))
    if action_type == "ADJUST_BASE":
        rows = con.execute("""
            WITH fields AS (  -- the details read once; the bases are small objects read per type below
                SELECT __n, j[1] AS expected, j[2] AS current, CAST(j[3] AS VARCHAR[]) AS types
                FROM (SELECT __n, json_extract(details, ['$.expected_base', '$.current_base', '$.insurance_types'])
                      AS j FROM typed_details)
            ), listed AS (
                SELECT __n, expected, current, list_sort(json_keys(expected)) AS keys, types FROM fields
            ), chosen AS (
                SELECT __n, expected, current,
                       CASE WHEN len(keys) > 0 THEN keys WHEN len(types) > 0 THEN types ELSE [NULL] END AS ts
                FROM listed
            ), each AS (
                SELECT __n, expected, current, unnest(ts) AS t, unnest(range(len(ts))) AS i FROM chosen
            )
            SELECT __n, t AS insurance, CAST(json_extract(current, '$."' || t || '"') AS VARCHAR) AS current_base,
                   CAST(json_extract(expected, '$."' || t || '"') AS VARCHAR) AS expected_base
            FROM each ORDER BY __n, i""").pl()
        return rows.select("__n", _shown_column("insurance", pl.col("insurance"), rows["insurance"],
                                                lambda t: _ins(t) if t else "", STRING, quoted=False),
                           *(_shown_column(c, pl.col(c), rows[c], _money, MONEY)
                             for c in ("current_base", "expected_base")))
    columns = BY_TYPE[action_type].columns if action_type in BY_TYPE else ()
    fields = list(dict.fromkeys(f for c in columns for f in (c.name, c.fallback) if f))
    paths = ", ".join(f"'$.\"{f}\"'" for f in fields)
    picked = ", ".join(f'CAST(j[{i}] AS VARCHAR) AS "{f}"' for i, f in enumerate(fields, start=1))
    rows = con.execute(f"SELECT __n{', ' + picked if fields else ''} FROM "
                       f"(SELECT __n, json_extract(details, [{paths}]) AS j FROM typed_details) ORDER BY __n").pl()

    def value(field: str) -> pl.Expr:  # JSON null is no value, as a missing field
        return pl.when(pl.col(field) != "null").then(pl.col(field))

    shown = []
    for c in columns:
        raw = pl.coalesce(value(c.name), value(c.fallback)) if c.fallback else value(c.name)
        texts = rows.select(raw.alias("raw")).get_column("raw")
        shown.append(_shown_column(c.name, raw, texts, lambda v, kind=c.kind: _shown(kind, v),
                                   DTYPES.get(c.kind, STRING)))
    return rows.select("__n", *shown)


def _shown_column(name: str, raw: pl.Expr, texts: pl.Series, show, dtype: pl.DataType, quoted: bool = True
                  ) -> pl.Expr:
    """Column ``name``: ``raw`` (JSON texts, or plain text when not ``quoted``) as ``show`` shows each value,
    computed once per distinct value (``texts``: raw's values); a missing value as ``show(None)``."""
    distinct = texts.drop_nulls().unique().to_list()
    shown = {text: show(json.loads(text) if quoted else text) for text in distinct}
    if not shown:
        return pl.lit(show(None), dtype=dtype).alias(name)
    return raw.replace_strict(shown, default=show(None), return_dtype=dtype).alias(name)


def _shown(kind: str, value):
    """A details value as its column's kind shows it (transforms.actions.cleanup.Column)."""
    if kind == "list":
        return "、".join(value or [])
    if kind.startswith("zh:"):
        return glossary.zh(getattr(glossary, kind.removeprefix("zh:")), value, "")
    if kind == "retirement_age":
        return glossary.retirement_age_zh(value)
    if kind == "yes_no":
        return "" if value is None else ("是" if value else "否")
    if kind == "money":
        return _money(value)
    if kind == "count":
        return int(value) if value not in (None, "") else None
    return value


def _notes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The latest reason given for each action's current status (a dismissal's, a submission's note)."""
    rows = con.execute("""
        SELECT e.action_id, arg_max(e.reason, e.occurred_at)
        FROM actions.action_events e JOIN actions.cleanup_actions a USING (action_id)
        WHERE e.to_status = a.status AND e.reason IS NOT NULL
        GROUP BY e.action_id""").fetchall()
    return {action_id: _reason_zh(reason) for action_id, reason in rows}


def _reason_zh(reason: str) -> str:
    """Reasons the actions stage wrote in English before issue 30, in the words it writes now."""
    if reason == "not found again":
        return "本期核对未再发现该问题"
    if reason.startswith("transfer ") and reason.endswith(" under way"):
        return f"转移接续 {reason.removeprefix('transfer ').removesuffix(' under way')} 正在办理"
    return reason


def write_workbook(con: duckdb.DuckDBPyConnection, path: Path, role: str | None = None,
                   masked: Callable[[str], pl.DataFrame] | None = None) -> Path:
    """Write ``path`` (an xlsx openpyxl and Excel open) for ``role``; returns the path. Each type's actions are
    read, shown and written in turn, never the whole list at once (at 1,000,000 employees their details alone
    are 342 MB). ``masked``: each type's rows as a masked role reads them (:func:`readable_actions` of
    :func:`list_actions`, ids masked) from the caller, asked for once each in ``BY_TYPE`` order (a close renders
    them once, for this and its per-entity files); used for a masked role instead of reading them here."""
    full_ids = list_role(con, role).sees_full_ids  # the role's right to the list is checked before the file is made
    notes = _notes(con)
    if not full_ids:  # notes are free text: an ID typed into one (before notes were stored masked) is masked
        notes = {key: redact(note) for key, note in notes.items()}

    def rows_of(code: str) -> pl.DataFrame:
        actions = masked(code) if masked is not None and not full_ids else role_actions(con, code, role)
        if not full_ids:
            actions = actions.with_columns(redact_series(actions["dismissed_reason"].cast(pl.String)))
        return actions.with_columns(pl.col("action_id").replace_strict(notes, default=None, return_dtype=pl.String)
                                    .alias("note"))

    counts = {(t, s): n for t, s, n in con.execute(
        "SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall()}
    return _write_sheets(path, counts, rows_of, every_type=masked is not None)


def role_actions(con: duckdb.DuckDBPyConnection, code: str, role: str | None = None) -> pl.DataFrame:
    """Action type ``code``'s rows as ``role`` reads them (the default role: ids masked, text redacted):
    :func:`readable_actions` of :func:`list_actions`."""
    return readable_actions(con, list_actions(con, action_type=code, role=role), get_role(role).sees_full_ids)


def readable_actions(con: duckdb.DuckDBPyConnection, actions: pl.DataFrame, full_ids: bool) -> pl.DataFrame:
    """Rows of ``list_actions`` with what the workbook shows of their findings: ``problems`` (the codes'
    titles) and ``evidence`` (:func:`evidence`), from the check registry the latest validation recorded."""
    checks = registry(con)
    return actions.with_columns(
        pl.col("details").map_elements(lambda d: evidence(d, checks, full_ids), return_dtype=pl.String)
        .alias("evidence"),
        titles(pl.col("finding_codes"), checks).alias("problems"),
    )


def _labelled(actions: pl.DataFrame) -> pl.DataFrame:
    if "note" not in actions.columns:
        actions = actions.with_columns(pl.lit(None, dtype=pl.String).alias("note"))
    return actions.with_columns(
        pl.col("action_type").replace_strict({t.code: t.todo_zh for t in TYPES}, default="",
                                             return_dtype=pl.String).alias("todo"),
        pl.col("status").replace_strict(glossary.ACTION_STATUS, default="", return_dtype=pl.String),
        pl.col("severity").replace_strict(glossary.SEVERITY, default="", return_dtype=pl.String),
        pl.col("entity").fill_null(NO_ENTITY).replace("", NO_ENTITY),
        pl.coalesce(pl.col("note"), pl.col("dismissed_reason")).fill_null("").alias("note"),
        pl.col("employee_id").fill_null(""), pl.col("name").fill_null(""), pl.col("id_number").fill_null(""),
        pl.col("evidence").fill_null(""), pl.col("problems").fill_null(""),
    )


def _type_sheet(code: str, rows: pl.DataFrame | None) -> tuple[pl.DataFrame, dict[str, str], set[str]]:
    """Type ``code``'s sheet: its rows (``None``: the type has no action, an empty sheet), headers and money
    columns; an in-memory DuckDB reads the details (:func:`_typed_frame`)."""
    typed = [(c.name, c.header_zh, DTYPES.get(c.kind, STRING)) for c in BY_TYPE[code].columns]
    headers = dict(HEADERS)
    if typed:
        insert_at = list(HEADERS).index("problems")
        items = list(HEADERS.items())
        headers = dict(items[:insert_at] + [(n, h) for n, h, _ in typed] + items[insert_at:])
    money = {n for n, _, dtype in typed if dtype == MONEY}
    empty = _no_rows(code)
    if rows is None:
        return empty, headers, money
    frame = rows.select(pl.col(list(HEADERS)).cast(STRING))
    if typed and frame.is_empty():  # most types have no action in a small entity: no details to read
        frame = frame.with_columns(pl.lit(None, dtype).alias(n) for n, _, dtype in typed)
    elif typed:
        details = rows.get_column("details")
        with scratch(int(details.estimated_size())) as memory:
            values = _typed_frame(memory, code, details)
        frame = (frame.with_row_index("__n").join(values, on="__n", how="left", maintain_order="left_right")
                 .drop("__n"))
    return frame.select(empty.columns).cast(empty.schema), headers, money


@cache
def _no_rows(code: str) -> pl.DataFrame:
    """Type ``code``'s empty sheet, made once: a close writes it for most types of every entity's workbook."""
    schema: dict[str, pl.DataType] = dict.fromkeys(HEADERS, STRING)
    schema |= {c.name: DTYPES.get(c.kind, STRING) for c in BY_TYPE[code].columns}
    return pl.DataFrame(schema=schema)


def write_action_rows(actions: pl.DataFrame, path: Path, full_ids: bool) -> Path:
    """The workbook of these actions (rows of :func:`readable_actions`, ids already masked for the role): the
    summary sheet counts them, each type's sheet lists them. Used per entity by the close."""
    counts = actions.group_by("action_type", "status").len()
    by_type = {(r["action_type"], r["status"]): r["len"] for r in counts.iter_rows(named=True)}
    return _write_sheets(path, by_type, lambda code: actions.filter(pl.col("action_type") == code))


def write_action_types(path: Path, by_type: dict[tuple[str, str], int], rows_of: Callable[[str], pl.DataFrame]
                       ) -> Path:
    """:func:`write_action_rows` from the counts per type and status and each type's rows read apart
    (``rows_of(code)``), so one type's rows are held at a time (an entity's actions, from their spool)."""
    return _write_sheets(path, by_type, rows_of)


def _write_sheets(path: Path, by_type: dict[tuple[str, str], int], rows_of: Callable[[str], pl.DataFrame],
                  every_type: bool = False) -> Path:
    """汇总 from ``by_type`` (counts per type and status), then each type's sheet of ``rows_of(type)``, asked for
    the types ``by_type`` counts (``every_type``: for every type, in ``BY_TYPE`` order, as a rendering of the
    list that spools each type in turn needs)."""
    summary_rows = []
    for t in TYPES:
        counts = {s: by_type.get((t.code, s), 0) for s in COUNTED}
        summary_rows.append({"type_name": t.name_zh} | counts | {"total": sum(counts.values()), "todo": t.todo_zh})
    workbook = new_workbook(path)
    write_sheet(workbook, "汇总", pl.DataFrame(summary_rows), SUMMARY_HEADERS, widths={"type_name": 18, "todo": 60})
    listed = set(BY_TYPE) if every_type else {code for (code, _), count in by_type.items() if count}
    for code, t in BY_TYPE.items():
        # a type with no action: its sheet is the header alone, nothing read for it
        rows = _labelled(rows_of(code)) if code in listed else None
        frame, headers, money = _type_sheet(code, rows)
        write_sheet(workbook, t.name_zh, frame, headers, money=money,
                    widths={"evidence": 70, "todo": 36, "action_id": 18, "entity": 24, "id_number": 20,
                            "problems": 24, "note": 24, "arrears_months": 24},
                    choices={"status": STATUS_CHOICES})  # what the round trip reads (action_updates.WORDS)
    workbook.close()
    return path
