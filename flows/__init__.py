"""Prefect flows (thin wiring over transforms/) and the ``shebao`` command line."""
