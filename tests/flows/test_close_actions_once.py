"""The close reads and renders the action list once (issue 28): its actions step renders the masked list for
the action workbook and keeps it for the per-entity files, which read nothing of the list again."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from conftest import PERIOD

from transforms.actions.cleanup import BY_TYPE


def _cells(path: Path) -> list[list[tuple]]:
    return [[tuple(c.value for c in row) for row in sheet.iter_rows()] for sheet in openpyxl.load_workbook(path)]


@pytest.mark.slow
def test_the_close_reads_the_action_list_once_and_writes_what_it_wrote(prefect_harness, close_reference,
                                                                       acceptance_dir, acceptance_copy, tmp_path,
                                                                       monkeypatch):
    from flows.close import monthly_close
    from transforms.actions import workbook

    read: list[str | None] = []
    reading = workbook.list_actions

    def listing(con, *args, **kwargs):  # every reader of the list goes through workbook.role_actions
        read.append(kwargs.get("action_type"))
        return reading(con, *args, **kwargs)

    monkeypatch.setattr(workbook, "list_actions", listing)
    folder, _, reference = close_reference
    out = tmp_path / "out"
    # what it tests begins after ingest: the close starts from the ingested sample (its inbox is in already)
    summary = monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(acceptance_copy),
                            out=str(out), policy=str(acceptance_dir / "policy.csv"))
    # each type once, by the actions step's rendering; neither its workbook nor the per-entity step reads again
    assert sorted(read) == sorted(BY_TYPE)
    assert "rendered" not in summary["actions"]
    assert summary["entities"] == reference["entities"]
    written = out / PERIOD
    assert _cells(written / "actions.xlsx") == _cells(folder / "out" / PERIOD / "actions.xlsx")
    for entity in summary["entities"]:
        name = entity["files"][2]
        assert _cells(written / "entities" / name) == _cells(folder / "out" / PERIOD / "entities" / name), name
    assert not [p.name for p in written.rglob(".ledger_*")]  # no spool outlives the close
