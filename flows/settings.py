"""Process-wide defaults set before Prefect is imported: telemetry off, patient ephemeral server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
}


def apply() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    # the warehouse, its read copy and every output hold personal data: files the owner's alone, whether
    # the CLI or a deployment's worker runs the flows (SPEC §8)
    os.umask(0o077)


apply()


@contextmanager
def subflows_without_heartbeats() -> Iterator[None]:
    """Flows called inside this block run without their own heartbeat thread.

    Subflows run in their parent's process, whose flow run keeps its heartbeat (what a server uses to
    find crashed runs), so theirs add nothing; but each costs up to a second at the subflow's end (the
    thread sleeps in one-second steps and is joined), several seconds of every close.
    """
    import prefect.context

    current = prefect.context.get_settings_context()
    settings = current.settings.model_copy(
        update={"flows": current.settings.flows.model_copy(update={"heartbeat_frequency": None})})
    with prefect.context.SettingsContext(profile=current.profile, settings=settings):
        yield
