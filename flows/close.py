"""The monthly close: ingest, ledger, validation and actions as subflows, then the exports.

Per-entity work (each entity's slice of the ledger: its finance workbook, its Parquet file and its
totals by region and insurance type) fans out as tasks over entity partitions: Prefect's thread pool by
default, a Dask cluster when an address is given. The tasks get their partition's rows as Arrow data and
write files only, so DuckDB keeps its single writer (this process); their results come back to the
parent, which publishes them.

One writer at a time: every flow here holds ``flows.lock.warehouse_lock`` for the whole run and, when
it runs as a deployment, a slot of the Prefect global concurrency limit ``shebao-warehouse`` (created
with one slot if missing, then taken with ``strict=True``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import polars as pl
import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.task_runners import ThreadPoolTaskRunner

from flows.actions import actions_flow
from flows.ingest import ingest_flow
from flows.ledger import ledger_flow
from flows.lock import DEFAULT_WAIT_SECONDS, warehouse_lock
from flows.settings import subflows_without_heartbeats
from flows.validate import validate_flow
from transforms.entities import entity_slices, write_entity_outputs
from transforms.faults import checkpoint
from transforms.periods import months_between, previous_month
from transforms.privacy import redact
from transforms.runs import new_run_id
from warehouse.db import default_path, opened
from warehouse.errors import InputError, WarehouseError

CONCURRENCY_LIMIT = "shebao-warehouse"  # the Prefect global concurrency limit deployments share
DASK_ENV = "SHEBAO_DASK_ADDRESS"
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# ---------------------------------------------------------------------------------------------- tasks


@task(name="export the ledger for finance", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def export_ledger_files(warehouse: str, period: str, out: str) -> list[str]:
    """The whole period's ledger for finance (IDs masked): xlsx first, then Parquet."""
    from transforms.export import export_ledger

    with opened(warehouse) as con:
        paths = []
        for fmt in ("xlsx", "parquet"):
            paths += [str(p) for p in export_ledger(con, period, fmt, Path(out) / period, role="finance")]
    return paths


@task(name="split the ledger and actions by entity", cache_policy=NO_CACHE)
def split_by_entity(warehouse: str, period: str) -> list[tuple[str, pa.Table, pa.Table]]:
    """The period's net ledger rows and the action list (IDs masked) as Arrow tables, per entity."""
    with opened(warehouse) as con:
        return [(entity, ledger.to_arrow(), actions.to_arrow())
                for entity, ledger, actions in entity_slices(con, period)]


@task(name="write one entity's ledger, totals and actions", retries=2, retry_delay_seconds=2,
      cache_policy=NO_CACHE)
def write_entity_files(entity: str, ledger: pa.Table, actions: pa.Table, folder: str) -> dict:
    """Runs on a thread or a Dask worker with only its entity's rows; returns its totals and file names."""
    return write_entity_outputs(entity, pl.from_arrow(ledger), pl.from_arrow(actions), Path(folder))


@task(name="publish the close summary", cache_policy=NO_CACHE)
def publish_close_summary(summary: dict) -> None:
    """Prefect artifacts: findings per code, ledger totals per entity, where the outputs are. Counts,
    amounts and paths only: no names, no ID numbers."""
    period = summary["period"]
    key = f"close-{period}"
    counts = summary["validation"]["counts"]
    create_table_artifact(key=f"{key}-findings", description=f"Findings per code, {period}",
                          table=[{"code": code, "findings": n} for code, n in sorted(counts.items())])
    create_table_artifact(key=f"{key}-entities", description=f"Ledger totals per entity, {period}",
                          table=[{k: e[k] for k in ("rows", "people", "employer", "employee", "total")}
                                 | {"entity": redact(e["entity"])} for e in summary["entities"]])
    # entity names are free text from the extracts: an ID number typed into one is masked here too
    create_markdown_artifact(key=key, markdown=redact(close_markdown(summary)), description=f"Monthly close {period}")


# ------------------------------------------------------------------------------------------ flow helpers


def partition_runner(dask_address: str | None = None):
    """Threads by default; a ``DaskTaskRunner`` on ``dask_address`` (or ``$SHEBAO_DASK_ADDRESS``)."""
    address = dask_address or os.environ.get(DASK_ENV)
    if not address:
        return ThreadPoolTaskRunner(max_workers=max(2, min(4, os.cpu_count() or 2)))
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


@flow(name="per-entity outputs")
def entity_partitions(warehouse: str, period: str, out: str) -> list[dict]:
    """Fan each entity's ledger and action list out over this flow's task runner; results in entity order."""
    folder = str(Path(out) / period / "entities")
    futures = [write_entity_files.submit(entity, ledger, actions, folder)
               for entity, ledger, actions in split_by_entity(warehouse, period)]
    return [future.result() for future in futures]


def resolve_period(period: str | None) -> str:
    """``YYYY-MM`` as given, or the previous calendar month when empty."""
    period = period or previous_month()
    if not _PERIOD.match(period):
        raise InputError(f"The period {period!r} is not a month like 2024-03; pass period as YYYY-MM.")
    return period


def _resolve(warehouse: str | None, out: str | None) -> tuple[str, str]:
    warehouse = str(Path(warehouse or default_path()).resolve())
    out = str(Path(out or os.environ.get("SHEBAO_OUT") or Path.cwd() / "out").resolve())  # GX needs absolute
    return warehouse, out


def _resolve_inbox(inbox: str | None) -> str:
    inbox = inbox or os.environ.get("SHEBAO_INBOX")
    if not inbox:
        raise InputError("No inbox given; pass --inbox (or set SHEBAO_INBOX for deployments).")
    return str(inbox)


def in_deployment() -> bool:
    try:
        return get_run_context().flow_run.deployment_id is not None
    except Exception:  # no flow run context
        return False


def ensure_concurrency_limit(name: str = CONCURRENCY_LIMIT) -> None:
    """Create the global concurrency limit with one slot unless it exists (an existing one is kept)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


@contextmanager
def one_writer(warehouse: str, wait: float | None = None, limit: bool | None = None) -> Iterator[None]:
    """Hold the warehouse for a run: the Prefect concurrency limit (deployments, or ``limit=True``), then
    the lock file. Waits up to ``wait`` seconds for each; one sentence when it cannot."""
    wait = DEFAULT_WAIT_SECONDS if wait is None else wait
    if limit is None:
        limit = in_deployment()
    if not limit:
        with warehouse_lock(warehouse, wait):
            yield
        return
    from prefect.concurrency.sync import concurrency

    with ExitStack() as stack:
        ensure_concurrency_limit()
        try:
            stack.enter_context(concurrency(CONCURRENCY_LIMIT, occupy=1, strict=True,
                                            timeout_seconds=max(wait, 0.5)))
        except TimeoutError:
            raise WarehouseError(f"The warehouse {warehouse} is being written by another deployed shebao run "
                                 f"(the {CONCURRENCY_LIMIT} concurrency limit is full); try again when it "
                                 "finishes.") from None
        stack.enter_context(warehouse_lock(warehouse, wait))
        yield


def close_markdown(summary: dict) -> str:
    validation, ledger, actions = summary["validation"], summary["ledger"], summary["actions"]
    lines = [f"# Monthly close {summary['period']}", "",
             f"- ledger: {ledger['employees_in_ledger']} employees, {ledger['rows_appended']} rows appended",
             f"- findings: {validation['findings']} ({validation['by_severity']})",
             f"- actions: {actions.get('by_status', {})}",
             "- seconds: " + ", ".join(f"{step} {s}" for step, s in summary.get("seconds", {}).items()), "",
             "| code | findings |", "|---|---:|"]
    lines += [f"| {code} | {count} |" for code, count in sorted(validation["counts"].items()) if count]
    lines += ["", "| entity | rows | employer | employee | total |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {e['entity']} | {e['rows']} | {e['employer']} | {e['employee']} | {e['total']} |"
              for e in summary["entities"]]
    links = [("HR report", validation["report"]), ("Action workbook", actions.get("workbook")),
             ("Ledger export", summary["exports"][0] if summary["exports"] else None)]
    lines += [""] + [f"- {label}: [{Path(p).name}]({Path(p).as_uri()})" for label, p in links if p]
    return "\n".join(lines)


@contextmanager
def timed(seconds: dict, step: str) -> Iterator[None]:
    """Record how long ``step`` took (wall seconds) in ``seconds``: the close summary shows where time goes."""
    started = time.perf_counter()
    yield
    seconds[step] = round(time.perf_counter() - started, 2)


def _close_month(period: str, warehouse: str, out: str, policy: str | None, dask_address: str | None,
                 ingest: dict, seconds: dict | None = None, role: str | None = None, full_ids: bool = False) -> dict:
    """Everything after ingest for one month, inside the calling flow run (subflows and tasks)."""
    seconds = dict(seconds or {})
    summary: dict = {"period": period, "ingest": ingest, "seconds": seconds}
    with timed(seconds, "ledger"):
        summary["ledger"] = ledger_flow(period=period, warehouse=warehouse, policy=policy, run_id=new_run_id())
    checkpoint("close.after_ledger")
    with timed(seconds, "validate"):
        summary["validation"] = validate_flow(period=period, warehouse=warehouse, out=out, run_id=new_run_id())
    checkpoint("close.after_validate")
    with timed(seconds, "actions"):
        summary["actions"] = actions_flow(period=period, warehouse=warehouse, out=out,
                                          run_id=summary["validation"]["run_id"], role=role, full_ids=full_ids)
    checkpoint("close.after_actions")
    with timed(seconds, "export"):
        summary["exports"] = export_ledger_files(warehouse, period, out)
    with timed(seconds, "per_entity"):
        per_entity = entity_partitions.with_options(task_runner=partition_runner(dask_address))
        summary["entities"] = per_entity(warehouse=warehouse, period=period, out=out)
    publish_close_summary(summary)
    get_run_logger().info("closed %s: %d findings; HR report %s", period, summary["validation"]["findings"],
                          summary["validation"]["report"])
    return summary


# ------------------------------------------------------------------------------------------------ flows


@flow(name="monthly-close")
def monthly_close(inbox: str | None = None, period: str | None = None, warehouse: str | None = None,
                  out: str | None = None, policy: str | None = None, dask_address: str | None = None,
                  role: str | None = None, full_ids: bool = False) -> dict:
    """The monthly close of one month: ingest the inbox, book the ledger, validate, update the actions,
    then export the ledger (whole, and per entity over the task runner).

    Args:
        inbox: folder of extract files; default ``$SHEBAO_INBOX``.
        period: the month to close, ``YYYY-MM``; empty means the previous calendar month.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for reports and exports (written under ``<out>/<period>/``); default ``$SHEBAO_OUT``
            or ``./out``.
        policy: policy file (CSV or xlsx) overriding the shipped policy for the regions it names.
        dask_address: Dask scheduler (``tcp://host:8786``) for the per-entity work; default
            ``$SHEBAO_DASK_ADDRESS``, else Prefect's thread pool.
        role: who the HR files (workbook, forms, declarations) are for.
        full_ids: full ID numbers in the HR files (an hr_manager's ``--full-ids``; audited).

    Returns:
        counts, totals and output paths (no personal data): ``ingest``, ``ledger``, ``validation``
        (``report``), ``actions`` (``workbook``), ``exports`` and ``entities``.
    """
    period = resolve_period(period)
    inbox = _resolve_inbox(inbox)
    warehouse, out = _resolve(warehouse, out)
    seconds: dict = {}
    with one_writer(warehouse), subflows_without_heartbeats():
        with timed(seconds, "ingest"):
            ingest = ingest_flow(inbox=inbox, warehouse=warehouse, run_id=new_run_id())
        return _close_month(period, warehouse, out, policy, dask_address, ingest, seconds, role, full_ids)


@flow(name="backfill")
def backfill(inbox: str, start: str, end: str, warehouse: str | None = None, out: str | None = None,
             policy: str | None = None, dask_address: str | None = None) -> list[dict]:
    """Close every month from ``start`` to ``end`` in order; the inbox is ingested once, first.

    Args:
        inbox: folder of extract files.
        start: first month, ``YYYY-MM``.
        end: last month, ``YYYY-MM`` (not before ``start``).
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for reports and exports; default ``$SHEBAO_OUT`` or ``./out``.
        policy: policy file overriding the shipped policy for the regions it names.
        dask_address: Dask scheduler for the per-entity work; default threads.

    Returns:
        one close summary per month, in order (each carries the one ingest summary).
    """
    start, end = resolve_period(start), resolve_period(end)
    if end < start:
        raise InputError(f"The last month {end} is before the first {start}; give the months in order.")
    inbox = _resolve_inbox(inbox)
    warehouse, out = _resolve(warehouse, out)
    with one_writer(warehouse), subflows_without_heartbeats():
        ingest = ingest_flow(inbox=inbox, warehouse=warehouse, run_id=new_run_id())
        return [_close_month(period, warehouse, out, policy, dask_address, ingest)
                for period in months_between(start, end)]


@flow(name="daily-ingest")
def daily_ingest(inbox: str | None = None, warehouse: str | None = None) -> dict:
    """Stage the new files of the inbox (the ingest flow) as the warehouse's one writer.

    Args:
        inbox: folder of extract files; default ``$SHEBAO_INBOX``.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
    """
    inbox = _resolve_inbox(inbox)
    warehouse, _ = _resolve(warehouse, None)
    with one_writer(warehouse), subflows_without_heartbeats():
        return ingest_flow(inbox=inbox, warehouse=warehouse, run_id=new_run_id())
