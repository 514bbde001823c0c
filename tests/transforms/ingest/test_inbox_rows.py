"""The rows of an ingest's batch of files are written together at its commit (issue 28): the same rows, in the
same order in every table, and the same load keys, as each file written alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import transforms.ingest.inbox as inbox_module
from transforms.ingest.inbox import LOAD_TABLES, inbox_files, ingest_file, ingest_inbox, source_name
from warehouse.db import connect
from warehouse.reference import refresh_cities, refresh_regions, region_lookup


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """Every kind, UTF-8 and GBK CSV and xlsx, with the generator's planted rejects."""
    from sample import generate_inbox

    folder = tmp_path_factory.mktemp("inbox")
    generate_inbox(folder, 30, "2025-02", "2025-03", seed=7, formats="mixed")
    return folder


def _tables(con, ids: bool = True) -> dict[str, list[tuple]]:
    """Every table a load writes, in the order its rows were written (no ORDER BY); the keys as a set.
    ``ids=False``: without the load ids (a batch rolled back has drawn some)."""
    left_out = "" if ids else "load_id"
    found = {table: con.execute(f"SELECT * EXCLUDE ({left_out or 'load_id'}) FROM {table}" if left_out
                                else f"SELECT * FROM {table}").fetchall() for table in LOAD_TABLES}
    found["ingest.loads"] = con.execute(
        f"SELECT * EXCLUDE (loaded_at, run_id, flow_run_id{', ' + left_out if left_out else ''}) FROM ingest.loads"
        " ORDER BY load_id").fetchall()
    found["ingest.load_keys"] = con.execute(
        f"SELECT * {'EXCLUDE (load_id)' if left_out else ''} FROM ingest.load_keys ORDER BY ALL").fetchall()
    return found


@pytest.fixture(scope="module")
def alone(inbox, tmp_path_factory, migrated_warehouse) -> dict[bool, dict[str, list[tuple]]]:
    """What the inbox's files each written alone write, with the load ids (True) and without (False): the same
    for every test here (a file alone is never in a batch, whatever its limits), so loaded once."""
    path = tmp_path_factory.mktemp("alone") / "alone.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        refresh_regions(con)  # as ingest_inbox does first
        refresh_cities(con)
        lookup = region_lookup(con)
        for file in inbox_files(inbox):  # outside any batch: each file's rows written as it is loaded
            ingest_file(con, file, source=source_name(inbox, file), lookup=lookup)
        return {ids: _tables(con, ids) for ids in (True, False)}
    finally:
        con.close()


def _batched(path: Path, inbox: Path, ids: bool = True) -> tuple[list[dict], dict[str, list[tuple]]]:
    con = connect(path)
    try:
        return ingest_inbox(con, inbox), _tables(con, ids)
    finally:
        con.close()


@pytest.fixture
def warehouse(tmp_path, migrated_warehouse) -> Path:
    """A new warehouse for the inbox ingested in batches."""
    path = tmp_path / "batched.duckdb"
    shutil.copy(migrated_warehouse, path)
    return path


@pytest.mark.parametrize("held_bytes", [inbox_module.ROWS_HELD_BYTES, 0], ids=["at the commit", "past the limit"])
def test_a_batch_writes_the_rows_each_file_alone_writes_in_the_same_order(inbox, alone, warehouse, monkeypatch,
                                                                           held_bytes):
    monkeypatch.setattr(inbox_module, "ROWS_HELD_BYTES", held_bytes)
    summaries, batched = _batched(warehouse, inbox)

    assert {s["status"] for s in summaries} == {"loaded"}
    assert batched["ingest.rejects"], "the inbox has rejects"
    assert len({kind for kind, *_ in batched["ingest.load_keys"]}) == 4
    for table in alone[True]:
        assert batched[table] == alone[True][table], table


def test_a_batch_whose_rows_cannot_be_written_loads_each_file_again_alone(inbox, alone, warehouse, monkeypatch):
    """The rows are written at the commit: a failure there rolls the batch back, and each file is loaded again in
    transactions of its own, as when a file's own write fails."""
    import duckdb

    real_insert, failed = inbox_module._insert, []

    def fail_once_in_a_batch(con, table, kind, frame):
        if frame.get_column("__load_id").n_unique() > 1 and not failed:  # the rows of several files at once
            failed.append(table)
            raise duckdb.ConversionException("disk trouble")
        return real_insert(con, table, kind, frame)

    monkeypatch.setattr(inbox_module, "_insert", fail_once_in_a_batch)
    summaries, batched = _batched(warehouse, inbox, ids=False)  # the batch rolled back has drawn load ids
    assert failed and {s["status"] for s in summaries} == {"loaded"}
    assert len(summaries) == len(inbox_files(inbox))
    for table in alone[False]:
        assert batched[table] == alone[False][table], table


def test_a_batch_leaves_the_load_id_sequence_where_drawing_each_id_alone_leaves_it(inbox, warehouse):
    """A batch counts its files' load ids and draws them from the sequence at its commit (issue 28)."""
    summaries, _ = _batched(warehouse, inbox)
    con = connect(warehouse)
    try:
        ids = con.execute("SELECT list(load_id ORDER BY load_id) FROM ingest.loads").fetchone()[0]
        assert ids == list(range(1, len(summaries) + 1)), "one id a load, none skipped"
        assert con.execute("SELECT nextval('ingest.load_id_seq')").fetchone()[0] == len(summaries) + 1
    finally:
        con.close()


def test_a_load_id_drawn_beside_a_batch_fails_the_run_and_writes_nothing(inbox, warehouse, monkeypatch):
    """Ids counted by a batch that someone else drew meanwhile would be given twice: the commit refuses."""
    real_write_rows, drawn = inbox_module._write_rows, []

    def draw_beside(con, *args):
        if not drawn:
            drawn.append(con.execute("SELECT nextval('ingest.load_id_seq')").fetchone()[0])
        return real_write_rows(con, *args)

    monkeypatch.setattr(inbox_module, "_write_rows", draw_beside)
    with pytest.raises(RuntimeError, match="Load ids were drawn outside"):
        _batched(warehouse, inbox)
    con = connect(warehouse)
    try:
        assert con.execute("SELECT count(*) FROM ingest.loads").fetchone()[0] == 0
        assert all(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0 for table in LOAD_TABLES)
    finally:
        con.close()


def _payroll_csv(path: Path, rows: int) -> None:
    """A payroll extract of ``rows`` distinct, well-formed rows."""
    import polars as pl

    number = pl.int_range(rows, eager=True)
    pl.DataFrame({
        "工资月份": pl.repeat("2025-03", rows, eager=True),
        "工号": "E" + number.cast(pl.String).str.zfill(7),
        "姓名": pl.repeat("王芳", rows, eager=True),
        "身份证号": "43010219900101" + (number % 10_000).cast(pl.String).str.zfill(4),
        "单位名称": pl.repeat("长沙星城智造有限公司", rows, eager=True),
        "参保城市": pl.repeat("长沙", rows, eager=True),
        "应发工资": (8000 + number % 500).cast(pl.String) + ".00",
    }).write_csv(path)


def test_a_large_files_chunks_commit_a_row_group_at_a_time_written_once(tmp_path, migrated_warehouse, monkeypatch):
    """A file of more rows than a chunk commits its chunks together until they fill one of DuckDB's row groups
    (issue 28): DuckDB then writes the rows into the file as it inserts them, and nothing through its log. A
    chunk committed alone, under a row group, went through the log and was written again at the checkpoint."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    rows = inbox_module.ROW_GROUP_ROWS + 5_000
    _payroll_csv(folder / "工资表_202503.csv", rows)
    monkeypatch.setenv(inbox_module.CHUNK_ROWS_ENV, "20000")  # seven chunks: six under a row group, then the rest
    path = tmp_path / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        con.execute("SET checkpoint_threshold = '1GB'")  # no checkpoint empties the log while the file is written
        [load] = ingest_inbox(con, folder)
        log = Path(f"{path}.wal")
        logged = log.stat().st_size if log.exists() else 0
        assert (load["rows_staged"], load["status"]) == (rows, "loaded")
        assert con.execute("SELECT count(*) FROM raw.rows").fetchone() == (rows,)
        assert con.execute("SELECT count(*) FROM staging.payroll").fetchone() == (rows,)
        assert logged < 2**20, f"{logged:,} bytes of rows went through DuckDB's log"
    finally:
        con.close()
