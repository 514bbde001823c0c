"""prefect.yaml for real: a Prefect server on loopback, a process work pool and worker, the monthly close
deployment triggered on the acceptance sample; everything started here is stopped here."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)}: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    return result


def _stop(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_monthly_close_deployment_runs_on_a_real_server(tmp_path, acceptance_dir):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    inbox = tmp_path / "inbox"
    shutil.copytree(acceptance_dir / "inbox", inbox)
    warehouse = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHEBAO_"))}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api, "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port), "PREFECT_WORKER_QUERY_SECONDS": "2",
        "SHEBAO_HOME": str(REPO), "SHEBAO_INBOX": str(inbox), "SHEBAO_WAREHOUSE": str(warehouse),
        "SHEBAO_OUT": str(tmp_path / "out"), "PYTHONPATH": str(REPO),
    }
    server = worker = None
    try:
        server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Prefect server did not start within 180 s"
            assert server.poll() is None, "the Prefect server exited"
            time.sleep(1)
        _run(["work-pool", "create", "shebao-pool", "--type", "process"], env)
        _run(["global-concurrency-limit", "create", "shebao-warehouse", "--limit", "1"], env)
        _run(["--no-prompt", "deploy", "--all"], env)
        worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", "shebao-pool"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _run(["deployment", "run", "monthly-close/monthly-close", "-p", "period=2024-03",
              "-p", f"policy={acceptance_dir / 'policy.csv'}", "--watch", "--watch-timeout", "600"], env, timeout=660)
    finally:
        _stop(worker)
        _stop(server)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ingest.loads WHERE status = 'loaded'").fetchone()[0] == 155
        assert con.execute("SELECT count(*) FROM ledger.current_contributions WHERE period = '2024-03'").fetchone()[0] == 633
        assert con.execute("SELECT count(*) FROM quality.findings WHERE period = '2024-03'").fetchone()[0] > 0
    finally:
        con.close()
