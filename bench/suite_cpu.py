"""Benchmark: where the test suite's CPU goes, by module and by test.

The suite is CPU-bound on two cores, and its wall time on a shared machine moves with the load, so this
counts CPU seconds: each test's own process (setup, call and teardown) plus the children it started and
waited for (``shebao`` subprocesses and their temporary servers). A worker's session and module fixtures are
torn down after its last test; that teardown (the worker's Prefect server, with the CPU it spent serving every
flow run of the worker's tests, tens of seconds) is counted on its own line, ``<teardown after the worker's
last test>``, not against that test.

It runs pytest with the plugin below (``-p suite_cpu``) and any pytest arguments given after ``--``, by default
the whole suite as ``make test`` runs it, then prints the modules and the tests that cost most.

Usage: python bench/suite_cpu.py [--top 30] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RECORD_ENV = "SHEBAO_SUITE_CPU_RECORD"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# The plugin: pytest imports this module with `-p suite_cpu` (bench/ on the path).
_started: dict[str, tuple[float, float]] = {}
_recording = [True]
_last_teardown: dict[str, float] = {}  # the CPU of the teardown after a worker's last test
LAST_TEARDOWN = "<teardown after the worker's last test>"


def pytest_configure(config) -> None:
    # pytest-xdist's controller sees every test's start and finish too: only the process running a test counts it
    _recording[0] = not getattr(config.option, "numprocesses", None) or bool(os.environ.get("PYTEST_XDIST_WORKER"))


def pytest_runtest_logstart(nodeid: str, location) -> None:
    if _recording[0]:
        _started[nodeid] = (_cpu(), time.perf_counter())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is not None or not _recording[0]:
        yield
        return
    cpu = _cpu()  # the last test: its teardown finalises every session and module fixture
    yield
    _last_teardown[item.nodeid] = _cpu() - cpu


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    record = os.environ.get(RECORD_ENV)
    if not record or nodeid not in _started:
        return
    cpu, wall = _started.pop(nodeid)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    teardown = _last_teardown.pop(nodeid, 0.0)
    rows = [{"test": nodeid, "cpu": _cpu() - cpu - teardown, "wall": time.perf_counter() - wall}]
    if teardown:
        rows.append({"test": LAST_TEARDOWN, "cpu": teardown, "wall": 0.0})
    with open(record, "a", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row | {"worker": worker, "ended": time.time()}) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=30)
    args, rest = parser.parse_known_args()
    pytest_args = [a for a in rest if a != "--"] or ["-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", "-q"]
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "cpu.jsonl"
        env = {**os.environ, RECORD_ENV: str(record),
               "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), str(REPO), os.environ.get("PYTHONPATH", "")])}
        started, started_at = time.perf_counter(), time.time()
        code = subprocess.call([sys.executable, "-m", "pytest", "-p", "suite_cpu", *pytest_args], cwd=REPO, env=env)
        wall = time.perf_counter() - started
        rows = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] if record.exists() else []
    by_module: Counter[str] = Counter()
    for row in rows:
        by_module[row["test"].split("::")[0]] += row["cpu"]
    total = sum(by_module.values())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pytest, its workers and all they waited for
    tests = sum(row["test"] != LAST_TEARDOWN for row in rows)
    print(f"\n{tests} tests, {total:.0f} CPU-s counted, {children.ru_utime + children.ru_stime:.0f} CPU-s in all "
          f"(collection, workers' start), {wall:.0f} s wall (load {os.getloadavg()[0]:.1f} at the end)")
    # the balance between pytest-xdist's workers: when each ended its last test, and the CPU its tests took
    workers: dict[str, list[float]] = {}
    for row in rows:
        ended, cpu = workers.setdefault(row["worker"], [0.0, 0.0])
        workers[row["worker"]] = [max(ended, row["ended"] - started_at), cpu + row["cpu"]]
    for worker, (ended, cpu) in sorted(workers.items()):
        print(f"  {worker or 'main'}: last test ended at {ended:.0f} s, {cpu:.0f} CPU-s in its tests")
    print(f"\nmodules by CPU seconds (top {args.top}):")
    for module, cpu in by_module.most_common(args.top):
        print(f"  {cpu:8.1f}  {cpu / total:5.1%}  {module}")
    print(f"\ntests by CPU seconds (top {args.top}):")
    for row in sorted(rows, key=lambda r: -r["cpu"])[:args.top]:
        print(f"  {row['cpu']:8.1f}  {row['test']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
