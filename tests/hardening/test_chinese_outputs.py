"""Everything HR and finance read is Chinese (issue 30.7): every page and cell a close writes for them (the HR
report, the action workbook, the transfer forms, the declarations, the finance ledger workbook) is scanned
on the acceptance sample for Latin words. Allowed: the ID check letter X (one letter), file names
(``actions.xlsx``), the product's name and a few units; never an English word, an enum code, a CLI flag,
``None`` or ``nan``."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

PERIOD = "2024-03"
# a word of two or more letters; not the letters of a code with digits (工号 ZY0012, as the extracts give it)
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z_]+(?![A-Za-z0-9])")
FILE_NAME = re.compile(r"[^\s：:（）()「」“”，,；;]+\.(?:xlsx|csv|html|parquet|duckdb|pdf)"
                       r"|\b(?:transfer_forms|declarations|entities|data_docs)/", re.IGNORECASE)  # and the close's folders
# what may stand in Chinese text: the product, file kinds, units and Excel's own words
# (and Excel's default sheet name, which the report quotes where a rejected row came from)
ALLOWED = {"shebao", "xlsx", "csv", "html", "pdf", "Excel", "ID", "HR", "Sheet"}
ACTION_ID = re.compile(r"\b[A-Z]{3}-[0-9a-f]{12}\b")  # 动作编号, as HR quotes it


class _Text(HTMLParser):
    """The text a browser shows: not scripts, styles or attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag) -> None:
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data) -> None:
        if not self._hidden:
            self.parts.append(data)


def _html_text(path: Path) -> list[str]:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.parts


def _cells(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    texts = list(book.sheetnames)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            texts += [str(value) for value in row if value is not None]
    return texts


def latin_words(text: str) -> set[str]:
    return {w for w in WORD.findall(ACTION_ID.sub(" ", FILE_NAME.sub(" ", text))) if w not in ALLOWED}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, acceptance_closed) -> Path:
    """What a close of the acceptance sample writes for HR and finance, as the close's steps write it (the
    HR files for the default, masked view; the finance ledger workbook)."""
    from transforms.actions.workbook import write_workbook
    from transforms.outputs.declarations import write_declarations
    from transforms.outputs.export import export_ledger
    from transforms.outputs.forms import write_forms
    from transforms.outputs.report import write_report
    from warehouse.db import opened

    folder = tmp_path_factory.mktemp("chinese") / PERIOD
    warehouse = folder.parent / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    with opened(warehouse) as con:
        run_id = con.execute("SELECT max(run_id) FROM quality.runs WHERE period = ?", [PERIOD]).fetchone()[0]
        write_report(con, run_id, folder)
        write_workbook(con, folder / "actions.xlsx")
        write_forms(con, folder / "transfer_forms")
        write_declarations(con, PERIOD, folder / "declarations")
        export_ledger(con, PERIOD, "xlsx", folder, role="finance")
    return folder


def test_the_scan_finds_what_it_is_for():
    assert latin_words("状态 open，None 与 nan，--full-ids") == {"open", "None", "nan", "full", "ids"}
    assert latin_words("见 actions.xlsx 的「合并档案」；4301**********123X；shebao 生成；TRF-08ff8ddbe259") == set()
    assert latin_words("工号 ZY0012；transfer_forms/ 文件夹") == set()


def test_every_page_and_cell_a_close_writes_is_chinese(outputs):
    pages = sorted(outputs.rglob("*.html"))
    books = sorted(outputs.rglob("*.xlsx"))
    assert any(p.name.startswith("validation_report_") for p in pages) and (outputs / "actions.xlsx") in books
    assert any("transfer_forms" in p.parts for p in pages) and any("declarations" in p.parts for p in books + pages)
    found: dict[str, set[str]] = {}
    for path in pages + books:
        texts = _html_text(path) if path.suffix == ".html" else _cells(path)
        words = set().union(*(latin_words(text) for text in texts)) if texts else set()
        if words:
            found[str(path.relative_to(outputs))] = words
    summary = {}
    for name, words in found.items():  # one line per kind of file: 60 forms say the same
        summary.setdefault(re.sub(r"[A-Z]{3}-[0-9a-f]{12}|\d{4}-\d{2}", "…", name), set()).update(words)
    assert not summary, summary
