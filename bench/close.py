"""Benchmark: the whole monthly close beside DuckDB alone reading the same CSV files, at several sizes.

Each size: a CSV inbox from the generator with 12 months of payroll history before the month closed
(the other extracts for that month). The floor is the fastest reader measured, polars reading every file
(GB18030/GBK files decoded once by Python's C codec first; ``_common.polars_floor``); beside it DuckDB alone
``read_csv``-ing every file into a table of a database file (GBK files through the encodings extension), the
floor before issue 28. Ratios are against the polars floor, measured in the same run. Beside the reads, the
write floor (``_common.duckdb_write_floor``): DuckDB alone storing the same rows as ingest must, as raw JSON
and as columns, on one thread. Ingest does the work of both: their sum on one core, the larger of the two at
best on two, reading beside writing. The close runs in a fresh process on the embedded defaults (Prefect
without a server, threads for the per-entity work), Prefect's temporary server started first, as ``shebao
run`` starts it, so that it starts while the close's modules import (the close's seconds begin after the
imports and include waiting for the server); its peak memory is the close process's own peak RSS, and the peak
of the process tree (the temporary Prefect server included). One run per size; the figures are ratios, not
assertions. Per size it prints the generation time, the floors, the ratios of the close and of its ingest to
the read floor (targets of issue 28 at 200,000: close within 15x, ingest within 3x, peak within 2 GB) and of
ingest to the larger floor, the peak RSS, the seconds and peak RSS of each step and the time outside them
(Prefect's start-up, imports, the role check, the summary and event at the end).

Usage: python bench/close.py [--sizes 10000,50000,200000] [--keep DIR]
  --keep DIR: generate each size's inbox once into DIR/<employees>/inbox and reuse it on later runs (a
  million employees' inbox takes minutes to write); the warehouse and outputs stay temporary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import MONTHS, REPO, duckdb_floor, duckdb_write_floor, history_inbox, polars_floor, stopwatch
from load import STEP_PEAKS

CLOSE = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
import flows.runtime
from flows.runtime.server import server_ready, start_server_early
start_server_early()
""" + STEP_PEAKS + """
from flows.close import monthly_close
started = time.perf_counter()
server_ready()
summary = monthly_close(inbox={inbox!r}, period={period!r}, warehouse={warehouse!r}, out={out!r})
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "rows": summary["ingest"]["rows_read"],
                   "ledger_rows": sum(e["rows"] for e in summary["entities"]),
                   "findings": summary["validation"]["findings"], "steps": summary["seconds"],
                   "step_peaks": step_peaks(), "step_cpu": step_cpu(),
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_close(folder: Path, inbox: Path) -> tuple[dict, float]:
    """The close in a fresh interpreter: its JSON line, and the peak RSS (MB) of its process tree."""
    code = CLOSE.format(repo=str(REPO), inbox=str(inbox), period=MONTHS[1], warehouse=str(folder / "w.duckdb"),
                        out=str(folder / "out"))
    # A fresh intermediate process, so RUSAGE_CHILDREN holds this close's tree and nothing before it.
    wrapper = ("import json, resource, subprocess, sys\n"
               "r = subprocess.run([sys.executable, '-c', sys.argv[1]], capture_output=True, text=True)\n"
               "sys.stderr.write(r.stderr[-4000:] if r.returncode else '')\n"
               "print(r.stdout.strip().splitlines()[-1] if r.returncode == 0 else '')\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
               "sys.exit(r.returncode)")
    result = subprocess.run([sys.executable, "-c", wrapper, code], capture_output=True, text=True, cwd=folder)
    if result.returncode:
        raise SystemExit(f"the close failed:\n{result.stderr[-4000:]}")
    line, tree = result.stdout.strip().splitlines()[-2:]
    return json.loads(line), float(tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000", help="employees per run, comma-separated")
    parser.add_argument("--keep", type=Path, help="keep and reuse each size's generated inbox under this folder")
    args = parser.parse_args()
    results = []
    print(f"close of {MONTHS[1]} with payroll from {MONTHS[0]}; floor = polars reading the same files "
          "(DuckDB read_csv beside it)", flush=True)
    for employees in [int(s) for s in args.sizes.split(",")]:
        kept = args.keep / str(employees) if args.keep else None
        if kept:
            kept.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=kept) as scratch:
            folder = Path(scratch)
            reused = kept is not None and (kept / "inbox").is_dir()
            with stopwatch() as generating:
                inbox = history_inbox(kept or folder, employees)
            generated = "reused" if reused else f"generated in {generating():.1f} s"
            files = len(list(inbox.iterdir()))
            megabytes = sum(p.stat().st_size for p in inbox.iterdir()) / 2**20
            print(f"{employees:>8,} employees: inbox {generated} ({files} files, {megabytes:.1f} MB)", flush=True)
            floor, rows, decoding = polars_floor(inbox)
            duck, duck_rows = duckdb_floor(inbox, folder / "floor.duckdb")
            # shown even when the close fails
            print(f"    floor: polars {floor:.2f} s ({rows:,} rows; of it decoding GB18030 {decoding:.2f} s); "
                  f"DuckDB read_csv {duck:.2f} s ({duck_rows:,} rows) = {duck / floor:.1f}x polars", flush=True)
            write, _ = duckdb_write_floor(inbox, folder / "write_floor.duckdb")
            (folder / "write_floor.duckdb").unlink()
            print(f"    write floor: DuckDB storing the same rows as raw JSON and as text columns, on one thread, "
                  f"{write:.2f} s = {write / floor:.1f}x the read floor; reading and writing, {floor + write:.2f} s "
                  f"of work = {(floor + write) / floor:.1f}x the read floor, at best "
                  f"{max(floor, write) / floor:.1f}x on two cores", flush=True)
            close, tree = run_close(folder, inbox)
        outside = close["seconds"] - sum(close["steps"].values())
        ingest = close["steps"].get("ingest", 0.0)
        results.append({"employees": employees, "rows": rows, "floor": floor, "duckdb_floor": duck,
                        "write_floor": write, **close, "tree_mb": tree})
        print(f"{employees:>8,} employees, {rows:>10,} rows: floor {floor:6.2f} s, close {close['seconds']:7.2f} s "
              f"= {close['seconds'] / floor:5.2f}x (target 15x), ingest {ingest:6.2f} s = {ingest / floor:5.2f}x "
              f"(target 3x; {ingest / max(floor, write):.2f}x the larger floor); peak RSS {close['peak_mb']:5.0f} MB "
              f"(process tree {tree:5.0f} MB; target 2,048); "
              f"{close['ledger_rows']:,} ledger rows, {close['findings']:,} findings", flush=True)
        print("    seconds (CPU seconds of the close's process) / peak RSS (MB) by step: " + ", ".join(
            f"{k} {v:.1f} s ({close['step_cpu'].get(k, 0):.1f}) / {close['step_peaks'].get(k, 0):,.0f}"
            for k, v in close["steps"].items())
              + f"; outside the steps {outside:.1f} s", flush=True)
    for before, after in zip(results, results[1:], strict=False):
        print(f"{before['employees']:,} -> {after['employees']:,}: rows x{after['rows'] / before['rows']:.2f}, "
              f"close time x{after['seconds'] / before['seconds']:.2f}, floor x{after['floor'] / before['floor']:.2f}, "
              f"peak x{after['peak_mb'] / before['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
