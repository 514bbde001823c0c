"""The ``shebao`` process: Prefect's temporary server started before the command line loads, and the end.

A command that runs flows waits for that server, whose start (Prefect's server imports, its routes) is the
longest thing the command does before its first flow run (docs/small-close.md). The command line itself
(``flows.cli``: typer, duckdb, our settings) takes 0.3–0.6 s to import, so the server starts here, first,
when the words typed name a command that runs flows; the command's own ``server_starting()`` then finds it
started. Anything else (``--help``, ``actions list``, ``policy``) loads the command line as before.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from collections.abc import Callable

# The commands whose bodies open ``flows.runtime.server.server_starting()`` (a test holds the two to each other).
SERVER_COMMANDS = frozenset({"run", "backfill", "ingest", "ledger", "validate", "actions"})
# ``shebao actions`` runs its flow given options alone, or as ``actions run``; its other words run none.
ACTIONS_FLOW_WORDS = frozenset({"run"})
NO_COMMAND = frozenset({"--help", "-h", "--version"})


def runs_flows(args: list[str]) -> bool:
    """Whether ``shebao ARGS`` names a command that runs flows (a global option such as ``-v`` may come first)."""
    words = [arg for arg in args if not arg.startswith("-")]
    if not words or words[0] not in SERVER_COMMANDS or NO_COMMAND & set(args):
        return False
    if words[0] == "actions":
        following = args[args.index("actions") + 1:]
        return bool(following) and (following[0].startswith("-") or following[0] in ACTIONS_FLOW_WORDS)
    return True


def main() -> None:
    """The ``shebao`` console script (and ``python -m flows.launch``): this process's command."""
    atexit.register(_end_process)  # before the server's and Prefect's exit handlers: the last to run
    _ENDING["registered"] = True
    if runs_flows(sys.argv[1:]):
        from flows.runtime import collector
        from flows.runtime.server import start_server_early

        collector.pause()  # through the command line's imports too; the command resumes it (server_ready)
        start_server_early()
    from flows.cli import main as command_line

    run_as_process(command_line)


def run_as_process(command_line: Callable[[list[str]], None]) -> None:
    """``command_line(sys.argv[1:])`` as this process's command: the process ends with it (``_end_process``)."""
    if not _ENDING["registered"]:
        atexit.register(_end_process)
        _ENDING["registered"] = True
    try:
        command_line(sys.argv[1:])
    except SystemExit as exc:
        _ENDING["code"] = exc.code
        raise
    _ENDING["code"] = 0


# the exit status of the command, for ``_end_process`` (1 until it returns or exits), and whether it is registered
_ENDING: dict = {"code": 1, "registered": False}


def _end_process() -> None:
    """The last exit handler of a ``shebao`` process (registered before Prefect's and the temporary server's,
    which run first: logs and events sent, the server stopped): flush, then end the process without the
    interpreter's teardown, which freed every module and object one by one (about a CPU second, and 3 s of
    a small close's start to exit on a busy machine). Every file a command writes is closed by then."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said anyway
            stream.flush()
    code = _ENDING["code"]
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    main()
