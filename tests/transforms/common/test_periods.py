"""The one period rule: a month written YYYY-MM, refused in one sentence naming where it came from."""

from __future__ import annotations

import pytest

from transforms.common.periods import check_period, is_period
from warehouse.errors import InputError


@pytest.mark.parametrize("good", ["2024-01", "2024-12", "1999-10"])
def test_a_month_is_accepted_as_given(good):
    assert is_period(good) and check_period(good) == good


@pytest.mark.parametrize("bad", ["2024-3", "2024-13", "2024-00", "202403", "2024/03", " 2024-03", "2024-03-01", "", None])
def test_anything_else_is_one_sentence_naming_the_option(bad):
    assert not is_period(bad)
    with pytest.raises(InputError, match=r"^--from .* is not a month like 2024-03; give it as YYYY-MM\.$"):
        check_period(bad, "--from")
    with pytest.raises(InputError, match=r"^The period "):
        check_period(bad)



@pytest.mark.parametrize("typed", ["0000-01", "9999-12", "1989-12"])
def test_a_month_outside_any_data_is_refused(typed):
    from transforms.common.periods import check_period
    from warehouse.errors import InputError

    with pytest.raises(InputError, match=f"{typed} is not a month shebao can close"):
        check_period(typed, "--period")
    assert check_period("2024-03") == "2024-03"
