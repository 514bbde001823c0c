"""Warehouse connections: migrations, clear sentences for files we cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from warehouse.db import (
    bulk_writing,
    connect,
    half_memory,
    memory_sentence,
    memory_share,
    one_instance_while_small,
    opened,
    transaction,
)
from warehouse.db import threads as duckdb_threads
from warehouse.errors import ShebaoError, WarehouseError
from warehouse.migrate import available, migrate


def test_migrations_apply_once_in_order(warehouse_path: Path):
    con = connect(warehouse_path)
    versions = [v for v, _ in available()]
    assert [r[0] for r in con.execute("SELECT version FROM meta.schema_migrations ORDER BY 1").fetchall()] == versions
    assert migrate(con) == []  # nothing left to apply
    con.close()
    con = connect(warehouse_path)  # reopening applies nothing twice
    assert con.execute("SELECT count(*) FROM meta.schema_migrations").fetchone()[0] == len(versions)
    con.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere; the check below covers the message")
def test_read_only_folder_is_one_sentence(tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(WarehouseError, match="cannot write"):
        connect(folder / "w.duckdb")


def test_read_only_folder_message_even_as_root(tmp_path: Path, monkeypatch):
    # root ignores permissions, so ask the way the code does: os.access
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(WarehouseError, match=r"is in a folder shebao cannot write to; choose another --warehouse"):
        connect(tmp_path / "w.duckdb")


def test_missing_warehouse_read_only_is_one_sentence(tmp_path: Path):
    with pytest.raises(WarehouseError, match="does not exist; check --warehouse"):
        connect(tmp_path / "none.duckdb", read_only=True)
    assert list(tmp_path.iterdir()) == []  # a read creates nothing


def test_a_second_process_gets_a_sentence_about_the_lock(warehouse_path: Path):
    con = connect(warehouse_path)
    script = textwrap.dedent(f"""
        from warehouse.db import connect
        from warehouse.errors import ShebaoError, WarehouseError
        try:
            connect({str(warehouse_path)!r})
        except WarehouseError as exc:
            print(exc)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    con.close()
    # DuckDB's error names the holder's pid: the sentence names that process, this one
    assert f"is open in another process (pid {os.getpid()}, `" in result.stdout, result.stderr


def test_not_a_duckdb_file_is_one_sentence(tmp_path: Path):
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WarehouseError, match="bogus.duckdb"):
        connect(bogus)


def test_duckdb_memory_is_capped_and_a_bad_size_is_one_sentence(warehouse_path: Path, monkeypatch):
    con = connect(warehouse_path)
    limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    con.close()
    # the default leaves a 2 GB close room for its Python side (docs/memory.md)
    assert limit == "953.6 MiB" and spill == str(warehouse_path) + ".tmp"
    for value, words in (("plenty", "is not a memory size"), ("1KB", "is too small"), ("60MB", "is too small")):
        monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", value)
        with pytest.raises(ShebaoError, match=f"SHEBAO_DUCKDB_MEMORY='{value}' {words}; set it to at least 256MB"):
            connect(warehouse_path)


def test_duckdb_threads_are_set_and_a_bad_number_is_one_sentence(warehouse_path: Path, monkeypatch):
    """SHEBAO_DUCKDB_THREADS: the test suite's two workers on two cores take one thread each (tests/conftest.py)."""
    for value, threads in (("3", 3), (" 1 ", 1)):
        monkeypatch.setenv("SHEBAO_DUCKDB_THREADS", value)
        with opened(warehouse_path) as con:
            assert con.execute("SELECT current_setting('threads')").fetchone()[0] == threads
    monkeypatch.delenv("SHEBAO_DUCKDB_THREADS")
    default = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    with opened(warehouse_path) as con:  # unset: DuckDB's own default, a thread a core
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == default
    for value in ("two", "0", "-1", "1.5"):
        monkeypatch.setenv("SHEBAO_DUCKDB_THREADS", value)
        with pytest.raises(ShebaoError, match=rf"^SHEBAO_DUCKDB_THREADS='{value}' is not a number of threads; "
                                              "set it to a whole number, 1 or more, or unset it for one a core.$"):
            connect(warehouse_path)


def test_out_of_memory_says_what_to_set_it_to(warehouse_path: Path, monkeypatch):
    """DuckDB out of memory (the action list, a model): the setting, doubled, and where the sizes are."""
    for configured, doubled in (("1GB", "2GB"), ("750MB", "1500MB"), ("1.5GB", "3GB")):
        monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", configured)
        assert memory_sentence() == (
            f"DuckDB ran out of memory under its limit SHEBAO_DUCKDB_MEMORY; set SHEBAO_DUCKDB_MEMORY={doubled} "
            f"(twice the {configured} it has now) and run again; docs/memory.md says what each size of close needs.")
    with opened(warehouse_path) as con:  # a real query past a real limit raises what flows/cli.py turns into it
        con.execute("SET memory_limit = '8MB'")
        with pytest.raises(duckdb.OutOfMemoryException):
            con.execute("SELECT list(range) FROM range(10000000) GROUP BY range % 10").fetchall()


def test_bulk_writing_holds_duckdb_to_half_its_limit_then_gives_it_back(warehouse_path: Path, monkeypatch):
    def setting(con, name: str) -> str:
        return con.execute("SELECT current_setting(?)", [name]).fetchone()[0]

    for configured, inside, outside in (("1GB", "476.8 MiB", "953.6 MiB"), ("300MB", "244.1 MiB", "286.1 MiB")):
        monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", configured)
        with opened(warehouse_path) as con:
            usual = setting(con, "checkpoint_threshold")
            with bulk_writing(con):
                assert setting(con, "memory_limit") == inside  # never under the 256MB minimum
                assert setting(con, "checkpoint_threshold") == "244.1 MiB"
            assert setting(con, "memory_limit") == outside
            assert setting(con, "checkpoint_threshold") == usual


def test_half_memory_holds_duckdb_to_half_its_limit_and_gives_it_back_after_a_failure(warehouse_path: Path,
                                                                                       monkeypatch):
    def limit(con) -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    for configured, inside, outside in (("1GB", "476.8 MiB", "953.6 MiB"), ("300MB", "244.1 MiB", "286.1 MiB"),
                                        ("256MB", "244.1 MiB", "244.1 MiB")):
        monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", configured)
        with opened(warehouse_path) as con:
            with half_memory(con):
                assert limit(con) == inside  # never under the 256MB minimum
            assert limit(con) == outside
            with pytest.raises(RuntimeError), half_memory(con):
                raise RuntimeError("a query failed")
            assert limit(con) == outside


def test_a_share_inside_another_ends_at_the_outer_share(warehouse_path: Path, monkeypatch):
    """The ledger's transaction runs at half, its months statement at another share within it (issue 28)."""
    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "1GB")
    with opened(warehouse_path) as con:
        limit = "SELECT current_setting('memory_limit')"
        with half_memory(con):
            with memory_share(con, 0.6):
                assert con.execute(limit).fetchone()[0] == "572.2 MiB"
            assert con.execute(limit).fetchone()[0] == "476.8 MiB"
        assert con.execute(limit).fetchone()[0] == "953.6 MiB"


def test_limit_and_threads_come_back_after_a_failure_inside_a_transaction(warehouse_path: Path, monkeypatch):
    """DuckDB refuses every statement of a transaction a failed statement aborted, until it is rolled back: the
    blocks inside it still give their settings back, and the failure is the one raised."""
    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "1GB")
    with opened(warehouse_path) as con:
        con.execute("SET threads = 3")
        with (pytest.raises(duckdb.OutOfMemoryException), half_memory(con), transaction(con),
              memory_share(con, 0.3), duckdb_threads(con, 1)):
            con.execute("SET memory_limit = '8MB'")  # past it, as a statement past its share
            con.execute("SELECT list(range) FROM range(10000000) GROUP BY range % 10").fetchall()
        assert con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone() == (
            "953.6 MiB", 3)


def test_bulk_writing_inserts_on_one_thread_then_gives_the_threads_back(warehouse_path: Path):
    """Two threads compressing an insert cost twice the CPU of one beside the ingest's staging (issue 28)."""
    with opened(warehouse_path) as con:
        con.execute("SET threads = 3")
        with bulk_writing(con):
            assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 3
        with pytest.raises(RuntimeError), bulk_writing(con):
            raise RuntimeError("a failed ingest")
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 3


def test_bulk_writing_leaves_its_rows_in_the_file_not_the_log(warehouse_path: Path):
    """Its commits stay in the write-ahead log; the block's end checkpoints them into the file."""
    with opened(warehouse_path) as con:
        with bulk_writing(con):
            con.execute("CREATE TABLE t (i BIGINT, s VARCHAR)")
            for _ in range(20):  # commits of fewer rows than a row group are logged, as a file's rows are
                con.execute("INSERT INTO t SELECT range, repeat(uuid()::VARCHAR, 8) FROM range(10000)")
            log = Path(str(warehouse_path) + ".wal")
            assert log.exists() and log.stat().st_size > 32 * 2**20  # twice DuckDB's usual threshold: not written yet
        assert not log.exists() or log.stat().st_size == 0
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 200000


def test_the_net_ledger_of_one_period_equals_the_view(warehouse_path: Path):
    """ledger.net_contributions(p) is the view's rule for one period (the checks call it with a subquery)."""
    con = connect(warehouse_path)
    try:
        con.execute("INSERT INTO ledger.contributions (period, entity, employee_id, id_number, name, region,"
                    " insurance_type, base, month_fraction, employer_rate, employee_rate, employer_amount,"
                    " employee_amount, entry_type, run_id, created_at) SELECT p, 'X', 'E1', '1', 'n', '长沙', 'pension',"
                    " 100, 1, 0.16, 0.08, 16, 8, 'original', 'r1', now()"
                    " FROM (VALUES ('2024-01'), ('2024-02')) v(p)")
        view = con.execute("SELECT * FROM ledger.current_contributions WHERE period = '2024-02'").fetchall()
        macro = con.execute("SELECT * FROM ledger.net_contributions((SELECT '2024-02'))").fetchall()
        assert view == macro and len(view) == 1
    finally:
        con.close()


def test_load_keys_migration_keeps_the_current_rows_of_an_existing_warehouse(warehouse_path: Path, monkeypatch):
    """Migration 007 records the keys of the loads already staged: core.* shows the same rows after it,
    a later load still supersedes an earlier one, and a pending load's rows still do not count."""
    import warehouse.migrate as migrations

    before_007 = [(version, path) for version, path in available() if version < 7]
    monkeypatch.setattr(migrations, "available", lambda: before_007)
    con = connect(warehouse_path, migrate=False)
    try:
        migrate(con)
        row = "(?, NULL, 1, '2024-03', ?, '王芳', '430102199001010013', '430102199001010013', ?, '长沙', '长沙', true, ?," \
              " NULL, NULL)"
        for load_id, employee_id, entity, gross in [(1, "E1", "甲", 8000), (2, "E1", "甲", 9000),
                                                    (3, "E2", "乙", 7000), (4, "E3", "乙", 1)]:
            con.execute(f"INSERT INTO staging.payroll VALUES {row}", [load_id, employee_id, entity, gross])
        con.execute("INSERT INTO ingest.pending_loads VALUES (4, 'big.csv', now())")
        current = "SELECT load_id, employee_id, gross_pay FROM core.payroll ORDER BY ALL"
        expected = con.execute(current).fetchall()
        monkeypatch.undo()
        assert migrate(con) == [version for version, _ in available() if version >= 7]
        assert con.execute(current).fetchall() == expected == [(2, "E1", 9000), (3, "E2", 7000)]
        assert con.execute("SELECT count(*) FROM ingest.load_keys").fetchone()[0] == 3  # not the pending load
    finally:
        con.close()


def test_recording_a_loads_keys_twice_changes_nothing(warehouse_path: Path):
    from transforms.ingest.inbox import record_load_keys

    con = connect(warehouse_path)
    try:
        con.execute("INSERT INTO staging.insurance (load_id, row_number, period, id_number, id_number_raw, name,"
                    " region, region_raw, region_known, employer, insurance_type, status, start_month, base) VALUES"
                    " (7, 1, '2024-03', '1', '1', 'n', '长沙', '长沙', true, '甲', 'pension', 'active', '2024-01', 5000),"
                    " (7, 2, '2024-04', '1', '1', 'n', '长沙', '长沙', true, '甲', 'pension', 'active', '2024-01', 5000)")
        assert con.execute("SELECT count(*) FROM core.insurance").fetchone()[0] == 0  # not committed as a load
        record_load_keys(con, 7)
        record_load_keys(con, 7)
        assert con.execute("SELECT kind, period, entity, load_id FROM ingest.load_keys ORDER BY ALL").fetchall() == [
            ("insurance", "2024-03", None, 7), ("insurance", "2024-04", None, 7)]
        assert con.execute("SELECT count(*) FROM core.insurance").fetchone()[0] == 2
    finally:
        con.close()


def test_current_loads_read_the_load_keys_not_the_staged_history(warehouse_path: Path):
    """Every query over core.* finds the current loads: reading the staged rows for it made each month's
    close slower as history grew (bench/load.py)."""
    con = connect(warehouse_path)
    try:
        plan = "".join(row[1] for row in con.execute("EXPLAIN SELECT * FROM ingest.current_loads").fetchall())
        assert "load_keys" in plan and "staging" not in plan
    finally:
        con.close()


def _marked(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s DuckDB instance holds the mark: its in-memory catalog is the instance's, not a connection's."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory'"
                            " AND table_name = 'instance_mark'").fetchone()[0])


def _mark(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TABLE memory.main.instance_mark AS SELECT 1 AS mark")


def test_a_small_warehouses_connections_share_one_instance_each_its_own_connection(con, warehouse_path: Path):
    """one_instance_while_small: the block's connections, read-only ones too (a second instance of the file in one
    process must never be), are of one instance, each with its own transaction, temporary tables and default
    catalog; after the block the file is released, with every commit made in it."""
    con.close()
    with one_instance_while_small(warehouse_path):
        with opened(warehouse_path) as first, opened(warehouse_path, read_only=True) as second:
            _mark(first)
            assert _marked(second)
            first.execute("CREATE TEMP TABLE only_mine AS SELECT 1 AS x")
            assert not second.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'only_mine'"
                                      ).fetchone()[0]
            first.execute("CREATE TABLE scratch (note VARCHAR)")
            first.execute("INSERT INTO scratch VALUES ('committed')")
            assert second.execute("SELECT list(note) FROM scratch").fetchone()[0] == ["committed"]
            first.execute("BEGIN TRANSACTION")
            first.execute("INSERT INTO scratch VALUES ('left open')")
        with opened(warehouse_path) as third:  # the first was closed with its transaction open: rolled back
            assert _marked(third)
            assert third.execute("SELECT current_database()").fetchone()[0] == "wh"
            assert third.execute("SELECT list(note) FROM scratch").fetchone()[0] == ["committed"]
    alone = duckdb.connect(str(warehouse_path))  # another instance opens the file: the block released it
    try:
        assert alone.execute("SELECT list(note) FROM scratch").fetchone()[0] == ["committed"]
    finally:
        alone.close()


def test_a_warehouse_at_the_size_limit_gives_each_connection_its_own_instance(con, warehouse_path: Path,
                                                                              monkeypatch):
    """At SHARED_BELOW_BYTES and over, each connection starts its own instance, as outside the block."""
    con.close()
    monkeypatch.setattr("warehouse.db.SHARED_BELOW_BYTES", warehouse_path.stat().st_size)
    with one_instance_while_small(warehouse_path):
        with opened(warehouse_path) as first:
            _mark(first)
        with opened(warehouse_path) as second:
            assert not _marked(second)
