"""The outputs index (transforms/outputs/index.py) and the HR report's one writer."""

from __future__ import annotations

import importlib
from pathlib import Path

from expectations.validate import start_run, validate_period
from tests.expectations.conftest import id_number, make_warehouse
from transforms.outputs.index import OUTPUTS, markdown, owner, write_hr_report

DOCS = Path(__file__).resolve().parents[3] / "docs" / "outputs.md"


def test_docs_outputs_is_the_index():
    assert DOCS.read_text(encoding="utf-8") == markdown(), "regenerate docs/outputs.md from transforms.outputs.index.markdown()"


def test_every_output_names_a_writer_that_exists_a_reader_and_a_step():
    for output in OUTPUTS:
        module, _, function = output.writer.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function)), output.writer
        assert output.reader in ("HR", "finance", "engineer")
        assert output.step in ("validate", "actions", "export", "per_entity", "read_copy")


def test_a_file_belongs_to_one_output_and_a_stray_file_to_none():
    assert owner("2024-03/validation_report_R1_full_ids.html", "2024-03").name == "HR report with full IDs"
    assert owner("2024-03/validation_report_R1.html", "2024-03").step == "actions"
    assert owner("2024-03/transfer_forms/转移申请表_TRF-1.html", "2024-03").reader == "HR"
    assert owner("2024-03/ledger_2024-03_totals.parquet", "2024-03").reader == "finance"
    assert owner("2024-03/data_docs/index.html", "2024-03").step == "validate"
    assert owner("tables/ledger.contributions/data.parquet", "2024-03").step == "read_copy"
    assert owner("2024-03/notes.txt", "2024-03") is None
    assert owner("2024-02/actions.xlsx", "2024-03") is None


def test_the_hr_report_masked_always_full_ids_beside_it_for_the_manager(con, tmp_path):
    ident = id_number(birth="19900101", seq="123")
    wh = make_warehouse(con)
    wh.policy()
    wh.payroll(employee_id="E1", id_number=ident)
    wh.payroll(employee_id="E2", id_number=ident, row_number=2)
    wh.employee_month(employee_id="E1", id_number=ident)
    wh.ledger_run()
    start_run(con, "R1", "2024-03")
    validate_period(con, "2024-03", "R1")

    staff = write_hr_report(con, "R1", tmp_path / "staff", "hr_staff")
    assert staff["report_full_ids"] is None and ident not in Path(staff["report"]).read_text(encoding="utf-8")
    manager = write_hr_report(con, "R1", tmp_path / "manager", "hr_manager")
    assert ident not in Path(manager["report"]).read_text(encoding="utf-8")
    assert ident in Path(manager["report_full_ids"]).read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "manager").iterdir()) == ["validation_report_R1.html",
                                                                        "validation_report_R1_full_ids.html"]
    # the run's report is the masked one, whoever wrote it
    assert con.execute("SELECT report_path FROM quality.runs WHERE run_id = 'R1'").fetchone()[0] == manager["report"]
