"""The ingest flow: every file of the inbox staged or rejected, with an account of each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import console
from flows.folders import folder_path
from transforms.actions.status_updates import ACTION_WORKBOOK
from transforms.common.privacy import redact, redact_file_name, redacting
from transforms.common.runs import new_run_id
from transforms.ingest.inbox import ingest_inbox
from transforms.ingest.normalise import NOT_DATA
from warehouse.db import bulk_writing, opened


@task(name="load the inbox files", cache_policy=NO_CACHE)
@redacting
def load_inbox_files(inbox: str, warehouse: str | None, run_id: str, profiles: str | None = None) -> list[dict]:
    logger = get_run_logger()

    def report(index: int, total: int, info: dict) -> None:
        console.advance(index, total)
        for load in info["loads"]:
            if load["status"] == "already_loaded":
                logger.info("[%d/%d] %s: loaded before, skipped", index, total, redact_file_name(info["file"]))
            else:
                logger.info("[%d/%d] %s: %s %s, %d read, %d staged, %d rejected", index, total, redact_file_name(info["file"]),
                            load.get("kind") or "-", load["status"], load["rows_read"], load["rows_staged"],
                            load["rows_rejected"])

    with opened(warehouse) as con, bulk_writing(con):
        return ingest_inbox(con, Path(inbox), run_id=run_id, progress=report,
                            profiles_file=Path(profiles) if profiles else None, returned=[ACTION_WORKBOOK])


@task(name="count rejects by reason and unknown regions", cache_policy=NO_CACHE)
@redacting
def run_counts(warehouse: str | None, run_id: str) -> tuple[dict[str, int], dict[str, int]]:
    with opened(warehouse) as con:
        rejects = con.execute(
            "SELECT r.reason_code, count(*) FROM ingest.rejects r JOIN ingest.loads l USING (load_id)"
            " WHERE l.run_id = ? GROUP BY ALL ORDER BY 1", [run_id]
        ).fetchall()
        # Region names as given that the region table does not know: kept as given, reported here.
        unknown = con.execute(
            """
            SELECT region, count(*) FROM (
                SELECT city_raw AS region FROM staging.payroll WHERE NOT city_known
                    AND load_id IN (SELECT load_id FROM ingest.loads WHERE run_id = $1)
                UNION ALL
                SELECT region_raw FROM staging.insurance WHERE NOT region_known
                    AND load_id IN (SELECT load_id FROM ingest.loads WHERE run_id = $1)
            ) GROUP BY ALL ORDER BY 2 DESC, 1
            """, [run_id]
        ).fetchall()
    # a "region" may be an ID number pasted into the wrong column: counted under its redacted text
    regions: Counter[str] = Counter()
    for region, count in unknown:
        regions[redact(str(region))] += count
    return dict(rejects), dict(regions)


def summarise(loads: list[dict], rejects: dict[str, int], unknown_regions: dict[str, int] | None = None) -> dict:
    recorded = [load for load in loads if load["status"] != "already_loaded"]
    return {
        "files_seen": len({load["source_file"] for load in loads}),
        "files_already_loaded": sum(1 for load in loads if load["status"] == "already_loaded"),
        "loads_by_status": dict(Counter(load["status"] for load in recorded)),
        "loads_by_kind": dict(Counter(load["kind"] for load in recorded if load.get("kind"))),
        "rows_read": sum(load["rows_read"] for load in recorded),
        "rows_staged": sum(load["rows_staged"] for load in recorded),
        "rows_rejected": sum(load["rows_rejected"] for load in recorded),
        "rows_not_data": sum(load.get("rows_not_data", 0) for load in recorded),
        "rejects_by_reason": {reason: n for reason, n in rejects.items() if reason != NOT_DATA},
        "unknown_regions": unknown_regions or {},
        "problem_files": [
            {"file": redact_file_name(load["source_file"]), "status": load["status"],
             "message": redact_file_name(load["message"]) if load.get("message") else None}
            for load in recorded if load["status"] in ("failed", "unrecognized")
        ],
        # loaded, but not whole: rows rejected, or columns the file lacks (SPEC §2 v3: loud about what was not loaded)
        "partial_files": [
            {"file": redact_file_name(load["source_file"]), "kind": load.get("kind"), "rows_read": load["rows_read"],
             "rows_rejected": load["rows_rejected"],
             "message": redact_file_name(load["message"]) if load.get("message") else None}
            for load in recorded if load["status"] == "loaded" and (load["rows_rejected"] or load.get("message"))
        ],
    }


def _markdown(summary: dict) -> str:
    lines = ["# Ingest", "", "| measure | value |", "|---|---|"]
    for key in ("files_seen", "files_already_loaded", "rows_read", "rows_staged", "rows_rejected", "rows_not_data"):
        lines.append(f"| {key} | {summary[key]} |")
    for title, counts in (("loads by status", summary["loads_by_status"]), ("loads by kind", summary["loads_by_kind"]),
                          ("rejects by reason", summary["rejects_by_reason"]),
                          ("regions not in the region table (kept as given)", summary["unknown_regions"])):
        lines += ["", f"**{title}**", "", "| | count |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts.items()]
    if summary["problem_files"]:
        lines += ["", "**files not loaded**", ""] + [
            f"- {p['file']}: {p['status']} — {p['message']}" for p in summary["problem_files"]
        ]
    if summary.get("partial_files"):
        lines += ["", "**files partly loaded**", ""] + [
            f"- {p['file']}: {p['rows_rejected']} of {p['rows_read']} rows rejected" + (f" — {p['message']}" if p["message"] else "")
            for p in summary["partial_files"]
        ]
    return "\n".join(lines)


@flow(name="ingest", log_prints=False)
@redacting
def ingest_flow(inbox: str, warehouse: str | None = None, run_id: str | None = None, profiles: str | None = None) -> dict:
    """Load every new extract file of ``inbox`` into the warehouse.

    Args:
        inbox: folder of payroll, attendance, insurance and transfer extracts (CSV or xlsx).
        warehouse: DuckDB warehouse file; default ``$SHEBAO_WAREHOUSE`` or ``./shebao.duckdb``.
        run_id: identifier recorded on the loads; a new one when omitted.
        profiles: import profile file (TOML); default the inbox's own ``shebao-import.toml``, if any.
    """
    run_id = run_id or new_run_id()
    warehouse = str(warehouse) if warehouse else None
    # an opaque reference when the inbox is named with an ID
    loads = load_inbox_files(folder_path(str(inbox)), warehouse, run_id, str(profiles) if profiles else None)
    rejects, unknown_regions = run_counts(warehouse, run_id)
    summary = summarise(loads, rejects, unknown_regions)
    summary["run_id"] = run_id
    create_markdown_artifact(markdown=redact(_markdown(summary)), key="ingest-summary", description="Ingest counts")
    return summary
