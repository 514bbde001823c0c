"""Reading and running the repository's SQL files (migrations, models, transforms/<stage>/sql, checks): one reader,
below the connection module so that migrations and every stage read their files the same way."""

from __future__ import annotations

from pathlib import Path

import duckdb


def sql_text(path: Path) -> str:
    """The text of one of the repository's SQL files (migrations, models, transforms/<stage>/sql, checks): the one
    reader of them, so every file is read the same way (UTF-8, whatever the platform's default)."""
    return path.read_text(encoding="utf-8")


def run_sql(con: duckdb.DuckDBPyConnection, path: Path, params: object = None) -> duckdb.DuckDBPyConnection:
    """Run one SQL file (one or more statements; ``$name`` parameters from a dict)."""
    return con.execute(sql_text(path), params)
