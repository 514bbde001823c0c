"""Tiny hand-built warehouses for the checks: rows go into ``staging.*`` (one load per kind, so every row is
current) and into the ledger area's tables the checks read (migration 002)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

# Our modules are imported where they are used: pytest-xdist's controller loads every conftest but runs no test,
# and importing GX and the ingest here held it 2 s before it started its workers.
LOADS = {"payroll": 1, "attendance": 2, "insurance": 3, "transfers": 4}

def id_number(area: str = "430102", birth: str = "19900101", seq: str = "123") -> str:
    """A valid 18-digit resident ID number (GB 11643 check digit)."""
    body = area + birth + seq
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


@dataclass
class Warehouse:
    con: object
    # (load, period, entity) of the staged rows whose keys ingest.load_keys holds: a row of a key recorded
    # before adds no key (record_load_keys would insert nothing), so its load is not recorded again
    recorded: set = field(default_factory=set)

    def _insert(self, table: str, values: dict) -> None:
        from transforms.ingest.inbox import record_load_keys

        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.con.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))
        if table.startswith("staging."):  # its load counts from now on, as a committed ingest's would
            key = (values["load_id"], values["period"], values.get("entity"))  # ingest.staged_keys' key
            if key not in self.recorded:
                record_load_keys(self.con, values["load_id"])
                self.recorded.add(key)

    def payroll(self, period="2024-03", employee_id="E1", entity="长沙甲公司", id_number=None, name="张三",
                city="长沙", gross_pay="8000", si_withheld=None, id_number_raw=None, row_number=1):
        ident = id_number or globals()["id_number"]()
        self._insert("staging.payroll", dict(
            load_id=LOADS["payroll"], sheet=None, row_number=row_number, period=period, employee_id=employee_id,
            name=name, id_number=ident, id_number_raw=id_number_raw or ident, entity=entity, city=city,
            city_raw=city, city_known=True, gross_pay=Decimal(gross_pay), net_pay=None,
            si_withheld=Decimal(si_withheld) if si_withheld is not None else None))

    def attendance(self, period="2024-03", employee_id="E1", entity="长沙甲公司", id_number=None, name="张三",
                   hire_date="2020-01-01", leave_date=None, row_number=1):
        self._insert("staging.attendance", dict(
            load_id=LOADS["attendance"], sheet=None, row_number=row_number, period=period, employee_id=employee_id,
            name=name, id_number=id_number, id_number_raw=id_number, entity=entity, hire_date=hire_date,
            leave_date=leave_date, attendance_days=None))

    def insurance(self, period="2024-03", id_number=None, name="张三", region="长沙", employer="长沙甲公司",
                  insurance_type="pension", status="active", start_month="2020-01", end_month=None, base="8000",
                  first_enrollment=None, row_number=1):
        ident = id_number or globals()["id_number"]()
        self._insert("staging.insurance", dict(
            load_id=LOADS["insurance"], sheet=None, row_number=row_number, period=period, id_number=ident,
            id_number_raw=ident, name=name, region=region, region_raw=region, region_known=True, employer=employer,
            insurance_type=insurance_type, status=status, start_month=start_month, end_month=end_month,
            base=Decimal(base), months_paid=None, first_enrollment=first_enrollment))

    def transfer(self, period="2024-03", transfer_id="T1", id_number=None, name="张三", insurance_type="pension",
                 from_region="武汉", to_region="长沙", stage="submitted", submitted_on="2024-01-02",
                 stage_on="2024-03-01", row_number=1):
        ident = id_number or globals()["id_number"]()
        self._insert("staging.transfers", dict(
            load_id=LOADS["transfers"], sheet=None, row_number=row_number, period=period, transfer_id=transfer_id,
            id_number=ident, id_number_raw=ident, name=name, insurance_type=insurance_type, from_region=from_region,
            from_region_raw=from_region, to_region=to_region, to_region_raw=to_region, stage=stage,
            submitted_on=submitted_on, stage_on=stage_on))

    def policy(self, region="长沙", insurance_type="pension", effective_from="2024-01", effective_to=None,
               base_floor="3604", base_ceiling="18021", employer_rate="0.16", employee_rate="0.08"):
        self._insert("ref.policy", dict(
            region=region, insurance_type=insurance_type, effective_from=effective_from, effective_to=effective_to,
            base_floor=Decimal(base_floor), base_ceiling=Decimal(base_ceiling),
            employer_rate=Decimal(employer_rate), employee_rate=Decimal(employee_rate), source="test"))

    def employee_month(self, period="2024-03", entity="长沙甲公司", employee_id="E1", id_number=None, name="张三",
                       region="长沙", month_fraction="1", has_pension_policy=True, si_withheld=None,
                       expected_employee_amount="640", withholding_difference=None, gross_pay="8000",
                       hire_date="2020-01-01"):
        ident = id_number or globals()["id_number"]()
        self._insert("ledger.employee_months", dict(
            period=period, entity=entity, employee_id=employee_id, id_number=ident, name=name, region=region,
            hire_date=hire_date, leave_date=None, month_fraction=Decimal(month_fraction),
            reference_wage=Decimal(gross_pay), gross_pay=Decimal(gross_pay),
            si_withheld=Decimal(si_withheld) if si_withheld is not None else None,
            has_pension_policy=has_pension_policy, expected_employee_amount=Decimal(expected_employee_amount),
            withholding_difference=Decimal(withholding_difference) if withholding_difference is not None else None,
            run_id="L1"))

    def contribution(self, period="2024-03", entity="长沙甲公司", employee_id="E1", id_number=None, name="张三",
                     region="长沙", insurance_type="pension", base="8000"):
        ident = id_number or globals()["id_number"]()
        # ledger.current_contributions is the net of ledger.contributions (a view, migration 002)
        self._insert("ledger.contributions", dict(
            period=period, entity=entity, employee_id=employee_id, id_number=ident, name=name, region=region,
            insurance_type=insurance_type, base=Decimal(base), month_fraction=Decimal(1),
            employer_rate=Decimal("0.16"), employee_rate=Decimal("0.08"), employer_amount=Decimal(0),
            employee_amount=Decimal(0), entry_type="original", run_id="L1", created_at="2024-04-01 00:00:00"))

    def ledger_run(self, period="2024-03", run_id="L1"):
        self._insert("ledger.runs", dict(run_id=run_id, period=period, started_at="2024-04-01 00:00:00",
                                         finished_at="2024-04-01 00:00:00", rows_appended=0,
                                         policy_fingerprint="test"))

    def findings(self, code: str, period: str = "2024-03") -> list[dict]:
        """The rows of ``code``'s check for ``period``, run directly (the text GX runs)."""
        from expectations.gx_duckdb import SCOPE_QUALIFIED, set_scope
        from expectations.registry import BY_CODE

        set_scope(self.con, period)
        cursor = self.con.execute(f"SELECT * FROM ({BY_CODE[code].sql_for(SCOPE_QUALIFIED)})")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["details"] = json.loads(row["details"]) if row["details"] else None
        return rows

    def keys(self, code: str, period: str = "2024-03") -> list:
        from expectations.registry import BY_CODE

        key = BY_CODE[code].key
        out = []
        for row in self.findings(code, period):
            if key == ("kind",):
                out.append(row["details"]["kind"])
            else:
                values = tuple(row[k] for k in key)
                out.append(values[0] if len(values) == 1 else values)
        return sorted(out)


def make_warehouse(con) -> Warehouse:
    """A fresh warehouse ready for hand-built rows: one load per kind (one statement: a commit to ingest.loads
    costs several milliseconds, hundreds of times a run)."""
    con.execute(
        "INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, loaded_at) VALUES "
        + ", ".join("(?, ?, ?, ?, 'loaded', now())" for _ in LOADS),
        [value for kind, load_id in LOADS.items() for value in (load_id, f"{kind}.csv", f"sha-{kind}", kind)],
    )
    return Warehouse(con)


@pytest.fixture()
def wh(con) -> Warehouse:
    return make_warehouse(con)
