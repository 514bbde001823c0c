"""Benchmark: our ingest beside DuckDB alone reading the same CSV files into tables, from one run.

The inbox: ``--employees`` (default 200,000) × one month of all four kinds plus 12 months of payroll
history, CSV in UTF-8 and GBK, from ``sample.generate_inbox``. The floor: DuckDB ``read_csv``
of each file into a table of a database file, nothing else (GBK through the encodings extension). Ours:
``transforms.ingest.inbox.ingest_inbox`` into a fresh warehouse, in a fresh interpreter whose own peak RSS is
the memory figure. Targets (issue 17): at most 1.3× the floor, at most 2 GB.

Usage: python bench/ingest.py [--employees 200000] [--keep DIR] [--profile]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import duckdb_floor, history_inbox, measure_child, ratio_line, stopwatch

TARGET_RATIO = 1.3  # issue 17: ingest at the read floor
TARGET_MB = 2048

INGEST = """
import cProfile, io, json, pstats, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from transforms.ingest.inbox import ingest_inbox
from warehouse.db import connect
con = connect({warehouse!r})
profiler = cProfile.Profile() if {profile!r} else None
started = time.perf_counter()
if profiler:
    profiler.enable()
loads = ingest_inbox(con, Path({inbox!r}))
if profiler:
    profiler.disable()
seconds = time.perf_counter() - started
con.close()
if profiler:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    print(text.getvalue(), file=sys.stderr)
print(json.dumps({{"seconds": seconds, "rows": sum(l.get("rows_read", 0) for l in loads),
                   "staged": sum(l.get("rows_staged", 0) for l in loads),
                   "rejected": sum(l.get("rows_rejected", 0) for l in loads),
                   "statuses": sorted({{l["status"] for l in loads}})}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="keep the generated inbox in this folder (and reuse it next time)")
    parser.add_argument("--profile", action="store_true", help="profile our ingest (cProfile, top 30 to stderr)")
    args = parser.parse_args()
    from _common import REPO

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        with stopwatch() as generation:
            inbox = history_inbox(folder, args.employees)
        files = sorted(inbox.iterdir())
        megabytes = sum(p.stat().st_size for p in files) / 2**20
        floor, floor_rows = duckdb_floor(inbox, Path(scratch) / "floor.duckdb")
        code = INGEST.format(repo=str(REPO), warehouse=str(Path(scratch) / "ours.duckdb"), inbox=str(inbox),
                             profile=args.profile)
        ours, peak_mb = measure_child(code)
    print(f"inbox: {args.employees:,} employees, {len(files)} CSV files, {megabytes:.0f} MB, {floor_rows:,} data rows "
          f"(generated in {generation():.1f} s)")
    print(f"DuckDB read_csv into tables (the floor): {floor:.2f} s for {floor_rows:,} rows")
    print(f"shebao ingest: {ours['seconds']:.2f} s for {ours['rows']:,} rows read ({ours['staged']:,} staged, "
          f"{ours['rejected']:,} rejected; loads {', '.join(ours['statuses'])})")
    print(ratio_line("ingest vs floor", ours["seconds"], floor, TARGET_RATIO))
    verdict = "within" if peak_mb <= TARGET_MB else "OVER"
    print(f"peak RSS of the ingest process: {peak_mb:.0f} MB ({verdict} the target of {TARGET_MB} MB)")
    if ours["rows"] != floor_rows:
        print(f"note: ingest read {ours['rows']:,} rows, DuckDB {floor_rows:,}")


if __name__ == "__main__":
    main()
