"""Every file a monthly close writes, who reads it, and the step that owns it: :data:`OUTPUTS`, the index.

One function writes each output; the flows call these (the validate, actions and ledger flows through this
module, the close's finance steps through the functions the index names), and a new output is a row here
plus its function. ``tests/flows/test_close_outputs.py`` checks that a real close writes exactly the files
the index lists; ``docs/outputs.md`` is :func:`markdown` (``tests/transforms/outputs/test_outputs.py`` keeps them
the same).

Paths are below the close's ``out`` folder, ``{period}`` the month closed; ``*`` stands for a run id, an
action id, a region or an entity's file stem, ``**`` for a folder's whole tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions.workbook import write_workbook
from transforms.common.roles import get_role
from transforms.outputs.declarations import write_declarations
from transforms.outputs.export import run_changes
from transforms.outputs.forms import write_forms
from transforms.outputs.report import write_report

ACTION_WORKBOOK = "actions.xlsx"
FORMS_FOLDER = "transfer_forms"
DECLARATIONS_FOLDER = "declarations"


@dataclass(frozen=True)
class Output:
    name: str
    files: tuple[str, ...]  # patterns below <out>
    reader: str  # HR, finance or engineer
    step: str  # the close's step that writes it (flows/close.py STAGE_LABELS' keys, and read_copy)
    writer: str  # the one function that writes it
    when: str = "every close"


OUTPUTS: tuple[Output, ...] = (
    Output("GX Data Docs", ("{period}/data_docs/**",), "engineer", "validate",
           "expectations.validate.validate_period"),
    Output("HR report with full IDs", ("{period}/validation_report_*_full_ids.html",), "HR", "actions",
           "transforms.outputs.index.write_hr_report", "with --full-ids (hr_manager)"),
    Output("HR report (IDs masked; the run's report_path)", ("{period}/validation_report_*.html",), "HR",
           "actions", "transforms.outputs.index.write_hr_report"),
    Output("action workbook", ("{period}/" + ACTION_WORKBOOK,), "HR", "actions",
           "transforms.outputs.index.write_action_workbook"),
    Output("transfer forms", (f"{{period}}/{FORMS_FOLDER}/转移申请表_*.html", f"{{period}}/{FORMS_FOLDER}/转移申请表.xlsx"),
           "HR", "actions", "transforms.outputs.index.write_transfer_forms", "an open INITIATE_TRANSFER action"),
    Output("declarations (增员, 减员, 补缴, 缴费基数申报)", (f"{{period}}/{DECLARATIONS_FOLDER}/*.xlsx",), "HR",
           "actions", "transforms.outputs.index.write_hr_declarations", "people to declare"),
    Output("ledger export", ("{period}/ledger_{period}.xlsx", "{period}/ledger_{period}*.parquet",
                             "{period}/ledger_{period}*.csv"), "finance", "export", "transforms.outputs.export.write_exports"),
    Output("per-entity ledger, totals and actions", ("{period}/entities/*.xlsx", "{period}/entities/*.parquet"),
           "finance", "per_entity", "transforms.outputs.entities.write_entity_outputs"),
    Output("read copy (SPEC §7)", ("tables/**", "shebao_read.duckdb"), "engineer", "read_copy",
           "transforms.outputs.read_copy.write_read_copy"),
)


def patterns(period: str) -> dict[str, Output]:
    """Each file pattern of the index for ``period`` -> its output (a narrower pattern before a wider one)."""
    return {pattern.format(period=period): output for output in OUTPUTS for pattern in output.files}


def owner(relative: str, period: str) -> Output | None:
    """The output a file (its path below ``out``, with ``/``) belongs to, or None when the index lacks it."""
    for pattern, output in patterns(period).items():
        if fnmatchcase(relative, pattern) or (pattern.endswith("/**") and relative.startswith(pattern[:-2])):
            return output
    return None


def markdown() -> str:
    """The index as docs/outputs.md."""
    lines = ["# What a close writes", "",
             "Generated from `transforms/outputs/index.py` (`OUTPUTS`); `tests/transforms/outputs/test_outputs.py` keeps this page",
             "equal to it. Paths are below the close's `out` folder.", "",
             "| output | files | reader | step | written by | when |", "|---|---|---|---|---|---|"]
    lines += [f"| {o.name} | {', '.join(f'`{f}`' for f in o.files)} | {o.reader} | {o.step} | `{o.writer}` | {o.when} |"
              for o in OUTPUTS]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- writers


def write_hr_report(con: duckdb.DuckDBPyConnection, run_id: str, folder: Path, role: str | None = None
                    ) -> dict[str, str | None]:
    """The HR report of validation run ``run_id`` (SPEC §7), written after the action list is updated so that
    it names the action ids: the masked report always (the run's ``report_path``) and, for a role that sees
    full IDs, the full-ID report beside it. Returns both paths (``report``, ``report_full_ids`` or None)."""
    full = get_role(role).sees_full_ids
    masked = write_report(con, run_id, Path(folder), None if full else role)
    con.execute("UPDATE quality.runs SET report_path = ? WHERE run_id = ?", [str(masked), run_id])
    full_ids = write_report(con, run_id, Path(folder), role) if full else None
    return {"report": str(masked), "report_full_ids": str(full_ids) if full_ids else None}


def write_action_workbook(con: duckdb.DuckDBPyConnection, folder: Path, role: str | None = None,
                          masked: Callable[[str], pl.DataFrame] | None = None) -> Path:
    """The action workbook HR works through and sends back (SPEC §6/§7); ``masked``: each type's rows as a masked
    role reads them, from the caller (``transforms.actions.workbook.write_workbook``)."""
    return write_workbook(con, Path(folder) / ACTION_WORKBOOK, role, masked)


def write_transfer_forms(con: duckdb.DuckDBPyConnection, folder: Path, role: str | None = None) -> list[Path]:
    """One 转移接续申请表 per open INITIATE_TRANSFER action (HTML) and all of them in one xlsx."""
    return write_forms(con, Path(folder) / FORMS_FOLDER, role)


def write_hr_declarations(con: duckdb.DuckDBPyConnection, period: str, folder: Path, full_ids: bool = False
                          ) -> list[Path]:
    """The per-region declarations of ``period`` (增员, 减员, 补缴, 缴费基数申报)."""
    return write_declarations(con, period, Path(folder) / DECLARATIONS_FOLDER, full_ids=full_ids)


def ledger_changes(con: duckdb.DuckDBPyConnection, period: str, run_id: str) -> dict:
    """Not a file: what a ledger run's adjustments moved, for the ledger step's log and artifact (no file is
    written; finance reads the same rows in the export's 调整汇总 sheet)."""
    return run_changes(con, period, run_id)
