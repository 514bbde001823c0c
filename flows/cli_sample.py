"""``shebao sample``: write a realistic generated inbox (all four kinds, every SPEC §5 anomaly planted)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from transforms.common.periods import check_period
from warehouse.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)


def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the inbox into (created if missing).")],
    employees: Annotated[int, typer.Option("--employees", help="Employees on the roster at the first month.")] = 300,
    start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")] = "2024-01",
    end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")] = "2025-03",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 0,
    formats: Annotated[str, typer.Option("--formats", help="mixed (CSV in UTF-8/BOM/GBK and xlsx) or csv.")] = "mixed",
    bills: Annotated[bool, typer.Option("--bills", help="Also the agency's bills (社保费缴费明细), one file per region "
                                                        "and month, with planted differences.")] = False,
) -> None:
    """Write a realistic sample inbox of all four kinds, with every SPEC §5 anomaly at a low rate."""
    check_period(start, "--from")
    check_period(end, "--to")
    if end < start:
        raise InputError(f"--to {end} is before --from {start}; give the months in order.")
    if employees < 1:
        raise InputError("--employees must be at least 1.")
    if formats not in ("mixed", "csv"):
        raise InputError(f"--formats {formats!r} is unknown; use mixed or csv.")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder; give a folder for the inbox.")
    from sample import generate_inbox

    started = time.perf_counter()

    def progress(message: str) -> None:
        typer.echo(f"  {message} ({time.perf_counter() - started:.0f} s)", err=True)

    manifest = generate_inbox(out, employees, start, end, seed=seed, formats=formats, bills=bills,
                              progress=progress)
    planted = sum(v for v in manifest["anomalies"].values())
    # counts only: the manifest and this line hold no names or ID numbers
    typer.echo(f"Sample inbox {out}: {len(manifest['files'])} files, {sum(manifest['files'].values()):,} rows for "
               f"{employees:,} employees, {start}..{end}; {planted} anomalies and {sum(manifest['rejects'].values())} "
               f"reject rows planted ({time.perf_counter() - started:.1f} s).")
