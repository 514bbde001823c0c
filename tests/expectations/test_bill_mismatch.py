"""BILL_MISMATCH on hand-built rows: billed vs the ledger's net per (id_number, type, region), both sides,
1.00 or more; a missing side counts 0; only our employers' bill rows; only regions with bill rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.expectations.conftest import id_number
from transforms.ingest.inbox import record_load_keys
from transforms.ledger.reconcile import reconciliation

A = "长沙星城智造(长沙)有限公司"
ID1 = id_number(birth="19900101", seq="123")
ID2 = id_number(birth="19850505", seq="456")
ID3 = id_number(birth="19800303", seq="789")
ID4 = id_number(birth="19750707", seq="321")
BILL_LOAD = 50


@pytest.fixture()
def bills(wh):
    wh.con.execute("INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, loaded_at)"
                   " VALUES (?, '社保缴费明细_长沙_202403.csv', 'sha-bill', 'bill', 'loaded', now())", [BILL_LOAD])
    return wh


def bill(wh, id_number, employer_amount, employee_amount, *, insurance_type="pension", region="长沙", employer=A,
         base="8000", period="2024-03", row_number=1, load_id=BILL_LOAD):
    wh.con.execute(
        "INSERT INTO staging.bill VALUES (?, NULL, ?, ?, ?, ?, '某人', ?, ?, true, ?, ?, ?, ?, ?)",
        [load_id, row_number, period, id_number, id_number, region, region, employer, insurance_type,
         Decimal(base), Decimal(employer_amount), Decimal(employee_amount)])
    record_load_keys(wh.con, load_id)


def booked(wh, id_number, employer_amount, employee_amount, *, employee_id="E1", insurance_type="pension",
           region="长沙", entity=A, base="8000", period="2024-03", entry_type="original"):
    # as ledger_append.sql books: at most one row per cell and run, so an adjustment comes in a later run
    run_id = "L1" if entry_type == "original" else "L2"
    wh.con.execute(
        "INSERT INTO ledger.contributions (period, entity, employee_id, id_number, name, region, insurance_type, base,"
        " month_fraction, employer_rate, employee_rate, employer_amount, employee_amount, entry_type, run_id,"
        " created_at) VALUES (?, ?, ?, ?, '某人', ?, ?, ?, 1, 0.16, 0.08, ?, ?, ?, ?, now())",
        [period, entity, employee_id, id_number, region, insurance_type, Decimal(base), Decimal(employer_amount),
         Decimal(employee_amount), entry_type, run_id])


def test_amount_off_billed_non_employee_unbilled_employee_and_sub_yuan_rounding(bills):
    wh = bills
    wh.payroll(entity=A, employee_id="E1", id_number=ID1)
    booked(wh, ID1, "1280.00", "640.00", employee_id="E1")
    bill(wh, ID1, "1280.00", "650.00", row_number=1)                 # employee side 10.00 off
    bill(wh, ID2, "1000.00", "500.00", row_number=2)                 # billed, not in our ledger
    booked(wh, ID3, "1280.00", "640.00", employee_id="E3")           # in our ledger, not billed
    booked(wh, ID4, "1280.00", "640.00", employee_id="E4")
    bill(wh, ID4, "1280.99", "639.01", row_number=3)                 # under 1.00 on each side: fine
    rows = wh.findings("BILL_MISMATCH")
    assert sorted((r["id_number"], r["insurance_type"], r["region"]) for r in rows) == sorted(
        [(ID1, "pension", "长沙"), (ID2, "pension", "长沙"), (ID3, "pension", "长沙")])
    first = next(r for r in rows if r["id_number"] == ID1)
    assert first["entity"] == A and first["employee_id"] == "E1"
    assert first["details"] | {"source": None} == {
        "name": "某人", "billed_employer": A,
        "billed_employer_amount": "1280.00", "billed_employee_amount": "650.00",
        "ledger_employer_amount": "1280.00", "ledger_employee_amount": "640.00",
        "employer_difference": "0.00", "employee_difference": "10.00",
        "billed_base": "8000.00", "ledger_base": "8000.00", "source": None}
    assert first["details"]["source"] == {"kind": "bill", "file": "社保缴费明细_长沙_202403.csv", "sheet": None,
                                          "row": 1}
    stranger = next(r for r in rows if r["id_number"] == ID2)["details"]
    assert (stranger["ledger_employer_amount"], stranger["ledger_base"]) == ("0.00", None)
    unbilled = next(r for r in rows if r["id_number"] == ID3)
    assert unbilled["details"]["billed_employer_amount"] == "0.00" and unbilled["details"]["billed_base"] is None
    assert unbilled["employee_id"] == "E3"


def test_exactly_one_yuan_is_a_mismatch_and_the_ledger_net_counts_adjustments(bills):
    wh = bills
    wh.payroll(entity=A)
    booked(wh, ID1, "1280.00", "640.00")
    booked(wh, ID1, "-20.00", "-10.00", entry_type="adjustment")   # net 1260 / 630
    bill(wh, ID1, "1260.00", "631.00")
    assert wh.keys("BILL_MISMATCH") == [(ID1, "pension", "长沙")]
    wh.con.execute("UPDATE staging.bill SET employee_amount = 630.99")
    assert wh.keys("BILL_MISMATCH") == []


def test_only_our_employers_bill_rows(bills):
    wh = bills
    wh.payroll(entity=A, period="2024-01")  # an entity of an earlier month's payroll is ours too
    booked(wh, ID1, "1280.00", "640.00", entity=A)
    bill(wh, ID1, "1280.00", "640.00", employer=A, row_number=1)
    bill(wh, ID2, "999.00", "99.00", employer="别家公司", row_number=2)  # not ours: not our bill line
    assert wh.findings("BILL_MISMATCH") == []


def test_only_regions_with_bill_rows_for_p_and_the_ledger_region_must_match(bills):
    wh = bills
    wh.payroll(entity=A)
    booked(wh, ID1, "1280.00", "640.00", region="武汉", employee_id="E1")  # no 武汉 bill: not reconciled
    booked(wh, ID2, "1280.00", "640.00", employee_id="E2")
    bill(wh, ID2, "1280.00", "640.00", row_number=1)
    bill(wh, ID3, "100.00", "50.00", period="2024-02", row_number=2)     # another month
    assert wh.findings("BILL_MISMATCH") == []
    bill(wh, ID1, "1280.00", "640.00", region="株洲", row_number=3)      # billed where the ledger is not
    assert wh.keys("BILL_MISMATCH") == [(ID1, "pension", "株洲")]


def test_no_bill_means_no_finding_and_no_missing_extract(bills):
    wh = bills
    wh.payroll(entity=A)
    wh.attendance(entity=A)
    wh.insurance(employer=A)
    wh.transfer()
    booked(wh, ID1, "1280.00", "640.00")
    assert wh.findings("BILL_MISMATCH") == []
    assert wh.findings("MISSING_EXTRACT") == []


def test_reconciliation_totals_per_region(bills):
    wh = bills
    wh.payroll(entity=A)
    booked(wh, ID1, "1280.00", "640.00", employee_id="E1")
    booked(wh, ID1, "80.00", "2.00", employee_id="E1", insurance_type="medical")
    booked(wh, ID3, "1280.00", "640.00", employee_id="E3")
    booked(wh, ID4, "500.00", "100.00", employee_id="E4", region="武汉")  # no 武汉 bill
    bill(wh, ID1, "1280.00", "650.00", row_number=1)
    bill(wh, ID1, "80.00", "2.00", insurance_type="medical", row_number=2)
    bill(wh, ID2, "1000.00", "500.00", row_number=3)
    bill(wh, ID2, "1.00", "1.00", employer="别家公司", row_number=4)
    table = reconciliation(wh.con, "2024-03")
    assert table.rows(named=True) == [{
        "region": "长沙",
        "billed_employer_amount": Decimal("2360.00"), "billed_employee_amount": Decimal("1152.00"),
        "ledger_employer_amount": Decimal("2640.00"), "ledger_employee_amount": Decimal("1282.00"),
        "employer_difference": Decimal("-280.00"), "employee_difference": Decimal("-130.00"),
        "billed_people": 2, "ledger_people": 2, "mismatches": 3,
    }]
    assert reconciliation(wh.con, "2024-04").height == 0


def test_a_bill_of_huge_valid_amounts_totals_without_overflow(bills):
    """Each amount fits the staged DECIMAL(14,2); their region total may not fit 18 digits, and a total that
    overflowed stopped the export and so the close for good (issue 30)."""
    wh = bills
    wh.payroll(entity=A, employee_id="E1", id_number=ID1)
    wh.con.execute(
        "INSERT INTO staging.bill SELECT ?, NULL, i, '2024-03', 'P' || i, 'P' || i, '某人', '长沙', '长沙', true, ?,"
        " 'pension', 8000, 999999999999.99, 999999999999.99 FROM range(1, 12001) t(i)", [BILL_LOAD, A])
    record_load_keys(wh.con, BILL_LOAD)
    frame = reconciliation(wh.con, "2024-03")
    assert Decimal(str(frame["billed_employer_amount"].sum())) == Decimal("999999999999.99") * 12000
