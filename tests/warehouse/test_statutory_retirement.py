"""ref.statutory_retirement (models/ref/statutory_retirement.sql): the statutory retirement month of the
全国人大常委会 decision of 2024-09-13, against the first rows of its published tables (附件1–3), their last rows (the
caps), people born before the reform starts, and the minimum contribution months from 2030."""

from __future__ import annotations

import pytest


def retirement(con, birth_month: str, male: bool, category: str | None = None) -> tuple:
    r = con.execute("SELECT ref.statutory_retirement(?, ?, ?)", [birth_month, male, category]).fetchone()[0]
    return r["retirement_month"], r["retirement_age"], r["basis"], r["basis_assumed"]


@pytest.mark.parametrize(("born", "retires"), [
    ("1965-01", "2025-02"), ("1965-02", "2025-03"), ("1965-03", "2025-04"), ("1965-04", "2025-05"),
])
def test_men_born_1965_01_to_04_retire_at_60_years_1_month(con, born, retires):
    assert retirement(con, born, True) == (retires, "60y1m", "male", False)


def test_men_table_rows_and_cap(con):
    assert retirement(con, "1965-05", True)[:2] == ("2025-07", "60y2m")     # the table's second row
    assert retirement(con, "1976-08", True)[:2] == ("2039-07", "62y11m")    # the last row before the cap
    assert retirement(con, "1976-09", True)[:2] == ("2039-09", "63y0m")     # last row: 1976-09..12, 63
    assert retirement(con, "1976-12", True)[:2] == ("2039-12", "63y0m")
    assert retirement(con, "1990-06", True)[:2] == ("2053-06", "63y0m")


@pytest.mark.parametrize(("born", "retires"), [("1975-01", "2025-02"), ("1975-02", "2025-03")])
def test_women_workers_born_1975_01_to_02_retire_at_50_years_1_month(con, born, retires):
    assert retirement(con, born, False, "worker") == (retires, "50y1m", "female_50", False)


def test_women_workers_table_rows_and_cap(con):
    assert retirement(con, "1975-03", False, "worker")[:2] == ("2025-05", "50y2m")
    assert retirement(con, "1984-10", False, "worker")[:2] == ("2039-09", "54y11m")
    assert retirement(con, "1984-11", False, "worker")[:2] == ("2039-11", "55y0m")  # last row: 1984-11..12, 55
    assert retirement(con, "1984-12", False, "worker")[:2] == ("2039-12", "55y0m")


@pytest.mark.parametrize(("born", "retires"), [
    ("1970-01", "2025-02"), ("1970-02", "2025-03"), ("1970-03", "2025-04"), ("1970-04", "2025-05"),
])
def test_women_cadres_born_1970_01_to_04_retire_at_55_years_1_month(con, born, retires):
    assert retirement(con, born, False, "cadre") == (retires, "55y1m", "female_55", False)


def test_women_cadres_cap(con):
    assert retirement(con, "1981-08", False, "cadre")[:2] == ("2039-07", "57y11m")
    assert retirement(con, "1981-09", False, "cadre")[:2] == ("2039-09", "58y0m")   # last row: 1981-09..12, 58
    assert retirement(con, "1981-12", False, "cadre")[:2] == ("2039-12", "58y0m")


def test_born_before_the_reform_keeps_the_old_age(con):
    assert retirement(con, "1964-12", True)[:2] == ("2024-12", "60y0m")
    assert retirement(con, "1974-12", False, "worker")[:2] == ("2024-12", "50y0m")
    assert retirement(con, "1969-12", False, "cadre")[:2] == ("2024-12", "55y0m")


def test_a_woman_without_a_category_is_judged_at_50_and_marked_assumed(con):
    assert retirement(con, "1975-01", False) == ("2025-02", "50y1m", "female_50", True)
    assert retirement(con, "1967-12", False) == ("2017-12", "50y0m", "female_50", True)
    assert retirement(con, "1965-01", True, None)[3] is False   # a man's age needs no category


@pytest.mark.parametrize(("born", "retires", "minimum"), [
    ("1964-12", "2024-12", 180),
    ("1968-10", "2029-10", 180),   # 61y0m: 2029, the last year of 15 years
    ("1969-01", "2030-02", 186),   # 61y1m: from 2030-01-01 six months more each year
    ("1974-06", "2036-11", 222),   # 62y5m: 2036, seven years on
])
def test_minimum_contribution_rises_from_2030(con, born, retires, minimum):
    r = con.execute("SELECT ref.statutory_retirement(?, true, NULL)", [born]).fetchone()[0]
    assert r["min_contribution_months"] == minimum
    assert r["retirement_month"] == retires


def test_minimum_contribution_by_retirement_year(con):
    months = dict(con.execute("""
        SELECT r.retirement_month[1:4], min(r.min_contribution_months)
        FROM (SELECT ref.statutory_retirement(strftime(DATE '1960-01-01' + INTERVAL (i) MONTH, '%Y-%m'), true, NULL) AS r
              FROM range(0, 360) t(i))
        GROUP BY ALL""").fetchall())
    assert months["2029"] == 180 and months["2030"] == 186 and months["2035"] == 216
    assert months["2038"] == 234 and months["2039"] == 240 and months["2045"] == 240


def test_no_birth_month_or_sex_no_retirement(con):
    assert con.execute("SELECT ref.statutory_retirement(NULL, true, NULL), ref.statutory_retirement('1970-01', NULL,"
                       " NULL)").fetchone() == (None, None)
