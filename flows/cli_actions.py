"""``shebao actions``: run the stage (``actions run --period P``, or ``actions --period P``), list, dismiss."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import FullIdsOption, RoleOption, WarehouseOption, caller_role, preflight
from transforms.common.periods import check_period
from warehouse.db import default_path

actions_app = typer.Typer(help="The cleanup action list: `run --period P` updates it; list; dismiss.",
                          invoke_without_command=True, no_args_is_help=False)

PeriodOpt = Annotated[str | None, typer.Option("--period", help="Update the action list for this month (YYYY-MM).")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Folder for <period>/actions.xlsx (default $SHEBAO_OUT, else ./out).")]
RunIdOpt = Annotated[str | None, typer.Option("--run-id", help="The validation run to act on (default the latest).")]
LIST_COLUMNS = (("action_id", "编号"), ("action_type", "类型"), ("status", "状态"), ("severity", "级别"),
                ("seen", "发现期间"), ("entity", "单位"), ("employee_id", "工号"), ("name", "姓名"),
                ("id_number", "身份证号"), ("finding_codes", "问题代码"))


def register(app: typer.Typer) -> None:
    app.add_typer(actions_app, name="actions")


FullIdsOpt = Annotated[bool, typer.Option(
    "--full-ids", help="Full ID numbers in the workbook, forms and declarations (HR managers only; audited).")]


def _run(period: str, out: Path | None, role: str | None, warehouse: Path | None, run_id: str | None,
         full_ids: bool = False) -> None:
    check_period(period)
    from flows.runtime.server import server_ready, server_starting

    with server_starting():
        from flows.actions import actions_flow
        from flows.lock import warehouse_lock

        path = warehouse or default_path()
        with warehouse_lock(path):
            preflight(path)
            who = caller_role(path, "actions", role, full_ids=full_ids, minimum="hr_staff", target=period)
            server_ready()
            summary = actions_flow(period=period, warehouse=str(path), out=str(out) if out else None,
                                   run_id=run_id, role=who.view, full_ids=full_ids)
    counts = ", ".join(f"{status} {count}" for status, count in sorted(summary["by_status"].items())) or "none"
    typer.echo(f"{period}: actions {counts}; found this run {summary['found']}"
               f" (transfers already under way: {summary['suppressed']}).")
    typer.echo(f"Workbook: {summary['workbook']}")
    typer.echo(f"Transfer forms: {summary['forms']} in {summary['forms_folder']}")
    typer.echo(f"Declarations: {summary.get('declarations', 0)} in {summary.get('declarations_folder')}")


@actions_app.callback()
def actions(ctx: typer.Context, period: PeriodOpt = None, out: OutOpt = None, role: RoleOption = None,
            warehouse: WarehouseOption = None, run_id: RunIdOpt = None, full_ids: FullIdsOpt = False) -> None:
    """Update the action list from the month's latest validation run and write the workbook and forms."""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    _run(period, out, role, warehouse, run_id, full_ids)


@actions_app.command("run")
def run_command(period: Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")], out: OutOpt = None,
                role: RoleOption = None, warehouse: WarehouseOption = None, run_id: RunIdOpt = None,
                full_ids: FullIdsOpt = False) -> None:
    """Update the action list for a month and write <out>/<period>/actions.xlsx and transfer forms."""
    _run(period, out, role, warehouse, run_id, full_ids)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(rows: list[dict], columns: tuple = LIST_COLUMNS) -> str:
    """A plain aligned table (CJK characters count double), header first."""
    cells = [[label for _, label in columns]]
    cells += [[str(row.get(key) or "") for key, _ in columns] for row in rows]
    widths = [max(_width(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(_pad(c, w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def format_rows(rows: list[dict], fmt: str) -> str:
    """The listed actions as JSON (one array of objects) or CSV (a header, then one row per action)."""
    from transforms.common.spreadsheet import neutralise

    keys = [key for key, _ in LIST_COLUMNS] + ["dismissed_reason"]  # a dismissal says why (SPEC §6)
    if fmt == "json":
        return json.dumps([{key: row.get(key) for key in keys} for row in rows], ensure_ascii=False, default=str)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    # a CSV opens in a spreadsheet: a value starting with = + - @ must not run as a formula there
    writer.writerows([["" if row.get(key) is None else neutralise(row.get(key)) for key in keys] for row in rows])
    return buffer.getvalue().rstrip("\n")


@actions_app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option("--status", help="open, submitted, resolved or dismissed.")] = None,
    action_type: Annotated[str | None, typer.Option("--type", help="An action type, e.g. ADJUST_BASE.")] = None,
    role: RoleOption = None,
    warehouse: WarehouseOption = None,
    full_ids: FullIdsOption = False,
    fmt: Annotated[ListFormat, typer.Option("--format", help="table (for people), json or csv (for programs).")]
    = ListFormat.table,
) -> None:
    """List the actions, most severe and oldest first (IDs masked unless an HR manager asks with
    --full-ids)."""
    from transforms.actions.cleanup import list_actions
    from warehouse.db import opened

    path = warehouse or default_path()
    # who may list is settled on a short connection that records a refusal or a --full-ids request; the
    # list itself is read on a read-only one (a read never creates a warehouse)
    who = caller_role(path, "actions list", role, full_ids=full_ids, minimum="hr_staff")
    with opened(path, read_only=True) as con:
        frame = list_actions(con, status, action_type, who.view)
    rows = [row | {"seen": f"{row['period_first_seen']}..{row['period_last_seen']}"}
            for row in frame.iter_rows(named=True)]
    if fmt is not ListFormat.table:
        typer.echo(format_rows(rows, fmt.value))
        return
    # dismissed actions show why (SPEC §6)
    columns = LIST_COLUMNS + ((("dismissed_reason", "忽略原因"),) if status == "dismissed" else ())
    if rows:
        header, rule, *body = format_table(rows, columns).splitlines()
        # the header and the count go to stderr: stdout is one action per line, its id first, for scripts
        typer.echo(header, err=True)
        typer.echo(rule, err=True)
        typer.echo("\n".join(body))
    typer.echo(f"{len(rows)} actions.", err=True)


@actions_app.command("dismiss")
def dismiss_command(
    action_id: Annotated[str, typer.Argument(help="The action id, as `actions list` shows it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the action needs nothing more.")],
    role: RoleOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Dismiss an action (HR managers only); it stays dismissed while the problem persists."""
    from flows.lock import warehouse_lock
    from transforms.actions.cleanup import dismiss
    from transforms.actions.status_updates import clean_note
    from transforms.common.roles import resolve_caller
    from warehouse.db import opened

    path = warehouse or default_path()
    with warehouse_lock(path), opened(path) as con:
        # a reason of zero-width characters only is no reason; an ID typed into it is kept masked
        dismiss(con, action_id, clean_note(reason), resolve_caller(con, "actions dismiss", role, target=action_id).view)
    typer.echo(f"{action_id} dismissed.")


@actions_app.command("submit")
def submit_command(
    action_id: Annotated[str, typer.Argument(help="The action id, as `actions list` shows it.")],
    note: Annotated[str | None, typer.Option("--note", help="What was filed (optional).")] = None,
    role: RoleOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Mark an action submitted: HR filed the application or declaration (it stays so while found)."""
    from flows.lock import warehouse_lock
    from transforms.actions.status_updates import submit
    from transforms.common.roles import resolve_caller
    from warehouse.db import opened

    path = warehouse or default_path()
    with warehouse_lock(path), opened(path) as con:
        changed = submit(con, action_id, note, resolve_caller(con, "actions submit", role, target=action_id).view)
    typer.echo(f"{action_id} submitted." if changed else f"{action_id} was already submitted.")
