"""Roles on report, export and actions: what each may see and do; refusals are sentences, audited."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, acceptance_closed) -> Path:
    path = tmp_path_factory.mktemp("roles") / "w.duckdb"
    shutil.copy(acceptance_closed, path)  # dismissals and the audit write to it
    return path


def shebao(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**env, "PYTHONPATH": str(REPO)}, timeout=300)


def audit_rows(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT role, command, allowed FROM actions.audit ORDER BY occurred_at").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(("role", "full"), [("hr_manager", True), ("hr_staff", False), ("finance", False)])
def test_export_shows_full_ids_only_to_the_manager(warehouse, tmp_path, role, full):
    result = shebao("export", "--period", "2024-03", "--format", "csv", "--out", str(tmp_path), "--role", role,
                    "--warehouse", str(warehouse), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "ledger_2024-03.csv").read_text(encoding="utf-8-sig")
    assert bool(FULL_ID.search(text)) is full


def test_report_for_staff_is_masked_and_finance_is_refused_and_audited(warehouse, tmp_path):
    staff = shebao("report", "--period", "2024-03", "--role", "hr_staff", "--out", str(tmp_path),
                   "--warehouse", str(warehouse), cwd=tmp_path)
    assert staff.returncode == 0, staff.stderr
    html = next((tmp_path / "2024-03").glob("*.html")).read_text(encoding="utf-8")
    assert not FULL_ID.search(html)
    finance = shebao("report", "--period", "2024-03", "--role", "finance", "--out", str(tmp_path),
                     "--warehouse", str(warehouse), cwd=tmp_path)
    assert finance.returncode == 2 and "Traceback" not in finance.stderr
    assert len(finance.stderr.strip().splitlines()) == 1
    assert ("finance", "report", False) in audit_rows(warehouse)


def test_actions_list_and_dismiss_by_role(warehouse, tmp_path):
    staff = shebao("actions", "list", "--role", "hr_staff", "--warehouse", str(warehouse), cwd=tmp_path)
    assert staff.returncode == 0 and not FULL_ID.search(staff.stdout)
    manager = shebao("actions", "list", "--role", "hr_manager", "--warehouse", str(warehouse), cwd=tmp_path)
    assert FULL_ID.search(manager.stdout)
    finance = shebao("actions", "list", "--role", "finance", "--warehouse", str(warehouse), cwd=tmp_path)
    assert finance.returncode == 2 and "may not see the action list" in finance.stderr
    action_id = manager.stdout.split()[0]
    refused = shebao("actions", "dismiss", action_id, "--reason", "重复", "--role", "hr_staff",
                     "--warehouse", str(warehouse), cwd=tmp_path)
    assert refused.returncode == 2 and "may not dismiss" in refused.stderr
    allowed = shebao("actions", "dismiss", action_id, "--reason", "已线下处理", "--role", "hr_manager",
                     "--warehouse", str(warehouse), cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    rows = audit_rows(warehouse)
    assert ("hr_staff", "actions dismiss", False) in rows and ("hr_manager", "actions dismiss", True) in rows
    assert ("finance", "actions list", False) in rows
