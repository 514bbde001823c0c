"""Prefect flows (thin wiring over transforms/) and the ``shebao`` command line."""

from flows import runtime as _runtime  # noqa: F401  (Prefect's process defaults before any flow module imports it)
