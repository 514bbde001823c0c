"""The actions flow: the cleanup action list from a validation run, the HR workbook and transfer forms."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.folders import out_folder
from flows.runtime.runs import Handoff
from transforms.actions.cleanup import TYPES, output_role, update_actions
from transforms.common.heap import release_freed_memory
from transforms.common.privacy import redacting
from transforms.common.roles import get_role
from transforms.common.runs import latest_validation_run
from transforms.outputs.entities import ENTITY_FOLDER, ActionRendering
from transforms.outputs.export import sweep_spools
from transforms.outputs.index import (
    DECLARATIONS_FOLDER,
    FORMS_FOLDER,
    write_action_workbook,
    write_hr_declarations,
    write_hr_report,
    write_transfer_forms,
)
from warehouse.db import half_memory, opened
from warehouse.errors import ShebaoError


@task(name="open, keep and resolve the actions", cache_policy=NO_CACHE)
@redacting
def update_action_list(warehouse: str | None, period: str, run_id: str | None) -> dict:
    release_freed_memory()  # in a close, the steps before this one leave their freed pages in the heap
    with opened(warehouse) as con:  # the whole limit: at half, the update ran out of memory at 1,000,000
        if run_id is None:
            run_id = latest_validation_run(con, period)
            if run_id is None:
                raise ShebaoError(f"No validation run for {period} yet; run `shebao validate --period {period}` first.")
        summary = update_actions(con, period, run_id)
    get_run_logger().info("actions after %s: %s (found %s, suppressed by open transfers %s)", period,
                          summary["by_status"], summary["found"], summary["suppressed"])
    return summary | {"validation_run_id": run_id}


@task(name="write the HR report, action workbook, transfer forms and declarations", retries=2,
      retry_delay_seconds=2, cache_policy=NO_CACHE)
@redacting
def write_hr_files(warehouse: str | None, folder: str, role: str | None, period: str | None = None,
                   full_ids: bool = False, run_id: str | None = None, for_entities: bool = False) -> dict:
    """The HR outputs of this step (``transforms/outputs/index.py``, one writer each): the report, which now can
    say what to do next and name the action ids (SPEC §7), the workbook, the forms and the declarations.
    ``for_entities`` (a close): the action list a masked workbook reads is spooled as it is written, where the
    per-entity files are written, and kept (``rendered``, a :class:`Handoff` of
    ``transforms.outputs.entities.RenderedActions``) for the close's per-entity step: read and rendered once."""
    # DuckDB at half its limit: the writers' queries fit in it, and DuckDB's cache of what they read (the
    # actions' details, the findings, the ledger) sat at the whole limit beside the frames and pages being
    # written (1,000,000 employees, this step alone: 1,848, 2,197 and 1,845 MB peak, in the workbook and the
    # forms; with the writers at half and the heap returned, they peaked at 1,513 and 1,489 MB).
    # Between outputs, the C heap's free pages go back to the system (transforms.common.heap).
    with opened(warehouse) as con, half_memory(con), _collected_apart():
        role = output_role(con, role, full_ids, "actions --full-ids" if full_ids else "actions")
        reports = write_hr_report(con, run_id, Path(folder), role) if run_id else {"report": None}
        release_freed_memory()
        with _rendering(con, Path(folder), role, for_entities) as rendering:
            workbook = write_action_workbook(con, Path(folder), role, rendering.rows if rendering else None)
            rendered = rendering.done() if rendering else None
        release_freed_memory()
        forms = write_transfer_forms(con, Path(folder), role)
        release_freed_memory()
        declarations = write_hr_declarations(con, period, Path(folder), full_ids=full_ids) if period else []
    kept = {"rendered": Handoff(rendered)} if rendered else {}
    return reports | kept | {"workbook": str(workbook), "forms": len([p for p in forms if p.suffix == ".html"]),
                      "forms_folder": str(Path(folder) / FORMS_FOLDER), "declarations": len(declarations),
                      "declarations_folder": str(Path(folder) / DECLARATIONS_FOLDER)}


@contextmanager
def _collected_apart() -> Iterator[None]:
    """The objects alive before the HR files are left out of the garbage collector's full passes while the files
    are written (``gc.freeze``), and given back to it after: the report and the workbook make tens of thousands of
    rows' objects, and each full pass they set off walked the close's whole heap again (0.4 CPU-s of the actions
    step at 200,000 employees)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _rendering(con: duckdb.DuckDBPyConnection, folder: Path, role: str | None, for_entities: bool
               ) -> Iterator[ActionRendering | None]:
    """In a close (``for_entities``), the masked action list rendered as the workbook writes it and spooled in
    ``folder``'s entity folder (which a Dask worker sees too) for the per-entity step, when the workbook's role
    reads the same rows: a role that sees full ids renders its own. A rendering its workbook did not finish is
    deleted."""
    view = get_role(role)
    if not for_entities or view.sees_full_ids or not view.sees_findings:
        yield None
        return
    spools = folder / ENTITY_FOLDER
    sweep_spools(spools)  # a killed close's: this close's rendering is the only one used from here
    rendering = ActionRendering(con, spools)
    try:
        yield rendering
    except BaseException:
        rendering.discard()
        raise


def markdown(period: str, summary: dict) -> str:
    """The artifact: counts per type and status, the files; no personal data."""
    lines = [f"# Cleanup actions {period}", "",
             f"Validation run `{summary['validation_run_id']}`: {summary['found']} actions found,"
             f" {summary['suppressed']} transfers already under way.", "",
             "| type | open | submitted | resolved | dismissed |", "|---|---:|---:|---:|---:|"]
    for t in TYPES:
        s = summary["by_type"].get(t.code, {})
        lines.append(f"| {t.code} | {s.get('open', 0)} | {s.get('submitted', 0)} | {s.get('resolved', 0)} |"
                     f" {s.get('dismissed', 0)} |")
    if summary.get("not_resolvable_types"):
        lines += ["", "Not resolved this run (an extract is missing): " + ", ".join(summary["not_resolvable_types"])]
    lines += ["", f"Workbook: `{summary['workbook']}`; transfer forms: {summary['forms']};"
              f" declarations: {summary.get('declarations', 0)}"]
    return "\n".join(lines)


@flow(name="actions")
@redacting
def actions_flow(period: str, warehouse: str | None = None, out: str | None = None, run_id: str | None = None,
                 role: str | None = None, full_ids: bool = False, for_entities: bool = False) -> dict:
    """Turn a validation run's findings into the action list HR works through.

    Args:
        period: the month, ``YYYY-MM``.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for the workbook and forms (``<out>/<period>/``); default ``$SHEBAO_OUT`` or ``./out``.
        run_id: the validation run to act on; default the latest succeeded run of the period.
        role: who the workbook, forms and declarations are for.
        full_ids: full ID numbers in them (an hr_manager's ``--full-ids``; audited); masked otherwise.
        for_entities: a close's: keep the masked action list rendered for its per-entity step (``rendered``).

    Returns counts per status and type, the workbook path and the number of forms (no personal data).
    """
    warehouse = str(warehouse) if warehouse else None
    out = str(out_folder(out))
    summary = update_action_list(warehouse, period, run_id)
    summary |= write_hr_files(warehouse, str(Path(out) / period), role, period, full_ids,
                              summary["validation_run_id"], for_entities)
    create_markdown_artifact(markdown=markdown(period, summary), key="actions-summary",
                             description="Cleanup actions")
    return summary
