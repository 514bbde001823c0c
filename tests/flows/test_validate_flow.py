"""The validate flow and CLI on a real warehouse file, real GX and a temporary Prefect server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.expectations.conftest import id_number, make_warehouse
from transforms.common.roles import PermissionDenied
from warehouse.db import connect, opened
from warehouse.errors import ShebaoError

ID1 = id_number()


def _build(path: Path, *, ledger: bool = True) -> None:
    con = connect(path)
    try:
        wh = make_warehouse(con)
        wh.policy()
        wh.payroll(employee_id="E1", id_number=ID1, name="李四")
        wh.payroll(employee_id="E2", id_number=ID1, name="李四", row_number=2)
        wh.insurance(id_number=ID1, base="3000", name="李四")
        wh.transfer(transfer_id="T1", stage_on="2024-01-05")
        if ledger:
            wh.ledger_run()
    finally:
        con.close()


def _findings(path: Path, run_id: str) -> list[tuple]:
    with opened(path, read_only=True) as con:
        return con.execute(
            "SELECT period, code, severity, entity, employee_id, id_number, region, insurance_type, transfer_id,"
            " CAST(details AS VARCHAR) FROM quality.findings WHERE run_id = ? ORDER BY ALL", [run_id]
        ).fetchall()


@pytest.mark.slow
def test_validate_twice_same_findings_new_run_id(prefect_harness, warehouse_path, tmp_path):
    from flows.validate import validate_flow

    _build(warehouse_path)
    out = tmp_path / "out"
    first = validate_flow("2024-03", warehouse=str(warehouse_path), out=str(out))
    second = validate_flow("2024-03", warehouse=str(warehouse_path), out=str(out))
    assert first["run_id"] != second["run_id"] and first["run_id"] < second["run_id"]
    assert first["counts"] == second["counts"]
    assert first["counts"]["DUPLICATE_ID_NUMBER"] == 2 and first["counts"]["STALE_TRANSFER"] == 1
    rows = _findings(warehouse_path, first["run_id"])
    assert rows and rows == _findings(warehouse_path, second["run_id"])
    assert Path(second["report"]).is_file() and Path(second["report"]).parent == out / "2024-03"
    assert (out / "2024-03" / "data_docs" / "index.html").is_file()
    with opened(warehouse_path, read_only=True) as con:
        runs = con.execute("SELECT status, report_path, counts FROM quality.runs ORDER BY run_id").fetchall()
    assert [r[0] for r in runs] == ["succeeded", "succeeded"]
    assert runs[1][1] == second["report"] and json.loads(runs[1][2]) == second["counts"]
    published = json.dumps(second, ensure_ascii=False)
    assert ID1 not in published and "李四" not in published


@pytest.mark.slow
def test_a_validation_that_leaves_the_report_to_the_actions_step(prefect_harness, warehouse_path, tmp_path):
    from flows.actions import actions_flow
    from flows.validate import _markdown, validate_flow

    _build(warehouse_path)
    out = tmp_path / "out"
    summary = validate_flow("2024-03", warehouse=str(warehouse_path), out=str(out), report=False)
    assert summary["report"] is None and not list((out / "2024-03").glob("validation_report_*.html"))
    assert "written by the actions step" in _markdown(summary)
    actions = actions_flow("2024-03", warehouse=str(warehouse_path), out=str(out), run_id=summary["run_id"])
    assert Path(actions["report"]).is_file() and Path(actions["report"]).parent == out / "2024-03"
    with opened(warehouse_path, read_only=True) as con:
        assert con.execute("SELECT report_path FROM quality.runs WHERE run_id = ?",
                           [summary["run_id"]]).fetchone()[0] == actions["report"]


def test_artifact_markdown_has_counts_and_no_personal_data():
    from flows.validate import _markdown

    summary = {"run_id": "r1", "period": "2024-03", "counts": {"DUPLICATE_ID_NUMBER": 2},
               "by_severity": {"error": 2, "warning": 0}, "report": "/out/2024-03/r.html",
               "data_docs": "/out/2024-03/data_docs/index.html", "warnings": []}
    text = _markdown(summary)
    assert "| DUPLICATE_ID_NUMBER | error | 2 |" in text and "| STALE_TRANSFER | warning | 0 |" in text
    assert "| error | 2 |" in text and "/out/2024-03/r.html" in text


@pytest.mark.slow
def test_validate_needs_the_ledger_of_the_month(prefect_harness, warehouse_path, tmp_path):
    from flows.validate import validate_flow

    _build(warehouse_path, ledger=False)
    with pytest.raises(ShebaoError, match=r"ledger for 2024-03 has not been computed; run `shebao ledger"):
        validate_flow("2024-03", warehouse=str(warehouse_path), out=str(tmp_path))
    with opened(warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quality.runs").fetchone()[0] == 0


@pytest.mark.slow
def test_cli_validate_and_report_roles(prefect_harness, warehouse_path, tmp_path):
    from flows.cli import app

    _build(warehouse_path)
    runner = CliRunner()
    base = ["--period", "2024-03", "--warehouse", str(warehouse_path), "--out", str(tmp_path)]
    result = runner.invoke(app, ["validate", *base])
    assert result.exit_code == 0, result.output
    assert "DUPLICATE_ID_NUMBER: 2" in result.output and ID1 not in result.output
    manager = runner.invoke(app, ["report", *base, "--full-ids"])
    assert manager.exit_code == 0, manager.output
    report = Path(manager.output.split("Report: ")[1].strip())
    assert ID1 in report.read_text(encoding="utf-8")
    staff = runner.invoke(app, ["report", *base])
    assert ID1 not in Path(staff.output.split("Report: ")[1].strip()).read_text(encoding="utf-8")
    finance = runner.invoke(app, ["report", *base, "--role", "finance"])
    assert isinstance(finance.exception, PermissionDenied)
    assert "finance may not see validation findings" in str(finance.exception)


def test_cli_validate_without_ledger_is_one_sentence_before_any_flow(warehouse_path, tmp_path):
    from flows.cli import app

    _build(warehouse_path, ledger=False)
    result = CliRunner().invoke(app, ["validate", "--period", "2024-03", "--warehouse", str(warehouse_path)])
    assert isinstance(result.exception, ShebaoError)
    assert str(result.exception) == ("The ledger for 2024-03 has not been computed; run `shebao ledger --period "
                                     "2024-03` before validating.")
