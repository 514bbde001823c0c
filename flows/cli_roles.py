"""``shebao roles``: who may see what in this warehouse (SPEC §8). grant and revoke are for HR managers."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli_common import WarehouseOption
from warehouse.db import default_path

roles_app = typer.Typer(help="Roles of operating-system users: list, grant USER ROLE, revoke USER (HR managers).",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(roles_app, name="roles")


@roles_app.command("list")
def list_command(warehouse: WarehouseOption = None) -> None:
    """Who has which role."""
    from transforms.common.roles import list_roles
    from warehouse.db import opened

    with opened(warehouse or default_path()) as con:
        rows = list_roles(con)
    for user, role, by, at in rows:
        typer.echo(f"{user}\t{role}\tgranted by {by} at {at:%Y-%m-%d %H:%M}")


@roles_app.command("grant")
def grant_command(user: Annotated[str, typer.Argument(help="The operating-system user name.")],
                  role: Annotated[str, typer.Argument(help="hr_manager, hr_staff or finance.")],
                  warehouse: WarehouseOption = None) -> None:
    """Give USER the role ROLE (replacing any role they had)."""
    from flows.lock import warehouse_lock
    from transforms.common.roles import grant
    from warehouse.db import opened

    path = warehouse or default_path()
    with warehouse_lock(path), opened(path) as con:
        grant(con, user, role)
    typer.echo(f"{user} is now {role}.")


@roles_app.command("revoke")
def revoke_command(user: Annotated[str, typer.Argument(help="The operating-system user name.")],
                   warehouse: WarehouseOption = None) -> None:
    """Take USER's role away: they then read nothing personal from this warehouse."""
    from flows.lock import warehouse_lock
    from transforms.common.roles import revoke
    from warehouse.db import opened

    path = warehouse or default_path()
    with warehouse_lock(path), opened(path) as con:
        revoke(con, user)
    typer.echo(f"{user} has no role any more.")
