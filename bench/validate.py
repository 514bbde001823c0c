"""Benchmark: the validation suites through GX beside the same SQL texts run directly in DuckDB.

One month of N employees (default 200,000): ``sample.generate_inbox`` writes a realistic inbox
(the month before and the month, every SPEC §5 anomaly injected at a low rate), ingest loads it and the
ledger is computed — the warehouse a real close leaves. Then, in one process and one run:

- GX: every check as an UnexpectedRowsExpectation through the adapter (what ``shebao validate`` runs);
- direct: each check's same SQL text, counted in DuckDB without GX;
- findings: the INSERT … SELECT of every failing row into ``quality.findings``.

Usage: ``python bench/validate.py [--employees 200000] [--keep FILE]``. Prints timings and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expectations.gx_duckdb import SCOPE_QUALIFIED, set_scope  # noqa: E402
from expectations.registry import CHECKS  # noqa: E402
from expectations.suites import run_suites, write_findings  # noqa: E402
from sample import generate_inbox  # noqa: E402
from transforms.common.workdays import ensure_calendar  # noqa: E402
from transforms.ingest.inbox import ingest_inbox  # noqa: E402
from transforms.ledger.book import compute_ledger  # noqa: E402
from transforms.ledger.policy import apply_policy  # noqa: E402
from warehouse.db import connect, transaction  # noqa: E402

PREVIOUS, PERIOD = "2025-02", "2025-03"  # every sample city has a shipped pension policy then


def build(con, folder: Path, employees: int) -> None:
    """A warehouse as a close leaves it: sample inbox ingested, shipped policy, ledger of both months."""
    stages = {}
    started = time.perf_counter()
    generate_inbox(folder / "inbox", employees, PREVIOUS, PERIOD, formats="csv")
    stages["sample inbox"] = time.perf_counter() - started
    started = time.perf_counter()
    ingest_inbox(con, folder / "inbox")
    stages["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    apply_policy(con)
    for period in (PREVIOUS, PERIOD):
        compute_ledger(con, period)
    ensure_calendar(con)
    stages["ledger"] = time.perf_counter() - started
    rows = con.execute("SELECT (SELECT count(*) FROM core.payroll WHERE period = ?),"
                       " (SELECT count(*) FROM core.insurance WHERE period = ?)", [PERIOD, PERIOD]).fetchone()
    print(f"built {PERIOD}: {rows[0]:,} payroll rows, {rows[1]:,} insurance rows ("
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stages.items()) + ")")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="write the warehouse here instead of a temporary folder")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.keep or Path(folder.name) / "bench.duckdb"
    con = connect(path)
    build(con, Path(folder.name), args.employees)

    run_suites(con, PERIOD)  # warm-up: imports, GX context, DuckDB caches

    started = time.perf_counter()
    outcome = run_suites(con, PERIOD)
    gx_seconds = time.perf_counter() - started

    set_scope(con, PERIOD)
    direct: dict[str, int] = {}
    started = time.perf_counter()
    for check in CHECKS:
        direct[check.code] = con.execute(f"SELECT count(*) FROM ({check.sql_for(SCOPE_QUALIFIED)})").fetchone()[0]
    direct_seconds = time.perf_counter() - started

    started = time.perf_counter()
    with transaction(con):
        written = write_findings(con, "bench", PERIOD, expected_counts=outcome.counts)
    findings_seconds = time.perf_counter() - started
    con.close()

    assert direct == outcome.counts == written, "GX, direct SQL and quality.findings disagree"
    print(f"{'code':<28}{'findings':>10}")
    for code, count in outcome.counts.items():
        print(f"{code:<28}{count:>10,}")
    print(f"GX (15 UnexpectedRowsExpectations, 5 suites): {gx_seconds:.2f} s")
    print(f"same SQL texts directly in DuckDB:             {direct_seconds:.2f} s")
    print(f"ratio GX / direct:                              {gx_seconds / direct_seconds:.2f}x")
    print(f"writing all {sum(written.values()):,} findings (same texts, INSERT … SELECT): {findings_seconds:.2f} s")


if __name__ == "__main__":
    main()
