"""SPEC §4.7 on hand-built rows: corrections after a close append adjustments and never rewrite a row."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import built_from, connected_copy
from transforms.ingest.inbox import record_load_keys
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy

PERIODS = ("2024-01", "2024-02", "2024-03")
HEADER = "region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,employee_rate"
POLICY = f"""{HEADER}
长沙,pension,2024-01,,3604,18021,0.16,0.08
长沙,medical,2024-01,,3604,18021,0.08,0.02
"""
ENTITY = "星城公司"


def write_policy(tmp_path, text: str, name: str = "policy.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stage_payroll(con, load_id: int, period: str, rows: list[tuple[str, str]], name: str = "王芳") -> None:
    """One payroll file for (period, ENTITY): (employee_id, gross_pay) rows; a higher load_id supersedes."""
    for number, (employee_id, gross) in enumerate(rows, start=1):
        id_number = f"43010219900101{int(employee_id[1:]):04d}"
        con.execute(
            "INSERT INTO staging.payroll VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, '长沙', '长沙', true, ?, NULL, NULL)",
            [load_id, number, period, employee_id, name, id_number, id_number, ENTITY, Decimal(gross)],
        )
    record_load_keys(con, load_id)


def net_cells(con, period: str) -> dict[tuple, tuple]:
    return {
        (r[0], r[1]): r[2:] for r in con.execute(
            "SELECT employee_id, insurance_type, base, month_fraction, employer_amount, employee_amount"
            " FROM ledger.current_contributions WHERE period = ?", [period]
        ).fetchall()
    }


def sums_by_cell(con, period: str) -> dict[tuple, tuple]:
    """Net of every cell ever booked, including cells that netted to zero."""
    return {
        (r[0], r[1]): r[2:] for r in con.execute(
            "SELECT employee_id, insurance_type, sum(base), sum(month_fraction), sum(employer_amount),"
            " sum(employee_amount) FROM ledger.contributions WHERE period = ? GROUP BY ALL", [period]
        ).fetchall()
    }


def cell(base: str, employer: str, employee: str, fraction: str = "1") -> tuple:
    return Decimal(base), Decimal(fraction), Decimal(employer), Decimal(employee)


@pytest.fixture(scope="module")
def closed_once(migrated_warehouse, tmp_path_factory):
    """2024-01..03 closed: E1 with 2023 history (W = 5000), E2 a January hire paid 3000, E3 paid in February.
    Built once for the module: each test changes a copy of it (``closed``)."""
    folder = tmp_path_factory.mktemp("scenario")

    def build(con) -> None:
        apply_policy(con, write_policy(folder, POLICY))
        stage_payroll(con, 1, "2023-06", [("E1", "5000")])
        stage_payroll(con, 2, "2023-07", [("E1", "5000")])
        stage_payroll(con, 3, "2024-01", [("E1", "9000"), ("E2", "3000")])
        stage_payroll(con, 4, "2024-02", [("E1", "9000"), ("E2", "3000"), ("E3", "8000")])
        stage_payroll(con, 5, "2024-03", [("E1", "9000"), ("E2", "3000")])
        for period in PERIODS:
            compute_ledger(con, period)

    path = folder / "closed.duckdb"
    built_from(migrated_warehouse, path, build)
    return path


@pytest.fixture()
def closed(closed_once, tmp_path):
    with connected_copy(closed_once, tmp_path / closed_once.name) as con:
        yield con


def test_first_close_books_originals_only(closed):
    assert closed.execute("SELECT DISTINCT entry_type FROM ledger.contributions").fetchall() == [("original",)]
    assert net_cells(closed, "2024-02") == {
        ("E1", "pension"): cell("5000.00", "800.00", "400.00"),
        ("E1", "medical"): cell("5000.00", "400.00", "100.00"),
        ("E2", "pension"): cell("3604.00", "576.64", "288.32"),   # new hire paid 3000: the floor
        ("E2", "medical"): cell("3604.00", "288.32", "72.08"),
        ("E3", "pension"): cell("8000.00", "1280.00", "640.00"),
        ("E3", "medical"): cell("8000.00", "640.00", "160.00"),
    }


def test_corrected_payroll_and_retroactive_floor_append_adjustments(closed, tmp_path):
    originals = closed.execute("SELECT * FROM ledger.contributions ORDER BY ALL").fetchall()
    # A corrected February file (a later load for the same period and entity): E3 was paid by mistake,
    # E4 was missing. And a policy file raising the pension floor from January, retroactively.
    stage_payroll(closed, 6, "2024-02", [("E1", "9000"), ("E2", "3000"), ("E4", "7000")])
    apply_policy(closed, write_policy(tmp_path, POLICY.replace("pension,2024-01,,3604", "pension,2024-01,,6000"),
                                      "raised.csv"))

    appended = {period: compute_ledger(closed, period)["rows_appended"] for period in PERIODS}

    # January and March: the two pension cells below the new floor; February also E3 out, E4 in.
    assert appended == {"2024-01": 2, "2024-02": 2 + 2 + 2, "2024-03": 2}
    after = closed.execute("SELECT * FROM ledger.contributions ORDER BY ALL").fetchall()
    assert set(originals) <= set(after) and len(after) == len(originals) + sum(appended.values())
    new_february = {
        ("E1", "pension"): cell("6000.00", "960.00", "480.00"),
        ("E1", "medical"): cell("5000.00", "400.00", "100.00"),  # medical's floor did not change
        ("E2", "pension"): cell("6000.00", "960.00", "480.00"),
        ("E2", "medical"): cell("3604.00", "288.32", "72.08"),
        ("E4", "pension"): cell("7000.00", "1120.00", "560.00"),
        ("E4", "medical"): cell("7000.00", "560.00", "140.00"),
    }
    assert net_cells(closed, "2024-02") == new_february
    # the vanished cells were negated, not deleted: they net to zero
    zero = cell("0.00", "0.00", "0.00", "0")
    assert sums_by_cell(closed, "2024-02") == new_february | {("E3", "pension"): zero, ("E3", "medical"): zero}
    # an adjustment holds the difference, with the current rates
    assert closed.execute(
        "SELECT entry_type, base, month_fraction, employer_rate, employer_amount, employee_amount"
        " FROM ledger.contributions WHERE period = '2024-01' AND employee_id = 'E2' AND insurance_type = 'pension'"
        " ORDER BY created_at"
    ).fetchall() == [("original", Decimal("3604.00"), Decimal("1"), Decimal("0.16"), Decimal("576.64"),
                      Decimal("288.32")),
                     ("adjustment", Decimal("2396.00"), Decimal("0"), Decimal("0.16"), Decimal("383.36"),
                      Decimal("191.68"))]
    assert closed.execute(
        "SELECT entry_type, sum(month_fraction) FROM ledger.contributions WHERE employee_id = 'E4' GROUP BY ALL"
    ).fetchall() == [("original", Decimal("2"))]  # never booked before: an original, not an adjustment
    for period in ("2024-01", "2024-03"):
        assert net_cells(closed, period)[("E1", "pension")] == cell("6000.00", "960.00", "480.00")

    # ledger.booked_cells takes a cell's attributes from its latest run's row, the cell's largest rowid: one row
    # per cell and run, which the append must keep, or a run's two rows would leave its attributes to chance
    assert closed.execute("SELECT count(*) FROM (SELECT period, entity, employee_id, insurance_type, run_id"
                          " FROM ledger.contributions GROUP BY ALL HAVING count(*) > 1)").fetchone()[0] == 0

    # once more with nothing changed: nothing appended, and the runs say so
    assert [compute_ledger(closed, period)["rows_appended"] for period in PERIODS] == [0, 0, 0]
    assert closed.execute("SELECT count(*) FROM ledger.runs WHERE rows_appended = 0").fetchone()[0] == 3


def test_the_override_persists_without_policy(closed, tmp_path):
    apply_policy(closed, write_policy(tmp_path, POLICY.replace("pension,2024-01,,3604", "pension,2024-01,,6000"),
                                      "raised.csv"))
    apply_policy(closed)  # a later run without --policy keeps the file in force
    assert compute_ledger(closed, "2024-01")["rows_appended"] == 2
    assert net_cells(closed, "2024-01")[("E2", "pension")][0] == Decimal("6000.00")


def test_a_new_rate_with_the_same_cents_appends_a_zero_adjustment(closed, tmp_path):
    apply_policy(closed, write_policy(tmp_path, POLICY.replace("0.08,0.02", "0.080001,0.02"), "rate.csv"))
    assert compute_ledger(closed, "2024-03")["rows_appended"] == 2
    # E1: 5000 × 0.080001 = 400.005 -> 400.01, a cent more; E2: 3604 × 0.080001 = 288.3236 -> 288.32, the same
    # cents, yet the ledger must show the rate in force: a zero adjustment carries it
    assert closed.execute(
        "SELECT employee_id, employer_rate, base, month_fraction, employer_amount, employee_amount"
        " FROM ledger.contributions WHERE entry_type = 'adjustment' ORDER BY employee_id"
    ).fetchall() == [("E1", Decimal("0.080001"), 0, 0, Decimal("0.01"), 0),
                     ("E2", Decimal("0.080001"), 0, 0, 0, 0)]
    assert closed.execute(
        "SELECT DISTINCT employer_rate FROM ledger.current_contributions WHERE period = '2024-03'"
        " AND insurance_type = 'medical'").fetchall() == [(Decimal("0.080001"),)]
    assert compute_ledger(closed, "2024-03")["rows_appended"] == 0


def test_a_corrected_name_appends_zero_adjustments_that_carry_it(closed):
    stage_payroll(closed, 7, "2024-03", [("E1", "9000"), ("E2", "3000")], name="王芬")
    assert compute_ledger(closed, "2024-03")["rows_appended"] == 4
    assert closed.execute("SELECT DISTINCT name FROM ledger.current_contributions WHERE period = '2024-03'"
                          ).fetchall() == [("王芬",)]
    assert closed.execute("SELECT sum(abs(employer_amount) + abs(employee_amount) + abs(base)) FROM"
                          " ledger.contributions WHERE entry_type = 'adjustment'").fetchone()[0] == 0
