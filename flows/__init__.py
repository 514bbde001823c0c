"""Prefect flows (thin wiring over transforms/) and the ``shebao`` command line."""

from flows import settings as _settings  # noqa: F401  (telemetry off before any flow module imports Prefect)
