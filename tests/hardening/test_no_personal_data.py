"""No full ID number in any log line, Prefect artifact, exception text, report or export made for a
role other than the HR manager."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

from transforms.sample import generate_inbox

ID_LIKE = re.compile(rb"(?<![0-9])(\d{17}[\dXx]|\d{15})(?![0-9])")


def _texts(folder: Path):
    """Every output file as bytes to scan (xlsx unzipped, Parquet as its string values)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                data = b"".join(archive.read(name) for name in archive.namelist())
        elif path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            data = "\n".join(str(v) for c in frame.columns for v in frame[c].to_list()).encode()
        yield path, data


@pytest.mark.slow
def test_close_leaks_no_id_numbers(prefect_harness, tmp_path, caplog, capfd):
    from prefect.client.orchestration import get_client

    from flows.close import monthly_close
    from warehouse.errors import ShebaoError

    inbox = tmp_path / "inbox"
    generate_inbox(inbox, 150, "2025-02", "2025-03", seed=11)
    warehouse = tmp_path / "w.duckdb"
    caplog.set_level(logging.DEBUG)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    watched = [logging.getLogger(name) for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs")]
    for logger in watched:
        logger.addHandler(handler)
    monthly_close(inbox=str(inbox), period="2025-03", warehouse=str(warehouse), out=str(tmp_path / "out"))
    errors = []
    for bad in ({"inbox": str(tmp_path / "missing")}, {"policy": str(tmp_path / "missing.csv")}):
        try:
            monthly_close(**({"inbox": str(inbox), "period": "2025-03", "warehouse": str(warehouse),
                              "out": str(tmp_path / "out")} | bad))
        except (ShebaoError, Exception) as exc:  # noqa: BLE001 - every failure's text is scanned
            errors.append(str(exc))
    assert len(errors) == 2
    for logger in watched:
        logger.removeHandler(handler)

    con = duckdb.connect(str(warehouse), read_only=True)
    known = {r[0].encode() for r in con.execute(
        "SELECT id_number FROM staging.payroll UNION SELECT id_number_raw FROM staging.payroll"
        " UNION SELECT id_number FROM staging.insurance UNION SELECT id_number FROM staging.transfers").fetchall()
        if r[0] and len(r[0]) in (15, 18)}
    con.close()
    assert len(known) > 100
    # the matcher does find them where they are meant to be: in the warehouse itself
    assert {m for m in ID_LIKE.findall(warehouse.read_bytes()) if m in known}

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    sources = {"logs": "\n".join(r.getMessage() for r in records + caplog.records).encode(),
               "console": "".join(capfd.readouterr()).encode(),
               "artifacts": "\n".join(str(a.data) for a in artifacts).encode(),
               "errors": "\n".join(errors).encode()}
    assert artifacts and sources["logs"]
    for path, data in _texts(tmp_path / "out"):
        sources[str(path.relative_to(tmp_path))] = data
    scanned = sum(len(d) for d in sources.values())
    leaks = {name: sorted({m for m in ID_LIKE.findall(data) if m.upper() in known or m in known})
             for name, data in sources.items()}
    leaks = {name: found for name, found in leaks.items() if found}
    print(f"scanned {scanned:,} bytes in {len(sources)} sources: {sum(map(len, leaks.values()))} ID numbers found")
    assert leaks == {}
    assert any(name.endswith(".html") for name in sources) and any(name.endswith(".xlsx") for name in sources)
