"""prefect.yaml for real: a Prefect server on loopback, a process work pool and worker, the monthly close
deployment triggered on the acceptance sample; everything started here is stopped here."""

from __future__ import annotations

import os
import shutil
import signal
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


def _start(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    """A long-running prefect command in its own process group, so stopping it stops its children too."""
    return subprocess.Popen([PREFECT, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    for sig, patience in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=patience)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.mark.slow
def test_monthly_close_deployment_runs_on_a_real_server(tmp_path, acceptance_dir, expected):
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
        server = _start(["server", "start", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
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
        _run(["--no-prompt", "deploy", "--all"], env)
        worker = _start(["worker", "start", "--pool", "shebao-pool"], env, tmp_path)
        _run(["deployment", "run", "monthly-close/monthly-close", "-p", "period=2024-03",
              "-p", f"policy={acceptance_dir / 'policy.csv'}", "--watch", "--watch-timeout", "600"], env, timeout=660)
        # the run created the global concurrency limit it holds (one slot) and released it
        limit = _run(["global-concurrency-limit", "inspect", "shebao-warehouse", "--output", "json"], env)
        assert '"limit": 1' in limit.stdout and '"active_slots": 0' in limit.stdout, limit.stdout
        deployed = {d["name"]: d for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json()}
        assert set(deployed) == {"monthly-close", "daily-ingest", "backfill"}
        assert {d["work_pool_name"] for d in deployed.values()} == {"shebao-pool"}
        close = deployed["monthly-close"]
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in close["schedules"]] == \
            [("0 6 5 * *", "Asia/Shanghai")]
        assert close["parameters"]["period"] is None and close["entrypoint"] == "flows/close.py:monthly_close"
        assert deployed["backfill"]["schedules"] == [] and len(deployed["daily-ingest"]["schedules"]) == 1
        assert {"period", "inbox", "dask_address"} <= close["parameter_openapi_schema"]["properties"].keys()
    finally:
        _stop(worker)
        _stop(server)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ingest.loads WHERE status = 'loaded'").fetchone()[0] == 155
        assert con.execute("SELECT count(*) FROM ledger.current_contributions WHERE period = '2024-03'").fetchone()[0] == 633
        findings = dict(con.execute("SELECT code, count(*) FROM quality.findings WHERE period = '2024-03' GROUP BY 1")
                        .fetchall())
        assert findings == {code: len(keys) for code, keys in expected["periods"]["2024-03"]["findings"].items()}
    finally:
        con.close()
