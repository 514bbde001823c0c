"""What a close tells beyond its return value: Prefect artifacts (findings per code, ledger totals per entity,
where the outputs are) and the event ``shebao.close.completed`` the alerts listen for. Counts, amounts and
paths only: no names, no ID numbers."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.runtime.runs import flow_run_id
from transforms.common.privacy import redact, redacting
from transforms.outputs.export import changes_markdown

COMPLETED_EVENT = "shebao.close.completed"


@task(name="publish the close summary", cache_policy=NO_CACHE)
@redacting
def publish_close_summary(summary: dict) -> None:
    """Prefect artifacts: findings per code, ledger totals per entity, where the outputs are. Counts,
    amounts and paths only: no names, no ID numbers."""
    period = summary["period"]
    key = f"close-{period}"
    counts = summary["validation"]["counts"]
    create_table_artifact(key=f"{key}-findings", description=f"Findings per code, {period}",
                          table=[{"code": code, "findings": n} for code, n in sorted(counts.items())])
    create_table_artifact(key=f"{key}-entities", description=f"Ledger totals per entity, {period}",
                          table=[{k: e[k] for k in ("rows", "people", "employer", "employee", "total")}
                                 | {"entity": redact(e["entity"])} for e in summary["entities"]])
    # entity names are free text from the extracts: an ID number typed into one is masked here too
    create_markdown_artifact(key=key, markdown=redact(close_markdown(summary)), description=f"Monthly close {period}")


def completed_counts(summary: dict) -> dict:
    """The counts of a close, for the event and the alert: numbers only, no names, no ID numbers."""
    ingest, validation, ledger = summary["ingest"], summary["validation"], summary["ledger"]
    return {"period": summary["period"], "files_new": ingest["files_seen"] - ingest["files_already_loaded"],
            "rows_staged": ingest["rows_staged"], "rows_rejected": ingest["rows_rejected"],
            "employees_in_ledger": ledger["employees_in_ledger"], "rows_appended": ledger["rows_appended"],
            "findings": validation["findings"], "errors": validation["by_severity"].get("error", 0),
            "warnings": validation["by_severity"].get("warning", 0),
            "open_actions": summary["actions"].get("by_status", {}).get("open", 0)}


def emit_completed(summary: dict) -> None:
    from prefect.events import emit_event

    counts = completed_counts(summary)
    resource = {"prefect.resource.id": f"shebao.close.{counts['period']}", "prefect.resource.name": "shebao close"}
    run = flow_run_id()
    related = [{"prefect.resource.id": f"prefect.flow-run.{run}", "prefect.resource.role": "flow-run"}] if run else []
    emit_event(event=COMPLETED_EVENT, resource=resource, related=related, payload=counts)


def close_markdown(summary: dict) -> str:
    validation, ledger, actions = summary["validation"], summary["ledger"], summary["actions"]
    lines = [f"# Monthly close {summary['period']}", "",
             f"- ledger: {ledger['employees_in_ledger']} employees, {ledger['rows_appended']} rows appended",
             f"- findings: {validation['findings']} ({validation['by_severity']})",
             f"- actions: {actions.get('by_status', {})}",
             "- seconds: " + ", ".join(f"{step} {s}" for step, s in summary.get("seconds", {}).items()), "",
             "| code | findings |", "|---|---:|"]
    lines += [f"| {code} | {count} |" for code, count in sorted(validation["counts"].items()) if count]
    lines += ["", "| entity | rows | employer | employee | total |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {e['entity']} | {e['rows']} | {e['employer']} | {e['employee']} | {e['total']} |"
              for e in summary["entities"]]
    lines += changes_markdown(ledger.get("changes"))
    links = [("HR report", validation["report"]), ("Action workbook", actions.get("workbook")),
             ("Ledger export", summary["exports"][0] if summary["exports"] else None)]
    lines += [""] + [f"- {label}: [{Path(p).name}]({Path(p).as_uri()})" for label, p in links if p]
    return "\n".join(lines)
