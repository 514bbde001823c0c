"""The one jinja2 set-up behind every HTML page (the HR report, the transfer forms, the fleet summary) and
the evidence sentences.

Pages come from ``transforms/templates/`` with autoescape on: a value is escaped by the engine where it is
printed, never by hand, and a fragment built elsewhere must arrive as :class:`Markup` to print as HTML.
``StrictUndefined``: a name the template uses but the caller did not pass raises instead of printing
nothing. Escaping is markupsafe's: ``& < > " '`` become ``&amp; &lt; &gt; &#34; &#39;`` (``html.escape``,
used before, wrote the quotes as ``&quot;`` and ``&#x27;``; a browser shows both the same).

Evidence sentences are plain text (escaped by the page or neutralised by the workbook that shows them) over
a finding's details, where a key the code does not give prints as —: :func:`text_environment` has
autoescape off and lets ``finalize`` show what is undefined.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, Undefined
from markupsafe import Markup

TEMPLATES = Path(__file__).parents[1] / "templates"  # transforms/templates: every page of every stage

__all__ = ["Markup", "TEMPLATES", "environment", "page", "text_environment"]


@cache
def environment() -> Environment:
    """The pages' environment: ``transforms/templates``, autoescape on, undefined names raise. A template's
    last newline is kept, so a page ends as its file does."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       keep_trailing_newline=True, auto_reload=False)


def page(name: str) -> Template:
    """The compiled template ``name`` of ``transforms/templates`` (compiled once, then cached by jinja2)."""
    return environment().get_template(name)


def text_environment(finalize: Callable[[object], object], filters: dict[str, Callable]) -> Environment:
    """An environment for plain-text templates given as strings (evidence sentences): no escaping (the
    text is escaped by whatever page shows it), ``finalize`` decides how a missing value prints."""
    env = Environment(autoescape=False, finalize=finalize, undefined=Undefined,  # noqa: S701 - plain text
                      keep_trailing_newline=False)
    env.filters.update(filters)
    return env
