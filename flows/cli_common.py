"""Options shared by every ``shebao`` command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import InputError

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB warehouse file (default: $SHEBAO_WAREHOUSE, else ./shebao.duckdb)."),
]
PeriodOption = Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for reports and exports.")]
RoleOption = Annotated[
    str,
    typer.Option("--role", help="hr_manager (full IDs), hr_staff (masked), finance (ledger, masked)."),
]

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def check_period(period: str) -> str:
    if not _PERIOD.match(period or ""):
        raise InputError(f"The period {period!r} is not a month like 2024-03; pass --period YYYY-MM.")
    return period


def preflight(warehouse) -> None:
    """Open (and migrate) the warehouse once before any flow starts, so a wrong key, a lock held by
    another process or an unwritable folder is one sentence rather than a failed flow run."""
    from warehouse.db import connect

    connect(warehouse).close()
