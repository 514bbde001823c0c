"""``shebao ledger`` and ``shebao export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import (
    FullIdsOption,
    PeriodOption,
    RoleOption,
    WarehouseOption,
    caller_role,
    preflight,
)
from flows.folders import out_folder
from transforms.common.periods import check_period
from warehouse.db import default_path


def register(app: typer.Typer) -> None:
    app.command("ledger")(ledger)
    app.command("export")(export)


def ledger(
    period: PeriodOption,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file (CSV or xlsx) overriding regions.")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Compute the contribution ledger of a month; append only what changed."""
    check_period(period)
    from flows.runtime.server import server_ready, server_starting

    with server_starting():
        if policy is not None:
            from transforms.ledger.policy import check_policy_file

            check_policy_file(policy)  # a malformed file is one sentence before any flow starts
        from flows.ledger import ledger_flow
        from flows.lock import warehouse_lock

        path = warehouse or default_path()
        with warehouse_lock(path):
            preflight(path)
            caller_role(path, "ledger", minimum="hr_manager" if policy is not None else "finance", target=period)
            server_ready()
            summary = ledger_flow(period=period, warehouse=str(path), policy=str(policy) if policy else None)
    typer.echo(f"{period}: {summary['employees_in_ledger']} employees in the ledger, "
               f"{summary['rows_appended']} rows appended.")
    for total in summary["totals_by_entity"]:
        typer.echo(f"  {total['entity']}: employer {total['employer']}, employee {total['employee']}")
    from transforms.outputs.export import change_lines

    for line in change_lines(summary.get("changes")):
        typer.echo(line)


def export(
    period: PeriodOption,
    fmt: Annotated[str, typer.Option("--format", help="parquet, xlsx or csv.")] = "xlsx",
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write the export into (default $SHEBAO_OUT, else ./out).")] = None,
    role: RoleOption = None,
    warehouse: WarehouseOption = None,
    full_ids: FullIdsOption = False,
) -> None:
    """Export the ledger of a month for finance: 缴费明细, 本期调整, 调整汇总, 合计, 未入账人员 (xlsx sheets,
    or one csv/parquet file each; IDs masked unless an HR manager asks with --full-ids)."""
    check_period(period)
    role = caller_role(warehouse, "export", role, full_ids=full_ids, target=period).view
    from transforms.outputs.export import export_ledger
    from warehouse.db import opened

    with opened(warehouse or default_path(), read_only=True) as con:
        paths = export_ledger(con, period, fmt, out_folder(out), role)
    for path in paths:
        typer.echo(str(path))
