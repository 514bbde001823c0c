"""flows.runtime.runs: what a flow run needs around its steps (heartbeats, months, Handoff, retries)."""

from __future__ import annotations

import threading

import polars as pl
import pytest
from prefect import flow
from prefect.settings import get_current_settings

from flows.runtime.runs import subflows_without_heartbeats
from warehouse.errors import InputError


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


@flow
def _one() -> int:
    return 1


def _heartbeat_threads() -> list[threading.Thread]:
    """Prefect's flow-run heartbeat threads still running: each runs its ``heartbeat_loop``."""
    return [t for t in threading.enumerate()
            if getattr(next(iter(getattr(t, "_args", None) or ()), None), "__name__", "") == "heartbeat_loop"]


def test_a_flow_run_ends_without_waiting_for_its_heartbeat_thread_which_stops_by_itself(prefect_harness):
    """Prefect's heartbeat thread sleeps in one-second steps: joined at a run's end, it cost every flow run up
    to a second. Not joined, it is still there when the run has returned, and leaves at its next step."""
    for thread in _heartbeat_threads():  # an earlier run's, leaving
        thread.join(timeout=5)
    assert _one() == 1
    left = _heartbeat_threads()
    assert len(left) == 1, "the run waited for its heartbeat thread (or had none)"
    assert left[0].daemon, "a heartbeat thread left running must never hold the process open"
    left[0].join(timeout=5)
    assert not left[0].is_alive(), "the heartbeat thread was not told to stop"


def test_an_empty_period_means_the_previous_month_and_a_bad_one_is_refused():
    from flows.runtime.runs import resolve_period
    from transforms.common.periods import previous_month

    assert resolve_period(None) == resolve_period("") == previous_month()
    assert resolve_period("2024-03") == "2024-03"
    for bad in ("2024-3", "2024-13", "March"):
        with pytest.raises(InputError, match="not a month like 2024-03"):
            resolve_period(bad)


def test_a_scheduled_close_closes_the_month_before_its_scheduled_start():
    """Not the month before today: a run scheduled for 06:00 on 5 April (Asia/Shanghai) closes March, even
    when it starts late or is retried in May; the month boundary is the local one."""
    from datetime import UTC, datetime

    from flows.runtime.runs import scheduled_month

    assert scheduled_month(datetime(2024, 4, 4, 22, 0, tzinfo=UTC)) == "2024-03"   # 06:00 on 5 April in Shanghai
    assert scheduled_month(datetime(2024, 3, 31, 17, 0, tzinfo=UTC)) == "2024-03"  # 01:00 on 1 April in Shanghai
    assert scheduled_month(datetime(2024, 3, 31, 15, 0, tzinfo=UTC)) == "2024-02"  # 23:00 on 31 March


def test_a_handoff_lets_go_of_its_frame_that_prefect_would_keep(tmp_path):
    """Prefect keeps a task's parameters and result, and a subflow's parameters, until the flow run ends; the
    close hands its finance tables and entity slices over in a Handoff, whose frame is freed once released."""
    import gc
    import weakref

    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from flows.runtime.runs import Handoff

    made: list[weakref.ref] = []

    @task(cache_policy=NO_CACHE)
    def tables() -> Handoff:
        frame = pl.DataFrame({"employer_amount": range(1000)})
        made.append(weakref.ref(frame))
        return Handoff(frame)

    @task(cache_policy=NO_CACHE)
    def rows(handed: Handoff) -> int:
        return handed.value.height

    @flow
    def per_entity(handed=None) -> int:
        return rows(handed)

    @flow
    def close() -> tuple[bool, bool]:
        handed = tables()
        assert rows(handed) == per_entity(handed=handed) == 1000
        gc.collect()
        kept = made[0]() is not None
        handed.release()
        gc.collect()
        return kept, made[0]() is not None

    assert close() == (True, False)


def test_an_input_error_is_not_retried(prefect_harness, tmp_path):
    """Deployed, a failure is retried (SHEBAO_RETRIES, SHEBAO_RETRY_DELAY apart); a missing inbox would fail
    the same way each time, so it fails at once and the alert comes now (issue 30)."""
    import time as clock

    from prefect.client.orchestration import get_client

    from flows.close import daily_ingest

    deployed = daily_ingest.with_options(retries=2, retry_delay_seconds=20)  # as flows.runtime.runs.retried builds it
    started = clock.monotonic()
    state = deployed(inbox=str(tmp_path / "nowhere"), warehouse=str(tmp_path / "w.duckdb"), return_state=True)
    assert state.is_failed() and clock.monotonic() - started < 20
    with pytest.raises(InputError, match="nowhere"):
        state.result()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.run_count == 1
