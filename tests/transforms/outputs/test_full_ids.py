"""--full-ids (SPEC §8): the HR files are masked unless an hr_manager asks; who asked is audited."""

from __future__ import annotations

import pytest

from transforms.actions.cleanup import output_role
from transforms.common.roles import PermissionDenied


def test_full_ids_only_for_a_manager_who_asks(con):
    assert output_role(con, "hr_manager", False, "actions") is None          # not asked: masked
    assert output_role(con, "hr_staff", False, "actions") == "hr_staff"
    assert output_role(con, "hr_manager", True, "run --full-ids") == "hr_manager"
    with pytest.raises(PermissionDenied, match="only an HR manager may use --full-ids"):
        output_role(con, "hr_staff", True, "run --full-ids")
    audit = con.execute("SELECT role, command, allowed FROM actions.audit WHERE command <> 'create warehouse'"
                        " ORDER BY occurred_at").fetchall()
    assert audit == [("hr_manager", "run --full-ids", True), ("hr_staff", "run --full-ids", False)]
