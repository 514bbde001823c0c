"""Fixtures for the close tests (tests/flows/test_close*.py): one reference close of the acceptance
sample, read-only queries on a warehouse file, and the ``shebao`` CLI in a subprocess."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import built_once

REPO = Path(__file__).resolve().parents[2]
PERIOD = "2024-03"
# Sorted query outputs two closes must agree on, to the cent and the key.
LEDGER_TOTALS = """SELECT period, entity, region, insurance_type, sum(employer_amount), sum(employee_amount), count(*)
                   FROM ledger.current_contributions GROUP BY ALL ORDER BY ALL"""
FINDING_KEYS = """SELECT period, code, severity, entity, employee_id, id_number, insurance_type, transfer_id, region,
                         CAST(details AS VARCHAR)
                  FROM quality.findings WHERE run_id = (SELECT max(run_id) FROM quality.runs) ORDER BY ALL"""
ACTIONS = "SELECT action_type, status, entity, employee_id, finding_codes FROM actions.cleanup_actions ORDER BY ALL"


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# The session's Prefect server (``prefect_harness``), which ``shebao`` subprocesses use unless told otherwise.
_SESSION_SERVER: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def commands_use_the_session_server(prefect_harness):
    """``shebao`` subprocesses talk to this worker's one Prefect server, as a scheduled close talks to its
    server: a command that starts its own temporary server pays about 6 CPU-seconds for it, even one refused
    before any work (``run`` starts it first, to overlap its checks). The temporary server's own path is kept
    by ``embedded=True`` (the README's ``demo``) and by tests/flows/test_runtime_server.py."""
    from prefect.settings import PREFECT_API_URL

    _SESSION_SERVER["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    yield
    _SESSION_SERVER.clear()


def command_env(env: dict | None = None, *, embedded: bool = False, home: Path | None = None) -> dict:
    """The environment of a ``shebao`` subprocess: no SHEBAO_* or Prefect API settings inherited, the checkout
    on the path, the session's Prefect server unless ``embedded`` (then its own temporary server). With ``home``,
    its own temporary server in that Prefect home, and no Prefect setting inherited at all."""
    dropped = ("SHEBAO_", "PREFECT_") if home else ("SHEBAO_", "PREFECT_API")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    server = {"PREFECT_HOME": str(home)} if home else {} if embedded else _SESSION_SERVER
    return {**clean, "PYTHONPATH": str(REPO), **server, **(env or {})}


def shebao(*args: str, cwd: Path, env: dict | None = None, embedded: bool = False) -> subprocess.Popen:
    """``shebao`` in a fresh process (see ``command_env``)."""
    return subprocess.Popen([sys.executable, "-m", "flows.launch", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=command_env(env, embedded=embedded))


def finish(process, timeout: float = 900) -> tuple[int, str, str]:
    """A ``shebao`` process's exit code, stdout and stderr once it ends."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture(scope="session")
def close_reference(request, tmp_path_factory, acceptance_dir):
    """One uninterrupted close of the acceptance sample for 2024-03, run once for the whole run (``built_once``:
    under pytest-xdist the first worker closes in its Prefect server, the other reads the same files):
    (folder, warehouse, summary). Read the warehouse read-only or copy it. What the server held of the close
    right after it (its artifacts, its flow run's name) is ``close_reference_prefect``."""

    def build(folder: Path) -> None:
        request.getfixturevalue("prefect_harness")
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            ArtifactFilter,
            ArtifactFilterFlowRunId,
            ArtifactFilterKey,
            FlowRunFilter,
            FlowRunFilterParentFlowRunId,
        )

        from flows.close import monthly_close

        warehouse = folder / "w.duckdb"
        summary = monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                                out=str(folder / "out"), policy=str(acceptance_dir / "policy.csv"))
        ids = {row[0] for table in ("ingest.loads", "ledger.runs", "quality.runs")
               for row in query(warehouse, f"SELECT DISTINCT flow_run_id FROM {table}")}
        keys = [f"close-{PERIOD}", f"close-{PERIOD}-findings", f"close-{PERIOD}-entities"]
        runs = [i for i in ids if i is not None]
        with get_client(sync_client=True) as client:
            # this close's own: other closes of the month on this worker's server publish the same keys
            artifacts = {a.key: a.data for a in client.read_artifacts(artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=keys), flow_run_id=ArtifactFilterFlowRunId(any_=runs)))}
            names = {str(i): client.read_flow_run(i).name for i in ids if i is not None}
            children = [str(r.id) for r in client.read_flow_runs(flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=runs)))]
            run_artifacts = sorted({a.key for a in client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=runs))) if a.key})
        (folder / "close.pickle").write_bytes(pickle.dumps(
            {"summary": summary, "artifacts": artifacts, "flow_run_names": names, "child_flow_runs": children,
             "run_artifact_keys": run_artifacts}))

    folder = built_once(tmp_path_factory, "close-reference", build)
    return folder, folder / "w.duckdb", pickle.loads((folder / "close.pickle").read_bytes())["summary"]


@pytest.fixture(scope="session")
def close_reference_prefect(close_reference) -> dict:
    """The Prefect server's record of ``close_reference``, read from it right after the close: ``artifacts``
    (key: data), ``flow_run_names`` (flow run id: name), ``child_flow_runs`` (ids of flow runs started inside
    the close's) and ``run_artifact_keys`` (the keys of the artifacts its flow runs created)."""
    recorded = pickle.loads((close_reference[0] / "close.pickle").read_bytes())
    return {key: recorded[key] for key in ("artifacts", "flow_run_names", "child_flow_runs", "run_artifact_keys")}
