"""Versioned schema migrations and derived models.

``migrations/NNN_name.sql`` hold tables and their data moves, applied once each, in order, in one
transaction. ``models/NNN_name.sql`` hold views and macros (one relation per file, ``CREATE OR
REPLACE``), applied after the migrations on every write connection, so the current definition of each
derived relation is one file, not the last of several migrations.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb

from warehouse.sql import run_sql, sql_text

MIGRATIONS = Path(__file__).with_name("migrations")
MODELS = Path(__file__).with_name("models")
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def available() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"Two migrations share a version number in {MIGRATIONS}.")
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}
    applied = []
    for version, path in available():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            run_sql(con, path)
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, path.name])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(version)
    return applied


MODELS_DIGEST = ("SELECT comment FROM duckdb_tables() WHERE database_name = current_database()"
                 " AND schema_name = 'meta' AND table_name = 'schema_migrations'")


def model_files() -> list[Path]:
    """The model files in the order they apply (file name: a number, then an optional letter)."""
    return sorted(MODELS.glob("*.sql"))


def apply_models(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view and macro of ``models/`` in one transaction: idempotent, all or nothing.

    Skipped when the warehouse already holds exactly these models: the comment of
    ``meta.schema_migrations`` (written with them, in the same transaction) names the model files' digest
    and the latest migration. A close opens the warehouse a dozen times, and re-creating every model each
    time was most of the cost of a connection."""
    texts = [sql_text(path) for path in model_files()]
    latest = con.execute("SELECT max(version) FROM meta.schema_migrations").fetchone()
    digest = "models " + hashlib.sha256("\0".join([str(latest[0] if latest else None), *texts]).encode()).hexdigest()
    if con.execute(MODELS_DIGEST).fetchone() == (digest,):
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for text in texts:
            con.execute(text)
        con.execute(f"COMMENT ON TABLE meta.schema_migrations IS '{digest}'")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
