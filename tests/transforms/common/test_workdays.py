"""The official working-day calendar table."""

from __future__ import annotations

from datetime import date

from transforms.common.workdays import calendar_frame, calendar_warning, ensure_calendar, official_years


def _day(frame, when: date) -> dict:
    return frame.filter(frame["day"] == when).to_dicts()[0]


def test_holidays_off_make_up_days_on_weekends_off():
    frame = calendar_frame(date(2024, 1, 1), date(2031, 12, 31))
    assert _day(frame, date(2024, 10, 1))["is_workday"] is False      # National Day, a Tuesday
    assert _day(frame, date(2024, 10, 12))["is_workday"] is True      # make-up Saturday
    assert _day(frame, date(2024, 9, 29))["is_workday"] is True       # make-up Sunday
    assert _day(frame, date(2024, 3, 9))["is_workday"] is False       # ordinary Saturday
    assert _day(frame, date(2024, 3, 8))["is_workday"] is True
    assert _day(frame, date(2024, 3, 8))["official"] is True


def test_beyond_the_known_years_weekends_only():
    low, high = official_years()
    assert low <= 2024 <= high < 2031
    frame = calendar_frame(date(2031, 10, 1), date(2031, 10, 31))
    assert frame["official"].to_list() == [False] * 31
    assert frame["is_workday"].sum() == 23  # no National Day off: weekdays only


def test_ensure_calendar_builds_once_and_warns_beyond_it(con):
    assert ensure_calendar(con) is True
    assert ensure_calendar(con) is False
    days = con.execute("SELECT count(*), count(*) FILTER (WHERE official) FROM quality.workdays").fetchone()
    assert days[0] > 18000 and days[1] > 0
    assert calendar_warning(con, "2024-03") is None
    assert "weekends only" in calendar_warning(con, "2031-03")
