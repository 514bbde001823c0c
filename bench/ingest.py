"""Benchmark: our ingest beside DuckDB alone reading the same CSV files into tables, from one run.

Usage: python bench/ingest.py [--employees 200000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import duckdb_floor, history_inbox, measure_child

INGEST = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, '.')
from transforms.ingest import ingest_inbox
from warehouse.db import connect
con = connect({warehouse!r})
started = time.perf_counter()
loads = ingest_inbox(con, Path({inbox!r}))
seconds = time.perf_counter() - started
con.close()
print(json.dumps({{"seconds": seconds, "rows": sum(l.get("rows_read", 0) for l in loads),
                   "staged": sum(l.get("rows_staged", 0) for l in loads)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="keep the generated inbox here (and reuse it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        started = time.perf_counter()
        inbox = history_inbox(folder, args.employees)
        generated = time.perf_counter() - started
        files = list(inbox.iterdir())
        size = sum(p.stat().st_size for p in files) / 1e6
        floor, floor_rows = duckdb_floor(inbox, Path(scratch) / "floor.duckdb")
        ours, peak = measure_child(INGEST.format(warehouse=str(Path(scratch) / "ours.duckdb"), inbox=str(inbox)))
    print(f"inbox: {args.employees:,} employees, {len(files)} CSV files, {size:.0f} MB, {floor_rows:,} rows "
          f"(generated in {generated:.1f} s)")
    print(f"DuckDB read_csv into tables (floor): {floor:.2f} s")
    print(f"shebao ingest: {ours['seconds']:.2f} s for {ours['rows']:,} rows ({ours['staged']:,} staged)")
    print(f"ratio: {ours['seconds'] / floor:.2f}x the floor (target <= 3x); peak memory {peak:.0f} MB (target <= 2048)")


if __name__ == "__main__":
    main()
