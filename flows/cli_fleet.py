"""``shebao fleet``: close many clients (tenants), each in its own folder and warehouse (docs/fleet.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from transforms.common.periods import check_period

fleet_app = typer.Typer(help="Close many clients, each with its own inbox, warehouse and settings (docs/fleet.md).",
                        no_args_is_help=True)

ClientsOption = Annotated[Path, typer.Option("--clients", help="Folder holding one folder per client.")]
PeriodOption = Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")]


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")


@fleet_app.command("run")
def run_command(
    clients: ClientsOption,
    period: PeriodOption,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the fleet summary (default <clients>/_fleet).")]
    = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Clients closed at once.")] = 2,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Tries again after a transient failure.")] = 1,
) -> None:
    """Close every client for --period, --workers at a time; one failing never stops the others.
    Exit 0 when every client closed, 1 when any failed (the summary names them)."""
    check_period(period)
    from flows.fleet import fleet_locally

    result = fleet_locally(clients, period, out, workers, retries)
    for row in result["rows"]:
        typer.echo(f"{row['key']}: {row['status']} after {row['attempts']} attempt(s), {row['people']} people, "
                   f"{row['errors']} errors, {row['warnings']} warnings, {row['open_actions']} open actions"
                   + (f" (log: {row['log']})" if row.get("log") and row["status"] != "completed" else ""))
    typer.echo(f"Fleet summary:   {result['summary']['xlsx']}")
    typer.echo(f"                 {result['summary']['html']}")
    typer.echo(f"Fleet read copy: {result['read_copy']}")
    if result["failed"]:
        typer.echo(f"{len(result['failed'])} of {result['clients']} clients did not close: "
                   f"{', '.join(result['failed'])}.", err=True)
        raise typer.Exit(1)


@fleet_app.command("client")
def client_command(
    client: Annotated[Path, typer.Option("--client", help="The client's folder (with its shebao.toml).")],
    period: PeriodOption,
) -> None:
    """One client's close (what `fleet run` runs for each client, in its own process)."""
    check_period(period)
    import prefect.main  # noqa: F401 - Prefect's console logging exists before console.reporting quiets it

    from flows import console
    from flows.cli_close import _verbose
    from flows.fleet import NOT_RETRIED, client_close
    from warehouse.errors import ShebaoError

    with console.reporting(_verbose()):
        state = client_close(client=str(client.resolve()), period=period, return_state=True)
    if state.is_completed():
        summary = state.result()
        typer.echo(f"{summary['client']} {summary['period']}: {summary['employees_in_ledger']} employees in the "
                   f"ledger; {summary['findings']} findings; {summary['open_actions']} open actions.")
        return
    message = state.message or ""
    if message.startswith(NOT_RETRIED):
        raise ShebaoError(message[len(NOT_RETRIED):])
    state.result()  # an unexpected failure: raised, so the CLI logs it and exits 1
