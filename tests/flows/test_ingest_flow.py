"""The ingest flow as Prefect runs it, and the CLI around it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from conftest import command_env

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
    return subprocess.run([sys.executable, "-m", "flows.launch", *args], capture_output=True, text=True, cwd=cwd,
                          env=command_env(), timeout=300)


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


def test_cli_ingest_names_each_file_not_loaded_and_what_it_lacks(tmp_path: Path):
    """SPEC §2 v3: the console names every unrecognised, failed or partly loaded file, with the columns it
    lacks and where they could come from; a date range in a name is not masked as an ID."""
    inbox = tmp_path / "inbox"
    (inbox / "星城智造有限公司").mkdir(parents=True)
    (inbox / "星城智造有限公司" / "说明_20240601-20240630.csv").write_text("备注,内容\n1,无\n", encoding="utf-8")
    (inbox / "星城智造有限公司" / "工资.csv").write_text(
        "工号,姓名,身份证号,应发工资\nE1,王芳,430102199001011237,9000\n", encoding="utf-8")
    result = _shebao("ingest", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "Files NOT loaded (1):" in out and "星城智造有限公司/说明_20240601-20240630.csv: unrecognized" in out
    assert "Files loaded in part (1):" in out and "星城智造有限公司/工资.csv: 1 of 1 rows rejected" in out
    assert "缺少列：工资月份" in out and "参保城市" in out
