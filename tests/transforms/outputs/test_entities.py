"""Per-entity outputs: every entity its own files, the same files from run to run (issue 18.5, 18.8)."""

from __future__ import annotations

import re
from decimal import Decimal

import polars as pl
import pytest

from transforms.actions.cleanup import list_actions
from transforms.outputs.entities import entity_stems, file_stem, write_entity_outputs

CLASHING = ["Acme Co.", "Acme Co", "华南 科技", "华南_科技", "华南:科技", "华南/科技"]
FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")


def _ledger(entity: str, employee_id: str) -> pl.DataFrame:
    money = pl.Decimal(14, 2)
    return pl.DataFrame({
        "period": ["2024-03"], "entity": [entity], "employee_id": [employee_id], "name": ["王芳"],
        "id_number": ["430102********1234"], "region": ["长沙"], "insurance_type": ["pension"],
        "base": pl.Series([Decimal("8000.00")], dtype=money), "month_fraction": [Decimal("1")],
        "employer_rate": [Decimal("0.16")], "employee_rate": [Decimal("0.08")],
        "employer_amount": pl.Series([Decimal("1280.00")], dtype=money),
        "employee_amount": pl.Series([Decimal("640.00")], dtype=money),
        "total_amount": pl.Series([Decimal("1920.00")], dtype=money),
        "gross_pay": pl.Series([Decimal("8000.00")], dtype=money),
        "si_withheld": pl.Series([Decimal("640.00")], dtype=money),
        "policy_verified": ["secondary"],
    })


@pytest.fixture()
def no_actions(con) -> pl.DataFrame:
    from transforms.actions.cleanup import list_actions
    from transforms.actions.workbook import readable_actions

    return readable_actions(con, list_actions(con), False)  # the real (empty) action list of a new warehouse


def test_entities_whose_names_clean_alike_get_their_own_files(tmp_path, no_actions):
    stems = entity_stems(CLASHING)
    assert len(set(stems.values())) == len(CLASHING), stems
    for number, entity in enumerate(CLASHING):
        write_entity_outputs(entity, _ledger(entity, f"E{number}"), no_actions, tmp_path, stems[entity])
    for number, entity in enumerate(CLASHING):
        frame = pl.read_parquet(tmp_path / f"{stems[entity]}.parquet")
        assert frame["工号"].to_list() == [f"E{number}"], (entity, stems[entity])  # finance reads Chinese headers


def test_the_same_entity_always_gets_the_same_stem():
    alone = entity_stems(["Acme Co."])["Acme Co."]
    assert entity_stems(CLASHING)["Acme Co."] == alone == file_stem("Acme Co.")
    assert entity_stems(list(reversed(CLASHING))) == entity_stems(CLASHING)
    assert file_stem("星城智造(长沙)有限公司") == "星城智造(长沙)有限公司"  # a clean name is kept as it is


@pytest.mark.parametrize("entity", ["星城智造" * 200, "a" * 300, "有限公司 430102199001011234 " * 20])
def test_long_names_give_bounded_file_names(tmp_path, entity, no_actions):
    stem = file_stem(entity)
    assert len(stem.encode("utf-8")) <= 100
    result = write_entity_outputs(entity, _ledger(entity, "E1"), no_actions, tmp_path)
    assert all((tmp_path / name).exists() for name in result["files"])
    assert file_stem(entity) == stem


def test_an_id_in_the_name_never_reaches_the_file_name():
    for entity in ("430102199001011234", "有限公司430102 1990 0101 1234", "有限公司４３０１０２１９９００１０１１２３４"):
        stem = file_stem(entity)
        assert not FULL_ID.search(stem) and "1990" not in stem.replace(" ", ""), stem
    # two names differing only inside the masked digits still get two files
    pair = ["公司430102199001011234", "公司430102199102021234"]
    assert len(set(entity_stems(pair).values())) == 2


def test_the_close_splits_the_finance_detail_it_exported(acceptance_closed):
    """The close hands its masked finance 缴费明细 to the per-entity split instead of querying it again: the
    slices must be those the split makes on its own (the default role's masked view)."""
    from transforms.outputs.entities import entity_slices
    from transforms.outputs.export import detail_table, export_tables
    from warehouse.db import opened

    with opened(acceptance_closed) as con:
        queried = entity_slices(con, "2024-03")
        shared = entity_slices(con, "2024-03", detail_table(export_tables(con, "2024-03", role="finance")))
    assert [entity for entity, _, _ in shared] == [entity for entity, _, _ in queried]
    assert sum(ledger.chunks().height for _, ledger, _ in shared) > 0
    for (_, ledger, actions), (_, ledger_queried, actions_queried) in zip(shared, queried, strict=True):
        assert _whole(ledger).equals(_whole(ledger_queried))
        assert _whole(actions).equals(_whole(actions_queried))


def _whole(ledger) -> pl.DataFrame:
    """An entity's spooled ledger rows, read whole (small data)."""
    rows = ledger.chunks()
    frame = pl.concat(list(rows.frames()))
    assert frame.height == rows.height
    return frame


def test_an_entity_read_from_the_spool_in_chunks_writes_what_its_frame_writes(acceptance_closed, tmp_path,
                                                                                monkeypatch):
    """Each per-entity task reads its entity's rows from the spool a chunk at a time (chunks of 50 rows here,
    an entity's rows spread over several): its files and totals are those its rows written whole give."""
    import openpyxl

    from transforms.outputs import export
    from transforms.outputs.entities import entity_slices
    from warehouse.db import connect

    monkeypatch.setattr(export, "SPOOL_ROWS", 50)
    con = connect(acceptance_closed, read_only=True)
    try:
        slices = entity_slices(con, "2024-03")
    finally:
        con.close()
    assert max(len([g for g in ledger.spool.groups if entity in g]) for entity, ledger, _ in slices) > 1

    def cells(path):
        return [[tuple(c.value for c in row) for row in sheet.iter_rows()] for sheet in openpyxl.load_workbook(path)]

    from transforms.actions.cleanup import BY_TYPE

    for entity, ledger, actions in slices:
        # the actions are read a type at a time: each spooled group is one type's (BY_TYPE's order)
        for index, code in enumerate(BY_TYPE):
            assert set(pl.concat(list(actions.chunks(index).frames())).get_column("action_type")) <= {code}
        spooled = write_entity_outputs(entity, ledger, actions, tmp_path / "spooled")
        whole = write_entity_outputs(entity, _whole(ledger), _whole(actions), tmp_path / "whole")
        assert spooled == whole
        for name in spooled["files"]:
            if name.endswith(".xlsx"):
                assert cells(tmp_path / "spooled" / name) == cells(tmp_path / "whole" / name)
            else:
                assert pl.read_parquet(tmp_path / "spooled" / name).equals(pl.read_parquet(tmp_path / "whole" / name))


def _actions(slices) -> pl.DataFrame:
    return pl.concat([_whole(actions) for _, _, actions in slices])


def test_the_split_reads_no_action_list_when_the_close_rendered_it(acceptance_closed, tmp_path, monkeypatch):
    """The close's actions step renders the masked list once (its workbook reads it too): the per-entity split
    takes its actions from there, without reading or rendering the list again, and gets the same slices."""
    from transforms.outputs import entities
    from warehouse.db import opened

    with opened(acceptance_closed, read_only=True) as con:
        expected = entities.entity_slices(con, "2024-03")
        rendered = entities.render_actions(con, tmp_path)
        read: list[str] = []
        reading = entities.role_actions

        def listing(con, code, *args, **kwargs):
            read.append(code)
            return reading(con, code, *args, **kwargs)

        monkeypatch.setattr(entities, "role_actions", listing)
        slices = entities.entity_slices(con, "2024-03", actions=rendered)
    assert read == []
    assert {id(actions.spool) for _, _, actions in slices} == {id(rendered.spool)}
    assert [entity for entity, _, _ in slices] == [entity for entity, _, _ in expected]
    assert _actions(slices).equals(_actions(expected)) and _actions(slices).height > 0
    spooled = rendered.spool.path
    assert spooled.parent == tmp_path and spooled.exists()
    del rendered, slices
    assert not spooled.exists()  # the file goes with its last holder


@pytest.mark.parametrize("change", ["dismissed", "submitted", "a new check registry"])
def test_a_rendering_of_a_list_since_changed_is_never_used(acceptance_closed, tmp_path, change):
    """A rendering is used only while the list reads the same (its version, taken before it was read): after
    any change to the actions, or to the registry their text comes from, the split reads the list again."""
    import shutil

    from transforms.actions.cleanup import dismiss
    from transforms.actions.status_updates import submit
    from transforms.outputs.entities import entity_slices, render_actions
    from warehouse.db import opened

    shutil.copy(acceptance_closed, tmp_path / "w.duckdb")
    with opened(tmp_path / "w.duckdb") as con:
        rendered = render_actions(con, tmp_path)
        assert rendered.current(con)
        (action,) = con.execute("SELECT action_id FROM actions.cleanup_actions WHERE status = 'open' "
                                "ORDER BY action_id LIMIT 1").fetchone()
        if change == "dismissed":
            dismiss(con, action, "线下已办", role="hr_manager")
        elif change == "submitted":
            submit(con, action, "已在网上申报", role="hr_staff")
        else:
            con.execute("UPDATE quality.checks SET title_zh = title_zh || '（新）'")
        assert not rendered.current(con)
        slices = entity_slices(con, "2024-03", actions=rendered)
        fresh = entity_slices(con, "2024-03")
    assert {id(actions.spool) for _, _, actions in slices}.isdisjoint({id(rendered.spool)})
    assert _actions(slices).equals(_actions(fresh))
    if change == "a new check registry":
        assert _actions(slices)["problems"].str.contains("（新）").any()
    else:
        assert _actions(slices).filter(pl.col("action_id") == action)["status"].to_list() != ["open"]


def test_a_rendered_type_with_no_actions_is_its_columns(con, tmp_path):
    """Most types have no action in a small close: the rendering hands the workbook an empty frame with the
    list's columns for each, the workbook writes an empty sheet from it, and the spool holds every type."""
    from transforms.actions.cleanup import BY_TYPE
    from transforms.actions.workbook import readable_actions, write_workbook
    from transforms.outputs.entities import ActionRendering

    rendering = ActionRendering(con, tmp_path)
    handed: dict[str, pl.DataFrame] = {}

    def rows(code: str) -> pl.DataFrame:
        handed[code] = rendering.rows(code)
        return handed[code]

    path = write_workbook(con, tmp_path / "actions.xlsx", None, rows)
    rendered = rendering.done()
    assert path.exists() and list(handed) == list(BY_TYPE)
    for code, frame in handed.items():
        assert frame.is_empty() and frame.schema == readable_actions(con, list_actions(con, action_type=code), False).schema
    assert rendered.spool.path.exists() and not rendered.spool.entities()


def test_a_rendering_is_every_type_once_in_order_and_an_unfinished_one_leaves_no_file(con, tmp_path):
    """The workbook asks for each type's rows in BY_TYPE order as it writes its sheets, and the spool holds the
    types in that order (write_entity_outputs reads a type's group by its position): a type asked for out of
    turn, or a rendering taken before every type was, is an error, and an unfinished one's file is deleted."""
    from transforms.actions.cleanup import BY_TYPE
    from transforms.outputs.entities import ActionRendering

    codes = list(BY_TYPE)
    rendering = ActionRendering(con, tmp_path)
    rendering.rows(codes[0])
    with pytest.raises(ValueError, match="BY_TYPE order"):
        rendering.rows(codes[2])
    with pytest.raises(ValueError, match="not rendered whole"):
        rendering.done()
    assert [p.name for p in tmp_path.glob(".ledger_*")]
    rendering.discard()
    assert not list(tmp_path.glob(".ledger_*"))
