"""SPEC §4 rule by rule, on tiny hand-built staged rows."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from transforms.ingest.inbox import record_load_keys
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from warehouse.db import connect

POLICY = """region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,employee_rate
长沙,pension,2024-01,,3604,18021,0.16,0.08
长沙,medical,2024-01,,3604,18021,0.08,0.02
长沙,maternity,2024-01,,3604,18021,0.007,0
武汉,pension,2024-01,,4000,20000,0.16,0.08
上海,pension,2024-01,,7310,36549,0.16,0.08
"""


class Staging:
    """Inserts rows into staging.* as one load per (kind, period, entity), like ingest does; a later
    load for the same key would supersede the earlier one."""

    def __init__(self, con):
        self.con = con
        self.load_id = 1000
        self.loads: dict[tuple, int] = {}

    def _load(self) -> int:
        self.load_id += 1
        return self.load_id

    def payroll(self, period, employee_id, gross, city="长沙", entity="星城公司", si_withheld=None, id_number=None,
                load_id=None):
        load_id = load_id or self.loads.setdefault(("payroll", period, entity), self._load())
        id_number = id_number or f"43010219900101{int(employee_id[1:]):04d}"
        self.con.execute(
            "INSERT INTO staging.payroll VALUES (?, NULL, 1, ?, ?, '王芳', ?, ?, ?, ?, ?, true, ?, NULL, ?)",
            [load_id, period, employee_id, id_number, id_number, entity, city, city, Decimal(gross),
             None if si_withheld is None else Decimal(si_withheld)],
        )
        record_load_keys(self.con, load_id)
        return load_id

    def attendance(self, period, employee_id, hire, leave=None, entity="星城公司", employment_type=None,
                   row_number=1):
        load_id = self.loads.setdefault(("attendance", period, entity), self._load())
        self.con.execute(
            "INSERT INTO staging.attendance (load_id, row_number, period, employee_id, name, entity, hire_date,"
            " leave_date, employment_type) VALUES (?, ?, ?, ?, '王芳', ?, ?, ?, ?)",
            [load_id, row_number, period, employee_id, entity, hire, leave, employment_type],
        )
        record_load_keys(self.con, load_id)


def with_policy(migrated_warehouse: Path, folder: Path, policy: str) -> Path:
    """A copy of the session's new warehouse in ``folder`` with ``policy`` (CSV text) applied."""
    path = folder / "policy.duckdb"
    shutil.copy(migrated_warehouse, path)
    (folder / "policy.csv").write_text(policy, encoding="utf-8")
    connection = connect(path)
    try:
        apply_policy(connection, folder / "policy.csv")
    finally:
        connection.close()
    return path


@pytest.fixture(scope="module")
def migrated_warehouse(migrated_warehouse, tmp_path_factory) -> Path:
    """Every test here starts from a new warehouse with POLICY applied: applied once for the module, each
    test's ``con`` a copy (applying it took a third of these tests' time)."""
    return with_policy(migrated_warehouse, tmp_path_factory.mktemp("ledger-policy"), POLICY)


@pytest.fixture()
def staging(con):
    """Staging rows written by hand on ``con``, whose warehouse has POLICY applied (``migrated_warehouse``)."""
    return Staging(con)


def cells(con, period, employee_id="E1"):
    return {
        r[0]: r[1:] for r in con.execute(
            "SELECT insurance_type, base, month_fraction, employer_amount, employee_amount"
            " FROM ledger.current_contributions WHERE period = ? AND employee_id = ?", [period, employee_id]
        ).fetchall()
    }


def fraction(con, period, employee_id="E1"):
    return con.execute("SELECT month_fraction FROM ledger.employee_months WHERE period = ? AND employee_id = ?",
                       [period, employee_id]).fetchone()[0]


@pytest.mark.parametrize(("hire", "leave", "expected"), [
    (dt.date(2024, 3, 15), None, Decimal("1")),      # hired on the cutoff day: employed on C
    (dt.date(2024, 3, 16), None, Decimal("0.5")),    # hired after the 15th pays half a month
    (dt.date(2023, 5, 1), dt.date(2024, 3, 15), Decimal("0")),  # leaving on the 15th: not employed on C
    (dt.date(2023, 5, 1), dt.date(2024, 3, 16), Decimal("1")),  # leaving on the 16th: employed on C
    (dt.date(2024, 3, 20), dt.date(2024, 3, 28), Decimal("0")),  # hired and left in the same month
    (dt.date(2024, 3, 2), dt.date(2024, 3, 28), Decimal("1")),  # hired before C, left after C
    (dt.date(2024, 4, 2), None, Decimal("0")),       # not yet hired
])
def test_month_fraction(con, staging, hire, leave, expected):
    staging.payroll("2024-03", "E1", "10000")
    staging.attendance("2024-03", "E1", hire, leave)
    compute_ledger(con, "2024-03")
    assert fraction(con, "2024-03") == expected
    if expected == 0:
        assert cells(con, "2024-03") == {}
    else:
        assert cells(con, "2024-03")["pension"][1] == expected


def test_no_attendance_counts_the_whole_month(con, staging):
    staging.payroll("2024-03", "E1", "10000")
    compute_ledger(con, "2024-03")
    assert fraction(con, "2024-03") == 1


def test_reference_wage_is_last_years_mean_rounded_half_up(con, staging):
    for month, pay in (("2023-01", "10000.00"), ("2023-02", "10000.00"), ("2023-03", "10000.01")):
        staging.payroll(month, "E1", pay)
    staging.payroll("2024-03", "E1", "50000")
    compute_ledger(con, "2024-03")
    # (10000.00 + 10000.00 + 10000.01) / 3 = 10000.003… -> 10000.00
    assert cells(con, "2024-03")["pension"][0] == Decimal("10000.00")
    staging.payroll("2023-04", "E1", "10000.01")
    compute_ledger(con, "2024-03")
    # 40000.02 / 4 = 10000.005 -> half-up 10000.01
    assert cells(con, "2024-03")["pension"][0] == Decimal("10000.01")


def test_new_hire_base_is_the_first_months_pay(con, staging):
    staging.payroll("2024-02", "E1", "9000")
    staging.payroll("2024-03", "E1", "12000")
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03")["pension"][0] == Decimal("9000.00")


def test_base_is_clamped_to_floor_and_ceiling(con, staging):
    staging.payroll("2024-03", "E1", "2000")
    staging.payroll("2024-03", "E2", "90000")
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03", "E1")["pension"][0] == Decimal("3604.00")
    assert cells(con, "2024-03", "E2")["pension"][0] == Decimal("18021.00")


def test_types_levied_follow_the_policy_of_the_city(con, staging):
    staging.payroll("2024-03", "E1", "10000", city="长沙")
    staging.payroll("2024-03", "E2", "10000", city="武汉")
    compute_ledger(con, "2024-03")
    assert set(cells(con, "2024-03", "E1")) == {"pension", "medical", "maternity"}
    assert set(cells(con, "2024-03", "E2")) == {"pension"}  # 武汉 has no maternity row here
    # maternity: employee rate 0 still gets a row
    assert cells(con, "2024-03", "E1")["maternity"][3] == Decimal("0.00")


def test_a_city_without_policy_gives_no_rows(con, staging):
    staging.payroll("2024-03", "E1", "10000", city="三沙")
    summary = compute_ledger(con, "2024-03")
    assert cells(con, "2024-03") == {}
    assert summary["employees_without_policy"] == 1
    assert con.execute("SELECT has_pension_policy FROM ledger.employee_months").fetchone()[0] is False


def test_half_up_rounding_at_half_a_cent(con, staging):
    # 3604.00 * 0.007 = 25.228; use a base giving .xx5: 3605.00 * 0.007 = 25.235 -> 25.24 (not 25.23 half-even)
    staging.payroll("2024-03", "E1", "3605")
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03")["maternity"][2] == Decimal("25.24")


def test_jiao_up_rounding_region(con, staging):
    staging.payroll("2024-03", "E1", "7311", city="上海")  # 7311 * 0.08 = 584.88 -> 584.90
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03")["pension"][2:] == (Decimal("1169.80"), Decimal("584.90"))  # 1169.76 -> 1169.80


def test_half_month_amounts(con, staging):
    staging.payroll("2024-03", "E1", "10000")
    staging.attendance("2024-03", "E1", dt.date(2024, 3, 20))
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03")["pension"] == (Decimal("10000.00"), Decimal("0.5"), Decimal("800.00"),
                                                Decimal("400.00"))


def test_withholding_difference(con, staging):
    staging.payroll("2024-03", "E1", "10000", si_withheld="1000.00")  # expected 800 + 200 = 1000
    staging.payroll("2024-03", "E2", "10000", si_withheld="1050.00")
    staging.payroll("2024-03", "E3", "10000", si_withheld="100.00")
    staging.attendance("2024-03", "E3", dt.date(2024, 4, 1))  # f = 0: owes nothing, withholding is wrong
    compute_ledger(con, "2024-03")
    rows = dict(con.execute("SELECT employee_id, withholding_difference FROM ledger.employee_months").fetchall())
    assert rows == {"E1": Decimal("0.00"), "E2": Decimal("50.00"), "E3": Decimal("100.00")}


def test_two_payroll_rows_of_one_month_are_added(con, staging):
    staging.payroll("2024-03", "E1", "6000")
    staging.payroll("2024-03", "E1", "4000")
    compute_ledger(con, "2024-03")
    assert con.execute("SELECT gross_pay FROM ledger.employee_months").fetchone()[0] == Decimal("10000.00")


def test_rerun_with_nothing_changed_appends_nothing(con, staging):
    staging.payroll("2024-03", "E1", "10000")
    first = compute_ledger(con, "2024-03")
    second = compute_ledger(con, "2024-03")
    assert first["rows_appended"] == 3 and second["rows_appended"] == 0


@pytest.mark.parametrize(("hire", "leave", "expected"), [
    (dt.date(2024, 2, 29), None, Decimal("1")),  # cutoff day 31 in February is the 29th: hired on C
    (dt.date(2023, 1, 1), dt.date(2024, 2, 29), Decimal("0")),  # left on C
    (dt.date(2023, 1, 1), dt.date(2024, 3, 1), Decimal("1")),   # left after C (not "February 31st" = March 2nd)
])
def test_a_cutoff_beyond_the_month_is_its_last_day(con, staging, tmp_path, hire, leave, expected):
    policy = tmp_path / "late.csv"
    policy.write_text(POLICY.splitlines()[0] + ",hire_cutoff_day\n长沙,pension,2024-01,,3604,18021,0.16,0.08,31\n",
                      encoding="utf-8")
    apply_policy(con, policy)
    staging.payroll("2024-02", "E1", "10000")
    staging.attendance("2024-02", "E1", hire, leave)
    compute_ledger(con, "2024-02")
    assert fraction(con, "2024-02") == expected


@pytest.mark.parametrize(("hire", "expected"), [
    (dt.date(2024, 3, 20), Decimal("1")),     # on the region's cutoff (the 20th)
    (dt.date(2024, 3, 21), Decimal("0.3")),   # after it: the region's late-hire fraction
])
def test_the_regions_cutoff_day_and_late_hire_fraction(con, staging, tmp_path, hire, expected):
    policy = tmp_path / "settings.csv"
    policy.write_text(POLICY.splitlines()[0] + ",截止日,折算比例\n长沙,pension,2024-01,,3604,18021,0.16,0.08,20,30%\n",
                      encoding="utf-8")
    apply_policy(con, policy)
    staging.payroll("2024-03", "E1", "10000")
    staging.attendance("2024-03", "E1", hire)
    compute_ledger(con, "2024-03")
    assert fraction(con, "2024-03") == expected
    assert cells(con, "2024-03")["pension"][2] == Decimal("1600.00") * expected


def test_jiao_up_keeps_an_amount_already_on_the_jiao(con, staging):
    staging.payroll("2024-03", "E1", "7400", city="上海")  # 7400 * 0.08 = 592.00 exactly: no jiao added
    compute_ledger(con, "2024-03")
    assert cells(con, "2024-03")["pension"][2:] == (Decimal("1184.00"), Decimal("592.00"))


def test_leaving_before_the_month_owes_nothing_but_withholding_is_checked(con, staging):
    staging.payroll("2024-03", "E1", "10000", si_withheld="0")
    staging.attendance("2024-02", "E1", dt.date(2023, 1, 1), dt.date(2024, 2, 10))  # latest row before P
    compute_ledger(con, "2024-03")
    assert fraction(con, "2024-03") == 0 and cells(con, "2024-03") == {}
    assert con.execute("SELECT expected_employee_amount, withholding_difference FROM ledger.employee_months"
                       ).fetchone() == (Decimal("0.00"), Decimal("0.00"))


def test_withholding_is_not_compared_without_pension_policy_or_without_withholding(con, staging):
    staging.payroll("2024-03", "E1", "10000", city="三沙", si_withheld="900")
    staging.payroll("2024-03", "E2", "10000")
    compute_ledger(con, "2024-03")
    rows = dict(con.execute("SELECT employee_id, withholding_difference FROM ledger.employee_months").fetchall())
    assert rows == {"E1": None, "E2": None}


def test_money_is_decimal_everywhere(con, staging):
    staging.payroll("2024-03", "E1", "18021.99")
    compute_ledger(con, "2024-03")
    types = dict(con.execute(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'ledger' AND (column_name LIKE '%amount%' OR column_name LIKE '%rate'"
        " OR column_name IN ('base', 'reference_wage', 'gross_pay', 'si_withheld', 'withholding_difference'))"
    ).fetchall())
    assert types and all(t.startswith("DECIMAL") for t in types.values()), types
    # the largest base × rate × fraction keeps its cents: 18021.00 * 0.16 = 2883.36
    assert cells(con, "2024-03")["pension"][2] == Decimal("2883.36")


def _watch(con, macro: str, kind: str, seen: set) -> None:
    """``ledger.<macro>`` (one argument-for-argument copy) records DuckDB's limit and threads each time a row
    goes through it, read on a connection of its own while the statement runs."""
    side = con.cursor()

    def peek(value):
        seen.add(side.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone())
        return value

    name = f"peek_{macro}"
    con.create_function(name, peek, [kind], kind, null_handling="special", side_effects=True)
    parameters, body = con.execute("SELECT parameters, macro_definition FROM duckdb_functions()"
                                   " WHERE schema_name = 'ledger' AND function_name = ?", [macro]).fetchone()
    con.execute(f"CREATE OR REPLACE MACRO ledger.{macro}({', '.join(parameters)}) AS {name}({body})")


def test_months_run_at_their_share_on_one_thread_the_rest_at_half(con, staging, monkeypatch):
    """DuckDB's cache fills its whole limit in each statement, beside the close's own memory (issue 28): the
    ledger runs at half of it, ledger.months on one thread at LEAN's share, and gives all of it back after."""
    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "1GB")
    con.execute("SET memory_limit = '1GB'")
    con.execute("SET threads = 2")
    months: set = set()
    append: set = set()
    _watch(con, "employee_hukou", "VARCHAR", months)  # read by ledger.months only
    _watch(con, "nets_to_nothing", "BOOLEAN", append)  # by the append (and the summary's net ledger)
    staging.payroll("2024-03", "E1", "10000")
    assert compute_ledger(con, "2024-03")["rows_appended"] == 3
    assert months == {("572.2 MiB", 1)}  # 0.6 of 1GB
    assert ("476.8 MiB", 2) in append and ("953.6 MiB", 2) not in append
    assert con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone() == (
        "953.6 MiB", 2)


def test_months_past_their_share_are_booked_again_at_the_whole_limit(con, staging, monkeypatch):
    """More employees than the shares were measured for: DuckDB runs out under them, the ledger is rolled back
    and booked at the whole limit, as before the shares; nothing of the first attempt is left."""
    import transforms.ledger.book as book

    monkeypatch.setenv("SHEBAO_DUCKDB_MEMORY", "1GB")
    monkeypatch.setattr("warehouse.settings.MIN_MEMORY_BYTES", 1000**2)
    monkeypatch.setattr(book, "LEAN", {"months": 0.001, "rest": 0.5})  # 1MB for ledger.months: too little
    staging.payroll("2024-03", "E1", "10000")
    staging.payroll("2024-03", "E2", "8000")
    summary = compute_ledger(con, "2024-03")
    assert summary["rows_appended"] == 6
    assert con.execute("SELECT count(*) FROM ledger.runs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM ledger.employee_months").fetchone()[0] == 2
    assert cells(con, "2024-03", "E2")["pension"] == (Decimal("8000.00"), Decimal("1.0000"), Decimal("1280.00"),
                                                      Decimal("640.00"))
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "953.6 MiB"
