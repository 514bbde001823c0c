"""Per-entity outputs of the close: each entity's ledger (xlsx with its own 合计, Parquet, totals) and its
HR action list.

The close reads the period's ledger rows and the action list once (ids masked), splits them by entity and
hands each slice to a task; the functions here see only their slice and write files only, so they run
the same on a thread or on a Dask worker and the warehouse keeps one writer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions import list_actions
from transforms.export import SHEETS, ledger_rows, ledger_totals, readable, write_workbook
from transforms.workbook import write_action_rows

CENT = Decimal("0.01")


def entity_slices(con: duckdb.DuckDBPyConnection, period: str) -> list[tuple[str, pl.DataFrame, pl.DataFrame]]:
    """``(entity, ledger rows, actions)`` per entity in the period's ledger or action list, entity order.

    Ids are masked (the default role's view); actions are the whole list (every status), as HR keeps it.
    """
    ledger = ledger_rows(con, period, full_ids=False)
    actions = list_actions(con)
    entities = sorted(set(ledger["entity"].drop_nulls()) | set(actions["entity"].drop_nulls()))
    ledger_parts = ledger.partition_by("entity", as_dict=True, maintain_order=True)
    action_parts = actions.partition_by("entity", as_dict=True, maintain_order=True)
    return [(entity, ledger_parts.get((entity,), ledger.clear()), action_parts.get((entity,), actions.clear()))
            for entity in entities]


def file_stem(entity: str) -> str:
    """The entity's name as a file name on any system."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", entity).strip("._") or "entity"


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT))


def write_entity_outputs(entity: str, ledger: pl.DataFrame, actions: pl.DataFrame, folder: Path) -> dict:
    """``<folder>/<entity>.xlsx`` (its 缴费明细 and its own 合计), ``<entity>.parquet`` (its 缴费明细) and
    ``<entity>_actions.xlsx`` (its action list); returns its totals (money as exact text), by region ×
    insurance type too, and its action counts."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(entity)
    detail, totals = (s for s in SHEETS if s.key in ("detail", "totals"))
    readable(ledger, detail).write_parquet(folder / f"{stem}.parquet")
    write_workbook(folder / f"{stem}.xlsx", [(detail, ledger), (totals, ledger_totals(ledger))])
    write_action_rows(actions, folder / f"{stem}_actions.xlsx", full_ids=False)
    cells = (ledger.group_by("region", "insurance_type")
             .agg(pl.len().alias("rows"), pl.col("employer_amount").sum(), pl.col("employee_amount").sum())
             .sort("region", "insurance_type"))
    employer, employee = ledger["employer_amount"].sum(), ledger["employee_amount"].sum()
    return {
        "entity": entity, "rows": ledger.height, "people": ledger["employee_id"].n_unique(),
        "employer": _money(employer), "employee": _money(employee),
        "total": _money(Decimal(employer or 0) + Decimal(employee or 0)),
        "cells": [{"region": c["region"], "insurance_type": c["insurance_type"], "rows": c["rows"],
                   "employer": _money(c["employer_amount"]), "employee": _money(c["employee_amount"])}
                  for c in cells.iter_rows(named=True)],
        "open_actions": actions.filter(pl.col("status") == "open").height,
        "files": [f"{stem}.xlsx", f"{stem}.parquet", f"{stem}_actions.xlsx"],
    }
