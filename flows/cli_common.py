"""Options shared by every ``shebao`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB warehouse file (default: $SHEBAO_WAREHOUSE, else ./shebao.duckdb)."),
]
PeriodOption = Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for reports and exports.")]
RoleOption = Annotated[
    str | None,
    typer.Option("--role", help="Act as a lower role than your own: hr_staff or finance (default: your own role)."),
]
FullIdsOption = Annotated[
    bool, typer.Option("--full-ids", help="Full ID numbers in what is written or shown (HR managers only; audited)."),
]

def caller_role(warehouse, command: str, role: str | None = None, *, full_ids: bool = False,
                minimum: str = "finance", target: str | None = None):
    """The caller's role for ``command`` (``transforms.common.roles.resolve_caller``) on a short connection that may
    write the audit row; a missing warehouse is the read-only open's one sentence. Returns a ``Caller``:
    pass ``.view`` to the transforms."""
    from transforms.common.roles import resolve_caller
    from warehouse.db import default_path, opened

    path = Path(warehouse or default_path())
    with opened(path, read_only=not path.exists()) as con:
        return resolve_caller(con, command, role, full_ids=full_ids, minimum=minimum, target=target)


def preflight(warehouse) -> None:
    """Open (and migrate) the warehouse once before any flow starts, so a wrong key, a lock held by
    another process or an unwritable folder is one sentence rather than a failed flow run."""
    from warehouse.db import connect

    connect(warehouse).close()
