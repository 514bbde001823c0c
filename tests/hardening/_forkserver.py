"""Fork server for the crash harness: pays the imports of the CLI and the close once (about 10 s on a busy
machine), then forks one child per requested ``shebao`` command.

Protocol, one JSON object a line: the harness writes ``{"argv": [...], "kill_at": "name#n" | null}``; the
server answers ``{"pid": N}`` when the child starts and ``{"code": C}`` when it ends (``-9`` when it died by
SIGKILL, whoever sent it). The child runs ``flows.cli.main()`` exactly as the ``shebao`` script does, with
``SHEBAO_KILL_AT`` set to ``kill_at``; its output goes to ``<log>`` files, not to the harness.

Forking is safe here: importing the project starts no thread (checked below), so the child starts clean.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    import flows.cli  # noqa: F401  - the heavy imports, once
    import flows.close  # noqa: F401

    if threading.active_count() != 1:
        raise SystemExit(f"importing the project started threads {threading.enumerate()}; forking is unsafe")
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: one CLI run, then exit without running the server's cleanup
            code = 1
            try:
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
