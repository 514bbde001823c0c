"""``shebao demo`` in its own process: three months closed on a generated inbox, the outputs printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import finish, query, shebao


@pytest.mark.slow
def test_demo_prints_the_three_outputs(tmp_path):
    code, out, err = finish(shebao("demo", "--out", str(tmp_path / "demo"), "--employees", "120", cwd=tmp_path,
                                    embedded=True))
    assert code == 0, err[-3000:]
    paths = [line.split(":", 1)[1].strip() for line in out.splitlines()
             if line.startswith(("HR report:", "Action workbook:", "Ledger export:"))]
    assert len(paths) == 9 and all(Path(p).is_file() for p in paths), out  # three months closed
    assert all(Path(p).resolve().is_relative_to((tmp_path / "demo").resolve()) for p in paths)
    assert (tmp_path / "demo" / "shebao.duckdb").is_file()
    from sample.rules import demo_plan
    from transforms.common.periods import months_between

    entities, _, close_from, close_to = demo_plan()  # months and cities the shipped policy covers
    closed = months_between(close_from, close_to)
    # the demo's warehouse is its own: the commands to look at it name it (issue 30)
    listed = next(line.strip() for line in out.splitlines() if line.strip().startswith("shebao actions list"))
    listed_code, _, listed_err = finish(shebao(*listed.split()[1:], cwd=tmp_path, embedded=True), 300)
    assert listed_code == 0, listed_err[-2000:]
    assert query(tmp_path / "demo" / "shebao.duckdb", "SELECT DISTINCT period FROM ledger.runs ORDER BY 1") == [
        (p,) for p in closed]
    # every entity of the demo is booked in every month it closes (issue 24)
    assert query(tmp_path / "demo" / "shebao.duckdb", "SELECT DISTINCT period, entity FROM ledger.current_contributions"
                 " ORDER BY ALL") == sorted((p, e.name) for p in closed for e in entities)
    assert "Where everything is:" in out and "Declarations:" in out and "Transfer forms:" in out
    assert "ENROLL_EMPLOYEE" in out  # the action types, with their counts
    # the console: one line per stage, a summary in words, and none of the orchestrator's logs
    stages = [line[2:30].strip() for line in err.splitlines() if line.startswith("✓ ")]
    assert stages[0] == "ingest the inbox" and stages.count("book the ledger") == 3, err[-3000:]
    assert {"validate", "update the action list", "export the ledger", "per-entity files",
            "write the read copy"} <= set(stages)
    assert not [stage for stage in stages if "_" in stage], stages  # words, not the steps' keys
    assert "Flow run" not in err and "Task run" not in err and "temporary server" not in err, err[-3000:]
    summary = next(line for line in out.splitlines() if line.startswith(f"{close_to}: "))
    assert "{" not in summary and " findings (" in summary and "actions: " in summary
