"""The close and finance (issue 14): a reader holding the read copy open never blocks a close, and a
correction close says what it moved, in its summary, its artifact and the export."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import PERIOD, query

# Holds one read-only connection to the read copy and queries it in a loop until told to stop.
READER = r"""
import json, sys, time
from pathlib import Path
import duckdb

path, stop, ready = sys.argv[1:4]
con = duckdb.connect(path, read_only=True)
queries, errors, periods = 0, [], set()
while not Path(stop).exists():
    for sql in ("SELECT max(period), count(*) FROM ledger.contributions",
                "SELECT count(*), sum(rows_read) FROM ingest.loads",
                "SELECT code, count(*) FROM quality.findings GROUP BY code"):
        try:
            result = con.execute(sql).fetchall()
            queries += 1
        except Exception as exc:
            errors.append(f"{queries}: {sql}: {str(exc)[:300]}")
        else:
            if "ledger" in sql:
                periods.add(result[0][0])
    Path(ready).touch()
    time.sleep(0.005)
con.close()
print(json.dumps({"queries": queries, "errors": errors, "periods": sorted(periods)}))
"""


@pytest.fixture(scope="module")
def closed_with_reader(prefect_harness, tmp_path_factory, acceptance_dir, acceptance_ingested):
    """Close 2024-02; then, while another process holds shebao_read.duckdb open and queries it in a loop,
    close 2024-03 on the same out folder. (folder, inbox, warehouse, out, summary, reader result)."""
    from flows.close import monthly_close

    folder = tmp_path_factory.mktemp("read_copy")
    inbox, warehouse, out = folder / "inbox", folder / "w.duckdb", folder / "out"
    shutil.copytree(acceptance_dir / "inbox", inbox)
    shutil.copy(acceptance_ingested, warehouse)  # the read copy is what is tested: the inbox is in already
    policy = str(acceptance_dir / "policy.csv")
    monthly_close(inbox=str(inbox), period="2024-02", warehouse=str(warehouse), out=str(out), policy=policy)
    stop, ready = folder / "stop", folder / "ready"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(out / "shebao_read.duckdb"), str(stop), str(ready)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and reader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), reader.stderr.read() if reader.poll() is not None else "the reader did not start"
        summary = monthly_close(inbox=str(inbox), period=PERIOD, warehouse=str(warehouse), out=str(out), policy=policy)
    finally:
        stop.touch()
        stdout, stderr = reader.communicate(timeout=60)
    assert reader.returncode == 0, stderr
    return folder, inbox, warehouse, out, summary, json.loads(stdout)


def test_a_reader_holding_the_read_copy_never_blocks_a_close(closed_with_reader):
    _, _, warehouse, out, summary, reader = closed_with_reader
    assert reader["errors"] == [] and reader["queries"] > 10
    assert reader["periods"][0] == "2024-02"
    assert summary["read_copy"]["relations"] >= 5 and "read_copy" in summary["seconds"]
    # reopened, the reader sees the new period, exactly as the warehouse holds it
    sql = "SELECT period, count(*), sum(employer_amount) FROM ledger.contributions GROUP BY 1 ORDER BY 1"
    assert query(out / "shebao_read.duckdb", sql) == query(warehouse, sql)
    assert [p for p, *_ in query(out / "shebao_read.duckdb", sql)] == ["2024-02", PERIOD]
    assert (out / "tables" / "ledger.contributions" / f"period={PERIOD}" / "data.parquet").is_file()


def _corrected_payroll(warehouse: Path, inbox: Path) -> tuple[str, str]:
    """A new payroll file for one entity's P in the inbox: the same rows, one person's gross_pay + 500
    (someone first paid in P whose base is that pay, so the ledger moves). Returns (entity, employee_id)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        entity, employee_id = con.execute(f"""
            SELECT c.entity, c.employee_id FROM ledger.current_contributions c
            JOIN ledger.employee_months m USING (period, entity, employee_id)
            WHERE c.period = '{PERIOD}' AND c.insurance_type = 'pension' AND c.base = m.gross_pay
              AND NOT EXISTS (SELECT 1 FROM core.payroll p WHERE p.entity = c.entity
                              AND p.employee_id = c.employee_id AND p.period < '{PERIOD}')
            ORDER BY ALL LIMIT 1""").fetchone()
        rows = con.execute(f"""
            SELECT period, employee_id, name, id_number_raw, entity, city_raw,
                   CASE WHEN employee_id = ? THEN gross_pay + 500 ELSE gross_pay END, net_pay, si_withheld
            FROM core.payroll WHERE period = '{PERIOD}' AND entity = ? ORDER BY row_number""",
                           [employee_id, entity]).fetchall()
    finally:
        con.close()
    (inbox / "工资表_202403_更正.csv").write_text(
        "工资月份,工号,姓名,身份证号,用人单位,社保缴纳地,应发工资,实发工资,个人社保\n"
        + "\n".join(",".join("" if v is None else str(v) for v in r) for r in rows) + "\n", encoding="utf-8")
    return entity, employee_id


def test_a_correction_close_says_what_moved(closed_with_reader, tmp_path, acceptance_dir):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.close import monthly_close

    folder, inbox, reference, reference_out, _, _ = closed_with_reader
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    shutil.copy(reference, warehouse)
    shutil.copytree(reference_out, out)
    shutil.copytree(inbox, tmp_path / "inbox")
    entity, employee_id = _corrected_payroll(warehouse, tmp_path / "inbox")
    february = out / "tables" / "ledger.contributions" / "period=2024-02" / "data.parquet"
    stamp = february.stat().st_mtime_ns
    summary = monthly_close(inbox=str(tmp_path / "inbox"), period=PERIOD, warehouse=str(warehouse), out=str(out),
                            policy=str(acceptance_dir / "policy.csv"))

    changes = summary["ledger"]["changes"]
    booked = query(warehouse, f"""SELECT insurance_type, employer_amount + employee_amount FROM ledger.contributions
                                  WHERE period = '{PERIOD}' AND entry_type = 'adjustment' ORDER BY 1""")
    moved = sum(amount for _, amount in booked)
    assert changes["people"] == 1 and Decimal(changes["total"]) == moved > 0
    assert sorted((c["insurance_type"], Decimal(c["total"])) for c in changes["by_entity_type"]) == booked
    assert {c["entity"] for c in changes["by_entity_type"]} == {entity}
    # the export: 本期调整 is exactly those rows, 调整汇总 says one person per type
    adjustments = pl.read_parquet(out / PERIOD / f"ledger_{PERIOD}_adjustments.parquet")
    assert set(adjustments["工号"]) == {employee_id} and adjustments.height == len(booked)
    assert set(pl.read_parquet(out / PERIOD / f"ledger_{PERIOD}_changes.parquet")["人数"]) == {1}
    # the close artifact says it, without personal data
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"close-{PERIOD}"])),
                                           sort=ArtifactSort.CREATED_DESC, limit=1)
    assert f"Adjustments: 1 people moved, +{moved}" in artifact.data
    [(name, id_number)] = query(warehouse, f"SELECT DISTINCT name, id_number FROM ledger.current_contributions "
                                           f"WHERE employee_id = '{employee_id}' AND entity = '{entity}'")
    assert name not in artifact.data and id_number not in artifact.data
    # the read copy: only what changed was rewritten (not February's ledger), and the adjustment rows are there
    assert february.stat().st_mtime_ns == stamp and summary["read_copy"]["partitions_kept"] >= 3
    assert query(out / "shebao_read.duckdb", "SELECT count(*) FROM ledger.contributions WHERE entry_type = 'adjustment'") \
        == [(len(booked),)]
