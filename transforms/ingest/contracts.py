"""pandera (polars) contracts for staged rows, one per kind, derived from the kinds table.

The normaliser should never hand over a row that breaks these; the contract is the proof. A row that
does anyway is rejected (``CONTRACT_VIOLATION``) rather than staged or lost.
"""

from __future__ import annotations

from functools import cache

import pandera.polars as pa
import polars as pl

from transforms.common.periods import PERIOD_PATTERN
from transforms.ingest import kinds as k

CONTRACT_VIOLATION = "CONTRACT_VIOLATION"
_DECIMAL_TEXT = r"^-?\d{1,12}(\.\d+)?$"


def _columns(column: k.Column) -> dict[str, pa.Column]:
    # a daily attendance export has no hire date (SPEC §2 v3): the normaliser requires it of every other file
    nullable = not column.required or column.name in k.DAILY_OPTIONAL
    name, parse = column.name, column.parse
    if parse in (k.TEXT, k.NAME, k.ORG_NAME):
        return {name: pa.Column(pl.String, nullable=nullable, checks=pa.Check.str_length(min_value=1))}
    if parse == k.PLACE:
        return {name: pa.Column(pl.String, nullable=True),
                name.replace("_region", "_province"): pa.Column(pl.String, nullable=True)}
    if parse == k.ID_NUMBER:
        return {name: pa.Column(pl.String, nullable=nullable), f"{name}_raw": pa.Column(pl.String, nullable=nullable)}
    if parse == k.MONTH:
        return {name: pa.Column(pl.String, nullable=nullable, checks=pa.Check.str_matches(PERIOD_PATTERN))}
    if parse == k.DATE:
        return {name: pa.Column(pl.Date, nullable=nullable)}
    if parse == k.NON_NEGATIVE_AMOUNT:
        return {name: pa.Column(pl.String, nullable=nullable, checks=pa.Check.str_matches(r"^\d{1,12}(\.\d+)?$|^-0+(\.0+)?$"))}
    if parse in (k.AMOUNT, k.DAYS):
        return {name: pa.Column(pl.String, nullable=nullable, checks=pa.Check.str_matches(_DECIMAL_TEXT))}
    if parse == k.COUNT:
        return {name: pa.Column(pl.Int32, nullable=nullable, checks=pa.Check.ge(0))}
    if parse == k.YES_NO:
        return {name: pa.Column(pl.Boolean, nullable=nullable)}
    if parse in (k.INSURANCE_TYPE, k.STATUS, k.STAGE, k.EMPLOYMENT_TYPE, k.POSITION_CATEGORY):
        allowed = sorted(set(k.VALUE_LISTS[parse].values()))
        return {name: pa.Column(pl.String, nullable=nullable, checks=pa.Check.isin(allowed))}
    if parse == k.REGION:
        return {
            name: pa.Column(pl.String, nullable=nullable, checks=pa.Check.str_length(min_value=1)),
            f"{name}_raw": pa.Column(pl.String, nullable=nullable),
            f"{name}_known": pa.Column(pl.Boolean, nullable=nullable),
        }
    raise ValueError(parse)


@cache
def contract(kind_name: str) -> pa.DataFrameSchema:
    kind = k.KINDS[kind_name]
    columns: dict[str, pa.Column] = {}
    for column in kind.columns:
        columns.update(_columns(column))
    return pa.DataFrameSchema(columns, name=f"staged {kind_name}", strict=False)


def contract_failures(kind_name: str, staged: pl.DataFrame) -> pl.Series:
    """0-based indices of ``staged`` rows that break the contract (empty when all hold)."""
    try:
        contract(kind_name).validate(staged, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if "index" in cases.columns:
            indices = cases.get_column("index").drop_nulls().cast(pl.Int64).unique()
            if indices.len() == 0:
                return pl.Series("index", range(staged.height), pl.Int64)  # schema-level: nothing holds
            return indices
        return pl.Series("index", range(staged.height), pl.Int64)
    return pl.Series("index", [], pl.Int64)
