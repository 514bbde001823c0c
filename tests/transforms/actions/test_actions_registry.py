"""The actions stage takes its finding → action map, needs and problem keys from ``quality.checks``: a
warehouse whose registry predates them (migration 020 adds the columns empty) gets a sentence, not a run
that would resolve every open action for want of a map."""

from __future__ import annotations

import pytest

from transforms.actions.cleanup import update_actions
from warehouse.errors import ShebaoError


def test_a_registry_without_action_types_asks_for_a_validation(con):
    con.execute("UPDATE quality.checks SET action_type = NULL, needs = NULL, problem_key = NULL, evidence_zh = NULL")
    con.execute("INSERT INTO quality.runs (run_id, period, started_at, status) VALUES ('r1', '2024-01', now(), 'succeeded')")
    with pytest.raises(ShebaoError, match="shebao validate"):
        update_actions(con, "2024-01", "r1")
    assert con.execute("SELECT count(*) FROM actions.action_events").fetchone()[0] == 0
