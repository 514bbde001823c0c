"""A close that fails midway, then runs again, ends as the uninterrupted close (``close_reference``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ACTIONS, FINDING_KEYS, LEDGER_TOTALS, PERIOD, query

from warehouse.errors import InputError


def _assert_same_result(warehouse: Path, reference: Path) -> None:
    assert query(warehouse, "SELECT count(*) FROM ledger.contributions") == \
        query(reference, "SELECT count(*) FROM ledger.contributions")
    assert query(warehouse, "SELECT count(*), count(DISTINCT source_file) FROM ingest.loads") == \
        query(reference, "SELECT count(*), count(DISTINCT source_file) FROM ingest.loads")
    assert query(warehouse, LEDGER_TOTALS) == query(reference, LEDGER_TOTALS)
    assert query(warehouse, FINDING_KEYS) == query(reference, FINDING_KEYS)
    assert query(warehouse, ACTIONS) == query(reference, ACTIONS)


def test_a_close_failing_in_the_ledger_is_resumable(prefect_harness, tmp_path, acceptance_dir, close_reference):
    """The policy file becomes unusable after ingest: the ledger stage fails; a re-run gives the same result."""
    from flows.close import monthly_close

    _, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    broken = tmp_path / "policy.csv"
    broken.write_text("地区,险种,生效月份,基数下限,基数上限,单位费率,个人费率\n长沙,养老,2024-01,3604,18021,16,0.08\n",
                      encoding="utf-8")
    with pytest.raises(InputError, match="is 1 or more"):
        monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                      out=str(tmp_path / "out"), policy=str(broken))
    assert query(warehouse, "SELECT count(*) FROM ingest.loads")[0][0] > 0  # it failed after ingest
    assert query(warehouse, "SELECT count(*) FROM ledger.contributions")[0][0] == 0
    monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                  out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    _assert_same_result(warehouse, reference)


def test_a_close_failing_after_the_ledger_is_resumable(prefect_harness, tmp_path, acceptance_dir, close_reference):
    """The report folder cannot be created (a file stands in the way): validation fails after the ledger
    was booked; a re-run to a usable folder books nothing twice and ends as an uninterrupted close."""
    from flows.close import monthly_close

    _, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    with pytest.raises(Exception):  # noqa: B017 - whatever the OS says about a file in the way
        monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                      out=str(blocked), policy=str(acceptance_dir / "policy.csv"))
    booked = query(warehouse, "SELECT count(*) FROM ledger.contributions")[0][0]
    assert booked == query(reference, "SELECT count(*) FROM ledger.contributions")[0][0]  # failed after the ledger
    assert query(warehouse, "SELECT count(*) FROM actions.cleanup_actions")[0][0] == 0
    monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                  out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    _assert_same_result(warehouse, reference)
