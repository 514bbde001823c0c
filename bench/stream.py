"""Benchmark: one large insurance extract ingested a piece at a time, beside the same file read whole (issue 28).

The file: the insurance extract of ``--employees`` (default 1,000,000) for one month, from
``sample.generate_inbox`` (the other files it writes are deleted), or ``--file``. Each reading runs
``ingest_inbox`` on a folder holding that file alone, into a fresh warehouse, in a fresh interpreter whose own
peak RSS is the memory figure (with the close's process defaults, ``flows.runtime``); "whole" sets ``SHEBAO_INGEST_STREAM_BYTES`` past the file's size. CPU seconds
are the child's own (user + system): on a shared machine compare them, and the ratio, rather than wall seconds.
Target: the 1,000,000 close within 2 GB at every step, so the ingest of its largest file well within it.

Usage: python bench/stream.py [--employees 1000000] [--file PATH] [--keep DIR] [--gbk] [--only streamed|whole]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from _common import REPO, measure_child

TARGET_MB = 2048

INGEST = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
import flows.runtime  # the close's process defaults first: polars' allocator hands freed pages back at once
from transforms.ingest.inbox import ingest_inbox
from warehouse.db import connect
con = connect({warehouse!r})
started = time.perf_counter()
loads = ingest_inbox(con, Path({inbox!r}))
seconds = time.perf_counter() - started
con.close()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                   "counts": [[l.get(k) for k in ("status", "rows_read", "rows_staged", "rows_rejected",
                                                  "rows_not_data")] for l in loads]}}))
"""


def extract(folder: Path, employees: int, gbk: bool) -> Path:
    """The month's insurance extract of ``employees``, generated once into ``folder`` (reused with --keep)."""
    from sample import generate_inbox

    inbox = folder / ("inbox-gbk" if gbk else "inbox")
    found = sorted(inbox.glob("参保明细_*.csv")) if inbox.is_dir() else []
    if found:
        return found[0]
    generated = folder / "generated"
    if not any(generated.glob("参保明细_*.csv")):
        shutil.rmtree(generated, ignore_errors=True)
        generate_inbox(generated, employees, "2025-03", "2025-03", seed=0, formats="csv")
    source = next(generated.glob("参保明细_*.csv"))
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / source.name
    if gbk:  # the same rows in GB18030, as a portal that exports GBK writes them
        target.write_bytes(source.read_bytes().decode("utf-8-sig").encode("gb18030"))
    else:
        shutil.copy(source, target)
    return target


def run(path: Path, scratch: Path, streamed: bool) -> tuple[dict, float]:
    inbox = scratch / "one"
    inbox.mkdir(exist_ok=True)
    link = inbox / path.name
    if not link.exists():
        link.symlink_to(path)
    warehouse = scratch / ("streamed.duckdb" if streamed else "whole.duckdb")
    for leftover in (warehouse, Path(f"{warehouse}.wal")):
        leftover.unlink(missing_ok=True)
    previous = os.environ.get("SHEBAO_INGEST_STREAM_BYTES")
    os.environ["SHEBAO_INBOX_FOLLOW_LINKS"] = "1"
    if not streamed:
        os.environ["SHEBAO_INGEST_STREAM_BYTES"] = str(path.stat().st_size + 1)
    try:
        return measure_child(INGEST.format(repo=str(REPO), warehouse=str(warehouse), inbox=str(inbox)))
    finally:
        if previous is None:
            os.environ.pop("SHEBAO_INGEST_STREAM_BYTES", None)
        else:
            os.environ["SHEBAO_INGEST_STREAM_BYTES"] = previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="ingest this CSV instead of a generated extract")
    parser.add_argument("--keep", type=Path, help="keep the generated extract in this folder (and reuse it)")
    parser.add_argument("--gbk", action="store_true", help="the generated extract in GB18030 rather than UTF-8")
    parser.add_argument("--only", choices=("streamed", "whole"), help="one reading only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        path = args.file.resolve() if args.file else extract(folder, args.employees, args.gbk)
        print(f"file: {path.name}, {path.stat().st_size / 1e6:,.0f} MB", flush=True)
        results = {}
        for streamed in (True, False):
            label = "streamed" if streamed else "whole"
            if args.only and args.only != label:
                continue
            with tempfile.TemporaryDirectory(dir=folder) as scratch:
                result, peak = run(path, Path(scratch), streamed)
            results[label] = result
            verdict = "within" if peak <= TARGET_MB else "OVER"
            print(f"{label:>8}: peak {peak:,.0f} MB ({verdict} {TARGET_MB:,} MB), {result['seconds']:.1f} s wall,"
                  f" {result['cpu']:.1f} s CPU; loads {result['counts']}", flush=True)
        if len(results) == 2:
            same = results["streamed"]["counts"] == results["whole"]["counts"]
            print(f"streamed / whole: {results['streamed']['cpu'] / results['whole']['cpu']:.2f}x CPU,"
                  f" {results['streamed']['seconds'] / results['whole']['seconds']:.2f}x wall;"
                  f" counts {'the same' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
