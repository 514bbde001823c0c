"""The monthly close as one flow: subflows, outputs, artifacts, reruns (failures midway, backfill and Dask:
the test_close_*.py beside this file, so pytest-xdist can run them on the other worker)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
from conftest import ACTIONS, FINDING_KEYS, LEDGER_TOTALS, PERIOD, query

from tests.conftest import V2_CODES


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


def test_close_publishes_artifacts_without_personal_data(close_reference, close_reference_prefect):
    _, warehouse, summary = close_reference
    artifacts = close_reference_prefect["artifacts"]  # as the Prefect server returned them after the close
    assert set(artifacts) == {f"close-{PERIOD}", f"close-{PERIOD}-findings", f"close-{PERIOD}-entities"}
    findings = json.loads(artifacts[f"close-{PERIOD}-findings"])
    assert {r["code"]: r["findings"] for r in findings} == summary["validation"]["counts"]
    entities = json.loads(artifacts[f"close-{PERIOD}-entities"])
    assert [r["entity"] for r in entities] == [e["entity"] for e in summary["entities"]]
    markdown = artifacts[f"close-{PERIOD}"]
    assert Path(summary["validation"]["report"]).as_uri() in markdown
    assert Path(summary["actions"]["workbook"]).as_uri() in markdown
    people = query(warehouse, "SELECT DISTINCT id_number, name FROM ledger.current_contributions")
    text = "\n".join(str(data) for data in artifacts.values())
    leaked = [p for p in people if p[0] in text or p[1] in text]
    assert not leaked, f"{len(leaked)} people's id numbers or names appear in the close artifacts"


def test_rerunning_the_close_books_nothing_new(prefect_harness, close_reference, acceptance_dir, tmp_path):
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


def test_the_close_run_is_named_by_its_month_and_recorded_in_the_run_tables(close_reference,
                                                                            close_reference_prefect):
    folder, warehouse, summary = close_reference
    ids = {row[0] for table in ("ingest.loads", "ledger.runs", "quality.runs")
           for row in query(warehouse, f"SELECT DISTINCT flow_run_id FROM {table}")}
    assert len(ids) == 1 and None not in ids
    assert close_reference_prefect["flow_run_names"][str(ids.pop())] == f"close-{PERIOD}"  # the server's name


def test_the_stages_run_inside_the_close_run_without_subflows(close_reference_prefect):
    """Ingest, ledger, validate and actions run in the close's own flow run (a subflow each was a flow run
    of its own: about ten API round trips); their artifacts belong to it."""
    assert close_reference_prefect["child_flow_runs"] == []
    assert {"ingest-summary", "ledger-summary", f"validate-{PERIOD}", "actions-summary", f"close-{PERIOD}"} <= \
        set(close_reference_prefect["run_artifact_keys"])
