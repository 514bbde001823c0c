"""The Chinese evidence sentence of a finding, rendered from its code's template in ``quality.checks``.

The templates are part of the check registry (``expectations/registry.py``, one per finding code), written
to ``quality.checks`` by each validation; the report and the workbook read them from there, so adding a
code never touches this module. A template is Jinja over the finding's details with two helpers:
``value | zh('TABLE', default)`` labels a code through :mod:`transforms.glossary` (never the code itself),
and ``items | people`` lists ``{entity, employee_id}`` items. A value that is absent prints as —.
"""

from __future__ import annotations

from functools import cache

import duckdb
from jinja2 import Environment, StrictUndefined, Template, Undefined

from transforms import glossary

NO_VALUE = "—"


def _zh(code: object, table: str, default: str = "") -> str:
    return glossary.zh(getattr(glossary, table), None if isinstance(code, Undefined) else code, default)


def _people(items: object) -> str:
    listed = items if isinstance(items, list) else []
    return "、".join(f"{p.get('entity', '')} {p.get('employee_id', '')}".strip() for p in listed) or NO_VALUE


def _shown(value: object) -> object:
    return NO_VALUE if value is None or isinstance(value, Undefined) else value


# autoescape off: the sentence is plain text, escaped (HTML) or neutralised (xlsx) by whoever writes it.
_ENV = Environment(autoescape=False, finalize=_shown, keep_trailing_newline=False)  # noqa: S701
_ENV.filters["zh"] = _zh
_ENV.filters["people"] = _people


@cache
def template(text: str) -> Template:
    return _ENV.from_string(text)


def check(text: str) -> None:
    """Raise if ``text`` is no template this module renders (a syntax error, an unknown filter)."""
    strict = Environment(autoescape=False, undefined=StrictUndefined)  # noqa: S701
    strict.filters.update(_ENV.filters)
    strict.parse(text)
    strict.from_string(text)


def sentence(text: str | None, details: dict) -> str:
    """``text`` rendered over ``details``; a code without a template (the warehouse's registry predates it
    until the next validation records it) points to the action workbook."""
    return template(text).render(details) if text else "详见动作清单"


def templates(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each finding code's evidence template, as the latest validation recorded it."""
    return {code: text for code, text in con.execute(
        "SELECT code, evidence_zh FROM quality.checks WHERE evidence_zh IS NOT NULL").fetchall()}
