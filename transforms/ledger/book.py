"""The contribution ledger (SPEC §4): the named model macros ``ledger.months(p)`` and ``ledger.cells(p)``
(``warehouse/models/ledger/months.sql``, ``cells.sql``) and the append (``transforms/ledger/sql/ledger_append.sql``).

``compute_ledger`` computes period P from the current staged data and the policy in force, replaces the
per-employee snapshot (``ledger.employee_months``) and appends to ``ledger.contributions`` exactly the
rows that make every cell net to the new computation — in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from transforms.common.faults import checkpoint
from transforms.common.privacy import redact
from transforms.common.runs import new_run_id
from transforms.ledger.policy import apply_policy, policy_fingerprint
from warehouse.db import half_memory, memory_share, one, scalar, threads, transaction
from warehouse.sql import run_sql

APPEND = Path(__file__).with_name("sql") / "ledger_append.sql"
# DuckDB keeps what it reads cached up to its limit, and the cache is resident memory beside the ledger's own: at
# a million employees each statement held the whole 1GB (the close's peak, issue 28). The ledger runs at half
# the limit, ledger.months on one thread at LEAN's share: its aggregates' text (names, ID numbers) cannot
# spill, and on two threads each thread holds its own; at a million it needed more than half on one thread,
# not more than 0.6. Past that (more employees) the ledger is booked again at the whole limit (docs/memory.md).
LEAN = {"months": 0.6, "rest": 0.5}
WHOLE = {"months": 1.0, "rest": 1.0}


def compute_ledger(con: duckdb.DuckDBPyConnection, period: str, run_id: str | None = None) -> dict:
    """Bring the ledger of ``period`` up to date; return counts and totals (no personal data)."""
    run_id = run_id or new_run_id()
    started = datetime.now()
    if scalar(con, "SELECT count(*) FROM ref.policy") == 0:
        apply_policy(con)  # the shipped policy (and any override given earlier)
    try:
        appended = _book(con, period, run_id, started, LEAN)
    except duckdb.OutOfMemoryException:  # rolled back: nothing of it is left
        appended = _book(con, period, run_id, started, WHOLE)
    with half_memory(con):
        return ledger_summary(con, period) | {"run_id": run_id, "rows_appended": appended}


def _book(con: duckdb.DuckDBPyConnection, period: str, run_id: str, started: datetime, shares: dict) -> int:
    """The ledger of ``period`` in one transaction, DuckDB at ``shares`` of its limit; the rows appended."""
    with memory_share(con, shares["rest"]), transaction(con):
        # Each step of the ledger is a named model macro, computed once here: ledger.months(P) straight into
        # the stored snapshot, ledger.cells(P) (from that snapshot) into a temp table that the withholding
        # check and the append both read.
        con.execute("DELETE FROM ledger.employee_months WHERE period = ?", [period])
        with memory_share(con, shares["months"]), threads(con, 1):
            con.execute(
                """
                INSERT INTO ledger.employee_months BY NAME
                SELECT period, entity, employee_id, id_number, name, region, hire_date, leave_date, month_fraction,
                       coalesce(reference_wage, 0) AS reference_wage, gross_pay, si_withheld, has_pension_policy,
                       0 AS expected_employee_amount,  -- until the cells below: 0 for whoever has none
                       ledger.withholding_difference(si_withheld, has_pension_policy, 0) AS withholding_difference,
                       $run_id AS run_id, employment_type, position_category, hukou
                FROM ledger.months($period)
                """,
                {"period": period, "run_id": run_id},
            )
        con.execute("CREATE OR REPLACE TEMP TABLE ledger_cells AS SELECT * FROM ledger.cells(?)", [period])
        con.execute(
            """
            UPDATE ledger.employee_months AS m
            SET expected_employee_amount = e.expected,
                withholding_difference = ledger.withholding_difference(m.si_withheld, m.has_pension_policy, e.expected)
            FROM (SELECT entity, employee_id, sum(employee_amount) AS expected FROM ledger_cells GROUP BY ALL) e
            WHERE m.period = ? AND m.entity = e.entity AND m.employee_id = e.employee_id
            """,
            [period],
        )
        before = scalar(con, "SELECT count(*) FROM ledger.contributions")
        run_sql(con, APPEND, {"period": period, "run_id": run_id, "created_at": datetime.now()})
        appended = scalar(con, "SELECT count(*) FROM ledger.contributions") - before
        checkpoint("ledger.before_commit")
        con.execute(
            "INSERT INTO ledger.runs (run_id, period, started_at, finished_at, rows_appended, policy_fingerprint)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, period, started, datetime.now(), appended, policy_fingerprint(con)],
        )
    return appended


def ledger_summary(con: duckdb.DuckDBPyConnection, period: str) -> dict:
    months = one(
        con,
        """
        SELECT count(*), (SELECT count(*) FROM ledger.population($period)),
               count(*) FILTER (WHERE month_fraction > 0 AND NOT has_pension_policy)  -- NO_POLICY's people
        FROM ledger.employee_months WHERE period = $period
        """,
        {"period": period},
    )
    totals = con.execute(
        """
        SELECT entity, sum(employer_amount), sum(employee_amount), count(*)
        FROM ledger.current_contributions WHERE period = ? GROUP BY entity ORDER BY entity
        """,
        [period],
    ).fetchall()
    return {
        "period": period,
        "employees_paid": months[0],
        "employees_in_ledger": months[1],
        "employees_without_policy": months[2],
        "totals_by_entity": [
            {"entity": redact(e), "employer": str(er), "employee": str(ee), "cells": n}  # a summary: no IDs
            for e, er, ee, n in totals
        ],
    }
