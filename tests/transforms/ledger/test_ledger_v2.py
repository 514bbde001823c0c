"""SPEC v2 ledger rules on hand-computed cases: the contribution year of a July region (§4.4), fixed monthly
sums (§4.6) in the withholding check (§4.8), and one "latest attendance row" for the ledger and
DEPARTED_STILL_CONTRIBUTING (§4.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from expectations.registry import BY_CODE
from transforms.ingest.inbox import record_load_keys
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy

POLICY = """region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,employee_rate,\
employer_fixed,employee_fixed,base_year_start_month
北京,pension,2023-01,,5000,40000,0.16,0.08,0,0,7
北京,medical,2023-01,,5000,40000,0.098,0.02,0,3.00,7
长沙,pension,2023-01,,3000,20000,0.16,0.08,0,0,1
"""
ENTITY = "京湘公司"


@pytest.fixture()
def policy(con, tmp_path):
    path = tmp_path / "policy.csv"
    path.write_text(POLICY, encoding="utf-8")
    apply_policy(con, path)


def pay(con, load_id: int, period: str, employee_id: str, city: str, gross: str, withheld: str | None = None):
    ident = f"11010219800101{int(employee_id[1:]):03d}5"
    con.execute("INSERT INTO staging.payroll VALUES (?, NULL, 1, ?, ?, '王芳', ?, ?, ?, ?, ?, true, ?, NULL, ?)",
                [load_id, period, employee_id, ident, ident, ENTITY, city, city, Decimal(gross),
                 Decimal(withheld) if withheld else None])
    record_load_keys(con, load_id)


def cells(con, period: str) -> dict:
    return {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT employee_id, insurance_type, base, employer_amount, employee_amount"
        " FROM ledger.current_contributions WHERE period = ?", [period]).fetchall()}


def test_a_july_region_uses_the_year_before_last_until_june(con, policy):
    # 2023: 6,000 a month; 2024: 9,000 a month. Beijing's contribution year runs July to June.
    # one payroll file (load) per month, as corrections key rows by (period, entity)
    for month in range(1, 13):
        for year, gross in ((2023, "6000"), (2024, "9000")):
            load = year * 100 + month
            pay(con, load, f"{year}-{month:02d}", "E1", "北京", gross)
            pay(con, load, f"{year}-{month:02d}", "E2", "长沙", gross)
    pay(con, 202503, "2025-03", "E1", "北京", "9500")
    pay(con, 202503, "2025-03", "E2", "长沙", "9500")
    pay(con, 202507, "2025-07", "E1", "北京", "9500")
    for period in ("2025-03", "2025-07"):
        compute_ledger(con, period)
    # March 2025 is in the year that started July 2024: 2023's wages. July 2025 starts a new year: 2024's.
    assert cells(con, "2025-03")[("E1", "pension")][0] == Decimal("6000.00")
    assert cells(con, "2025-07")[("E1", "pension")][0] == Decimal("9000.00")
    # A calendar-year region switches in January.
    assert cells(con, "2025-03")[("E2", "pension")][0] == Decimal("9000.00")


def test_a_fixed_monthly_sum_is_charged_and_withheld_without_a_mismatch(con, policy):
    pay(con, 1, "2024-03", "E1", "北京", "10000", withheld="1003.00")  # 8% + 2% + 3 yuan
    pay(con, 1, "2024-03", "E2", "北京", "10000", withheld="1000.00")  # the 3 yuan forgotten
    compute_ledger(con, "2024-03")
    medical = cells(con, "2024-03")[("E1", "medical")]
    assert medical == (Decimal("10000.00"), Decimal("980.00"), Decimal("203.00"))
    rows = con.execute(
        "SELECT employee_id, withholding_difference FROM ledger.employee_months WHERE period = '2024-03'"
        " ORDER BY 1").fetchall()
    assert rows == [("E1", Decimal("0.00")), ("E2", Decimal("-3.00"))]


def test_two_attendance_rows_of_one_month_give_the_ledger_and_the_check_one_answer(con, policy):
    """§4.2: the later row in its file decides. Row 1 says the person left on 2024-02-10, row 2 (later)
    that they are still employed: the ledger charges March in full and the check finds no leaver."""
    pay(con, 1, "2024-02", "E1", "长沙", "8000")
    ident = "110102198001010015"
    for row, leave in ((1, "2024-02-10"), (2, None)):
        con.execute("INSERT INTO staging.attendance (load_id, sheet, row_number, period, employee_id, name,"
                    " id_number, id_number_raw, entity, hire_date, leave_date) VALUES (2, NULL, ?, '2024-03', 'E1',"
                    " '王芳', ?, ?, ?, DATE '2020-01-01', ?)", [row, ident, ident, ENTITY, leave])
    record_load_keys(con, 2)
    con.execute("INSERT INTO staging.insurance VALUES (3, NULL, 1, '2024-03', ?, ?, '王芳', '长沙', '长沙', true, ?,"
                " 'pension', 'active', '2020-01', NULL, 8000, NULL, NULL)", [ident, ident, ENTITY])
    record_load_keys(con, 3)
    con.execute("INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, loaded_at) VALUES"
                " (1, 'p.csv', 'a', 'payroll', 'loaded', now()), (2, 'a.csv', 'b', 'attendance', 'loaded', now()),"
                " (3, 'i.csv', 'c', 'insurance', 'loaded', now())")
    pay(con, 4, "2024-03", "E1", "长沙", "8000")
    compute_ledger(con, "2024-03")
    fraction = con.execute("SELECT month_fraction FROM ledger.employee_months WHERE employee_id = 'E1'"
                           " AND period = '2024-03'").fetchone()[0]
    con.execute("CREATE OR REPLACE TEMP TABLE scope AS SELECT '2024-03' AS period")
    departed = con.execute(f"SELECT count(*) FROM ({BY_CODE['DEPARTED_STILL_CONTRIBUTING'].sql_for('scope')})").fetchone()[0]
    assert (fraction, departed) == (Decimal("1.0000"), 0)
    # and the other way round: the later row says they left before March
    con.execute("UPDATE staging.attendance SET leave_date = CASE row_number WHEN 1 THEN NULL"
                " ELSE DATE '2024-02-10' END")
    compute_ledger(con, "2024-03")
    fraction = con.execute("SELECT month_fraction FROM ledger.employee_months WHERE employee_id = 'E1'"
                           " AND period = '2024-03'").fetchone()[0]
    assert fraction == Decimal("0.0000")
