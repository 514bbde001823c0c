"""Run the suites: every check as a GX ``UnexpectedRowsExpectation`` in the database, and every failing
row of the same SQL text into ``quality.findings``.

GX validates with result format SUMMARY (counts, no example rows: Data Docs carry no personal data),
through :func:`check_expectation`: GX runs each check's SQL, with ``{batch}`` bound to the scope relation,
into an in-memory table (:func:`rows_table`, in DuckDB: no row reaches Python) and counts that table's rows.
``quality.findings`` is then written from the rows GX counted — set-based, all rows, no 200-row sample —
and their count must equal the count GX observed, or the run fails. Each check's SQL runs once per
validation (it ran twice, GX's count and then the rows, until issue 28). :func:`write_findings` runs the
text itself for a check without such a table (a caller that did not validate through GX first).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb

from expectations.gx_duckdb import SCOPE_QUALIFIED, SCOPE_TABLE, add_datasource, gx_cursor, set_scope
from expectations.registry import CHECKS, SUITES, Check
from transforms.common.privacy import redact
from warehouse.db import memory_advice, scalar
from warehouse.errors import ShebaoError

log = logging.getLogger("shebao.validate")


@dataclass
class SuiteOutcome:
    period: str
    counts: dict[str, int] = field(default_factory=dict)       # code -> failing rows observed by GX
    success: bool = True                                        # every expectation met
    data_docs: str | None = None                                # index.html when built
    gx_version: str = ""
    rows: dict[str, str] = field(default_factory=dict)          # code -> table of the rows GX counted


class CheckFailed(ShebaoError):
    """A check's SQL could not run (e.g. a relation of another area is missing)."""


ROWS_METRIC = "shebao_check_rows.row_count"


def rows_table(query: str) -> str:
    """The in-memory table GX keeps the rows of the check text ``query`` in (``{batch}`` unfilled): named
    by the text, so the findings find the table of the very text GX ran. The connection's in-memory catalog,
    as the scope table: every cursor of the connection sees it, and nothing is written to the warehouse."""
    return f"memory.main.check_rows_{hashlib.sha256(query.encode()).hexdigest()[:16]}"


@cache
def check_expectation():
    """The class GX runs each check as: an ``UnexpectedRowsExpectation`` whose one metric runs the check's
    query into :func:`rows_table` and counts that table's rows (GX's own metric counts the query's rows and
    throws them away, and the stock class also computes the first 200 rows as a second metric, which runs
    the whole check again to fetch personal data that SUMMARY results then leave out)."""
    import sqlalchemy as sa
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations import UnexpectedRowsExpectation
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider

    class CheckRowsCount(QueryMetricProvider):  # defining the class registers the metric with GX
        metric_name = ROWS_METRIC
        value_keys = ("unexpected_rows_query",)
        query_param_name = "unexpected_rows_query"

        @metric_value(engine=SqlAlchemyExecutionEngine)
        def _sqlalchemy(cls, execution_engine, metric_domain_kwargs: dict, metric_value_kwargs: dict,
                        metrics: dict, runtime_configuration: dict) -> int:
            # as GX's unexpected_rows_query.row_count: {batch} bound to the batch's table, then counted
            batch_selectable, _, _ = execution_engine.get_compute_domain(
                metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
            query = cls._get_query_from_metric_value_kwargs(metric_value_kwargs)
            substituted = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
                query=query, batch_selectable=batch_selectable, execution_engine=execution_engine)
            table = rows_table(query)
            execution_engine.execute_query(sa.text(f"CREATE OR REPLACE TABLE {table} AS {substituted}"))
            return int(execution_engine.execute_query(sa.text(f"SELECT count(*) FROM {table}")).fetchone()[0])

    class CheckRowsExpectation(UnexpectedRowsExpectation):
        metric_dependencies = (ROWS_METRIC,)

        def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None) -> dict:
            count = metrics[ROWS_METRIC]
            return {"success": count == 0, "result": {"observed_value": count}}

    return CheckRowsExpectation


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_suites(con: duckdb.DuckDBPyConnection, period: str, *, checks: tuple[Check, ...] = CHECKS,
               data_docs_dir: Path | None = None) -> SuiteOutcome:
    """Validate ``period`` with GX inside DuckDB; optionally build static Data Docs in ``data_docs_dir``."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    expectation_class = check_expectation()

    set_scope(con, period)
    outcome = SuiteOutcome(period=period, gx_version=gx.__version__)
    cursor = gx_cursor(con)
    try:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        datasource = add_datasource(context, cursor)
        asset = datasource.add_table_asset(name="period", table_name=SCOPE_TABLE)
        batch = asset.add_batch_definition_whole_table(f"period {period}")
        for suite_name in SUITES:
            members = [check for check in checks if check.suite == suite_name]
            if not members:
                continue
            suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
            by_id = {}
            for check in members:
                expectation = suite.add_expectation(expectation_class(
                    unexpected_rows_query=check.sql,
                    description=f"{check.code} ({check.severity}, one row per {', '.join(check.key)}): "
                                f"{check.description}",
                    meta={"code": check.code, "severity": check.severity, "key": list(check.key)},
                ))
                by_id[expectation.id] = check
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite_name} {period}", data=batch, suite=suite))
            result = definition.run(result_format="SUMMARY")
            outcome.success = outcome.success and bool(result.success)
            for item in result.results:
                if item.expectation_config is None or item.expectation_config.id not in by_id:
                    raise CheckFailed(f"Great Expectations returned a result for no known check of {period}.")
                check = by_id[item.expectation_config.id]
                failure = _raised(item.exception_info)
                if failure is not None and _out_of_memory(failure):
                    raise CheckFailed(out_of_memory_sentence(check, period))
                if failure is not None or "observed_value" not in (item.result or {}):
                    raise CheckFailed(f"The check {check.code} could not run for {period}: {_first_line(failure)}")
                outcome.counts[check.code] = int(item.result["observed_value"])
                outcome.rows[check.code] = rows_table(check.sql)
        if data_docs_dir is not None:
            outcome.data_docs = build_data_docs(context, Path(data_docs_dir))
    except BaseException:
        outcome.rows = {check.code: rows_table(check.sql) for check in checks}  # those GX got to
        drop_rows(con, outcome)
        raise
    finally:
        cursor.close()
    return outcome


def _raised(info: dict | None) -> str | None:
    """The exception message GX recorded for an expectation, if it raised: GX 1.x gives either one
    ``{raised_exception, exception_message}`` or such dicts keyed by the metric that failed."""
    info = info or {}
    entries = [info] + [value for value in info.values() if isinstance(value, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            return entry.get("exception_message") or "unknown error"
    return None


def _out_of_memory(message: str) -> bool:
    """GX keeps only the text of what DuckDB raised: its OutOfMemoryException reads "Out of Memory Error"."""
    return "out of memory" in message.lower()


def out_of_memory_sentence(check: Check, period: str) -> str:
    """One sentence: which check ran out of DuckDB's memory, and what to set (no DuckDB text, no data)."""
    return f"The check {check.code} ran out of DuckDB memory for {period}; {memory_advice()}."


def _first_line(message: str | None) -> str:
    """The error's first line, ID-like values masked (a conversion error may quote a value)."""
    text = (message or "unknown error").strip().splitlines()[0]
    return redact(text.split("[SQL:")[0].strip())


def build_data_docs(context, folder: Path) -> str:
    from expectations.datadocs_templates import MODULE

    folder.mkdir(parents=True, exist_ok=True)
    page = {"module_name": MODULE, "class_name": "CachedPageView"}  # GX's views, templates compiled once
    context.add_data_docs_site(
        site_name="shebao",
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                   "view": {"module_name": MODULE, "class_name": "CachedIndexPageView"}},
            "site_section_builders": {section: {"view": page} for section in ("expectations", "validations",
                                                                                 "profiling")},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
        },
    )
    context.build_data_docs(site_names=["shebao"])
    from expectations.datadocs import make_offline

    make_offline(folder)  # every style sheet and script beside the pages: they render offline
    return str(folder / "index.html")


def findings_select(check: Check, batch: str = SCOPE_QUALIFIED, rows: str | None = None) -> str:
    """SELECT of ``quality.findings`` rows (without run_id) for ``check``: the table of its rows GX counted
    (``rows``), else its one SQL text, run directly."""
    columns = ", ".join(f"f.{name}" for name in ("entity", "employee_id", "id_number", "region",
                                                    "insurance_type", "transfer_id"))
    source = rows if rows is not None else f"({check.sql_for(batch)})"
    return (f"SELECT f.period, '{check.code}' AS code, '{check.severity}' AS severity, {columns}, "
            f"CAST(f.details AS JSON) AS details FROM {source} AS f")


def drop_rows(con: duckdb.DuckDBPyConnection, outcome: SuiteOutcome) -> None:
    """Drop the tables of the rows GX counted (after their findings are written, or the run failed)."""
    for table in sorted(set(outcome.rows.values())):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    outcome.rows.clear()


def write_findings(con: duckdb.DuckDBPyConnection, run_id: str, period: str,
                   checks: tuple[Check, ...] = CHECKS, expected_counts: dict[str, int] | None = None,
                   rows: dict[str, str] | None = None) -> dict[str, int]:
    """Insert every failing row of every check for ``period`` under ``run_id``; return counts per code.

    Runs inside the caller's transaction. With ``expected_counts`` (GX's observed counts), a check whose
    row count differs raises instead of writing a partial account. ``rows`` (``SuiteOutcome.rows``): the
    tables of the rows GX counted for this period, written as they are; a check without one runs its text.
    """
    set_scope_outside = con.execute(f"SELECT period FROM {SCOPE_QUALIFIED}").fetchone()
    if not set_scope_outside or set_scope_outside[0] != period:
        raise CheckFailed(f"The validation scope is not {period}; run the suites for it first.")
    counts: dict[str, int] = {}
    for check in checks:
        try:
            # the INSERT's own row count: no second scan of quality.findings, which holds every run's rows
            counts[check.code] = scalar(
                con, "INSERT INTO quality.findings (run_id, period, code, severity, entity, employee_id, id_number,"
                " region, insurance_type, transfer_id, details) "
                f"SELECT ?, * FROM ({findings_select(check, rows=(rows or {}).get(check.code))})",
                [run_id],
            )
        except duckdb.OutOfMemoryException:
            raise CheckFailed(out_of_memory_sentence(check, period)) from None
        if expected_counts is not None and counts[check.code] != expected_counts.get(check.code):
            raise CheckFailed(
                f"The check {check.code} gave {counts[check.code]} rows for quality.findings but GX observed "
                f"{expected_counts.get(check.code)}; the warehouse changed during validation."
            )
    return counts
