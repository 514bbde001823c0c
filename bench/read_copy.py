"""The read copy's cost at size (issue 30): a ledger of ``--employees`` people × 5 types × ``--months``
months written to a fresh warehouse, then ``write_read_copy`` twice: the first copy (every partition
written) and the next close's (one month added). For each: seconds in all, seconds building the read file
(its tables copied from the Parquet versions: the part that views over Parquet did not spend), and the
sizes of the read file and of the Parquet tables. Then two corrections of the first month: only its
partitions are copied again, and the read file does not grow by more than what was added.

    python bench/read_copy.py --employees 200000 --months 12
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import REPO  # noqa: F401  (puts the repository on the path)

from transforms.outputs import read_copy
from warehouse.db import connect

TYPES = ("pension", "medical", "unemployment", "work_injury", "maternity")


def _book(con, employees: int, period: str) -> None:
    """One month's ledger: every employee, every type (figures of the right types and plausible size)."""
    types = ", ".join(f"'{t}'" for t in TYPES)
    con.execute(f"""
        INSERT INTO ledger.contributions
        SELECT '{period}', 'entity' || (i % 20), 'E' || lpad(i::VARCHAR, 7, '0'),
               '110101' || (19700101 + i % 300000)::VARCHAR || lpad((i % 1000)::VARCHAR, 3, '0') || 'X',
               '员工' || i, CASE i % 3 WHEN 0 THEN '北京' WHEN 1 THEN '上海' ELSE '广州' END, t,
               CAST(5000 + i % 20000 AS DECIMAL(14,2)), 1, 0.16, 0.08,
               CAST((5000 + i % 20000) * 0.16 AS DECIMAL(14,2)), CAST((5000 + i % 20000) * 0.08 AS DECIMAL(14,2)),
               'original', 'run-{period}', now()::TIMESTAMP, 'official'
        FROM range({employees}) r(i), unnest([{types}]) u(t)""")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--corrections", type=int, default=3)
    args = parser.parse_args()
    periods = [f"{2024 + m // 12}-{m % 12 + 1:02d}" for m in range(args.months + 1)]
    building = []
    original = read_copy._replace_read_file

    def timed(*a, **k):
        started = time.perf_counter()
        original(*a, **k)
        building.append(time.perf_counter() - started)

    read_copy._replace_read_file = timed
    with tempfile.TemporaryDirectory() as folder:
        con = connect(Path(folder) / "w.duckdb")
        for period in periods[:-1]:
            _book(con, args.employees, period)
        out = Path(folder) / "out"
        steps = (("first copy", None), ("next close, one month more", periods[-1]),
                 *[("a correction of the first month", periods[0])] * args.corrections)
        for label, period in steps:
            if period == periods[-1]:
                _book(con, args.employees, period)
            elif period:  # adjustment rows for a tenth of the people: the month's partitions change
                con.execute(f"""INSERT INTO ledger.contributions SELECT * REPLACE ('adjustment' AS entry_type,
                                'run-fix-' || uuid() AS run_id) FROM ledger.contributions
                                WHERE period = '{period}' AND entry_type = 'original' AND hash(employee_id) % 10 = 0""")
            rows = con.execute("SELECT count(*) FROM ledger.contributions").fetchone()[0]
            started = time.perf_counter()
            summary = read_copy.write_read_copy(con, out)
            seconds = time.perf_counter() - started
            import duckdb

            reader = duckdb.connect(str(out / read_copy.READ_FILE), read_only=True)
            used, free = reader.execute("SELECT used_blocks, free_blocks FROM pragma_database_size()").fetchone()
            reader.close()
            print(f"{label}: {rows:,} ledger rows; {seconds:.1f} s in all, {building[-1]:.1f} s building the read "
                  f"file; read file {_size(out / read_copy.READ_FILE) / 1e6:.0f} MB, Parquet tables "
                  f"{_size(out / read_copy.TABLES) / 1e6:.0f} MB; partitions written {summary['partitions_written']}; blocks used {used}, free {free}")
        con.close()


if __name__ == "__main__":
    main()
