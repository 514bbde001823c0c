"""The ledger for finance (SPEC §7): what finance books, as xlsx (one sheet each), csv and parquet (one
file each).

- 缴费明细: the net ledger of P per employee and insurance type, with the payroll's gross_pay and si_withheld;
- 本期调整: every adjustment row of P (run, time, the change, and the cell's total before and after it);
- 调整汇总: the adjustments by run, entity and type: how many people and how much moved;
- 合计: by entity × region × type, and a grand total;
- 未入账人员: people paid in P (payroll rows, staged or rejected at ingest) with no ledger row for P, and why;
- 账单核对: the agency's bill against the ledger per region, when ``transforms.ledger.reconcile`` is there.

Frames keep the warehouse's column names and codes; writing labels them (Chinese headers and values) in
every format. Parquet keeps the types (money DECIMAL, rates DECIMAL); xlsx shows money as ``0.00`` and
rates as ``0.00%`` numbers; csv shows rates as ``16.00%`` text.
"""

from __future__ import annotations

import functools
import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import BinaryIO

import duckdb
import polars as pl
import pyarrow.parquet as pq

from transforms.common import glossary
from transforms.common.privacy import mask_id_sql, redact_frame, redact_series
from transforms.common.roles import get_role
from transforms.common.spreadsheet import Chunks, as_chunks, neutralise_frame, new_workbook, write_sheet
from transforms.ingest.kinds import KINDS
from transforms.ingest.normalise import parse_amount, parse_month
from warehouse.db import half_memory, scalar
from warehouse.errors import ShebaoError
from warehouse.scratch import bytes_of, scratch
from warehouse.sql import sql_text

FORMATS = ("parquet", "xlsx", "csv")
SQL = Path(__file__).with_name("sql")
TYPE_NAMES = glossary.INSURANCE  # the one glossary (transforms/common/glossary.py)
CENT = Decimal("0.01")

ROW_HEADERS = {
    "period": "期间", "entity": "单位", "employee_id": "工号", "name": "姓名", "id_number": "身份证号",
    "region": "参保地", "insurance_type": "险种", "base": "缴费基数", "month_fraction": "计费比例",
    "employer_rate": "单位费率", "employee_rate": "个人费率", "employer_amount": "单位缴费",
    "employee_amount": "个人缴费", "total_amount": "合计", "gross_pay": "应发工资", "si_withheld": "代扣个人社保",
    "policy_verified": "政策核实",
}
ADJUSTMENT_HEADERS = {
    "run_id": "核算批次", "created_at": "记账时间", "entry_type": "记账类型", "period": "期间", "entity": "单位",
    "employee_id": "工号", "name": "姓名", "id_number": "身份证号", "region": "参保地", "insurance_type": "险种",
    "base": "缴费基数变动", "month_fraction": "计费比例变动", "employer_rate": "单位费率",
    "employee_rate": "个人费率", "employer_amount": "单位缴费变动", "employee_amount": "个人缴费变动",
    "total_amount": "变动合计", "total_before": "调整前合计", "total_after": "调整后合计",
    "policy_verified": "政策核实",
}
CHANGE_HEADERS = {
    "run_id": "核算批次", "entity": "单位", "insurance_type": "险种", "people": "人数",
    "employer_amount": "单位缴费变动", "employee_amount": "个人缴费变动", "total_amount": "变动合计",
}
TOTAL_HEADERS = {
    "entity": "单位", "region": "参保地", "insurance_type": "险种", "people": "人数",
    "employer_amount": "单位缴费", "employee_amount": "个人缴费", "total_amount": "合计",
}
UNBOOKED_HEADERS = {
    "entity": "单位", "employee_id": "工号", "name": "姓名", "id_number": "身份证号", "region": "参保地",
    "gross_pay": "应发工资", "reason": "原因", "detail": "说明",
}
MONEY = {"base", "employer_amount", "employee_amount", "total_amount", "gross_pay", "si_withheld", "total_before",
         "total_after"}
RATES = {"month_fraction", "employer_rate", "employee_rate"}
_TYPE_ORDER = "['pension', 'medical', 'unemployment', 'work_injury', 'maternity']"
SPOOL_ROWS = 100_000  # 缴费明细 rows read from DuckDB, masked and spooled at a time (docs/memory.md)


@dataclass(frozen=True)
class Sheet:
    key: str  # file name part: ledger_<P>_<key>.csv|parquet (缴费明细: ledger_<P>.csv|parquet)
    title: str  # the sheet's name in the workbook
    headers: dict[str, str]


SHEETS = (
    Sheet("detail", "缴费明细", ROW_HEADERS),
    Sheet("adjustments", "本期调整", ADJUSTMENT_HEADERS),
    Sheet("changes", "调整汇总", CHANGE_HEADERS),
    Sheet("totals", "合计", TOTAL_HEADERS),
    Sheet("unbooked", "未入账人员", UNBOOKED_HEADERS),
)


# ------------------------------------------------------------------------------------------------- tables


def _ledger_sql(full_ids: bool) -> str:
    """缴费明细's cells of month ``$period`` in the sheet's order, without the payroll month (:func:`_with_payroll`)."""
    id_expr = "c.id_number" if full_ids else mask_id_sql("c.id_number")
    return f"""
        SELECT c.period, c.entity, c.employee_id, c.name, {id_expr} AS id_number, c.region, c.insurance_type,
               c.base, c.month_fraction, c.employer_rate, c.employee_rate, c.employer_amount, c.employee_amount,
               c.employer_amount + c.employee_amount AS total_amount, c.policy_verified
        FROM ledger.net_contributions($period) c  -- P's cells only: the view nets every month booked first
        ORDER BY c.entity, c.employee_id, list_position({_TYPE_ORDER}, c.insurance_type), c.insurance_type
        """


# The person's payroll of the month beside each of their cells, joined to the sorted cells as they are read: in the
# query, the join's table and the sort together needed DuckDB's whole limit at 1,000,000 employees (1.25 GB resident,
# out of memory at half); the sort alone spills within half (docs/memory.md, round twenty-two).
_PAYROLL_SQL = "SELECT entity, employee_id, gross_pay, si_withheld FROM ledger.employee_months WHERE period = $period"


def _payroll(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    return con.execute(_PAYROLL_SQL, {"period": period}).pl()


def _with_payroll(cells: pl.DataFrame, payroll: pl.DataFrame) -> pl.DataFrame:
    """``cells`` (rows of :func:`_ledger_sql`, in their order) with the person's ``gross_pay`` and ``si_withheld``
    of the month (``payroll``: :func:`_payroll`), missing where the month has no payroll row for them; the columns
    in 缴费明细's order (``ROW_HEADERS``)."""
    joined = cells.join(payroll, on=["entity", "employee_id"], how="left", maintain_order="left")
    return joined.select(list(ROW_HEADERS))


def ledger_rows(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool) -> pl.DataFrame:
    """缴费明细: the net cells of ``period`` with the employee's payroll of P beside them."""
    return _with_payroll(con.execute(_ledger_sql(full_ids), {"period": period}).pl(), _payroll(con, period))


class LedgerSpool:
    """缴费明细 of a period as a role sees it, written once to a Parquet file a chunk at a time and read back a
    chunk at a time, so the million-row table is never held whole (at 1,000,000 employees the frame was 864 MB,
    its building 1.8 GB). Row groups are chunks in the table's order (entity first); ``entities`` names each
    group's entities, so one entity's rows are read from its groups only. Picklable (a path and counts): a
    per-entity task on a Dask worker reads its rows from the file. The process that wrote the file deletes it
    when its spool is let go."""

    def __init__(self, path: Path, schema: pl.Schema, groups: list[dict[str, int]], owner: bool = True):
        self.path, self.schema, self.groups = Path(path), schema, groups
        self._removal = weakref.finalize(self, _unlink, self.path) if owner else None

    def __getstate__(self) -> dict:
        return {"path": self.path, "schema": self.schema, "groups": self.groups}

    def __setstate__(self, state: dict) -> None:  # a copy elsewhere (a Dask worker) never deletes the file
        self.path, self.schema, self.groups = state["path"], state["schema"], state["groups"]
        self._removal = None

    @property
    def height(self) -> int:
        return sum(sum(group.values()) for group in self.groups)

    def entity_height(self, entity: str) -> int:
        return sum(group.get(entity, 0) for group in self.groups)

    def entities(self) -> list[str]:
        return sorted({e for group in self.groups for e in group if e is not None})

    def chunks(self, entity: str | None = None, group: int | None = None) -> Chunks:
        """The rows (of ``entity`` only, when given; of the ``group``-th frame spooled only, when given) as
        :class:`Chunks`."""
        groups = [i for i, rows in enumerate(self.groups) if (entity is None or entity in rows)
                  and (group is None or i == group)]
        height = sum(sum(self.groups[i].values()) if entity is None else self.groups[i][entity] for i in groups)
        return Chunks(height, self.schema, lambda: self._frames(entity, groups))

    def counts(self, entity: str, by: list[str]) -> pl.DataFrame:
        """``entity``'s rows counted per value of the ``by`` columns (``len``), reading those columns only."""
        groups = [i for i, rows in enumerate(self.groups) if entity in rows]
        read = pq.ParquetFile(self.path).read_row_groups(groups, columns=["entity", *by])
        frame = pl.DataFrame(pl.from_arrow(read)).filter(pl.col("entity") == entity)
        return frame.group_by(by).len()

    def _frames(self, entity: str | None, groups: list[int]) -> Iterator[pl.DataFrame]:
        if groups:
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=SPOOL_ROWS, row_groups=groups):
                frame = pl.DataFrame(pl.from_arrow(batch)).cast(self.schema)
                yield frame if entity is None else frame.filter(pl.col("entity") == entity)
        else:  # an empty table still has its columns
            yield pl.DataFrame(schema=self.schema)

    def remove(self) -> None:
        if self._removal is not None:
            self._removal()


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


SPOOL_PREFIX = ".ledger_"


def sweep_spools(folder: Path) -> None:
    """Spools a killed close left in ``folder``: a spool is deleted when its close lets the tables go, which a
    killed one never does. The close's export sweeps them before it spools (as the read copy sweeps its
    ``.tmp`` files); nothing of this close is spooled there yet."""
    for stale in Path(folder).glob(f"{SPOOL_PREFIX}*.parquet"):
        stale.unlink(missing_ok=True)


class _ParquetSpool:
    """Frames appended to a temporary Parquet file, one row group each."""

    def __init__(self, folder: Path | None, schema: pl.Schema):
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=".parquet", dir=folder)
        os.close(handle)
        self.path, self.schema = Path(name), schema
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            # lz4 without dictionaries: the spool is read back four times; written and read in half the CPU
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="lz4", use_dictionary=False)
        self._writer.write_table(table, row_group_size=max(1, frame.height))

    def close(self) -> None:
        if self._writer is None:  # no rows: the file still holds the columns
            self.write(pl.DataFrame(schema=self.schema))
        assert self._writer is not None
        self._writer.close()


class FrameSpool:
    """Frames with an ``entity`` column spooled as they come, a row group each (the action list a type at a time,
    as its workbook is written), for per-entity tasks to read their rows from: :meth:`close` gives the
    :class:`LedgerSpool`; :meth:`discard` deletes the file of one not finished."""

    def __init__(self, schema: pl.Schema, folder: Path | None = None):
        self._spool = _ParquetSpool(folder, schema)
        self._groups: list[dict[str, int]] = []

    def write(self, frame: pl.DataFrame) -> None:
        self._spool.write(frame)
        self._groups.append(dict(frame.group_by("entity").len().iter_rows()))

    def close(self) -> LedgerSpool:
        self._spool.close()
        return LedgerSpool(self._spool.path, self._spool.schema, self._groups)

    def discard(self) -> None:
        self._spool.path.unlink(missing_ok=True)


def spool_ledger_rows(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool, masked: bool,
                      folder: Path | None = None) -> tuple[LedgerSpool, pl.DataFrame]:
    """缴费明细 of ``period`` (:func:`ledger_rows`) spooled, free text redacted when ``masked``, and its 合计
    (:func:`ledger_totals`, of the rows before that redaction, then redacted as the other tables are): DuckDB's
    result is read :data:`SPOOL_ROWS` at a time. ``folder``: where the spool lives (the system's temporary
    folder by default; one a Dask worker also sees for per-entity work there, swept first of the spools a
    killed close left: :func:`sweep_spools`)."""
    if folder is not None:
        sweep_spools(folder)
    payroll = _payroll(con, period)
    with half_memory(con):  # the sort spills within half; the whole limit's cache would sit beside the spooled rows
        reader = con.execute(_ledger_sql(full_ids), {"period": period}).fetch_record_batch(SPOOL_ROWS)
        schema = _with_payroll(pl.DataFrame(pl.from_arrow(reader.schema.empty_table())), payroll).schema
        spool = _ParquetSpool(folder, schema)
        keys = _ParquetSpool(folder, pl.Schema({c: schema[c] for c in _TOTAL_INPUT})) if masked else None
        groups: list[dict[str, int]] = []
        try:
            for batch in reader:
                rows = _with_payroll(pl.DataFrame(pl.from_arrow(batch)), payroll)
                if keys is not None:  # 合计 groups the rows as the warehouse holds them, as before it was spooled
                    keys.write(rows.select(_TOTAL_INPUT))
                    rows = redact_frame(rows)
                spool.write(rows)
                groups.append(dict(rows.group_by("entity").len().iter_rows()))
            spool.close()
            if keys is not None:
                keys.close()
            totals = ledger_totals(keys.path if keys is not None else spool.path)
        except BaseException:
            spool.path.unlink(missing_ok=True)
            raise
        finally:
            if keys is not None:
                keys.path.unlink(missing_ok=True)
    return LedgerSpool(spool.path, schema, groups), redact_frame(totals) if masked else totals


def adjustment_rows(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool,
                    run_id: str | None = None) -> pl.DataFrame:
    """本期调整: the adjustment rows of ``period`` (of one run when given), each with its cell's total
    (employer + employee) before and after it."""
    id_expr = "id_number" if full_ids else mask_id_sql("id_number")
    return con.execute(
        f"""
        WITH adjusted AS (  -- the running totals over these cells' rows only, not over every cell of the month
            SELECT DISTINCT entity, employee_id, insurance_type FROM ledger.contributions
            WHERE period = $period AND entry_type = 'adjustment' AND ($run_id IS NULL OR run_id = $run_id)
        ), cells AS (
            SELECT *, employer_amount + employee_amount AS total_amount,
                   sum(employer_amount + employee_amount) OVER (
                       PARTITION BY entity, employee_id, insurance_type ORDER BY run_id, created_at
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS total_after
            FROM ledger.contributions SEMI JOIN adjusted USING (entity, employee_id, insurance_type)
            WHERE period = $period
        )
        SELECT run_id, date_trunc('second', created_at) AS created_at, entry_type, period, entity, employee_id,
               name, {id_expr} AS id_number, region, insurance_type, base, month_fraction, employer_rate,
               employee_rate, employer_amount, employee_amount, total_amount,
               CAST(total_after - total_amount AS DECIMAL(18, 2)) AS total_before,
               CAST(total_after AS DECIMAL(18, 2)) AS total_after, policy_verified
        FROM cells
        WHERE entry_type = 'adjustment' AND ($run_id IS NULL OR run_id = $run_id)
        ORDER BY run_id, entity, employee_id, list_position({_TYPE_ORDER}, insurance_type), insurance_type
        """,
        {"period": period, "run_id": run_id},
    ).pl()


def _type_rank() -> pl.Expr:
    return pl.col("insurance_type").replace_strict(list(TYPE_NAMES), list(range(len(TYPE_NAMES))), default=99,
                                                   return_dtype=pl.Int32)


def change_summary(adjustments: pl.DataFrame) -> pl.DataFrame:
    """调整汇总: per run, entity and insurance type, how many people moved and by how much."""
    return (adjustments.group_by("run_id", "entity", "insurance_type")
            .agg(pl.col("employee_id").n_unique().alias("people"), pl.col("employer_amount").sum(),
                 pl.col("employee_amount").sum(), pl.col("total_amount").sum())
            .sort("run_id", "entity", _type_rank()))


def run_changes(con: duckdb.DuckDBPyConnection, period: str, run_id: str) -> dict:
    """What one ledger run moved (counts and amounts as exact text, no personal data): people overall and
    per (entity, insurance type)."""
    adjustments = adjustment_rows(con, period, full_ids=False, run_id=run_id)
    by_cell = change_summary(adjustments)
    return {
        "people": adjustments.select(pl.struct("entity", "employee_id").n_unique()).item(),
        "employer": _money(adjustments["employer_amount"].sum()),
        "employee": _money(adjustments["employee_amount"].sum()),
        "total": _money(adjustments["total_amount"].sum()),
        "by_entity_type": [{"entity": c["entity"], "insurance_type": c["insurance_type"], "people": c["people"],
                            "employer": _money(c["employer_amount"]), "employee": _money(c["employee_amount"]),
                            "total": _money(c["total_amount"])} for c in by_cell.iter_rows(named=True)],
    }


def change_lines(changes: dict | None) -> list[str]:
    """Console lines for what a ledger run moved; none when it appended no adjustment."""
    if not changes or not changes["people"]:
        return []
    lines = [f"Adjustments: {changes['people']} people moved, {_signed(changes['total'])} "
             f"(employer {_signed(changes['employer'])}, employee {_signed(changes['employee'])})"]
    lines += [f"  {c['entity']} {TYPE_NAMES.get(c['insurance_type'], c['insurance_type'])}: {c['people']} people, "
              f"{_signed(c['total'])}" for c in changes["by_entity_type"]]
    return lines


def changes_markdown(changes: dict | None) -> list[str]:
    """The same as a markdown section for Prefect artifacts (counts and amounts only)."""
    if not changes or not changes["people"]:
        return []
    lines = ["", f"Adjustments: {changes['people']} people moved, {_signed(changes['total'])} "
                 f"(employer {_signed(changes['employer'])}, employee {_signed(changes['employee'])})", "",
             "| entity | insurance type | people | employer | employee | total |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {c['entity']} | {c['insurance_type']} | {c['people']} | {_signed(c['employer'])} | "
              f"{_signed(c['employee'])} | {_signed(c['total'])} |" for c in changes["by_entity_type"]]
    return lines


_TOTAL_INPUT = ("entity", "region", "insurance_type", "employee_id", "employer_amount", "employee_amount",
                "total_amount")
_SUMS = ("employer_amount", "employee_amount", "total_amount")


def ledger_totals(rows: pl.DataFrame | Path, entity: str | None = None) -> pl.DataFrame:
    """合计: by entity × region × insurance type from 缴费明细's rows (a frame, or a Parquet file of them; of
    ``entity`` only, when given), then a grand total row (总计). DuckDB counts and sums (over a spool it reads the
    file a piece at a time); people are distinct 工号 (a missing one counts once, as polars counts)."""
    with scratch(bytes_of(rows)) as con:
        if isinstance(rows, pl.DataFrame):
            con.register("totals_rows", rows.select(_TOTAL_INPUT))
        else:
            con.execute(f"CREATE TEMP VIEW totals_rows AS SELECT * FROM read_parquet('{str(rows).replace(chr(39), chr(39) * 2)}')")
        where = "WHERE entity = $entity" if entity is not None else ""
        params = {"entity": entity} if entity is not None else {}
        sums = ", ".join(f"sum({c}) AS {c}" for c in _SUMS)
        cells = con.execute(f"""SELECT entity, region, insurance_type, count(DISTINCT {{'i': employee_id}}) AS people,
                                       {sums} FROM totals_rows {where} GROUP BY ALL""", params).pl()
        grand = con.execute(f"""SELECT count(DISTINCT {{'e': entity, 'i': employee_id}}) AS people, {sums}
                                FROM totals_rows {where}""", params).pl()
    # DuckDB's sums are DECIMAL(38, s), as polars' sums of the ledger's decimals were; none of no rows is 0
    cells = (cells.with_columns(pl.col("entity", "region", "insurance_type").cast(pl.String),
                                pl.col("people").cast(pl.Int64))
             .sort("entity", "region", _type_rank()))
    grand = grand.select(pl.lit("总计").alias("entity"), pl.lit(None, pl.String).alias("region"),
                         pl.lit(None, pl.String).alias("insurance_type"), pl.col("people").cast(pl.Int64),
                         *(pl.col(c).fill_null(0) for c in _SUMS))
    return pl.concat([cells, grand.cast(cells.schema)])


def unbooked_people(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool) -> pl.DataFrame:
    """未入账人员: paid in P but without a ledger row for P, and why (in Chinese)."""
    staged = con.execute(
        sql_text(SQL / "unbooked_people.sql").replace(
            "{id_number}", "id_number" if full_ids else mask_id_sql("id_number")),
        {"period": period},
    ).pl()
    unbooked = pl.concat([staged, rejected_payroll(con, period, full_ids).select(staged.columns)])
    if full_ids:
        return unbooked
    # regions and names of people not booked come unchecked from the extracts (an ID pasted into the city
    # column is why some are not booked): free text is redacted like everywhere else
    text = [c for c in ("entity", "employee_id", "name", "region") if c in unbooked.columns]
    return unbooked.with_columns(redact_series(unbooked[c]) for c in text)


def _raw_field(column: str) -> str:
    """SQL for a payroll column's cell in a reject's raw JSON, under whichever alias the file used."""
    aliases = next(c.aliases for c in KINDS["payroll"].columns if c.name == column)
    paths = ", ".join("json_extract_string(raw, '$.\"" + a.replace("'", "''") + "\"')" for a in aliases)
    return f"nullif(trim(coalesce({paths})), '')"


def rejected_payroll(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool) -> pl.DataFrame:
    """Payroll rows of P rejected at ingest whose person has no staged payroll row for P: from files still
    current for their entity (a corrected file replaces the rejects of the one before), duplicates left
    out (the first copy staged)."""
    id_number = _raw_field("id_number")
    rows = con.execute(
        f"""
        SELECT load_id, regexp_extract(source_file, '[^/\\\\]+$') AS file, sheet, row_number, reason_code,
               {_raw_field("period")} AS period_text, {_raw_field("entity")} AS entity,
               {_raw_field("employee_id")} AS employee_id, {_raw_field("name")} AS name,
               {id_number if full_ids else mask_id_sql(id_number)} AS id_number,
               {_raw_field("city")} AS region, {_raw_field("gross_pay")} AS gross_text
        FROM ingest.rejects WHERE kind = 'payroll' AND reason_code NOT IN ('DUPLICATE_ROW', 'NOT_DATA')
        """
    ).pl()
    rows = rows.filter(parse_month(pl.col("period_text")) == period)
    population = con.execute("SELECT entity, employee_id FROM ledger.employee_months WHERE period = ?",
                             [period]).pl()
    latest = con.execute("SELECT entity, max(load_id) AS latest FROM ingest.current_loads "
                         "WHERE kind = 'payroll' AND period = ? GROUP BY entity", [period]).pl()
    reason = pl.col("reason_code").replace_strict(glossary.REJECT_REASON, default="数据有误", return_dtype=pl.String)
    where = pl.concat_str([pl.col("file"), pl.lit(" "), pl.col("sheet").fill_null(""),
                           pl.lit(" 第 "), pl.col("row_number").cast(pl.String), pl.lit(" 行")])
    return (rows.join(population, on=["entity", "employee_id"], how="anti", nulls_equal=True)
            .join(latest, on="entity", how="left")
            .filter(pl.col("latest").is_null() | (pl.col("load_id") >= pl.col("latest")))
            .sort("entity", "employee_id", "load_id", "row_number")
            .with_columns(parse_amount(pl.col("gross_text")).cast(pl.Decimal(14, 2), strict=False).alias("gross_pay"),
                          pl.lit("导入时被拒收").alias("reason"),
                          pl.concat_str([where.str.replace_all(r"\s+", " "), pl.lit("："), reason,
                                         pl.lit("；改正后重新放入收件箱")]).alias("detail")))


def reconciliation_table(con: duckdb.DuckDBPyConnection, period: str) -> tuple[Sheet, pl.DataFrame] | None:
    """账单核对 from ``transforms.ledger.reconcile`` (issue 14.2) when that module is installed; else nothing."""
    try:
        from transforms.ledger.reconcile import HEADERS_ZH, reconciliation
    except ImportError:
        return None
    frame = reconciliation(con, period)
    return Sheet("reconciliation", "账单核对", {c: HEADERS_ZH[c] for c in frame.columns if c in HEADERS_ZH}), frame


Table = pl.DataFrame | LedgerSpool | Chunks  # a table of the export: 缴费明细 is spooled


def finance_tables(con: duckdb.DuckDBPyConnection, period: str, full_ids: bool, masked: bool = False,
                   folder: Path | None = None) -> list[tuple[Sheet, Table]]:
    """The finance tables of ``period``, free text redacted when ``masked``; 缴费明细 spooled
    (:func:`spool_ledger_rows`, in ``folder``), the others frames."""
    rows, totals = spool_ledger_rows(con, period, full_ids, masked, folder)
    adjustments = adjustment_rows(con, period, full_ids)
    frames: dict[str, Table] = {"adjustments": adjustments, "changes": change_summary(adjustments),
                                "unbooked": unbooked_people(con, period, full_ids)}
    reconciled = reconciliation_table(con, period)
    if masked:  # free text (entity, name, region) may hold an ID typed in the wrong column
        frames = {key: redact_frame(frame) for key, frame in frames.items() if isinstance(frame, pl.DataFrame)}
        reconciled = (reconciled[0], redact_frame(reconciled[1])) if reconciled else None
    frames |= {"detail": rows, "totals": totals}
    tables: list[tuple[Sheet, Table]] = [(sheet, frames[sheet.key]) for sheet in SHEETS]
    return tables + ([reconciled] if reconciled else [])


# ------------------------------------------------------------------------------------------------ writing


def export_ledger(con: duckdb.DuckDBPyConnection, period: str, fmt: str | Sequence[str], out_dir: Path,
                  role: str | None = None) -> list[Path]:
    """Write the ledger of ``period`` in ``fmt`` (one format, or several from one computation of the tables);
    IDs masked unless the role may see them. xlsx is one workbook ``ledger_<P>.xlsx``; csv and parquet are one
    file per sheet, ``ledger_<P>_<key>.<fmt>``, and 缴费明细 is ``ledger_<P>.<fmt>`` (its name before the other
    sheets came)."""
    formats = [fmt] if isinstance(fmt, str) else list(fmt)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ShebaoError(f"The export format {unknown[0]!r} is unknown; use one of {', '.join(FORMATS)}.")
    tables = export_tables(con, period, role)
    try:
        return write_exports(tables, period, formats, out_dir)
    finally:
        detail_table(tables).remove()


def export_tables(con: duckdb.DuckDBPyConnection, period: str, role: str | None = None,
                  folder: Path | None = None) -> list[tuple[Sheet, Table]]:
    """The finance tables of ``period`` as ``role`` may see them (IDs masked unless it may see them); the
    close computes them once for every format and hands the masked 缴费明细 (a :class:`LedgerSpool` in
    ``folder``) on to the per-entity files."""
    permitted = get_role(role)
    if not scalar(con, "SELECT count(*) FROM ledger.runs WHERE period = ?", [period]):
        raise ShebaoError(f"There is no ledger for {period} yet; run `shebao ledger --period {period}` first.")
    return finance_tables(con, period, permitted.sees_full_ids, masked=not permitted.sees_full_ids, folder=folder)


def detail_table(tables: list[tuple[Sheet, Table]]) -> LedgerSpool:
    """缴费明细 of :func:`export_tables`' result."""
    spool = next(frame for sheet, frame in tables if sheet.key == "detail")
    assert isinstance(spool, LedgerSpool)
    return spool


def _rows(frame: Table) -> pl.DataFrame | Chunks:
    return frame.chunks() if isinstance(frame, LedgerSpool) else frame


def write_exports(tables: list[tuple[Sheet, Table]], period: str, formats: Sequence[str],
                  out_dir: Path) -> list[Path]:
    """The tables from :func:`export_tables`, written in each of ``formats`` under ``out_dir``. 缴费明细 is read
    from its spool once: as the workbook reads its chunks, they are written to its Parquet and CSV files too."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    teed: dict[str, ChunkedFile] = {}
    if "xlsx" in formats:
        detail = next(sheet for sheet, _ in tables if sheet.key == "detail")
        teed = {fmt: ChunkedFile(_file_path(out_dir, period, detail, fmt), fmt) for fmt in formats if fmt != "xlsx"}
    return [path for one_format in formats for path in _write_format(tables, period, one_format, out_dir, teed)]


def _file_path(out_dir: Path, period: str, sheet: Sheet, fmt: str) -> Path:
    return out_dir / (f"ledger_{period}.{fmt}" if sheet.key == "detail" else f"ledger_{period}_{sheet.key}.{fmt}")


def _write_format(tables: list[tuple[Sheet, Table]], period: str, fmt: str, out_dir: Path,
                  teed: dict[str, ChunkedFile]) -> list[Path]:
    """``fmt``'s files; ``teed``: 缴费明细's files of the other formats, written as the workbook reads its rows."""
    if fmt == "xlsx":
        path = out_dir / f"ledger_{period}.xlsx"
        write_workbook(path, tables, teed)
        return [path]
    paths = []
    for sheet, frame in tables:
        path = _file_path(out_dir, period, sheet, fmt)
        if not (sheet.key == "detail" and fmt in teed):
            shown = as_chunks(_rows(frame)).map(functools.partial(readable, sheet=sheet))
            with ChunkedFile(path, fmt) as file:
                for chunk in shown.frames():
                    file.write(chunk)
        paths.append(path)
    return paths


class ChunkedFile:
    """A table's Parquet or CSV file written a chunk at a time as its chunks come (:meth:`write`, the rows as
    :func:`readable` shows them), finished when the ``with`` block ends. Parquet is typed (DECIMAL stays DECIMAL), a
    row group per chunk (a table of one chunk as polars writes it). CSV is UTF-8 with BOM so Excel shows the Chinese
    headers, the header once (the same bytes as the whole table), text that would run as a formula neutralised;
    rates as numbers (0.16), as the xlsx and Parquet hold them: "16.00%" text sums to nothing in a pivot."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt, self.chunks = Path(path), fmt, 0
        self._first: pl.DataFrame | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._csv: BinaryIO | None = None

    def __enter__(self) -> ChunkedFile:
        return self

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            if self._csv is None:
                self._csv = open(self.path, "wb")  # noqa: SIM115 - closed when the block ends
            neutralise_frame(frame).write_csv(self._csv, include_bom=not self.chunks, include_header=not self.chunks)
        elif self._first is None and not self.chunks:
            self._first = frame  # written by polars if no chunk follows
        else:
            if self._parquet is None:
                assert self._first is not None
                self._parquet = pq.ParquetWriter(self.path, self._first.to_arrow().schema, compression="zstd")
                self._parquet.write_table(self._first.to_arrow())
                self._first = None
            self._parquet.write_table(frame.to_arrow())  # a chunk at a time, never all at once
        self.chunks += 1

    def __exit__(self, kind, *_) -> None:
        if self._csv is not None:
            self._csv.close()
        elif self._parquet is not None:
            self._parquet.close()
        elif self._first is not None and kind is None:
            self._first.write_parquet(self.path)


class _Teed:
    """A sheet's rows for the workbook as :class:`Chunks` (:attr:`chunks`, read once) that, as each chunk is
    read, write it to ``files`` too (as :func:`readable` shows it): one read of a spool for every format. The
    files are finished when the ``with`` block ends, after any chunk the workbook did not ask for (an empty one
    after its last row) is written to them."""

    def __init__(self, table: Table, sheet: Sheet, files: dict[str, ChunkedFile]):
        rows = as_chunks(_rows(table))
        self._sheet, self._files, self._source = sheet, files, rows.frames()
        self.chunks = Chunks(rows.height, rows.schema, self._frames)

    def _frames(self) -> Iterator[pl.DataFrame]:
        for frame in self._source:
            shown = readable(frame, self._sheet)
            for file in self._files.values():
                file.write(shown)
            del shown  # not kept while the workbook writes the chunk
            yield frame

    def __enter__(self) -> _Teed:
        for file in self._files.values():
            file.__enter__()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None and self._files:
                for _ in self._frames():
                    pass
        finally:
            for file in self._files.values():
                file.__exit__(kind, value, traceback)


def write_workbook(path: Path, tables: list[tuple[Sheet, Table]], teed: dict[str, ChunkedFile] | None = None) -> Path:
    """The tables as one workbook, a sheet each; ``teed``: 缴费明细's files of other formats, written from the
    chunks the workbook reads (:class:`_Teed`)."""
    workbook = new_workbook(path)
    for sheet, table in tables:
        with _Teed(table, sheet, teed if teed and sheet.key == "detail" else {}) as rows:
            frame = rows.chunks
            money = {c for c in frame.columns if c in MONEY or isinstance(frame.schema[c], pl.Decimal)} - RATES
            write_sheet(workbook, sheet.title, frame.map(labelled), sheet.headers, money,
                        percent=RATES & set(frame.columns))
    workbook.close()
    return path


def labelled(frame: pl.DataFrame) -> pl.DataFrame:
    """Codes a person would read, in Chinese: insurance types and entry types."""
    names = {"insurance_type": TYPE_NAMES, "entry_type": glossary.ENTRY_TYPE}
    labelled = frame.with_columns(pl.col(c).replace(names[c]) for c in names if c in frame.columns)
    if "policy_verified" in frame.columns:  # 政策核实 (SPEC §7); blank only for rows booked before it was kept
        labelled = labelled.with_columns(pl.col("policy_verified").cast(pl.String)
                                         .replace_strict(glossary.POLICY_VERIFIED, default=None)
                                         .fill_null(glossary.POLICY_VERIFIED_UNKNOWN))
    return labelled


def readable(frame: pl.DataFrame, sheet: Sheet) -> pl.DataFrame:
    """The sheet's columns, labelled values, Chinese headers."""
    return labelled(frame.select(list(sheet.headers))).rename(sheet.headers)


def percent_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Rates as ``16.00%`` text (csv has no number formats); formatted once per distinct value."""
    columns = [c for c in RATES if c in frame.columns]
    return frame.with_columns(
        pl.col(c).cast(pl.String).replace_strict(
            {str(v): f"{(Decimal(str(v)) * 100).quantize(CENT, ROUND_HALF_UP)}%" for v in frame[c].unique().drop_nulls()},
            default=None, return_dtype=pl.String)
        for c in columns)


def _money(value) -> str:
    return str(Decimal(str(value or 0)).quantize(CENT))


def _signed(text: str) -> str:
    return text if text.startswith("-") else f"+{text}"
