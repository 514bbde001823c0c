"""One writer at a time: bounded wait, one sentence, released when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flows.lock import warehouse_lock
from warehouse.errors import WarehouseError

HOLD = textwrap.dedent("""
    import sys, time
    from flows.lock import warehouse_lock
    with warehouse_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _holder(warehouse: Path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse), str(seconds)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_writer_refused_after_a_bounded_wait(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    holder = _holder(warehouse, 30)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseError, match=r"is being written by another shebao run \(pid \d+"), \
                warehouse_lock(warehouse, wait=0.5):
            pass
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()


def test_waiting_writer_gets_the_lock_when_the_first_finishes(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    holder = _holder(warehouse, 1)
    with warehouse_lock(warehouse, wait=30):
        assert holder.poll() is not None or holder.wait(timeout=30) == 0


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    holder = _holder(warehouse, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with warehouse_lock(warehouse, wait=2):
        pass


def test_the_same_process_may_reenter(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    with warehouse_lock(warehouse, wait=0), warehouse_lock(warehouse, wait=0):
        pass
    with warehouse_lock(warehouse, wait=0):  # and it was released
        pass
