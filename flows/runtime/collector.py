"""Python's cyclic garbage collector paused while a process imports its libraries, then told to skip them.

A command's start is imports: Prefect, GX, polars, FastAPI's routes built by Prefect's server. Those objects
live as long as the process, yet every full collection walks all of them again, and imports trigger one
each time the heap has grown by a quarter: the collector found 961 of some 300,000 objects to free while the
CLI imported its flows (``import flows.cli, flows.close``: 3.3 s with it on, 2.6 s paused), and building
Prefect's server app took 2.6 s with it on, 2.0 s paused (bench/README.md, sixteenth round). Resuming
freezes what is there (``gc.freeze``): later collections, through the close, no longer walk it.

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
