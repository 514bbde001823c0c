"""Load: the close over many employees within the memory target, and a year's backfill without growth.

Two measurements, each in a fresh interpreter (Prefect without a server, as a scheduled close runs):

1. ``--employees`` (default 200,000): one month closed over 12 months of payroll history (CSV inbox from
   the generator); wall time, rows, peak RSS of the process (target: at most 2 GB, SPEC ingest issue).
2. ``--backfill-employees`` (default 20,000) over ``--months`` (default 12): every month closed in order on
   one warehouse; time per month, with seconds per step, ledger rows and findings. The first month
   ingests the whole inbox; later months must not grow as the ledger, findings and actions accumulate.
   Then month 2 is closed once more, behind the whole year: the same month's work with all the history
   in place, which separates the cost of history from that of a later month's own data.
   ``--first-month-only``: close the first month of that backfill alone (the inbox still holds a year of
   all four kinds, so it is the month that ingests everything): seconds and peak RSS per step.

   The inbox is generated before the measured process starts (generation is not the close's memory).

   Months of equal size: the shipped policy starts 广州 in 2024-07 and 武汉 in 2025-01, so with it the
   ledger of a 2024-04..2025-03 backfill nearly doubles within the year and the months are not
   comparable. The backfill therefore runs with a policy file that carries each region's earliest
   figures back to the first month (``carried_back_policy``); ``--shipped-policy`` measures without it.

Usage: python bench/load.py [--employees 200000] [--backfill-employees 20000] [--months 12] [--skip-close]
       [--skip-backfill] [--first-month-only] [--shipped-policy] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from _common import MONTHS, REPO, history_inbox, measure_child

TARGET_MB = 2048

# Peak RSS per step: a thread samples this process's RSS, and the close's own ``timed`` steps are wrapped to
# note when each starts and ends; a step's peak is the highest sample inside it (ru_maxrss is the exact
# peak of the whole run).
STEP_PEAKS = """
import contextlib, threading, time, psutil
import flows.close as _close
_samples, _marks, _cpu, _me = [], [], {{}}, psutil.Process()
def _sample():
    while True:
        _samples.append((time.perf_counter(), _me.memory_info().rss))
        time.sleep(0.05)
threading.Thread(target=_sample, daemon=True).start()
_timed = _close.timed
@contextlib.contextmanager
def _marked(seconds, step):
    started, cpu = time.perf_counter(), sum(_me.cpu_times()[:2])
    with _timed(seconds, step) as shown:
        yield shown
    _marks.append((step, started, time.perf_counter()))
    _cpu[step] = sum(_me.cpu_times()[:2]) - cpu  # every thread of the close's process, not its Prefect server
_close.timed = _marked
def step_peaks():
    samples = list(_samples)
    peaks = {{step: max((rss for t, rss in samples if start <= t <= end), default=0) / 2**20
             for step, start, end in _marks}}
    _marks.clear()
    return peaks
def step_cpu():
    cpu = dict(_cpu)
    _cpu.clear()
    return cpu
"""

CLOSE = STEP_PEAKS + """
import json, sys, time
sys.path.insert(0, '.')
from flows.close import monthly_close
started = time.perf_counter()
summary = monthly_close(inbox={inbox!r}, period={period!r}, warehouse={warehouse!r}, out={out!r})
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": summary["ingest"]["rows_read"],
                   "ledger": summary["ledger"]["employees_in_ledger"], "findings": summary["validation"]["findings"],
                   "steps": summary["seconds"], "step_peaks": step_peaks()}}))
"""

FIRST_MONTH = STEP_PEAKS + """
import json, sys, time
sys.path.insert(0, '.')
from flows.close import monthly_close
started = time.perf_counter()
summary = monthly_close(inbox={inbox!r}, period={period!r}, warehouse={warehouse!r}, out={out!r}, policy={policy!r})
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": summary["ingest"]["rows_read"],
                   "ledger": summary["ledger"]["rows_appended"], "findings": summary["validation"]["findings"],
                   "steps": summary["seconds"], "step_peaks": step_peaks()}}))
"""

BACKFILL = """
import json, sys, time
sys.path.insert(0, '.')
from flows.close import monthly_close
periods = {periods!r}
times, steps, ledger_rows, findings = [], [], [], []
for period in periods:
    started = time.perf_counter()
    summary = monthly_close(inbox={inbox!r}, period=period, warehouse={warehouse!r}, out={out!r}, policy={policy!r})
    times.append(time.perf_counter() - started)
    steps.append(summary["seconds"])
    ledger_rows.append(summary["ledger"]["rows_appended"])
    findings.append(summary["validation"]["findings"])
    print(f"  {{period}}: {{times[-1]:6.1f}} s, {{ledger_rows[-1]:,}} ledger rows, {{findings[-1]:,}} findings, "
          f"steps {{summary['seconds']}}", file=sys.stderr, flush=True)
# Month 2 once more, now behind a year of closes: the same month's work with all the history in place.
started = time.perf_counter()
again = monthly_close(inbox={inbox!r}, period=periods[1 % len(periods)], warehouse={warehouse!r}, out={out!r},
                      policy={policy!r})
rerun = {{"seconds": time.perf_counter() - started, "steps": again["seconds"]}}
print(json.dumps({{"times": times, "steps": steps, "ledger_rows": ledger_rows, "findings": findings, "rerun": rerun}}))
"""


def months(end: str, count: int) -> list[str]:
    year, month = map(int, end.split("-"))
    index = year * 12 + month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def carried_back_policy(first: str, folder: Path) -> Path:
    """A policy file for the regions whose shipped figures start after ``first``: their rows, plus their
    earliest figures carried back to ``first``, so every month of the backfill books the same people."""
    shipped = pl.read_csv(REPO / "warehouse/reference/policy.csv", infer_schema=False)
    starts = shipped.group_by("region").agg(pl.col("effective_from").min().alias("start"))
    late = starts.filter(pl.col("start") > first)
    earliest = shipped.join(late, on="region").filter(pl.col("effective_from") == pl.col("start"))
    carried = earliest.with_columns(
        effective_from=pl.lit(first),
        effective_to=pl.col("start").map_elements(lambda start: months(start, 2)[0], return_dtype=pl.String),
        source=pl.lit("bench: earliest figures carried back"),
    ).drop("start")
    rows = pl.concat([carried, shipped.join(late.select("region"), on="region")]).sort("region", "effective_from")
    path = folder / "carried_back_policy.csv"
    rows.write_csv(path)
    return path


@contextmanager
def workspace(keep: Path | None, name: str) -> Iterator[tuple[Path, Path]]:
    """(folder for the inbox, scratch folder for the warehouse and outputs). With ``keep`` the inbox stays in
    ``keep/name`` for the next run; the warehouse is fresh every run either way."""
    with tempfile.TemporaryDirectory(dir=keep) as scratch:
        if keep is None:
            yield Path(scratch), Path(scratch)
        else:
            (keep / name).mkdir(parents=True, exist_ok=True)
            yield keep / name, Path(scratch)


def step_line(steps: dict, peaks: dict) -> str:
    return ", ".join(f"{step} {seconds:.1f} s / {peaks.get(step, 0):,.0f} MB" for step, seconds in steps.items())


def close_at(employees: int, keep: Path | None = None) -> dict:
    with workspace(keep, f"close-{employees}") as (kept, folder):
        inbox = history_inbox(kept, employees)
        result, peak = measure_child(CLOSE.format(inbox=str(inbox), period=MONTHS[1],
                                                  warehouse=str(folder / "w.duckdb"), out=str(folder / "out")))
    result |= {"employees": employees, "peak_mb": peak}
    verdict = "within" if peak <= TARGET_MB else "OVER"
    print(f"close {employees:,} employees, {result['rows']:,} rows read: {result['seconds']:.1f} s, "
          f"peak RSS {peak:,.0f} MB ({verdict} the {TARGET_MB:,} MB target), {result['ledger']:,} in the ledger, "
          f"{result['findings']:,} findings", flush=True)
    print(f"  per step (seconds / peak RSS): {step_line(result['steps'], result['step_peaks'])}", flush=True)
    return result


def backfill_inbox(folder: Path, employees: int, periods: list[str]) -> Path:
    """A year of all four kinds (CSV), generated outside the measured process; reused when kept."""
    from sample import generate_inbox

    inbox = folder / "inbox"
    if not (inbox.is_dir() and any(inbox.iterdir())):
        generate_inbox(inbox, employees, periods[0], periods[-1], formats="csv")
    return inbox


def first_month_at(employees: int, count: int, shipped_policy: bool = False, keep: Path | None = None) -> dict:
    """The first month of a ``count``-month backfill alone: it ingests the whole inbox (every kind, every month)."""
    periods = months(MONTHS[1], count)
    with workspace(keep, f"backfill-{employees}-{periods[0]}-{periods[-1]}") as (kept, folder):
        inbox = backfill_inbox(kept, employees, periods)
        policy = None if shipped_policy else str(carried_back_policy(periods[0], folder))
        result, peak = measure_child(FIRST_MONTH.format(inbox=str(inbox), period=periods[0], policy=policy,
                                                        warehouse=str(folder / "w.duckdb"), out=str(folder / "out")))
    verdict = "within" if peak <= TARGET_MB else "OVER"
    print(f"first backfill month {periods[0]} of {count}, {employees:,} employees, {result['rows']:,} rows read: "
          f"{result['seconds']:.1f} s, peak RSS {peak:,.0f} MB ({verdict} the {TARGET_MB:,} MB target), "
          f"{result['ledger']:,} ledger rows, {result['findings']:,} findings", flush=True)
    print(f"  per step (seconds / peak RSS): {step_line(result['steps'], result['step_peaks'])}", flush=True)
    return result | {"employees": employees, "period": periods[0], "peak_mb": peak}


def backfill_at(employees: int, count: int, shipped_policy: bool = False, keep: Path | None = None) -> dict:
    periods = months(MONTHS[1], count)
    with workspace(keep, f"backfill-{employees}-{periods[0]}-{periods[-1]}") as (kept, folder):
        inbox = backfill_inbox(kept, employees, periods)
        policy = None if shipped_policy else str(carried_back_policy(periods[0], folder))
        result, peak = measure_child(BACKFILL.format(periods=periods, inbox=str(inbox),
                                                     warehouse=str(folder / "w.duckdb"), out=str(folder / "out"),
                                                     policy=policy))
    times = result["times"]
    later = times[1:] or times
    half = max(1, len(later) // 2)
    first_half, second_half = sum(later[:half]) / half, sum(later[half:]) / max(1, len(later) - half)
    print(f"backfill {employees:,} employees x {count} months: " +
          ", ".join(f"{p} {t:.1f}s" for p, t in zip(periods, times, strict=True)), flush=True)
    print(f"  first month (ingests the inbox) {times[0]:.1f} s; months 2..{count}: mean of the first half "
          f"{first_half:.1f} s, second half {second_half:.1f} s (ratio {second_half / first_half:.2f}); "
          f"peak RSS {peak:,.0f} MB", flush=True)
    rerun = result["rerun"]
    print(f"  {periods[1 % count]} closed again after the year: {rerun['seconds']:.1f} s "
          f"(first time {times[1 % count]:.1f} s); steps {rerun['steps']}", flush=True)
    rows = result["ledger_rows"][1:] or result["ledger_rows"]
    print(f"  ledger rows per month {min(rows):,}..{max(rows):,} "
          f"({'carried-back policy' if not shipped_policy else 'shipped policy'}); per step, month 2 vs month "
          f"{count}: " + ", ".join(f"{step} {result['steps'][1 % count][step]:.1f}->{result['steps'][-1][step]:.1f}"
                                   for step in result["steps"][-1]), flush=True)
    return {"employees": employees, "periods": periods, "times": times, "ratio": second_half / first_half,
            "peak_mb": peak, "policy": "shipped" if shipped_policy else "carried back", "steps": result["steps"],
            "ledger_rows": result["ledger_rows"], "findings": result["findings"], "rerun": rerun}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--backfill-employees", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--skip-close", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--first-month-only", action="store_true",
                        help="close only the backfill's first month (it ingests the year's inbox): peak RSS per step")
    parser.add_argument("--shipped-policy", action="store_true",
                        help="backfill with the shipped policy (months of different sizes)")
    parser.add_argument("--keep", type=Path, help="keep the generated inboxes in this folder and reuse them")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    keep = args.keep.resolve() if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    figures = {}
    if not args.skip_close:
        figures["close"] = close_at(args.employees, keep)
    if args.first_month_only:
        figures["first_month"] = first_month_at(args.backfill_employees, args.months, args.shipped_policy, keep)
    elif not args.skip_backfill:
        figures["backfill"] = backfill_at(args.backfill_employees, args.months, args.shipped_policy, keep)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
