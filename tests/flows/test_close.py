"""The monthly close as one flow: subflows, outputs, reruns, Dask fan-out, two closes at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
LEDGER_TOTALS = """SELECT entity, region, insurance_type, sum(employer_amount), sum(employee_amount), count(*)
                   FROM ledger.current_contributions GROUP BY ALL ORDER BY ALL"""
FINDING_KEYS = """SELECT code, entity, employee_id, id_number, insurance_type, transfer_id, region FROM quality.findings
                  WHERE run_id = (SELECT max(run_id) FROM quality.runs) ORDER BY ALL"""


def _query(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def closed(prefect_harness, tmp_path_factory, acceptance_dir):
    from flows.close import monthly_close

    folder = tmp_path_factory.mktemp("close")
    warehouse = folder / "w.duckdb"
    summary = monthly_close(inbox=str(acceptance_dir / "inbox"), period="2024-03", warehouse=str(warehouse),
                            out=str(folder / "out"), policy=str(acceptance_dir / "policy.csv"))
    return folder, warehouse, summary


def test_close_writes_every_output(closed, expected):
    folder, warehouse, summary = closed
    for path in (summary["validation"]["report"], summary["actions"]["workbook"], *summary["exports"]):
        assert Path(path).exists(), path
    entities = _query(warehouse, "SELECT count(DISTINCT entity) FROM ledger.current_contributions WHERE period = '2024-03'")
    assert len(summary["entities"]) == entities[0][0] == 4 and all((folder / "out" / "2024-03" / "entities" / e["file"]).exists()
                                                 for e in summary["entities"])
    counts = {code: n for code, n in summary["validation"]["counts"].items() if n}
    assert counts == {code: len(keys) for code, keys in expected["periods"]["2024-03"]["findings"].items()}
    cells = _query(warehouse, "SELECT count(*) FROM ledger.current_contributions WHERE period = '2024-03'")[0][0]
    assert cells == len(expected["periods"]["2024-03"]["ledger"])


def test_rerunning_the_close_books_nothing_new(closed, acceptance_dir):
    from flows.close import monthly_close

    folder, warehouse, _ = closed
    before = _query(warehouse, "SELECT count(*) FROM ledger.contributions")
    actions = _query(warehouse, "SELECT action_id, status FROM actions.cleanup_actions ORDER BY 1")
    again = monthly_close(inbox=str(acceptance_dir / "inbox"), period="2024-03", warehouse=str(warehouse),
                          out=str(folder / "out"), policy=str(acceptance_dir / "policy.csv"))
    assert again["ledger"]["rows_appended"] == 0 and again["ingest"]["rows_read"] == 0
    assert _query(warehouse, "SELECT count(*) FROM ledger.contributions") == before
    assert _query(warehouse, "SELECT action_id, status FROM actions.cleanup_actions ORDER BY 1") == actions


@pytest.mark.slow
def test_dask_cluster_gives_identical_results(closed, acceptance_dir, tmp_path):
    from distributed import LocalCluster

    from flows.close import monthly_close

    folder, warehouse, threaded = closed
    copy = tmp_path / "dask.duckdb"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        fanned = monthly_close(inbox=str(acceptance_dir / "inbox"), period="2024-03", warehouse=str(copy),
                               out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"),
                               dask_address=cluster.scheduler_address)
    assert fanned["entities"] == threaded["entities"]
    assert _query(copy, LEDGER_TOTALS) == _query(warehouse, LEDGER_TOTALS)
    assert _query(copy, FINDING_KEYS) == _query(warehouse, FINDING_KEYS)
    for entity in threaded["entities"]:
        a = folder / "out" / "2024-03" / "entities" / entity["file"]
        b = tmp_path / "out" / "2024-03" / "entities" / entity["file"]
        assert a.stat().st_size > 0 and b.stat().st_size > 0


def _shebao(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEBAO_", "PREFECT_API"))}
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, "PYTHONPATH": str(REPO)})


@pytest.mark.slow
def test_two_concurrent_runs_one_completes_the_other_refuses(tmp_path, acceptance_dir):
    inbox = tmp_path / "inbox"
    shutil.copytree(acceptance_dir / "inbox", inbox)
    args = ("run", "--inbox", str(inbox), "--period", "2024-03", "--policy", str(acceptance_dir / "policy.csv"),
            "--warehouse", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "out"), "--wait", "0")
    first = _shebao(*args, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not (tmp_path / "w.duckdb.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    second = _shebao(*args, cwd=tmp_path)
    out2, err2 = second.communicate(timeout=600)
    out1, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1[-3000:]
    assert second.returncode == 2, err2[-3000:]
    assert "is being written by another shebao run" in err2 and "Traceback" not in err2
    cells = _query(tmp_path / "w.duckdb", "SELECT count(*) FROM ledger.contributions")[0][0]
    assert cells == _query(tmp_path / "w.duckdb", "SELECT count(*) FROM ledger.current_contributions")[0][0]
    assert "HR report:" in out1


@pytest.mark.slow
def test_demo_prints_the_three_outputs(tmp_path):
    process = _shebao("demo", "--out", str(tmp_path / "demo"), "--employees", "120", cwd=tmp_path)
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    paths = [line.split(":", 1)[1].strip() for line in out.splitlines()
             if line.startswith(("HR report:", "Action workbook:", "Ledger export:"))]
    assert len(paths) == 3 and all(Path(p).exists() for p in paths)


def test_a_failed_close_is_resumable_to_the_same_result(prefect_harness, tmp_path, acceptance_dir, closed):
    from flows.close import monthly_close

    _, reference, _ = closed
    warehouse = tmp_path / "w.duckdb"
    broken = tmp_path / "policy.csv"
    broken.write_text("地区,险种,生效月份,基数下限,基数上限,单位费率,个人费率\n长沙,养老,2024-01,3604,18021,16,0.08\n",
                      encoding="utf-8")
    with pytest.raises(Exception, match="is 1 or more"):  # fails after ingest, in the ledger stage
        monthly_close(inbox=str(acceptance_dir / "inbox"), period="2024-03", warehouse=str(warehouse),
                      out=str(tmp_path / "out"), policy=str(broken))
    assert _query(warehouse, "SELECT count(*) FROM ledger.contributions")[0][0] == 0
    monthly_close(inbox=str(acceptance_dir / "inbox"), period="2024-03", warehouse=str(warehouse),
                  out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"))
    assert _query(warehouse, LEDGER_TOTALS) == _query(reference, LEDGER_TOTALS)
    assert _query(warehouse, FINDING_KEYS) == _query(reference, FINDING_KEYS)
