"""Benchmark: the whole monthly close beside DuckDB alone reading the same CSV files, at several sizes.

Each size: 12 months of payroll history plus the month closed (CSV inbox from the generator); the close
runs in a fresh process (Prefect without a server), its peak memory measured.
Usage: python bench/close.py [--sizes 10000,50000,200000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import MONTHS, duckdb_floor, history_inbox, measure_child

CLOSE = """
import json, sys, time
sys.path.insert(0, '.')
from flows.close import monthly_close
started = time.perf_counter()
summary = monthly_close(inbox={inbox!r}, period={period!r}, warehouse={warehouse!r}, out={out!r})
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": summary["ingest"]["rows_read"],
                   "findings": summary["validation"]["findings"]}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    args = parser.parse_args()
    results = []
    for employees in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            inbox = history_inbox(folder, employees)
            floor, rows = duckdb_floor(inbox, folder / "floor.duckdb")
            close, peak = measure_child(CLOSE.format(inbox=str(inbox), period=MONTHS[1],
                                                     warehouse=str(folder / "w.duckdb"), out=str(folder / "out")))
        results.append((employees, rows, floor, close["seconds"], peak, close["findings"]))
        print(f"{employees:>8,} employees {rows:>10,} rows: floor {floor:6.2f} s, close {close['seconds']:7.2f} s, "
              f"ratio {close['seconds'] / floor:4.1f}x, peak {peak:5.0f} MB, {close['findings']:,} findings", flush=True)
    if len(results) > 1:
        (_, r0, _, c0, _, _), (_, r1, _, c1, _, _) = results[0], results[-1]
        print(f"growth: rows x{r1 / r0:.1f} -> close time x{c1 / c0:.1f} (linear would be x{r1 / r0:.1f})")


if __name__ == "__main__":
    main()
