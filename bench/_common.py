"""Shared bench helpers: a history inbox, the read floors (polars, DuckDB), the write floor (DuckDB), timing,
and the peak memory of a child process.

Benchmarks report figures from one run (ratios, not assertions). Anything measured for memory runs in a
fresh interpreter, so its peak RSS is its own and not the benchmark's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warehouse.db import extension_path  # noqa: E402

MONTHS = ("2024-03", "2025-03")  # 12 months of payroll history, then the month closed


def history_inbox(folder: Path, employees: int, seed: int = 0) -> Path:
    """CSV inbox (UTF-8 and GBK): 13 months of payroll, the other three kinds for the last month only.

    Reused when ``folder/inbox`` exists (``--keep``), so repeated runs skip generation. It is written as
    ``inbox.partial`` and renamed when complete: a run stopped half-way is never reused.
    """
    import shutil

    from sample import generate_inbox

    inbox = folder / "inbox"
    if not inbox.is_dir():
        partial = folder / "inbox.partial"
        shutil.rmtree(partial, ignore_errors=True)
        generate_inbox(partial, employees, MONTHS[0], MONTHS[1], seed=seed, formats="csv", history_payroll_only=True)
        partial.rename(inbox)
    return inbox


def csv_encoding(path: Path) -> str:
    """``utf-8`` or ``gb18030`` (a superset of GBK), as DuckDB's encodings extension names them."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def duckdb_floor(inbox: Path, database: Path) -> tuple[float, int]:
    """DuckDB alone reading each CSV into a table of a database file (no processing): seconds, rows.

    Encodings are found before the clock starts; GBK files go through the encodings extension. DuckDB
    1.5.5 garbles a multi-byte character that straddles its encoder's buffer (duckdb/duckdb-encodings#19,
    fixed by duckdb/duckdb#25100), which on a big GBK file (the 1,000,000-employee insurance export) can
    make an invalid sequence: such a file is read again with ``ignore_errors`` (the failed try is not
    timed; the few rows it skips are not counted) and a note is printed.
    """
    files = [(path, csv_encoding(path)) for path in sorted(inbox.glob("*.csv"))]
    con = duckdb.connect(str(database))
    con.execute(f"LOAD '{extension_path('encodings')}'")
    rows = 0
    seconds = 0.0
    for index, (path, encoding) in enumerate(files):
        for lenient in ("false", "true"):
            with stopwatch() as elapsed:
                try:
                    con.execute(f"CREATE OR REPLACE TABLE t{index} AS SELECT * FROM read_csv(?, all_varchar = true,"
                                f" header = true, quote = '\"', null_padding = true, strict_mode = false,"
                                f" encoding = '{encoding}', ignore_errors = {lenient})", [str(path)])
                except duckdb.InvalidInputException:
                    if lenient == "true":
                        raise
                    print(f"    floor: DuckDB's {encoding} decoder failed on {path.name} (duckdb-encodings#19);"
                          " read again with ignore_errors", flush=True)
                    continue
            seconds += elapsed()
            break
        rows += con.execute(f"SELECT count(*) FROM t{index}").fetchone()[0]
    with stopwatch() as elapsed:
        con.execute("CHECKPOINT")
    con.close()
    return seconds + elapsed(), rows


def polars_floor(inbox: Path) -> tuple[float, int, float]:
    """The fastest reader measured: polars reading every file of the inbox, as text (no types inferred):
    seconds, rows, and of those seconds the decoding of GB18030 files.

    A UTF-8 file is parsed from its bytes; a GB18030/GBK file's bytes are decoded once by Python's C codec
    (polars reads UTF-8 only) and the UTF-8 parsed; a workbook is read by calamine (``fastexcel``), the
    reader ingest uses. Encodings are found before the clock starts, as for the DuckDB floor; the reading of
    the bytes from disk is timed (the operating system's cache usually holds them)."""
    rows = 0
    seconds = 0.0
    decoding: list[float] = []
    for path, encoding in _inbox_files(inbox):
        with stopwatch() as elapsed:
            rows += sum(frame.height for frame in _read_as_text(path, encoding, header=False, decoding=decoding))
        seconds += elapsed()
    return seconds, rows, sum(decoding)


def _inbox_files(inbox: Path) -> list[tuple[Path, str | None]]:
    """The inbox's extracts with their encodings (None: a workbook), found before any clock starts."""
    return [(path, csv_encoding(path) if path.suffix.lower() == ".csv" else None)
            for path in sorted(inbox.iterdir()) if path.suffix.lower() in (".csv", ".xlsx", ".xls")]


def _read_as_text(path: Path, encoding: str | None, header: bool = True,
                  decoding: list[float] | None = None) -> list:
    """The frames of one inbox file, every cell text: a CSV (a GB18030/GBK one decoded once by Python's C codec
    first, its seconds added to ``decoding``), or each sheet of a workbook (its first row the header, or a data
    row when not ``header``)."""
    import io

    import fastexcel
    import polars as pl

    data = path.read_bytes()
    if encoding is None:
        reader = fastexcel.read_excel(data)
        return [reader.load_sheet(index, header_row=0 if header else None, dtypes="string").to_polars()
                for index in range(len(reader.sheet_names))]
    if encoding != "utf-8":
        with stopwatch() as decoded:
            data = data.decode(encoding).encode("utf-8")
        if decoding is not None:
            decoding.append(decoded())
    return [pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=True, quote_char='"')]


def duckdb_write_floor(inbox: Path, database: Path) -> tuple[float, int]:
    """What storing the inbox's rows costs DuckDB alone, as ingest must store them (SPEC §2: every row kept
    as read, and staged): each file's rows, read by polars before the clock starts, written twice into a
    database file, once as a JSON object of their header's cells a row (``raw.rows``) and once as their
    columns (a table per header, every column text: no parsing, no types), in one transaction on one DuckDB
    thread (``warehouse.db.BULK_THREADS``, as ingest writes), then checkpointed: seconds, rows.

    Timed: the JSON encoding (polars) and DuckDB's inserts, compression, commit and checkpoint; not ingest's
    per-file bookkeeping. A floor for ingest's writes beside ``polars_floor`` for its reads."""
    import polars as pl

    files = _inbox_files(inbox)
    con = duckdb.connect(str(database))
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE raw_rows (load_id BIGINT, row_number BIGINT, cells VARCHAR)")
    con.execute("BEGIN")
    tables: dict[tuple[str, ...], str] = {}
    rows = 0
    seconds = 0.0
    for load_id, (path, encoding) in enumerate(files):
        for frame in _read_as_text(path, encoding):
            with stopwatch() as elapsed:
                raw = frame.select(pl.lit(load_id, pl.Int64).alias("load_id"),
                                   pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row_number"),
                                   pl.struct(pl.all()).struct.json_encode().alias("cells"))
                # handed to DuckDB as ingest hands it a chunk's rows: plain Arrow strings, registered
                con.register("raw_arrow", raw.to_arrow(compat_level=pl.CompatLevel.oldest()))
                con.register("columns_arrow", frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
                con.execute("INSERT INTO raw_rows SELECT * FROM raw_arrow")
                table = tables.get(tuple(frame.columns))
                if table is None:
                    table = tables[tuple(frame.columns)] = f"staged_{len(tables)}"
                    con.execute(f"CREATE TABLE {table} AS SELECT * FROM columns_arrow")
                else:
                    con.execute(f"INSERT INTO {table} SELECT * FROM columns_arrow")
                con.unregister("raw_arrow")
                con.unregister("columns_arrow")
            seconds += elapsed()
            rows += frame.height
    with stopwatch() as elapsed:
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    con.close()
    return seconds + elapsed(), rows


@contextmanager
def stopwatch() -> Iterator:
    """``with stopwatch() as elapsed: ...`` then ``elapsed()`` is the seconds the block took."""
    started = time.perf_counter()
    finished: list[float] = []
    yield lambda: (finished[0] if finished else time.perf_counter()) - started
    finished.append(time.perf_counter())


_WRAPPER = """
import resource, sys
exec(compile(sys.argv[1], "<bench child>", "exec"), {"__name__": "__bench__"})
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
"""


def measure_child(code: str, cwd: Path = REPO) -> tuple[dict, float]:
    """Run ``code`` (its last JSON line is its result) in a fresh interpreter: that result, and the child's
    own peak RSS in MB (``ru_maxrss`` of the child itself, so earlier children never count)."""
    result = subprocess.run([sys.executable, "-c", _WRAPPER, code], capture_output=True, text=True, cwd=cwd,
                            check=False)
    if result.returncode:
        raise SystemExit(f"the measured child failed:\n{result.stderr[-4000:]}")
    lines = result.stdout.strip().splitlines()
    peak_kb = next(int(line.split()[1]) for line in reversed(lines) if line.startswith("PEAK_RSS_KB"))
    payload = next(line for line in reversed(lines) if line.startswith("{"))
    return json.loads(payload), peak_kb / 1024


def ratio_line(label: str, ours: float, floor: float, target: float) -> str:
    """``label: 12.3 s vs 4.1 s floor = 3.0x (target <= 3x)``."""
    ratio = ours / floor if floor else float("inf")
    verdict = "within" if ratio <= target else "OVER"
    return f"{label}: {ours:.2f} s vs {floor:.2f} s floor = {ratio:.2f}x ({verdict} the target of {target:g}x)"
