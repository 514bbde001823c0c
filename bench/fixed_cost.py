"""Benchmark: the fixed cost of a small close, split into the orchestrator's start-up and our own work.

The acceptance sample (``../shared/acceptance``: 150 employees, 155 files) closed for 2024-03 with its
policy file, in a fresh interpreter on the embedded defaults (Prefect's temporary server), as
``shebao run`` does. Its wall time is split into:

- imports: Prefect itself, then our flows (polars, DuckDB, GX, ... behind them), while Prefect's temporary
  server starts in its own process (``flows.runtime.server.start_server_early``, as ``shebao run`` does);
- orchestrator: the wait for that server after the imports (the part of its start they did not cover),
  and the rest of Prefect's per-run bookkeeping (the time outside our functions). A checkout before
  ``flows/runtime`` (``--repo``) imports Prefect's server module and starts the server in the first flow
  run instead: both are shown then;
- ours: the close's steps, and inside them the fixed parts measured by name: every warehouse connection
  (migrations and models applied on connect), GX context creation, the Data Docs, the HR report, and the
  per-file cost of ingest (files x mean seconds per file).

The parts are measured by wrapping the named functions with a stopwatch (they run unchanged). Wall
seconds on a shared machine vary with its load: CPU seconds of the close process are printed beside them.
Last, ``shebao run`` itself (``python -m flows.launch run``, as ``shebao run`` runs it: what the CLI arranges, such
as starting Prefect's server while the flows import, counts here) from start to exit.

``--runs N`` repeats both in fresh interpreters and prints each run; ``--repo DIR`` measures the code of
another checkout (the figures before a change); ``--profile`` prints the top functions by cumulative time
(cProfile, the flow's own thread) to stderr.

Usage: python bench/fixed_cost.py [--runs 1] [--repo DIR] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, stopwatch

SAMPLE = REPO.parent / "shared" / "acceptance"

CHILD = r"""
import json, sys, tempfile, time
sys.path.insert(0, {repo!r})

wall, cpu = time.perf_counter, time.process_time
parts = {{}}

def add(name, w, c):
    total = parts.setdefault(name, [0, 0.0, 0.0])
    total[0] += 1; total[1] += w; total[2] += c

def timed(name, function):
    def wrapper(*args, **kwargs):
        w, c = wall(), cpu()
        try:
            return function(*args, **kwargs)
        finally:
            add(name, wall() - w, cpu() - c)
    return wrapper

w, c = wall(), cpu()
try:  # as ``shebao run`` does: Prefect's temporary server started first, while everything else imports
    import flows.runtime
    from flows.runtime.server import server_ready, start_server_early
except ImportError:  # a checkout before flows/runtime (--repo): Prefect starts the server at the first flow run
    import flows.settings
    server_ready = start_server_early = lambda: None
start_server_early()
import prefect
add("import prefect, start the server", wall() - w, cpu() - c)
w, c = wall(), cpu()
from flows.close import monthly_close
add("import our flows", wall() - w, cpu() - c)
w, c = wall(), cpu()
server_ready()
add("wait for the server", wall() - w, cpu() - c)

if "flows.settings" in sys.modules:  # Prefect imports its server module and starts the server in the close
    w, c = wall(), cpu()
    import prefect.server.api.server as server
    add("import prefect's server", wall() - w, cpu() - c)
    server.SubprocessASGIServer.start = timed("start prefect's server", server.SubprocessASGIServer.start)
import great_expectations as gx
import warehouse.db, warehouse.migrate, expectations.suites, flows.actions, transforms.ingest.inbox
warehouse.db.connect = timed("connect (migrations, models)", warehouse.db.connect)
warehouse.migrate.apply_models = timed("  of which models", warehouse.migrate.apply_models)
warehouse.migrate.migrate = timed("  of which migrations", warehouse.migrate.migrate)
gx.get_context = timed("GX context", gx.get_context)
expectations.suites.build_data_docs = timed("GX data docs", expectations.suites.build_data_docs)
flows.actions.write_hr_report = timed("HR report", flows.actions.write_hr_report)
transforms.ingest.inbox.ingest_file = timed("ingest per file", transforms.ingest.inbox.ingest_file)

profile = {profile!r}
if profile:
    import cProfile
    profiler = cProfile.Profile(); profiler.enable()
folder = tempfile.mkdtemp()
w, c = wall(), cpu()
summary = monthly_close(inbox={inbox!r}, period="2024-03", warehouse=folder + "/w.duckdb", out=folder + "/out",
                        policy={policy!r})
add("close", wall() - w, cpu() - c)
if profile:
    import pstats
    profiler.disable(); pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(50)
print(json.dumps({{"parts": parts, "steps": summary["seconds"], "files": summary["ingest"]["files_seen"]}}))
"""


def measure(repo: Path, profile: bool) -> dict:
    code = CHILD.format(repo=str(repo), inbox=str(SAMPLE / "inbox"), policy=str(SAMPLE / "policy.csv"),
                        profile=profile)
    with stopwatch() as elapsed:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo)
    if profile:
        sys.stderr.write(result.stderr)
    if result.returncode:
        raise SystemExit(f"the close failed:\n{result.stderr[-4000:]}")
    line, process = result.stdout.strip().splitlines()[-1], elapsed()
    return json.loads(line) | {"process": float(process)}


def report(run: dict) -> None:
    parts, steps = run["parts"], run["steps"]
    close_wall, close_cpu = parts["close"][1], parts["close"][2]
    imports = sum(parts[name][1] for name in ("import prefect, start the server", "import our flows"))
    print(f"process {run['process']:.2f} s wall (interpreter start, imports, close, the server's stop); "
          f"close {close_wall:.2f} s wall, {close_cpu:.2f} s CPU in this process")
    for name, (count, seconds, cpu_seconds) in parts.items():
        if name != "close":
            print(f"    {name:<32} {count:>4}x {seconds:7.2f} s wall {cpu_seconds:7.2f} s CPU")
    files = parts.get("ingest per file", [0, 0.0, 0.0])
    print(f"    ingest: {files[0]} files, {files[1] / max(files[0], 1) * 1000:.0f} ms wall a file")
    print("    seconds by step: " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    in_steps = sum(steps.values())
    server_import = parts.get("import prefect's server", [0, 0.0, 0.0])[1]
    started = parts.get("start prefect's server", [0, 0.0, 0.0])[1]  # inside the close (Prefect's own start)
    waited = parts.get("wait for the server", [0, 0.0, 0.0])[1]  # after the imports (the early start)
    outside = close_wall - in_steps - started
    orchestrator = server_import + started + waited + outside
    print(f"    split: imports {imports:.2f} s; orchestrator {orchestrator:.2f} s (server import {server_import:.2f}, "
          f"server start {started + waited:.2f} not overlapped, outside our steps {outside:.2f}); "
          f"our steps {in_steps:.2f} s")


def cli_seconds(repo: Path) -> tuple[float, float]:
    """``shebao run`` of the sample, from the command's start to its exit: wall seconds, and CPU seconds of
    the command and its temporary server (steadier than wall seconds on a busy machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEBAO_", "PREFECT_API"))}
    env["PYTHONPATH"] = str(repo)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as scratch, stopwatch() as elapsed:
        result = subprocess.run([sys.executable, "-m", "flows.launch", "run", "--inbox", str(SAMPLE / "inbox"),
                                 "--policy", str(SAMPLE / "policy.csv"), "--period", "2024-03",
                                 "--warehouse", f"{scratch}/w.duckdb", "--out", f"{scratch}/out"],
                                capture_output=True, text=True, cwd=repo, env=env)
    if result.returncode:
        raise SystemExit(f"shebao run failed:\n{result.stderr[-4000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(elapsed()), after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="fresh interpreters, one close each")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code is measured")
    parser.add_argument("--profile", action="store_true", help="cProfile's top functions to stderr")
    args = parser.parse_args()
    repo = args.repo.resolve()
    print(f"the acceptance sample ({SAMPLE}) closed for 2024-03 with its policy, in a fresh interpreter; "
          f"code of {repo}", flush=True)
    for number in range(1, args.runs + 1):
        print(f"run {number}:", flush=True)
        report(measure(repo, args.profile))
        wall_seconds, cpu_seconds = cli_seconds(repo)
        print(f"    shebao run: {wall_seconds:.2f} s wall from start to exit, {cpu_seconds:.2f} s CPU (with its "
              "server)", flush=True)


if __name__ == "__main__":
    main()
