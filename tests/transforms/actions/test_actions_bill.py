"""RECONCILE_BILL (SPEC §6): one action per person and region from BILL_MISMATCH findings, carrying both
amounts and both bases per insurance type; the workbook's 核对账单 sheet shows them."""

from __future__ import annotations

import hashlib

import openpyxl

from tests.transforms.actions.test_actions import ID_A, Runs  # noqa: F401  (the runs fixture's class)
from transforms.actions.cleanup import list_actions
from transforms.actions.workbook import readable_actions, write_action_rows


def bill_finding(insurance_type, billed_er, ledger_er, billed_ee="640.00", ledger_ee="640.00", region="长沙"):
    return {"code": "BILL_MISMATCH", "entity": "长沙甲公司", "employee_id": "E1", "id_number": ID_A,
            "region": region, "insurance_type": insurance_type,
            "details": {"name": "张三", "billed_employer": "长沙甲公司",
                        "billed_employer_amount": billed_er, "ledger_employer_amount": ledger_er,
                        "billed_employee_amount": billed_ee, "ledger_employee_amount": ledger_ee,
                        "billed_base": "8000.00", "ledger_base": "7900.00",
                        "source": {"kind": "bill", "file": "社保缴费明细_长沙_202403.csv", "sheet": None, "row": 3}}}


def test_bill_mismatches_of_one_person_and_region_are_one_action_with_both_sides(con, tmp_path):
    runs = Runs(con)
    runs.run("2024-03", [bill_finding("pension", "1290.00", "1280.00"), bill_finding("medical", "0.00", "640.00")])
    (action_id, action), = runs.actions().items()
    key = f"RECONCILE_BILL|bill|长沙|{ID_A}"
    assert action_id == "BIL-" + hashlib.sha256(key.encode()).hexdigest()[:12]
    assert (action["action_type"], action["entity"], action["id_number"]) == ("RECONCILE_BILL", "长沙甲公司", ID_A)
    assert action["details"]["bill"] == [
        {"insurance_type": "medical", "region": "长沙", "billed_employer_amount": "0.00",
         "ledger_employer_amount": "640.00", "billed_employee_amount": "640.00", "ledger_employee_amount": "640.00",
         "billed_base": "8000.00", "ledger_base": "7900.00"},
        {"insurance_type": "pension", "region": "长沙", "billed_employer_amount": "1290.00",
         "ledger_employer_amount": "1280.00", "billed_employee_amount": "640.00", "ledger_employee_amount": "640.00",
         "billed_base": "8000.00", "ledger_base": "7900.00"},
    ]
    # the same person billed wrong in another region is another problem
    runs.run("2024-04", [bill_finding("pension", "1290.00", "1280.00"),
                         bill_finding("pension", "10.00", "0.00", region="武汉")])
    assert len(runs.actions()) == 2
    path = write_action_rows(readable_actions(con, list_actions(con, role="hr_manager"), True),
                             tmp_path / "actions.xlsx", True)
    sheet = openpyxl.load_workbook(path)["核对账单"]
    texts = [" ".join(str(c) for c in row if c is not None) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(texts) == 2
    # the finding's sentence (BILL_MISMATCH's registry template), as the report shows it
    assert any("账单 单位 1290.00（台账 1280.00）" in t and "基数 8000.00（台账 7900.00）" in t for t in texts)
    assert all("None" not in t and "RECONCILE_BILL" not in t for t in texts)


def test_a_month_without_bills_resolves_no_bill_action(con):
    runs = Runs(con)
    runs.run("2024-03", [bill_finding("pension", "1290.00", "1280.00")])
    counts = runs.run("2024-04", [])  # no bill rows staged for April: nothing proven
    assert "RECONCILE_BILL" in counts["not_resolvable_types"]
    assert [a["status"] for a in runs.actions().values()] == ["open"]
    con.execute("INSERT INTO staging.bill VALUES (60, NULL, 1, '2024-05', '1', '1', '某人', '长沙', '长沙', true,"
                " '长沙甲公司', 'pension', 1, 1, 1)")
    from transforms.ingest.inbox import record_load_keys

    record_load_keys(con, 60)
    runs.run("2024-05", [])  # May's bill no longer differs for this person: resolved
    assert [a["status"] for a in runs.actions().values()] == ["resolved"]


def test_a_policy_the_bill_contradicts_is_one_update_policy_action_per_region_and_type(con, tmp_path):
    finding = {"code": "POLICY_CONFLICTS_BILL", "entity": "长沙甲公司", "employee_id": None, "id_number": None,
               "region": "长沙", "insurance_type": "pension",
               "details": {"side": "employer", "rows": 4, "rows_disagreeing": 3, "policy_rate": "0.160000",
                           "implied_rate": "0.140000"}}
    runs = Runs(con)
    runs.run("2024-03", [finding, finding | {"insurance_type": "medical"}])
    runs.run("2024-04", [finding])
    actions = runs.actions()
    assert sorted((a["action_type"], a["status"]) for a in actions.values()) == [
        ("UPDATE_POLICY", "open"), ("UPDATE_POLICY", "resolved")]
    path = write_action_rows(readable_actions(con, list_actions(con, role="hr_manager"), True),
                             tmp_path / "actions.xlsx", True)
    texts = [" ".join(str(c) for c in row if c is not None)
             for name in openpyxl.load_workbook(path).sheetnames if name != "汇总"
             for row in openpyxl.load_workbook(path)[name].iter_rows(min_row=2, values_only=True)]
    assert any("账单中 3 行（共 4 行）的单位缴费与政策费率 0.160000 不符，按账单推算的费率为 0.140000" in t for t in texts)
    assert all("None" not in t and "employer" not in t for t in texts)
