"""What a shebao flow run needs from Prefect around its steps.

Large values handed over by reference (``Handoff``), run names and the month a scheduled run closes, the
warehouse key from a Secret block, the retry policy (a failure on its input is never retried), subflows
without their own heartbeat, the task runner of the per-entity work, and the flow run's id on the
warehouse's run tables. Prefect is imported inside the functions: ``flows.runtime`` loads before it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from transforms.common.periods import check_period, is_period, previous_month
from transforms.common.roles import PermissionDenied
from warehouse.errors import InputError
from warehouse.settings import settings

# ------------------------------------------------------------------------------------- values by reference


class Handoff:
    """A large value (the finance tables, an entity's rows) handed to a task or subflow by reference and let
    go once used. Prefect keeps every task's parameters and result, and a subflow's parameters, until the
    flow run ends: passed plainly, a million-row frame would stay resident through the rest of the close.
    Prefect records a Handoff parameter by its type name only (it has no ``__dict__`` to encode)."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def release(self) -> None:
        self.value = None


# ----------------------------------------------------------------------------------- months and run names


def scheduled_month(when: datetime | None = None) -> str:
    """The month before ``when`` (default: this flow run's scheduled start, else now) in SHEBAO_TIMEZONE:
    a close scheduled for 06:00 on 5 April closes March, however late or often it actually runs."""
    from zoneinfo import ZoneInfo

    if when is None:
        from prefect.runtime import flow_run

        when = flow_run.scheduled_start_time  # now, outside a flow run
    local = when.astimezone(ZoneInfo(settings().timezone))
    return previous_month(local.date())


def resolve_period(period: str | None) -> str:
    """``YYYY-MM`` as given, or the month before the run's scheduled start when empty."""
    return check_period(period or scheduled_month())


def close_run_name() -> str:
    """``close-2024-03``: the flow run's name from its period parameter or its scheduled start."""
    from prefect.runtime import flow_run

    period = (flow_run.parameters or {}).get("period")
    return f"close-{period if period and is_period(period) else scheduled_month()}"


def backfill_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters or {}
    return f"backfill-{parameters.get('start')}..{parameters.get('end')}"


def ingest_run_name() -> str:
    from prefect.runtime import flow_run

    when = flow_run.scheduled_start_time
    return f"ingest-{when.strftime('%Y-%m-%d')}"


# ------------------------------------------------------------------------------- the run and its warehouse


def in_deployment() -> bool:
    from prefect.context import get_run_context

    try:
        return get_run_context().flow_run.deployment_id is not None
    except Exception:  # no flow run context
        return False


def flow_run_id() -> str | None:
    """The id of this flow run's top-level run (the deployment's run), for the warehouse's run tables."""
    from prefect.context import get_run_context

    try:
        run = get_run_context().flow_run
    except Exception:  # no flow run context
        return None
    from prefect.runtime import flow_run

    return str(flow_run.root_flow_run_id or run.id)


def record_runs(warehouse: str, *run_ids: str) -> None:
    """The flow run id on each run's rows (ingest.loads, ledger.runs, quality.runs)."""
    from transforms.common.runs import record_flow_run
    from warehouse.db import opened

    run = flow_run_id()
    if not run:
        return
    with opened(warehouse) as con:
        for run_id in run_ids:
            record_flow_run(con, run_id, run)


def use_secret_key() -> None:
    """A deployed run takes the warehouse key from the Prefect Secret block named by
    ``SHEBAO_WAREHOUSE_KEY_BLOCK`` (default ``shebao-warehouse-key``) unless SHEBAO_WAREHOUSE_KEY is set;
    no block means an unencrypted warehouse. The key never enters a parameter, a log or an artifact."""
    config = settings()
    if config.warehouse_key is not None or not in_deployment():
        return
    from prefect.blocks.system import Secret

    try:
        key = Secret.load(config.warehouse_key_block, _sync=True).get()
    except ValueError:  # no such block
        return
    os.environ["SHEBAO_WAREHOUSE_KEY"] = str(key)


def thread_runner():
    """Prefect's thread pool, two to four threads: the per-entity files of a close without a Dask address."""
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=max(2, min(4, os.cpu_count() or 2)))


def partition_runner(dask_address: str | None = None):
    """A ``DaskTaskRunner`` on ``dask_address`` (or ``$SHEBAO_DASK_ADDRESS``); None without one: the per-entity
    work then runs on the close's own thread pool."""
    address = dask_address or settings().dask_address
    if not address:
        return None
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


@contextmanager
def subflows_without_heartbeats() -> Iterator[None]:
    """Flows called inside this block run without their own heartbeat thread.

    Subflows run in their parent's process, whose flow run keeps its heartbeat (what a server uses to
    find crashed runs), so theirs add nothing but a thread and its heartbeat event each. (Each also cost up to a
    second at the subflow's end, when the thread was joined: ``heartbeats_not_waited_for``.)
    """
    import prefect.context

    current = prefect.context.get_settings_context()
    settings = current.settings.model_copy(
        update={"flows": current.settings.flows.model_copy(update={"heartbeat_frequency": None})})
    with prefect.context.SettingsContext(profile=current.profile, settings=settings):
        yield


def heartbeats_not_waited_for() -> None:
    """Make a flow run's end not wait for its heartbeat thread (called when ``prefect.flow_engine`` loads).

    Prefect's heartbeat thread sleeps in one-second steps between heartbeats (every 180 s) and a synchronous
    flow run joins it at its end: up to a second of every flow run with nothing done (a flow run that returns
    at once took 1.1 s; 0.5-0.8 s of a small close). Prefect's asynchronous engine does not join it (``join_on_exit=False``);
    neither does this. The thread is told to stop as before and leaves at its next step without another
    heartbeat; it is a daemon thread, so it never holds the process open. Fails loudly if Prefect no longer
    takes ``join_on_exit`` (pinned: prefect 3.9.1)."""
    import inspect

    from prefect import flow_engine

    joined = flow_engine._send_heartbeats
    if getattr(joined, "not_joined", False):
        return
    if "join_on_exit" not in inspect.signature(joined).parameters:
        raise RuntimeError("Prefect's flow heartbeats no longer take join_on_exit; flows/runtime/runs.py must "
                           "follow Prefect's change.")

    def not_joined(engine, join_on_exit: bool = True):
        return joined(engine, join_on_exit=False)

    not_joined.not_joined = True  # type: ignore[attr-defined]
    flow_engine._send_heartbeats = not_joined


# ------------------------------------------------------------------------------------------- retry policy


def final_on_input_errors(fn):
    """Under ``@redacting``: a run that fails on its input (a missing inbox, a bad period, a refused role) is
    not retried; the same input fails the same way, and the alert should come now, not after the retries'
    waits (issue 30). Other failures keep the deployment's retries (every stage is idempotent)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, PermissionDenied):
            _no_retries()
            raise
    return wrapper


def _no_retries() -> None:
    """Set this flow run's retries to none on the server, which decides on a retry when the run fails."""
    from prefect.context import get_run_context

    try:
        run = get_run_context().flow_run
    except Exception:  # no flow run context
        return
    if run is None or not run.empirical_policy.retries:
        return
    from prefect.client.orchestration import get_client

    policy = run.empirical_policy.model_copy(update={"retries": 0})
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run_id=run.id, empirical_policy=policy)
    run.empirical_policy = policy


def retried(flow_object):
    """The flow as deployed: retried after a failure (``SHEBAO_RETRIES`` times, ``SHEBAO_RETRY_DELAY``
    seconds apart), which is safe because every stage is idempotent: a close run again gives the result
    of an uninterrupted one. From the CLI a person is watching, and nothing is retried."""
    try:
        config = settings()
    except InputError:  # the run itself will say which variable is wrong
        return flow_object.with_options(retries=0)
    return flow_object.with_options(retries=config.retries, retry_delay_seconds=config.retry_delay)
