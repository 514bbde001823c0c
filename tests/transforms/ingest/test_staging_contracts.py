"""The staging contracts (pandera): the one-pass evaluation names exactly the rows pandera names."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
import pytest

from transforms.ingest import contracts
from transforms.ingest.contracts import _contract_in_one_pass, contract, contract_failures

GOOD_PAYROLL = {"period": "2024-03", "employee_id": "E1", "name": "王芳", "id_number": "430105196905018772",
                "id_number_raw": "430105196905018772", "entity": "长沙公司", "city": "长沙", "city_raw": "长沙市",
                "city_known": True, "gross_pay": "8000.00", "net_pay": None, "si_withheld": "-0"}
GOOD_ATTENDANCE = {"period": "2024-03", "employee_id": "E1", "name": "王芳", "id_number": None, "id_number_raw": None,
                   "entity": "长沙公司", "hire_date": dt.date(2020, 1, 1), "leave_date": None, "attendance_days": "21.5",
                   "hukou_region": None, "hukou_province": None, "employment_type": "full_time",
                   "position_category": None}
# (kind, good row, column, value that breaks the contract)
BROKEN = [
    ("payroll", GOOD_PAYROLL, "period", "2024-3"),
    ("payroll", GOOD_PAYROLL, "name", ""),
    ("payroll", GOOD_PAYROLL, "entity", None),
    ("payroll", GOOD_PAYROLL, "gross_pay", "-5"),
    ("payroll", GOOD_PAYROLL, "si_withheld", "1,000"),
    ("attendance", GOOD_ATTENDANCE, "employment_type", "gig"),
    ("attendance", GOOD_ATTENDANCE, "attendance_days", "x"),
]


def _frame(kind: str, row: dict, rows: int = 4) -> pl.DataFrame:
    schema = {name: column.dtype.type for name, column in contract(kind).columns.items()}
    return pl.DataFrame([row] * rows, schema=schema)


def _by_pandera(kind: str, frame: pl.DataFrame) -> list[int]:
    try:
        contract(kind).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return sorted(exc.failure_cases.get_column("index").drop_nulls().cast(pl.Int64).unique().to_list())
    return []


@pytest.mark.parametrize("kind", ["payroll", "attendance", "insurance", "transfers", "bill"])
def test_every_contract_has_a_one_pass_form(kind):
    assert _contract_in_one_pass(kind) is not None


@pytest.mark.parametrize(("kind", "good", "column", "bad"), BROKEN)
def test_a_row_that_breaks_a_check_is_named_as_pandera_names_it(kind, good, column, bad):
    frame = _frame(kind, good)
    assert contract_failures(kind, frame).to_list() == [] == _by_pandera(kind, frame)
    broken = frame.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(bad)).otherwise(pl.col(column))
                                .cast(frame.schema[column]).alias(column))
    assert contract_failures(kind, broken).to_list() == [2] == _by_pandera(kind, broken)


def test_a_column_of_the_wrong_type_fails_every_row(monkeypatch):
    frame = _frame("payroll", GOOD_PAYROLL).with_columns(pl.lit(1).alias("gross_pay"))
    assert sorted(contract_failures("payroll", frame).to_list()) == [0, 1, 2, 3]


def test_without_a_one_pass_form_pandera_decides(monkeypatch):
    monkeypatch.setattr(contracts, "_contract_in_one_pass", lambda kind: None)
    broken = _frame("payroll", GOOD_PAYROLL).with_columns(pl.lit("").alias("name"))
    assert sorted(contract_failures("payroll", broken).to_list()) == [0, 1, 2, 3]
