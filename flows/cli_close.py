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
OutOption = Annotated[Path, typer.Option("--out", help="Folder for reports and exports (<out>/<period>/).")]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="Policy file overriding the shipped policy.")]
WarehouseOption = Annotated[Path | None, typer.Option(
    "--warehouse", help="DuckDB warehouse file (default: $SHEBAO_WAREHOUSE, else ./shebao.duckdb).")]
DaskOption = Annotated[str | None, typer.Option(
    "--dask-address", help="Dask scheduler for the per-entity work (default: $SHEBAO_DASK_ADDRESS, else threads).")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show the orchestrator's (Prefect's) logs too.")]
WaitOption = Annotated[float | None, typer.Option(
    "--wait", help="Seconds to wait while another run writes the warehouse (default: $SHEBAO_LOCK_WAIT, else 30).")]

DEMO_MONTHS = ("2023-01", "2024-03")  # the sample's months; the demo closes the last


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


def _print_ingest(ingest: dict) -> None:
    typer.echo(f"Ingest: {ingest['rows_staged']} rows staged ({ingest['rows_rejected']} rejected) from "
               f"{ingest['files_seen'] - ingest['files_already_loaded']} new files; "
               f"{ingest['files_already_loaded']} loaded before.")


STATUS_WORDS = {"open": "open", "resolved": "resolved", "dismissed": "dismissed", "submitted": "submitted"}


def counts_in_words(counts: dict, words: dict | None = None) -> str:
    """``{"open": 12, "resolved": 3}`` as ``12 open, 3 resolved`` (``none`` when empty)."""
    words = words or {}
    parts = [f"{n} {words.get(key, str(key).replace('_', ' '))}" for key, n in sorted(counts.items()) if n]
    return ", ".join(parts) or "none"


def _print_close(summary: dict) -> None:
    validation, actions = summary["validation"], summary["actions"]
    severity = validation.get("by_severity", {})
    typer.echo(f"{summary['period']}: {summary['ledger']['employees_in_ledger']} employees in the ledger; "
               f"{validation['findings']} findings ({severity.get('error', 0)} errors, "
               f"{severity.get('warning', 0)} warnings); actions: "
               f"{counts_in_words(actions.get('by_status', {}), STATUS_WORDS)}.")
    typer.echo(f"HR report:       {validation['report']}")
    typer.echo(f"Action workbook: {actions['workbook']}")
    typer.echo(f"Ledger export:   {summary['exports'][0]}")


def _close(inbox: Path, period: str, out: Path, policy: Path | None, warehouse: Path, dask_address: str | None,
           wait: float | None, verbose: bool = False) -> dict:
    from flows import console
    from flows.close import monthly_close
    from flows.lock import warehouse_lock

    with warehouse_lock(warehouse, wait), console.reporting(verbose or _verbose()):
        preflight(warehouse)
        return monthly_close(inbox=str(inbox), period=period, warehouse=str(warehouse), out=str(out),
                             policy=str(policy) if policy else None, dask_address=dask_address)


def _verbose() -> bool:
    from flows import console

    return console.OPTIONS["verbose"]


def run(inbox: InboxOption, period: Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")],
        out: OutOption = Path("out"), policy: PolicyOption = None, warehouse: WarehouseOption = None,
        dask_address: DaskOption = None, wait: WaitOption = None, verbose: VerboseOption = False) -> None:
    """The monthly close: ingest, ledger, validate, actions, reports and exports."""
    check_period(period)
    _check_inputs(inbox, policy)
    summary = _close(inbox, period, out, policy, warehouse or default_path(), dask_address, wait, verbose)
    _print_ingest(summary["ingest"])
    _print_close(summary)


def backfill(inbox: InboxOption, start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
             end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")], out: OutOption = Path("out"),
             policy: PolicyOption = None, warehouse: WarehouseOption = None, dask_address: DaskOption = None,
             wait: WaitOption = None, verbose: VerboseOption = False) -> None:
    """Close every month from --from to --to, in order (the inbox is ingested once)."""
    check_period(start)
    check_period(end)
    if end < start:
        raise InputError(f"--to {end} is before --from {start}; give the months in order.")
    _check_inputs(inbox, policy)
    from flows import console
    from flows.close import backfill as backfill_flow
    from flows.lock import warehouse_lock

    path = warehouse or default_path()
    with warehouse_lock(path, wait), console.reporting(verbose or _verbose()):
        preflight(path)
        summaries = backfill_flow(inbox=str(inbox), start=start, end=end, warehouse=str(path), out=str(out),
                                  policy=str(policy) if policy else None, dask_address=dask_address)
    _print_ingest(summaries[0]["ingest"])
    for summary in summaries:
        _print_close(summary)


def demo(out: OutOption = Path("out"),
         employees: Annotated[int, typer.Option("--employees", min=10, help="Employees in the sample.")] = 300,
         wait: WaitOption = None, verbose: VerboseOption = False) -> None:
    """Generate a realistic sample inbox (2023-01..2024-03) and close its last month on the embedded
    defaults: the warehouse is <out>/shebao.duckdb, Prefect runs without a server."""
    from transforms.sample import generate_inbox

    inbox = out / "inbox"
    if inbox.is_dir() and any(inbox.iterdir()):
        typer.echo(f"Sample inbox: reusing {inbox}")
    else:
        manifest = generate_inbox(inbox, employees, *DEMO_MONTHS)
        typer.echo(f"Sample inbox: {len(manifest['files'])} files for {employees} employees in {inbox}")
    summary = _close(inbox, DEMO_MONTHS[1], out, None, out / "shebao.duckdb", None, wait, verbose)
    _print_ingest(summary["ingest"])
    _print_close(summary)
