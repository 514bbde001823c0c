"""The close fanned out on a Dask cluster gives what the threaded ``close_reference`` gave."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import FINDING_KEYS, LEDGER_TOTALS, PERIOD, query


@pytest.mark.slow
def test_dask_cluster_gives_identical_results(prefect_harness, close_reference, acceptance_dir, acceptance_copy,
                                              tmp_path):
    from distributed import LocalCluster

    from flows.close import monthly_close

    folder, reference, threaded = close_reference
    warehouse = acceptance_copy  # Dask fans out the per-entity files: the close starts with the inbox in already
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        fanned = monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(warehouse),
                               out=str(tmp_path / "out"), policy=str(acceptance_dir / "policy.csv"),
                               dask_address=cluster.scheduler_address)
    assert fanned["entities"] == threaded["entities"]
    assert query(warehouse, LEDGER_TOTALS) == query(reference, LEDGER_TOTALS)
    assert query(warehouse, FINDING_KEYS) == query(reference, FINDING_KEYS)
    for entity in threaded["entities"]:
        a = pl.read_parquet(folder / "out" / PERIOD / "entities" / entity["files"][1])
        b = pl.read_parquet(tmp_path / "out" / PERIOD / "entities" / entity["files"][1])
        assert a.equals(b)
