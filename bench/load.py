"""Load: a year's backfill, month by month, to show time per month does not grow with history.

Usage: python bench/load.py [--employees 20000] [--months 12]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import REPO  # noqa: F401  (puts the project on sys.path)

from flows.close import monthly_close
from transforms.periods import months_between
from transforms.sample import generate_inbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    periods = months_between("2024-01", "2025-12")[-args.months:]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        generate_inbox(folder / "inbox", args.employees, periods[0], periods[-1], formats="csv")
        times = []
        for period in periods:
            started = time.perf_counter()
            monthly_close(inbox=str(folder / "inbox"), period=period, warehouse=str(folder / "w.duckdb"),
                          out=str(folder / "out"))
            times.append(time.perf_counter() - started)
            print(f"{period}: {times[-1]:.1f} s", flush=True)
    later = sum(times[2:]) / max(1, len(times) - 2)
    print(f"first month (ingests the whole inbox) {times[0]:.1f} s; months 3..{len(times)}: mean {later:.1f} s, "
          f"first {times[2]:.1f} s, last {times[-1]:.1f} s (ratio last/first {times[-1] / times[2]:.2f})")


if __name__ == "__main__":
    main()
