"""Fixtures of the hardening tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def servers_start_from_the_prepared_database(worker_prefect_home):
    """Commands and flows here start temporary Prefect servers in this worker's home (tests/conftest.py)."""

