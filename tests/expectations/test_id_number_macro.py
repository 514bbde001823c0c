"""The SQL resident-ID rule (macro ``quality.id_number_problem``, warehouse/models) against python-stdnum.

stdnum is the oracle for the check digit and the birth date only; its county-by-birth-year rule is not
ours (REFERENCE.md). The order of the tests, the province list, "before 1900", "after P", ``too_young``
(under 16 on the first day of P) and the foreign permanent resident's number (9, then a province-level
code) come from SPEC §5.
"""

from __future__ import annotations

import calendar
import string
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
             "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
             "83"}
DIGITS = set(string.digits)


def oracle(number: str, period: str) -> str | None:
    if len(number) != 18 or not set(number[:17]) <= DIGITS or number[17] not in DIGITS | {"X"}:
        return "format"
    if number[17] != ric.calc_check_digit(number):
        return "check_digit"
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return "birth_date"
    year, month = map(int, period.split("-"))
    if born.year < 1900 or born > date(year, month, calendar.monthrange(year, month)[1]):
        return "birth_date"
    if born > date(year - 16, month, 1):
        return "too_young"
    if (number[1:3] if number[0] == "9" else number[:2]) not in PROVINCES:
        return "province"
    return None


def sql_problems(con, numbers: list[str], period: str) -> list[str | None]:
    rows = con.execute(
        "SELECT ix, quality.id_number_problem(id, ?) FROM (SELECT unnest(?) AS id, unnest(?) AS ix) ORDER BY ix",
        [period, numbers, list(range(len(numbers)))],
    ).fetchall()
    return [problem for _, problem in rows]


VALID = ["360426199101010071", "412723199010050012", "110102199101010078",
         "440308199901101512", "430302199312194239", "34052419800101001X",
         "440106196504043980",  # valid for us although stdnum rejects its county for the birth year
         "943012199001011238"]  # a foreign permanent resident's number (2023): 9, then 43 (湖南)
BAD = {"36042619910102009X": "check_digit", "440308199901101513": "check_digit", "340524198001010013": "check_digit",
       "360426199113010079": "birth_date", "440308199902301512": "check_digit", "990426199112010074": "province",
       "44011320141005001X": "too_young", "993012199001011237": "province",
       "610104620927690": "format", "61010419620927690": "format", "6101041962092769x": "format",
       "6101041962O927690X": "format", "": "format"}


@pytest.mark.parametrize("number", VALID)
def test_reference_vectors_valid(con, number):
    assert sql_problems(con, [number], "2024-03") == [None]


@pytest.mark.parametrize(("number", "problem"), BAD.items())
def test_reference_vectors_invalid(con, number, problem):
    assert sql_problems(con, [number], "2024-03") == [problem]


def test_birth_date_limits(con):
    from tests.expectations.conftest import id_number

    numbers = [id_number(birth="18991231"), id_number(birth="19000101"), id_number(birth="20240331"),
               id_number(birth="20240401")]
    assert sql_problems(con, numbers, "2024-03") == ["birth_date", None, "too_young", "birth_date"]
    sixteen = [id_number(birth="20080301"), id_number(birth="20080302")]
    assert sql_problems(con, sixteen, "2024-03") == [None, "too_young"]
    assert sql_problems(con, [None], "2024-03") == ["format"]


def _with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


@st.composite
def id_like(draw) -> str:
    province = draw(st.one_of(st.sampled_from(sorted(PROVINCES)), st.text(string.digits, min_size=2, max_size=2)))
    area = draw(st.text(string.digits, min_size=4, max_size=4))
    birth = draw(st.one_of(
        st.dates(date(1880, 1, 1), date(2030, 12, 31)).map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
        st.text(string.digits, min_size=8, max_size=8),
    ))
    body = province + area + birth + draw(st.text(string.digits, min_size=3, max_size=3))
    check = draw(st.one_of(st.just(None), st.sampled_from(list("0123456789X"))))
    number = _with_check(body) if check is None else body + check
    mutation = draw(st.sampled_from(["none", "none", "none", "drop", "add", "letter"]))
    position = draw(st.integers(0, 17))
    if mutation == "drop":
        number = number[:position] + number[position + 1:]
    elif mutation == "add":
        number = number[:position] + draw(st.sampled_from(list("0123456789X"))) + number[position:]
    elif mutation == "letter":
        number = number[:position] + draw(st.sampled_from(list("xAO "))) + number[position + 1:]
    return number


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(id_like(), min_size=1, max_size=40),
       period=st.sampled_from(["1999-12", "2014-10", "2024-03", "2030-01"]))
def test_sql_rule_agrees_with_stdnum(con, numbers, period):
    assert sql_problems(con, numbers, period) == [oracle(n, period) for n in numbers]
