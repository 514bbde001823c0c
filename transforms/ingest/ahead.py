"""The next files read and staged on threads of their own while the current one is written (issue 28).

Staging is polars and writing is DuckDB; both let go of the GIL while they work, so on two cores the next
file's staging and the current file's writes overlap instead of taking turns. Only small files are staged
ahead (``AHEAD_BYTES``), and only beside a small one: memory holds the staged rows of at most
``PENDING_BYTES`` of small files (and the run or file that crossed it) more than before, never beside a large
file's chunks. What is staged ahead is exactly what the writer would stage
(``staged_file.stage_file``, the same functions); the writer still decides everything about the warehouse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from transforms.ingest.staged_file import StagedFile

# A file this large or larger is read by the writer itself: a payroll of 200,000 employees' inbox is about 7 MB
# a file, while a file past ``chunk_rows`` rows (some 30 MB of CSV) is written in chunks and never staged whole.
AHEAD_BYTES = 16 * 2**20
# Small files are staged in runs of at most this many files and bytes (``staged_file.stage_run``): a small close's
# inbox is some 150 files of 10 KB, each costing polars' fixed costs.
RUN_FILES, RUN_BYTES = 16, 2 * 2**20
# The writer hands the stager runs until this many bytes of files wait staged or being staged. A 200,000-employee
# payroll file (3-7 MB) takes longer to stage than to write: with one file ahead the writer waited for each and the
# stager then idled for the next, and ingest used about one core of two (docs/memory.md, round eight).
PENDING_BYTES = 16 * 2**20
# Threads staging ahead. With one, a small close's writer waited on it for over half of ingest (2.1 s of 3.8), idle;
# a second stages the next run meanwhile. A run larger than RUN_BYTES (a file of a large inbox alone) is staged
# one at a time, as with one thread: two at once held a second large file's staging, and the 200,000 inbox's
# ingest peaked 80-150 MB higher (docs/memory.md, round fourteen).
STAGERS = 2

T = TypeVar("T")
_END = object()


class StagedAhead:
    """Files staged ahead, by ``stage`` (a file's path -> its ``StagedFile``, or None to leave it to the
    writer) or several in one task by ``stage_run``, on ``STAGERS`` worker threads. Each file is taken from the
    task that staged it, so the writer's order is the inbox's whichever task ends first."""

    def __init__(self, stage: Callable[[Path], StagedFile | None],
                 stage_run: Callable[[list[Path]], dict[Path, StagedFile | None]] | None = None):
        self._stage = stage
        self._stage_run = stage_run
        self._pool = ThreadPoolExecutor(max_workers=STAGERS, thread_name_prefix="shebao-ingest-ahead")
        self._pending: dict[Path, Future] = {}
        self._large = threading.Lock()  # held while a run larger than RUN_BYTES is staged

    def start(self, path: Path) -> None:
        if path not in self._pending:
            self._pending[path] = self._pool.submit(self._bounded, [path], partial(self._stage, path))

    def start_run(self, paths: list[Path]) -> None:
        """Stage ``paths`` in one task, by ``stage_run`` (paths -> each one's ``StagedFile`` or None)."""
        paths = [path for path in paths if path not in self._pending]
        if paths and self._stage_run is not None:
            future = self._pool.submit(self._bounded, paths, partial(self._stage_run, paths))
            self._pending.update(dict.fromkeys(paths, future))

    def _bounded(self, paths: list[Path], stage: Callable[[], T]) -> T:
        """``stage()`` of ``paths``; one run larger than RUN_BYTES at a time."""
        if sum(file_size(path) for path in paths) <= RUN_BYTES:
            return stage()
        with self._large:
            return stage()

    def pending_bytes(self, besides: Path) -> int:
        """Bytes of the files started and not taken yet, but ``besides`` (the file being written)."""
        return sum(file_size(path) for path in self._pending if path != besides)

    def take(self, path: Path) -> StagedFile | None:
        """The file staged ahead, or None: not started, taken before, or its staging failed."""
        future = self._pending.pop(path, None)
        if future is None:
            return None
        try:
            done = future.result()
        except Exception:  # the writer reads and stages the file again, and records what went wrong as for any file
            return None
        return done.get(path) if isinstance(done, dict) else done

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)


def file_size(path: Path) -> int:
    """``path``'s bytes, 0 if it cannot be seen: such a file is read whole, and its failure recorded."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def one_ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """``items`` in order, the next one computed on a thread of its own while the caller uses this one: a large
    file's next chunk is staged while this chunk is written (issue 28; it was staged, then written, on one
    thread). One chunk more is held than before. An item's exception is raised where the item would be."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shebao-ingest-chunk")
    future = pool.submit(next, items, _END)
    try:
        while (item := future.result()) is not _END:
            future = pool.submit(next, items, _END)
            yield item  # type: ignore[misc]  # not _END
    finally:
        future.cancel()
        pool.shutdown(wait=True)  # a chunk being staged is finished first: a generator runs on one thread at a time
        close = getattr(items, "close", None)
        if close is not None:
            close()
