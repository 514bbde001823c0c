"""Masking of personal data: ID numbers never reach logs, artifacts or error text in full."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# What the ID normaliser removes (SPEC §2): every kind of space and the zero-width characters. redact() lets
# them (and hyphens, a common decoration) sit between the digits of an ID, so each form the normaliser accepts
# (spaced, full-width, zero-width, apostrophe-prefixed, 15 or 18 characters) is found in free text too.
_SEP = "[ \t\u00a0\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff\\-]"
_DIGIT = "[0-9\uff10-\uff19]"
_CHECK = "[0-9\uff10-\uff19Xx\uff38\uff58]"
# 15 to 18 characters (a few more than an ID's 15 or 18: a mistyped ID is still personal), also inside longer
# text and glued to letters ("ID4301…"), but not inside longer digit runs.
_ID_LIKE = re.compile(rf"(?<![0-9\uff10-\uff19]){_DIGIT}(?:{_SEP}*{_DIGIT}){{13,16}}{_SEP}*{_CHECK}"
                      rf"(?![0-9\uff10-\uff19])")
_DROP = re.compile(_SEP)


def mask_id(id_number: str | None) -> str | None:
    """``430102199001011234`` -> ``430102********1234``: area code and last four kept (SPEC §8)."""
    if id_number is None:
        return None
    text = str(id_number)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


MASK_ID_SQL = "CASE WHEN {col} IS NULL THEN NULL WHEN length({col}) <= 10 THEN repeat('*', length({col})) " \
              "ELSE left({col}, 6) || repeat('*', length({col}) - 10) || right({col}, 4) END"


def mask_id_sql(column: str) -> str:
    """The same masking as :func:`mask_id`, as a DuckDB expression over ``column``."""
    return MASK_ID_SQL.format(col=column)


def _mask_match(match: re.Match) -> str:
    # the masked form of the ID as the normaliser would store it: separators dropped, half-width, X upper
    return mask_id(unicodedata.normalize("NFKC", _DROP.sub("", match.group(0))).upper())


def redact(text):
    """Mask every ID-number-like run of digits in free text (exception messages, log lines, cells, file
    names); anything not text is returned as it is."""
    if not isinstance(text, str):
        return text
    return _ID_LIKE.sub(_mask_match, text)


def redact_series(series: pl.Series) -> pl.Series:
    """:func:`redact` over a text column, once per distinct value (free text repeats: entity, city)."""
    if series.dtype != pl.String:
        return series
    values = series.unique().drop_nulls().to_list()
    changed = {v: redact(v) for v in values if _ID_LIKE.search(v)}
    return series.replace(changed) if changed else series


def redact_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` redacted: what a masking role gets of any table (SPEC §8)."""
    return frame.with_columns([redact_series(frame[c]) for c, dtype in frame.schema.items() if dtype == pl.String])
