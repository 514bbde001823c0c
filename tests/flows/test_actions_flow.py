"""The actions flow and ``shebao actions`` on the closed acceptance warehouse, real Prefect (temporary server)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from flows.cli_actions import format_table
from transforms.common.roles import PermissionDenied
from warehouse.db import opened
from warehouse.errors import ShebaoError

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")


@pytest.fixture()
def closed(acceptance_closed, tmp_path) -> Path:
    path = tmp_path / "closed.duckdb"
    shutil.copy(acceptance_closed, path)
    return path


def _people(path: Path) -> tuple[list[str], list[str]]:
    with opened(path, read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT DISTINCT id_number FROM core.payroll WHERE period = '2024-03'"
                                         " AND length(id_number) = 18").fetchall()]
        names = [r[0] for r in con.execute("SELECT DISTINCT name FROM core.payroll WHERE period = '2024-03'").fetchall()]
    return ids, names


@pytest.mark.slow
def test_flow_writes_the_workbook_and_forms_and_publishes_no_personal_data(prefect_harness, closed, tmp_path):
    from flows.actions import actions_flow, markdown

    before = _ids(closed)
    summary = actions_flow("2024-03", warehouse=str(closed), out=str(tmp_path / "out"))
    assert _ids(closed) == before                       # the month's latest run again: same actions
    workbook = Path(summary["workbook"])
    assert workbook == tmp_path / "out" / "2024-03" / "actions.xlsx"
    assert openpyxl.load_workbook(workbook).sheetnames[0] == "汇总"
    with opened(closed, read_only=True) as con:
        open_transfers = con.execute("SELECT count(*) FROM actions.cleanup_actions WHERE action_type ="
                                     " 'INITIATE_TRANSFER' AND status = 'open'").fetchone()[0]
    assert summary["forms"] == open_transfers > 0
    assert len(list((tmp_path / "out" / "2024-03" / "transfer_forms").glob("*.html"))) == open_transfers
    assert sum(summary["by_status"].values()) == len(before)
    assert summary["by_type"]["INITIATE_TRANSFER"]["open"] == open_transfers
    published = json.dumps(summary, ensure_ascii=False) + markdown("2024-03", summary)
    ids, names = _people(closed)
    assert not FULL_ID.search(published)
    assert not [n for n in names if n and n in published]
    assert "| INITIATE_TRANSFER | " in markdown("2024-03", summary)


@pytest.mark.slow
def test_the_writers_query_duckdb_at_half_its_limit(prefect_harness, closed, tmp_path, monkeypatch):
    """DuckDB keeps what the step reads cached up to its limit, resident beside the files being written (at
    1,000,000 employees the step peaked at 1,848 and 2,197 MB alone): every writer runs at half the limit; the
    action list's update, which needs it, at the whole limit."""
    import flows.actions as actions

    limits: dict[str, str] = {}

    def recording(name: str, run):
        def call(con, *args, **kwargs):
            limits[name] = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
            return run(con, *args, **kwargs)
        return call

    steps = ("update_actions", "write_hr_report", "write_action_workbook", "write_transfer_forms",
             "write_hr_declarations")
    for name in steps:
        monkeypatch.setattr(actions, name, recording(name, getattr(actions, name)))
    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "1GB")
    actions.actions_flow("2024-03", warehouse=str(closed), out=str(tmp_path / "out"))
    assert limits == dict.fromkeys(steps, "476.8 MiB") | {"update_actions": "953.6 MiB"}


@pytest.mark.slow
def test_the_hr_files_are_written_with_the_heap_before_them_frozen(prefect_harness, closed, tmp_path, monkeypatch):
    """The objects alive before the HR files are written are kept out of the collector's full passes while they
    are written (gc.freeze), and given back to it after, also when a writer fails."""
    import gc

    import flows.actions as actions

    frozen: dict[str, int] = {}

    def recording(name: str, run):
        def call(*args, **kwargs):
            frozen[name] = gc.get_freeze_count()
            return run(*args, **kwargs)
        return call

    writers = ("write_hr_report", "write_action_workbook", "write_transfer_forms", "write_hr_declarations")
    for name in writers:
        monkeypatch.setattr(actions, name, recording(name, getattr(actions, name)))
    assert gc.get_freeze_count() == 0
    actions.actions_flow("2024-03", warehouse=str(closed), out=str(tmp_path / "out"))
    assert set(frozen) == set(writers) and min(frozen.values()) > 0
    assert gc.get_freeze_count() == 0

    with pytest.raises(RuntimeError), actions._collected_apart():  # a writer failing inside: the heap given back
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the forms failed")
    assert gc.get_freeze_count() == 0


def _ids(path: Path) -> list[tuple]:
    with opened(path, read_only=True) as con:
        return con.execute("SELECT action_id, status FROM actions.cleanup_actions ORDER BY 1").fetchall()


@pytest.mark.slow
def test_flow_needs_a_validation_run(prefect_harness, warehouse_path, tmp_path):
    from flows.actions import actions_flow

    with pytest.raises(ShebaoError, match=r"No validation run for 2024-03 yet; run `shebao validate"):
        actions_flow("2024-03", warehouse=str(warehouse_path), out=str(tmp_path))


@pytest.mark.slow
def test_cli_run_both_spellings(prefect_harness, closed, tmp_path):
    from flows.cli import app

    runner = CliRunner()
    for args in (["actions", "run"], ["actions"]):
        result = runner.invoke(app, [*args, "--period", "2024-03", "--warehouse", str(closed), "--out",
                                     str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        assert "2024-03: actions open" in result.output
        assert f"Workbook: {tmp_path / 'out' / '2024-03' / 'actions.xlsx'}" in result.output
        assert not FULL_ID.search(result.output)


def test_cli_list_is_a_table_masked_for_staff_full_for_the_manager(closed):
    from flows.cli import app

    runner = CliRunner()
    staff = runner.invoke(app, ["actions", "list", "--status", "open", "--type", "ADJUST_BASE",
                                "--warehouse", str(closed)])
    assert staff.exit_code == 0, staff.output
    lines = staff.output.splitlines()
    assert lines[0].split()[:4] == ["编号", "类型", "状态", "级别"] and set(lines[1]) <= {"-", " "}
    body = lines[2:-1]
    assert body and all(line.startswith("ADJ-") and " ADJUST_BASE " in line and " open " in line for line in body)
    assert lines[-1] == f"{len(body)} actions."
    assert staff.stdout.split()[0].startswith("ADJ-")   # stdout: one action per line, its id first
    assert not FULL_ID.search(staff.output) and "********" in staff.output
    manager = runner.invoke(app, ["actions", "list", "--full-ids", "--warehouse", str(closed)])
    assert FULL_ID.search(manager.output)
    wrong = runner.invoke(app, ["actions", "list", "--status", "closed", "--warehouse", str(closed)])
    assert isinstance(wrong.exception, ShebaoError) and "status 'closed' is unknown" in str(wrong.exception)


def test_cli_dismiss_only_for_the_manager_refusals_audited_unknown_id_one_sentence(closed):
    from flows.cli import app

    runner = CliRunner()
    with opened(closed, read_only=True) as con:
        action_id = con.execute("SELECT min(action_id) FROM actions.cleanup_actions WHERE status = 'open'").fetchone()[0]
    base = ["--warehouse", str(closed)]
    refused = runner.invoke(app, ["actions", "dismiss", action_id, "--reason", "重复", "--role", "hr_staff", *base])
    assert isinstance(refused.exception, PermissionDenied)
    unknown = runner.invoke(app, ["actions", "dismiss", "ADJ-000000000000", "--reason", "x", "--role", "hr_manager",
                                  *base])
    assert isinstance(unknown.exception, ShebaoError)
    assert str(unknown.exception) == ("There is no action ADJ-000000000000; `shebao actions list` shows the action "
                                      "ids.")
    done = runner.invoke(app, ["actions", "dismiss", action_id, "--reason", "已人工核实", "--role", "hr_manager", *base])
    assert done.exit_code == 0 and done.output.strip() == f"{action_id} dismissed."
    with opened(closed, read_only=True) as con:
        audit = con.execute("SELECT role, command, target, allowed FROM actions.audit WHERE command = 'actions dismiss'"
                            " ORDER BY occurred_at").fetchall()
        status = con.execute("SELECT status FROM actions.cleanup_actions WHERE action_id = ?", [action_id]).fetchone()
    assert audit == [("hr_staff", "actions dismiss", action_id, False), ("hr_manager", "actions dismiss", action_id, True)]
    assert status == ("dismissed",)


def test_format_table_aligns_chinese_text():
    table = format_table([{"action_id": "ADJ-1", "action_type": "ADJUST_BASE", "status": "open", "severity": "error",
                           "seen": "2024-01..2024-03", "entity": "长沙甲公司", "employee_id": "E1", "name": "张三",
                           "id_number": "430102********1234", "finding_codes": "BASE_MISMATCH"},
                          {"action_id": "ADJ-22", "action_type": "ADJUST_BASE", "status": "open", "severity": "error",
                           "seen": "2024-03..2024-03", "entity": "乙", "employee_id": "E22", "name": "欧阳娜娜",
                           "id_number": None, "finding_codes": "BASE_MISMATCH"}])
    header, rule, first, second = table.splitlines()
    # the column after 姓名 starts at the same display column in every row
    from flows.cli_actions import _width

    def column_of(line: str, text: str) -> int:
        return _width(line[:line.index(text)])

    assert column_of(first, "430102") == column_of(header, "身份证号")
    assert column_of(first, "BASE_MISMATCH") == column_of(second, "BASE_MISMATCH") == column_of(header, "问题代码")


def _cells(path: Path) -> list[list[tuple]]:
    return [[tuple(c.value for c in row) for row in sheet.iter_rows()] for sheet in openpyxl.load_workbook(path)]


@pytest.mark.slow
def test_only_a_close_keeps_the_action_list_it_rendered(prefect_harness, closed, tmp_path):
    """`shebao actions` alone renders the list for its workbook only, and leaves nothing behind; a close's
    actions step (``for_entities``) keeps the masked list it rendered, in the per-entity folder a Dask worker
    sees, for its per-entity step, and writes the same workbook from it. A manager's full-ID workbook renders
    its own rows: nothing is kept for the per-entity files then."""
    from flows.actions import actions_flow

    alone = actions_flow("2024-03", warehouse=str(closed), out=str(tmp_path / "alone"))
    assert "rendered" not in alone and not (tmp_path / "alone" / "2024-03" / "entities").exists()
    kept = actions_flow("2024-03", warehouse=str(closed), out=str(tmp_path / "close"), for_entities=True)
    rendered = kept.pop("rendered").value
    assert rendered.spool.path.parent == tmp_path / "close" / "2024-03" / "entities"
    with opened(closed, read_only=True) as con:
        assert rendered.current(con)
    assert _cells(Path(kept["workbook"])) == _cells(Path(alone["workbook"]))
    full = actions_flow("2024-03", warehouse=str(closed), out=str(tmp_path / "full"), role="hr_manager",
                        full_ids=True, for_entities=True)
    assert "rendered" not in full
