"""Per-entity outputs of the close: each entity's ledger (xlsx with its own 合计, Parquet, totals) and its
HR action list.

The close reads the period's ledger rows once (ids masked) and takes the action list as its actions step
rendered it (:class:`RenderedActions`: read and rendered once a close), splits them by entity and hands each
slice to a task; the functions here see only their slice and write files only, so they run
the same on a thread or on a Dask worker and the warehouse keeps one writer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from transforms.actions.cleanup import BY_TYPE, list_version
from transforms.actions.workbook import role_actions, write_action_rows, write_action_types
from transforms.common.privacy import redact
from transforms.common.spreadsheet import Chunks
from transforms.outputs.export import (
    SHEETS,
    ChunkedFile,
    FrameSpool,
    LedgerSpool,
    ledger_totals,
    spool_ledger_rows,
    write_workbook,
)
from warehouse.scratch import bytes_of, scratch

CENT = Decimal("0.01")


@dataclass(frozen=True)
class EntityLedger:
    """One entity's rows of a spooled 缴费明细 (:class:`transforms.outputs.export.LedgerSpool`): what a per-entity
    task is handed instead of the rows, which it reads a chunk at a time (picklable, for a Dask worker)."""

    spool: LedgerSpool
    entity: str

    def chunks(self, group: int | None = None) -> Chunks:
        """Its rows, or those of the ``group``-th frame spooled only (the actions: a type each)."""
        return self.spool.chunks(self.entity, group)


ENTITY_FOLDER = "entities"  # below <out>/<period>: the per-entity files, and the close's rendered action list


@dataclass(frozen=True)
class RenderedActions:
    """The whole action list (every status) as a masked role reads it (:func:`role_actions` of the default role:
    ids masked, text redacted), spooled a type at a time in ``BY_TYPE`` order: rendered
    once in a close's actions step, for its action workbook and then its per-entity files. ``version``:
    :func:`list_version` of the list it was rendered from; a later step uses it only while the list is
    unchanged (:meth:`current`). The spool's file is deleted once this is let go."""

    spool: LedgerSpool
    version: str

    def current(self, con: duckdb.DuckDBPyConnection) -> bool:
        return self.version == list_version(con)


class ActionRendering:
    """The masked list rendered a type at a time as a writer asks for it (:meth:`rows`: every type once, in
    ``BY_TYPE`` order, as the action workbook writes its sheets), each type spooled as it is handed over, so the
    list is read and rendered once and no type is read back; :meth:`done` gives the :class:`RenderedActions`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, folder: Path | None = None):
        self._con, self._folder = con, folder
        self._version = list_version(con)  # first: a list changed while it is read never passes for current
        self._codes = iter(BY_TYPE)
        self._spool: FrameSpool | None = None

    def rows(self, code: str) -> pl.DataFrame:
        """Type ``code``'s rows, spooled; the types are asked for in ``BY_TYPE`` order."""
        expected = next(self._codes, None)
        if code != expected:
            raise ValueError(f"the action list is rendered in BY_TYPE order: {expected} next, not {code}")
        rows = role_actions(self._con, code)  # the default role's: ids masked, text redacted
        if self._spool is None:
            self._spool = FrameSpool(rows.schema, self._folder)
        self._spool.write(rows)
        # Arrow's pool keeps the pages of the table just written; the workbook's frames never reuse them (the
        # action workbook's peak at 200,000 employees: 643 MB kept, 622 given back; 616 read apart as before)
        pa.default_memory_pool().release_unused()
        return rows

    def done(self) -> RenderedActions:
        if self._spool is None or next(self._codes, None) is not None:
            raise ValueError("the action list is not rendered whole: every type is asked for once")
        return RenderedActions(self._spool.close(), self._version)

    def discard(self) -> None:
        """The spool's file of a rendering not finished (its writer failed) is deleted."""
        if self._spool is not None:
            self._spool.discard()


def render_actions(con: duckdb.DuckDBPyConnection, folder: Path | None = None) -> RenderedActions:
    """The action list rendered for the masked roles (:class:`RenderedActions`), spooled in ``folder`` (default
    the system's temporary folder) a type at a time: their details alone are 342 MB at 1,000,000 employees."""
    rendering = ActionRendering(con, folder)
    try:
        for code in BY_TYPE:
            rendering.rows(code)
        return rendering.done()
    except BaseException:
        rendering.discard()
        raise


def entity_slices(con: duckdb.DuckDBPyConnection, period: str, ledger: LedgerSpool | None = None,
                  actions: RenderedActions | None = None) -> list[tuple[str, EntityLedger, EntityLedger]]:
    """``(entity, its ledger rows, its actions)`` per entity in the period's ledger or action list, entity order,
    each read by its task from a spool (:class:`EntityLedger`).

    Ids are masked (the default role's view); actions are the whole list (every status), as HR keeps it, spooled
    a type at a time. ``ledger``: the period's masked 缴费明细 when the caller has it already (the close's
    finance export), so it is not queried twice; else it is spooled here. ``actions``: the list as the close's
    actions step rendered it, used while it is still the list's (:meth:`RenderedActions.current`); else it is
    read and rendered here. A spool's file is deleted once its slices are let go.
    """
    if ledger is None:
        ledger, _ = spool_ledger_rows(con, period, full_ids=False, masked=True)
    if actions is None or not actions.current(con):
        actions = render_actions(con, ledger.path.parent)
    entities = sorted(set(ledger.entities()) | set(actions.spool.entities()))
    return [(entity, EntityLedger(ledger, entity), EntityLedger(actions.spool, entity)) for entity in entities]


STEM_BYTES = 80   # of the readable part; with the suffix and "_actions.xlsx" far below any system's 255
_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f\x7f]+')
_SUFFIXED = re.compile(r"_[0-9a-f]{8}$")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def file_stem(entity: str) -> str:
    """The entity's name as a file name on any system, from the name alone (the same entity always gets the
    same files): a name that is already a safe file name of at most :data:`STEM_BYTES` bytes is kept; any
    other gets its cleaned, shortened text plus ``_`` and 8 hex digits of the name, so names that clean
    alike (``Acme Co.``/``Acme Co``) stay apart. An ID number in the name is masked first, and the digest
    is then of the masked name (a digest of the full ID could be searched for)."""
    shown = redact(entity)
    cleaned = _UNSAFE.sub("_", shown).strip("._ ") or "entity"
    if cleaned == entity and len(cleaned.encode("utf-8")) <= STEM_BYTES and not _SUFFIXED.search(cleaned):
        return cleaned
    short = cleaned.encode("utf-8")[:STEM_BYTES].decode("utf-8", errors="ignore").rstrip("._ ")
    return f"{short}_{_digest(shown)}"


def entity_stems(entities) -> dict[str, str]:
    """:func:`file_stem` of each entity; the rare names still alike after that (two that differ only inside
    a masked ID number) get ``-2``, ``-3``… in name order, so no entity's file overwrites another's."""
    stems: dict[str, str] = {}
    taken: dict[str, int] = {}
    for entity in sorted(set(entities)):
        stem = file_stem(entity)
        taken[stem] = taken.get(stem, 0) + 1
        stems[entity] = stem if taken[stem] == 1 else f"{stem}-{taken[stem]}"
    return stems


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT))


def write_entity_outputs(entity: str, ledger: pl.DataFrame | EntityLedger, actions: pl.DataFrame | EntityLedger,
                         folder: Path, stem: str | None = None) -> dict:
    """``<folder>/<stem>.xlsx`` (its 缴费明细 and its own 合计), ``<stem>.parquet`` (its 缴费明细) and
    ``<stem>_actions.xlsx`` (its action list), the stem from :func:`entity_stems` (default
    :func:`file_stem`); returns its totals (money as exact text), by region × insurance type too, and its
    action counts. The entity name returned is redacted. ``ledger``: its rows, or where to read them a chunk
    at a time (:class:`EntityLedger`); ``actions`` too (read whole: one entity's)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or file_stem(entity)
    detail, totals = (s for s in SHEETS if s.key in ("detail", "totals"))
    rows = ledger.chunks() if isinstance(ledger, EntityLedger) else ledger
    summed = ledger.spool.path if isinstance(ledger, EntityLedger) else ledger
    where = ledger.entity if isinstance(ledger, EntityLedger) else None
    # its Parquet file from the rows its workbook reads: read once
    write_workbook(folder / f"{stem}.xlsx", [(detail, rows), (totals, ledger_totals(summed, where))],
                   {"parquet": ChunkedFile(folder / f"{stem}.parquet", "parquet")})
    if isinstance(actions, EntityLedger):  # a type at a time: an entity's action details were 170 MB at 1,000,000
        spooled = actions
        by_type = {(code, status): found for code, status, found in
                   spooled.spool.counts(spooled.entity, ["action_type", "status"]).iter_rows()}
        parts = {code: index for index, code in enumerate(BY_TYPE)}  # spooled in BY_TYPE order (render_actions)
        write_action_types(folder / f"{stem}_actions.xlsx", by_type,
                           lambda code: pl.concat(list(spooled.chunks(parts[code]).frames())))
        open_actions = sum(found for (_, status), found in by_type.items() if status == "open")
    else:
        write_action_rows(actions, folder / f"{stem}_actions.xlsx", full_ids=False)
        open_actions = actions.filter(pl.col("status") == "open").height
    whole, cells = _sums(summed, where)
    people, employer, employee = whole
    return {
        "entity": redact(entity), "rows": rows.height, "people": people,
        "employer": _money(employer), "employee": _money(employee),
        "total": _money(Decimal(employer or 0) + Decimal(employee or 0)),
        "cells": [{"region": redact(c["region"]), "insurance_type": c["insurance_type"], "rows": c["rows"],
                   "employer": _money(c["employer_amount"]), "employee": _money(c["employee_amount"])}
                  for c in cells.iter_rows(named=True)],
        "open_actions": open_actions,
        "files": [f"{stem}.xlsx", f"{stem}.parquet", f"{stem}_actions.xlsx"],
    }


def _sums(rows: pl.DataFrame | Path, entity: str | None) -> tuple[tuple, pl.DataFrame]:
    """People (distinct 工号, a missing one counted once) and the sums of an entity's rows, whole and by region ×
    insurance type: DuckDB over the rows (a frame, or the spool's file read a piece at a time)."""
    with scratch(bytes_of(rows)) as con:
        if isinstance(rows, pl.DataFrame):
            con.register("entity_rows", rows.select("region", "insurance_type", "employee_id", "employer_amount",
                                                    "employee_amount"))
            where, params = "", {}
        else:
            con.execute(f"CREATE TEMP VIEW entity_rows AS SELECT * FROM read_parquet('{str(rows).replace(chr(39), chr(39) * 2)}')")
            where, params = "WHERE entity = $entity", {"entity": entity}
        whole = con.execute(f"SELECT count(DISTINCT {{'i': employee_id}}), sum(employer_amount), sum(employee_amount) "
                            f"FROM entity_rows {where}", params).fetchone()
        cells = con.execute(f"SELECT region, insurance_type, count(*) AS rows, sum(employer_amount) AS employer_amount, "
                            f"sum(employee_amount) AS employee_amount FROM entity_rows {where} GROUP BY ALL",
                            params).pl()
    assert whole is not None
    return whole, cells.sort("region", "insurance_type")
