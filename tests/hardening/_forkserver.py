"""Fork server for the crash harness: pays the imports of the CLI and the close once (about 10 s on a busy
machine), then forks one child per requested ``shebao`` command.

Protocol, one JSON object a line: the harness writes ``{"argv": [...], "kill_at": "name#n" | null}``; the
server answers ``{"pid": N}`` when the child starts and ``{"code": C}`` when it ends (``-9`` when it died by
SIGKILL, whoever sent it). The child runs ``flows.cli.main()`` as ``python -m flows.cli`` does (the imports
are done here already), with ``SHEBAO_KILL_AT`` set to ``kill_at``; its output goes to ``<log>`` files, not to
the harness.

Forking is safe here: importing the project starts no thread (checked below), so the child starts clean.
The server dies with the test process that started it, and each child with the server (``PR_SET_PDEATHSIG``):
an aborted test run once left a forked close running for 40 minutes after its harness was gone.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent``, the process that started it, exits (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it was gone before the call
        os._exit(1)


def main() -> None:
    die_with_parent(os.getppid())
    sys.path.insert(0, sys.argv[1])
    import flows.cli  # noqa: F401  - the heavy imports, once
    import flows.close  # noqa: F401

    if threading.active_count() != 1:
        raise SystemExit(f"importing the project started threads {threading.enumerate()}; forking is unsafe")
    for line in sys.stdin:
        request = json.loads(line)
        server = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: one CLI run, then exit without running the server's cleanup
            code = 1
            try:
                die_with_parent(server)
                log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.environ.pop("SHEBAO_KILL_AT", None)
                if request.get("kill_at"):
                    os.environ["SHEBAO_KILL_AT"] = request["kill_at"]
                os.environ.update(request.get("env") or {})
                os.chdir(request["cwd"])
                sys.argv = ["shebao", *request["argv"]]
                try:
                    flows.cli.main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
