"""Run identifiers and the one "latest succeeded validation run of a period" query."""

from __future__ import annotations

from transforms.common.runs import latest_validation_run


def test_the_latest_succeeded_run_of_the_period_only(con):
    assert latest_validation_run(con, "2024-03") is None
    for run_id, period, status in [("r1", "2024-03", "succeeded"), ("r2", "2024-03", "succeeded"),
                                   ("r3", "2024-03", "failed"), ("r4", "2024-04", "succeeded")]:
        con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES (?, ?, now(), ?)",
                    [run_id, period, status])
    assert latest_validation_run(con, "2024-03") == "r2"
    assert latest_validation_run(con, "2024-04") == "r4"
    assert latest_validation_run(con, "2024-05") is None
