"""The fleet on a real work pool: a Prefect server on loopback, the shebao-fleet process pool with two workers,
the fleet-close and client-close deployments of prefect.yaml; three small clients, one failing. Everything
started here is stopped here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import openpyxl
import pytest

from sample import generate_inbox
from tests.conftest import free_port, prefect_home
from tests.flows.test_deployments import _api, _run, _start, _stop, _wait_final, _wait_healthy

PERIOD = "2024-03"


@pytest.mark.slow
@pytest.mark.xdist_group("prefect-server")  # one Prefect server with its workers at a time
def test_fleet_close_fans_clients_out_on_a_pool_with_two_workers(tmp_path, one_prefect_server_at_a_time,
                                                                 prefect_database):
    clients = tmp_path / "clients"
    generate_inbox(tmp_path / "sample", 20, "2024-01", PERIOD)
    for key in ("alpha", "beta", "gamma"):
        (clients / key).mkdir(parents=True)
        (clients / key / "shebao.toml").write_text(f'name = "{key}客户"\n', encoding="utf-8")
    for key in ("alpha", "beta"):
        shutil.copytree(tmp_path / "sample", clients / key / "inbox")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHEBAO_"))}
    env |= {
        "PREFECT_HOME": str(prefect_home(tmp_path / "prefect-home", prefect_database())), "PREFECT_API_URL": api, "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port), "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    server = None
    workers: list = []
    try:
        server = _start(["server", "start", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
        _wait_healthy(api, server)
        _run(["work-pool", "create", "shebao-fleet", "--type", "process"], env)
        _run(["--no-prompt", "deploy", "--name", "fleet-close", "--name", "client-close"], env)
        workers = [_start(["worker", "start", "--pool", "shebao-fleet", "--name", f"fleet-worker-{n}"],
                          env | {"SHEBAO_CLIENTS": str(clients)}, tmp_path) for n in (1, 2)]
        deployed = {d["name"]: d for d in _api("POST", f"{api}/deployments/filter", json={}).json()}
        assert set(deployed) == {"fleet-close", "client-close"}
        fleet_run = _api("POST", f"{api}/deployments/{deployed['fleet-close']['id']}/create_flow_run",
                               json={"parameters": {"period": PERIOD}}).json()  # clients: the workers' SHEBAO_CLIENTS
        run = _wait_final(api, fleet_run["id"], seconds=1200)
        client_runs = _api("POST", f"{api}/flow_runs/filter", json={
            "deployments": {"id": {"any_": [deployed["client-close"]["id"]]}}}).json()
    finally:
        for worker in workers:
            _stop(worker)
        _stop(server)

    assert run["state_type"] == "FAILED" and run["name"] == f"fleet-{PERIOD}"
    assert "1 of 3 clients failed: gamma" in run["state"]["message"]
    by_client = {}
    for client_run in client_runs:
        by_client.setdefault(Path(client_run["parameters"]["client"]).name, []).append(client_run)
    assert {key: [r["state_type"] for r in runs] for key, runs in by_client.items()} == {
        "alpha": ["COMPLETED"], "beta": ["COMPLETED"], "gamma": ["FAILED"]}, "gamma's input failure is not retried"
    assert by_client["gamma"][0]["state"]["message"].startswith("not retried: The inbox")
    assert all(r["parent_task_run_id"] for runs in by_client.values() for r in runs), "linked to the fleet run"
    sheet = openpyxl.load_workbook(clients / "_fleet" / PERIOD / "fleet_summary.xlsx").active
    statuses = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert statuses == {"alpha客户": "已完成", "beta客户": "已完成", "gamma客户": "失败"}
    assert (clients / "alpha" / "out" / PERIOD / f"ledger_{PERIOD}.xlsx").is_file()
    assert (clients / "_fleet" / "fleet_read.duckdb").is_file()
