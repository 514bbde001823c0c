"""Months as ``YYYY-MM`` text: what counts as one, ranges and the month before."""

from __future__ import annotations

import re
from datetime import date

from warehouse.errors import InputError

# A period is a month written YYYY-MM (January to December): the only place this rule is written.
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_PERIOD = re.compile(PERIOD_PATTERN)


# A month to close lies in these years (China's contribution system starts in the 1990s): 0000-01 or
# 9999-12 is a typing mistake, not a month with data.
FIRST_YEAR, LAST_YEAR = 1990, 2100


def is_period(text: object) -> bool:
    return isinstance(text, str) and _PERIOD.match(text) is not None


def check_period(value: str | None, name: str = "The period") -> str:
    """``value`` when it is a month like ``2024-03``; else the one sentence, naming the option or parameter
    (``name``: ``--period``, ``--from``...) that gave it."""
    if isinstance(value, str) and is_period(value):
        if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
            raise InputError(f"{name} {value} is not a month shebao can close; give a month from {FIRST_YEAR} to"
                             f" {LAST_YEAR}.")
        return value
    raise InputError(f"{name} {value!r} is not a month like 2024-03; give it as YYYY-MM.")


def months_between(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end``, both included."""
    year, month = map(int, start.split("-"))
    months = []
    while f"{year}-{month:02d}" <= end:
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def previous_month(today: date | None = None) -> str:
    today = today or date.today()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"
