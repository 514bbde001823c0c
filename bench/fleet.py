"""Benchmark: a fleet of clients closed on 1 worker and on 2 (``shebao fleet run --workers N``).

Each client is a folder with its own inbox (the generator's history inbox: 12 months of payroll, then the
month closed, different people per client), warehouse and outputs. For each worker count the fleet is closed
from fresh warehouses; printed: wall time, the mean and range of the per-client times (each client's own
process, start to exit, Prefect's start-up included) and the speed-up of 2 workers over 1. One run each:
figures, not assertions. The machine has 2 cores: a second worker can at best halve the wall time.

Usage: python bench/fleet.py [--clients 20] [--employees 10000] [--keep DIR]
  --keep DIR: generate the inboxes once into DIR and reuse them on later runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import MONTHS, REPO, history_inbox, stopwatch

sys.path.insert(0, str(REPO))


def build_clients(root: Path, clients: int, employees: int, keep: Path | None) -> Path:
    """``root/clients/client-NN/`` with a shebao.toml and an inbox (one generator seed per client)."""
    folder = root / "clients"
    for n in range(clients):
        key = f"client-{n + 1:02d}"
        source = (keep or root / "inboxes") / key
        source.mkdir(parents=True, exist_ok=True)
        inbox = history_inbox(source, employees, seed=n)
        client = folder / key
        client.mkdir(parents=True)
        (client / "shebao.toml").write_text(f'name = "客户{n + 1:02d}"\n', encoding="utf-8")
        shutil.copytree(inbox, client / "inbox", copy_function=os.link)  # hard links: no copy of the bytes
    return folder


def close_fleet(clients: Path, workers: int) -> tuple[float, list[float]]:
    """Fresh warehouses, then ``shebao fleet run``: wall seconds and each client's seconds."""
    for client in clients.iterdir():
        for made in ("shebao.duckdb", "shebao.duckdb.wal", "shebao.duckdb.lock", "out"):
            target = client / made
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    with stopwatch() as elapsed:
        result = subprocess.run([sys.executable, "-m", "flows.cli", "fleet", "run", "--clients", str(clients),
                                 "--period", MONTHS[1], "--workers", str(workers), "--out", str(clients.parent / "_fleet")],
                                cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"the fleet close failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    import openpyxl

    sheet = openpyxl.load_workbook(clients.parent / "_fleet" / MONTHS[1] / "fleet_summary.xlsx").active
    header = [cell.value for cell in sheet[1]]
    seconds = [row[header.index("用时(秒)")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    return elapsed(), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shebao-fleet-") as tmp:
        root = Path(tmp)
        with stopwatch() as made:
            clients = build_clients(root, args.clients, args.employees, args.keep)
        print(f"{args.clients} clients × {args.employees:,} employees: inboxes ready in {made():.1f} s", flush=True)
        walls = {}
        for workers in (1, 2):
            wall, per_client = close_fleet(clients, workers)
            walls[workers] = wall
            print(f"  {workers} worker{'s' if workers > 1 else ''}: {wall:7.1f} s wall; per client "
                  f"{sum(per_client) / len(per_client):.1f} s mean ({min(per_client):.1f}–{max(per_client):.1f})",
                  flush=True)
        print(f"  speed-up of 2 workers over 1: {walls[1] / walls[2]:.2f}×")


if __name__ == "__main__":
    main()
