"""The temporary Prefect server dies with the process that started it.

Prefect starts its temporary (ephemeral) server as a child process, ``python -m uvicorn ...``, and stops it
at exit; a ``kill -9`` of the parent skips that, and the server lived on (holding the caller's stdout).
``python -m flows.runtime.server PARENT_PID uvicorn ARGS`` runs the same server with a watchdog thread: when
the parent is gone (this process is re-parented), the server is asked to stop (SIGTERM) and, if it has
not within a few seconds, leaves. On Linux ``PR_SET_PDEATHSIG`` is not used: it fires when the parent's
starting *thread* ends, which for Prefect may be a short-lived worker thread.

``start_server_early()`` starts that server on a background thread, so its seconds of start-up overlap
the caller's own imports and checks instead of following them (the first flow run waits for it).
"""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import sys
import threading
import time

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0
_early: threading.Thread | None = None  # the thread starting the temporary server ahead of the first flow run


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(0)


class _WatchedSubprocess:
    """Prefect's server module sees this in place of ``subprocess``: the same, except that the temporary
    server's ``python -m uvicorn`` command runs under this module's watchdog."""

    def __init__(self, real) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def Popen(self, args, *rest, **kwargs):  # noqa: N802 - the name Prefect calls
        args = list(args)
        if args[1:3] == ["-m", "uvicorn"]:
            args = [args[0], "-m", "flows.runtime.server", str(os.getpid()), *args[2:]]
            env = dict(kwargs.get("env") or os.environ)
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            kwargs["env"] = env
        return self._real.Popen(args, *rest, **kwargs)


def patch_prefect() -> None:
    """Make Prefect start its temporary server through this module. Fails loudly if Prefect no longer
    starts it with ``subprocess.Popen([python, "-m", "uvicorn", ...])`` (pinned: prefect 3.9.1)."""
    import inspect

    from prefect.server.api import server

    if isinstance(server.subprocess, _WatchedSubprocess):
        return
    source = inspect.getsource(server.SubprocessASGIServer._run_uvicorn_command)
    if "subprocess.Popen(" not in source or '"uvicorn"' not in source:
        raise RuntimeError("Prefect's temporary server is no longer started with `python -m uvicorn`; "
                           "flows/runtime/server.py must follow Prefect's change.")
    server.subprocess = _WatchedSubprocess(server.subprocess)
    start = server.SubprocessASGIServer.start

    def start_after_early(self, timeout=None) -> None:
        # Prefect marks the server running before it answers: a flow run must not use it before the early
        # start has seen it healthy (or failed, and then this start tries again and raises)
        if _early is not None and _early is not threading.current_thread():
            _early.join()
        start(self, timeout)

    server.SubprocessASGIServer.start = start_after_early  # type: ignore[method-assign]


def start_server_early() -> None:
    """Start Prefect's temporary server now, in the background, when flows will need one (no
    PREFECT_API_URL); a flow run started meanwhile waits for it. Does nothing on a second call."""
    global _early
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if _early is not None or PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return

    def start() -> None:
        from prefect.server.api.server import SubprocessASGIServer

        # a failure here is not lost: the flow run's own start tries again and raises Prefect's error
        with contextlib.suppress(Exception):
            SubprocessASGIServer().start()

    _early = threading.Thread(target=start, daemon=True, name="prefect-server-start")
    _early.start()


def main(argv: list[str]) -> None:
    parent, module, *args = argv
    threading.Thread(target=_watch, args=(int(parent),), daemon=True, name="parent-watchdog").start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
