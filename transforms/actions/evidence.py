"""The Chinese evidence sentence of a finding, rendered from its code's template in ``quality.checks``.

The templates are part of the check registry (``expectations/registry.py``, one per finding code), written
to ``quality.checks`` by each validation; the report and the workbook read them from there, so adding a
code never touches this module. A template is Jinja over the finding's details with two helpers:
``value | zh('TABLE', default)`` labels a code through :mod:`transforms.common.glossary` (never the code itself),
and ``items | people`` lists ``{entity, employee_id}`` items. A value that is absent prints as —.
"""

from __future__ import annotations

import re
from functools import cache

import duckdb
import polars as pl
from jinja2 import Template, Undefined

from transforms.common import glossary
from transforms.common.templating import text_environment

NO_VALUE = "—"


def _zh(code: object, table: str, default: str = "") -> str:
    return glossary.zh(getattr(glossary, table), None if isinstance(code, Undefined) else code, default)


def _people(items: object) -> str:
    listed = items if isinstance(items, list) else []
    return "、".join(f"{p.get('entity', '')} {p.get('employee_id', '')}".strip() for p in listed) or NO_VALUE


def _shown(value: object) -> object:
    return NO_VALUE if value is None or isinstance(value, Undefined) else value


# autoescape off: the sentence is plain text, escaped (HTML) or neutralised (xlsx) by whoever writes it.
_ENV = text_environment(finalize=_shown, filters={"zh": _zh, "people": _people})


@cache
def template(text: str) -> Template:
    return _ENV.from_string(text)


def check(text: str) -> None:
    """Raise if ``text`` is no template this module renders: a syntax error, an unknown filter (Jinja
    resolves filters when it compiles) or a ``zh`` table the glossary does not have."""
    _ENV.from_string(text)
    for table in re.findall(r"zh(?:\(|',)\s*'(\w+)'", text):
        if not isinstance(getattr(glossary, table, None), dict):
            raise ValueError(f"The glossary has no table {table}.")


def sentence(text: str | None, details: dict) -> str:
    """``text`` rendered over ``details``; a code without a template (the warehouse's registry predates it
    until the next validation records it) points to the action workbook."""
    return template(text).render(details) if text else "详见动作清单"


def registry(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str | None]]:
    """Each finding code's Chinese title and evidence template, as the latest validation recorded them."""
    return {code: (title, text) for code, title, text in con.execute(
        "SELECT code, title_zh, evidence_zh FROM quality.checks").fetchall()}


UNKNOWN_TITLE = "其他问题"  # the title of a code the registry does not hold (the workbook's and the report's)


def titles(codes: pl.Expr, checks: dict[str, tuple[str, str | None]]) -> pl.Expr:
    """The Chinese titles of each row's comma-separated finding ``codes``, over the whole column (a missing
    list of codes stays missing; empty codes are skipped)."""
    named = {code: title for code, (title, _) in checks.items()}
    return (codes.str.split(",")
            .list.eval(pl.element().filter(pl.element() != "")
                       .replace_strict(named, default=UNKNOWN_TITLE, return_dtype=pl.String))
            .list.join("、"))


def findings_sentences(d: dict, checks: dict[str, tuple[str, str | None]]) -> list[str]:
    """The evidence sentence of each finding of an action (its details), each led by whom or which insurance
    type it is about when the action spans several; one line for findings that read the same."""
    findings = [f for f in d.get("findings") or [] if isinstance(f, dict)]
    people = len({(f.get("entity"), f.get("employee_id"), f.get("id_number")) for f in findings}) > 1
    types = len({f.get("insurance_type") for f in findings}) > 1
    lines: list[str] = []
    for f in findings:
        label = " ".join(x for x in (
            f"{f.get('entity') or ''} {f.get('employee_id') or ''}".strip() if people else "",
            glossary.zh(glossary.INSURANCE_SHORT, f.get("insurance_type")) if types else "") if x)
        text = sentence(checks.get(f.get("code") or "", ("", None))[1], f.get("evidence") or {})
        line = f"{label}：{text}" if label else text
        if line not in lines:
            lines.append(line)
    return lines
