"""The ledger flow as Prefect runs it, its artifact, and the ``ledger``/``export`` commands."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from transforms.ingest.inbox import record_load_keys
from warehouse.db import connect, opened
from warehouse.errors import InputError, ShebaoError

ID1, ID2 = "430102199001010013", "430102199203040021"
POLICY = """地区,险种,生效月份,截止月份,基数下限,基数上限,单位费率,个人费率
长沙,养老,2024-01,,5000,18021,16%,8%
"""


def _build(path: Path) -> None:
    """Two employees of two entities paid in 2024-03; no ledger yet."""
    con = connect(path)
    try:
        con.execute("INSERT INTO staging.payroll VALUES"
                    f" (1, NULL, 1, '2024-03', 'E1', '李四', '{ID1}', '{ID1}', '星城公司', '长沙', '长沙', true, 10000, NULL, 1000),"
                    f" (2, NULL, 1, '2024-03', 'E2', '王芳', '{ID2}', '{ID2}', '麓山公司', '长沙', '长沙', true, 4000, NULL, NULL)")
        for load_id in (1, 2):
            record_load_keys(con, load_id)
    finally:
        con.close()


def _published(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False)


def _latest_artifact() -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ledger-summary"])),
                                          sort=ArtifactSort.CREATED_DESC, limit=1)
    return artifacts[0].data


@pytest.mark.slow
def test_ledger_flow_appends_once_and_publishes_totals_without_personal_data(prefect_harness, warehouse_path):
    from flows.ledger import ledger_flow

    _build(warehouse_path)
    first = ledger_flow("2024-03", warehouse=str(warehouse_path), run_id="20240401T000000Z-test")
    assert first["run_id"] == "20240401T000000Z-test"
    assert (first["employees_paid"], first["employees_in_ledger"], first["employees_without_policy"]) == (2, 2, 0)
    # shipped 长沙 2024: pension 16/8, medical 8/2, unemployment 0.5/0.5, work injury 0.2/0 -> 4 cells each
    assert first["rows_appended"] == 8
    totals = {t["entity"]: t for t in first["totals_by_entity"]}
    assert totals["星城公司"] == {"entity": "星城公司", "employer": "2470.00", "employee": "1050.00", "cells": 4}
    artifact = _latest_artifact()
    assert "| 星城公司 | 2470.00 | 1050.00 | 4 |" in artifact
    for text in (_published(first), artifact):
        assert ID1 not in text and "李四" not in text and "王芳" not in text
    again = ledger_flow("2024-03", warehouse=str(warehouse_path))
    assert again["rows_appended"] == 0 and again["run_id"] > first["run_id"]
    with opened(warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*), sum(rows_appended) FROM ledger.runs").fetchone() == (2, 8)


@pytest.mark.slow
def test_ledger_flow_with_a_policy_file(prefect_harness, warehouse_path, tmp_path):
    from flows.ledger import ledger_flow

    _build(warehouse_path)
    policy = tmp_path / "policy.csv"
    policy.write_text(POLICY, encoding="utf-8")
    summary = ledger_flow("2024-03", warehouse=str(warehouse_path), policy=str(policy))
    assert summary["rows_appended"] == 2  # the file replaced every shipped 长沙 row: pension only
    with opened(warehouse_path, read_only=True) as con:
        assert con.execute("SELECT base FROM ledger.current_contributions WHERE employee_id = 'E2'"
                           ).fetchone()[0] == Decimal("5000.00")


@pytest.mark.slow
def test_cli_ledger_then_export(prefect_harness, warehouse_path, tmp_path):
    from flows.cli import app

    _build(warehouse_path)
    runner = CliRunner()
    base = ["--period", "2024-03", "--warehouse", str(warehouse_path)]
    result = runner.invoke(app, ["ledger", *base])
    assert result.exit_code == 0, result.output
    assert "2 employees in the ledger, 8 rows appended" in result.output and ID1 not in result.output
    result = runner.invoke(app, ["export", *base, "--format", "xlsx", "--out", str(tmp_path), "--role", "finance"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "ledger_2024-03.xlsx")
    rows = list(book["合计"].iter_rows(values_only=True))
    assert rows[0] == ("单位", "参保地", "险种", "人数", "单位缴费", "个人缴费", "合计")
    assert sum(r[-1] for r in rows[1:-1]) == pytest.approx(rows[-1][-1]) and rows[-1][0] == "总计"


def test_cli_export_without_a_ledger_is_one_sentence(warehouse_path, tmp_path):
    from flows.cli import app

    _build(warehouse_path)
    result = CliRunner().invoke(app, ["export", "--period", "2024-03", "--warehouse", str(warehouse_path),
                                      "--out", str(tmp_path)])
    assert isinstance(result.exception, ShebaoError)
    assert str(result.exception) == "There is no ledger for 2024-03 yet; run `shebao ledger --period 2024-03` first."


def test_cli_ledger_with_a_bad_policy_file_is_one_sentence_and_writes_nothing(warehouse_path, tmp_path):
    from flows.cli import app

    _build(warehouse_path)
    policy = tmp_path / "bad.csv"
    policy.write_text(POLICY.replace("16%", "16"), encoding="utf-8")
    result = CliRunner().invoke(app, ["ledger", "--period", "2024-03", "--warehouse", str(warehouse_path),
                                      "--policy", str(policy)])
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == ("The policy file bad.csv, data row 1: employer_rate '16' is 1 or more; "
                                     "write a rate like 0.16 or 16%.")
    with opened(warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ledger.contributions").fetchone()[0] == 0
