"""The monthly close: ingest, ledger, validation and actions, then the exports, in one flow run.

The stages are the flows ``shebao ingest``, ``ledger``, ``validate`` and ``actions`` run on their own; a
close runs their bodies (``flow.fn``) inside its own run, so their tasks, logs and artifacts are the
close's. As subflows each cost a flow run of its own on the server (about ten API round trips between
them: created, named, running, completed, its parameters) and gave nothing a stage's task runs and the
close's per-step seconds do not show.

Per-entity work (each entity's slice of the ledger: its finance workbook, its Parquet file and its
totals by region and insurance type) fans out as tasks over entity partitions: the close's own thread pool
by default, a Dask cluster (the subflow ``per-entity outputs`` on a ``DaskTaskRunner``) when an address is
given. The tasks get their partition's rows as Arrow data and
write files only, so DuckDB keeps its single writer (this process); their results come back to the
parent, which publishes them.

One writer at a time: every flow here holds ``flows.lock.warehouse_lock`` for the whole run; deployed,
the work pool's concurrency limit of one (docs/deployments.md) keeps a second run from starting at all.

Deployed runs read their settings (inbox, warehouse, out) from the worker's environment when they run;
a scheduled close closes the month before its scheduled start, named ``close-YYYY-MM``; at the end a
close emits the event ``shebao.close.completed`` with its counts (no personal data) for the alerts
(``flows.close_summary``, with the close's artifacts). What adapts Prefect to these runs (run names,
``Handoff``, the warehouse key, retries) is in ``flows.runtime``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import console
from flows.actions import actions_flow
from flows.close_summary import emit_completed, publish_close_summary
from flows.folders import out_folder
from flows.ingest import ingest_flow
from flows.ledger import ledger_flow
from flows.lock import warehouse_lock
from flows.runtime.runs import (
    Handoff,
    backfill_run_name,
    close_run_name,
    final_on_input_errors,
    ingest_run_name,
    partition_runner,
    record_runs,
    resolve_period,
    retried,
    subflows_without_heartbeats,
    thread_runner,
    use_secret_key,
)
from flows.validate import validate_flow
from transforms.common.faults import checkpoint
from transforms.common.periods import months_between
from transforms.common.privacy import redacting
from transforms.common.roles import require_role
from transforms.common.runs import new_run_id
from transforms.outputs.entities import ENTITY_FOLDER, entity_slices, entity_stems, write_entity_outputs
from transforms.outputs.export import detail_table, export_tables, write_exports
from warehouse.db import default_path, one_instance_while_small, opened
from warehouse.errors import InputError
from warehouse.settings import settings

EXPORT_FORMATS = ("xlsx", "parquet", "csv")  # the workbook first: it is what finance opens


# ---------------------------------------------------------------------------------------------- tasks


@task(name="compute the finance tables", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
@redacting
def finance_tables_masked(warehouse: str, period: str, folder: str | None = None) -> Handoff:
    """The period's finance tables as finance sees them (IDs masked), once for every export format and for
    the per-entity files; 缴费明细 is spooled in ``folder`` (a Dask worker reads its entity's rows there)."""
    with opened(warehouse) as con:
        return Handoff(export_tables(con, period, role="finance", folder=Path(folder) if folder else None))


@task(name="export the ledger for finance", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
@redacting
def export_ledger_files(tables: Handoff, period: str, out: str) -> list[str]:
    """The whole period's ledger for finance: xlsx first, then Parquet and CSV."""
    return [str(p) for p in write_exports(tables.value, period, EXPORT_FORMATS, Path(out) / period)]


@task(name="write the read copy", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def write_read_copy_files(warehouse: str, out: str) -> dict:
    """SPEC §7 read copy: the public relations as Parquet under ``<out>/tables`` and ``shebao_read.duckdb``."""
    from transforms.outputs.read_copy import write_read_copy

    with opened(warehouse) as con:
        return write_read_copy(con, out)


@task(name="split the ledger and actions by entity", cache_policy=NO_CACHE)
@redacting
def split_by_entity(warehouse: str, period: str, tables: Handoff | None = None,
                    actions: Handoff | None = None) -> list[tuple[str, Handoff]]:
    """The period's net ledger rows (from the masked finance ``tables`` when given) and the action list (IDs
    masked; as the actions step rendered it, when given and still the list's) per entity, each entity's pair in a
    :class:`Handoff`: where its task reads its ledger rows and its actions (``EntityLedger``, spooled)."""
    ledger = detail_table(tables.value) if tables is not None else None
    with opened(warehouse) as con:
        return [(entity, Handoff((ledger, actions)))
                for entity, ledger, actions in entity_slices(con, period, ledger, actions.value if actions else None)]


@task(name="write one entity's ledger, totals and actions", retries=2, retry_delay_seconds=2,
      cache_policy=NO_CACHE)
@redacting
def write_entity_files(entity: str, rows: Handoff, folder: str, stem: str | None = None) -> dict:
    """Runs on a thread or a Dask worker with only its entity's rows (ledger and actions read from their
    spools); returns its totals and file names."""
    ledger, actions = rows.value
    return write_entity_outputs(entity, ledger, actions, Path(folder), stem)


# ------------------------------------------------------------------------------------------ flow helpers


@flow(name="per-entity outputs")
@redacting
def entity_partitions(warehouse: str, period: str, out: str, tables=None, actions=None) -> list[dict]:
    """Fan each entity's ledger and action list out over this flow's task runner; results in entity order.
    ``tables``: the close's masked finance tables (a :class:`Handoff`), else the ledger is queried here;
    ``actions``: the action list its actions step rendered (a :class:`Handoff`), else it is read here."""
    folder = str(Path(out) / period / ENTITY_FOLDER)
    slices = split_by_entity(warehouse, period, tables, actions)
    stems = entity_stems(entity for entity, _ in slices)  # unique file names (issue 18.5)
    futures = [write_entity_files.submit(entity, rows, folder, stems[entity]) for entity, rows in slices]
    results = [future.result() for future in futures]
    for _, rows in slices:
        rows.release()
    return results


def _resolve(warehouse: str | None, out: str | None) -> tuple[str, str]:
    return str(Path(warehouse or default_path()).resolve()), str(out_folder(out))


def _resolve_inbox(inbox: str | None) -> str:
    inbox = inbox or settings().inbox
    if not inbox:
        raise InputError("No inbox given; pass --inbox (or set SHEBAO_INBOX for deployments).")
    return str(inbox)


STAGE_LABELS = {"ingest": "ingest the inbox", "ledger": "book the ledger", "validate": "validate",
                "actions": "update the action list", "export": "export the ledger", "per_entity": "per-entity files",
                "read_copy": "write the read copy"}


@contextmanager
def timed(seconds: dict, step: str) -> Iterator[dict]:
    """Record how long ``step`` took (wall seconds) in ``seconds``: the close summary shows where time goes;
    the console (CLI) shows the stage as one line, with the note the block sets."""
    started = time.perf_counter()
    with console.stage(STAGE_LABELS.get(step, step)) as info:
        yield info
    seconds[step] = round(time.perf_counter() - started, 2)


def _finance_outputs(period: str, warehouse: str, out: str, dask_address: str | None, seconds: dict,
                     actions: Handoff | None = None) -> tuple[list[str], list[dict]]:
    """The finance export, then the per-entity files from the same tables and the action list the actions step
    rendered (``actions``); both (a million rows at scale) are let go before the read copy is written."""
    with timed(seconds, "export"):
        tables = finance_tables_masked(warehouse, period, str(Path(out) / period))
        exports = export_ledger_files(tables, period, out)
    with timed(seconds, "per_entity"):
        dask = partition_runner(dask_address)
        if dask is not None:  # a flow run of its own, for its task runner
            per_entity = entity_partitions.with_options(task_runner=dask)
            entities = per_entity(warehouse=warehouse, period=period, out=out, tables=tables, actions=actions)
        else:  # the close's own thread pool
            entities = entity_partitions.fn(warehouse=warehouse, period=period, out=out, tables=tables,
                                            actions=actions)
    tables.release()
    if actions is not None:
        actions.release()
    return exports, entities


def _close_month(period: str, warehouse: str, out: str, policy: str | None, dask_address: str | None,
                 ingest: dict, seconds: dict | None = None, role: str | None = None, full_ids: bool = False) -> dict:
    """Everything after ingest for one month, inside the calling flow run (the stages' bodies and tasks). On a
    small warehouse its tasks' connections share one DuckDB instance (``warehouse.db.one_instance_while_small``)."""
    with one_instance_while_small(warehouse):
        seconds = dict(seconds or {})
        summary: dict = {"period": period, "ingest": ingest, "seconds": seconds}
        with timed(seconds, "ledger") as shown:
            summary["ledger"] = ledger_flow.fn(period=period, warehouse=warehouse, policy=policy, run_id=new_run_id())
            shown["note"] = (f"{summary['ledger']['employees_in_ledger']} employees, "
                             f"{summary['ledger']['rows_appended']} rows appended")
        checkpoint("close.after_ledger")
        with timed(seconds, "validate") as shown:
            # the actions step owns the HR report (transforms/outputs/index.py): validation writes none in a close
            summary["validation"] = validate_flow.fn(period=period, warehouse=warehouse, out=out, run_id=new_run_id(),
                                                  report=False)
            shown["note"] = f"{summary['validation']['findings']} findings"
        checkpoint("close.after_validate")
        with timed(seconds, "actions") as shown:
            summary["actions"] = actions_flow.fn(period=period, warehouse=warehouse, out=out,
                                              run_id=summary["validation"]["run_id"], role=role, full_ids=full_ids,
                                              for_entities=True)
            rendered = summary["actions"].pop("rendered", None)  # the per-entity step's, not the summary's
            shown["note"] = f"{summary['actions'].get('by_status', {}).get('open', 0)} open"
        if summary["validation"]["report"] is None:
            summary["validation"]["report"] = summary["actions"]["report"]
        checkpoint("close.after_actions")
        summary["exports"], summary["entities"] = _finance_outputs(period, warehouse, out, dask_address, seconds, rendered)
        record_runs(warehouse, summary["ledger"]["run_id"], summary["validation"]["run_id"])
        with timed(seconds, "read_copy"):
            summary["read_copy"] = write_read_copy_files(warehouse, out)
        publish_close_summary(summary)
        emit_completed(summary)
        get_run_logger().info("closed %s: %d findings; HR report %s", period, summary["validation"]["findings"],
                              summary["validation"]["report"])
        return summary


# ------------------------------------------------------------------------------------------------ flows


@flow(name="monthly-close", flow_run_name=close_run_name, task_runner=thread_runner())
@redacting
@final_on_input_errors
def monthly_close(inbox: str | None = None, period: str | None = None, warehouse: str | None = None,
                  out: str | None = None, policy: str | None = None, dask_address: str | None = None,
                  role: str | None = None, full_ids: bool = False, profiles: str | None = None) -> dict:
    """The monthly close of one month: ingest the inbox, book the ledger, validate, update the actions,
    then export the ledger (whole, and per entity over the task runner).

    Args:
        inbox: folder of extract files; default ``$SHEBAO_INBOX``.
        period: the month to close, ``YYYY-MM``; empty means the month before the run's scheduled start
            (the previous calendar month for a run started by hand).
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for reports and exports (written under ``<out>/<period>/``); default ``$SHEBAO_OUT``
            or ``./out``.
        policy: policy file (CSV or xlsx) overriding the shipped policy for the regions it names.
        dask_address: Dask scheduler (``tcp://host:8786``) for the per-entity work; default
            ``$SHEBAO_DASK_ADDRESS``, else Prefect's thread pool.
        role: act as this role (``--role``: only the caller's granted role or one below it).
        full_ids: full ID numbers in the HR files (an hr_manager's ``--full-ids``; audited; refused to
            anyone else before anything is read).
        profiles: import profile file (导入方案, TOML); default the inbox's own ``shebao-import.toml``.

    Returns:
        counts, totals and output paths (no personal data): ``ingest``, ``ledger``, ``validation``
        (``report``), ``actions`` (``workbook``), ``exports`` and ``entities``.
    """
    period = resolve_period(period)
    inbox = _resolve_inbox(inbox)
    warehouse, out = _resolve(warehouse, out)
    use_secret_key()
    seconds: dict = {}
    with warehouse_lock(warehouse), subflows_without_heartbeats():
        # role and full_ids are checked as --role/--full-ids are, before anything is read: the HR files are
        # then written for the caller's view (an hr_manager's own --full-ids works, a typed role never raises)
        who = require_role(warehouse, "run", role, full_ids=full_ids,
                           minimum="hr_manager" if policy else "hr_staff", target=period)
        with timed(seconds, "ingest") as shown:
            ingest = ingest_flow.fn(inbox=inbox, warehouse=warehouse, run_id=new_run_id(), profiles=profiles)
            shown["note"] = ingest_note(ingest)
        record_runs(warehouse, ingest["run_id"])
        return _close_month(period, warehouse, out, policy, dask_address, ingest, seconds, who.view, who.full_ids)


def ingest_note(ingest: dict) -> str:
    return (f"{ingest['rows_staged']} rows staged, {ingest['rows_rejected']} rejected, from "
            f"{ingest['files_seen'] - ingest['files_already_loaded']} new files")


@flow(name="backfill", flow_run_name=backfill_run_name, task_runner=thread_runner())
@redacting
@final_on_input_errors
def backfill(start: str, end: str, inbox: str | None = None, warehouse: str | None = None, out: str | None = None,
             policy: str | None = None, dask_address: str | None = None, profiles: str | None = None) -> list[dict]:
    """Close every month from ``start`` to ``end`` in order; the inbox is ingested once, first.

    Args:
        start: first month, ``YYYY-MM``.
        end: last month, ``YYYY-MM`` (not before ``start``).
        inbox: folder of extract files; default ``$SHEBAO_INBOX``.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for reports and exports; default ``$SHEBAO_OUT`` or ``./out``.
        policy: policy file overriding the shipped policy for the regions it names.
        dask_address: Dask scheduler for the per-entity work; default threads.
        profiles: import profile file (导入方案, TOML); default the inbox's own ``shebao-import.toml``.

    Returns:
        one close summary per month, in order (each carries the one ingest summary).
    """
    start, end = resolve_period(start), resolve_period(end)
    if end < start:
        raise InputError(f"The last month {end} is before the first {start}; give the months in order.")
    inbox = _resolve_inbox(inbox)
    warehouse, out = _resolve(warehouse, out)
    use_secret_key()
    with warehouse_lock(warehouse), subflows_without_heartbeats():
        who = require_role(warehouse, "backfill", minimum="hr_manager" if policy else "hr_staff",
                           target=f"{start}..{end}")
        with console.stage("ingest the inbox") as shown:
            ingest = ingest_flow.fn(inbox=inbox, warehouse=warehouse, run_id=new_run_id(), profiles=profiles)
            shown["note"] = ingest_note(ingest)
        record_runs(warehouse, ingest["run_id"])
        return [_close_month(period, warehouse, out, policy, dask_address, ingest, role=who.view)
                for period in months_between(start, end)]


@flow(name="daily-ingest", flow_run_name=ingest_run_name)
@redacting
@final_on_input_errors
def daily_ingest(inbox: str | None = None, warehouse: str | None = None) -> dict:
    """Stage the new files of the inbox (the ingest flow) as the warehouse's one writer.

    Args:
        inbox: folder of extract files; default ``$SHEBAO_INBOX``.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
    """
    inbox = _resolve_inbox(inbox)
    warehouse, _ = _resolve(warehouse, None)
    use_secret_key()
    with warehouse_lock(warehouse), subflows_without_heartbeats():
        require_role(warehouse, "ingest")
        summary = ingest_flow.fn(inbox=inbox, warehouse=warehouse, run_id=new_run_id())
        record_runs(warehouse, summary["run_id"])
        return summary


deployed_close = retried(monthly_close)  # prefect.yaml's entrypoints
deployed_ingest = retried(daily_ingest)
