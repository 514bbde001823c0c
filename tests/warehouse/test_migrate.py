"""Models: applied on a write connection only when the warehouse does not hold these exact models."""

from __future__ import annotations

from pathlib import Path

from warehouse.db import connect


def _digest(con) -> str:
    return con.execute("SELECT meta.models_digest()").fetchone()[0]


def test_models_are_applied_again_only_when_they_changed(warehouse_path: Path):
    con = connect(warehouse_path)
    digest = _digest(con)
    con.execute("CREATE OR REPLACE VIEW ref.region_province AS SELECT 1 AS changed_by_hand")
    con.close()
    con = connect(warehouse_path)  # the same models: the connection leaves them as they are
    assert _digest(con) == digest
    assert [c[0] for c in con.execute("DESCRIBE ref.region_province").fetchall()] == ["changed_by_hand"]
    # models written by other code (here: a stale digest) are applied again, whole
    con.execute("CREATE OR REPLACE MACRO meta.models_digest() AS 'older models'")
    con.close()
    con = connect(warehouse_path)
    assert _digest(con) == digest
    assert "changed_by_hand" not in [c[0] for c in con.execute("DESCRIBE ref.region_province").fetchall()]
    con.close()
