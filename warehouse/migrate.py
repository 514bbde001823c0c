"""Versioned schema migrations and derived models.

``migrations/NNN_name.sql`` hold tables and their data moves, applied once each, in order, in one
transaction. ``models/<schema>/<name>.sql`` hold views and macros (one relation per file, ``CREATE OR
REPLACE``), applied after the migrations on every write connection, so the current definition of each
derived relation is one file, not the last of several migrations. The models' order is derived from the
relations each reads (``model_order``), not from their names.
"""

from __future__ import annotations

import functools
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


class ModelOrderError(RuntimeError):
    """The models cannot be ordered: a cycle, or a reference to a relation nothing defines."""


_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_DEFINES = re.compile(r"\bCREATE\s+OR\s+REPLACE\s+(?:VIEW|MACRO)\s+([a-z_]+\.[a-z_0-9]+)", re.I)
_TABLES = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                     r"([a-z_]+)\.([a-z_0-9]+)|\bALTER\s+TABLE\s+([a-z_]+)\.[a-z_0-9]+\s+RENAME\s+TO\s+([a-z_0-9]+)",
                     re.I)
_SCHEMAS = re.compile(r"\bCREATE\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_]+)", re.I)


def _code(text: str) -> str:
    """SQL without comments and string literals: what is left names relations."""
    return _STRING.sub("''", _COMMENT.sub("", text))


def migration_relations() -> tuple[set[str], set[str]]:
    """(schemas, tables and sequences) the migrations create, as ``schema.name``: what models may read."""
    schemas: set[str] = set()
    tables: set[str] = set()
    for _, path in available():
        text = _code(sql_text(path))
        schemas.update(s.lower() for s in _SCHEMAS.findall(text))
        for schema, name, renamed_schema, renamed in _TABLES.findall(text):
            tables.add(f"{schema}.{name}".lower() if schema else f"{renamed_schema}.{renamed}".lower())
    return schemas, tables


def _shown(path: Path) -> str:
    """A model file as a message names it: ``core/payroll.sql``."""
    return f"{path.parent.name}/{path.name}"


def model_name(path: Path) -> str:
    """The relation a model file defines (``core.payroll`` for ``models/core/payroll.sql``)."""
    found = _DEFINES.findall(_code(sql_text(path)))
    if len(found) != 1:
        raise ModelOrderError(f"The model {_shown(path)} must define exactly one view or macro "
                              f"(CREATE OR REPLACE VIEW|MACRO schema.name); it defines {len(found)}.")
    return found[0].lower()


def model_references(paths: list[Path]) -> dict[Path, set[Path]]:
    """Each model file -> the model files it reads (by their ``schema.name`` in its SQL)."""
    schemas, tables = migration_relations()
    defined: dict[str, Path] = {}
    for path in paths:
        name = model_name(path)
        if name in defined:
            raise ModelOrderError(f"Two models define {name}: {_shown(defined[name])} and "
                                  f"{_shown(path)}.")
        defined[name] = path
    schemas |= {name.split(".")[0] for name in defined}
    used = re.compile(r"(?<![\w.])(" + "|".join(sorted(schemas)) + r")\.([a-z_][a-z_0-9]*)\b(?!\.)", re.I)
    references: dict[Path, set[Path]] = {}
    for name, path in defined.items():
        references[path] = set()
        for schema, relation in used.findall(_code(sql_text(path))):
            other = f"{schema}.{relation}".lower()
            if other == name or other in tables:
                continue
            if other not in defined:
                raise ModelOrderError(f"The model {_shown(path)} reads {other}, which no model defines "
                                      "and no migration creates: add that model, or correct the name.")
            references[path].add(defined[other])
    return references


def model_order(paths: list[Path]) -> list[Path]:
    """The model files in an order where each comes after every model it reads (DuckDB binds a view when it is
    created); among models free to go, by path, so the order never depends on how the files were listed."""
    references = model_references(paths)
    waiting = {path: set(reads) for path, reads in references.items()}
    ordered: list[Path] = []
    ready = sorted(path for path, reads in waiting.items() if not reads)
    while ready:
        path = ready.pop(0)
        ordered.append(path)
        del waiting[path]
        for other, reads in waiting.items():
            if path in reads:
                reads.discard(path)
                if not reads:
                    ready.append(other)
        ready.sort()
    if waiting:
        raise ModelOrderError("The models read each other in a circle: " + _cycle(waiting) + ".")
    return ordered


def _cycle(waiting: dict[Path, set[Path]]) -> str:
    """One circle among the models left unordered, as ``a -> b -> a``."""
    path = min(waiting)
    seen: list[Path] = []
    while path not in seen:
        seen.append(path)
        path = min(waiting[path])
    circle = seen[seen.index(path):] + [path]
    return " -> ".join(_shown(p).removesuffix(".sql") for p in circle)


def model_files() -> list[Path]:
    """The model files (``models/<schema>/<name>.sql``) in the order they apply, derived from their references.

    Derived once per process for the same files (a close connects a dozen times; reading every model costs
    tens of milliseconds), again when a model or migration file changes."""
    return list(_derived_order(_stamps()))


@functools.lru_cache(maxsize=4)
def _derived_order(stamps: tuple[tuple[Path, int], ...]) -> tuple[Path, ...]:
    return tuple(model_order([path for path, _ in stamps if MODELS in path.parents]))


def _models_digest(versions: list[int], texts: tuple[str, ...]) -> str:
    """What ``meta.schema_migrations``' comment says once the models are applied: a digest of the migrations
    applied and of the model files' text."""
    return "models " + hashlib.sha256("\0".join([repr(versions), *texts]).encode()).hexdigest()


def _stamps() -> tuple[tuple[Path, int], ...]:
    """Every model and migration file with its modification time: what the derived values below are keyed by."""
    return tuple((path, path.stat().st_mtime_ns) for path in sorted([*MODELS.rglob("*.sql"), *MIGRATIONS.glob("*.sql")]))


@functools.lru_cache(maxsize=4)
def _current(stamps: tuple[tuple[Path, int], ...]) -> tuple[list[int], str]:
    """(every migration's version, in order; the models' digest once they are all applied), read once per
    process for the same files."""
    versions = [version for version, _ in available()]
    return versions, _models_digest(versions, tuple(sql_text(path) for path in _derived_order(stamps)))


def up_to_date(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every migration is applied and the models are these files': the digest ``apply_models`` writes
    names both. One query, where ``migrate`` and ``apply_models`` finding nothing to do ran six (about a
    millisecond each) and read every model file; a close opens the warehouse a dozen times, a test suite
    hundreds."""
    _, digest = _current(_stamps())
    return con.execute(MODELS_DIGEST).fetchone() == (digest,)


def apply_models(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view and macro of ``models/`` in one transaction: idempotent, all or nothing.

    Skipped when the warehouse already holds exactly these models: the comment of
    ``meta.schema_migrations`` (written with them, in the same transaction) is a digest of the model files and
    the migrations applied (``up_to_date`` reads it). A close opens the warehouse a dozen times, and re-creating every model each
    time was most of the cost of a connection."""
    texts = [sql_text(path) for path in model_files()]
    versions = [v for (v,) in con.execute("SELECT version FROM meta.schema_migrations ORDER BY version").fetchall()]
    digest = _models_digest(versions, tuple(texts))
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
