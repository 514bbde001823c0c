"""Shared fixtures. Area-specific fixtures live in the area's own conftest.py or test module."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import duckdb
import pytest

T = TypeVar("T")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one worker a core: polars' pool of a thread a core in each worker only oversubscribes
    # the two cores (measured: 8% more CPU time for the same tests). Set before polars is first imported.
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    # and DuckDB's, a thread a core in every connection, likewise (warehouse.settings, SHEBAO_DUCKDB_THREADS)
    os.environ.setdefault("SHEBAO_DUCKDB_THREADS", "1")

import flows.runtime  # noqa: E402, F401  (telemetry off before Prefect loads)
from flows.runtime import collector  # noqa: E402

# The conftests' and the test modules' imports (GX, Prefect, polars) with the cyclic collector paused, then frozen
# past them for the tests (pytest_collection below): as the CLI does for its own (flows.runtime.collector).
collector.pause()

os.environ.setdefault("PANDERA_VALIDATION_DEPTH", "SCHEMA_AND_DATA")


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    """Under pytest-xdist (`make test` runs two workers) each worker's processes get their own Prefect home:
    the `shebao` subprocesses' temporary servers would otherwise migrate and write one SQLite file at once.
    Set before any test module imports Prefect, which reads it then."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and "PREFECT_HOME" not in os.environ:
        home = config._tmp_path_factory.getbasetemp() / f"prefect-home-{worker}"
        home.mkdir(exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)


# The modules that take longest, longest first (`--durations`, 2026-12-05): run first, so that the two workers'
# last modules are short ones and they end together.
TESTS = Path(__file__).resolve().parent
LONGEST_FIRST = (
    "hardening/test_crash_consistency.py",
    # the two that start a Prefect server with its workers, next to each other: pytest-xdist gives a worker
    # its next module before it ends the one it runs, so they go to one worker and never wait on each other
    "flows/test_fleet_pool.py", "flows/test_deployments.py",
    "flows/test_fleet_run.py", "flows/test_ingest_flow.py", "hardening/test_fuzz_ingest.py",
    "flows/test_close_cli_concurrent.py", "flows/test_close_cli.py", "flows/test_close_resume.py",
    "hardening/test_no_personal_data.py", "flows/test_cli.py", "flows/test_close_read_copy.py",
    "hardening/test_disk_full.py", "flows/test_close_cli_demo.py", "hardening/test_roles.py", "flows/test_close.py",
    "flows/test_close_backfill.py", "flows/test_close_dask.py",
)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    try:
        return (yield)
    finally:
        collector.resume()


# The session's costliest shared build (the closed acceptance warehouse, about 4 s, `built_once`): the first
# module that asks for it is dealt before the modules after LONGEST_FIRST, so one worker builds it while the other
# runs modules that need nothing built. Dealt in collection order, two of its modules started together on the two
# workers and one waited out the other's build (4.0 s of a worker's time in `make test-fast`, bench/README.md).
BUILT_FIRST = "acceptance_closed"


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Modules in the order pytest-xdist should hand them out (`--dist loadfile --no-loadscope-reorder` deals
    them in collection order): LONGEST_FIRST, then the first module asking for BUILT_FIRST, then the other
    modules with slow tests, then the rest. Each module's tests keep their order, so module fixtures are built
    once. Lazy modules are marked before Hypothesis' own hook, which reads every module loaded by then; the
    order is set after every hook, so that the builder is a module `-m` kept."""
    _keep_lazy_modules_lazy()
    result = yield
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    builder = next((item.path for item in items if BUILT_FIRST in getattr(item, "fixturenames", ())
                    and _name(item) not in LONGEST_FIRST), None)

    def rank(item) -> tuple[int, int]:
        name = _name(item)
        if name in LONGEST_FIRST:
            return 0, LONGEST_FIRST.index(name)
        if item.path == builder:
            return 1, 0
        return (2 if item.path in slow else 3), 0

    items.sort(key=rank)
    return result


def _name(item) -> str:
    return item.path.relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""


def _keep_lazy_modules_lazy() -> None:
    """Hypothesis reads every loaded module's ``__file__`` (to collect constants from the project's own code),
    and that executes the modules ``flows.runtime.defaults`` loads lazily: scipy.stats and altair, 0.8 s of
    import in each worker that no test needs. They are not our code: mark them seen, still unexecuted."""
    from hypothesis.internal.conjecture import providers

    lazy = importlib.util._LazyModule  # what a LazyLoader module is until first used
    providers._seen_modules.update(id(module) for module in list(sys.modules.values()) if type(module) is lazy)


def pytest_runtest_setup(item) -> None:
    if item.get_closest_marker("hypothesis"):  # modules loaded since collection (a test importing GX, say)
        _keep_lazy_modules_lazy()


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ACCEPTANCE = SHARED / "acceptance"
# Codes SPEC version 2 added: the v1 sample's expected.json does not list them (its README says so).
V2_CODES = frozenset({"DOUBLE_ENROLLMENT", "TRANSFER_NEEDED", "BILL_MISMATCH", "POLICY_OUTDATED"})
# SPEC version 3 added RETIREMENT_DUE (issue 26): not in the v1 expected.json either.
V2_CODES = V2_CODES | {"RETIREMENT_DUE"}


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` filled by ``build(folder)`` once for the whole run. Under pytest-xdist the first
    worker to get here builds it in the run's shared temporary folder while the others wait on a lock, and
    then read the same files (the pattern in pytest-xdist's docs, with fcntl); alone, it is a session's
    temporary folder. A build that failed is started again by the next caller."""
    folder = _build_once(tmp_path_factory, name, build, wait=True)
    assert folder is not None
    return folder


def built_once_unless_busy(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path | None:
    """``built_once``, except that a worker finding another building it gets None at once instead of waiting:
    for what a caller can do without, more cheaply than it can wait."""
    return _build_once(tmp_path_factory, name, build, wait=False)


def _build_once(tmp_path_factory, name: str, build: Callable[[Path], None], wait: bool) -> Path | None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name, numbered=True)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        if not (root / f"{name}.done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (root / f"{name}.done").touch()
    return folder


@pytest.fixture
def one_prefect_server_at_a_time(tmp_path_factory):
    """Held by the tests that start a Prefect server with its workers: under pytest-xdist's ``loadfile`` they
    sit in different files, and two servers with their workers and closes on two cores stalled a server's
    answers past 30 s. This lock, in the run's shared temporary folder, runs them one after the other."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    with open(tmp_path_factory.getbasetemp().parent / "prefect-server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def private_copy(tmp_path_factory, built: Path, name: str) -> Path:
    """This worker's own copy of a warehouse file ``built_once``: tests may open it read-write (which locks a
    DuckDB file against every other process), as they could their session's own file before."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return built
    target = tmp_path_factory.mktemp(name) / built.name
    shutil.copy(built, target)
    return target


def sample_months(inbox: Path, folder: Path, months: tuple[str, ...]) -> Path:
    """``folder``, made, with the files of ``inbox`` whose names carry one of ``months`` (``YYYYMM``), for a test
    that needs some of a sample's months and not its ingest of all of them."""
    folder.mkdir()
    for path in inbox.iterdir():
        if any(f"_{month}_" in path.name for month in months):
            shutil.copy(path, folder)
    return folder


@pytest.fixture(scope="session")
def acceptance_dir(tmp_path_factory) -> Path:
    """The SPEC v1 sample, with its policy file stating what v1 assumed: every region's contribution year
    starts in January. Version 2 ships July years for 北京, 上海 and 广东's cities; the v1 sample's expected
    figures (广州 included) were computed on calendar years."""
    if not (ACCEPTANCE / "expected.json").exists():
        pytest.fail(f"The acceptance sample is missing at {ACCEPTANCE}; CI provides ../shared beside the repo.")

    def build(folder: Path) -> None:
        copy = folder / "acceptance"
        shutil.copytree(ACCEPTANCE, copy)
        lines = (ACCEPTANCE / "policy.csv").read_text(encoding="utf-8").splitlines()
        lines = [lines[0] + ",base_year_start_month"] + [line + ",1" for line in lines[1:] if line.strip()]
        (copy / "policy.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # one folder for every worker: the warehouses built once below record its files' paths
    return built_once(tmp_path_factory, "acceptance-v1", build) / "acceptance"


@pytest.fixture(scope="session")
def expected(acceptance_dir: Path) -> dict:
    """The v1 sample's expected.json, less what SPEC v3 §5 changed: a payroll ID that is invalid while the
    person is insured under the real one is FIX_ID_NUMBER alone, not HIRED_NOT_ENROLLED. In this sample each
    HIRED_NOT_ENROLLED key that is also an INVALID_ID_NUMBER key is such a case (the real ID is insured at
    the same employer; tests/expectations/test_hired_not_enrolled_arrears.py tests the rule itself)."""
    data = json.loads((acceptance_dir / "expected.json").read_text(encoding="utf-8"))
    for period in data["periods"].values():
        findings = period["findings"]
        invalid = findings.get("INVALID_ID_NUMBER", [])
        findings["HIRED_NOT_ENROLLED"] = [k for k in findings.get("HIRED_NOT_ENROLLED", []) if k not in invalid]
    return data


@pytest.fixture()
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture(scope="session")
def migrated_warehouse(tmp_path_factory) -> Path:
    """A new warehouse, created and migrated once per session by ``connect``, with ``quality.checks`` as any
    validation writes it (tests that hand-write findings find the registry there); copy it, don't write it."""
    from expectations.registry import record_checks
    from warehouse.db import connect

    def build(folder: Path) -> None:
        connection = connect(folder / "new.duckdb")
        try:
            record_checks(connection)
        finally:
            connection.close()

    return private_copy(tmp_path_factory, built_once(tmp_path_factory, "migrated", build) / "new.duckdb", "migrated")


@pytest.fixture()
def con(warehouse_path: Path, migrated_warehouse: Path):
    """A connection to a new warehouse at ``warehouse_path``. Creating and migrating one costs about half a
    second, hundreds of times a run: each test starts from a copy of the session's new warehouse instead
    (``connect`` still applies migrations and models to it, finding nothing left to do)."""
    with connected_copy(migrated_warehouse, warehouse_path) as connection:
        yield connection


@contextlib.contextmanager
def connected_copy(source: Path, target: Path):
    """A connection to a copy of the warehouse ``source`` at ``target``, a test's own to change and throw away."""
    connection = _connected_to_copy(source, target)
    try:
        yield connection
    finally:
        # The file is thrown away: closing without folding the test's writes into it (DuckDB's checkpoint) saves
        # about a tenth of a second a test under load (cProfile of `make test-fast`: 6% of its time).
        with contextlib.suppress(duckdb.Error):  # closed or invalidated by the test
            connection.execute("PRAGMA disable_checkpoint_on_shutdown")
        connection.close()


def built_from(source: Path, target: Path, build: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``build`` run once on a copy of the warehouse ``source`` at ``target``, for a module whose tests each
    start from a copy of what it built (``connected_copy``) rather than build it again; its result."""
    connection = _connected_to_copy(source, target)
    try:
        return build(connection)
    finally:
        connection.close()


def _connected_to_copy(source: Path, target: Path) -> duckdb.DuckDBPyConnection:
    from warehouse.db import connect

    shutil.copy(source, target)
    return connect(target)


@pytest.fixture(scope="session")
def prefect_database(tmp_path_factory) -> Callable[[], Path | None]:
    """A Prefect database as a temporary server's first start leaves it (migrated; no block types, which
    temporary servers do not register: flows/runtime/server.py), made once for the run: call it for its path.
    The servers the tests start begin from a copy of it: on an empty SQLite file a server spends about 7.7 of
    its 11.5 CPU-seconds of start-up migrating it, and a run starts some six. While one worker makes it, the
    other gets None and starts its server on an empty file, as it would have: waiting would cost it as long."""

    def build(folder: Path) -> None:
        from prefect.server.api.server import SubprocessASGIServer
        from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings

        database = folder / "prefect.db"
        with temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: f"sqlite+aiosqlite:///{database}"}):
            server = SubprocessASGIServer(port=free_port())
            server.start(timeout=180)
            server.stop()
        # only the file is copied: fold in a write-ahead log the stop may have left
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    made: list[Path] = []

    def path() -> Path | None:
        if not made:
            folder = built_once_unless_busy(tmp_path_factory, "prefect-database", build)
            made.extend([folder / "prefect.db"] if folder else [])
        return made[0] if made else None

    return path


def prefect_home(home: Path, database: Path | None) -> Path:
    """``home`` made a Prefect home whose server starts from a copy of ``database`` when there is one (a home's
    own database is kept)."""
    home.mkdir(parents=True, exist_ok=True)
    if database is not None and not (home / "prefect.db").exists():
        shutil.copy(database, home / "prefect.db")
    return home


# The packages whose commands and flows start temporary Prefect servers in the worker's home.
STARTING_SERVERS = ("flows", "hardening")


@pytest.fixture(autouse=True)
def worker_prefect_home(request, prefect_database: Callable[[], Path | None]) -> None:
    """This worker's Prefect home (``pytest_configure``), until a server has used it, starts from the prepared
    database: for the temporary servers of ``shebao`` commands and in-process flows that do not use the
    session's server. Only in ``STARTING_SERVERS``, so that the unit tests never make the database."""
    home = os.environ.get("PREFECT_HOME")
    if (os.environ.get("PYTEST_XDIST_WORKER") and home and not (Path(home) / "prefect.db").exists()
            and any(request.path.is_relative_to(TESTS / package) for package in STARTING_SERVERS)):
        prefect_home(Path(home), prefect_database())


def free_port() -> int:
    """A loopback port free now, for a server a test starts."""
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory, prefect_database: Callable[[], Path | None]):
    """One temporary Prefect server for the whole session (starting one takes seconds), on a copy of the
    prepared database when there is one: Prefect's harness puts its database in a new temporary folder
    (``mkdtemp``), and is handed one of the session's, holding the copy. Pytest removes that folder with the
    session's (keeps it after a failure), so the harness's own removal at exit is not registered: it found the
    folder gone, with a traceback, and in a test worker, which ends without exit handlers, it never ran and left
    a folder behind in the system's temporary folder each run."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL
    from prefect.testing import utilities

    database = prefect_database()
    folder = tmp_path_factory.mktemp("prefect-harness")
    if database is not None:
        shutil.copy(database, folder / "prefect-test.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utilities, "mkdtemp", lambda: str(folder))
        patch.setattr(utilities, "atexit", SimpleNamespace(register=lambda *args: None))
        with utilities.prefect_test_harness(server_startup_timeout=180):
            # a Prefect that names its file otherwise would migrate an empty one: fail, don't slow down quietly
            assert str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).endswith(str(folder / "prefect-test.db"))
            yield


@pytest.fixture(scope="session")
def acceptance_ingested(tmp_path_factory, acceptance_dir) -> Path:
    """A warehouse file with the acceptance inbox ingested once per session; copy it, don't write it."""
    from transforms.ingest.inbox import ingest_inbox
    from warehouse.db import connect

    def build(folder: Path) -> None:
        connection = connect(folder / "ingested.duckdb")
        try:
            ingest_inbox(connection, acceptance_dir / "inbox")
        finally:
            connection.close()

    built = built_once(tmp_path_factory, "acceptance", build) / "ingested.duckdb"
    return private_copy(tmp_path_factory, built, "acceptance")


@pytest.fixture()
def acceptance_copy(acceptance_ingested: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested acceptance warehouse for one test."""
    import shutil

    target = tmp_path / "acceptance.duckdb"
    shutil.copy(acceptance_ingested, target)
    return target


@pytest.fixture(scope="session")
def acceptance_closed(tmp_path_factory, acceptance_ingested, acceptance_dir) -> Path:
    """The acceptance warehouse after ledger, validation and actions of 2024-01..03 (copy it to write)."""
    import shutil

    from expectations.validate import start_run, validate_period
    from transforms.actions.cleanup import update_actions
    from transforms.common.runs import new_run_id
    from transforms.ledger.book import compute_ledger
    from transforms.ledger.policy import apply_policy
    from warehouse.db import connect

    def build(folder: Path) -> None:
        path = folder / "closed.duckdb"
        shutil.copy(acceptance_ingested, path)
        connection = connect(path)
        try:
            apply_policy(connection, acceptance_dir / "policy.csv")
            for period in ("2024-01", "2024-02", "2024-03"):
                compute_ledger(connection, period)
                run_id = new_run_id()
                start_run(connection, run_id, period)
                validate_period(connection, period, run_id)
                update_actions(connection, period, run_id)
        finally:
            connection.close()

    return private_copy(tmp_path_factory, built_once(tmp_path_factory, "closed", build) / "closed.duckdb", "closed")
