"""Masking of personal data: ID numbers never reach logs, artifacts or error text in full."""

from __future__ import annotations

import functools
import re
import unicodedata
from contextlib import suppress
from typing import Any

import polars as pl

# What the ID normaliser removes (SPEC §2): every kind of space and the zero-width characters. redact() lets
# them (and hyphens, a common decoration) sit between the digits of an ID, so each form the normaliser accepts
# (spaced, full-width, zero-width, apostrophe-prefixed, 15 or 18 characters) is found in free text too.
_SEP = "[ \t\u00a0\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff\\-]"
_DIGIT = r"\d"  # any script's digits: ASCII, full-width, Arabic-Indic …
_CHECK = r"[\dXx\uff38\uff58]"
# 15 to 18 characters (a few more than an ID's 15 or 18: a mistyped ID is still personal), also inside longer
# text and glued to letters ("ID4301…"), but not inside longer digit runs.
_ID_LIKE = re.compile(rf"(?<!\d){_DIGIT}(?:{_SEP}*{_DIGIT}){{13,16}}{_SEP}*{_CHECK}"
                      rf"(?!\d)")
_DROP = re.compile(_SEP)
_SHORTEST_MATCH = 15  # characters: a shorter text holds no match of _ID_LIKE (1 + 13 + 1 at the least)
# The same rule for DuckDB over whole columns (RE2: no look-arounds, ``\p{Nd}`` for any script's digits). A
# match is replaced whole: the separators inside it make the 430102********1234 form unreliable in SQL.
_SEP_CHARS = " \t\u00a0\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff-"
ID_LIKE_SQL = ("\\p{Nd}(?:[" + _SEP_CHARS + "]*\\p{Nd}){13,16}[" + _SEP_CHARS + "]*[\\p{Nd}Xx\uff38\uff58]")
REDACTED = "[身份证号已隐去]"


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
    return mask_id(unicodedata.normalize("NFKC", _DROP.sub("", match.group(0))).upper()) or ""


def redact(text):
    """Mask every ID-number-like run of digits in free text (exception messages, log lines, cells, file
    names); anything not text is returned as it is."""
    if not isinstance(text, str) or len(text) < _SHORTEST_MATCH:
        return text
    return _ID_LIKE.sub(_mask_match, text)


def redact_sql(expression: str) -> str:
    """:func:`redact` as a DuckDB expression over a text ``expression`` (no Python per row)."""
    pattern = ID_LIKE_SQL.replace("'", "''")
    return f"regexp_replace({expression}, '{pattern}', '{REDACTED}', 'g')"


# A "token": a maximal run of the characters an ID-like match is made of (digits of any script, separators, the
# check letter). A match of ``_ID_LIKE`` never crosses a token's edge, and its look-arounds only look at digits,
# which a token's neighbours are not: redacting each token alone gives what redacting the whole text gives.
_TOKEN = "[\\p{Nd}" + _SEP_CHARS[:-1] + "Xx\uff38\uff58-]"
_PIECES = f"{_TOKEN}+|[^{_TOKEN[1:]}+"


def redact_series(series: pl.Series) -> pl.Series:
    """:func:`redact` over a text column, vectorised: the lookaround-free twin of the rule (Rust regex, whole
    column) finds the values that may hold an ID; Python's rule runs once per distinct token of those values
    that may be an ID (a token alone redacts as it does in its text), and the tokens it changes are replaced
    in the column at once (Aho-Corasick). That replaces a token wherever its text occurs, so it is used only
    when no changing token occurs inside a longer token of the column, and on long text (the megabytes of
    JSON of a large close's action details: 1.6 s, not 1.0); otherwise each value is cut into tokens and the
    rest, and put back together."""
    if series.dtype != pl.String:
        return series
    values = series.filter(series.str.contains(ID_LIKE_SQL)).unique()
    if not values.len():
        return series
    tokens = values.str.extract_all(f"{_TOKEN}+").explode().drop_nulls().unique()
    masked = {token: redact(token) for token in tokens.filter(tokens.str.contains(ID_LIKE_SQL)).to_list()}
    masked = {token: text for token, text in masked.items() if text != token}
    if not masked:
        return series
    changing = list(masked)
    if values.str.len_bytes().sum() > 8 * sum(len(token.encode()) for token in changing) and not _inside(tokens, changing):
        return series.str.replace_many(changing, [masked[token] for token in changing])
    # mostly IDs (a column of ID numbers): the automaton of its tokens would cost more than cutting the values
    pieces = values.str.extract_all(_PIECES)
    return series.replace(values, pieces.list.eval(pl.element().replace(masked)).list.join(""))


def _inside(tokens: pl.Series, changing: list[str]) -> bool:
    """Whether a ``changing`` token occurs inside a longer one of ``tokens`` (its shortest match there shorter
    than the token): there replacing its text would differ from redact(), which sees the longer token."""
    found = tokens.str.extract_many(changing, overlapping=True).list.eval(pl.element().str.len_chars()).list.min()
    return bool((found < tokens.str.len_chars()).any())


def redact_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` redacted: what a masking role gets of any table (SPEC §8). The columns that
    may hold an ID are found in one query over all of them: most hold none, and a query a column cost each some
    0.2 ms whatever its rows (a close masks hundreds of small frames)."""
    text = [column for column, dtype in frame.schema.items() if dtype == pl.String]
    if not text or frame.is_empty():
        return frame
    may_hold_ids = frame.select(pl.col(text).str.contains(ID_LIKE_SQL).any()).row(0)
    return frame.with_columns([redact_series(frame[column])
                               for column, may in zip(text, may_hold_ids, strict=True) if may])


def redact_exception(exc: BaseException) -> BaseException:
    """Mask ID numbers in an exception's text, in place, through its cause and context chain: what Prefect
    stores of a failed run (state message, log, pickled result) and what a console shows is then clean."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        with suppress(Exception):  # an exception type with read-only args keeps them
            current.args = tuple(redact(a) for a in current.args)
        if isinstance(current, OSError):
            for attr in ("filename", "filename2", "strerror"):
                if isinstance(getattr(current, attr, None), str):
                    setattr(current, attr, redact(getattr(current, attr)))
        if getattr(current, "__notes__", None):
            current.__notes__ = [redact(note) for note in current.__notes__]
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str):
                with suppress(Exception):
                    setattr(current, name, redact(value))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return exc


def redacting(fn):
    """Decorate a Prefect task or flow function (under ``@task``/``@flow``): an exception leaves it redacted,
    before Prefect logs, stores or pickles it (issue 18.8)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            redact_exception(exc)
            raise
    return wrapper


# A date range in a file name (``每日统计_20240601-20240630.xlsx``) is 16 digits with a separator, the shape of an
# ID, but no ID starts with 19 or 20 (no province code does), and both halves are dates. Masking it would hide
# which file is meant (issue 23).
_DATE = r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE_RANGE = re.compile(rf"(?<!\d){_DATE}[-_~至到]{_DATE}(?!\d)")


def redact_file_name(text: Any) -> Any:
    """:func:`redact` for text that names files: a date range in a name is kept, every ID-like run else masked."""
    if not isinstance(text, str):
        return text
    kept: list[str] = []

    def hold(match: re.Match) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    held = redact(_DATE_RANGE.sub(hold, text))
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], held)
