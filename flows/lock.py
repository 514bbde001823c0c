"""One writer at a time: a lock file beside the warehouse, honoured by every command that writes.

DuckDB itself refuses a second read-write process with an IO error; this lock turns that into a bounded
wait and one clear sentence, and covers the gaps between the connections a close opens and closes.

The lock is an ``flock`` on ``<warehouse>.lock``; the file records who took it (pid, host, command,
since). The kernel releases an ``flock`` when the last process holding the open file is gone, so a
killed run leaves no lock behind, and a lock still held is held by a live process: it is never taken
over, whatever pid the file records (a holder's forked child keeps it until it exits). A refusal names
the live holder: the recorded one while it has the file open, else the process found holding it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from warehouse.db import process_description
from warehouse.errors import WarehouseError
from warehouse.settings import settings

POLL_SECONDS = 0.2
_HELD: dict[Path, int] = {}  # locks this process holds: re-entering (a flow inside a CLI command) is free


def lock_path(warehouse: str | os.PathLike) -> Path:
    path = Path(warehouse)
    return path.with_name(path.name + ".lock")


def holder(warehouse: str | os.PathLike) -> dict:
    """What the lock file says about its holder: ``pid``, ``host``, ``command``, ``since`` (empty when unknown)."""
    return holder_of(lock_path(warehouse))


@contextmanager
def warehouse_lock(warehouse: str | os.PathLike, wait: float | None = None) -> Iterator[Path]:
    """Hold the warehouse's lock for the block; wait up to ``wait`` seconds for another run to finish.

    ``wait`` defaults to ``$SHEBAO_LOCK_WAIT`` or 30 seconds; 0 means try once. Re-entrant within one
    process. Raises ``WarehouseError`` with one sentence when the lock stays taken.
    """
    wait = settings().lock_wait if wait is None else max(0.0, float(wait))
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
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
                                 "since": datetime.now().isoformat(timespec="seconds")}))
        handle.flush()
        _HELD[path] = 1
        try:
            yield path
        finally:
            _HELD.pop(path, None)
    finally:
        handle.close()  # closing releases the flock; the file stays (its contents only describe the holder)


LOCK_MODE = 0o666  # every OS user who may run shebao on this warehouse must be able to take and describe the
# lock; it holds a pid, a host, a command line and a time, no personal data (the process umask is 077)


def _open(path: Path):
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, LOCK_MODE)
        if os.fstat(fd).st_uid == os.getuid() and stat.S_IMODE(os.fstat(fd).st_mode) != LOCK_MODE:
            os.fchmod(fd, LOCK_MODE)  # the umask took the others' bits off (or an older shebao made it 0600)
        return os.fdopen(fd, "a+")
    except OSError as exc:
        raise WarehouseError(f"Cannot create the lock file {path} ({exc.strerror}); choose another --warehouse.") from None


def _acquire(path: Path, deadline: float, warehouse):
    while True:
        handle = _open(path)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            if time.monotonic() >= deadline:
                raise WarehouseError(_busy_sentence(warehouse, path)) from None
            time.sleep(POLL_SECONDS)
            continue
        return handle


def _command() -> str:
    """What this process is, for the refusal another run prints: ``shebao run --period 2024-03 ...``."""
    argv = list(sys.argv)
    if argv and (argv[0].endswith(("flows/cli.py", "flows/launch.py", "/shebao")) or argv[0] == "-m"):
        argv[0] = "shebao"
    text = " ".join(argv) or "python"
    return text if len(text) <= 120 else text[:117] + "..."


def _processes_holding(path: Path) -> list[int]:
    """Other live processes of this host with ``path`` open (Linux ``/proc``; empty where unreadable)."""
    target = str(path)
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if target in links and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return sorted(pids)


def holder_of(path: Path) -> dict:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _busy_sentence(warehouse, path: Path) -> str:
    info = holder_of(path)
    live = _processes_holding(path)
    if info.get("pid") in live or (not live and {"pid", "since"} <= info.keys()):
        command = f", `{info['command']}`" if info.get("command") else ""
        who = f" (pid {info['pid']}{command}, since {info['since']})"
    elif live:
        who = f" ({process_description(live[0])})"
    else:
        who = ""
    return f"The warehouse {warehouse} is being written by another shebao run{who}; try again when it finishes."
