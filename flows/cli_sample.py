"""``shebao sample``: a realistic generated inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import check_period
from warehouse.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)


def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the inbox into.")],
    employees: Annotated[int, typer.Option("--employees", help="How many employees.")] = 300,
    start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")] = "2024-01",
    end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")] = "2025-03",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same inbox.")] = 0,
    formats: Annotated[str, typer.Option("--formats", help="mixed (CSV in three encodings and xlsx) or csv.")] = "mixed",
) -> None:
    """Write a realistic sample inbox of all four kinds, with every SPEC §5 anomaly at a low rate."""
    check_period(start)
    check_period(end)
    if end < start:
        raise InputError(f"--to {end} is before --from {start}; give the months in order.")
    if employees < 1:
        raise InputError("--employees must be at least 1.")
    if formats not in ("mixed", "csv"):
        raise InputError(f"--formats {formats!r} is unknown; use mixed or csv.")
    from transforms.sample import generate_inbox

    manifest = generate_inbox(out, employees, start, end, seed=seed, formats=formats)
    typer.echo(f"{len(manifest['files'])} files, {sum(manifest['files'].values())} rows for {employees} employees "
               f"in {out}.")
