"""Masking of personal data: ID numbers never reach logs, artifacts or error text in full."""

from __future__ import annotations

import re

# 15- or 18-character resident ID numbers, also inside longer text and glued to letters ("ID4301…"),
# but not inside longer digit runs.
_ID_LIKE = re.compile(r"(?<!\d)(\d{6})(\d{5,8})(\d{3}[\dXx]|\d{4})(?!\d)")


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


def redact(text: str) -> str:
    """Mask every ID-number-like run of digits in free text (exception messages, log lines)."""
    return _ID_LIKE.sub(lambda m: mask_id(m.group(0)), text)
