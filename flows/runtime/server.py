"""The temporary Prefect server dies with the process that started it.

Prefect starts its temporary (ephemeral) server as a child process, ``python -m uvicorn ...``, and stops it
at exit; a ``kill -9`` of the parent skips that, and the server lived on (holding the caller's stdout).
``python -m flows.runtime.server PARENT_PID uvicorn ARGS`` runs the same server with a watchdog thread: when
the parent is gone (this process is re-parented), the server is asked to stop (SIGTERM) and, if it has
not within a few seconds, leaves. On Linux ``PR_SET_PDEATHSIG`` is not used: it fires when the parent's
starting *thread* ends, which for Prefect may be a short-lived worker thread.

``start_server_early()`` (each CLI command that runs flows, through ``server_starting()``) starts the same
server itself, first thing, before Prefect or our flows are imported: its seconds of start-up overlap the
command's imports and checks instead of following them, and this process never imports Prefect's server
module (1.8 s; Prefect's client, given the server's address as PREFECT_API_URL, needs it only to start a
server). A thread waits for it to answer and sends it a flow run's first requests, so that its first
database work is done early too; ``server_ready()`` waits for that before the first flow run. It stops at
exit, after Prefect has sent its last logs.

A server that dies while its command still runs (killed, out of memory) leaves Prefect's client retrying every
request for about a minute each, and the command spinning for tens of minutes, deaf to SIGTERM (Prefect's
handler reports the crash to the same dead server). ``_guard`` waits on the server and then ends the command
at once, with one sentence: as a ``kill -9`` would, which the close survives (each step commits whole; a
rerun resumes).
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path

from flows.runtime import collector

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0
SERVER_LOST_EXIT = 3  # the command was ended because its Prefect server died under it
SERVER_LOST = ("shebao: Prefect's temporary server stopped while the command ran (exit code {code}); the command "
               "ended there. Committed steps are kept: run the same command again to finish.\n")
ROOT = Path(__file__).resolve().parents[2]  # the checkout: the server's ``-m flows.runtime.server`` imports from it
# Services of Prefect's server whose work nothing reads on a temporary server, which lives for one command:
# the task-run recorder and the event persister write every task run and event of the close into its
# database, where only a UI later opened on the same database would show them (its flow runs and logs are
# still written). They cost the server about a CPU second per close (bench/README.md, round eleven).
# Automations' triggers stay on: an alert set up on the same Prefect database fires for a CLI run too
# (docs/small-close.md). A setting already in the environment wins, so a user can turn one back on.
UNREAD_SERVICES_OFF = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
}
# Start-up work of Prefect's server whose result nothing reads on a temporary server: registering the block
# types of every installed collection imports them first (prefect-dask: dask and distributed), about 0.4 s of
# the server's start, each command. A block saved for an alert (`shebao alerts setup`, on a real server)
# registers its own type, and a server started for good registers them all at its own start.
UNREAD_START_UP_OFF = {
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",  # else the collections are imported to compare a hash
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
}
# What Prefect's first flow run of a process imports on its own: fastapi's encoder (the flow's parameters are
# serialized with it; fastapi's whole package loads, about 0.1 s) and a flow call's visualization helpers (graphviz).
# ``server_ready()`` imports them while it waits for the server, when the command has nothing else to do.
FIRST_RUN_IMPORTS = ("fastapi.encoders", "prefect.utilities.visualization")
SERVER_APP = "prefect.server.api.server:create_app"  # uvicorn's factory, in Prefect's command and ours
_early: dict = {}  # the server started early: its ``process``, ``url``, the ``warming`` thread and its ``outcome``


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(0)


def _guard(process: subprocess.Popen, stopping: threading.Event) -> None:
    """On a daemon thread: when ``process`` (the server) ends and nobody asked it to (``stopping``), end this
    command now with one sentence on stderr; see the module's docstring for why not gently."""
    code = process.wait()
    if stopping.is_set() or sys.is_finalizing():
        return
    try:
        os.write(2, SERVER_LOST.format(code=code).encode())
    finally:
        os._exit(SERVER_LOST_EXIT)


def _guarded(process: subprocess.Popen) -> subprocess.Popen:
    """``process`` with a guard thread; its ``terminate`` and ``kill`` (Prefect's stop at exit, ours) first
    tell the guard the end is wanted."""
    stopping = threading.Event()
    for name in ("terminate", "kill", "send_signal"):
        method = getattr(process, name)

        def wanted(*args, _method=method):
            stopping.set()
            return _method(*args)

        setattr(process, name, wanted)
    threading.Thread(target=_guard, args=(process, stopping), daemon=True, name="prefect-server-guard").start()
    return process


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
            kwargs["env"] = _server_environment(kwargs.get("env") or os.environ)
            kwargs["start_new_session"] = True  # a Ctrl-C in the terminal is the command's to handle, not the server's
            return _guarded(self._real.Popen(args, *rest, **kwargs))
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


def _server_environment(env: Mapping[str, str]) -> dict[str, str]:
    """A temporary server's environment: ``env`` with the unread services and start-up work off unless it
    names them, and this checkout on the path (both ways a temporary server starts)."""
    return UNREAD_SERVICES_OFF | UNREAD_START_UP_OFF | dict(env) | {"PYTHONPATH": _python_path(env)}


def _python_path(env: Mapping[str, str]) -> str:
    return os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server_early() -> None:
    """Start Prefect's temporary server now, as Prefect would (same command, same environment), under the
    watchdog, when flows will need one: no PREFECT_API_URL in the environment or Prefect's settings (a
    profile). Does nothing on a second call. Call ``server_ready()`` before the first flow run. A caller
    that has loaded Prefect already (a test calling the CLI in its process) keeps Prefect's own start:
    the address is given to Prefect through the environment, before it loads."""
    if _early or os.environ.get("PREFECT_API_URL") or "prefect.context" in sys.modules:
        return
    spec = find_spec("prefect")
    if spec is None or spec.origin is None:
        return
    port = _free_port()
    command = [sys.executable, "-m", "flows.runtime.server", str(os.getpid()), "uvicorn",
               "--app-dir", str(Path(spec.origin).parent.parent), "--factory", SERVER_APP,
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    # Prefect's own server environment (server.SubprocessASGIServer._run_uvicorn_command); settings from a
    # profile the server reads itself, as Prefect's would
    env = _server_environment({**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                               "PREFECT__SERVER_FINAL": "1"})
    process, url = _guarded(subprocess.Popen(command, env=env, start_new_session=True)), f"http://127.0.0.1:{port}/api"
    outcome: dict = {}
    warming = threading.Thread(target=_warm, args=(process, url, outcome), daemon=True, name="prefect-server-warm")
    _early.update(process=process, url=url, warming=warming, outcome=outcome)
    warming.start()
    atexit.register(_stop)  # registered before Prefect loads: runs after Prefect's own exit work (its last logs)
    # Prefect's settings decide, now that the server is on its way (importing Prefect takes a second or more)
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        _stop()
        return
    os.environ["PREFECT_API_URL"] = _early["url"]
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # Prefect's settings were read when it loaded, just above


@contextmanager
def server_starting() -> Iterator[None]:
    """For a command that runs flows: Prefect's temporary server started now (``start_server_early``) and the
    command's imports and checks in the block run with the collector paused (``flows.runtime.collector``),
    both while the server starts. Call ``server_ready()`` before the first flow run."""
    with collector.paused_while_starting():
        start_server_early()
        yield


def server_ready() -> None:
    """Wait until the server started early has answered and warmed up (up to
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); Prefect's client does not wait for a server it was
    given the address of. Raises when the server stopped or did not answer in time. The wait first imports
    what the first flow run would (``FIRST_RUN_IMPORTS``). The command's imports are done by then: a
    collector paused while they ran resumes (``flows.runtime.collector``)."""
    try:
        _wait_for_server()
    finally:
        collector.resume()


def _wait_for_server() -> None:
    warming = _early.get("warming")
    if warming is None:
        return
    for name in FIRST_RUN_IMPORTS:
        importlib.import_module(name)
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    warming.join(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    if warming.is_alive():
        raise RuntimeError("Timed out while waiting for Prefect's temporary server to answer.")
    if _early["outcome"].get("error"):
        raise RuntimeError(_early["outcome"]["error"])


def _warm(process: subprocess.Popen, url: str, outcome: dict) -> None:
    """On a thread: wait for the server's health, then ask what a flow run's first requests ask (the API
    version, flows, flow runs), so that the server's first database work is done while the caller still
    imports rather than in the first flow run."""
    import json
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never through a proxy
    while True:
        if process.poll() is not None:
            outcome["error"] = f"Prefect's temporary server exited with code {process.returncode} before it answered."
            return
        try:
            with opener.open(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    outcome["answered"] = True
                    break
        except OSError:
            pass
        time.sleep(0.05)
    for path, body in (("/admin/version", None), ("/flows/filter", {"limit": 1}), ("/flow_runs/filter", {"limit": 1})):
        request = urllib.request.Request(f"{url}{path}", data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            opener.open(request, timeout=60).read()
        except OSError:  # only a warm-up: the flow run asks again and says what is wrong
            return


def _stop() -> None:
    """Stop the server started early, as Prefect stops its own; one that has not answered yet is killed outright.
    Nothing was asked of it, and while it starts (on a new Prefect home, seconds of migrating its database)
    uvicorn heeds SIGTERM only once started: a command refused then waited up to 5 s more for it to go. SQLite
    keeps the database whole through a kill; the next server goes on from the last migration committed."""
    outcome = _early.get("outcome", {})
    _early.pop("warming", None)
    process = _early.pop("process", None)
    if process is None:
        return
    if not outcome.get("answered"):
        process.kill()
        process.wait()
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _app_built_with_collector_paused() -> None:
    """Import Prefect's server module and build its app (``SERVER_APP``, uvicorn's factory) with the cyclic
    collector paused, resumed once the app is built: most of the server's start (flows.runtime.collector)."""
    collector.pause()
    from prefect.server.api import server

    build = server.create_app

    @functools.wraps(build)
    def create_app(*args, **kwargs):
        try:
            return build(*args, **kwargs)
        finally:
            collector.resume()

    server.create_app = create_app


def main(argv: list[str]) -> None:
    parent, module, *args = argv
    threading.Thread(target=_watch, args=(int(parent),), daemon=True, name="parent-watchdog").start()
    if module == "uvicorn" and SERVER_APP in args:
        _app_built_with_collector_paused()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
