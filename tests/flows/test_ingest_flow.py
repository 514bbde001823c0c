"""The ingest flow as Prefect runs it, and the CLI around it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]


def test_ingest_flow_runs_and_reports_counts(prefect_harness, acceptance_dir, expected, warehouse_path):
    from flows.ingest import ingest_flow

    summary = ingest_flow(inbox=str(acceptance_dir / "inbox"), warehouse=str(warehouse_path))
    files = expected["files"]
    assert summary["loads_by_status"] == {"loaded": len(files)}
    assert summary["rows_read"] == sum(f["rows"] for f in files.values())
    assert summary["rows_rejected"] == sum(sum(f["rejected"].values()) for f in files.values())
    assert summary["rows_read"] == summary["rows_staged"] + summary["rows_rejected"]
    again = ingest_flow(inbox=str(acceptance_dir / "inbox"), warehouse=str(warehouse_path))
    assert again["files_already_loaded"] == len(files) and again["rows_read"] == 0


def _shebao(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**env, "PYTHONPATH": str(REPO)}, timeout=300)


def test_cli_missing_inbox_is_one_sentence(tmp_path: Path):
    result = _shebao("ingest", "--inbox", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb"),
                     cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("shebao: The inbox")
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_ingest_loads_and_prints_counts(tmp_path: Path, acceptance_dir):
    warehouse = tmp_path / "w.duckdb"
    result = _shebao("ingest", "--inbox", str(acceptance_dir / "inbox"), "--warehouse", str(warehouse), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rows read" in result.stdout
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM ingest.loads WHERE status = 'loaded'").fetchone()[0] == 155
    con.close()
