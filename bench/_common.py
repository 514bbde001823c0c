"""Shared bench helpers: a history inbox, the DuckDB read floor, and peak memory of a child process."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warehouse.db import extension_path  # noqa: E402

MONTHS = ("2024-03", "2025-03")  # 12 months of payroll history, then the month closed


def history_inbox(folder: Path, employees: int) -> Path:
    """CSV inbox: 13 months of payroll, and the other kinds for the last month only."""
    from transforms.sample import generate_inbox

    inbox = folder / "inbox"
    if not inbox.exists():
        generate_inbox(inbox, employees, MONTHS[0], MONTHS[1], formats="csv")
        last = MONTHS[1].replace("-", "")
        for path in inbox.iterdir():
            if not path.name.startswith("工资表_") and f"_{last}" not in path.name:
                path.unlink()
    return inbox


def duckdb_floor(inbox: Path, database: Path) -> tuple[float, int]:
    """DuckDB alone reading each CSV into a table of a database file (no processing): seconds, rows."""
    con = duckdb.connect(str(database))
    con.execute(f"LOAD '{extension_path('encodings')}'")
    started = time.perf_counter()
    rows = 0
    for index, path in enumerate(sorted(inbox.glob("*.csv"))):
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "gb18030"
        con.execute(f"CREATE TABLE t{index} AS SELECT * FROM read_csv(?, all_varchar = true, header = true, quote = '\"',"
                    " null_padding = true, strict_mode = false,"
                    f" encoding = '{encoding}')", [str(path)])
        rows += con.execute(f"SELECT count(*) FROM t{index}").fetchone()[0]
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds, rows


def measure_child(code: str) -> tuple[dict, float]:
    """Run ``code`` (printing one JSON line last) in a fresh interpreter: its result and peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    if result.returncode:
        raise SystemExit(result.stderr[-4000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(result.stdout.strip().splitlines()[-1]), max(peak, before) / 1024
