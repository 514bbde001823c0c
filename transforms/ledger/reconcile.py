"""The agency's bill reconciled with the ledger, per region (issue 14; SPEC §5 BILL_MISMATCH, §7 exports).

Finance checks the bill the collecting agency sends against what the company owes. For each region with
bill rows for P: what the bill charges (rows of our employers) and what the ledger holds net for P, each
side's employer and employee totals, the differences (billed − ledger) and the number of people on each
side. Bills are optional: a region without bill rows for P is not in the result.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from warehouse.sql import run_sql

SQL = Path(__file__).with_name("sql") / "reconciliation.sql"

COLUMNS = ("region", "billed_employer_amount", "billed_employee_amount", "ledger_employer_amount",
           "ledger_employee_amount", "employer_difference", "employee_difference", "billed_people",
           "ledger_people", "mismatches")
# For a person reading the export (the finance helper's sheet uses these).
HEADERS_ZH = {
    "region": "参保地", "billed_employer_amount": "账单单位缴费", "billed_employee_amount": "账单个人缴费",
    "ledger_employer_amount": "台账单位缴费", "ledger_employee_amount": "台账个人缴费",
    "employer_difference": "单位差额（账单−台账）", "employee_difference": "个人差额（账单−台账）",
    "billed_people": "账单人数", "ledger_people": "台账人数", "mismatches": "不符条数",
}


def reconciliation(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    """One row per region with bill rows for ``period`` (columns :data:`COLUMNS`; money as Decimal)."""
    return run_sql(con, SQL, {"period": period}).pl()
