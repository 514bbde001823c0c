"""Benchmark: the bill reconciliation of one month beside the ledger step, from one run.

A generated inbox (``shebao sample --bills``: CSV only) for N employees over two months, ingested into a
fresh warehouse; then for the last month the ledger (``compute_ledger``), the reconciliation per region
(``transforms.ledger.reconcile.reconciliation``) and the BILL_MISMATCH check as the validation runs it, each
timed (wall and CPU seconds). Bills carry one row per person and levied type (up to 5).

Usage: python bench/reconcile.py [--employees 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)

from expectations.gx_duckdb import SCOPE_QUALIFIED, set_scope
from expectations.registry import BY_CODE
from sample import generate_inbox
from transforms.ingest.inbox import ingest_inbox
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from transforms.ledger.reconcile import reconciliation
from warehouse.db import connect

FIRST, MONTH = "2025-02", "2025-03"


def timed(run):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, wall = usage.ru_utime + usage.ru_stime, time.perf_counter()
    result = run()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return result, time.perf_counter() - wall, usage.ru_utime + usage.ru_stime - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the inbox in")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    inbox = folder / "inbox"
    if not (inbox.is_dir() and any(inbox.iterdir())):
        _, generated, _ = timed(lambda: generate_inbox(inbox, args.employees, FIRST, MONTH, formats="csv", bills=True))
        print(f"generated {args.employees:,} employees, {FIRST}..{MONTH}, with bills: {generated:.1f} s")
    database = folder / "w.duckdb"
    for stale in folder.glob("w.duckdb*"):
        stale.unlink() if stale.is_file() else None
    con = connect(database)
    _, ingest, _ = timed(lambda: ingest_inbox(con, inbox))
    apply_policy(con)
    compute_ledger(con, FIRST)
    _, ledger, ledger_cpu = timed(lambda: compute_ledger(con, MONTH))
    bill_rows, ledger_rows = con.execute(
        "SELECT (SELECT count(*) FROM ingest.bills WHERE period = ?),"
        " (SELECT count(*) FROM ledger.contributions WHERE period = ?)", [MONTH, MONTH]).fetchone()
    table, recon, recon_cpu = timed(lambda: reconciliation(con, MONTH))
    set_scope(con, MONTH)
    check = f"SELECT count(*) FROM ({BY_CODE['BILL_MISMATCH'].sql_for(SCOPE_QUALIFIED)})"
    (mismatches,), check_time, check_cpu = timed(lambda: con.execute(check).fetchone())
    con.close()
    print(f"{args.employees:,} employees, {MONTH}: {bill_rows:,} bill rows in {table.height} regions, "
          f"{ledger_rows:,} ledger rows; ingest of the inbox {ingest:.1f} s")
    print(f"  ledger step         {ledger:6.2f} s wall {ledger_cpu:6.2f} s CPU")
    print(f"  reconciliation      {recon:6.2f} s wall {recon_cpu:6.2f} s CPU "
          f"({recon / ledger:.2f} × the ledger)")
    print(f"  BILL_MISMATCH check {check_time:6.2f} s wall {check_cpu:6.2f} s CPU ({mismatches} findings)")


if __name__ == "__main__":
    main()
