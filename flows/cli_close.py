"""``shebao run``, ``shebao backfill`` and ``shebao demo``: the monthly close."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import check_period, preflight
from transforms.ingest import inbox_files
from warehouse.db import default_path
from warehouse.errors import InputError

InboxOption = Annotated[Path, typer.Option("--inbox", help="Folder of extract files (CSV or xlsx).")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for reports and exports.")]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="Policy file overriding the shipped policy.")]
WarehouseOption = Annotated[Path | None, typer.Option("--warehouse", help="DuckDB warehouse file.")]
DaskOption = Annotated[str | None, typer.Option("--dask-address", help="Dask scheduler for per-entity work.")]
WaitOption = Annotated[float | None, typer.Option("--wait", help="Seconds to wait for another run to finish.")]


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("backfill")(backfill)
    app.command("demo")(demo)


def _check_inputs(inbox: Path, policy: Path | None) -> None:
    """Stop before anything is written when the inbox is missing or the policy file is unreadable."""
    inbox_files(inbox)
    if policy is not None:
        from warehouse.policy import check_policy_file

        check_policy_file(policy)


def _print_outputs(summary: dict) -> None:
    validation, actions = summary["validation"], summary["actions"]
    typer.echo(f"{summary['period']}: {summary['ingest']['rows_staged']} rows staged "
               f"({summary['ingest']['rows_rejected']} rejected), {summary['ledger']['employees_in_ledger']} employees "
               f"in the ledger, {validation['findings']} findings, actions {actions['by_status']}.")
    typer.echo(f"HR report:       {validation['report']}")
    typer.echo(f"Action workbook: {actions['workbook']}")
    typer.echo(f"Ledger export:   {summary['exports'][0]}")


def run(inbox: InboxOption, period: Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")],
        out: OutOption = Path("out"), policy: PolicyOption = None, warehouse: WarehouseOption = None,
        dask_address: DaskOption = None, wait: WaitOption = None) -> None:
    """The monthly close: ingest, ledger, validate, actions, reports and exports."""
    check_period(period)
    _check_inputs(inbox, policy)
    from flows.close import monthly_close
    from flows.lock import warehouse_lock

    path = warehouse or default_path()
    with warehouse_lock(path, wait):
        preflight(path)
        summary = monthly_close(inbox=str(inbox), period=period, warehouse=str(path), out=str(out),
                                policy=str(policy) if policy else None, dask_address=dask_address)
    _print_outputs(summary)


def backfill(inbox: InboxOption, start: Annotated[str, typer.Option("--from", help="First month.")],
             end: Annotated[str, typer.Option("--to", help="Last month.")], out: OutOption = Path("out"),
             policy: PolicyOption = None, warehouse: WarehouseOption = None, wait: WaitOption = None) -> None:
    """Close every month from --from to --to, in order."""
    check_period(start)
    check_period(end)
    if end < start:
        raise InputError(f"--to {end} is before --from {start}; give the months in order.")
    _check_inputs(inbox, policy)
    from flows.close import backfill as backfill_flow
    from flows.lock import warehouse_lock

    path = warehouse or default_path()
    with warehouse_lock(path, wait):
        preflight(path)
        summaries = backfill_flow(inbox=str(inbox), start=start, end=end, warehouse=str(path), out=str(out),
                                  policy=str(policy) if policy else None)
    for summary in summaries:
        _print_outputs(summary)


def demo(out: OutOption = Path("demo"),
         employees: Annotated[int, typer.Option("--employees", help="Employees in the sample.")] = 300) -> None:
    """Generate a realistic sample inbox and run the monthly close on it, on the embedded defaults."""
    from flows.close import monthly_close
    from flows.lock import warehouse_lock
    from transforms.sample import generate_inbox

    inbox = out / "inbox"
    if not inbox.exists():
        manifest = generate_inbox(inbox, employees, "2024-01", "2025-03")
        typer.echo(f"Sample inbox: {len(manifest['files'])} files for {employees} employees in {inbox}")
    warehouse = out / "shebao.duckdb"
    with warehouse_lock(warehouse):
        preflight(warehouse)
        summary = monthly_close(inbox=str(inbox), period="2025-03", warehouse=str(warehouse), out=str(out / "out"))
    _print_outputs(summary)
