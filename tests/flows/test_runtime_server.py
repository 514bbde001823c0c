"""flows.runtime.server (issue 18 item 10): a ``kill -9`` of ``shebao`` takes its temporary Prefect server with it;
a server killed under a running ``shebao`` ends the command with one sentence."""

from __future__ import annotations

import ast
import contextlib
import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows.runtime.server import UNREAD_SERVICES_OFF, UNREAD_START_UP_OFF
from tests.conftest import prefect_home, sample_months
from tests.flows.conftest import command_env


def _server_of(process: psutil.Process, deadline: float) -> psutil.Process:
    while time.monotonic() < deadline:
        for child in process.children(recursive=True):
            try:
                if "uvicorn" in " ".join(child.cmdline()):
                    return child
            except psutil.Error:
                continue
        assert process.is_running(), "shebao ended before its temporary server was seen"
        time.sleep(0.2)
    raise AssertionError("no temporary Prefect server started within the deadline")


def _close_with_its_own_server(tmp_path: Path, acceptance_dir: Path, output: int) -> subprocess.Popen:
    """``shebao run`` of the acceptance sample with its own temporary server, started, not waited for."""
    env = command_env({"PREFECT_HOME": os.environ.get("PREFECT_HOME", str(tmp_path / "prefect"))}, embedded=True)
    return subprocess.Popen([sys.executable, "-m", "flows.launch", "run", "--inbox", str(acceptance_dir / "inbox"),
                             "--period", "2024-03", "--warehouse", str(tmp_path / "w.duckdb"),
                             "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, stdout=output, stderr=output,
                            text=True)


def test_the_temporary_server_dies_with_a_killed_shebao(tmp_path, acceptance_dir):
    shebao = _close_with_its_own_server(tmp_path, acceptance_dir, subprocess.DEVNULL)
    server = None
    try:
        server = _server_of(psutil.Process(shebao.pid), time.monotonic() + 240)
        os.kill(shebao.pid, signal.SIGKILL)
        shebao.wait()
        gone, alive = psutil.wait_procs([server], timeout=20)
        assert server in gone and not alive, "the temporary Prefect server outlived its parent"
    finally:
        if shebao.poll() is None:
            shebao.kill()
            shebao.wait()
        if server is not None and server.is_running():
            server.kill()


def test_a_close_whose_server_is_killed_ends_at_once_with_one_sentence(tmp_path, acceptance_dir):
    """Without the guard the close kept retrying its dead server for tens of minutes, deaf to SIGTERM."""
    shebao = _close_with_its_own_server(tmp_path, acceptance_dir, subprocess.PIPE)
    try:
        server = _server_of(psutil.Process(shebao.pid), time.monotonic() + 240)
        deadline = time.monotonic() + 240
        while not (tmp_path / "w.duckdb").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # inside the close's flows by now (or still starting: the same sentence either way)
        server.kill()
        _, err = shebao.communicate(timeout=120)
    finally:
        if shebao.poll() is None:
            shebao.kill()
            shebao.wait()
    assert shebao.returncode == 3, err[-2000:]
    assert err.strip().splitlines() == [
        "shebao: Prefect's temporary server stopped while the command ran (exit code -9); the command ended there. "
        "Committed steps are kept: run the same command again to finish."]


EARLY = """
import gc
import sys

import psutil
import flows.runtime
from flows.runtime.server import (FIRST_RUN_IMPORTS, UNREAD_SERVICES_OFF, UNREAD_START_UP_OFF, server_ready,
                                  server_starting, start_server_early)

with server_starting():  # as `shebao run` does
    start_server_early()  # a second call changes nothing
    from prefect import flow

    @flow
    def answer() -> int:
        return 42

    assert not any(name in sys.modules for name in FIRST_RUN_IMPORTS)
    assert not gc.isenabled() and gc.get_freeze_count() == 0
    server_ready()
    assert all(name in sys.modules for name in FIRST_RUN_IMPORTS)  # imported while the server started
    assert gc.isenabled() and gc.get_freeze_count() > 0  # the imports done: the collector resumed past them
    assert answer() == 42  # the run used the server started early
servers = [c for c in psutil.Process().children(recursive=True) if "uvicorn" in " ".join(c.cmdline())]
assert len(servers) == 1, servers
assert "prefect.server.api.server" not in sys.modules  # Prefect's server module is the server's alone
environ = servers[0].environ()
print({name: environ.get(name) for name in UNREAD_SERVICES_OFF | UNREAD_START_UP_OFF})
print("ok")
"""


def test_a_server_started_early_serves_the_first_flow_run(tmp_path, prefect_database):
    """... once ready, with the collector paused for the command's imports resumed, and runs without the services and start-up work nothing reads on it (in a new Prefect home, no block
    type is registered), except a service the environment turns back on."""
    env = command_env({"PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "true"},
                      home=prefect_home(tmp_path / "prefect", prefect_database()))
    result = subprocess.run([sys.executable, "-c", EARLY], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    *_, services, done = result.stdout.strip().splitlines()
    assert done == "ok"
    assert ast.literal_eval(services) == (UNREAD_SERVICES_OFF | UNREAD_START_UP_OFF
                                          | {"PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "true"})
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        assert db.execute("SELECT count(*) FROM block_type").fetchone() == (0,)


INGEST_COMMAND = """
import sys

from flows.cli import main

try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
# the server was started early, as for `shebao run`: Prefect's own start imports its server module here first
assert "prefect.server.api.server" not in sys.modules
print("ok")
"""


def test_a_flow_command_other_than_run_starts_its_server_early_too(tmp_path, acceptance_dir, prefect_database):
    env = command_env(home=prefect_home(tmp_path / "prefect", prefect_database()))
    # a month's files: what is tested is when the server starts, not the ingest
    inbox = sample_months(acceptance_dir / "inbox", tmp_path / "inbox", ("202403",))
    result = subprocess.run([sys.executable, "-c", INGEST_COMMAND, "ingest", "--inbox", str(inbox),
                             "--warehouse", str(tmp_path / "w.duckdb")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "ok"
    assert "rows read" in result.stdout


def test_a_temporary_server_prefect_starts_itself_runs_without_the_unread_services(prefect_harness):
    """The session's server, started by Prefect's own harness as Prefect starts a temporary server for flows
    run in a process that had loaded Prefect before the CLI could start one early."""
    from prefect.server.api.server import SubprocessASGIServer

    processes = [s.server_process for s in SubprocessASGIServer._instances.values() if s.running and s.server_process]
    assert processes, "no running temporary server"
    for process in processes:
        environ = psutil.Process(process.pid).environ()
        assert {name: environ.get(name) for name in UNREAD_SERVICES_OFF} == UNREAD_SERVICES_OFF
        assert {name: environ.get(name) for name in UNREAD_START_UP_OFF} == UNREAD_START_UP_OFF
        assert environ.get("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED") != "false", "alerts fire for a CLI run too"


STOPPED = """
from flows import lock
from flows.runtime import server

stop = server._stop


def spy():  # registered at exit by start_server_early in its place
    process, asked = server._early.get("process"), []
    if process is not None:
        terminate = process.terminate
        process.terminate = lambda: (asked.append("asked to stop"), terminate())
    stop()
    if process is not None:
        print("server ended:", process.returncode, *asked, flush=True)


def announced(*args):  # the command's imports and checks done, it waits for the warehouse
    print("waiting for the warehouse", flush=True)
    lock._acquire = acquire
    return acquire(*args)


server._stop = spy
acquire, lock._acquire = lock._acquire, announced
from flows.launch import main

main()
"""
ANSWERS = """
from flows.runtime.server import server_ready, start_server_early

start_server_early()
server_ready()
print("answered")
"""


@pytest.mark.slow
def test_a_command_ended_while_its_server_migrates_a_new_home_kills_it_and_the_next_server_goes_on(tmp_path,
                                                                                                    acceptance_dir):
    """A server that has not answered is killed, not asked to stop: uvicorn heeds SIGTERM only once started,
    and on a new Prefect home that is after seconds of migrating its database. The database stays whole, and
    the next command's server migrates the rest and answers."""
    home, warehouse = tmp_path / "prefect", tmp_path / "w.duckdb"
    env = command_env(home=home)
    with open(tmp_path / "w.duckdb.lock", "a+") as held:  # the command waits for the warehouse meanwhile
        fcntl.flock(held, fcntl.LOCK_EX)
        command = subprocess.Popen([sys.executable, "-c", STOPPED, "run", "--inbox", str(acceptance_dir / "inbox"),
                                    "--period", "2024-03", "--warehouse", str(warehouse), "--wait", "600"],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert command.stdout is not None and command.stdout.readline() == "waiting for the warehouse\n"
            migrating = _first_migration(home / "prefect.db", command)
            command.send_signal(signal.SIGINT)
            out, err = command.communicate(timeout=120)
        finally:
            if command.poll() is None:
                command.kill()
                command.wait()
    assert command.returncode == 128 + signal.SIGINT and err == "", err[-2000:]  # no "server stopped" sentence
    assert out.splitlines()[-1] == f"server ended: {-signal.SIGKILL}", (out, err[-2000:])  # killed, never asked
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    started = subprocess.run([sys.executable, "-c", ANSWERS], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
    assert started.returncode == 0 and started.stdout.split() == ["answered"], started.stderr[-2000:]
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM flow").fetchone() == (0,)  # the last migration's tables are there
    print(f"killed at migration {migrating}")


def _first_migration(database: Path, command: subprocess.Popen) -> str:
    """The first migration a new home's server committed (it commits them one by one), once there is one."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert command.poll() is None, command.communicate()[1][-2000:]
        if database.exists():
            with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(database, timeout=0.1)) as db:
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
                if row:
                    return row[0]
        time.sleep(0.05)
    raise AssertionError("the server committed no migration within the deadline")
