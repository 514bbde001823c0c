"""ENROLL_EMPLOYEE carries HIRED_NOT_ENROLLED's arrears (SPEC §5, §6)."""

from __future__ import annotations

from tests.transforms.actions.test_actions import employee_finding, runs  # noqa: F401  (fixture)


def test_enroll_employee_carries_the_arrears(runs):  # noqa: F811
    by_month = [{"month": "2024-01", "employer": "1900.00", "employee": "800.00", "days": 60, "late_fee": "81.00"}]
    runs.run("2024-03", [employee_finding("HIRED_NOT_ENROLLED", "E5", arrears_months=["2024-01"],
                                          arrears_employer="1900.00", arrears_employee="800.00", late_fee="81.00",
                                          arrears_by_month=by_month)])
    [action] = runs.actions().values()
    d = action["details"]
    assert action["action_type"] == "ENROLL_EMPLOYEE"
    assert (d["arrears_months"], d["arrears_employer"], d["arrears_employee"], d["late_fee"]) == (
        ["2024-01"], "1900.00", "800.00", "81.00")
    assert d["arrears_by_month"] == by_month
