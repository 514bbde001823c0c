"""SPEC v3 §3/§4.5/§7 in the ledger: the policy row of the employee's hukou (the nonlocal row when none is
known), and the verified mark of the row each ledger row used (政策核实), without adjustments that only
the new mark would cause."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import built_from, connected_copy
from transforms.ingest.inbox import record_load_keys
from transforms.ledger.book import compute_ledger
from transforms.ledger.policy import apply_policy
from transforms.outputs.export import SHEETS, ledger_rows, readable
from transforms.outputs.report import _policy_basis

HEADER = "region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,employee_rate," \
         "source,verified,hukou"
POLICY = f"""{HEADER}
深圳,pension,2025-01,,2520,27549,0.16,0.08,深人社规〔2024〕1号,official,local
深圳,pension,2025-01,,2520,27549,0.14,0.08,深人社规〔2024〕1号,official,nonlocal
深圳,medical,2025-01,,2520,27549,0.05,0.02,national default,{{medical_mark}},
"""
ENTITY = "深港公司"


def write_policy(tmp_path, medical_mark="assumed"):
    path = tmp_path / "policy.csv"
    path.write_text(POLICY.format(medical_mark=medical_mark), encoding="utf-8")
    return path


def pay(con, employee_id: str, gross: str = "10000", period: str = "2025-03", load_id: int = 1):
    ident = f"44030119800101{int(employee_id[1:]):03d}5"
    con.execute("INSERT INTO staging.payroll VALUES (?, NULL, ?, ?, ?, '李雷', ?, ?, ?, '深圳', '深圳', true, ?, NULL,"
                " NULL)", [load_id, int(employee_id[1:]), period, employee_id, ident, ident, ENTITY, Decimal(gross)])
    record_load_keys(con, load_id)


def attend(con, employee_id: str, hukou_region: str | None, period: str = "2025-03", load_id: int = 2):
    ident = f"44030119800101{int(employee_id[1:]):03d}5"
    con.execute("INSERT INTO staging.attendance (load_id, sheet, row_number, period, employee_id, name, id_number,"
                " id_number_raw, entity, hire_date, leave_date, hukou_region) VALUES (?, NULL, ?, ?, ?, '李雷', ?, ?,"
                " ?, DATE '2020-01-01', NULL, ?)",
                [load_id, int(employee_id[1:]), period, employee_id, ident, ident, ENTITY, hukou_region])
    record_load_keys(con, load_id)


@pytest.fixture(scope="module")
def shenzhen_once(migrated_warehouse, tmp_path_factory):
    """深圳's March booked for four people of each hukou kind, once for the module: each test changes a copy of
    it (``shenzhen``)."""
    folder = tmp_path_factory.mktemp("shenzhen")

    def build(con) -> None:
        apply_policy(con, write_policy(folder))
        con.execute("INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, loaded_at) VALUES"
                    " (1, 'p.csv', 'a', 'payroll', 'loaded', now()), (2, 'a.csv', 'b', 'attendance', 'loaded', now())")
        for employee_id in ("E1", "E2", "E3", "E4"):
            pay(con, employee_id)
        attend(con, "E1", "广东省深圳市南山区")   # local
        attend(con, "E2", "湖南省长沙市岳麓区")   # nonlocal
        attend(con, "E3", "  ")                   # blank: unknown
        # E4: no attendance row at all: unknown
        compute_ledger(con, "2025-03")

    path = folder / "shenzhen.duckdb"
    built_from(migrated_warehouse, path, build)
    return path


@pytest.fixture()
def shenzhen(shenzhen_once, tmp_path):
    with connected_copy(shenzhen_once, tmp_path / shenzhen_once.name) as con:
        yield con


def pension(con) -> dict:
    return dict(con.execute("SELECT employee_id, employer_amount FROM ledger.current_contributions"
                            " WHERE insurance_type = 'pension'").fetchall())


def test_each_employee_takes_the_row_of_their_hukou_and_unknown_takes_nonlocal(shenzhen):
    con = shenzhen
    assert pension(con) == {"E1": Decimal("1600.00"), "E2": Decimal("1400.00"), "E3": Decimal("1400.00"),
                            "E4": Decimal("1400.00")}
    assert dict(con.execute("SELECT employee_id, hukou FROM ledger.employee_months").fetchall()) == {
        "E1": "local", "E2": "nonlocal", "E3": None, "E4": None}
    # one cell per type: the hukou rows never double a cell
    assert con.execute("SELECT count(*), count(DISTINCT (employee_id, insurance_type))"
                       " FROM ledger.contributions").fetchone() == (8, 8)


def test_hukou_of_an_address_cuts_the_province_first(con):
    cases = [("吉林省长春市", "吉林", "nonlocal"), ("吉林省吉林市船营区", "吉林", "local"),
             ("北京市朝阳区", "北京", "local"), ("广西壮族自治区南宁市", "南宁", "local"), ("湖南长沙", "长沙", "local"),
             ("", "北京", None), (None, "北京", None)]
    for address, region, expected in cases:
        assert con.execute("SELECT ledger.employee_hukou(?, ?)", [address, region]).fetchone()[0] == expected, address


def test_every_ledger_row_and_export_line_carries_its_policy_mark(shenzhen):
    con = shenzhen
    assert set(con.execute("SELECT insurance_type, policy_verified FROM ledger.contributions").fetchall()) == {
        ("pension", "official"), ("medical", "assumed")}
    detail = readable(ledger_rows(con, "2025-03", full_ids=False), SHEETS[0])
    assert set(zip(detail["险种"], detail["政策核实"], strict=True)) == {("养老保险", "官方核实"), ("医疗保险", "推定")}


def test_the_report_counts_people_on_assumed_figures_and_without_hukou(shenzhen):
    html = _policy_basis(shenzhen, "2025-03")
    assert "本月有 4 人的缴费金额用到了推定的政策数据" in html
    assert "本月有 2 人的参保地按户籍区分费率，但考勤表没有其户籍所在地" in html


def test_a_rerun_appends_nothing_even_for_rows_booked_before_the_mark(shenzhen):
    con = shenzhen
    compute_ledger(con, "2025-03")
    assert con.execute("SELECT count(*) FROM ledger.contributions").fetchone() == (8,)
    con.execute("UPDATE ledger.contributions SET policy_verified = NULL")  # as booked before migration 023
    compute_ledger(con, "2025-03")
    assert con.execute("SELECT count(*) FROM ledger.contributions").fetchone() == (8,)
    detail = readable(ledger_rows(con, "2025-03", full_ids=False), SHEETS[0])
    assert set(detail["政策核实"]) == {"未记录"}


def test_a_better_mark_for_the_same_figures_books_a_zero_adjustment_carrying_it(shenzhen, tmp_path):
    con = shenzhen
    apply_policy(con, write_policy(tmp_path, medical_mark="secondary"))
    compute_ledger(con, "2025-03")
    rows = con.execute("SELECT entry_type, employer_amount, employee_amount, policy_verified FROM ledger.contributions"
                       " WHERE run_id = (SELECT max(run_id) FROM ledger.contributions)").fetchall()
    assert rows == [("adjustment", Decimal("0.00"), Decimal("0.00"), "secondary")] * 4
    assert set(con.execute("SELECT policy_verified FROM ledger.current_contributions"
                           " WHERE insurance_type = 'medical'").fetchall()) == {("secondary",)}
