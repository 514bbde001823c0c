"""Are the ledger, findings and outputs of the acceptance samples the same as a snapshot taken before a change?

``dump`` closes each sample (``../shared/acceptance`` for 2024-03; ``acceptance-v2`` for 2024-06, 2024-07 and
2024-08 in one warehouse; ``real-formats`` for 2024-06 with the v2 policy) through ``flows.close.monthly_close``
in a fresh interpreter running the code of ``--repo``, then writes to ``DIR``: every warehouse table sorted
as CSV, and every output file (CSV, HTML, JSON and text as they are; a workbook as the CSV of each sheet's
cells, so the zip's own timestamps do not count). What differs from run to run by design is masked: run ids
(replaced by their order), timestamps of the run (``loaded_at``, ``started_at`` and other TIMESTAMP columns
but a file's own ``file_modified``, and date-times in the outputs), and the random suffix of output names.
``compare`` lists the files that differ between two dumps, after masking also Prefect's flow-run ids, the
close's temporary folder and the Data Docs' run times, with each Parquet table compared as its sorted rows;
nothing listed means the same, byte for byte, once masked.

Usage:
    python bench/same_outputs.py dump DIR [--repo CHECKOUT]
    python bench/same_outputs.py compare BEFORE AFTER
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" if (REPO.parent / "shared").is_dir() else Path("/work/shared")

# (name, inbox, policy, periods closed in order into one warehouse)
SAMPLES = [
    ("acceptance", SHARED / "acceptance" / "inbox", SHARED / "acceptance" / "policy.csv", ["2024-03"]),
    ("acceptance-v2", SHARED / "acceptance-v2" / "inbox", SHARED / "acceptance-v2" / "policy.csv",
     ["2024-06", "2024-07", "2024-08"]),
    ("real-formats", SHARED / "real-formats" / "inbox", SHARED / "acceptance-v2" / "policy.csv", ["2024-06"]),
]

CHILD = r"""
import csv, io, re, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
import flows.runtime
from flows.close import monthly_close
import duckdb

target, work = Path({target!r}), Path({work!r})
warehouse, out = work / "w.duckdb", work / "out"
for period in {periods!r}:
    monthly_close(inbox={inbox!r}, period=period, warehouse=str(warehouse), out=str(out), policy={policy!r})

con = duckdb.connect(str(warehouse), read_only=True)
runs = sorted({{r[0] for t in ("quality.runs", "ledger.runs") for r in con.execute(f"SELECT run_id FROM {{t}}").fetchall()}})
STAMP = re.compile(r"\d{{4}}-\d{{2}}-\d{{2}}[ T]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:[+-]\d{{2}}(?::?\d{{2}})?|Z)?")
RUN = re.compile(r"\d{{8}}T\d{{12}}Z-[0-9a-f]{{4}}")
order = {{run: f"RUN{{i}}" for i, run in enumerate(runs)}}

def mask(text: str) -> str:
    text = RUN.sub(lambda m: order.setdefault(m.group(0), f"RUN{{len(order)}}"), text)
    return STAMP.sub("STAMP", text)

tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                     " AND table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY 1, 2").fetchall()
(target / "tables").mkdir(parents=True, exist_ok=True)
for schema, table in tables:
    columns = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ?"
                          " AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
    shown = [f'CAST("{{c}}" AS VARCHAR)' if not (t.startswith("TIMESTAMP") and c != "file_modified") else "NULL"
             for c, t in columns]
    rows = con.execute(f'SELECT {{", ".join(shown) or "1"}} FROM "{{schema}}"."{{table}}"').fetchall()
    lines = sorted(mask(",".join("" if v is None else str(v) for v in row)) for row in rows)
    header = ",".join(c for c, _ in columns)
    (target / "tables" / f"{{schema}}.{{table}}.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")

def name_of(path: Path) -> str:
    return mask(path.relative_to(out).as_posix())

for path in sorted(p for p in out.rglob("*") if p.is_file()):
    destination = target / "out" / name_of(path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import fastexcel
        reader = fastexcel.read_excel(path.read_bytes())
        buffer = io.StringIO()
        for index, sheet_name in enumerate(reader.sheet_names):
            frame = reader.load_sheet(index, header_row=None, dtypes="string").to_polars()
            buffer.write(f"## {{sheet_name}}\n")
            for row in frame.iter_rows():
                buffer.write(",".join("" if v is None else str(v) for v in row) + "\n")
        destination.with_suffix(destination.suffix + ".csv").write_text(mask(buffer.getvalue()), encoding="utf-8")
    else:
        try:
            destination.write_text(mask(path.read_text(encoding="utf-8-sig")), encoding="utf-8")
        except UnicodeDecodeError:
            destination.write_bytes(path.read_bytes())
"""


def dump(target: Path, repo: Path) -> None:
    import tempfile

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEBAO_", "PREFECT_API"))}
    env["PYTHONPATH"] = str(repo)
    for name, inbox, policy, periods in SAMPLES:
        with tempfile.TemporaryDirectory() as work:
            code = CHILD.format(repo=str(repo), target=str(target / name), work=work, periods=periods,
                                inbox=str(inbox), policy=str(policy))
            result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work, env=env)
            if result.returncode:
                raise SystemExit(f"{name}: the close failed:\n{result.stderr[-4000:]}")
        print(f"{name}: dumped to {target / name}", flush=True)


# What differs between two closes of the same files by design, masked again when dumps are compared: Prefect's
# flow-run ids (UUIDs), the Data Docs' folders named by their validation time, run ids and date-times.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DOCS_TIME = re.compile(r"\d{8}T\d{6}(?:\.\d+)?Z")
_WORK = re.compile(r"/tmp/tmp[^/]+/")  # the close's temporary folder, in paths a run records
_SORT_TIME = re.compile(r"'_run_time_sort': [0-9.]+")  # the Data Docs' index sorts runs by their epoch time
_RUN = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{4}")  # a run id (``transforms.common.runs.new_run_id``)
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}(?::?\d{2})?|Z)?")


def _normalised(path: Path) -> bytes:
    """A dumped file as compared: a Parquet table as its rows sorted (the file's own bytes hold its writer's
    metadata), text with the masks above; other bytes as they are."""
    if path.suffix == ".parquet":
        import polars as pl

        frame = pl.read_parquet(path)
        lines = sorted(",".join("" if v is None else str(v) for v in row) for row in frame.iter_rows())
        text = "\n".join([",".join(frame.columns), *lines])
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return path.read_bytes()
    if path.suffix == ".parquet":  # the tables' run ids and times, as the warehouse dump masks them
        runs = sorted(set(_RUN.findall(text)))
        text = _STAMP.sub("STAMP", _RUN.sub(lambda m: f"RUN{runs.index(m.group(0))}", text))
    text = _WORK.sub("WORK/", _SORT_TIME.sub("'_run_time_sort': STAMP", text))
    return _DOCS_TIME.sub("STAMP", _UUID.sub("UUID", text)).encode("utf-8")


def _files(root: Path) -> dict[str, Path]:
    """Dumped files by their masked name; left out: the versioned copies of the Parquet tables (``.versions``,
    named by a hash of bytes that hold write times; the current copy of each is compared) and DuckDB files (the
    read copy: its tables are the warehouse's, compared as CSV)."""
    return {_DOCS_TIME.sub("STAMP", p.relative_to(root).as_posix()): p for p in sorted(root.rglob("*"))
            if p.is_file() and ".versions" not in p.parts and p.suffix != ".duckdb"}


def compare(before: Path, after: Path) -> int:
    old, new = _files(before), _files(after)
    differing = [f"only before: {name}" for name in sorted(set(old) - set(new))]
    differing += [f"only after: {name}" for name in sorted(set(new) - set(old))]
    differing += [f"differs: {name}" for name in sorted(set(old) & set(new))
                  if _normalised(old[name]) != _normalised(new[name])]
    for line in differing:
        print(line)
    print(f"{len(old)} files compared: " + ("byte for byte the same" if not differing else f"{len(differing)} differ"))
    return 1 if differing else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("target", type=Path)
    d.add_argument("--repo", type=Path, default=REPO)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.target.resolve(), args.repo.resolve())
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
