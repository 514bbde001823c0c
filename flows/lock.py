"""One writer at a time: a lock file beside the warehouse, honoured by every command that writes.

DuckDB itself refuses a second read-write process with an IO error; this lock turns that into a bounded
wait and one clear sentence, and covers the gaps between the connections a close opens and closes.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from warehouse.errors import WarehouseError

DEFAULT_WAIT_SECONDS = float(os.environ.get("SHEBAO_LOCK_WAIT", "30"))
_HELD: dict[Path, int] = {}  # locks this process holds: re-entering (a flow inside a CLI command) is free


def lock_path(warehouse: str | os.PathLike) -> Path:
    path = Path(warehouse)
    return path.with_name(path.name + ".lock")


@contextmanager
def warehouse_lock(warehouse: str | os.PathLike, wait: float | None = None) -> Iterator[Path]:
    """Hold the warehouse's lock for the block; wait up to ``wait`` seconds for another run to finish.

    The lock is an ``flock`` on the lock file: the kernel releases it when its holder dies, so a killed
    run never leaves a stale lock behind (the file may stay; its contents only describe the holder).
    """
    wait = DEFAULT_WAIT_SECONDS if wait is None else wait
    path = lock_path(warehouse).resolve()
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        raise WarehouseError(f"Cannot create the lock file {path} ({exc.strerror}); choose another --warehouse.") from None
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseError(_busy_sentence(warehouse, path)) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": datetime.now().isoformat(timespec="seconds")}))
        handle.flush()
        _HELD[path] = 1
        try:
            yield path
        finally:
            _HELD.pop(path, None)
    finally:
        handle.close()  # closing releases the flock


def _busy_sentence(warehouse, path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    who = f" (pid {holder['pid']}, since {holder['since']})" if {"pid", "since"} <= holder.keys() else ""
    return f"The warehouse {warehouse} is being written by another shebao run{who}; try again when it finishes."
