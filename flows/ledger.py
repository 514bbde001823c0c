"""The ledger flow: the policy in force, then the period's contributions appended (SPEC §3, §4)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from transforms.common.privacy import redact, redacting
from transforms.common.runs import new_run_id
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from transforms.outputs.export import change_lines, changes_markdown
from transforms.outputs.index import ledger_changes
from warehouse.db import half_memory, opened


@task(name="apply the policy in force", cache_policy=NO_CACHE)
@redacting
def apply_policy_in_force(warehouse: str | None, policy: str | None) -> dict:
    with opened(warehouse) as con:
        summary = apply_policy(con, policy)
    get_run_logger().info("policy in force: %d rows, overridden regions: %s, fingerprint %s",
                          summary["policy_rows"], ", ".join(summary["regions_overridden"]) or "none",
                          summary["fingerprint"])
    return summary


@task(name="compute and append the contributions", cache_policy=NO_CACHE)
@redacting
def append_contributions(warehouse: str | None, period: str, run_id: str) -> dict:
    with opened(warehouse) as con, half_memory(con):
        summary = compute_ledger(con, period, run_id)
        summary["changes"] = ledger_changes(con, period, summary["run_id"])  # what adjustments moved
    for line in change_lines(summary["changes"]):
        get_run_logger().info("%s", redact(line))
    get_run_logger().info("%s: %d employees paid, %d in the ledger, %d without policy; %d rows appended",
                          period, summary["employees_paid"], summary["employees_in_ledger"],
                          summary["employees_without_policy"], summary["rows_appended"])
    return summary


def _markdown(summary: dict) -> str:
    lines = [f"# Ledger {summary['period']}", "",
             f"Employees paid: {summary['employees_paid']}; in the ledger: {summary['employees_in_ledger']}; "
             f"without policy: {summary['employees_without_policy']}; rows appended: {summary['rows_appended']}",
             "", "| entity | employer | employee | cells |", "|---|---:|---:|---:|"]
    lines += [f"| {t['entity']} | {t['employer']} | {t['employee']} | {t['cells']} |" for t in summary["totals_by_entity"]]
    return redact("\n".join(lines + changes_markdown(summary.get("changes"))))


@flow(name="ledger")
@redacting
def ledger_flow(period: str, warehouse: str | None = None, policy: str | None = None, run_id: str | None = None) -> dict:
    """Compute the contribution ledger of ``period`` and append what changed.

    Args:
        period: the month, ``YYYY-MM``.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        policy: a policy file (CSV or xlsx) replacing the shipped rows of the regions it names.
        run_id: identifier recorded on the appended rows; a new one when omitted.
    """
    run_id = run_id or new_run_id()
    warehouse = str(warehouse) if warehouse else None
    apply_policy_in_force(warehouse, str(policy) if policy else None)
    summary = append_contributions(warehouse, period, run_id)
    create_markdown_artifact(markdown=redact(_markdown(summary)), key="ledger-summary", description="Ledger totals")
    return summary
