"""prefect.yaml for real: a Prefect server on loopback, a process work pool (one run at a time) and a worker,
the alerts of `shebao alerts setup` posting to a loopback receiver; a scheduled run of the monthly close on
the acceptance sample closes the month before its scheduled start and emits its counts, and a failing run
reaches the receiver. Everything started here is stopped here."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import V2_CODES, free_port, prefect_home

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


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


class Receiver(ThreadingHTTPServer):
    """A webhook on loopback that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0}')

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [body.get("text", {}).get("content", "") for body in self.bodies]  # the WeCom robot's format

    def wait_for(self, words: str, seconds: float = 180) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for text in self.texts():
                if words in text:
                    return text
            time.sleep(1)
        raise AssertionError(f"no notification with {words!r} within {seconds} s; got {self.texts()}")


def _api(method: str, url: str, **kwargs) -> httpx.Response:
    """One request to the test's Prefect server, asked again while it answers 503 (its SQLite database locked
    by the runs writing to it) or times out, after 2, 4, 8 … seconds for about four minutes, as the pools' flow
    runs do (prefect.yaml, PREFECT_CLIENT_MAX_RETRIES)."""
    for attempt in range(1, 8):
        try:
            response = httpx.request(method, url, timeout=30, **kwargs)
            if response.status_code != 503:
                return response.raise_for_status()
        except httpx.TimeoutException:
            pass
        time.sleep(2 ** attempt)
    return httpx.request(method, url, timeout=30, **kwargs).raise_for_status()


def _wait_healthy(api: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the Prefect server did not start within 180 s"
        assert server.poll() is None, "the Prefect server exited"
        time.sleep(1)


def _wait_for_events(api: str, name: str, deadline_s: float = 60.0) -> list[dict]:
    """Events of that name once at least one has arrived, or none after the deadline."""
    stop = time.monotonic() + deadline_s
    while True:
        events = _api("POST", f"{api}/events/filter", json={
            "filter": {"event": {"name": [name]}, "occurred": {"since": "2024-01-01T00:00:00Z"}},
        }).json()["events"]
        if events or time.monotonic() > stop:
            return events
        time.sleep(0.5)


def _wait_final(api: str, run_id: str, seconds: float = 660) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = _api("GET", f"{api}/flow_runs/{run_id}").json()
        if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(2)
    raise AssertionError(f"the flow run {run_id} did not finish within {seconds} s")


@pytest.mark.slow
@pytest.mark.xdist_group("prefect-server")  # one Prefect server with its workers at a time
def test_monthly_close_deployment_runs_on_a_real_server(tmp_path, acceptance_dir, expected, one_prefect_server_at_a_time,
                                                       prefect_database):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    inbox = tmp_path / "inbox"
    shutil.copytree(acceptance_dir / "inbox", inbox)
    warehouse = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHEBAO_"))}
    env |= {
        "PREFECT_HOME": str(prefect_home(tmp_path / "prefect-home", prefect_database())), "PREFECT_API_URL": api, "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port), "PREFECT_WORKER_QUERY_SECONDS": "2", "PYTHONPATH": str(REPO),
    }
    # the worker's environment: settings are read when a run starts, never at deploy time
    worker_env = env | {"SHEBAO_INBOX": str(inbox), "SHEBAO_WAREHOUSE": str(warehouse),
                        "SHEBAO_OUT": str(tmp_path / "out"), "SHEBAO_RETRIES": "1", "SHEBAO_RETRY_DELAY": "1"}
    receiver = Receiver()
    server = worker = None
    try:
        server = _start(["server", "start", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
        _wait_healthy(api, server)
        _run(["work-pool", "create", "shebao-pool", "--type", "process"], env)
        _run(["work-pool", "set-concurrency-limit", "shebao-pool", "1"], env)
        _run(["work-pool", "create", "shebao-fleet", "--type", "process"], env)
        _run(["--no-prompt", "deploy", "--all"], env)  # no SHEBAO_* set: nothing to fill in
        alerts = subprocess.run([sys.executable, "-m", "flows.launch", "alerts", "setup", "--webhook",
                                 f"http://127.0.0.1:{receiver.server_address[1]}/hook", "--target", "wecom"],
                                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert alerts.returncode == 0, alerts.stderr[-2000:]
        worker = _start(["worker", "start", "--pool", "shebao-pool"], worker_env, tmp_path)

        deployed = {d["name"]: d for d in _api("POST", f"{api}/deployments/filter", json={}).json()}
        assert set(deployed) == {"monthly-close", "daily-ingest", "backfill", "fleet-close", "client-close"}
        fleet = {name: deployed.pop(name) for name in ("fleet-close", "client-close")}
        assert {d["work_pool_name"] for d in fleet.values()} == {"shebao-fleet"}
        assert fleet["client-close"]["global_concurrency_limit"]["limit"] == 2
        assert "{{" not in json.dumps([d["parameters"] for d in deployed.values()])
        assert "{{" not in json.dumps([d["pull_steps"] for d in deployed.values()])
        assert {d["work_pool_name"] for d in deployed.values()} == {"shebao-pool"}
        assert _api("GET", f"{api}/work_pools/shebao-pool").json()["concurrency_limit"] == 1
        assert {d["global_concurrency_limit"]["limit"] for d in deployed.values()} == {1}
        close = deployed["monthly-close"]
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in close["schedules"]] == \
            [("0 6 5 * *", "Asia/Shanghai")]
        assert close["parameters"] == {"period": None} and close["entrypoint"] == "flows/close.py:deployed_close"
        assert deployed["backfill"]["schedules"] == [] and len(deployed["daily-ingest"]["schedules"]) == 1
        assert {"period", "inbox", "dask_address"} <= close["parameter_openapi_schema"]["properties"].keys()

        # the run the schedule makes for 06:00 on 5 April (Shanghai), started whenever: it closes March
        scheduled = _api("POST", f"{api}/deployments/{close['id']}/create_flow_run", json={
            "parameters": {"policy": str(acceptance_dir / "policy.csv")},
            "state": {"type": "SCHEDULED", "state_details": {"scheduled_time": "2024-04-04T22:00:00Z"}}}).json()
        run = _wait_final(api, scheduled["id"])
        assert run["state_type"] == "COMPLETED", run["state"]
        assert run["name"] == "close-2024-03"

        # the worker's events reach the server asynchronously: wait for this one, do not read once
        events = _wait_for_events(api, "shebao.close.completed")
        assert len(events) == 1
        payload = events[0]["payload"]
        assert payload["period"] == "2024-03" and payload["employees_in_ledger"] > 0 and payload["findings"] > 0
        assert not re.search(r"\d{17}[\dXx]", json.dumps(events[0], ensure_ascii=False))
        completed = receiver.wait_for("月结完成")
        assert "2024-03" in completed and f"问题 {payload['findings']} 条" in completed

        # a close that cannot run (no such inbox) fails at once, not after the retries (an input error is
        # never retried), and people are told in Chinese
        failing = _run(["deployment", "run", "monthly-close/monthly-close", "-p", "period=2024-02",
                        "-p", f"inbox={tmp_path / 'no-such-inbox'}"], env)
        failed_id = re.search(r"UUID: ([0-9a-f-]{36})", failing.stdout).group(1)
        failed = _wait_final(api, failed_id)
        assert failed["state_type"] == "FAILED" and failed["run_count"] == 1 and failed["name"] == "close-2024-02"
        alert = receiver.wait_for("月结失败")
        assert "月结运行 2024-02 失败" in alert and "Failed" not in alert and "close-" not in alert
    finally:
        _stop(worker)
        _stop(server)
        receiver.shutdown()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ingest.loads WHERE status = 'loaded'").fetchone()[0] == 155
        assert con.execute("SELECT count(*) FROM ledger.current_contributions WHERE period = '2024-03'").fetchone()[0] == 633
        findings = dict(con.execute("SELECT code, count(*) FROM quality.findings WHERE period = '2024-03'"
                                    " AND code NOT IN (SELECT unnest(?)) GROUP BY 1", [sorted(V2_CODES)])
                        .fetchall())
        assert findings == {code: len(keys) for code, keys in expected["periods"]["2024-03"]["findings"].items()}
        assert {row[0] for row in con.execute("SELECT DISTINCT flow_run_id FROM quality.runs").fetchall()} == \
            {scheduled["id"]}
    finally:
        con.close()


def test_every_pools_runs_ride_out_a_busy_server():
    """A flow run on either pool retries a server's 503 (SQLite locked) for minutes, not Prefect's one minute."""
    import yaml

    pools = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["definitions"]["work_pools"]
    assert {name: int(pool["job_variables"]["env"]["PREFECT_CLIENT_MAX_RETRIES"]) >= 7
            for name, pool in pools.items()} == {"process_pool": True, "fleet_pool": True}
