"""Roles on ``report``, ``export`` and ``actions`` (through ``flows.cli.main``, as the console script runs it):
the HR manager sees full IDs and may dismiss; HR staff see masked IDs and may not dismiss; finance gets
ledger exports with masked IDs and no findings. Every refusal is one sentence, exit 2, and audited."""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")
MASKED_ID = re.compile(r"(?<![0-9])\d{6}\*{8}[\dX]{4}")
PERIOD = "2024-03"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, acceptance_closed) -> Path:
    path = tmp_path_factory.mktemp("roles") / "w.duckdb"
    shutil.copy(acceptance_closed, path)  # dismissals and the audit write to it
    return path


@pytest.fixture()
def shebao(capfd, monkeypatch, tmp_path):
    """``shebao ARGS`` in this process: (exit code, stdout, stderr)."""
    from flows.cli import main

    monkeypatch.delenv("SHEBAO_WAREHOUSE_KEY", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        monkeypatch.setattr(sys, "argv", ["shebao", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capfd.readouterr()
        return code, out, err
    return run


def audit_rows(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT role, command, target, allowed FROM actions.audit ORDER BY occurred_at").fetchall()
    finally:
        con.close()


def _text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return "".join(archive.read(n).decode("utf-8", errors="replace") for n in archive.namelist())
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return "\n".join(str(v) for c in frame.columns for v in frame[c].to_list())
    return path.read_text(encoding="utf-8-sig")


def _refused(result: tuple[int, str, str], words: str) -> None:
    code, _, err = result
    assert code == 2, result
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and words in err, err


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
@pytest.mark.parametrize(("role", "full"), [("hr_manager", True), ("hr_staff", False), ("finance", False)])
def test_ledger_export_shows_full_ids_only_to_the_manager(warehouse, shebao, tmp_path, role, full, fmt):
    code, out, err = shebao("export", "--period", PERIOD, "--format", fmt, "--out", str(tmp_path / "x"), "--role",
                            role, "--warehouse", str(warehouse))
    assert code == 0, err
    text = _text(tmp_path / "x" / f"ledger_{PERIOD}.{fmt}")
    assert bool(FULL_ID.search(text)) is full
    assert bool(MASKED_ID.search(text)) is not full  # masked as 430102********1234, not dropped
    assert not FULL_ID.search(out + err)


def test_report_by_role(warehouse, shebao, tmp_path):
    for role, full in (("hr_manager", True), ("hr_staff", False)):
        code, _, err = shebao("report", "--period", PERIOD, "--role", role, "--out", str(tmp_path / role),
                              "--warehouse", str(warehouse))
        assert code == 0, err
        (html,) = (tmp_path / role / PERIOD).glob("*.html")
        text = html.read_text(encoding="utf-8")
        assert bool(FULL_ID.search(text)) is full
        assert full or MASKED_ID.search(text)
    _refused(shebao("report", "--period", PERIOD, "--role", "finance", "--out", str(tmp_path / "finance"),
                    "--warehouse", str(warehouse)), "finance")
    assert not (tmp_path / "finance" / PERIOD).exists() or not list((tmp_path / "finance" / PERIOD).glob("*.html"))
    assert ("finance", "report", PERIOD, False) in audit_rows(warehouse)


def test_action_list_and_dismissal_by_role(warehouse, shebao):
    code, staff, _ = shebao("actions", "list", "--role", "hr_staff", "--warehouse", str(warehouse))
    assert code == 0 and not FULL_ID.search(staff) and MASKED_ID.search(staff)
    code, manager, _ = shebao("actions", "list", "--role", "hr_manager", "--warehouse", str(warehouse))
    assert code == 0 and FULL_ID.search(manager)
    _refused(shebao("actions", "list", "--role", "finance", "--warehouse", str(warehouse)), "may not see the action list")
    action_id = manager.split()[0]
    for role in ("hr_staff", "finance"):
        _refused(shebao("actions", "dismiss", action_id, "--reason", "重复", "--role", role, "--warehouse",
                        str(warehouse)), "may not dismiss")
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT status FROM actions.cleanup_actions WHERE action_id = ?", [action_id]).fetchone() == (
        "open",), "a refused dismissal changed the action"
    con.close()
    code, _, err = shebao("actions", "dismiss", action_id, "--reason", "已线下处理", "--role", "hr_manager",
                          "--warehouse", str(warehouse))
    assert code == 0, err
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT status, dismissed_reason FROM actions.cleanup_actions WHERE action_id = ?",
                       [action_id]).fetchone() == ("dismissed", "已线下处理")
    con.close()
    rows = {(role, command, allowed) for role, command, _, allowed in audit_rows(warehouse)}
    assert {("hr_staff", "actions dismiss", False), ("finance", "actions dismiss", False),
            ("hr_manager", "actions dismiss", True), ("finance", "actions list", False)} <= rows


def test_unknown_role_is_a_sentence(warehouse, shebao, tmp_path):
    _refused(shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--role", "admin",
                    "--warehouse", str(warehouse)), "role 'admin' is unknown")


def test_audit_rows_carry_who_and_when(warehouse):
    """After the refusals above (module order): each audit row says who, as which role, and when."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("SELECT occurred_at, actor, role, command, allowed FROM actions.audit").fetchall()
    finally:
        con.close()
    assert rows and all(at is not None and actor for at, actor, _, _, _ in rows)
