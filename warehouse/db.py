"""Connections to the warehouse file.

Every connection attaches the file as catalog ``wh`` and makes it the default, so the same SQL runs
against a plain or an AES-encrypted database (``SHEBAO_WAREHOUSE_KEY``). DuckDB extensions come from
PyPI wheels and are loaded by path: customer sites, like our CI, cannot download them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseError

CATALOG = "wh"
DEFAULT_FILE = "shebao.duckdb"
KEY_ENV = "SHEBAO_WAREHOUSE_KEY"
MEMORY_ENV = "SHEBAO_DUCKDB_MEMORY"
# DuckDB's own default is 80% of RAM, and it keeps what it has read or written cached up to that: a year of
# 200,000 employees would sit in memory. The limit is SHEBAO_DUCKDB_MEMORY (default
# warehouse.settings.DEFAULT_DUCKDB_MEMORY); queries past it spill to <warehouse>.tmp/.
ROLES_MIGRATION = 12  # 012_roles_action_ids.sql: the roles table, seeded with its creator


def default_path() -> Path:
    from warehouse.settings import settings

    return Path(settings().warehouse or Path.cwd() / DEFAULT_FILE)


def extension_path(name: str) -> str:
    """Path of the .duckdb_extension file shipped by the ``duckdb-extension-<name>`` wheel."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError(f"The DuckDB extension package duckdb-extension-{name} is not installed; reinstall shebao.")
    for folder in spec.submodule_search_locations:
        for path in Path(folder).rglob(f"{name}.duckdb_extension"):
            return str(path)
    raise WarehouseError(f"The DuckDB extension package duckdb-extension-{name} holds no extension file.")


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False, migrate: bool = True,
            key: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating and migrating it unless read-only) and return a connection; inside
    :func:`one_instance_while_small` for this file, a connection of that block's one DuckDB instance."""
    from warehouse.settings import settings

    config = settings()
    path = Path(path) if path is not None else default_path()
    shared = _shared_instance(path)
    if shared is not None:
        return _connection_of(shared)
    if key is None and config.warehouse_key is not None:
        key = config.warehouse_key.get_secret_value() or None
    if read_only and not path.is_file():
        raise WarehouseError(f"The warehouse {path} does not exist; check --warehouse (or SHEBAO_WAREHOUSE), "
                             "or create it with `shebao ingest` or `shebao run`.")
    created = not read_only and not path.exists()
    if not read_only:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"Cannot create the folder for the warehouse {path}: {exc.strerror}.") from None
        if path.exists() and not os.access(path, os.W_OK) or not path.exists() and not os.access(path.parent, os.W_OK):
            raise WarehouseError(f"The warehouse {path} is in a folder shebao cannot write to; choose another --warehouse.")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = {_sql_literal(config.duckdb_memory)}")
    except duckdb.Error:
        con.close()
        raise WarehouseError(f"{MEMORY_ENV}={config.duckdb_memory!r} is not a memory size DuckDB understands; "
                             "use e.g. 2GB or 800MB.") from None
    if config.duckdb_threads is not None:  # several processes on few cores (the test suite's workers)
        con.execute(f"SET threads = {config.duckdb_threads}")
    con.execute(f"SET temp_directory = {_sql_literal(str(path) + '.tmp')}")
    options = ["READ_ONLY"] if read_only else []
    if key:
        # Writing an encrypted file needs httpfs's crypto module; loading it works offline.
        con.execute(f"LOAD {_sql_literal(extension_path('httpfs'))}")
        options.append(f"ENCRYPTION_KEY {_sql_literal(key)}")
    attach = f"ATTACH {_sql_literal(str(path))} AS {CATALOG}"
    if options:
        attach += " (" + ", ".join(options) + ")"
    try:
        con.execute(attach)
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(_explain_attach_error(path, str(exc), encrypted=bool(key))) from None
    con.execute(f"USE {CATALOG}")
    if created and path.exists():  # not for :memory:
        os.chmod(path, 0o600)  # personal data: the owner's alone (SPEC §8)
    if migrate and not read_only:
        from warehouse.migrate import apply_models, up_to_date
        from warehouse.migrate import migrate as run_migrations

        if up_to_date(con):
            return con
        applied = run_migrations(con)
        apply_models(con)
        if ROLES_MIGRATION in applied:
            from warehouse.users import seed_first_manager

            seed_first_manager(con)  # who creates (or first upgrades) the warehouse is its hr_manager
    return con


# A close opens the warehouse once a task, a dozen times. On a small warehouse that costs more than most tasks'
# queries: a DuckDB instance started (18 ms), the file attached and its catalog read (20 ms), its schema checked,
# and at the end a checkpoint and the instance stopped (20 ms), about 0.7 s of a 60-employee close. Under this
# size the steps after ingest share one instance (one_instance_while_small). Above it each task has its own, as
# before: an instance keeps what it read cached up to its limit, and the steps of a large close rely on each
# task's cache going with its instance (docs/memory.md).
SHARED_BELOW_BYTES = 128 * 2**20

_SHARED: dict[Path, duckdb.DuckDBPyConnection] = {}
_SHARED_LOCK = threading.Lock()


@contextmanager
def one_instance_while_small(path: str | os.PathLike | None = None) -> Iterator[None]:
    """While the block runs, every :func:`connect` to the warehouse at ``path`` (read-only or not, on any
    thread) is a new connection of one DuckDB instance, if the file is under ``SHARED_BELOW_BYTES`` when the
    block starts: the instance is started, the file attached and its schema checked once. Each connection is
    still the caller's own (its transaction, temporary tables and default catalog; closing it rolls back what
    it left open), and DuckDB's limits and threads are the instance's, as they were each connection's. The
    file stays attached until the block ends, then is checkpointed and released as a connection's close did.
    Callers hold the warehouse lock (``flows.lock``) for the block, as for each task before."""
    path = Path(path) if path is not None else default_path()
    if not path.is_file() or path.stat().st_size >= SHARED_BELOW_BYTES or _shared_instance(path) is not None:
        yield
        return
    instance = connect(path)
    resolved = path.resolve()
    with _SHARED_LOCK:
        _SHARED[resolved] = instance
    try:
        yield
    finally:
        with _SHARED_LOCK:
            del _SHARED[resolved]
        instance.close()


def _shared_instance(path: Path) -> duckdb.DuckDBPyConnection | None:
    if not _SHARED:
        return None
    with _SHARED_LOCK:
        return _SHARED.get(path.resolve())


def _connection_of(instance: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con = instance.cursor()  # a connection of its own to the same database instance
    con.execute(f"USE {CATALOG}")
    return con


DAMAGE_MARKS = ("corrupt", "checksum", "invalid block", "failed to read", "unexpected end of file",
                "could not read enough bytes")


def damaged_sentence(exc: BaseException, path: str | os.PathLike | None = None) -> str | None:
    """One sentence when ``exc`` is DuckDB finding the warehouse file damaged (a block that fails its
    checksum, a file cut short): what happened and what to do; None for any other error."""
    if not isinstance(exc, duckdb.IOException | duckdb.InternalException | duckdb.SerializationException):
        return None
    if not any(mark in str(exc).lower() for mark in DAMAGE_MARKS):
        return None
    where = f"The warehouse {path}" if path is not None else "The warehouse"
    return (f"{where} is damaged (DuckDB found a block it cannot read); restore it from your last backup, or"
            " rebuild it by running the closes again from the inbox into a new --warehouse.")


def _explain_attach_error(path: Path, message: str, *, encrypted: bool) -> str:
    lowered = message.lower()
    if any(mark in lowered for mark in DAMAGE_MARKS):
        return damaged_sentence(duckdb.IOException(message), path) or message
    if "could not set lock" in lowered or "conflicting lock" in lowered:
        return busy_sentence(path, message)
    if "out of memory" in lowered or "could not allocate" in lowered:
        return memory_sentence()
    if "encrypt" in lowered or "key" in lowered or "crypto" in lowered:
        if encrypted:
            return f"The warehouse {path} cannot be opened with the key in {KEY_ENV}; check the key."
        return f"The warehouse {path} is encrypted; set {KEY_ENV} to its key."
    if "permission" in lowered or "read-only" in lowered or "readonly" in lowered:
        return f"The warehouse {path} cannot be written here; choose another --warehouse."
    if "not a valid duckdb" in lowered or "invalid" in lowered or "version" in lowered:
        return f"The file {path} is not a shebao warehouse (DuckDB {duckdb.__version__} cannot open it)."
    return f"The warehouse {path} could not be opened: {message.splitlines()[0]}"


def one(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple:
    """The one row a query returns (an aggregate, a row looked up by its key); a missing row is a bug."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise WarehouseError("A query that always returns a row returned none; the warehouse may be damaged.")
    return row


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None):
    """The first value of :func:`one`."""
    return one(con, sql, params)[0]


def doubled_memory(setting: str) -> str:
    """Twice a DuckDB memory size, written as a setting: ``1GB`` -> ``2GB``, ``750MB`` -> ``1500MB``."""
    from warehouse.settings import MIN_MEMORY_BYTES, memory_bytes

    size = 2 * (memory_bytes(setting) or MIN_MEMORY_BYTES)
    return f"{size // 1000**3}GB" if size % 1000**3 == 0 else f"{size // 1000**2}MB"


def memory_advice() -> str:
    """What the data engineer does when DuckDB ran out of memory: the setting to raise and to what."""
    from warehouse.settings import settings

    limit = settings().duckdb_memory
    return (f"set {MEMORY_ENV}={doubled_memory(limit)} (twice the {limit} it has now) and run again; "
            "docs/memory.md says what each size of close needs")


def memory_sentence() -> str:
    return f"DuckDB ran out of memory under its limit {MEMORY_ENV}; {memory_advice()}."


def process_description(pid: int) -> str:
    """``pid N, <command>, since <start>`` for a live process; ``pid N`` alone when it cannot be read."""
    import psutil

    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline()) or process.name()
        since = datetime.fromtimestamp(process.create_time()).isoformat(timespec="seconds")
    except (psutil.Error, OSError):
        return f"pid {pid}"
    if len(command) > 120:
        command = command[:117] + "..."
    return f"pid {pid}, `{command}`, since {since}"


_DUCKDB_HOLDER = re.compile(r"\(PID (\d+)\)")


def busy_sentence(path: Path, message: str) -> str:
    """DuckDB refused the file because another process holds it: name that process (DuckDB's error text
    carries its pid). The holder may be another shebao run or any program (DBeaver, a notebook)."""
    match = _DUCKDB_HOLDER.search(message)
    who = f" ({process_description(int(match.group(1)))})" if match else ""
    return (f"The warehouse {path} is open in another process{who}; close it or wait for it to finish, "
            "then try again.")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# DuckDB writes its WAL into the file at every commit past 16MB of log (its default): an ingest commits each
# file (and each chunk of a large one), and each checkpoint rewrites the tables' last, partly filled row groups,
# so at 200,000 employees the commits took 40% of the ingest. Past this much log instead, and once at the end.
BULK_CHECKPOINT_THRESHOLD = "256MB"
# An insert compresses the rows it writes (FSST for text) on every thread DuckDB has: on two cores, with the
# ingest's next file staged by polars beside it, two threads cost 2-2.5x the CPU of one for the same rows and
# took longer (issue 28: a 200,000-employee payroll's raw rows, 1.07 against 2.49 CPU-s). One thread writes.
BULK_THREADS = 1


# The shares of DuckDB's limit in force on each connection, innermost last: a block ends at the share of the
# block around it (a transaction at half, one statement in it at another share), or at the whole limit.
_SHARES: dict[int, list[float]] = {}


def _set_globally(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """A SET of one of DuckDB's global settings (its limit, its threads) through a cursor of its own: it applies
    to the connection too, even inside a transaction a failed statement aborted (which refuses any statement
    until it is rolled back), so a block gives its setting back whatever failed in it."""
    with con.cursor() as side:
        side.execute(statement)


def _set_share(con: duckdb.DuckDBPyConnection, share: float) -> None:
    from warehouse.settings import MIN_MEMORY_BYTES, memory_bytes, settings

    configured = settings().duckdb_memory
    limit = memory_bytes(configured) or MIN_MEMORY_BYTES
    reduced = max(MIN_MEMORY_BYTES, int(limit * share))
    _set_globally(con, f"SET memory_limit = '{reduced // 1000**2}MB'" if reduced < limit
                  else f"SET memory_limit = {_sql_literal(configured)}")


@contextmanager
def memory_share(con: duckdb.DuckDBPyConnection, share: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB at ``share`` of its limit (``SHEBAO_DUCKDB_MEMORY``, never under the minimum) while the block runs,
    at the share of the block around it again after (its whole limit outside any). DuckDB keeps what it reads or
    writes cached up to its limit, and the cache is resident memory beside the block's own: for a block whose
    queries fit in a share, that share of the cache."""
    shares = _SHARES.setdefault(id(con), [])
    shares.append(share)
    _set_share(con, share)
    try:
        yield con
    finally:
        shares.pop()
        _set_share(con, shares[-1] if shares else 1.0)
        if not shares:
            del _SHARES[id(con)]


def half_memory(con: duckdb.DuckDBPyConnection) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """DuckDB at half its limit while the block runs (:func:`memory_share`)."""
    return memory_share(con, 0.5)


@contextmanager
def threads(con: duckdb.DuckDBPyConnection, count: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB on ``count`` threads while the block runs, on as many as before after."""
    before = int(scalar(con, "SELECT current_setting('threads')"))
    _set_globally(con, f"SET threads = {count}")
    try:
        yield con
    finally:
        _set_globally(con, f"SET threads = {before}")


@contextmanager
def bulk_writing(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB at half its limit (:func:`half_memory`), checkpointing every ``BULK_CHECKPOINT_THRESHOLD`` of
    log rather than at nearly every commit, while the block writes bulk rows it does not read back, such as an
    inbox's ingest. DuckDB keeps every block it writes cached up to its limit, and in a large ingest that cache
    always fills; it is of no use to the writer, while the file being read needs the room for its polars frames
    (docs/memory.md). Its inserts run on one thread (``BULK_THREADS``). The rows are checkpointed into the file
    when the block ends."""
    con.execute(f"SET checkpoint_threshold = '{BULK_CHECKPOINT_THRESHOLD}'")
    try:
        with half_memory(con):
            with threads(con, BULK_THREADS):
                yield con
            con.execute("CHECKPOINT")  # the checkpoint at the end has the cores to itself
    finally:
        con.execute("RESET checkpoint_threshold")


@contextmanager
def opened(path: str | os.PathLike | None = None, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()
