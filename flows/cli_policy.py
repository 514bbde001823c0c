"""``shebao policy show`` and ``shebao policy check``: the policy rows a close would use, and the coverage of
the required regions (SPEC §3). Policy figures are not personal data: like ``roles list`` these read without
a role, on a read-only connection (a read never creates a warehouse), and without a warehouse they show the
shipped table."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import typer

from flows.cli_common import PeriodOption, WarehouseOption
from transforms.common.periods import check_period

policy_app = typer.Typer(help="The policy in force: show --region R --period P; check (coverage of the required "
                              "regions).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


def _scratch(warehouse):
    """The policy a close would apply, in a scratch warehouse (the stored --policy override included)."""
    from pathlib import Path

    from transforms.ledger.policy import close_policy
    from warehouse.db import default_path, opened

    path = Path(warehouse or default_path())
    with opened(path, read_only=True) if path.exists() else nullcontext() as source:
        return close_policy(source)


@policy_app.command("show")
def show_command(
    region: Annotated[str, typer.Option("--region", help="The region, e.g. 深圳 or 广东省深圳市.")],
    period: PeriodOption,
    warehouse: WarehouseOption = None,
) -> None:
    """The policy rows a close of the month would use in the region: every type and hukou, with source and
    verified mark."""
    from flows.cli_actions import format_table
    from transforms.ledger.policy import SHOW_HEADERS, policy_show, settings_line

    check_period(period)
    con = _scratch(warehouse)
    try:
        rows = policy_show(con, region, period)
        settings = settings_line(con, rows[0]["region"]) if rows else ""
    finally:
        con.close()
    if not rows:
        typer.echo(f"{region} 在 {period} 没有政策行：该月不会入账（NO_POLICY），请用 --policy 文件补充。")
        return
    typer.echo(format_table(rows, tuple(SHOW_HEADERS.items())))
    typer.echo(settings)


@policy_app.command("check")
def check_command(
    first: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")] = "2023-01",
    last: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")] = "2025-12",
    warehouse: WarehouseOption = None,
) -> None:
    """Coverage of the required regions: the months without a pension row, the months with a sourced one
    (official or secondary), and the count of assumed rows."""
    from flows.cli_actions import format_table
    from transforms.ledger.policy import CHECK_HEADERS, policy_coverage

    check_period(first, "--from")
    check_period(last, "--to")
    if first > last:
        raise typer.BadParameter(f"--from {first} is after --to {last}")
    con = _scratch(warehouse)
    try:
        rows = policy_coverage(con, first, last)
    finally:
        con.close()
    typer.echo(format_table(rows, tuple(CHECK_HEADERS.items())))
    cells = sum(r["months"] for r in rows)
    sourced = sum(r["sourced_months"] for r in rows)
    missing = sum(int(r["missing_count"]) for r in rows)
    typer.echo(f"必需地区 {len(rows)} 个，{first} 至 {last} 共 {cells} 个地区月份：有官方或二手来源的养老政策覆盖 "
               f"{sourced} 个（{sourced * 100 / cells:.1f}%），缺养老政策 {missing} 个。")
