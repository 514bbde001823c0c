"""The ledger on the acceptance sample equals expected.json; corrections append adjustments only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import built_from, connected_copy
from transforms.ingest.inbox import ingest_inbox
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from warehouse.db import connect

PERIODS = ("2024-01", "2024-02", "2024-03")
CELLS = """
    SELECT entity, employee_id, insurance_type, printf('%.2f', base), printf('%.2f', month_fraction),
           printf('%.2f', employer_amount), printf('%.2f', employee_amount)
    FROM ledger.current_contributions WHERE period = ?
"""


@pytest.fixture(scope="module")
def booked(acceptance_ingested, acceptance_dir, tmp_path_factory) -> Path:
    """The ingested acceptance warehouse with its policy applied and its months booked, once for the module."""
    def build(con):
        apply_policy(con, acceptance_dir / "policy.csv")
        for period in PERIODS:
            compute_ledger(con, period)

    path = tmp_path_factory.mktemp("booked") / "acceptance.duckdb"
    built_from(acceptance_ingested, path, build)
    return path


@pytest.fixture()
def closed(booked, tmp_path):
    """A copy of ``booked``, the test's own to change."""
    with connected_copy(booked, tmp_path / booked.name) as con:
        yield con


@pytest.mark.parametrize("period", PERIODS)
def test_every_ledger_cell_equals_expected(closed, expected, period):
    got = sorted(tuple(r) for r in closed.execute(CELLS, [period]).fetchall())
    want = sorted(tuple(r) for r in expected["periods"][period]["ledger"])
    assert got == want


def _recomputed_from_scratch(con, tmp_path) -> dict:
    """What a fresh ledger over the same staged data and policy gives, per period."""
    con.execute("CHECKPOINT")
    copy = tmp_path / "scratch.duckdb"
    shutil.copy(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'wh'").fetchone()[0], copy)
    fresh = connect(copy)
    fresh.execute("DELETE FROM ledger.contributions")  # only in this scratch copy
    result = {}
    for period in PERIODS:
        compute_ledger(fresh, period)
        result[period] = sorted(fresh.execute(CELLS, [period]).fetchall())
    fresh.close()
    return result


def test_corrections_append_adjustments_that_net_to_the_new_computation(closed, acceptance_dir, tmp_path):
    originals = closed.execute("SELECT * FROM ledger.contributions ORDER BY ALL").fetchall()
    # A corrected February payroll for one entity: every gross pay raised by 500.
    entity = closed.execute("SELECT min(entity) FROM core.payroll WHERE period = '2024-02'").fetchone()[0]
    february = closed.execute(
        "SELECT period AS 工资月份, employee_id AS 工号, name AS 姓名, id_number_raw AS 身份证号, entity AS 公司,"
        " city_raw AS 参保城市, CAST(gross_pay + 500 AS VARCHAR) AS 应发工资, CAST(si_withheld AS VARCHAR) AS 个人社保"
        " FROM core.payroll WHERE period = '2024-02' AND entity = ?", [entity]
    ).pl()
    inbox = tmp_path / "corrections"
    inbox.mkdir()
    february.write_csv(inbox / "工资表_202402_更正.csv")
    ingest_inbox(closed, inbox)
    # A policy change raising January's floor retroactively (长沙 from 2024-01).
    policy = (acceptance_dir / "policy.csv").read_text(encoding="utf-8").replace(
        "长沙,pension,2024-01,,3604,18021", "长沙,pension,2024-01,,5000,18021")
    (tmp_path / "policy.csv").write_text(policy, encoding="utf-8")
    apply_policy(closed, tmp_path / "policy.csv")

    appended = sum(compute_ledger(closed, period)["rows_appended"] for period in PERIODS)
    assert appended > 0
    adjustments = closed.execute(
        "SELECT period, count(*) FROM ledger.contributions WHERE entry_type = 'adjustment' GROUP BY ALL"
    ).fetchall()
    assert {p for p, _ in adjustments} >= {"2024-01", "2024-02"}
    # the original rows are unchanged, and the net of every cell is the new computation
    after = closed.execute("SELECT * FROM ledger.contributions ORDER BY ALL").fetchall()
    assert set(originals) <= set(after) and len(after) == len(originals) + appended
    scratch = _recomputed_from_scratch(closed, tmp_path)
    for period in PERIODS:
        assert sorted(closed.execute(CELLS, [period]).fetchall()) == scratch[period]
    # and once more with nothing changed: nothing appended
    assert sum(compute_ledger(closed, period)["rows_appended"] for period in PERIODS) == 0


def test_a_run_appends_all_or_nothing(closed):
    closed.execute("DELETE FROM staging.payroll WHERE period = '2024-02' AND entity LIKE '长沙%'")  # a change to book
    before = closed.execute("SELECT count(*) FROM ledger.contributions").fetchone()[0]
    months = closed.execute("SELECT count(*) FROM ledger.employee_months WHERE period = '2024-02'").fetchone()[0]
    # the run's last write fails, after the contributions were appended inside the transaction
    closed.execute("ALTER TABLE ledger.runs RENAME TO runs_gone")
    with pytest.raises(Exception):  # noqa: B017 - any failure must leave nothing behind
        compute_ledger(closed, "2024-02")
    closed.execute("ALTER TABLE ledger.runs_gone RENAME TO runs")
    assert closed.execute("SELECT count(*) FROM ledger.contributions").fetchone()[0] == before
    assert closed.execute("SELECT count(*) FROM ledger.employee_months WHERE period = '2024-02'").fetchone()[0] == months
    assert compute_ledger(closed, "2024-02")["rows_appended"] > 0
