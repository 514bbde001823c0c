"""Coverage-guided fuzzing (atheris, libFuzzer) of what ingest does to a file before it touches the warehouse:
``read_extract`` (encoding detection, CSV and xlsx readers), ``find_header``, ``data_rows``, ``stage_rows``
(every normaliser) and the duplicate marking. Not collected by pytest (no ``test_`` prefix).

An input's first byte picks the file type (odd: xlsx, even: CSV); the rest is the file. Allowed outcomes:
staged/rejected rows with read = staged + rejected, or ``UnreadableFile``. Anything else is a crash that
libFuzzer saves as ``crash-<sha1>`` in the working directory.

    pip install atheris                       # a wheel for CPython 3.11 on Linux x86-64
    python tests/hardening/fuzz_readers.py -max_total_time=120 -rss_limit_mb=3072 /tmp/fuzz-corpus
    python tests/hardening/fuzz_readers.py crash-<sha1>   # replay one input

The corpus folder is seeded with the acceptance inbox's small files on the first run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris
import polars as pl

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

with atheris.instrument_imports(include=["transforms"]):
    from transforms.ingest import kinds
    from transforms.ingest.readers import UnreadableFile, read_extract
    from transforms.ingest.staging import (
        DUPLICATE,
        REASON_CODE,
        data_rows,
        find_header,
        mark_duplicates,
        stage_rows,
    )

LOOKUP = {"长沙": "长沙", "长沙市": "长沙", "湖南省长沙市": "长沙", "上海": "上海", "广州": "广州"}


def one_input(data: bytes) -> None:
    if not data:
        return
    suffix = ".xlsx" if data[0] & 1 else ".csv"
    try:
        content = read_extract(Path(f"fuzz{suffix}"), data[1:])
    except UnreadableFile:
        return
    for sheet in content.sheets:
        header = find_header(sheet.grid)
        if header is None:
            continue
        rows = data_rows(sheet.grid, header, sheet.name)
        rows = rows.with_columns(pl.lit(False).alias(DUPLICATE))
        labels = {name: header.labels[i] for name, i in header.positions.items() if i < len(header.labels)}
        staged = mark_duplicates(stage_rows(rows, kinds.KINDS[header.kind.name], labels, header.width, LOOKUP))
        assert staged.height == rows.height, "a row was lost between reading and staging"
        assert staged[REASON_CODE].null_count() + staged[REASON_CODE].is_not_null().sum() == rows.height


def seed(corpus: Path) -> None:
    inbox = REPO.parent / "shared" / "acceptance" / "inbox"
    if corpus.exists() and any(corpus.iterdir()):
        return
    corpus.mkdir(parents=True, exist_ok=True)
    for path in sorted(inbox.iterdir()):
        if path.stat().st_size < 20_000:
            (corpus / path.name.encode().hex()[:40]).write_bytes(bytes([path.suffix == ".xlsx"]) + path.read_bytes())


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:] if not a.startswith("-") and not Path(a).is_file()]
    for folder in folders:
        seed(folder)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
