"""The ``shebao`` process (flows/launch.py): a command that runs flows starts Prefect's temporary server before
the command line loads, and the server is stopped when the process ends, even when the command is refused."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types

import psutil
import pytest
import typer.main

from flows.launch import SERVER_COMMANDS, runs_flows
from tests.flows.conftest import command_env


@pytest.mark.parametrize(("args", "expected"), [
    (["run", "--inbox", "in", "--period", "2024-03"], True),
    (["-v", "backfill", "--inbox", "in", "--from", "2024-01", "--to", "2024-03"], True),
    (["ingest", "--inbox", "in"], True),
    (["ledger", "--period", "2024-03"], True),
    (["validate", "--period", "2024-03"], True),
    (["actions", "--period", "2024-03"], True),
    (["actions", "run", "--period", "2024-03"], True),
    (["actions", "list"], False),
    (["actions", "dismiss", "A-1"], False),
    (["actions"], False),
    (["run", "--help"], False),
    (["--version"], False),
    (["export", "--period", "2024-03"], False),
    (["demo"], False),
    (["policy", "show", "--region", "run"], False),
    ([], False),
])
def test_the_words_that_start_a_server_first(args, expected):
    assert runs_flows(args) is expected


def _names_called(function) -> set[str]:
    """The names a command's function uses, and those its module's private helpers use that it calls."""
    function = inspect.unwrap(function)  # typer's wrapper around the command's own function
    code = function.__code__
    names = set(code.co_names)
    for name in code.co_names:
        called = function.__globals__.get(name)
        if name.startswith("_") and isinstance(called, types.FunctionType) and called.__module__ == function.__module__:
            names |= set(called.__code__.co_names)
    return names


def test_the_launcher_knows_every_command_that_starts_its_server_early():
    from flows.cli import app

    group = typer.main.get_command(app)
    starting = {name for name, command in group.commands.items()
                if command.callback is not None and "server_starting" in _names_called(command.callback)}
    assert starting == SERVER_COMMANDS


LAUNCHED = """
import sys

from flows.runtime import server

real = server.start_server_early


def spy():
    first = not server._early
    real()
    if first and server._early:
        print("started before the command line:", "flows.cli" not in sys.modules, server._early["process"].pid,
              flush=True)


server.start_server_early = spy
from flows.launch import main

main()
"""


def test_a_refused_command_started_its_server_first_and_leaves_none_behind(tmp_path):
    result = subprocess.run([sys.executable, "-c", LAUNCHED, "ledger", "--period", "2024-13"], cwd=tmp_path,
                            env=command_env(home=tmp_path / "prefect"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("shebao: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    *_, before, pid = result.stdout.split()
    assert before == "True"
    gone, alive = psutil.wait_procs([psutil.Process(int(pid))] if psutil.pid_exists(int(pid)) else [], timeout=10)
    assert not alive, "the temporary server outlived its command"
