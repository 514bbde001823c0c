"""Months as ``YYYY-MM`` text: ranges and the month before."""

from __future__ import annotations

from datetime import date


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
