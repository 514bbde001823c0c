"""Files staged ahead on a second thread (issue 28) load exactly what each file loaded alone loads, and a rerun
stages nothing ahead."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from transforms.ingest.ahead import RUN_BYTES, STAGERS, StagedAhead, one_ahead
from transforms.ingest.inbox import (
    LOAD_TABLES,
    inbox_files,
    ingest_file,
    ingest_inbox,
    loaded_before,
    settled_before_run,
    source_name,
)
from transforms.ingest.staged_file import StagedFile
from transforms.ingest.staging import FILE
from warehouse.db import connect
from warehouse.reference import refresh_cities, refresh_regions, region_lookup


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """Generated extracts of every kind (UTF-8 and GBK CSV, xlsx), plus files the writer must decide itself:
    the same bytes under a second name, an empty file, one without a header, one that is no CSV at all."""
    from sample import generate_inbox

    folder = tmp_path_factory.mktemp("inbox")
    generate_inbox(folder, 40, "2025-02", "2025-03", seed=5, formats="mixed")
    first = sorted(folder.glob("工资表_*.csv"))[0]
    shutil.copy(first, folder / f"{first.stem} (1).csv")  # a copy of the same bytes: skipped_duplicate
    (folder / "空文件.csv").write_bytes(b"")
    (folder / "说明.csv").write_text("这是一份说明，没有表头\n第二行\n", encoding="utf-8")
    (folder / "坏文件.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    return folder


def _tables(con) -> dict[str, list[tuple]]:
    found = {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in LOAD_TABLES}
    found["ingest.loads"] = con.execute(
        "SELECT * EXCLUDE (loaded_at, run_id, flow_run_id) FROM ingest.loads ORDER BY load_id").fetchall()
    return found


@pytest.fixture
def taken(monkeypatch) -> list[str]:
    """The files the writer took staged ahead, by name (the real ``StagedAhead``, observed)."""
    names: list[str] = []
    take = StagedAhead.take

    def observed(self, path: Path) -> StagedFile | None:
        staged = take(self, path)
        if staged is not None:
            names.append(path.name)
        return staged

    monkeypatch.setattr(StagedAhead, "take", observed)
    return names


def test_an_inbox_staged_ahead_loads_what_each_file_alone_loads(inbox, tmp_path, migrated_warehouse, taken,
                                                                monkeypatch):
    import transforms.ingest.staged_file as staged_file

    ahead_path, alone_path = tmp_path / "ahead.duckdb", tmp_path / "alone.duckdb"
    shutil.copy(migrated_warehouse, ahead_path)
    shutil.copy(migrated_warehouse, alone_path)
    files_staged_together: list[int] = []  # per stage_rows call of a run, its files
    stage_rows = staged_file.stage_rows

    def observed(rows, *args):
        if FILE in rows.columns:
            files_staged_together.append(rows.get_column(FILE).n_unique())
        return stage_rows(rows, *args)

    monkeypatch.setattr(staged_file, "stage_rows", observed)
    con = connect(ahead_path)
    try:
        summaries = ingest_inbox(con, inbox)
        ahead = _tables(con)
    finally:
        con.close()
    assert files_staged_together and max(files_staged_together) >= 2  # staged in runs (issue 28)
    con = connect(alone_path)
    try:
        refresh_regions(con)  # as ingest_inbox does first
        refresh_cities(con)
        lookup = region_lookup(con)
        for path in inbox_files(inbox):  # each file alone: read, staged and written by the writer, as before
            ingest_file(con, path, source=source_name(inbox, path), lookup=lookup)
        alone = _tables(con)
    finally:
        con.close()

    for table in ahead:
        assert ahead[table] == alone[table], table
    statuses = {s["source_file"]: s["status"] for s in summaries}
    assert statuses["空文件.csv"] == "unrecognized" and statuses["说明.csv"] == "unrecognized"
    assert statuses["坏文件.xlsx"] == "failed"
    copy = next(name for name in statuses if name.endswith(" (1).csv"))
    pair = sorted([statuses[copy], statuses[copy.replace(" (1)", "")]])
    assert pair == ["loaded", "skipped_duplicate"]
    assert list(statuses.values()).count("skipped_duplicate") == 1
    # every extract but the first was staged ahead, xlsx and GBK included; the second of the copies too (the
    # first is not committed yet when it is staged), and the writer still skipped it
    assert len(taken) >= len([s for s in summaries if s["status"] == "loaded"])
    assert any(name.endswith(".xlsx") for name in taken)
    assert copy.replace(" (1)", "") in taken


def test_a_rerun_stages_nothing_ahead(inbox, tmp_path, migrated_warehouse, taken):
    path = tmp_path / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        ingest_inbox(con, inbox)
        taken.clear()
        again = ingest_inbox(con, inbox)
    finally:
        con.close()
    # a failed file is tried again on every run (a full disk, a damaged file), by the writer
    assert {s["source_file"]: s["status"] for s in again if s["status"] != "already_loaded"} == {"坏文件.xlsx": "failed"}
    assert taken == []


def test_the_stagers_snapshot_answers_as_the_warehouse_did_when_the_run_began(tmp_path, migrated_warehouse):
    path = tmp_path / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        loads = [("a.csv", "A", "loaded"), ("b.csv", "B", "skipped_duplicate"), ("c.csv", "C", "unrecognized"),
                 ("d.csv", "D", "failed"), ("e.csv", "A", "failed")]
        for load_id, (source, sha, status) in enumerate(loads, start=1):
            con.execute("INSERT INTO ingest.loads (load_id, source_file, sha256, status, loaded_at)"
                        " VALUES (?, ?, ?, ?, now())", [load_id, source, sha, status])
        settled = settled_before_run(con)
        pairs = [(source, sha) for source in ("a.csv", "b.csv", "c.csv", "d.csv", "e.csv", "new.csv")
                 for sha in ("A", "B", "C", "D", "Z")]
        assert [settled(*pair) for pair in pairs] == [any(loaded_before(con, *pair)) for pair in pairs]
        assert sum(settled(*pair) for pair in pairs) == 8  # A under any of six names, B and C under their own
        # a load committed after the snapshot: the stager stages its file for nothing, the writer still skips it
        con.execute("INSERT INTO ingest.loads (load_id, source_file, sha256, status, loaded_at)"
                    " VALUES (6, 'f.csv', 'F', 'loaded', now())")
        assert not settled("f.csv", "F") and any(loaded_before(con, "f.csv", "F"))
    finally:
        con.close()


def test_staged_ahead_hands_each_file_over_once_and_leaves_failures_to_the_writer(tmp_path):
    staged_on: list[str] = []

    def stage(path: Path) -> StagedFile | None:
        staged_on.append(threading.current_thread().name)
        if path.name == "bad":
            raise OSError("unreadable")
        return None if path.name == "large" else StagedFile("sha", None, {}, [], {})  # type: ignore[arg-type]

    ahead = StagedAhead(stage)
    try:
        for name in ("good", "bad", "large"):
            ahead.start(tmp_path / name)
        assert ahead.take(tmp_path / "good") is not None
        assert ahead.take(tmp_path / "good") is None  # handed over once
        assert ahead.take(tmp_path / "bad") is None  # the writer reads it and records what is wrong
        assert ahead.take(tmp_path / "large") is None
        assert ahead.take(tmp_path / "never started") is None
    finally:
        ahead.close()
    assert all(name.startswith("shebao-ingest-ahead") for name in staged_on)


def test_runs_are_staged_on_several_threads_at_once(tmp_path):
    """A small close's writer waited on one stager for over half of ingest: STAGERS runs are staged together."""
    together = threading.Barrier(STAGERS, timeout=5)  # broken, and the runs not staged, unless all meet

    def stage_run(paths: list[Path]) -> dict[Path, StagedFile | None]:
        together.wait()
        return {path: StagedFile("sha", None, {}, [], {}) for path in paths}  # type: ignore[arg-type]

    ahead = StagedAhead(lambda path: None, stage_run)
    runs = [[tmp_path / f"{n}a", tmp_path / f"{n}b"] for n in range(STAGERS)]
    try:
        for run in runs:
            ahead.start_run(run)
        assert all(ahead.take(path) is not None for run in runs for path in run)
    finally:
        ahead.close()
    assert STAGERS >= 2


def test_runs_larger_than_a_run_are_staged_one_at_a_time(tmp_path):
    """A large inbox's files are staged ahead alone, one at a time: two at once held two large files' staging."""
    large = []
    for name in ("a", "b", "c"):
        path = tmp_path / name
        with path.open("wb") as file:
            file.truncate(RUN_BYTES + 1)  # sparse: its size is what is read here
        large.append(path)
    active, most = [], []
    lock = threading.Lock()

    def stage_run(paths: list[Path]) -> dict[Path, StagedFile | None]:
        with lock:
            active.append(paths)
            most.append(len(active))
        time.sleep(0.2)
        with lock:
            active.remove(paths)
        return dict.fromkeys(paths)

    ahead = StagedAhead(lambda path: None, stage_run)
    try:
        for path in large:
            ahead.start_run([path])
        for path in large:
            ahead.take(path)
    finally:
        ahead.close()
    assert len(most) == 3 and max(most) == 1


def test_one_ahead_gives_every_item_in_order_each_computed_on_its_thread_and_raises_where_it_failed():
    made_on: list[str] = []

    def items():
        for number in range(3):
            made_on.append(threading.current_thread().name)
            yield number
        raise ValueError("the fourth chunk cannot be staged")

    got = []
    with pytest.raises(ValueError, match="fourth chunk"):
        for item in one_ahead(items()):
            got.append(item)
    assert got == [0, 1, 2]
    assert made_on and all(name.startswith("shebao-ingest-chunk") for name in made_on)


def test_a_large_files_chunks_are_staged_beside_the_writes_and_load_what_one_thread_loads(
        inbox, tmp_path, migrated_warehouse, monkeypatch):
    """A file past ``chunk_rows`` is staged a chunk ahead on a thread of its own (issue 28); its rows, order and
    counts are those one thread staging then writing each chunk gives."""
    import transforms.ingest.inbox as inbox_module

    monkeypatch.setenv("SHEBAO_INGEST_CHUNK_ROWS", "25")
    staged_on: list[str] = []
    chunks = inbox_module.staged_chunks

    def observed(*args, **kwargs):
        for item in chunks(*args, **kwargs):
            staged_on.append(threading.current_thread().name)
            yield item

    monkeypatch.setattr(inbox_module, "staged_chunks", observed)
    loaded = {}
    for name, ahead in (("ahead", True), ("alone", False)):
        if not ahead:
            monkeypatch.setattr(inbox_module, "one_ahead", lambda items: items)
        path = tmp_path / f"{name}.duckdb"
        shutil.copy(migrated_warehouse, path)
        con = connect(path)
        try:
            ingest_inbox(con, inbox)
            loaded[name] = {table: con.execute(f"SELECT * FROM {table}").fetchall() for table in LOAD_TABLES}
            loaded[name]["ingest.loads"] = con.execute(
                "SELECT * EXCLUDE (loaded_at, run_id, flow_run_id) FROM ingest.loads ORDER BY load_id").fetchall()
        finally:
            con.close()
        if ahead:
            assert any(name.startswith("shebao-ingest-chunk") for name in staged_on)
            assert not any(name == "MainThread" for name in staged_on)
            staged_on.clear()
    assert staged_on and all(name == "MainThread" for name in staged_on)
    assert loaded["ahead"] == loaded["alone"]  # physical order too: no ORDER BY


def test_files_of_a_runs_size_each_are_staged_one_ahead_every_one(inbox, tmp_path, migrated_warehouse, taken,
                                                                 monkeypatch):
    """Files as large as a run (a 200,000-employee payroll) are staged a run each, ahead of the file being
    written: none but the first is left to the writer."""
    import transforms.ingest.inbox as inbox_module

    monkeypatch.setattr(inbox_module, "RUN_BYTES", 1)
    path = tmp_path / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    con = connect(path)
    try:
        summaries = ingest_inbox(con, inbox)
    finally:
        con.close()
    loaded = sorted({s["source_file"] for s in summaries if s["status"] == "loaded"})
    assert sorted(set(taken) & set(loaded)) == loaded[1:]


def test_the_stager_is_handed_files_up_to_the_pending_bytes_ahead(inbox, tmp_path, migrated_warehouse, monkeypatch):
    """Files of a run's size each: the stager is handed several while the first is written, not one, so it never
    idles while the writer waits for it (at 200,000 employees one file ahead left ingest on one core of two);
    and never more than ``PENDING_BYTES`` of them."""
    import transforms.ingest.inbox as inbox_module
    from transforms.ingest.ahead import file_size

    monkeypatch.setattr(inbox_module, "RUN_BYTES", 1)  # a run of one file each
    waiting: list[int] = []  # bytes handed to the stager and not taken, after each hand-over
    start_run = StagedAhead.start_run

    def observed(self, paths: list[Path]) -> None:
        start_run(self, paths)
        waiting.append(sum(file_size(path) for path in self._pending))

    monkeypatch.setattr(StagedAhead, "start_run", observed)
    largest = max(file_size(path) for path in inbox.iterdir())

    def ingest_into_a_new_warehouse(name: str) -> None:
        shutil.copy(migrated_warehouse, tmp_path / name)
        con = connect(tmp_path / name)
        try:
            ingest_inbox(con, inbox)
        finally:
            con.close()

    ingest_into_a_new_warehouse("default.duckdb")
    assert max(waiting) > 2 * largest  # more than one file (and the one being written) at some hand-over
    monkeypatch.setattr(inbox_module, "PENDING_BYTES", largest)
    waiting.clear()
    ingest_into_a_new_warehouse("bounded.duckdb")
    assert waiting and max(waiting) <= 3 * largest  # below the bound, then one run (a file) past it, and the current


def test_a_large_file_whose_write_fails_leaves_no_chunk_staging_behind(inbox, tmp_path, migrated_warehouse,
                                                                       monkeypatch):
    """A write failing mid-file (a full disk, say) ends the thread staging its next chunk, and the file loads
    nothing, as before (issue 28)."""
    import duckdb

    import transforms.ingest.inbox as inbox_module

    monkeypatch.setenv("SHEBAO_INGEST_CHUNK_ROWS", "7")
    write_rows = inbox_module._write_rows
    written = []

    def failing(con, load_id, source, kind, rows):
        written.append(source)
        if written.count(source) == 2:
            raise duckdb.IOException("IO Error: the disk failed")
        return write_rows(con, load_id, source, kind, rows)

    monkeypatch.setattr(inbox_module, "_write_rows", failing)
    path = tmp_path / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    payroll = sorted(inbox.glob("工资表_*.csv"))[0]
    con = connect(path)
    try:
        refresh_regions(con)
        refresh_cities(con)
        [load] = ingest_file(con, payroll, source=payroll.name, lookup=region_lookup(con))
        rows = sum(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in LOAD_TABLES)
    finally:
        con.close()
    assert load["status"] == "failed" and rows == 0
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("shebao-ingest-chunk")]
