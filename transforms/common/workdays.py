"""The working-day calendar in the warehouse (``quality.workdays``), from ``chinese-calendar``.

Official years (those chinese-calendar knows): public holidays off, make-up working days on, other
weekends off. Years beyond them: weekends only, marked ``official = false`` — STALE_TRANSFER says so in
its details, and the validation run records a warning. Built set-based with polars, once per
chinese-calendar version (rebuilt when the package changes).
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import version

import duckdb
import polars as pl

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2050, 12, 31)


def calendar_source() -> str:
    return f"chinese-calendar {version('chinese-calendar')}"


def official_years() -> tuple[int, int]:
    from chinese_calendar.constants import holidays

    return min(holidays).year, max(holidays).year


def calendar_frame(first: date = FIRST_DAY, last: date = LAST_DAY) -> pl.DataFrame:
    """One row per day: day, is_workday, official."""
    from chinese_calendar.constants import holidays, workdays

    low, high = official_years()
    days = pl.date_range(first, last, interval="1d", eager=True).alias("day")
    frame = pl.DataFrame({"day": days})
    official = frame["day"].dt.year().is_between(low, high)
    weekday = frame["day"].dt.weekday() <= 5  # polars: Monday = 1 … Sunday = 7
    holiday = frame["day"].is_in(list(holidays))
    makeup = frame["day"].is_in(list(workdays))
    return frame.with_columns(
        is_workday=pl.when(official).then((weekday & ~holiday) | makeup).otherwise(weekday),
        official=official,
    )


def ensure_calendar(con: duckdb.DuckDBPyConnection) -> bool:
    """Fill ``quality.workdays`` unless it already holds this chinese-calendar version; True if rebuilt."""
    source = calendar_source()
    current = con.execute("SELECT source FROM quality.calendar_source").fetchall()
    if current == [(source,)]:
        return False
    low, high = official_years()
    frame = calendar_frame()  # noqa: F841  (read by DuckDB below)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM quality.workdays")
        con.execute("INSERT INTO quality.workdays SELECT day, is_workday, official FROM frame")
        con.execute("DELETE FROM quality.calendar_source")
        con.execute(
            "INSERT INTO quality.calendar_source VALUES (?, ?, ?, ?, ?, now())",
            [source, FIRST_DAY, LAST_DAY, date(low, 1, 1), date(high, 12, 31)],
        )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return True


def calendar_warning(con: duckdb.DuckDBPyConnection, period: str) -> str | None:
    """A sentence when P's last day lies beyond the official calendar (working days by weekday only)."""
    row = con.execute(
        "SELECT source, official_last FROM quality.calendar_source"
        " WHERE official_last < last_day(CAST(? || '-01' AS DATE))",
        [period],
    ).fetchone()
    if row is None:
        return None
    return (f"The official holiday calendar ({row[0]}) ends on {row[1]}; working days after it count "
            "weekends only, so transfer waits may be overstated around public holidays.")
