"""``shebao ingest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import WarehouseOption, caller_role, preflight
from flows.folders import folder_parameter
from warehouse.db import default_path


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


ProfilesOption = Annotated[
    Path | None,
    typer.Option("--profiles", help="Import profile file (导入方案, TOML; default: the inbox's shebao-import.toml)."),
]


def check_profiles(inbox: Path, profiles: Path | None) -> None:
    """A missing or malformed profile file is one sentence before any flow starts."""
    from transforms.ingest.context import profiles_for_inbox

    profiles_for_inbox(inbox, profiles)


def ingest(
    inbox: Annotated[Path, typer.Option("--inbox", help="Folder of extract files (CSV, xlsx or xls).")],
    warehouse: WarehouseOption = None,
    profiles: ProfilesOption = None,
) -> None:
    """Load every new file of the inbox into the warehouse: staged, or rejected with a reason."""
    from flows.runtime.server import server_ready, server_starting

    with server_starting():
        from transforms.ingest.inbox import (
            inbox_files,  # the readers behind it: imported when a command needs them
        )

        inbox_files(inbox)  # a missing inbox is one clear sentence, before any flow starts
        check_profiles(inbox, profiles)
        from flows import console
        from flows.ingest import ingest_flow
        from flows.lock import warehouse_lock

        path = warehouse or default_path()
        with warehouse_lock(path), console.reporting():
            preflight(path)
            caller_role(path, "ingest")
            server_ready()
            with console.stage("ingest the inbox") as shown:  # a progress bar over the inbox's files
                summary = ingest_flow(inbox=folder_parameter(inbox), warehouse=str(path),
                                      profiles=str(profiles) if profiles else None)
                shown["note"] = f"{summary['rows_staged']} rows staged, {summary['rows_rejected']} rejected"
    print_ingest_summary(summary)


def print_ingest_summary(summary: dict) -> None:
    typer.echo(
        f"{summary['files_seen']} files ({summary['files_already_loaded']} loaded before): "
        f"{summary['rows_read']} rows read, {summary['rows_staged']} staged, {summary['rows_rejected']} rejected"
        + (f", {summary['rows_not_data']} not data (totals, sample rows)" if summary.get("rows_not_data") else "") + "."
    )
    for reason, count in summary["rejects_by_reason"].items():
        typer.echo(f"  rejected {reason}: {count}")
    for region, count in summary.get("unknown_regions", {}).items():
        typer.echo(f"  region not in the region table, kept as given: {region} ({count} rows)")
    print_files_not_loaded(summary)


def print_files_not_loaded(summary: dict) -> None:
    """SPEC §2 v3: every file not loaded, or loaded only in part, by name, with what it lacks."""
    problems, partial = summary.get("problem_files", []), summary.get("partial_files", [])
    if problems:
        typer.echo(f"Files NOT loaded ({len(problems)}):")
        for problem in problems:
            typer.echo(f"  {problem['file']}: {problem['status']} — {problem['message']}")
    if partial:
        typer.echo(f"Files loaded in part ({len(partial)}):")
        for load in partial:
            typer.echo(f"  {load['file']}: {load['rows_rejected']} of {load['rows_read']} rows rejected"
                       + (f" — {load['message']}" if load["message"] else ""))
