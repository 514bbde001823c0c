"""The monthly close: ingest, ledger, validation and actions as subflows, then the exports.

Per-entity work (the finance export per entity) fans out as tasks over entity partitions: Prefect's
thread pool by default, a Dask cluster when an address is given. The tasks get their partition's rows
as Arrow data and write files only, so DuckDB keeps its single writer (this process).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ingest import ingest_flow
from flows.ledger import ledger_flow
from flows.lock import warehouse_lock
from flows.validate import validate_flow
from transforms.export import export_ledger, ledger_rows
from transforms.faults import checkpoint
from transforms.periods import months_between, previous_month
from transforms.runs import new_run_id
from warehouse.db import default_path, opened

CONCURRENCY_LIMIT = "shebao-warehouse"  # a Prefect global concurrency limit for deployments


@task(name="export the ledger for finance", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def export_ledger_files(warehouse: str, period: str, out: str) -> list[str]:
    with opened(warehouse, read_only=False) as con:
        paths = []
        for fmt in ("xlsx", "parquet"):
            paths += [str(p) for p in export_ledger(con, period, fmt, Path(out) / period, role="finance")]
    return paths


@task(name="read the ledger partitions by entity", cache_policy=NO_CACHE)
def ledger_partitions(warehouse: str, period: str) -> list[tuple[str, pl.DataFrame]]:
    with opened(warehouse) as con:
        rows = ledger_rows(con, period, full_ids=False)
    return [(key[0], frame) for key, frame in rows.partition_by("entity", as_dict=True, maintain_order=True).items()]


@task(name="write one entity's ledger export", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def write_entity_export(entity: str, rows: pl.DataFrame, folder: str) -> dict:
    """Runs on a thread or a Dask worker: only the partition's rows and a folder to write to."""
    from transforms.export import ROW_HEADERS, _labelled
    from transforms.spreadsheet import new_workbook, write_sheet

    path = Path(folder) / f"{entity}.xlsx"
    workbook = new_workbook(path)
    write_sheet(workbook, "缴费明细", _labelled(rows), ROW_HEADERS, {"base", "employer_amount", "employee_amount",
                                                                  "total_amount"})
    workbook.close()
    return {"entity": entity, "rows": rows.height, "employer": str(rows["employer_amount"].sum()),
            "employee": str(rows["employee_amount"].sum()), "file": path.name}


@flow(name="entity-partitions")
def entity_partitions(warehouse: str, period: str, out: str) -> list[dict]:
    """Fan the per-entity exports out over the flow's task runner; results in entity order."""
    partitions = ledger_partitions(warehouse, period)
    folder = Path(out) / period / "entities"
    futures = [write_entity_export.submit(entity, rows, str(folder)) for entity, rows in partitions]
    return [future.result() for future in futures]


def _partition_runner(dask_address: str | None):
    address = dask_address or os.environ.get("SHEBAO_DASK_ADDRESS")
    if not address:
        return ThreadPoolTaskRunner(max_workers=4)
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


def _in_deployment() -> bool:
    try:
        return get_run_context().flow_run.deployment_id is not None
    except Exception:  # no run context outside a flow run
        return False


def _markdown(period: str, summary: dict) -> str:
    validation, ledger, actions = summary["validation"], summary["ledger"], summary["actions"]
    lines = [f"# Monthly close {period}", "",
             f"- ingest: {summary['ingest']['rows_read']} rows read, {summary['ingest']['rows_staged']} staged, "
             f"{summary['ingest']['rows_rejected']} rejected",
             f"- ledger: {ledger['employees_in_ledger']} employees, {ledger['rows_appended']} rows appended",
             f"- findings: {validation['findings']} ({validation['by_severity']})",
             f"- actions: {actions.get('by_status', {})}", "",
             "| code | findings |", "|---|---:|"]
    lines += [f"| {code} | {count} |" for code, count in validation["counts"].items() if count]
    lines += ["", "| entity | employer | employee |", "|---|---:|---:|"]
    lines += [f"| {t['entity']} | {t['employer']} | {t['employee']} |" for t in ledger["totals_by_entity"]]
    lines += ["", f"HR report: `{validation['report']}`", f"Action workbook: `{actions.get('workbook')}`",
              f"Ledger export: `{summary['exports'][0] if summary['exports'] else None}`"]
    return "\n".join(lines)


@flow(name="monthly-close")
def monthly_close(inbox: str | None = None, period: str | None = None, warehouse: str | None = None,
                  out: str | None = None, policy: str | None = None, dask_address: str | None = None) -> dict:
    """The monthly close for one month: ingest the inbox, book the ledger, validate, update the actions.

    Args:
        inbox: folder of extract files; default ``$SHEBAO_INBOX``.
        period: the month to close, ``YYYY-MM``; default the previous calendar month.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for reports and exports (``<out>/<period>/``); default ``./out``.
        policy: policy file overriding the shipped policy for the regions it names.
        dask_address: a Dask scheduler to fan per-entity work out to; default threads.
    """
    from flows.actions import actions_flow

    period = period or previous_month()
    inbox = inbox or os.environ.get("SHEBAO_INBOX")
    if not inbox:
        from warehouse.errors import InputError

        raise InputError("No inbox given; pass --inbox (or set SHEBAO_INBOX for deployments).")
    warehouse = str(Path(warehouse or default_path()).resolve())
    out = str(Path(out or Path.cwd() / "out").resolve())  # GX Data Docs need an absolute folder
    run_id = new_run_id()
    logger = get_run_logger()
    if _in_deployment():
        from prefect.concurrency.sync import concurrency

        guard = concurrency(CONCURRENCY_LIMIT, occupy=1, strict=True)
    else:
        from contextlib import nullcontext

        guard = nullcontext()
    with guard, warehouse_lock(warehouse):
        summary = {"period": period, "run_id": run_id}
        summary["ingest"] = ingest_flow(inbox=str(inbox), warehouse=warehouse, run_id=run_id)
        summary["ledger"] = ledger_flow(period=period, warehouse=warehouse, policy=policy, run_id=run_id)
        checkpoint("close.after_ledger")
        summary["validation"] = validate_flow(period=period, warehouse=warehouse, out=out)
        checkpoint("close.after_validate")
        summary["actions"] = actions_flow(period=period, warehouse=warehouse, out=out,
                                          run_id=summary["validation"]["run_id"])
        checkpoint("close.after_actions")
        summary["exports"] = export_ledger_files(warehouse, period, out)
        partitioned = entity_partitions.with_options(task_runner=_partition_runner(dask_address))
        summary["entities"] = partitioned(warehouse=warehouse, period=period, out=out)
    logger.info("closed %s: report %s", period, summary["validation"]["report"])
    create_markdown_artifact(markdown=_markdown(period, summary), key="monthly-close",
                             description=f"Monthly close {period}")
    return summary


@flow(name="backfill")
def backfill(inbox: str, start: str, end: str, warehouse: str | None = None, out: str | None = None,
             policy: str | None = None) -> list[dict]:
    """Close every month from ``start`` to ``end`` in order (the inbox is ingested once, by the first).

    Args:
        inbox: folder of extract files.
        start: first month, ``YYYY-MM``.
        end: last month, ``YYYY-MM``.
        warehouse: DuckDB warehouse file.
        out: folder for reports and exports.
        policy: policy file overriding the shipped policy.
    """
    return [monthly_close(inbox=inbox, period=period, warehouse=warehouse, out=out, policy=policy)
            for period in months_between(start, end)]
