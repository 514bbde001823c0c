"""``shebao run``, ``shebao backfill`` and ``shebao demo``: the monthly close."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import RoleOption, caller_role, preflight
from flows.cli_ingest import ProfilesOption, check_profiles
from flows.folders import folder_parameter, out_folder
from transforms.common.periods import check_period
from warehouse.db import default_path
from warehouse.errors import InputError

InboxOption = Annotated[Path, typer.Option("--inbox", help="Folder of extract files (CSV or xlsx).")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Folder for reports and exports, <out>/<period>/ (default $SHEBAO_OUT, else ./out).")]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="Policy file overriding the shipped policy.")]
WarehouseOption = Annotated[Path | None, typer.Option(
    "--warehouse", help="DuckDB warehouse file (default: $SHEBAO_WAREHOUSE, else ./shebao.duckdb).")]
DaskOption = Annotated[str | None, typer.Option(
    "--dask-address", help="Dask scheduler for the per-entity work (default: $SHEBAO_DASK_ADDRESS, else threads).")]
FullIdsOption = Annotated[bool, typer.Option(
    "--full-ids", help="Full ID numbers in the workbook, forms and declarations (HR managers only; audited).")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show the orchestrator's (Prefect's) logs too.")]
WaitOption = Annotated[float | None, typer.Option(
    "--wait", help="Seconds to wait while another run writes the warehouse (default: $SHEBAO_LOCK_WAIT, else 30).")]



def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("backfill")(backfill)
    app.command("demo")(demo)


def _check_inputs(inbox: Path, policy: Path | None) -> None:
    """Stop before anything is written when the inbox is missing or the policy file is unreadable."""
    from transforms.ingest.inbox import (
        inbox_files,  # the readers behind it: imported when a command needs them
    )

    inbox_files(inbox)
    if policy is not None:
        from transforms.ledger.policy import check_policy_file

        check_policy_file(policy)


def _print_ingest(ingest: dict) -> None:
    from flows.cli_ingest import print_files_not_loaded

    typer.echo(f"Ingest: {ingest['rows_staged']} rows staged ({ingest['rows_rejected']} rejected) from "
               f"{ingest['files_seen'] - ingest['files_already_loaded']} new files; "
               f"{ingest['files_already_loaded']} loaded before.")
    print_files_not_loaded(ingest)  # issue 30.6: a failed or unrecognised file is named by run too


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
    if actions.get("forms_folder"):
        typer.echo(f"Transfer forms:  {actions['forms']} in {actions['forms_folder']}")
    if actions.get("declarations_folder"):
        typer.echo(f"Declarations:    {actions.get('declarations', 0)} in {actions['declarations_folder']}")
    from transforms.outputs.export import change_lines

    for line in change_lines(summary["ledger"].get("changes")):
        typer.echo(line)


def _close(inbox: Path, period: str, out: Path | None, policy: Path | None, warehouse: Path,
           dask_address: str | None, wait: float | None, role: str | None = None, full_ids: bool = False,
           verbose: bool = False, profiles: Path | None = None) -> dict:
    import prefect.main  # noqa: F401 - Prefect's console logging exists before console.reporting quiets it

    from flows import console
    from flows.lock import warehouse_lock
    from flows.runtime.server import server_ready

    with warehouse_lock(warehouse, wait), console.reporting(verbose or _verbose()):
        preflight(warehouse)
        # --role and --full-ids settled once, before any flow starts: a refusal is one sentence (audited)
        caller_role(warehouse, "run", role, full_ids=full_ids, minimum="hr_manager" if policy else "hr_staff",
                    target=period)
        from flows.close import monthly_close

        server_ready()
        return monthly_close(inbox=folder_parameter(inbox), period=period, warehouse=str(warehouse), out=str(out_folder(out)),
                             policy=str(policy) if policy else None, dask_address=dask_address, role=role,
                             full_ids=full_ids,
                             profiles=str(profiles) if profiles else None)


def _verbose() -> bool:
    from flows import console

    return console.OPTIONS["verbose"]


def run(inbox: InboxOption, period: Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")],
        out: OutOption = None, policy: PolicyOption = None, warehouse: WarehouseOption = None,
        dask_address: DaskOption = None, wait: WaitOption = None, role: RoleOption = None,
        full_ids: FullIdsOption = False, verbose: VerboseOption = False, profiles: ProfilesOption = None) -> None:
    """The monthly close: ingest, ledger, validate, actions, reports and exports."""
    from flows.runtime.server import server_starting

    check_period(period)
    with server_starting():  # while the checks run and the flows import (GX)
        _check_inputs(inbox, policy)
        check_profiles(inbox, profiles)
        summary = _close(inbox, period, out, policy, warehouse or default_path(), dask_address, wait, role,
                         full_ids, verbose, profiles)
    _print_ingest(summary["ingest"])
    _print_close(summary)


def backfill(inbox: InboxOption, start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
             end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")], out: OutOption = None,
             policy: PolicyOption = None, warehouse: WarehouseOption = None, dask_address: DaskOption = None,
             wait: WaitOption = None, verbose: VerboseOption = False, profiles: ProfilesOption = None) -> None:
    """Close every month from --from to --to, in order (the inbox is ingested once)."""
    check_period(start, "--from")
    check_period(end, "--to")
    if end < start:
        raise InputError(f"--to {end} is before --from {start}; give the months in order.")
    from flows.runtime.server import server_ready, server_starting

    with server_starting():
        _check_inputs(inbox, policy)
        check_profiles(inbox, profiles)
        from flows import console
        from flows.close import backfill as backfill_flow
        from flows.lock import warehouse_lock
    path = warehouse or default_path()
    with warehouse_lock(path, wait), console.reporting(verbose or _verbose()):
        preflight(path)
        caller_role(path, "backfill", minimum="hr_manager" if policy else "hr_staff", target=f"{start}..{end}")
        server_ready()
        summaries = backfill_flow(inbox=folder_parameter(inbox), start=start, end=end, warehouse=str(path),
                                  out=str(out_folder(out)), policy=str(policy) if policy else None,
                                  dask_address=dask_address, profiles=str(profiles) if profiles else None)
    _print_ingest(summaries[0]["ingest"])
    for summary in summaries:
        _print_close(summary)


def demo(out: OutOption = None,
         employees: Annotated[int, typer.Option("--employees", min=10, help="Employees in the sample.")] = 300,
         wait: WaitOption = None, verbose: VerboseOption = False) -> None:
    """Generate a realistic sample inbox (fifteen months) and close its last three on the embedded defaults:
    the warehouse is <out>/shebao.duckdb, Prefect runs without a server. The months and the entities' cities
    come from the shipped policy, so that every entity is booked (sample.rules.demo_plan)."""
    from flows.runtime.collector import paused_while_starting
    from flows.runtime.server import server_ready, start_server_early
    from sample import generate_inbox
    from sample.rules import demo_plan

    start_server_early()  # Prefect's temporary server starts while the sample is written
    # the last three months are closed: arrears accrue late fees, a trend shows
    entities, first, close_from, close_to = demo_plan()
    out = out_folder(out)
    inbox = out / "inbox"
    if inbox.is_dir() and any(inbox.iterdir()):
        typer.echo(f"Sample inbox: reusing {inbox}")
    else:
        manifest = generate_inbox(inbox, employees, first, close_to, entities=entities)
        typer.echo(f"Sample inbox: {len(manifest['files'])} files for {employees} employees in {inbox}")
    # the imports alone with the collector paused (flows.runtime.collector), not the sample's writing: what that
    # makes and drops is collected as usual
    with paused_while_starting():
        from flows import console
        from flows.close import backfill as backfill_flow
        from flows.lock import warehouse_lock
    warehouse = out / "shebao.duckdb"
    with warehouse_lock(warehouse, wait), console.reporting(verbose or _verbose()):
        preflight(warehouse)
        server_ready()
        summaries = backfill_flow(inbox=str(inbox), start=close_from, end=close_to,
                                  warehouse=str(warehouse), out=str(out))
    _print_ingest(summaries[0]["ingest"])
    for summary in summaries:
        _print_close(summary)
    _print_demo_outputs(warehouse, out, close_to, close_from)


def _print_demo_outputs(warehouse: Path, out: Path, period: str, first: str) -> None:
    """Every action type with its count and where its list is, then where each output of the close is."""
    from transforms.actions.cleanup import TYPES
    from transforms.common.glossary import ACTION_STATUS
    from warehouse.db import opened

    with opened(warehouse, read_only=True) as con:
        counts = con.execute("SELECT action_type, status, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall()
    by_type: dict[str, dict[str, int]] = {}
    for action_type, status, n in counts:
        by_type.setdefault(action_type, {})[status] = n
    folder = out / period
    typer.echo("")
    typer.echo(f"Actions after closing {first}..{period} (workbook {folder / 'actions.xlsx'}, one sheet each):")
    missing = []
    for t in TYPES:
        found = by_type.get(t.code)
        if not found:
            missing.append(t.code)
            continue
        statuses = ", ".join(f"{ACTION_STATUS.get(s, s)} {n}" for s, n in sorted(found.items()))
        typer.echo(f"  {t.code:<24} {t.name_zh}: {statuses}")
    if missing:
        typer.echo(f"  (this sample raised none of: {', '.join(missing)})")
    outputs = [("HR report", next(iter(sorted(folder.glob("validation_report_*.html"))), None)),
               ("Action workbook", folder / "actions.xlsx"),
               ("Transfer forms", folder / "transfer_forms"),
               ("Declarations", folder / "declarations"),
               ("Per-entity files", folder / "entities"),
               ("Ledger export", folder / f"ledger_{period}.xlsx"),
               ("Data Docs", folder / "data_docs"),
               ("Warehouse", warehouse)]
    typer.echo("")
    typer.echo("Where everything is:")
    for label, path in outputs:
        if path is None or not Path(path).exists():
            continue
        extra = ""
        if Path(path).is_dir():
            names = sorted(p.name for p in Path(path).iterdir())
            extra = f" ({len(names)} files" + (f": {', '.join(names[:6])}{' …' if len(names) > 6 else ''})" if names
                                               else ")")
        typer.echo(f"  {label + ':':<18}{path}{extra}")
    # the demo's warehouse is its own (never $SHEBAO_WAREHOUSE or ./shebao.duckdb: sample data must not mix
    # into a real one), so every command to look at it names it
    where = f"--warehouse {warehouse}"
    typer.echo(f"This demo's warehouse is {warehouse}; the other commands read it when given {where}, e.g.")
    typer.echo(f"  shebao actions list {where}")
    typer.echo(f"  shebao report --period {period} {where} --out {out}")
    typer.echo("Mark an action done: fill 处理状态/处理说明 in the workbook and put it back into the inbox, or run"
               f" `shebao actions submit ID {where}`.")
