"""Masking: ID numbers never appear in full where the role may not see them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from transforms.common.privacy import mask_id, mask_id_sql, redact


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


FORMS = [  # every form the ID normaliser accepts (SPEC §2), as it may sit in a name, city or entity cell
    "430102199001011234", "430102 1990 0101 1234", "430102\u00a0199001011234", "430102\u3000199001011234",
    "4301\u200b0219900101\u200d1234", "43010219900101\u2060123\ufeff4", "'430102199001011234",
    "４３０１０２１９９００１０１１２３４", "４３０１０２ １９９００１０１ １２３ｘ", "430102\t19900101\t123x",
    "430102-19900101-1234",
]


def test_redact_matches_every_form_the_normaliser_accepts():
    for form in FORMS:
        for text in (form, f"王芳{form}", f"长沙 {form} 公司", f"ID{form}x"):
            out = redact(text)
            digits = "".join(ch for ch in out if ch.isdigit())
            assert "19900101" not in digits and "900101" not in digits, (text, out)
            assert "430102" in out and "*" in out, (text, out)
    assert redact("610104 620927 690") == "610104*****7690"  # 15 digits, spaced


def test_redact_leaves_ordinary_numbers_alone():
    for text in ("E0012345", "2024-03-05", "金额 10000.00 12000.00", "4301021990010112345678", "13812345678"):
        assert redact(text) == text


def test_redact_frame_redacts_every_text_column():
    import polars as pl

    from transforms.common.privacy import redact_frame

    frame = pl.DataFrame({"entity": ["公司 430102 19900101 1234", "公司"], "n": [1, 2], "city": [None, "４３０１０２１９９００１０１１２３４"]})
    out = redact_frame(frame)
    assert out["entity"].to_list() == ["公司 430102********1234", "公司"]
    assert out["city"].to_list() == [None, "430102********1234"] and out["n"].to_list() == [1, 2]


def test_redact_frame_leaves_columns_without_ids_as_they_are():
    import polars as pl

    from transforms.common.privacy import redact_frame

    frame = pl.DataFrame({"name": ["张三", None], "id": ["x", "430102199001011234"], "note": [None, None]},
                         schema_overrides={"note": pl.String})
    out = redact_frame(frame)
    assert out.columns == frame.columns and out.schema == frame.schema
    assert out["id"].to_list() == ["x", "430102********1234"]
    assert out.drop("id").equals(frame.drop("id"))
    assert redact_frame(frame.clear()).equals(frame.clear())


def test_exceptions_leave_a_redacting_function_without_full_ids():
    import pickle

    import pytest

    from transforms.common.privacy import redacting

    @redacting
    def fails():
        try:
            Path("/nonexistent/星城_430102199001011234.xlsx").read_bytes()
        except OSError as exc:
            raise ValueError("could not write 430102 19900101 1234's file") from exc

    with pytest.raises(ValueError) as caught:
        fails()
    chain = [caught.value, caught.value.__cause__]
    text = "".join(repr(e) + str(e) + str(pickle.loads(pickle.dumps(e))) for e in chain)
    assert "19900101" not in text.replace(" ", "") and "430102********1234" in text
    assert isinstance(caught.value.__cause__, FileNotFoundError)  # the type is kept (the CLI sorts by it)


# What free text around ID numbers is made of: digits of three scripts, the separators the rule allows inside
# an ID, the check letters, JSON punctuation, letters and Chinese.
_PARTS = ["430102199001011234", "44011320141005001X", "610104620927690", "４３０１０２１９９００１０１１２３４",
          "4301 0219 9001 0112 34", "4301-0219-9001-0112-34", "43010219900101\u200b1234", "٤٣٠١٠٢١٩٩٠٠١٠١١٢٣٤",
          "1", "20", "2024-03", "-", " ", "\u00a0", "x", "X", '"', ",", ":", "{", "}", "[", "]", "ID", "张三", "，"]


def _redacts_as_redact(texts: list) -> None:
    import polars as pl

    from transforms.common.privacy import redact_series

    series = pl.Series("t", texts, dtype=pl.String)
    assert redact_series(series).to_list() == [redact(t) if t is not None else None for t in texts]


def test_redact_series_equals_redact_on_every_value():
    """The column rule is Python's rule, value by value, on each of its paths: long text with a few IDs
    (replaced at once), an ID inside a longer run of digits (cut into tokens), a column of IDs."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    text = st.lists(st.sampled_from(_PARTS), max_size=40).map("".join)

    filler = "说明：" + "没有号码的长文本，" * 400

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(text, st.none()), max_size=12), st.booleans())
    def check(texts, long):
        _redacts_as_redact([filler + t if long and t is not None else t for t in texts])

    check()
    _redacts_as_redact([filler + '{"id": "430102199001011234", "n": 1}', filler, None, "ID430102199001011234"])
    _redacts_as_redact([filler + "430102199001011234", filler + "1430102199001011234 5", "430102199001011234"])
    _redacts_as_redact(["430102199001011234", "44011320141005001X", "4301021990010112345"])
