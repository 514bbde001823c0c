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
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, path.name])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(version)
    return applied


def model_files() -> list[Path]:
    """The model files in the order they apply (file name: a number, then an optional letter)."""
    return sorted(MODELS.glob("*.sql"))


def apply_models(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view and macro of ``models/`` in one transaction: idempotent, all or nothing.

    Skipped when the warehouse already holds exactly these models: ``meta.models_digest()`` (a macro
    written last, in the same transaction) names the model files' digest and the latest migration. A
    close opens the warehouse a dozen times, and re-creating every model each time was most of the cost
    of a connection."""
    texts = [path.read_text(encoding="utf-8") for path in model_files()]
    latest = con.execute("SELECT max(version) FROM meta.schema_migrations").fetchone()
    digest = hashlib.sha256("\0".join([str(latest[0] if latest else None), *texts]).encode("utf-8")).hexdigest()
    try:
        if con.execute("SELECT meta.models_digest()").fetchone() == (digest,):
            return
    except duckdb.CatalogException:  # never applied with a digest
        pass
    con.execute("BEGIN TRANSACTION")
    try:
        for text in texts:
            con.execute(text)
        con.execute(f"CREATE OR REPLACE MACRO meta.models_digest() AS '{digest}'")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
