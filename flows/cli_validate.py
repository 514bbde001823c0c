"""``shebao validate`` and ``shebao report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import (
    FullIdsOption,
    PeriodOption,
    RoleOption,
    WarehouseOption,
    caller_role,
)
from flows.folders import out_folder
from flows.lock import warehouse_lock
from transforms.common.periods import check_period
from warehouse.db import default_path

OutDirOption = Annotated[Path | None, typer.Option(
    "--out", help="Folder for reports (default $SHEBAO_OUT, else ./out).")]


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("report")(report)


def validate(period: PeriodOption, out: OutDirOption = None, warehouse: WarehouseOption = None) -> None:
    """Run the validation suites for a month: quality.findings, GX Data Docs and the HR report."""
    check_period(period)
    from flows.runtime.server import server_ready, server_starting

    with server_starting():
        from expectations.validate import require_ledger
        from flows.validate import validate_flow
        from warehouse.db import opened

        path = warehouse or default_path()
        with opened(path, read_only=True) as con:  # one clear sentence before any flow starts
            require_ledger(con, period)
        caller_role(path, "validate", minimum="hr_staff", target=period)
        with warehouse_lock(path):
            server_ready()
            summary = validate_flow(period=period, warehouse=str(path), out=str(out_folder(out)))
    typer.echo(f"{period}: {summary['findings']} findings ({summary['by_severity']['error']} errors, "
               f"{summary['by_severity']['warning']} warnings), run {summary['run_id']}.")
    for code, count in summary["counts"].items():
        if count:
            typer.echo(f"  {code}: {count}")
    for warning in summary["warnings"]:
        typer.echo(f"  note: {warning}")
    typer.echo(f"Report: {summary['report']}")


def report(
    period: PeriodOption,
    run_id: Annotated[str | None, typer.Option("--run-id", help="A validation run (default: the latest).")] = None,
    out: OutDirOption = None,
    role: RoleOption = None,
    warehouse: WarehouseOption = None,
    full_ids: FullIdsOption = False,
) -> None:
    """Write the HR validation report of a run (IDs masked unless an HR manager asks with --full-ids)."""
    check_period(period)
    from transforms.actions.cleanup import audit
    from transforms.common.roles import PermissionDenied
    from transforms.outputs.report import authorise, resolve_run, write_report
    from warehouse.db import opened

    role = caller_role(warehouse, "report", role, full_ids=full_ids, target=period).view
    try:
        authorise(role)  # refused before the report is built
    except PermissionDenied:
        with opened(warehouse or default_path()) as con:  # the refusal is on the record
            audit(con, role, "report", period, False, "role may not see findings")
        raise
    with opened(warehouse or default_path(), read_only=True) as con:
        chosen = resolve_run(con, period, run_id)
        path = write_report(con, chosen, out_folder(out) / period, role=role)
    typer.echo(f"Report: {path}")
