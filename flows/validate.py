"""The validate flow: the SPEC §5 suites for one month, ``quality.findings``, Data Docs and the HR report."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from expectations.registry import CHECKS
from expectations.validate import finish_run, require_ledger, start_run, validate_period
from flows.folders import out_folder
from transforms.common.privacy import redacting
from transforms.common.runs import new_run_id
from transforms.outputs.index import write_hr_report
from warehouse.db import opened


@task(name="run the validation suites", cache_policy=NO_CACHE)
@redacting
def run_suites_task(period: str, warehouse: str | None, out: str, run_id: str) -> dict:
    with opened(warehouse) as con:
        require_ledger(con, period)
        start_run(con, run_id, period)
        try:
            summary = validate_period(con, period, run_id, data_docs_dir=Path(out) / period / "data_docs")
        except BaseException:
            finish_run(con, run_id, status="failed")
            raise
    get_run_logger().info("validated %s: %d findings (%d errors, %d warnings)", period, summary["findings"],
                          summary["by_severity"]["error"], summary["by_severity"]["warning"])
    return summary


@task(name="write the HR report", cache_policy=NO_CACHE)
@redacting
def report_task(warehouse: str | None, out: str, period: str, run_id: str) -> str:
    """A validation on its own (``shebao validate``): the HR report, by its one writer."""
    with opened(warehouse) as con:
        return str(write_hr_report(con, run_id, Path(out) / period)["report"])


def _markdown(summary: dict) -> str:
    """Counts only: no names, no ID numbers."""
    lines = [f"# Validation {summary['period']}", "", f"run `{summary['run_id']}`", "",
             "| code | severity | findings |", "|---|---|---|"]
    lines += [f"| {c.code} | {c.severity} | {summary['counts'].get(c.code, 0)} |" for c in CHECKS]
    lines += ["", "| severity | findings |", "|---|---|"]
    lines += [f"| {sev} | {n} |" for sev, n in summary["by_severity"].items()]
    report = f"`{summary['report']}`" if summary.get("report") else "written by the actions step"
    lines += ["", f"HR report: {report}", f"Data Docs: `{summary['data_docs']}`"]
    lines += [f"> {warning}" for warning in summary["warnings"]]
    return "\n".join(lines)


@flow(name="validate", log_prints=False)
@redacting
def validate_flow(period: str, warehouse: str | None = None, out: str | None = None, run_id: str | None = None,
                  report: bool = True) -> dict:
    """Run the validation suites for ``period`` and write ``quality.findings``, Data Docs and the HR report.

    Args:
        period: the month, YYYY-MM; the ledger for it must have been computed.
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        out: folder for reports; the run writes under ``<out>/<period>/``. Default ``$SHEBAO_OUT`` or ``./out``.
        run_id: identifier of this validation run; a new one when omitted.
        report: write the HR report, for a validation on its own (``shebao validate``). A close passes
            ``False``: its actions step owns the report (``transforms/outputs/index.py``), which then names the
            action ids; a report written here first would only be overwritten (2 s at 200,000 employees).
    """
    run_id = run_id or new_run_id()
    warehouse = str(warehouse) if warehouse else None
    out = str(out_folder(out))
    summary = run_suites_task(period, warehouse, out, run_id)
    summary["report"] = report_task(warehouse, out, period, run_id) if report else None
    create_markdown_artifact(markdown=_markdown(summary), key=f"validate-{period}".lower(),
                             description="Validation findings per code and severity")
    return summary
