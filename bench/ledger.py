"""Benchmark: the ledger of one month beside a plain GROUP BY over the same staged payroll, from one run.

Staged payroll and attendance for N employees × 13 months (12 months of history, then the month closed)
are generated set-based in DuckDB straight into ``staging.*`` (one load per period and entity, as ingest
writes them), so the figures are the ledger's own, not the readers'. The timings run in a fresh child
process, whose peak RSS is reported; CPU seconds beside wall clock, as the machine may be shared.

Usage: python bench/ledger.py [--employees 200000] [--keep FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import measure_child

from warehouse.db import connect

FIRST, MONTH = "2024-03", "2025-03"
ENTITIES = 5
# Every city with a 2025-03 policy row in the shipped table, and one without (NO_POLICY).
CITIES = ["长沙", "北京", "上海", "广州", "杭州", "成都", "武汉", "三沙"]

GENERATE = """
CREATE TEMP TABLE months AS
SELECT m, strftime(DATE '{first}-01' + INTERVAL (m) MONTH, '%Y-%m') AS period
FROM range(13) t(m);

-- one row per employee: entity, city, hire date; every 50th is hired in the closed month (a new hire),
-- every 100th leaves in it (some before the 15th, some after)
CREATE TEMP TABLE people AS
SELECT i,
       'E' || lpad(CAST(i AS VARCHAR), 7, '0') AS employee_id,
       '单位' || CAST(i % {entities} AS VARCHAR) AS entity,
       ({cities})[1 + CAST(i // {entities} AS BIGINT) % {city_count}] AS city,
       '4301021990' || lpad(CAST(i AS VARCHAR), 8, '0') AS id_number,
       CASE WHEN i % 50 = 1 THEN DATE '{month}-01' + INTERVAL (i % 28) DAY
            ELSE DATE '2015-01-01' + INTERVAL (i % 3000) DAY END::DATE AS hire_date,
       CASE WHEN i % 100 = 3 THEN (DATE '{month}-01' + INTERVAL (i % 28) DAY)::DATE END AS leave_date
FROM range({employees}) t(i);

INSERT INTO staging.payroll
SELECT 1 + m * {entities} + i % {entities} AS load_id, NULL, CAST(i // {entities} + 1 AS INTEGER), period,
       employee_id, '员工', id_number, id_number, entity, city, city, true,
       CAST(CAST(300000 + hash(i, m) % 3000000 AS DECIMAL(14, 0)) / 100 AS DECIMAL(14, 2)) AS gross_pay, NULL,
       CAST(round(CAST(300000 + hash(i, m) % 3000000 AS DECIMAL(14, 0)) * 0.00105, 2) AS DECIMAL(14, 2))
FROM people, months
WHERE period = '{month}' OR i % 50 <> 1;

INSERT INTO staging.attendance
SELECT 1000 + m * {entities} + i % {entities}, NULL, CAST(i // {entities} + 1 AS INTEGER), period, employee_id,
       '员工', id_number, id_number, entity, hire_date, leave_date, 21, NULL, NULL, NULL, NULL
FROM people, months
WHERE period = '{month}' OR i % 50 <> 1;

INSERT INTO ingest.load_keys SELECT * FROM ingest.staged_keys(NULL);
"""

MEASURE = """
import json, resource, time
from transforms.ledger.book import compute_ledger
from warehouse.db import connect
from transforms.ledger.policy import apply_policy

def timed(run):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, wall = usage.ru_utime + usage.ru_stime, time.perf_counter()
    result = run()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return result, time.perf_counter() - wall, usage.ru_utime + usage.ru_stime - cpu

con = connect({path!r})
apply_policy(con)
plain = "SELECT entity, sum(gross_pay), count(*) FROM {{}}.payroll GROUP BY entity"
_, plain_core, plain_core_cpu = timed(lambda: con.execute(plain.format("core")).fetchall())
_, plain_staging, _ = timed(lambda: con.execute(plain.format("staging")).fetchall())
first, ledger, ledger_cpu = timed(lambda: compute_ledger(con, {month!r}))
again, rerun, rerun_cpu = timed(lambda: compute_ledger(con, {month!r}))
payroll = con.execute("SELECT count(*) FROM core.payroll").fetchone()[0]
con.close()
print(json.dumps(dict(plain_core=plain_core, plain_core_cpu=plain_core_cpu, plain_staging=plain_staging,
                      ledger=ledger, ledger_cpu=ledger_cpu, rerun=rerun, rerun_cpu=rerun_cpu, payroll=payroll,
                      appended=first["rows_appended"], in_ledger=first["employees_in_ledger"],
                      appended_again=again["rows_appended"])))
"""


def stage(path: Path, employees: int) -> float:
    started = time.perf_counter()
    con = connect(path)
    cities = "[" + ", ".join(f"'{c}'" for c in CITIES) + "]"
    con.execute(GENERATE.format(first=FIRST, month=MONTH, entities=ENTITIES, cities=cities, city_count=len(CITIES),
                                employees=employees))
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="write the warehouse here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.keep or Path(scratch) / "bench.duckdb"
        staged = stage(path, args.employees)
        result, peak_mb = measure_child(MEASURE.format(path=str(path), month=MONTH))
    print(f"{args.employees:,} employees, {result['payroll']:,} current payroll rows ({FIRST}..{MONTH}), "
          f"staged in {staged:.1f} s")
    print(f"plain SELECT entity, sum(gross_pay) ... GROUP BY entity: core.payroll {result['plain_core']:.3f} s "
          f"(CPU {result['plain_core_cpu']:.2f} s), staging.payroll {result['plain_staging']:.3f} s")
    print(f"ledger {MONTH}: {result['ledger']:.2f} s (CPU {result['ledger_cpu']:.2f} s), {result['appended']:,} rows "
          f"appended ({result['in_ledger']:,} employees)")
    print(f"ratio ledger / plain GROUP BY over core.payroll: {result['ledger'] / result['plain_core']:.1f}x wall clock, "
          f"{result['ledger_cpu'] / max(result['plain_core_cpu'], 1e-3):.1f}x CPU")
    print(f"re-run with nothing changed: {result['rerun']:.2f} s (CPU {result['rerun_cpu']:.2f} s), "
          f"{result['appended_again']} rows appended")
    print(f"peak RSS of the measuring process: {peak_mb:.0f} MB")
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
