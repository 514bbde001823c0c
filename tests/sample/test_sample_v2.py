"""The sample generator's SPEC v2 plants against the real close (issue 13's generated-inbox acceptance, issue 12
point 3): for the codes whose only cause in the sample is a plant, the findings equal the planted keys month by
month, decoys included; the ledger of a July-year region and of a fixed-sum region equals a hand computation."""

from __future__ import annotations

import csv
import json
import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from sample import generate_inbox

PERIODS = ("2025-05", "2025-06", "2025-07")
EXACT = ("DOUBLE_ENROLLMENT", "TRANSFER_NEEDED", "INVALID_ID_NUMBER")
CENT, JIAO = Decimal("0.01"), Decimal("0.1")


@pytest.fixture(scope="module")
def closed(tmp_path_factory) -> tuple[Path, dict, dict]:
    """80 employees, 2025-05..07 (上海, 广州, 北京 start a contribution year in July), closed month by month."""
    from expectations.validate import start_run, validate_period
    from transforms.actions.cleanup import update_actions
    from transforms.common.runs import new_run_id
    from transforms.ingest.inbox import ingest_inbox
    from transforms.ledger.book import compute_ledger
    from transforms.ledger.policy import apply_policy
    from warehouse.db import connect

    folder = tmp_path_factory.mktemp("sample-v2")
    manifest = generate_inbox(folder / "inbox", 80, PERIODS[0], PERIODS[-1], seed=1)
    con = connect(folder / "w.duckdb")
    runs = {}
    try:
        ingest_inbox(con, folder / "inbox")
        apply_policy(con)
        for period in PERIODS:
            compute_ledger(con, period)
            runs[period] = new_run_id()
            start_run(con, runs[period], period)
            validate_period(con, period, runs[period])
            update_actions(con, period, runs[period])
    finally:
        con.close()
    return folder / "w.duckdb", manifest, runs


def _read(path: Path, sql: str, params: list) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


@pytest.mark.parametrize("code", EXACT)
def test_findings_equal_the_planted_keys_every_month(closed, code):
    path, manifest, runs = closed
    for period, run_id in runs.items():
        found = sorted(f"{e}|{i}" for e, i in _read(
            path, "SELECT entity, employee_id FROM quality.findings WHERE run_id = ? AND code = ?", [run_id, code]))
        assert found == manifest["expected"][code][period], (code, period)


def test_every_v2_plant_is_there_and_decoys_are_not_found(closed):
    _, manifest, _ = closed
    anomalies, planted = manifest["anomalies"], manifest["v2"]
    assert anomalies["DOUBLE_ENROLLMENT"] >= 2 and anomalies["TRANSFER_NEEDED"] >= 2
    assert planted["foreign_ids"] >= 2 and planted["decoy_same_province"] >= 2 and planted["interim_account_age"] == 1
    assert set(manifest["decorated_ids"]) == {"nbsp", "zero_width", "apostrophe", "ideographic_space", "full_width"}
    # the planted keys are found (the test above); every month also lists at least that many
    last = PERIODS[-1]
    assert len(manifest["expected"]["DOUBLE_ENROLLMENT"][last]) == anomalies["DOUBLE_ENROLLMENT"]
    assert len(manifest["expected"]["TRANSFER_NEEDED"][last]) >= anomalies["TRANSFER_NEEDED"]
    assert len(manifest["expected"]["INVALID_ID_NUMBER"][last]) == anomalies["INVALID_ID_NUMBER"]


def test_invalid_ids_name_too_young_and_accept_foreign_and_decorated_numbers(closed):
    path, _, runs = closed
    problems = [p for (p,) in _read(path, "SELECT details->>'id_problem' FROM quality.findings "
                                          "WHERE run_id = ? AND code = 'INVALID_ID_NUMBER'", [runs[PERIODS[-1]]])]
    assert sorted(problems) == ["birth_date", "check_digit", "format", "province", "too_young"]
    foreign = _read(path, "SELECT count(DISTINCT id_number) FROM core.payroll WHERE id_number LIKE '9%'", [])[0][0]
    assert foreign >= 2  # valid: none of them is among the findings above (equality with the planted keys)
    decorated = _read(path, "SELECT count(*) FROM core.payroll WHERE id_number_raw <> id_number "
                            "AND regexp_matches(id_number_raw, '[\u00a0\u200b\u3000\uff10-\uff19'']')", [])[0][0]
    assert decorated >= 5


def test_district_and_benji_names_map_to_our_cities(closed):
    path, _, _ = closed
    raw = {r for (r,) in _read(path, "SELECT DISTINCT region_raw FROM core.insurance", [])}
    assert {"长沙市天心区", "湖南省本级", "浦东新区"} & raw
    unknown = _read(path, "SELECT count(*) FROM core.insurance WHERE (region_raw LIKE '%区' OR region_raw LIKE '%本级') "
                          "AND region NOT IN ('长沙', '武汉', '广州', '上海', '北京', '株洲')", [])[0][0]
    assert unknown == 0


def test_the_interim_account_case_is_confirmed_not_transferred(closed):
    """SPEC §6 v3: the planted interim-account case calls for CONFIRM_INTERIM_ACCOUNT, never INITIATE_TRANSFER."""
    path, manifest, _ = closed
    flagged = sorted(f"{e}|{i}" for e, i in _read(
        path, "SELECT entity, employee_id FROM actions.cleanup_actions WHERE action_type = 'CONFIRM_INTERIM_ACCOUNT' "
              "AND CAST(details->>'interim_account_check' AS BOOLEAN)", []))
    assert flagged == manifest["expected"]["interim_account_check"][PERIODS[-1]]
    assert len(flagged) == 1
    assert not _read(path, "SELECT count(*) FROM actions.cleanup_actions WHERE action_type = 'INITIATE_TRANSFER' "
                           "AND CAST(details->>'interim_account_check' AS BOOLEAN)", [])[0][0]


def _staff_row(path: Path, city: str) -> tuple[str, str]:
    """One employee of ``city`` on every month's payroll, hired before the range (f = 1)."""
    return _read(path, """
        SELECT p.entity, p.employee_id FROM core.payroll p JOIN core.attendance a USING (entity, employee_id, period)
        WHERE p.city = ? AND a.hire_date < DATE '2025-05-01' AND a.leave_date IS NULL
        GROUP BY ALL HAVING count(DISTINCT p.period) = 3 ORDER BY p.employee_id LIMIT 1""", [city])[0]


def _gross(path: Path, entity: str, employee_id: str, period: str) -> Decimal:
    return _read(path, "SELECT sum(gross_pay) FROM core.payroll WHERE entity = ? AND employee_id = ? AND period = ?",
                 [entity, employee_id, period])[0][0]


def _ledger(path: Path, entity: str, employee_id: str, period: str) -> dict[str, tuple]:
    return {t: (b, er, ee) for t, b, er, ee in _read(
        path, "SELECT insurance_type, base, employer_amount, employee_amount FROM ledger.current_contributions "
              "WHERE entity = ? AND employee_id = ? AND period = ?", [entity, employee_id, period])}


def _shipped(region: str, period: str) -> dict[str, dict]:
    """The shipped policy rows in force for (region, period), read with csv (the figures the hand case uses)."""
    from transforms.ledger.policy import SHIPPED_POLICY

    with SHIPPED_POLICY.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["region"] == region and r["effective_from"] <= period
                and (not r["effective_to"] or r["effective_to"] >= period)]
    return {r["insurance_type"]: {k: Decimal(r[k] or "0") for k in ("base_floor", "base_ceiling", "employer_rate",
                                                                     "employee_rate", "employer_fixed", "employee_fixed")}
            for r in rows}


def _by_hand(wage: Decimal, rows: dict[str, dict], jiao_up: bool) -> dict[str, tuple]:
    """SPEC §4.5-4.6 for f = 1: B = W clamped per type; amount = round(B × rate) + fixed."""
    def money(x: Decimal) -> Decimal:
        return x.quantize(JIAO, ROUND_CEILING).quantize(CENT) if jiao_up else x.quantize(CENT, ROUND_HALF_UP)

    cells = {}
    for kind, r in rows.items():
        base = min(max(wage.quantize(CENT, ROUND_HALF_UP), r["base_floor"]), r["base_ceiling"])
        cells[kind] = (base, money(base * r["employer_rate"]) + r["employer_fixed"],
                       money(base * r["employee_rate"]) + r["employee_fixed"])
    return cells


def test_shanghai_ledger_switches_its_wage_in_july_to_the_cent(closed):
    """SPEC §4.4 with S = 7: June 2025 is in the 2024-07 year (no 2023 pay: W = the first pay from 2024-07 in the
    data, May's); July 2025 opens a new year (no 2024 pay: W = July's). Shanghai rounds up to the jiao (§3)."""
    path, _, _ = closed
    entity, employee_id = _staff_row(path, "上海")
    may, july = _gross(path, entity, employee_id, "2025-05"), _gross(path, entity, employee_id, "2025-07")
    assert may != july  # else the switch would not show
    for period, wage in (("2025-06", may), ("2025-07", july)):
        rows = _shipped("上海", period)
        assert rows["pension"]["employee_rate"] == Decimal("0.08")
        assert _ledger(path, entity, employee_id, period) == _by_hand(wage, rows, jiao_up=True), period


def test_beijing_medical_adds_the_fixed_three_yuan_to_the_cent(closed):
    """SPEC §4.6: 北京 medical employee share = round(B × rate) + 3.00 (大额医疗互助); July 2025: W = July's pay."""
    path, _, _ = closed
    entity, employee_id = _staff_row(path, "北京")
    rows = _shipped("北京", "2025-07")
    assert rows["medical"]["employee_fixed"] == Decimal("3.00")
    cells = _ledger(path, entity, employee_id, "2025-07")
    assert cells == _by_hand(_gross(path, entity, employee_id, "2025-07"), rows, jiao_up=False)
    withheld = _read(path, "SELECT sum(si_withheld) FROM core.payroll WHERE entity = ? AND employee_id = ? "
                           "AND period = '2025-07'", [entity, employee_id])[0][0]
    assert abs(withheld - sum(ee for _, _, ee in cells.values())) <= Decimal("1.00")  # the generator withholds it too


def test_manifest_holds_no_id_numbers(closed):
    _, manifest, _ = closed
    assert not re.search(r"\d{15}", json.dumps(manifest, ensure_ascii=False))
