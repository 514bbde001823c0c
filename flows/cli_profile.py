"""``shebao profile suggest FILE``: a draft import profile (导入方案) for a file no kind recognises."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import InputError

profile_app = typer.Typer(help="Import profiles (导入方案): how the columns of a source map to ours.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(profile_app, name="profile")


@profile_app.command("suggest")
def suggest(file: Annotated[Path, typer.Argument(help="The extract file to draft a profile for.")]) -> None:
    """Print a draft [[source]] for shebao-import.toml, from the closest aliases; check it, then save it."""
    from transforms.ingest.profile_suggest import suggest as draft
    from transforms.ingest.readers import UnreadableFile

    if not file.is_file():
        raise InputError(f"The file {file} does not exist; pass the extract file to draft a profile for.")
    try:
        typer.echo(draft(file), nl=False)
    except UnreadableFile as exc:
        raise InputError(f"The file {file.name} cannot be read: {exc}.") from None
