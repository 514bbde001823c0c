"""One in-memory DuckDB a process for the small computations outside the warehouse: sums over a frame or a
spooled file, an action's typed fields read from its JSON details, a shipped reference file read.

A DuckDB instance costs 12-15 ms of CPU to start and 2 to stop, whatever it is asked (it loads its built-in
functions each time); a small close started some thirty of them for a few milliseconds of queries each. Each use
gets a connection of its own on the one instance (a cursor), closed after it: the frames it registers and the
temporary views it creates are its own, so threads (the per-entity files) use it side by side. It holds no
table, so nothing stays in its memory between uses; its limits are DuckDB's defaults, as a new instance's were.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

SHARED_READS_BELOW_BYTES = 16 * 2**20  # a small close's spools and action details are kilobytes
_INSTANCE: list[duckdb.DuckDBPyConnection] = []
_LOCK = threading.Lock()
# A forked child has none of the instance's threads: it starts its own, and never stops the parent's (stopping
# it would wait on threads that are not there).
_INHERITED: list[duckdb.DuckDBPyConnection] = []


def _forget_in_child() -> None:
    global _LOCK
    _INHERITED.extend(_INSTANCE)
    _INSTANCE.clear()
    _LOCK = threading.Lock()  # a thread of the parent may have held it when the process forked


os.register_at_fork(after_in_child=_forget_in_child)


@contextmanager
def scratch(reads: int = 0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection of the process's in-memory DuckDB, started on first use; closed when the block ends.
    ``reads``: the bytes the use reads (a file's size, a frame's estimated size). From ``SHARED_READS_BELOW_BYTES`` on
    it gets an instance of its own, stopped after it: an instance keeps memory it once used, and a 1,000,000
    close's per-entity sums on the shared one kept 120-180 MB more for the rest of the close."""
    if reads >= SHARED_READS_BELOW_BYTES:
        with duckdb.connect(":memory:") as alone:
            yield alone
        return
    with _LOCK:
        if not _INSTANCE:
            # the files it reads (spools a close deletes) are not kept cached: an instance per use kept none
            _INSTANCE.append(duckdb.connect(":memory:", config={"enable_external_file_cache": False}))
        con = _INSTANCE[0].cursor()
    try:
        yield con
    finally:
        con.close()


def bytes_of(rows: pl.DataFrame | Path) -> int:
    """What :func:`scratch` is told a use reads: a frame's estimated size, a file's size."""
    return int(rows.estimated_size()) if isinstance(rows, pl.DataFrame) else Path(rows).stat().st_size
