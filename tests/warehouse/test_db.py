"""Warehouse connections: migrations, clear sentences for files we cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warehouse.db import connect
from warehouse.errors import WarehouseError
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
    with pytest.raises(WarehouseError, match="does not exist yet"):
        connect(tmp_path / "none.duckdb", read_only=True)


def test_a_second_process_gets_a_sentence_about_the_lock(warehouse_path: Path):
    con = connect(warehouse_path)
    script = textwrap.dedent(f"""
        from warehouse.db import connect
        from warehouse.errors import WarehouseError
        try:
            connect({str(warehouse_path)!r})
        except WarehouseError as exc:
            print(exc)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    con.close()
    assert "in use by another shebao run" in result.stdout, result.stderr


def test_not_a_duckdb_file_is_one_sentence(tmp_path: Path):
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WarehouseError, match="bogus.duckdb"):
        connect(bogus)


def test_duckdb_memory_is_capped_and_a_bad_size_is_one_sentence(warehouse_path: Path, monkeypatch):
    con = connect(warehouse_path)
    limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    con.close()
    assert limit.endswith("GiB") and float(limit.split()[0]) < 2.0 and spill == str(warehouse_path) + ".tmp"
    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "plenty")
    with pytest.raises(WarehouseError, match="SHEBAO_DUCKDB_MEMORY is not a memory size"):
        connect(warehouse_path)


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
