"""What a person at the terminal sees while a command runs: one line per stage, a progress bar where a
stage goes through many files, and nothing from the orchestrator unless ``--verbose``.

Flows call ``stage`` and ``advance``; outside the CLI (deployments, tests) nobody listens and both do
nothing, so the flows stay the same everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

_reporter: ConsoleReporter | None = None
# ``shebao --verbose``: kept here, not in flows.cli, which runs as __main__ under ``python -m flows.cli``
# (a second import of it would hold its own copy).
OPTIONS = {"verbose": False}


class ConsoleReporter:
    """Rich on stderr: a spinner or bar for the running stage, then one line ``✓ stage  N.N s  note``."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(stderr=True, highlight=False)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=True)
        self.task = None

    def start(self, label: str) -> None:
        if self.console.is_terminal:  # a bar only where someone watches; logs and pipes get the lines
            self.progress.start()
            self.task = self.progress.add_task(label, total=None)

    def advance(self, done: int, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def finish(self, label: str, seconds: float, note: str = "", failed: bool = False) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
            self.progress.stop()
        mark = "✗" if failed else "✓"
        self.console.print(f"{mark} {label:<28} {seconds:6.1f} s  {note}".rstrip(), soft_wrap=True, markup=False)


@contextmanager
def reporting(verbose: bool | None = None) -> Iterator[None]:
    """Report stages on the console for the block; Prefect's own console logs only when ``verbose``
    (default: ``shebao --verbose`` was given)."""
    global _reporter
    if verbose is None:
        verbose = OPTIONS["verbose"]
    if verbose:
        _restore_prefect_console()
    else:  # left quiet afterwards: Prefect still logs when its temporary server stops at exit
        _quiet_prefect_console()
    _reporter = ConsoleReporter()
    try:
        yield
    finally:
        _reporter = None


_LEVELS: dict[logging.Handler, int] = {}  # Prefect's console handlers and their configured levels


def _console_handlers() -> list[logging.Handler]:
    found = []
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.server", "uvicorn", "httpx"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                found.append(handler)
    return found


def _quiet_prefect_console() -> None:
    """Raise Prefect's console handlers above ERROR (its API log handler keeps every record): a failed task
    logs its traceback at ERROR, ~150 lines before the CLI's one sentence about the same failure (a full
    disk, a bad setting); ``--verbose`` shows them (issue 30)."""
    for handler in _console_handlers():
        _LEVELS.setdefault(handler, handler.level)
        handler.setLevel(logging.CRITICAL)


def _restore_prefect_console() -> None:
    for handler, level in _LEVELS.items():
        handler.setLevel(level)


@contextmanager
def stage(label: str, note=None) -> Iterator[dict]:
    """One console line for the block: ``label``, its seconds, and ``info["note"]`` set by the block."""
    info: dict = {"note": note or ""}
    if _reporter is None:
        yield info
        return
    started = time.perf_counter()
    _reporter.start(label)
    failed = True
    try:
        yield info
        failed = False
    finally:
        _reporter.finish(label, time.perf_counter() - started, "" if failed else info["note"], failed)


def advance(done: int, total: int) -> None:
    """Progress within the running stage (e.g. files loaded of the inbox)."""
    if _reporter is not None:
        _reporter.advance(done, total)
