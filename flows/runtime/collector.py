"""Python's cyclic garbage collector paused while a process imports its libraries, then told to skip them.

A command's start is imports: Prefect, GX, polars, and the routes Prefect's server builds with FastAPI. What they
make lives as long as the process, yet the collector walks it again and again while it grows: importing the CLI's
flows (``flows.cli``, ``flows.close``) leaves some 534,000 objects, 3% of them garbage, and ran 6 full and 816
partial collections on the way: 3.3 s with the collector on, 2.6 s paused; Prefect's server module with its app
built, 2.6 s and 2.0 s (bench/README.md, sixteenth round). Resuming freezes what is there (``gc.freeze``), so
that later collections, through the close, skip it.

The cost is the cyclic garbage made while paused, kept for the process's life: about 4 MB in the CLI and
10 MB in the server. Reference counting still frees everything else at once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"paused": False}  # paused by ``pause()`` and not resumed yet (a caller's own gc.disable() is not ours)


def pause() -> None:
    """Stop the cyclic collector until ``resume()``, unless it is off already (then it is not ours to resume)."""
    if gc.isenabled() and not _state["paused"]:
        gc.disable()
        _state["paused"] = True


def resume() -> None:
    """Freeze what the process holds now (later collections skip it) and start the collector again, if
    ``pause()`` stopped it; otherwise nothing."""
    if _state["paused"]:
        _state["paused"] = False
        gc.freeze()
        gc.enable()


@contextmanager
def paused_while_starting() -> Iterator[None]:
    """Paused for the block; resumed at its end at the latest (an error, or a block that never reached the
    point that resumes it once the imports are done)."""
    pause()
    try:
        yield
    finally:
        resume()
