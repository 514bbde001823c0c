"""The one adapter between Great Expectations and our DuckDB connection (DESIGN.md, "GX on DuckDB").

GX 1.x's SQL path closes its SQLAlchemy connection before it fetches a result. On DuckDB that close
ends in a ROLLBACK on the connection (SQLAlchemy's autobegin transaction; duckdb-engine starts a real
DuckDB transaction), and DuckDB drops the pending result: every metric comes back empty
("list index out of range"). We hand GX an engine over a *cursor of our own, already-open connection*
(so an encrypted warehouse, attached as catalog ``wh``, works without GX opening the file) and make
transaction control a no-op on GX's side: GX only reads, and each DuckDB statement then runs in
autocommit, so closing GX's connection no longer discards the result it is about to fetch.

:func:`probe` proves the arrangement on every use: if a GX upgrade changes how it executes queries and
results come back empty again, validation stops with :class:`GXAdapterError` instead of reporting no
findings. Proven on great-expectations 1.24.1, duckdb-engine 0.17.0, SQLAlchemy 2.0.58.
"""

from __future__ import annotations

import duckdb
import duckdb_engine
import great_expectations as gx
import sqlalchemy as sa

from warehouse.db import CATALOG
from warehouse.errors import ShebaoError

PROVEN_GX_VERSION = "1.24.1"
# The one-row relation with the period a validation run checks; GX's batch ({batch} in every check).
# It lives in the connection's in-memory catalog: nothing is written to the warehouse file for it, and
# a read-only warehouse can be validated too.
SCOPE_TABLE = "validation_scope"
SCOPE_QUALIFIED = f"memory.main.{SCOPE_TABLE}"


class GXAdapterError(ShebaoError):
    """GX no longer runs correctly on DuckDB through our adapter (a GX upgrade changed its internals)."""


class _GXSideConnection(duckdb_engine.ConnectionWrapper):
    """A cursor of our connection as GX sees it: autocommit, and closing it leaves it open for us."""

    def begin(self) -> None:  # duckdb-engine's do_begin would start a DuckDB transaction
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:  # the ROLLBACK that discarded GX's pending results
        pass

    def close(self) -> None:  # the cursor is ours (``gx_cursor``): its caller closes it when GX is done
        pass


def set_scope(con: duckdb.DuckDBPyConnection, period: str) -> None:
    """Point ``{batch}`` at ``period`` for checks run on ``con`` (directly or through GX)."""
    con.execute(f"CREATE OR REPLACE TABLE {SCOPE_QUALIFIED} AS SELECT CAST(? AS VARCHAR) AS period", [period])


def gx_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of ``con`` that sees the warehouse as the default catalog and the scope table unqualified."""
    cursor = con.cursor()
    cursor.execute(f"USE {CATALOG}")
    cursor.execute(f"SET search_path = '{CATALOG}.main,memory.main'")
    return cursor


def engine_kwargs(cursor: duckdb.DuckDBPyConnection) -> dict:
    """``create_engine`` keyword arguments for a GX SQL data source over ``cursor``."""
    return {
        "creator": lambda: _GXSideConnection(cursor),
        "poolclass": sa.pool.StaticPool,
        "pool_reset_on_return": None,
    }


def add_datasource(context, cursor: duckdb.DuckDBPyConnection, name: str = "warehouse"):
    """A GX SQL data source on our DuckDB cursor, probed before use."""
    datasource = context.data_sources.add_sql(
        name=name, connection_string="duckdb:///:memory:", kwargs=engine_kwargs(cursor)
    )
    probe(datasource)
    return datasource


def probe(datasource) -> None:
    """Fail loudly unless a query run through GX's execution engine returns its rows."""
    engine = datasource.get_execution_engine()
    try:
        rows = engine.execute_query(sa.text("SELECT 42 AS answer UNION ALL SELECT 43")).fetchall()
    except Exception as exc:  # what GX raises here is not ours to enumerate
        raise GXAdapterError(
            f"Great Expectations {gx.__version__} cannot query DuckDB through shebao's adapter "
            f"({type(exc).__name__}); it was proven on {PROVEN_GX_VERSION}: pin that version or update "
            "expectations/gx_duckdb.py."
        ) from None
    if sorted(tuple(row) for row in rows) != [(42,), (43,)]:
        raise GXAdapterError(
            f"Great Expectations {gx.__version__} returned no rows from DuckDB through shebao's adapter "
            f"(it was proven on {PROVEN_GX_VERSION}); pin that version or update expectations/gx_duckdb.py."
        )
