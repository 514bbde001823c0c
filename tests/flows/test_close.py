"""The monthly close as one flow: subflows, outputs, artifacts, reruns, a failure midway, Dask fan-out."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import ACTIONS, FINDING_KEYS, LEDGER_TOTALS, PERIOD, query

from tests.conftest import V2_CODES
from warehouse.errors import InputError


def test_close_writes_every_output(close_reference, expected):
    folder, warehouse, summary = close_reference
    for path in (summary["validation"]["report"], summary["actions"]["workbook"], *summary["exports"]):
        assert Path(path).is_file() and Path(path).parent == folder / "out" / PERIOD, path
    assert [Path(p).suffix for p in summary["exports"]] == [".xlsx"] + [".parquet"] * 6 + [".csv"] * 6  # 6 sheets
    counts = {code: n for code, n in summary["validation"]["counts"].items() if n and code not in V2_CODES}
    assert counts == {code: len(keys) for code, keys in expected["periods"][PERIOD]["findings"].items()}
    cells = query(warehouse, f"SELECT count(*) FROM ledger.current_contributions WHERE period = '{PERIOD}'")[0][0]
    assert cells == len(expected["periods"][PERIOD]["ledger"])


def test_per_entity_pieces_add_up_to_the_ledger(close_reference):
    folder, warehouse, summary = close_reference
    by_entity = query(warehouse, f"""SELECT entity, count(*), count(DISTINCT employee_id), sum(employer_amount),
                                     sum(employee_amount) FROM ledger.current_contributions
                                     WHERE period = '{PERIOD}' GROUP BY ALL ORDER BY 1""")
    assert len(by_entity) == 4
    # an entity with actions but no ledger rows (三沙: no policy, so ADD_POLICY) has its files too, empty
    assert [(e["entity"], e["rows"], e["people"], Decimal(e["employer"]), Decimal(e["employee"]))
            for e in summary["entities"] if e["rows"]] == by_entity
    cells = query(warehouse, f"""SELECT entity, region, insurance_type, count(*), sum(employer_amount)
                                 FROM ledger.current_contributions WHERE period = '{PERIOD}' GROUP BY ALL ORDER BY ALL""")
    assert [(e["entity"], c["region"], c["insurance_type"], c["rows"], Decimal(c["employer"]))
            for e in summary["entities"] for c in e["cells"]] == cells
    for entity in summary["entities"]:
        files = [folder / "out" / PERIOD / "entities" / name for name in entity["files"]]
        assert all(f.stat().st_size > 0 for f in files)
        piece = pl.read_parquet(files[1])
        assert piece.height == entity["rows"] and piece["单位"].unique().to_list() == [entity["entity"]] * bool(
            entity["rows"])
        assert piece["身份证号"].str.contains(r"\*{8}").all()  # finance sees masked IDs


def test_close_publishes_artifacts_without_personal_data(close_reference):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    _, warehouse, summary = close_reference
    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[f"close-{PERIOD}", f"close-{PERIOD}-findings", f"close-{PERIOD}-entities"])))}
    assert set(artifacts) == {f"close-{PERIOD}", f"close-{PERIOD}-findings", f"close-{PERIOD}-entities"}
    findings = json.loads(artifacts[f"close-{PERIOD}-findings"].data)
    assert {r["code"]: r["findings"] for r in findings} == summary["validation"]["counts"]
    entities = json.loads(artifacts[f"close-{PERIOD}-entities"].data)
    assert [r["entity"] for r in entities] == [e["entity"] for e in summary["entities"]]
    markdown = artifacts[f"close-{PERIOD}"].data
    assert Path(summary["validation"]["report"]).as_uri() in markdown
    assert Path(summary["actions"]["workbook"]).as_uri() in markdown
    people = query(warehouse, "SELECT DISTINCT id_number, name FROM ledger.current_contributions")
    text = "\n".join(str(a.data) for a in artifacts.values())
    leaked = [p for p in people if p[0] in text or p[1] in text]
    assert not leaked, f"{len(leaked)} people's id numbers or names appear in the close artifacts"


def test_rerunning_the_close_books_nothing_new(close_reference, acceptance_dir, tmp_path):
    import shutil

    from flows.close import monthly_close

    folder, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(reference, warehouse)
    before = [query(warehouse, sql) for sql in ("SELECT count(*) FROM ledger.contributions", LEDGER_TOTALS, ACTIONS)]
    again = monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                          out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    assert again["ledger"]["rows_appended"] == 0 and again["ingest"]["rows_read"] == 0
    assert [query(warehouse, sql) for sql in ("SELECT count(*) FROM ledger.contributions", LEDGER_TOTALS,
                                              ACTIONS)] == before
    assert query(warehouse, FINDING_KEYS) == query(reference, FINDING_KEYS)


def _assert_same_result(warehouse: Path, reference: Path) -> None:
    assert query(warehouse, "SELECT count(*) FROM ledger.contributions") == \
        query(reference, "SELECT count(*) FROM ledger.contributions")
    assert query(warehouse, "SELECT count(*), count(DISTINCT source_file) FROM ingest.loads") == \
        query(reference, "SELECT count(*), count(DISTINCT source_file) FROM ingest.loads")
    assert query(warehouse, LEDGER_TOTALS) == query(reference, LEDGER_TOTALS)
    assert query(warehouse, FINDING_KEYS) == query(reference, FINDING_KEYS)
    assert query(warehouse, ACTIONS) == query(reference, ACTIONS)


def test_a_close_failing_in_the_ledger_is_resumable(prefect_harness, tmp_path, acceptance_dir, close_reference):
    """The policy file becomes unusable after ingest: the ledger stage fails; a re-run gives the same result."""
    from flows.close import monthly_close

    _, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    broken = tmp_path / "policy.csv"
    broken.write_text("地区,险种,生效月份,基数下限,基数上限,单位费率,个人费率\n长沙,养老,2024-01,3604,18021,16,0.08\n",
                      encoding="utf-8")
    with pytest.raises(InputError, match="is 1 or more"):
        monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                      out=str(tmp_path / "out"), policy=str(broken))
    assert query(warehouse, "SELECT count(*) FROM ingest.loads")[0][0] > 0  # it failed after ingest
    assert query(warehouse, "SELECT count(*) FROM ledger.contributions")[0][0] == 0
    monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                  out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    _assert_same_result(warehouse, reference)


def test_a_close_failing_after_the_ledger_is_resumable(prefect_harness, tmp_path, acceptance_dir, close_reference):
    """The report folder cannot be created (a file stands in the way): validation fails after the ledger
    was booked; a re-run to a usable folder books nothing twice and ends as an uninterrupted close."""
    from flows.close import monthly_close

    _, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    with pytest.raises(Exception):  # noqa: B017 - whatever the OS says about a file in the way
        monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                      out=str(blocked), policy=str(acceptance_dir / "policy.csv"))
    booked = query(warehouse, "SELECT count(*) FROM ledger.contributions")[0][0]
    assert booked == query(reference, "SELECT count(*) FROM ledger.contributions")[0][0]  # failed after the ledger
    assert query(warehouse, "SELECT count(*) FROM actions.cleanup_actions")[0][0] == 0
    monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                  out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    _assert_same_result(warehouse, reference)


def test_backfill_ingests_once_and_closes_the_months_in_order(prefect_harness, tmp_path, acceptance_dir,
                                                              close_reference):
    from flows.close import backfill

    _, reference, _ = close_reference
    warehouse = tmp_path / "w.duckdb"
    summaries = backfill(inbox=str(acceptance_dir / "inbox"), start="2024-02", end=PERIOD, warehouse=str(warehouse),
                         out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    assert [s["period"] for s in summaries] == ["2024-02", PERIOD]
    assert summaries[0]["ingest"]["run_id"] == summaries[1]["ingest"]["run_id"]
    assert query(warehouse, "SELECT count(DISTINCT run_id) FROM ingest.loads") == [(1,)]
    assert query(warehouse, "SELECT period FROM ledger.runs ORDER BY started_at") == [("2024-02",), (PERIOD,)]
    assert all(Path(s["validation"]["report"]).is_file() and Path(s["actions"]["workbook"]).is_file()
               for s in summaries)
    march = LEDGER_TOTALS.replace("GROUP BY", f"WHERE period = '{PERIOD}' GROUP BY")
    assert query(warehouse, march) == query(reference, march)


def test_the_close_run_is_named_by_its_month_and_recorded_in_the_run_tables(close_reference):
    from prefect.client.orchestration import get_client

    folder, warehouse, summary = close_reference
    ids = {row[0] for table in ("ingest.loads", "ledger.runs", "quality.runs")
           for row in query(warehouse, f"SELECT DISTINCT flow_run_id FROM {table}")}
    assert len(ids) == 1 and None not in ids
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(ids.pop())
    assert run.name == f"close-{PERIOD}"


def test_the_stages_run_inside_the_close_run_without_subflows(close_reference):
    """Ingest, ledger, validate and actions run in the close's own flow run (a subflow each was a flow run
    of its own: about ten API round trips); their artifacts belong to it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    _, warehouse, _ = close_reference
    [run_id] = {row[0] for row in query(warehouse, "SELECT DISTINCT flow_run_id FROM ledger.runs")}
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    assert children == []
    assert {"ingest-summary", "ledger-summary", f"validate-{PERIOD}", "actions-summary", f"close-{PERIOD}"} <= \
        {a.key for a in artifacts}


@pytest.mark.slow
def test_dask_cluster_gives_identical_results(close_reference, acceptance_dir, tmp_path):
    from distributed import LocalCluster

    from flows.close import monthly_close

    folder, reference, threaded = close_reference
    warehouse = tmp_path / "dask.duckdb"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        fanned = monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                               out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"),
                               dask_address=cluster.scheduler_address)
    assert fanned["entities"] == threaded["entities"]
    assert query(warehouse, LEDGER_TOTALS) == query(reference, LEDGER_TOTALS)
    assert query(warehouse, FINDING_KEYS) == query(reference, FINDING_KEYS)
    for entity in threaded["entities"]:
        a = pl.read_parquet(folder / "out" / PERIOD / "entities" / entity["files"][1])
        b = pl.read_parquet(tmp_path / "out" / PERIOD / "entities" / entity["files"][1])
        assert a.equals(b)
