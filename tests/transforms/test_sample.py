"""The sample generator: every kind, valid IDs, the encodings it claims, deterministic, loads as planned."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
from stdnum.cn import ric

from transforms.ingest import ingest_inbox
from transforms.sample import generate_inbox


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("sample") / "inbox"
    return folder, generate_inbox(folder, 120, "2024-11", "2025-02", seed=3)


def test_all_four_kinds_in_csv_and_xlsx(sample):
    folder, manifest = sample
    names = [p.name for p in folder.iterdir()]
    for prefix in ("工资表_", "考勤_", "参保明细_", "转移接续_"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert any(n.endswith(".xlsx") for n in names) and any(n.endswith(".csv") for n in names)
    gbk = [p for p in folder.glob("*.csv") if not _is_utf8(p.read_bytes())]
    assert gbk, "some files are GBK"
    for path in gbk:
        path.read_bytes().decode("gbk")
    workbook = openpyxl.load_workbook(next(folder.glob("工资表_*.xlsx")), read_only=True)
    first = next(workbook.active.iter_rows(values_only=True))
    assert "工资表" in str(first[0])  # a merged title row above the header


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_deterministic_for_a_seed(tmp_path):
    a = generate_inbox(tmp_path / "a", 40, "2025-01", "2025-02", seed=9)
    b = generate_inbox(tmp_path / "b", 40, "2025-01", "2025-02", seed=9)
    assert a == b
    for path in (tmp_path / "a").iterdir():
        if path.suffix == ".csv":
            assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_ingest_accounts_for_every_row_and_the_planned_rejects(sample, con):
    folder, manifest = sample
    ingest_inbox(con, folder)
    loads = con.execute("SELECT status, sum(rows_read), count(*) FROM ingest.loads GROUP BY ALL").fetchall()
    assert loads == [("loaded", sum(manifest["files"].values()), len(manifest["files"]))]
    rejects = dict(con.execute("SELECT reason_code, count(*) FROM ingest.rejects GROUP BY ALL").fetchall())
    assert rejects == manifest["rejects"]
    ids = con.execute("SELECT DISTINCT id_number FROM staging.payroll").pl()["id_number"].to_list()
    invalid = [i for i in ids if not (len(i) == 18 and ric.calc_check_digit(i) == i[-1])]
    assert 0 < len(invalid) <= manifest["anomalies"]["invalid_id_number"]  # only the planted ones
    assert isinstance(con.execute("SELECT * FROM core.insurance LIMIT 5").pl(), pl.DataFrame)
