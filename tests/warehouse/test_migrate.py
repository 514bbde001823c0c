"""Models: applied on a write connection only when the warehouse does not hold these exact models."""

from __future__ import annotations

from pathlib import Path

from warehouse.db import connect
from warehouse.migrate import MODELS_DIGEST


def _digest(con) -> str:
    return con.execute(MODELS_DIGEST).fetchone()[0]


def test_models_are_applied_again_only_when_they_changed(warehouse_path: Path):
    con = connect(warehouse_path)
    digest = _digest(con)
    con.execute("CREATE OR REPLACE VIEW ref.region_province AS SELECT 1 AS changed_by_hand")
    con.close()
    con = connect(warehouse_path)  # the same models: the connection leaves them as they are
    assert _digest(con) == digest
    assert [c[0] for c in con.execute("DESCRIBE ref.region_province").fetchall()] == ["changed_by_hand"]
    # models written by other code (here: a stale digest) are applied again, whole
    con.execute("COMMENT ON TABLE meta.schema_migrations IS 'models of older code'")
    con.close()
    con = connect(warehouse_path)
    assert _digest(con) == digest
    assert "changed_by_hand" not in [c[0] for c in con.execute("DESCRIBE ref.region_province").fetchall()]
    con.close()
