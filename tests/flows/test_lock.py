"""One writer at a time: bounded wait, one sentence naming the holder, released when the holder dies, never
taken over while a live process holds it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flows.lock import holder, lock_path, warehouse_lock
from warehouse.errors import WarehouseError

HOLD = textwrap.dedent("""
    import os, sys, time
    from flows.lock import warehouse_lock
    with warehouse_lock(sys.argv[1]):
        child = os.fork() if sys.argv[3] == "fork" else 0  # a forked child inherits the locked file
        if sys.argv[3] == "fork" and child == 0:
            time.sleep(float(sys.argv[2]))
            os._exit(0)
        print("held", child, flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _holder(warehouse: Path, seconds: float, fork: bool = False) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse), str(seconds), "fork" if fork else "-"],
                               stdout=subprocess.PIPE, text=True)
    word, child = process.stdout.readline().split()
    assert word == "held"
    return process, int(child)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_second_writer_refused_after_a_bounded_wait(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    process, _ = _holder(warehouse, 60)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseError) as refused, warehouse_lock(warehouse, wait=1.0):
            pass
        waited = time.monotonic() - started
        assert 1.0 <= waited < 10
        info = holder(warehouse)
        assert str(refused.value) == (f"The warehouse {warehouse} is being written by another shebao run (pid "
                                      f"{process.pid}, `{info['command']}`, since {info['since']}); try again when "
                                      "it finishes.")
        assert info["command"].startswith("-c ")  # what the holder runs: here python -c HOLD
    finally:
        process.kill()
        process.wait()


def test_waiting_writer_gets_the_lock_when_the_first_finishes(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    process, _ = _holder(warehouse, 2)
    started = time.monotonic()
    with warehouse_lock(warehouse, wait=30):
        assert time.monotonic() - started > 1  # it waited for the holder's block to end
        assert holder(warehouse)["pid"] == os.getpid()
    assert process.wait(timeout=30) == 0


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    process, _ = _holder(warehouse, 60)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with warehouse_lock(warehouse, wait=0):
        assert holder(warehouse)["pid"] == os.getpid()


def test_a_lock_file_naming_a_dead_process_is_taken_over(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    lock_path(warehouse).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(),
                                                "since": "2024-03-05T06:00:00"}))
    with warehouse_lock(warehouse, wait=0):
        info = holder(warehouse)
        assert info["pid"] == os.getpid() and info["host"] == socket.gethostname() and info["since"] != "2024-03-05T06:00:00"


def test_a_lock_held_by_a_live_child_of_a_dead_holder_is_never_taken_over(tmp_path: Path):
    """Issue 18 item 14: the holder forked (its child inherits the locked file) and died. The pid in the lock
    file is dead, but a live process holds the lock: it must not be taken over, and the refusal names the
    process that really holds it."""
    warehouse = tmp_path / "w.duckdb"
    process, child = _holder(warehouse, 60, fork=True)
    try:
        with pytest.raises(WarehouseError, match=f"pid {process.pid}"), warehouse_lock(warehouse, wait=0):
            pass
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        with pytest.raises(WarehouseError) as refused, warehouse_lock(warehouse, wait=1):
            pass
        assert f"(pid {child}, `" in str(refused.value) and "since " in str(refused.value)
        with pytest.raises(WarehouseError):  # nor in another process
            _other_process_tries(warehouse)
    finally:
        os.kill(child, signal.SIGKILL)
    time.sleep(0.5)
    with warehouse_lock(warehouse, wait=5):  # once the child is gone, the lock is free
        assert holder(warehouse)["pid"] == os.getpid()


def _other_process_tries(warehouse: Path) -> None:
    code = "import sys; from flows.lock import warehouse_lock\nwith warehouse_lock(sys.argv[1], wait=0): pass"
    result = subprocess.run([sys.executable, "-c", code, str(warehouse)], capture_output=True, text=True, timeout=60)
    if result.returncode and "is being written by another shebao run" in result.stderr:
        raise WarehouseError(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_lock_held_on_another_host_is_not_taken_over(tmp_path: Path):
    """A pid recorded by another machine (a shared folder) cannot be checked here: no takeover."""
    warehouse = tmp_path / "w.duckdb"
    process, _ = _holder(warehouse, 60)
    try:
        info = holder(warehouse) | {"host": "elsewhere.example", "pid": _dead_pid()}
        lock_path(warehouse).write_text(json.dumps(info))
        with pytest.raises(WarehouseError, match="being written by another"), warehouse_lock(warehouse, wait=0.5):
            pass
    finally:
        process.kill()
        process.wait()


def test_the_same_process_may_reenter(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    with warehouse_lock(warehouse, wait=0), warehouse_lock(warehouse, wait=0):
        pass
    with warehouse_lock(warehouse, wait=0):  # and it was released
        pass


def test_duckdb_held_by_another_program_names_it(tmp_path: Path):
    """Issue 14 item 4: another program (a DBeaver session, a notebook) holding DuckDB's own lock is named
    (pid, command, since) from DuckDB's error text, instead of being called "another shebao run"."""
    import duckdb

    from warehouse.db import connect

    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    code = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"
    other = subprocess.Popen([sys.executable, "-c", code, str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        for read_only in (False, True):
            with pytest.raises(WarehouseError) as refused:
                connect(warehouse, read_only=read_only)
            message = str(refused.value)
            assert message.startswith(f"The warehouse {warehouse} is open in another process (pid {other.pid}, `")
            assert "import duckdb" in message and ", since 20" in message and "shebao run" not in message
    finally:
        other.kill()
        other.wait()


def test_another_os_user_can_take_the_lock_after_this_one(request):
    """The lock file holds no personal data: made 0600 (the process umask), it locked every other OS user out
    of a shared warehouse for good (issue 30). A real second user takes it after this process let go."""
    import pwd
    import stat
    import subprocess
    import tempfile

    if os.getuid() != 0:
        pytest.skip("creating a second OS user needs root")
    user = "shebao_lock_test"
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", user], check=True)
    shared = Path(tempfile.mkdtemp(prefix="shebao-shared-"))  # not under pytest's folders: those are the owner's alone
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    shared.chmod(0o777)
    warehouse = shared / "w.duckdb"
    with warehouse_lock(warehouse, wait=0) as path:
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o666
    # the other user runs the system Python (the project's venv is not theirs to run) and does what
    # warehouse_lock does with the file: open it for appending, flock it, write itself in
    script = ("import fcntl, sys; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB);"
              " f.write('{}'); print('held')")
    done = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", script, str(path)],
                          capture_output=True, text=True, cwd=shared, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "held", done.stderr[-2000:]
