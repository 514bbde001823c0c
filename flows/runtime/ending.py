"""How a ``shebao`` process ends: its last exit handler, and the command's exit status for it.

``ends_with_the_command()`` is called first thing by an entry point (``flows.launch.main``, ``python -m
flows.cli``), before the temporary server's and Prefect's exit handlers are registered: handlers run last
registered first, so theirs (logs and events sent, the server stopped) run before this one. It then flushes and
ends the process without the interpreter's teardown, which freed every module and object one by one (about a CPU
second, and 3 s of a small close's start to exit on a busy machine). Every file a command writes is closed by then.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from collections.abc import Callable

_STATUS = {"code": 1}  # the command's exit status (1 until it returns or exits)


def ends_with_the_command() -> None:
    """Register the process's last exit handler; once, before anything registers its own."""
    atexit.register(_end_process)


def run_command(command_line: Callable[[list[str]], None]) -> None:
    """``command_line(sys.argv[1:])``, its exit status kept for the process's end."""
    try:
        command_line(sys.argv[1:])
    except SystemExit as exc:
        _STATUS["code"] = exc.code
        raise
    _STATUS["code"] = 0


def _end_process() -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said anyway
            stream.flush()
    code = _STATUS["code"]
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
