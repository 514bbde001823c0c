"""Named kill points for the crash-consistency harness (tests/hardening/test_crash_consistency.py).

``checkpoint(name)`` kills this process with SIGKILL when ``SHEBAO_KILL_AT`` names that point (``name`` or
``name#n`` for its n-th pass); otherwise it costs one dictionary lookup. A kill is the harshest failure a
run can meet: no exception handler, no finally, no rollback but DuckDB's own recovery.
"""

from __future__ import annotations

import os
import signal

_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    target = os.environ.get("SHEBAO_KILL_AT")
    if not target:
        return
    _passes[name] = _passes.get(name, 0) + 1
    point, _, nth = target.partition("#")
    if point == name and (not nth or int(nth) == _passes[name]):
        os.kill(os.getpid(), signal.SIGKILL)
