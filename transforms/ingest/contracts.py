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


def _check_expression(check: pa.Check, value: pl.Expr) -> pl.Expr | None:
    """A pandera built-in check as the polars expression pandera itself evaluates (its ``builtin_checks``);
    None for a check without one here."""
    stats = check.statistics or {}
    if check.name == "str_length" and stats.get("exact_value") is None and stats.get("max_value") is None:
        return value.str.len_chars() >= stats["min_value"]
    if check.name == "str_matches":
        pattern = stats["pattern"] if stats["pattern"].startswith("^") else "^" + stats["pattern"]
        return value.str.contains(pattern)
    if check.name == "isin":
        return value.is_in(list(stats["allowed_values"]))
    if check.name == "greater_than_or_equal_to":
        return value >= stats["min_value"]
    return None


@cache
def _contract_in_one_pass(kind_name: str) -> tuple[dict[str, pl.DataType], pl.Expr] | None:
    """The contract of ``kind_name`` as its columns' types and one expression that holds where a row keeps it,
    built from the pandera schema's own columns and checks; None if a check has no expression here."""
    types, holds = {}, []
    for name, column in contract(kind_name).columns.items():
        value = pl.col(name)
        types[name] = column.dtype.type
        if not column.nullable:
            holds.append(value.is_not_null())
        for check in column.checks:
            expression = _check_expression(check, value)
            if expression is None:
                return None
            holds.append(expression | value.is_null() if check.ignore_na else expression)
    return types, pl.all_horizontal(holds) if holds else pl.lit(True)


def contract_failures(kind_name: str, staged: pl.DataFrame) -> pl.Series:
    """0-based indices of ``staged`` rows that break the contract (empty when all hold).

    The contract is first evaluated in one pass over the rows (``_contract_in_one_pass``): pandera's own
    validation costs some 60 ms a call whatever the rows, which was most of a small file's staging. Only when
    that pass finds a row breaking it does pandera validate, to name the rows the way it always has."""
    one_pass = _contract_in_one_pass(kind_name)
    if one_pass is not None:
        types, holds = one_pass
        if all(staged.schema.get(name) == dtype for name, dtype in types.items()) and (
                staged.is_empty() or staged.select(holds.all()).item()):
            return pl.Series("index", [], pl.Int64)
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
