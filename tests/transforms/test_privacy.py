"""Masking: ID numbers never appear in full where the role may not see them."""

from __future__ import annotations

import duckdb

from transforms.privacy import mask_id, mask_id_sql, redact


def test_mask_keeps_area_and_last_four():
    assert mask_id("430102199001011234") == "430102********1234"
    assert mask_id("44011320141005001X") == "440113********001X"
    assert mask_id(None) is None


def test_sql_mask_equals_python_mask():
    ids = ["430102199001011234", "610104620927690", "123", "44011320141005001X"]
    got = duckdb.sql(f"SELECT {mask_id_sql('v')} FROM unnest(?::VARCHAR[]) t(v)", params=[ids]).fetchall()
    assert [r[0] for r in got] == [mask_id(i) for i in ids]


def test_redact_masks_ids_inside_text():
    text = "Could not convert '430102199001011234' and 610104620927690; employee E0012345 fine"
    out = redact(text)
    assert "430102199001011234" not in out and "610104620927690" not in out
    assert "430102********1234" in out and "E0012345" in out
