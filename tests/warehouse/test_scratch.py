"""The process's one in-memory DuckDB (``warehouse.scratch``): every use a connection of its own on it."""

from __future__ import annotations

import os
import signal
import threading
import time

import polars as pl

from warehouse.scratch import SHARED_READS_BELOW_BYTES, bytes_of, scratch


def test_every_use_is_a_connection_of_one_instance():
    with scratch() as first:
        first.execute("CREATE TABLE shared_here AS SELECT 1 AS n")
    try:
        with scratch() as second:  # a table (never made by shebao) is the instance's: the next use sees it
            assert second.execute("SELECT n FROM shared_here").fetchall() == [(1,)]
    finally:
        with scratch() as con:
            con.execute("DROP TABLE shared_here")


def test_a_large_read_gets_an_instance_of_its_own():
    """An instance keeps memory it once used: a use reading SHARED_READS_BELOW_BYTES or more starts and stops its own."""
    with scratch() as shared:
        shared.execute("CREATE TABLE on_the_shared_one AS SELECT 1 AS n")
    try:
        with scratch(SHARED_READS_BELOW_BYTES - 1) as small:
            assert small.execute("SELECT count(*) FROM on_the_shared_one").fetchone() == (1,)
        with scratch(SHARED_READS_BELOW_BYTES) as large:
            assert large.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'on_the_shared_one'"
                                 ).fetchone() == (0,)
    finally:
        with scratch() as con:
            con.execute("DROP TABLE on_the_shared_one")


def test_bytes_of_a_frame_and_of_a_file(tmp_path):
    frame = pl.DataFrame({"n": list(range(1000))})
    frame.write_parquet(tmp_path / "rows.parquet")
    assert bytes_of(frame) == frame.estimated_size()
    assert bytes_of(tmp_path / "rows.parquet") == (tmp_path / "rows.parquet").stat().st_size


def test_what_a_use_registers_or_views_is_its_own_and_gone_after_it():
    seen: dict[str, list] = {}
    together = threading.Barrier(2, timeout=10)

    def use(name: str, value: int) -> None:
        with scratch() as con:
            con.register("rows_here", pl.DataFrame({"n": [value]}))
            con.execute("CREATE TEMP VIEW doubled AS SELECT n * 2 AS n FROM rows_here")
            together.wait()  # both registered under the same names at once
            seen[name] = con.execute("SELECT n FROM doubled").fetchall()

    threads = [threading.Thread(target=use, args=(name, value)) for name, value in (("a", 1), ("b", 5))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": [(2,)], "b": [(10,)]}
    with scratch() as con:
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'doubled'").fetchone() == (0,)


def test_a_forked_child_starts_an_instance_of_its_own():
    """The parent's instance may be mid-query on its threads when the process forks (its locks held): a child
    never uses it."""
    with scratch() as con:
        con.execute("CREATE TABLE parents AS SELECT 1 AS n")
    pid = os.fork()
    if pid == 0:  # the child: its own instance, without the parent's table
        code = 1
        try:
            with scratch() as con:
                code = 0 if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'parents'"
                                        ).fetchone() == (0,) else 1
        finally:
            os._exit(code)
    with scratch() as con:
        con.execute("DROP TABLE parents")
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
