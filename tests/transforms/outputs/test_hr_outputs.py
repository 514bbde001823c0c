"""What HR reads, on the acceptance sample closed 2024-01..03: the report, the action workbook (whole and per
entity), the transfer forms and the declarations carry no None, nan, English enum value or code in a cell a
person reads; every action has an entity or shows 未关联单位, and each entity's workbook holds its transfer
actions. The report and a form render in headless Chromium (screenshots kept under
``$SHEBAO_SCREENSHOTS`` when set, to look at)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from expectations.registry import BY_CODE
from transforms.actions.cleanup import TYPES, list_actions
from transforms.actions.workbook import NO_ENTITY, write_workbook
from transforms.common import glossary
from transforms.outputs.declarations import write_declarations
from transforms.outputs.entities import entity_slices, write_entity_outputs
from transforms.outputs.forms import write_forms
from transforms.outputs.report import resolve_run, write_report
from warehouse.db import opened

pytestmark = pytest.mark.slow

# every enum value and code a person must never read: codes, statuses, types, stages, severities, reasons
ENGLISH = sorted({*BY_CODE, *glossary.INSURANCE, *glossary.STAGE, *glossary.ACTION_STATUS,
                  *glossary.RECORD_STATUS, *glossary.SEVERITY, *glossary.REJECT_REASON, *glossary.ID_PROBLEM,
                  *(t.code for t in TYPES), "None", "nan", "NaN", "null", "NaT", "True", "False"}, key=len,
                 reverse=True)
LEAK = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![A-Za-z0-9_])")


class _Text(HTMLParser):
    """Text a person reads in a page: text nodes outside <style>/<script>."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "\n".join(parser.parts)


def cells(path: Path) -> list[tuple[str, str]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [(sheet.title, str(v)) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for v in row if v is not None]


@pytest.fixture(scope="module")
def outputs(acceptance_closed, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("hr") / "2024-03"
    with opened(acceptance_closed) as con:
        run_id = resolve_run(con, "2024-03")
        found = {"report": write_report(con, run_id, folder),
                 "workbook": write_workbook(con, folder / "actions.xlsx"),
                 "forms": write_forms(con, folder / "transfer_forms"),
                 "declarations": write_declarations(con, "2024-03", folder / "declarations"),
                 "entities": [write_entity_outputs(e, ledger, actions, folder / "entities")
                              for e, ledger, actions in entity_slices(con, "2024-03")],
                 "actions": list_actions(con)}
    found["folder"] = folder
    return found


def test_report_has_no_english_none_or_nan(outputs):
    text = page_text(outputs["report"])
    for section in ("下一步要做的事", "发现的问题", "未载入的数据行", "发薪但未入台账的人员", "本月使用的社保政策", "各月趋势"):
        assert section in text
    assert text.index("下一步要做的事") < text.index("发现的问题") < text.index("未载入的数据行") \
        < text.index("发薪但未入台账的人员") < text.index("本月使用的社保政策") < text.index("各月趋势")
    assert not LEAK.findall(text), sorted(set(LEAK.findall(text)))


def test_every_workbook_form_and_declaration_is_clean(outputs):
    files = [outputs["workbook"], *outputs["declarations"],
             *[p for p in outputs["forms"] if p.suffix == ".xlsx"],
             *sorted((outputs["folder"] / "entities").glob("*_actions.xlsx"))]
    assert len(files) > 3
    for path in files:
        leaks = [(sheet, v) for sheet, v in cells(path) if LEAK.search(v)]
        assert not leaks, (path.name, leaks[:5])
    for page in (p for p in outputs["forms"] if p.suffix == ".html"):
        assert not LEAK.findall(page_text(page)), page.name


def test_every_action_has_an_entity_and_entity_workbooks_hold_transfer_sheets(outputs):
    actions = outputs["actions"]
    book = openpyxl.load_workbook(outputs["workbook"], read_only=True)
    shown = {str(r[0]): r for sheet in book.worksheets[1:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    unrouted = actions.filter(actions["entity"].is_null())["action_id"].to_list()
    header = [c.value for c in next(book.worksheets[1].iter_rows(max_row=1))]
    at = header.index("单位")
    assert all(shown[a][at] == NO_ENTITY for a in unrouted)
    transfer_types = [t for t in TYPES if "TRANSFER" in t.code]
    for entity in {e["entity"] for e in outputs["entities"]}:
        mine = actions.filter(actions["entity"] == entity)
        path = next((outputs["folder"] / "entities").glob(f"*{entity[:4]}*_actions.xlsx"))
        sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
        assert all(t.name_zh in sheets for t in transfer_types)
        for t in transfer_types:
            ids = {str(r[0]) for r in openpyxl.load_workbook(path, read_only=True)[t.name_zh].iter_rows(
                min_row=2, values_only=True)}
            assert ids == set(mine.filter(mine["action_type"] == t.code)["action_id"].to_list())


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_report_and_a_form_render_in_chromium(outputs, tmp_path):
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        pytest.fail("Debian chromium is missing: install it (apt-get install chromium) to run the browser tests")
    keep = Path(os.environ.get("SHEBAO_SCREENSHOTS") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    form = next((p for p in outputs["forms"] if p.suffix == ".html"), None)
    assert form is not None, "the acceptance sample has people to transfer"
    for name, page, size in (("report", outputs["report"], "1400,3000"), ("form", form, "1240,1754")):
        shot = keep / f"{name}.png"
        shot.unlink(missing_ok=True)
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                        f"--window-size={size}", page.as_uri()], capture_output=True, timeout=180, check=False)
        assert shot.exists() and shot.stat().st_size > 20_000, name
