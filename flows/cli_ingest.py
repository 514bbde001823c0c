"""``shebao ingest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import WarehouseOption, caller_role, preflight
from flows.folders import folder_parameter
from transforms.ingest import inbox_files
from warehouse.db import default_path


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    inbox: Annotated[Path, typer.Option("--inbox", help="Folder of extract files (CSV or xlsx).")],
    warehouse: WarehouseOption = None,
) -> None:
    """Load every new file of the inbox into the warehouse: staged, or rejected with a reason."""
    inbox_files(inbox)  # a missing inbox is one clear sentence, before any flow starts
    from flows import console
    from flows.ingest import ingest_flow
    from flows.lock import warehouse_lock

    path = warehouse or default_path()
    with warehouse_lock(path), console.reporting():
        preflight(path)
        caller_role(path, "ingest")
        with console.stage("ingest the inbox") as shown:  # a progress bar over the inbox's files
            summary = ingest_flow(inbox=folder_parameter(inbox), warehouse=str(path))
            shown["note"] = f"{summary['rows_staged']} rows staged, {summary['rows_rejected']} rejected"
    print_ingest_summary(summary)


def print_ingest_summary(summary: dict) -> None:
    typer.echo(
        f"{summary['files_seen']} files ({summary['files_already_loaded']} loaded before): "
        f"{summary['rows_read']} rows read, {summary['rows_staged']} staged, {summary['rows_rejected']} rejected."
    )
    for reason, count in summary["rejects_by_reason"].items():
        typer.echo(f"  rejected {reason}: {count}")
    for region, count in summary.get("unknown_regions", {}).items():
        typer.echo(f"  region not in the region table, kept as given: {region} ({count} rows)")
    for problem in summary["problem_files"]:
        typer.echo(f"  {problem['file']}: {problem['status']} — {problem['message']}")
