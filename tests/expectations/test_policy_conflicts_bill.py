"""POLICY_CONFLICTS_BILL on hand-built bills: most billed rows of a (region, type) disagree with the policy's
rate (3 rows at least, more than half, 0.01 or more on a side, the region's rounding, either hukou row), a
warning with the rate the bill implies; a bill that agrees gives nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.expectations.conftest import id_number
from tests.expectations.test_bill_mismatch import BILL_LOAD, A, bill

IDS = [id_number(birth=f"1990010{n}", seq=f"{n}11") for n in range(1, 7)]


@pytest.fixture()
def billed(wh):
    wh.con.execute("INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, loaded_at)"
                   " VALUES (?, '社保缴费明细_长沙_202403.csv', 'sha-bill', 'bill', 'loaded', now())", [BILL_LOAD])
    wh.payroll(entity=A)
    wh.policy(region="长沙", insurance_type="pension", employer_rate="0.16", employee_rate="0.08")
    wh.policy(region="长沙", insurance_type="medical", employer_rate="0.08", employee_rate="0.02")
    return wh


def test_a_bill_charging_another_rate_on_most_rows_is_a_warning_with_the_implied_rate(billed):
    wh = billed
    # pension at 14% employer on three of four rows (bases 8000, 9000, 10000.55), 16% on the fourth
    for n, (base, employer) in enumerate((("8000", "1120.00"), ("9000", "1260.00"), ("10000.55", "1400.08"),
                                          ("8000", "1280.00")), start=1):
        bill(wh, IDS[n], employer, str((Decimal(base) * Decimal("0.08")).quantize(Decimal("0.01"))), base=base,
             row_number=n)
    # medical agrees on every row
    for n in range(1, 4):
        bill(wh, IDS[n], "640.00", "160.00", insurance_type="medical", row_number=10 + n)
    rows = wh.findings("POLICY_CONFLICTS_BILL")
    assert [(r["region"], r["insurance_type"], r["entity"]) for r in rows] == [("长沙", "pension", A)]
    assert rows[0]["details"] == {"side": "employer", "rows": 4, "rows_disagreeing": 3, "policy_rate": "0.160000",
                                  "implied_rate": "0.140000"}


@pytest.mark.parametrize("case", ["agrees", "half", "too_few", "not_ours_or_no_base"])
def test_no_warning_unless_more_than_half_of_three_or_more_rows_disagree(billed, case):
    wh = billed
    employer = {"agrees": ["1280.00"] * 4, "half": ["1120.00", "1120.00", "1280.00", "1280.00"],
                "too_few": ["1120.00", "1120.00"], "not_ours_or_no_base": ["1280.00"] * 4}[case]
    for n, amount in enumerate(employer, start=1):
        bill(wh, IDS[n], amount, "640.00", row_number=n)
    if case == "not_ours_or_no_base":  # disagreeing rows of another employer, or with no base, do not count
        for n in range(3):
            bill(wh, IDS[n], "1120.00", "640.00", employer="别家公司", row_number=20 + n)
            bill(wh, IDS[n], "1120.00", "640.00", base="0", row_number=30 + n)
    assert wh.findings("POLICY_CONFLICTS_BILL") == []


def test_employee_side_fixed_sums_rounding_and_hukou_rows(billed):
    wh = billed
    wh.con.execute("DELETE FROM ref.policy")
    for hukou, rate in (("local", "0.16"), ("nonlocal", "0.14")):  # either row makes a bill row agree
        wh.con.execute("INSERT INTO ref.policy (region, insurance_type, effective_from, base_floor, base_ceiling,"
                       " employer_rate, employee_rate, employee_fixed, source, verified, hukou) VALUES"
                       " ('长沙', 'pension', '2024-01', 1, 99999, ?, 0.08, 3, 't', 'assumed', ?)", [rate, hukou])
    for n, employer in enumerate(("1280.00", "1120.00", "1280.00"), start=1):
        bill(wh, IDS[n], employer, "643.00", row_number=n)  # 8000 × 8% + 3
    assert wh.findings("POLICY_CONFLICTS_BILL") == []
    wh.con.execute("UPDATE staging.bill SET employee_amount = 723.00")  # 9% + 3: every row off on that side
    rows = wh.findings("POLICY_CONFLICTS_BILL")
    assert rows[0]["details"] == {"side": "employee", "rows": 3, "rows_disagreeing": 3,
                                  "policy_rate": "0.080000/0.080000", "implied_rate": "0.090000"}
    # jiao_up (Shanghai's rounding): 8000.05 × 8% = 640.004 is billed 640.10, which agrees
    wh.con.execute("INSERT INTO ref.regions (region, province, aliases, rounding) VALUES ('长沙', '湖南', [], 'jiao_up')")
    wh.con.execute("UPDATE staging.bill SET base = 8000.05, employee_amount = 643.10,"
                   " employer_amount = CASE employer_amount WHEN 1280 THEN 1280.10 ELSE 1120.10 END")
    assert wh.findings("POLICY_CONFLICTS_BILL") == []
