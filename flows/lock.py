"""One writer at a time: a lock file beside the warehouse, honoured by every command that writes.

DuckDB itself refuses a second read-write process with an IO error; this lock turns that into a bounded
wait and one clear sentence, and covers the gaps between the connections a close opens and closes.

The lock is an ``flock`` on ``<warehouse>.lock``; the file records who holds it (pid, host, since). The
kernel releases an ``flock`` when its holder dies, so a killed run leaves no lock behind. One case is left:
a holder that forked a child (which inherits the open file) and died. The lock is then held although
the recorded pid is dead; a waiter on the same host sees that and takes the lock over by replacing the
file (under a second, short-lived guard lock so that two waiters cannot both take over).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from warehouse.errors import WarehouseError

DEFAULT_WAIT_SECONDS = float(os.environ.get("SHEBAO_LOCK_WAIT", "30"))
POLL_SECONDS = 0.2
_HELD: dict[Path, int] = {}  # locks this process holds: re-entering (a flow inside a CLI command) is free


def lock_path(warehouse: str | os.PathLike) -> Path:
    path = Path(warehouse)
    return path.with_name(path.name + ".lock")


def holder(warehouse: str | os.PathLike) -> dict:
    """What the lock file says about its holder: ``pid``, ``host``, ``since`` (empty when unknown)."""
    return holder_of(lock_path(warehouse))


@contextmanager
def warehouse_lock(warehouse: str | os.PathLike, wait: float | None = None) -> Iterator[Path]:
    """Hold the warehouse's lock for the block; wait up to ``wait`` seconds for another run to finish.

    ``wait`` defaults to ``$SHEBAO_LOCK_WAIT`` or 30 seconds; 0 means try once. Re-entrant within one
    process. Raises ``WarehouseError`` with one sentence when the lock stays taken.
    """
    wait = DEFAULT_WAIT_SECONDS if wait is None else max(0.0, float(wait))
    path = lock_path(Path(warehouse).resolve())
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"Cannot create the lock file {path} ({exc.strerror}); choose another --warehouse.") from None
    handle = _acquire(path, time.monotonic() + wait, warehouse)
    try:
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
        handle.close()  # closing releases the flock; the file stays (its contents only describe the holder)


def _open(path: Path):
    try:
        return open(path, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        raise WarehouseError(f"Cannot create the lock file {path} ({exc.strerror}); choose another --warehouse.") from None


def _same_file(handle, path: Path) -> bool:
    """True while ``path`` still names the file ``handle`` has open (a takeover replaces the file)."""
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _acquire(path: Path, deadline: float, warehouse):
    while True:
        handle = _open(path)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            if _take_over_if_stale(path):
                continue
            if time.monotonic() >= deadline:
                raise WarehouseError(_busy_sentence(warehouse, path)) from None
            time.sleep(POLL_SECONDS)
            continue
        if _same_file(handle, path):
            return handle
        handle.close()  # the file was replaced while we locked it: lock the new one


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _is_stale(info: dict) -> bool:
    pid = info.get("pid")
    return (isinstance(pid, int) and pid > 0 and info.get("host") == socket.gethostname()
            and not _pid_alive(pid))


def _take_over_if_stale(path: Path) -> bool:
    """Replace a lock file whose recorded holder is a dead process on this host; True if replaced."""
    if not _is_stale(holder_of(path)):
        return False
    guard_path = path.with_name(path.name + ".takeover")
    with open(guard_path, "a") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # another waiter is taking over; try again on the next round
        try:  # check again under the guard: someone may have taken over already
            if not _is_stale(holder_of(path)):
                return False
            with suppress(FileNotFoundError):
                path.unlink()
            return True
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def holder_of(path: Path) -> dict:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _busy_sentence(warehouse, path: Path) -> str:
    info = holder_of(path)
    who = f" (pid {info['pid']}, since {info['since']})" if {"pid", "since"} <= info.keys() else ""
    return f"The warehouse {warehouse} is being written by another shebao run{who}; try again when it finishes."
