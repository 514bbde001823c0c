"""``shebao actions``: run the stage, list the actions, dismiss one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import RoleOption, WarehouseOption, check_period, preflight
from warehouse.db import default_path

actions_app = typer.Typer(help="The cleanup action list: `--period P` runs the stage; list; dismiss.",
                          invoke_without_command=True, no_args_is_help=False)


def register(app: typer.Typer) -> None:
    app.add_typer(actions_app, name="actions")


@actions_app.callback()
def actions(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option("--period", help="Run the actions stage for this month.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the workbook (default ./out).")] = None,
    role: RoleOption = "hr_staff",
    warehouse: WarehouseOption = None,
) -> None:
    """Update the action list from the month's latest validation run and write the workbook."""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    check_period(period)
    from flows.actions import actions_flow
    from flows.lock import warehouse_lock

    path = warehouse or default_path()
    with warehouse_lock(path):
        preflight(path)
        summary = actions_flow(period=period, warehouse=str(path), out=str(out) if out else None, role=role)
    typer.echo(f"{period}: {summary['by_status']}; workbook {summary['workbook']}")


@actions_app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option("--status", help="open, resolved or dismissed.")] = None,
    action_type: Annotated[str | None, typer.Option("--type", help="An action type, e.g. ADJUST_BASE.")] = None,
    role: RoleOption = "hr_staff",
    warehouse: WarehouseOption = None,
) -> None:
    """List the actions (IDs masked unless --role hr_manager)."""
    from transforms.actions import list_actions
    from warehouse.db import opened

    with opened(warehouse or default_path()) as con:
        rows = list_actions(con, status, action_type, role)
    for row in rows.iter_rows(named=True):
        typer.echo(f"{row['action_id']}  {row['action_type']:<22} {row['status']:<9} {row['severity']:<7} "
                   f"{row['period_first_seen']}..{row['period_last_seen']}  {row['entity'] or ''} "
                   f"{row['employee_id'] or ''} {row['name'] or ''} {row['id_number'] or ''}  [{row['finding_codes']}]")
    typer.echo(f"{rows.height} actions.")


@actions_app.command("dismiss")
def dismiss_command(
    action_id: Annotated[str, typer.Argument(help="The action id, as `actions list` shows it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the action needs nothing more.")],
    role: RoleOption = "hr_staff",
    warehouse: WarehouseOption = None,
) -> None:
    """Dismiss an action (HR managers only); it stays dismissed."""
    from flows.lock import warehouse_lock
    from transforms.actions import dismiss
    from warehouse.db import opened

    path = warehouse or default_path()
    with warehouse_lock(path), opened(path) as con:
        dismiss(con, action_id, reason, role)
    typer.echo(f"{action_id} dismissed.")
