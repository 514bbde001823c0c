"""The read copy (SPEC §7): Parquet partitions and a DuckDB file of commented views that finance opens
without ever touching the warehouse."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from transforms.ledger.book import compute_ledger
from transforms.outputs.read_copy import READ_FILE, RELATIONS, write_read_copy
from warehouse.db import connect

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dXx](?![0-9])")
PUBLIC = ("ingest.loads", "ingest.rejects", "ledger.contributions", "quality.findings", "actions.cleanup_actions")


def _copied(acceptance_closed, folder):
    warehouse = folder / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    con = connect(warehouse)
    summary = write_read_copy(con, folder / "out")
    con.close()
    return warehouse, folder / "out", summary


@pytest.fixture()
def copied(acceptance_closed, tmp_path):
    """(warehouse, out) after one read copy of the closed acceptance warehouse, the test's own to change."""
    return _copied(acceptance_closed, tmp_path)


@pytest.fixture(scope="module")
def copied_once(acceptance_closed, tmp_path_factory):
    """``copied`` once for the module's tests that only read it: don't write the warehouse or the out folder."""
    return _copied(acceptance_closed, tmp_path_factory.mktemp("copied"))


def _read(out, sql: str) -> list[tuple]:
    reader = duckdb.connect(str(out / READ_FILE), read_only=True)
    try:
        return reader.execute(sql).fetchall()
    finally:
        reader.close()


def test_views_hold_the_warehouse_rows_by_period_with_every_column_commented(copied_once):
    warehouse, out, summary = copied_once
    assert summary["relations"] >= len(PUBLIC) and summary["partitions_kept"] == 0
    con = connect(warehouse, read_only=True)
    for relation in PUBLIC:
        assert _read(out, f"SELECT count(*) FROM {relation}") == con.execute(f"SELECT count(*) FROM {relation}").fetchall()
    periods = [p for (p,) in con.execute("SELECT DISTINCT period FROM ledger.contributions ORDER BY 1").fetchall()]
    totals = con.execute("SELECT period, sum(employer_amount) FROM ledger.contributions GROUP BY 1 ORDER BY 1").fetchall()
    con.close()
    assert sorted(p.name for p in (out / "tables" / "ledger.contributions").iterdir()) == [f"period={p}" for p in periods]
    assert (out / "tables" / "ingest.loads" / "data.parquet").is_file()  # no period column: one file
    assert _read(out, "SELECT period, sum(employer_amount) FROM ledger.contributions GROUP BY 1 ORDER BY 1") == totals
    columns = _read(out, "SELECT schema_name || '.' || table_name, column_name, data_type, comment FROM duckdb_columns()")
    by_relation = {}
    for relation, column, data_type, comment in columns:
        by_relation.setdefault(relation, {})[column] = (data_type, comment)
    for relation in PUBLIC:
        assert list(by_relation[relation]) == list(RELATIONS[relation][1]), relation  # SPEC §7 columns, in order
        assert all(comment for _, comment in by_relation[relation].values()), relation
    assert by_relation["ledger.contributions"]["employer_amount"][0] == "DECIMAL(14,2)"
    assert by_relation["ledger.contributions"]["period"][0] == "VARCHAR"
    assert all(c for (c,) in _read(out, "SELECT comment FROM duckdb_tables() WHERE NOT internal"))


def test_personal_data_is_masked_as_finance_sees_it(copied_once):
    _, out, _ = copied_once
    ids = _read(out, """SELECT id_number FROM ledger.contributions UNION ALL SELECT id_number FROM quality.findings
                        UNION ALL SELECT id_number FROM actions.cleanup_actions""")
    assert ids and all(i is None or "*" in i for (i,) in ids)
    text = _read(out, """SELECT string_agg(CAST(raw AS VARCHAR), ' ') FROM ingest.rejects UNION ALL
                         SELECT string_agg(CAST(details AS VARCHAR), ' ') FROM quality.findings UNION ALL
                         SELECT string_agg(CAST(details AS VARCHAR), ' ') FROM actions.cleanup_actions""")
    assert not any(FULL_ID.search(t or "") for (t,) in text)
    for parquet in (out / "tables").rglob("*.parquet"):
        assert not FULL_ID.search(parquet.read_bytes().decode("latin-1")), parquet


def test_only_changed_partitions_are_rewritten(copied):
    warehouse, out, _ = copied
    kept = out / "tables" / "ledger.contributions" / "period=2024-03" / "data.parquet"
    stamp = kept.stat().st_mtime_ns
    con = connect(warehouse)
    again = write_read_copy(con, out)
    assert again["partitions_written"] == 0 and again["partitions_kept"] > 0
    compute_ledger(con, "2023-12")  # a month not booked before: one new ledger partition
    once_more = write_read_copy(con, out)
    con.close()
    assert once_more["partitions_written"] == 3  # its ledger.contributions, ledger.totals and ledger.unbooked
    assert kept.stat().st_mtime_ns == stamp
    (kept.parent / ".data.parquet.99.tmp").write_bytes(b"left by a copy that was killed")
    con = connect(warehouse)
    write_read_copy(con, out)
    con.close()
    assert _read(out, "SELECT count(*) > 0 FROM ledger.contributions WHERE period = '2023-12'") == [(True,)]
    assert not list(out.glob(".*tmp")) and not list((out / "tables").rglob(".*tmp"))


def test_a_reader_on_the_previous_read_file_keeps_its_versions(copied, monkeypatch):
    """Files are never changed in place: a connection opened before a copy still reads what it read, from
    the superseded versions, which go once a later copy has superseded them for RETAIN."""
    import transforms.outputs.read_copy as read_copy

    warehouse, out, _ = copied
    rows = "SELECT count(*), sum(employer_amount) FROM ledger.contributions WHERE period = '2024-03'"
    old = duckdb.connect(str(out / READ_FILE), read_only=True)
    before = old.execute(rows).fetchall()
    partition = out / "tables" / ".versions" / "ledger.contributions" / "period=2024-03"
    [first] = list(partition.glob("*.parquet"))
    con = connect(warehouse)
    correction = """INSERT INTO ledger.contributions SELECT * REPLACE ('adjustment' AS entry_type, ? AS run_id)
                    FROM ledger.contributions WHERE period = '2024-03' LIMIT 1"""
    con.execute(correction, ["zz-1"])
    write_read_copy(con, out)
    assert old.execute(rows).fetchall() == before  # the old read file, the old versions
    assert len(list(partition.glob("*.parquet"))) == 2
    old.close()  # (one process shares one open database per path: close before reopening)
    assert _read(out, rows)[0][0] == before[0][0] + 1  # reopened: the new rows
    monkeypatch.setattr(read_copy, "RETAIN", read_copy.RETAIN * 0)
    con.execute(correction, ["zz-2"])
    write_read_copy(con, out)
    con.close()
    versions = list(partition.glob("*.parquet"))
    assert len(versions) == 2 and first not in versions  # the current and the previous read file's
    public = out / "tables" / "ledger.contributions" / "period=2024-03"
    assert [p.name for p in public.iterdir()] == ["data.parquet"]
    assert _read(out, rows)[0][0] == before[0][0] + 2


def test_totals_unbooked_and_labels_as_finance_sheets_show_them(copied_once):
    """SPEC §7 v3: ledger.totals (合计), ledger.unbooked (未入账人员) and ref.labels, commented like the rest."""
    warehouse, out, _ = copied_once
    con = connect(warehouse, read_only=True)
    want = con.execute("SELECT period, sum(employer_amount + employee_amount) FROM ledger.current_contributions"
                       " GROUP BY 1 ORDER BY 1").fetchall()
    from transforms.outputs.export import unbooked_people

    unbooked = unbooked_people(con, "2024-03", full_ids=False).height
    people = con.execute("SELECT period, entity, region, insurance_type, count(DISTINCT employee_id) FROM "
                         "ledger.current_contributions GROUP BY ALL ORDER BY ALL").fetchall()
    con.close()
    assert _read(out, "SELECT period, sum(total_amount) FROM ledger.totals GROUP BY 1 ORDER BY 1") == want
    # counted by groups of each employee (spill-friendly), the same as a distinct count
    assert _read(out, "SELECT period, entity, region, insurance_type, people FROM ledger.totals ORDER BY ALL") == people
    assert _read(out, "SELECT count(*) FROM ledger.unbooked WHERE period = '2024-03'") == [(unbooked,)]
    assert _read(out, "SELECT label FROM ref.labels WHERE column_name = 'insurance_type' AND code = 'pension'") == [
        ("养老保险",)]
    pivot = _read(out, "SELECT DISTINCT l.label FROM ledger.totals t JOIN ref.labels l"
                       " ON l.column_name = 'insurance_type' AND l.code = t.insurance_type")
    assert pivot and all(not label.isascii() for (label,) in pivot)
    for relation in ("ledger.totals", "ledger.unbooked", "ref.labels"):
        comments = _read(out, f"SELECT comment FROM duckdb_columns() WHERE schema_name || '.' || table_name = "
                              f"'{relation}'")
        assert comments and all(c for (c,) in comments), relation
        assert _read(out, f"SELECT comment FROM duckdb_tables() WHERE schema_name || '.' || table_name = '{relation}'"
                     )[0][0]


def test_a_copied_out_folder_opened_from_elsewhere_reads_every_relation(copied, tmp_path, monkeypatch):
    """Issue 30: the read file names no path. The out folder copied elsewhere (the original gone) and
    opened from another working directory reads every relation, the derived ones too, as the original did."""
    from transforms.outputs.read_copy import DERIVED

    _, out, _ = copied
    relations = [*RELATIONS, *DERIVED]
    sums = {r: _read(out, f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {r}") for r in relations}
    moved = tmp_path / "finance" / "拷贝的输出"
    shutil.copytree(out, moved)
    shutil.rmtree(out)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    for relation in relations:
        assert _read(moved, f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {relation}") == sums[relation], relation
    assert all(n > 0 for r, [(n, *_)] in sums.items() if r != "ingest.bills"), sums
    assert not _read(moved, "SELECT sql FROM duckdb_views() WHERE NOT internal")  # tables, nothing by path


def test_the_read_file_is_updated_where_partitions_changed_and_replaces_a_file_of_views(copied):
    """A close copies into the read file only the partitions that changed (its _read_copy.parts says which
    version each holds); a read file of views over Parquet paths, as written before issue 30, is replaced."""
    warehouse, out, _ = copied
    parts = "SELECT relation, part, version FROM _read_copy.parts ORDER BY ALL"
    before = dict(((r, p), v) for r, p, v in _read(out, parts))
    con = connect(warehouse)
    con.execute("""INSERT INTO ledger.contributions SELECT * REPLACE ('adjustment' AS entry_type, 'zz-1' AS run_id)
                   FROM ledger.contributions WHERE period = '2024-02' LIMIT 3""")
    write_read_copy(con, out)
    after = dict(((r, p), v) for r, p, v in _read(out, parts))
    changed = sorted(key for key in after if before.get(key) != after[key])
    assert changed == [("ledger.contributions", "2024-02"), ("ledger.totals", "2024-02")]
    sql = "SELECT period, entry_type, count(*), sum(employer_amount) FROM ledger.contributions GROUP BY ALL ORDER BY ALL"
    assert _read(out, sql) == con.execute(sql).fetchall()
    (out / READ_FILE).unlink()
    old = duckdb.connect(str(out / READ_FILE))
    old.execute("CREATE SCHEMA ledger")
    old.execute(f"CREATE VIEW ledger.contributions AS SELECT * FROM read_parquet('{out}/tables/ingest.loads/data.parquet')")
    old.close()
    write_read_copy(con, out)
    con.close()
    assert _read(out, sql) == [tuple(r) for r in connect(warehouse, read_only=True).execute(sql).fetchall()]
    assert not _read(out, "SELECT view_name FROM duckdb_views() WHERE NOT internal")


def test_the_read_file_is_written_on_the_warehouse_connection_within_its_limit(acceptance_closed, tmp_path):
    """Issue 28: the read file is attached to the warehouse's connection and filled there, so its rows count
    against that connection's memory limit (a connection of its own had DuckDB's default, 80% of the machine:
    2.7 GB at the peak of a 1,000,000-employee close). Each table holds exactly its Parquet partitions' rows,
    and the connection is left as it was: settings restored, nothing left attached."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    con = connect(warehouse)
    settings = "SELECT name, value FROM duckdb_settings() WHERE name IN ('memory_limit', 'preserve_insertion_order')"
    before = con.execute(settings).fetchall(), con.execute("SELECT database_name FROM duckdb_databases()").fetchall()

    def no_second_database(*args, **kwargs):
        raise AssertionError("the read copy opened a DuckDB database of its own")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(duckdb, "connect", no_second_database)
        write_read_copy(con, tmp_path / "out")
        write_read_copy(con, tmp_path / "out")  # the second updates the file the first wrote
    assert (con.execute(settings).fetchall(), con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
            ) == before
    con.close()
    out = tmp_path / "out"
    assert not list(out.glob(".*.tmp"))
    from transforms.outputs.read_copy import DERIVED

    hive = duckdb.connect()
    for relation in [*RELATIONS, *DERIVED]:
        columns = ", ".join(f'"{c}"' for (c,) in _read(out, "SELECT column_name FROM duckdb_columns() WHERE "
                                                              f"schema_name || '.' || table_name = '{relation}'"))
        stored = sorted(map(repr, _read(out, f"SELECT {columns} FROM {relation}")))
        parquet = [p.as_posix() for p in (out / "tables" / relation).rglob("data.parquet")]
        files = sorted(map(repr, hive.execute(f"SELECT {columns} FROM read_parquet({parquet}, hive_partitioning = "
                                              "true, hive_types_autocast = false)").fetchall())) if parquet else []
        assert stored == files, relation
    hive.close()
