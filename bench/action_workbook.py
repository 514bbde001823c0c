"""The action workbook round trip at size (issue 30): ``--rows`` workbook rows put back against as many
actions, timed in ``transforms.actions.status_updates.load_action_updates`` (the part that holds the warehouse lock;
the file's reading is timed apart).

The warehouse holds ``--rows`` actions (open, a tenth submitted, a twentieth resolved). The filled file is
CSV (the round trip's other format: an xlsx of a million rows takes minutes to write and is read by the
same code): most rows 已提交 or 忽略 with a reason, some left 待处理, some with a zero-width-only reason,
an unknown id, an unknown word, an ID number in the note, a resolved action, a second row for one action.
``--repo DIR`` measures another checkout (before/after), e.g. ``--repo /work/main --rows 20000``.

    python bench/action_workbook.py --rows 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

CHOICES = (  # (share in a thousand, status word, note)
    (500, "已提交", "已在网上申报"), (250, "忽略", "线下已办"), (150, "", ""), (30, "忽略", "\u200b"),
    (20, "做完了", ""), (20, "已提交", "此人430102199001011237已补扣"), (30, "已提交", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    import duckdb

    from transforms.actions.status_updates import load_action_updates
    from transforms.ingest.readers import read_extract
    from warehouse.db import connect

    with tempfile.TemporaryDirectory() as folder:
        con = connect(Path(folder) / "w.duckdb")
        n = args.rows
        con.execute(f"""
            INSERT INTO actions.cleanup_actions
            SELECT 'ADJ-' || lpad(i::VARCHAR, 12, '0'), 'ADJUST_BASE',
                   CASE WHEN i % 20 = 7 THEN 'resolved' WHEN i % 10 = 3 THEN 'submitted' ELSE 'open' END,
                   '2024-03', '2024-03', '甲公司', 'E' || i, NULL, ['BASE_MISMATCH'], '{{}}', now()::TIMESTAMP,
                   'error', 'k' || i, 'run-1', NULL, NULL
            FROM range({n}) r(i)""")
        words = " ".join(f"WHEN i % 1000 < {sum(c[0] for c in CHOICES[:k + 1])} THEN {k}" for k in range(len(CHOICES)))
        path = Path(folder) / "actions_filled.csv"
        duckdb.connect().execute(f"""
            COPY (SELECT CASE WHEN i = {n - 1} THEN 'ADJ-' || lpad('0', 12, '0')      -- a second row for one action
                              WHEN i % 997 = 5 THEN 'ADJ-ffffffffffff' ELSE 'ADJ-' || lpad(i::VARCHAR, 12, '0') END
                             AS 动作编号,
                         c.word AS 处理状态, c.note AS 处理说明
                  FROM range({n}) r(i)
                  JOIN (SELECT * FROM (VALUES {", ".join(f"({k}, '{w}', '{t}')" for k, (_, w, t) in enumerate(CHOICES))})
                        v(k, word, note)) c ON c.k = CASE {words} ELSE 0 END)
            TO '{path}' (HEADER)""")
        data = path.read_bytes()
        started = time.perf_counter()
        content = read_extract(path, data)
        read = time.perf_counter() - started
        started = time.perf_counter()
        summary = load_action_updates(con, path, hashlib.sha256(data).hexdigest(), content)
        applied = time.perf_counter() - started
        statuses = con.execute("SELECT status, count(*) FROM actions.cleanup_actions GROUP BY 1 ORDER BY 1").fetchall()
        con.close()
    print(f"{args.repo}: {n:,} rows; read {read:.1f} s; applied in {applied:.1f} s ({applied / n * 1e3:.3f} ms a row);"
          f" staged {summary['rows_staged']:,}, rejected {summary['rows_rejected']:,}, applied {summary['applied']:,};"
          f" statuses {statuses}")


if __name__ == "__main__":
    main()
