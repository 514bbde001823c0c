"""The HR action workbook and the transfer application forms: openable, masked, rendered in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from transforms.actions.cleanup import ACTION_TYPES
from transforms.actions.workbook import write_workbook
from transforms.outputs.forms import write_forms
from warehouse.db import connect

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")


@pytest.fixture()
def closed_path(acceptance_closed) -> Path:
    return acceptance_closed  # read only here


def test_workbook_sheets_headers_counts_and_no_full_ids(closed_path, tmp_path):
    con = connect(closed_path)
    path = write_workbook(con, tmp_path / "actions.xlsx", role="hr_staff")
    counts = dict(con.execute("SELECT action_type, count(*) FROM actions.cleanup_actions GROUP BY ALL").fetchall())
    con.close()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", *ACTION_TYPES.values()]
    for action_type, name in ACTION_TYPES.items():
        sheet = book[name]
        assert [c.value for c in sheet[1]][:3] == ["动作编号", "处理状态", "处理说明"]
        assert len({r[0] for r in sheet.iter_rows(min_row=2, values_only=True)}) == counts.get(action_type, 0), name
    summary = {row[0]: row[5] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary == {name: counts.get(t, 0) for t, name in ACTION_TYPES.items()}
    with zipfile.ZipFile(path) as archive:
        text = "".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist())
    assert not FULL_ID.search(text)


def test_workbook_for_the_manager_has_full_ids(closed_path, tmp_path):
    con = connect(closed_path)
    path = write_workbook(con, tmp_path / "actions.xlsx", role="hr_manager")
    con.close()
    with zipfile.ZipFile(path) as archive:
        text = "".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist())
    assert FULL_ID.search(text)


@pytest.mark.browser
def test_transfer_form_renders_in_chromium(closed_path, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian chromium is missing: run scripts/system-deps.sh (make test does)")
    con = connect(closed_path)
    paths = write_forms(con, tmp_path / "forms", role="hr_staff")
    con.close()
    html_files = [p for p in paths if p.suffix == ".html"]
    assert html_files, "the acceptance sample has people to transfer"
    page = html_files[0]
    assert not FULL_ID.search(page.read_text(encoding="utf-8"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "form.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1240,1754", page.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 20_000
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    for field in ("基本养老保险关系转移接续申请表", "公民身份号码", "原参保单位", "现参保单位", "转出地意见"):
        assert field in dom
    book = openpyxl.load_workbook(next(p for p in paths if p.suffix == ".xlsx"))
    assert book.worksheets[0]["A1"].value == "基本养老保险关系转移接续申请表"
