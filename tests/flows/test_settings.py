"""Process-wide Prefect settings of ours."""

from __future__ import annotations

from prefect import flow
from prefect.settings import get_current_settings

from flows.settings import subflows_without_heartbeats


@flow
def _heartbeat_of_this_run() -> int | None:
    return get_current_settings().flows.heartbeat_frequency


def test_subflows_run_without_their_own_heartbeat_and_the_setting_comes_back(prefect_harness):
    before = get_current_settings().flows.heartbeat_frequency
    assert before  # Prefect's default: the top-level run keeps its heartbeat
    with subflows_without_heartbeats():
        assert _heartbeat_of_this_run() is None
    assert get_current_settings().flows.heartbeat_frequency == before
    assert _heartbeat_of_this_run() == before
