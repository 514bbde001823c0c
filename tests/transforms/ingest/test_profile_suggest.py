"""How alike a header is to a column's aliases (transforms/ingest/profile_suggest.py ``_alike``): the bounds that
skip difflib's work give the score difflib's own gives, on the kinds' real aliases and on any text."""

from __future__ import annotations

import difflib

from hypothesis import given
from hypothesis import strategies as st

from transforms.ingest import kinds as k
from transforms.ingest.profile_suggest import _LIKE, _alike

ALIASES = [column.aliases for kind in k.KINDS.values() for column in kind.columns]
# header-like text: the characters of the aliases, a few others, spaces and brackets
ALPHABET = sorted({c for aliases in ALIASES for alias in aliases for c in alias} | set("代码编号名字 （）()_-Ab1"))


def _alike_by_difflib(header: str, aliases: tuple[str, ...]) -> float:
    """Every alias through difflib, nothing skipped."""
    key = k.clean_header(header)
    if not key:
        return 0.0
    best = 0.0
    for alias in aliases:
        if alias in key or key in alias:
            best = max(best, 0.8 if len(key) >= 2 else 0.0)
        matcher = difflib.SequenceMatcher(None, key, alias.lower())
        best = max(best, matcher.ratio())
        if matcher.find_longest_match(0, len(key), 0, len(alias)).size >= 2:
            best = max(best, _LIKE)
    return best


def test_every_alias_against_every_other_scores_as_difflib_scores():
    headers = sorted({alias for aliases in ALIASES for alias in aliases}) + ["员工代码", "员工名字", "", "  ", "Ａ"]
    for header in headers:
        for aliases in ALIASES:
            assert _alike(header, aliases) == _alike_by_difflib(header, aliases), (header, aliases)


@given(st.text(alphabet=ALPHABET, max_size=12), st.sampled_from(ALIASES))
def test_any_header_scores_as_difflib_scores(header, aliases):
    assert _alike(header, aliases) == _alike_by_difflib(header, aliases)
