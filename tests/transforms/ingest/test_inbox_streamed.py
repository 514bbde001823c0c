"""A large CSV read a piece at a time (issue 28) loads exactly what the whole file's reading loads: the same
raw rows, rejects, staged rows and loads, on real UTF-8, UTF-8 BOM, GBK and mixed GBK/UTF-8 files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from transforms.ingest.inbox import LOAD_TABLES, ingest_inbox
from transforms.ingest.readers import STREAM_BYTES_ENV, NotStreamable, stream_extract
from warehouse.db import connect

PIECE = 1000  # bytes: about ten rows a piece, so chunks of 40 rows span pieces
STREAMED = {STREAM_BYTES_ENV: str(PIECE * 4), "SHEBAO_INGEST_CHUNK_ROWS": "40"}
WHOLE = {"SHEBAO_INGEST_CHUNK_ROWS": "40"}
TITLE = "长沙星城智造有限公司 2025年3月 参保明细"


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> tuple[str, list[str]]:
    """A generated insurance extract (quoted amounts such as "￥8,398.00" among its cells): header, rows."""
    from sample import generate_inbox

    folder = tmp_path_factory.mktemp("generated")
    generate_inbox(folder, 60, "2025-03", "2025-03", seed=3, formats="csv")
    lines = next(folder.glob("参保明细_*.csv")).read_bytes().decode("utf-8").splitlines()
    assert len(lines) > 200 and any('"' in line for line in lines)
    return lines[0], lines[1:]


def _planted(header: str, rows: list[str]) -> list[str]:
    """A title row, a blank row, exact copies near and far (across pieces and chunks), a row wider than the
    header and a totals row."""
    wide = rows[7] + ",多余,单元格"  # (rows[7] itself left out: the wide row would be its copy)
    totals = "合计" + "," * header.count(",")
    return [TITLE, header, *rows[:7], *rows[8:120], rows[3], "", wide, *rows[120:], totals, rows[-1], rows[50]]


def _inbox(folder: Path, header: str, rows: list[str]) -> Path:
    lines = _planted(header, rows)
    text = "\n".join(lines) + "\n"
    folder.mkdir()
    (folder / "a_utf8.csv").write_bytes(text.encode("utf-8"))
    (folder / "b_bom_crlf.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    (folder / "c_gbk.csv").write_bytes(text.encode("gb18030"))
    # a row pasted in UTF-8 from another export into a GBK file: rejected, never staged as mojibake
    mixed = ("\n".join(lines[:90]) + "\n").encode("gb18030") + (lines[90] + "\n").encode("utf-8") \
        + ("\n".join(lines[91:]) + "\n").encode("gb18030")
    (folder / "d_mixed.csv").write_bytes(mixed)
    # a quoted cell across two lines: read whole, since pieces cut at line ends cannot count its cells
    broken = lines[:60] + [lines[60].replace(",", ',"第一行\n第二行",', 1)] + lines[61:]
    (folder / "e_quoted_newline.csv").write_bytes(("\n".join(broken) + "\n").encode("utf-8"))
    # read whole too, to the same failed and unrecognised loads: no header, another encoding
    (folder / "f_no_header.csv").write_bytes(("\n".join(lines[2:]) + "\n").encode("utf-8"))
    (folder / "g_utf16.csv").write_bytes(text.encode("utf-16"))
    gbk = text.encode("gb18030")
    (folder / "h_nul_late.csv").write_bytes(gbk[:-300] + b"\x00" + gbk[-300:])  # binary, past the first pieces
    return folder


def _tables(con) -> dict[str, list[tuple]]:
    found = {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in LOAD_TABLES}
    found["ingest.loads"] = con.execute(
        "SELECT * EXCLUDE (loaded_at, run_id, flow_run_id) FROM ingest.loads ORDER BY load_id").fetchall()
    found["ingest.pending_loads"] = con.execute("SELECT * FROM ingest.pending_loads").fetchall()
    return found


def _ingest(folder: Path, inbox: Path, migrated_warehouse: Path, settings: dict, monkeypatch) -> dict:
    folder.mkdir()
    path = folder / "w.duckdb"
    shutil.copy(migrated_warehouse, path)
    with monkeypatch.context() as patch:
        for variable, value in settings.items():
            patch.setenv(variable, value)
        con = connect(path)
        try:
            ingest_inbox(con, inbox)
            return _tables(con)
        finally:
            con.close()


def test_a_file_streamed_in_pieces_loads_what_the_whole_file_loads(extract, tmp_path, migrated_warehouse,
                                                                   monkeypatch):
    inbox = _inbox(tmp_path / "inbox", *extract)
    for name in ("a_utf8.csv", "b_bom_crlf.csv", "c_gbk.csv", "d_mixed.csv"):
        stream = stream_extract(inbox / name, PIECE).sheets[0].stream
        assert stream is not None and sum(1 for _ in stream.grids()) > 10, name  # really read in pieces
    with pytest.raises(NotStreamable):
        stream = stream_extract(inbox / "e_quoted_newline.csv", PIECE).sheets[0].stream
        assert stream is not None
        list(stream.grids())

    whole = _ingest(tmp_path / "whole", inbox, migrated_warehouse, WHOLE, monkeypatch)
    streamed = _ingest(tmp_path / "streamed", inbox, migrated_warehouse, STREAMED, monkeypatch)

    for table in whole:
        assert streamed[table] == whole[table], table
    loads = {row[1]: row for row in whole["ingest.loads"]}
    assert [row[4] for row in whole["ingest.loads"]] == ["loaded"] * 5 + ["unrecognized", "failed", "failed"]
    assert {row[3] for row in loads.values() if row[4] == "loaded"} == {"insurance"}
    assert loads["d_mixed.csv"][8] == "gb18030" and loads["c_gbk.csv"][8] in ("gbk", "gb18030")
    codes = [(row[1], row[5]) for row in whole["ingest.rejects"]]
    generated_copies = len(extract[1]) - len(set(extract[1]))
    for name in ("a_utf8.csv", "b_bom_crlf.csv", "c_gbk.csv", "d_mixed.csv"):
        assert codes.count((name, "DUPLICATE_ROW")) == 3 + generated_copies, name
        assert codes.count((name, "NOT_DATA")) == 1, name
        assert (name, "MALFORMED_ROW") in codes, name
    assert codes.count(("d_mixed.csv", "MALFORMED_ROW")) == 2  # the wide row and the UTF-8 one
    numbers = {row[3] for row in whole["ingest.rejects"] if row[1] == "a_utf8.csv" and row[5] == "MALFORMED_ROW"}
    assert numbers == {122}  # numbered as in the file: 119 rows, a copy, the blank row, then the wide row
    assert not streamed["ingest.pending_loads"]
