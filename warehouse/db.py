"""Connections to the warehouse file.

Every connection attaches the file as catalog ``wh`` and makes it the default, so the same SQL runs
against a plain or an AES-encrypted database (``SHEBAO_WAREHOUSE_KEY``). DuckDB extensions come from
PyPI wheels and are loaded by path: customer sites, like our CI, cannot download them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseError

CATALOG = "wh"
DEFAULT_FILE = "shebao.duckdb"
KEY_ENV = "SHEBAO_WAREHOUSE_KEY"
MEMORY_ENV = "SHEBAO_DUCKDB_MEMORY"
# DuckDB's own default is 80% of RAM, and it keeps what it has read or written cached up to that: a year of
# 200,000 employees would sit in memory. Queries past the limit spill to <warehouse>.tmp/.
DEFAULT_MEMORY = "2GB"


def default_path() -> Path:
    return Path(os.environ.get("SHEBAO_WAREHOUSE") or Path.cwd() / DEFAULT_FILE)


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
    """Open the warehouse (creating and migrating it unless read-only) and return a connection."""
    path = Path(path) if path is not None else default_path()
    key = key if key is not None else os.environ.get(KEY_ENV) or None
    if read_only and not path.exists():
        raise WarehouseError(f"The warehouse {path} does not exist yet; run `shebao ingest` or `shebao run` first.")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"Cannot create the folder for the warehouse {path}: {exc.strerror}.") from None
        if path.exists() and not os.access(path, os.W_OK) or not path.exists() and not os.access(path.parent, os.W_OK):
            raise WarehouseError(f"The warehouse {path} is in a folder shebao cannot write to; choose another --warehouse.")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = {_sql_literal(os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY)}")
    except duckdb.Error:
        con.close()
        raise WarehouseError(f"{MEMORY_ENV} is not a memory size DuckDB understands; use e.g. 1GB or 800MB.") from None
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
    if migrate and not read_only:
        from warehouse.migrate import apply_models
        from warehouse.migrate import migrate as run_migrations

        run_migrations(con)
        apply_models(con)
    return con


def _explain_attach_error(path: Path, message: str, *, encrypted: bool) -> str:
    lowered = message.lower()
    if "lock" in lowered:
        return f"The warehouse {path} is in use by another shebao run; wait for it to finish and try again."
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


@contextmanager
def opened(path: str | os.PathLike | None = None, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()
