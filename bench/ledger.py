"""Benchmark: the ledger of one month beside a plain GROUP BY over the same staged payroll, from one run.

The warehouse holds 12 months of payroll history plus the month closed (sample generator, CSV inbox).
Usage: python bench/ledger.py [--employees 200000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import MONTHS, history_inbox

from transforms.ingest import ingest_inbox
from transforms.ledger import compute_ledger
from warehouse.db import connect
from warehouse.policy import apply_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        inbox = history_inbox(folder, args.employees)
        con = connect(Path(scratch) / "w.duckdb")
        ingest_inbox(con, inbox)
        apply_policy(con)
        payroll = con.execute("SELECT count(*) FROM core.payroll").fetchone()[0]
        started = time.perf_counter()
        con.execute("SELECT entity, employee_id, sum(gross_pay), count(*) FROM core.payroll GROUP BY ALL").fetchall()
        plain = time.perf_counter() - started
        started = time.perf_counter()
        summary = compute_ledger(con, MONTHS[1])
        ledger = time.perf_counter() - started
        started = time.perf_counter()
        again = compute_ledger(con, MONTHS[1])
        rerun = time.perf_counter() - started
        con.close()
    print(f"{args.employees:,} employees, {payroll:,} current payroll rows (13 months)")
    print(f"plain SELECT ... GROUP BY over the payroll: {plain:.2f} s")
    print(f"ledger {MONTHS[1]}: {ledger:.2f} s, {summary['rows_appended']:,} rows appended "
          f"({summary['employees_in_ledger']:,} employees); ratio {ledger / plain:.1f}x")
    print(f"re-run with nothing changed: {rerun:.2f} s, {again['rows_appended']} rows appended")


if __name__ == "__main__":
    main()
