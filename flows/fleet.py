"""Many clients, one deployment: each client's monthly close as its own flow run, the fleet summarised.

Two ways to fan out, one client flow (``client-close``) either way:

- ``shebao fleet run`` (no server): each client's close runs as its own process and Prefect flow run, at
  most ``--workers`` at a time; one client failing never stops the others.
- deployed (``prefect.yaml``: ``fleet-close`` and ``client-close`` on the ``shebao-fleet`` process work
  pool): ``fleet_close`` submits one ``client-close`` flow run per client, which the pool's workers pick up
  (the deployment's concurrency limit bounds how many run at once), and waits for them.

Either way a client whose close failed for a transient reason (a crash, a lost worker, an unexpected
error) is tried again up to ``retries`` times; a client whose input or rights are wrong (shebao's one
sentence, exit 2) is not, since a second try would fail the same way. Then the fleet summary (xlsx, HTML)
and the fleet read copy are written from each client's own read copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import Failed

from flows.close import monthly_close, resolve_period
from flows.lock import warehouse_lock
from transforms.common.periods import check_period
from transforms.common.privacy import redact, redacting
from transforms.outputs.fleet import (
    Client,
    client_figures,
    load_client,
    load_clients,
    write_fleet_read_copy,
    write_fleet_summary,
)
from warehouse.db import opened
from warehouse.errors import InputError, ShebaoError
from warehouse.settings import settings

# The state message of a client close that must not be retried starts with this.
NOT_RETRIED = "not retried: "
CLIENT_DEPLOYMENT = "client-close/client-close"
FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
_CHILD_ENV_DROPPED = ("SHEBAO_INBOX", "SHEBAO_WAREHOUSE", "SHEBAO_OUT")  # each client names its own


def grant_client_roles(client: Client) -> list[str]:
    """The roles of the client's ``shebao.toml`` granted in its warehouse (audited, as ``roles grant``); users
    already holding the role are left alone, so a monthly close adds no audit rows."""
    from transforms.common.roles import grant, granted_role

    if not client.roles:
        return []
    granted = []
    client.folder.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(client.warehouse), opened(client.warehouse) as con:
        for user, role in sorted(client.roles.items()):
            if granted_role(con, user) != role:
                grant(con, user, role)
                granted.append(user)
    return granted


def check_client_inputs(client: Client) -> None:
    """Stop before the close starts when the client's inbox is missing or its policy file is unreadable (as
    ``shebao run`` does), so the failure is the one sentence, not a failed subflow."""
    from transforms.ingest.inbox import inbox_files
    from transforms.ledger.policy import check_policy_file

    inbox_files(client.inbox)
    if client.policy is not None:
        check_policy_file(client.policy)


def client_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    return f"client-{Path(parameters['client']).name}-{parameters.get('period') or 'auto'}"


@flow(name="client-close", flow_run_name=client_run_name)
@redacting
def client_close(client: str, period: str | None = None) -> dict:
    """One client's monthly close, in its own warehouse, with its own policy file and roles.

    Args:
        client: the client's folder (holding its ``shebao.toml``).
        period: the month, ``YYYY-MM``; empty means the month before the run's scheduled start.

    Returns:
        the client's key, the period and the close's counts (no personal data). A close that cannot run
        for its input or rights ends Failed with a message starting ``not retried:``.
    """
    try:
        found = load_client(Path(client))
        period = resolve_period(period)
        check_client_inputs(found)
        grant_client_roles(found)
        summary = monthly_close(inbox=str(found.inbox), period=period, warehouse=str(found.warehouse),
                                out=str(found.out), policy=str(found.policy) if found.policy else None)
    except ShebaoError as exc:
        return Failed(message=NOT_RETRIED + redact(str(exc)))  # type: ignore[return-value]
    from flows.close_summary import completed_counts

    return {"client": found.key, "period": period, **completed_counts(summary)}


# ------------------------------------------------------------------------------ fanning out, without a server


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROPPED}
    here = str(Path(__file__).resolve().parents[1])  # the checkout, for a run from one that was not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def _close_in_process(client: Client, period: str, retries: int) -> dict:
    """One client's close as its own process (``shebao fleet client``); its console goes to
    ``<client>/out/<period>/fleet_close.log`` for the operator."""
    log = client.out / period / "fleet_close.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    attempts, code = 0, None
    while attempts <= retries:
        attempts += 1
        with open(log, "a", encoding="utf-8") as sink:
            code = subprocess.run([sys.executable, "-m", "flows.cli", "fleet", "client", "--client", str(client.folder),
                                   "--period", period], stdout=sink, stderr=subprocess.STDOUT, env=_child_env(),
                                  cwd=client.folder, stdin=subprocess.DEVNULL, check=False).returncode
        if code in (0, 2):  # done, or shebao's one sentence about the input: trying again would not help
            break
    return {"status": "completed" if code == 0 else "failed", "attempts": attempts, "retried_out": code not in (0, 2),
            "seconds": round(time.perf_counter() - started, 1), "log": str(log)}


def run_fleet_locally(clients: list[Client], period: str, workers: int = 2, retries: int = 1) -> dict[str, dict]:
    """Every client's close, at most ``workers`` at a time, each in its own process: client key -> outcome."""
    if workers < 1:
        raise InputError(f"--workers is {workers}; give 1 or more.")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="client") as pool:
        futures = {client.key: pool.submit(_close_in_process, client, period, retries) for client in clients}
        return {key: future.result() for key, future in futures.items()}


# -------------------------------------------------------------------------------- fanning out, on a pool


def _submit(client: Client, period: str, deployment: str) -> str:
    from prefect.deployments import run_deployment

    run = run_deployment(name=deployment, parameters={"client": str(client.folder), "period": period}, timeout=0,
                         as_subflow=True)
    return str(run.id)


def run_fleet_on_pool(clients: list[Client], period: str, deployment: str = CLIENT_DEPLOYMENT, retries: int = 1,
                      poll_seconds: float = 2.0) -> dict[str, dict]:
    """One ``client-close`` flow run per client on the deployment's work pool, all submitted at once (the
    deployment's concurrency limit queues them); transient failures submitted again up to ``retries``."""
    from prefect.client.orchestration import get_client

    started = {client.key: time.perf_counter() for client in clients}
    running = {client.key: _submit(client, period, deployment) for client in clients}
    attempts = dict.fromkeys(running, 1)
    outcomes: dict[str, dict] = {}
    by_key = {client.key: client for client in clients}
    with get_client(sync_client=True) as api:
        while running:
            time.sleep(poll_seconds)
            for key, run_id in list(running.items()):
                state = api.read_flow_run(run_id).state
                if state is None or state.type.value not in FINAL_STATES:
                    continue
                kind, message = state.type.value, state.message or ""
                transient = kind != "COMPLETED" and not message.startswith(NOT_RETRIED)
                if transient and attempts[key] <= retries:
                    attempts[key] += 1
                    running[key] = _submit(by_key[key], period, deployment)
                    continue
                del running[key]
                outcomes[key] = {"status": "completed" if kind == "COMPLETED" else "failed", "attempts": attempts[key],
                                 "retried_out": transient, "flow_run_id": run_id,
                                 "seconds": round(time.perf_counter() - started[key], 1)}
    return outcomes


# --------------------------------------------------------------------------------------- the fleet close


def failure_note(outcome: dict) -> str:
    if outcome["status"] == "completed":
        return "" if outcome["attempts"] == 1 else f"重试后完成（共运行 {outcome['attempts']} 次）"
    if outcome.get("retried_out"):
        return f"月结失败：已运行 {outcome['attempts']} 次仍未完成，请数据工程师查看运行日志"
    return "月结失败：输入文件、设置或权限有误（未重试），请按运行日志中的说明更正后重跑"


def summarise_fleet(clients: list[Client], outcomes: dict[str, dict], period: str, out: Path) -> dict:
    """The fleet summary files and read copy from the outcomes and each client's read copy."""
    rows = []
    for client in clients:
        outcome = outcomes.get(client.key, {"status": "not_run", "attempts": 0})
        rows.append({"client": client.name, "key": client.key, **outcome, **client_figures(client, period),
                     "note": failure_note(outcome) if outcome["status"] != "not_run" else "未运行"})
    files = write_fleet_summary(rows, out, period)
    read_copy = write_fleet_read_copy([c for c in clients if outcomes.get(c.key, {}).get("status") == "completed"],
                                      out)
    failed = sorted(row["key"] for row in rows if row["status"] != "completed")
    return {"period": period, "clients": len(clients), "failed": failed, "summary": files,
            "read_copy": read_copy["path"], "rows": rows}


def fleet_run_name() -> str:
    from prefect.runtime import flow_run

    return f"fleet-{flow_run.parameters.get('period') or 'auto'}"


@flow(name="fleet-close", flow_run_name=fleet_run_name)
@redacting
def fleet_close(clients: str | None = None, period: str | None = None, out: str | None = None, retries: int = 1,
                deployment: str = CLIENT_DEPLOYMENT) -> dict:
    """The monthly close of every client of a fleet, each as its own ``client-close`` flow run on the work
    pool, then the fleet summary and read copy. Fails (after writing them) when any client failed.

    Args:
        clients: the folder holding one folder per client; default ``$SHEBAO_CLIENTS``.
        period: the month, ``YYYY-MM``; empty means the month before the run's scheduled start.
        out: where the fleet summary and read copy go; default ``<clients>/_fleet``.
        retries: tries again of a client whose close failed for a transient reason.
        deployment: the client close's deployment, ``flow-name/deployment-name``.
    """
    folder = Path(clients or settings().clients or "")
    if not str(folder) or str(folder) == ".":
        raise InputError("No clients folder given; pass clients (or set SHEBAO_CLIENTS for deployments).")
    found = load_clients(folder)
    period = resolve_period(period)
    outcomes = run_fleet_on_pool(found, period, deployment, retries)
    result = summarise_fleet(found, outcomes, period, Path(out) if out else folder / "_fleet")
    get_run_logger().info("fleet %s: %d clients, %d failed", period, result["clients"], len(result["failed"]))
    if result["failed"]:
        return Failed(message=f"{len(result['failed'])} of {result['clients']} clients failed: "  # type: ignore[return-value]
                      + ", ".join(result["failed"]), data=result)
    return result


def fleet_locally(clients: Path, period: str, out: Path | None = None, workers: int = 2, retries: int = 1) -> dict:
    """``shebao fleet run``: :func:`run_fleet_locally`, then the summary."""
    check_period(period)
    found = load_clients(clients)
    outcomes = run_fleet_locally(found, period, workers, retries)
    return summarise_fleet(found, outcomes, period, out or Path(clients) / "_fleet")
