"""The contribution ledger (SPEC §4): set-based SQL in ``transforms/sql/ledger_*.sql``, one rule each.

``compute_ledger`` computes period P from the current staged data and the policy in force, replaces the
per-employee snapshot (``ledger.employee_months``) and appends to ``ledger.contributions`` exactly the
rows that make every cell net to the new computation — in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from transforms.faults import checkpoint
from transforms.policy import apply_policy, policy_fingerprint
from transforms.privacy import redact
from transforms.runs import new_run_id
from warehouse.db import one, scalar, transaction

SQL = Path(__file__).with_name("sql")


def _sql(name: str) -> str:
    return (SQL / name).read_text(encoding="utf-8")


def compute_ledger(con: duckdb.DuckDBPyConnection, period: str, run_id: str | None = None) -> dict:
    """Bring the ledger of ``period`` up to date; return counts and totals (no personal data)."""
    run_id = run_id or new_run_id()
    started = datetime.now()
    if scalar(con, "SELECT count(*) FROM ref.policy") == 0:
        apply_policy(con)  # the shipped policy (and any override given earlier)
    with transaction(con):
        con.execute(_sql("ledger_employee_months.sql"), {"period": period})
        con.execute(_sql("ledger_cells.sql"), {"period": period})
        con.execute("DELETE FROM ledger.employee_months WHERE period = ?", [period])
        con.execute(
            """
            INSERT INTO ledger.employee_months
            SELECT m.period, m.entity, m.employee_id, m.id_number, m.name, m.region, m.hire_date, m.leave_date,
                   m.month_fraction, coalesce(m.reference_wage, 0), m.gross_pay, m.si_withheld,
                   m.has_pension_policy,
                   coalesce(e.expected, 0) AS expected_employee_amount,
                   -- §4.8: compared only where payroll gives it and R levies pension in P
                   CASE WHEN m.si_withheld IS NOT NULL AND m.has_pension_policy
                        THEN m.si_withheld - coalesce(e.expected, 0) END AS withholding_difference,
                   ? AS run_id
            FROM ledger_months m
            LEFT JOIN (SELECT entity, employee_id, sum(employee_amount) AS expected FROM ledger_cells GROUP BY ALL) e
              USING (entity, employee_id)
            """,
            [run_id],
        )
        before = scalar(con, "SELECT count(*) FROM ledger.contributions")
        con.execute(_sql("ledger_append.sql"), {"period": period, "run_id": run_id, "created_at": datetime.now()})
        appended = scalar(con, "SELECT count(*) FROM ledger.contributions") - before
        checkpoint("ledger.before_commit")
        con.execute(
            "INSERT INTO ledger.runs (run_id, period, started_at, finished_at, rows_appended, policy_fingerprint)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, period, started, datetime.now(), appended, policy_fingerprint(con)],
        )
    return ledger_summary(con, period) | {"run_id": run_id, "rows_appended": appended}


def ledger_summary(con: duckdb.DuckDBPyConnection, period: str) -> dict:
    months = one(
        con,
        """
        SELECT count(*), count(*) FILTER (WHERE month_fraction > 0 AND has_pension_policy),
               count(*) FILTER (WHERE month_fraction > 0 AND NOT has_pension_policy)
        FROM ledger.employee_months WHERE period = ?
        """,
        [period],
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
