"""A check that runs out of DuckDB's memory says which check and what to set: one sentence, no DuckDB text
(docs/memory.md). A real warehouse under a real, tiny DuckDB limit."""

from __future__ import annotations

import re

import pytest

from expectations.gx_duckdb import set_scope
from expectations.registry import BY_CODE
from expectations.suites import CheckFailed, run_suites, write_findings
from tests.expectations.conftest import id_number
from warehouse.db import transaction

ADVICE = ("set SHEBAO_DUCKDB_MEMORY=600MB (twice the 300MB it has now) and run again; "
          "docs/memory.md says what each size of close needs.")


@pytest.fixture()
def starved(wh, monkeypatch):
    """Thirty people, a 300MB setting, and DuckDB held to 8MB: no check can finish."""
    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "300MB")
    wh.policy()
    for n in range(30):
        ident = id_number(seq=f"{n:03d}")
        wh.payroll(employee_id=f"E{n}", id_number=ident, row_number=n + 1)
        wh.insurance(id_number=ident, base="3000", row_number=n + 1)
    return wh


def _one_sentence_naming_a_check(message: str) -> None:
    match = re.fullmatch(r"The check ([A-Z_]+) ran out of DuckDB memory for 2024-03; (.*)", message)
    assert match, message
    assert match.group(1) in BY_CODE and match.group(2) == ADVICE
    assert "\n" not in message and "Error" not in message and id_number()[:6] not in message


def test_a_check_out_of_memory_under_gx_names_the_check_and_the_setting(starved):
    starved.con.execute("SET memory_limit = '8MB'")
    with pytest.raises(CheckFailed) as raised:
        run_suites(starved.con, "2024-03")
    _one_sentence_naming_a_check(str(raised.value))


def test_a_check_out_of_memory_writing_findings_names_the_check_and_the_setting(starved):
    set_scope(starved.con, "2024-03")
    starved.con.execute("SET memory_limit = '8MB'")
    with pytest.raises(CheckFailed) as raised, transaction(starved.con):
        write_findings(starved.con, "R1", "2024-03")
    _one_sentence_naming_a_check(str(raised.value))
