"""Encryption at rest: with SHEBAO_WAREHOUSE_KEY the file holds no names or ID numbers in plain bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from transforms.ingest.inbox import ingest_inbox
from warehouse.db import connect
from warehouse.errors import WarehouseError

REPO = Path(__file__).resolve().parents[2]
KNOWN = [b"430202198504210010", "孙桐玉".encode(), "广州羊城商贸有限公司".encode()]


def _file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    wal = path.with_name(path.name + ".wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory, acceptance_dir) -> Path:
    path = tmp_path_factory.mktemp("enc") / "secret.duckdb"
    con = connect(path, key="correct horse battery staple")
    ingest_inbox(con, acceptance_dir / "inbox")
    con.close()
    return path


def test_plain_warehouse_does_hold_them(acceptance_ingested):
    data = _file_bytes(acceptance_ingested)
    assert all(token in data for token in KNOWN)  # so the next test can fail


def _inbox_tokens(plain: Path) -> list[bytes]:
    """Every distinct ID number and name (of three characters or more) the acceptance inbox holds."""
    con = duckdb.connect(str(plain), read_only=True)
    try:
        rows = con.execute("SELECT id_number FROM staging.payroll UNION SELECT id_number FROM staging.insurance"
                           " UNION SELECT name FROM staging.payroll WHERE length(name) >= 3"
                           " UNION SELECT name FROM staging.insurance WHERE length(name) >= 3").fetchall()
    finally:
        con.close()
    return sorted({r[0].encode() for r in rows if r[0] and (len(r[0]) >= 15 or not r[0].isascii())})


def test_encrypted_warehouse_holds_no_plain_personal_data(encrypted, acceptance_ingested):
    data = _file_bytes(encrypted)
    assert len(data) > 100_000
    assert not any(token in data for token in KNOWN)
    tokens = _inbox_tokens(acceptance_ingested)
    plain = _file_bytes(acceptance_ingested)
    in_plain = sum(token in plain for token in tokens)
    found = [token for token in tokens if token in data]
    print(f"\nencryption: {len(tokens)} names and ID numbers of the inbox; {in_plain} readable in the plain "
          f"warehouse, {len(found)} in the encrypted one ({len(data):,} bytes)")
    assert len(tokens) > 100 and in_plain > len(tokens) // 4  # the scan does find them where they are plain
    assert found == []


def test_right_key_reopens_wrong_or_no_key_is_a_sentence(encrypted):
    con = connect(encrypted, key="correct horse battery staple")
    assert con.execute("SELECT count(*) FROM ingest.loads").fetchone()[0] == 155
    con.close()
    with pytest.raises(WarehouseError, match="cannot be opened with the key in SHEBAO_WAREHOUSE_KEY"):
        connect(encrypted, key="wrong key")
    with pytest.raises(WarehouseError, match="is encrypted; set SHEBAO_WAREHOUSE_KEY"):
        connect(encrypted, key="")
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(encrypted))  # nobody reads it without the key


def test_cli_with_a_wrong_key_prints_one_sentence(encrypted, tmp_path, acceptance_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
    env |= {"SHEBAO_WAREHOUSE_KEY": "wrong key", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "flows.launch", "ingest", "--inbox", str(acceptance_dir / "inbox"),
                             "--warehouse", str(encrypted)], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 2
    assert "cannot be opened with the key" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    env.pop("SHEBAO_WAREHOUSE_KEY")
    result = subprocess.run([sys.executable, "-m", "flows.launch", "export", "--period", "2024-03", "--warehouse",
                             str(encrypted)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "is encrypted; set SHEBAO_WAREHOUSE_KEY" in result.stderr
