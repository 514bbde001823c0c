"""From a grid of text to staged rows and rejects, for one kind: SPEC §2, set-based.

``find_header`` locates the header row; ``stage_rows`` parses every column of a kind at once and gives
each row either its staged values or the first reason it cannot be staged.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import polars as pl

from transforms.ingest import kinds as k
from transforms.ingest import normalise as n
from transforms.ingest.readers import CELLS, FOREIGN, MAX_HEADER_SEARCH

ROW_NUMBER, SHEET, RAW, REASON_CODE, REASON = "row_number", "sheet", "raw", "reason_code", "reason"
DUPLICATE = "__duplicate"  # set by the caller: the row is an exact copy of an earlier row of the file
# Rows of several files staged together (``staged_file.stage_run``): each row's file (0, 1, ...), and the header's
# width and each column's label (``LABEL`` + name) of its file, for the reject reasons.
FILE, WIDTH, LABEL = "__file", "__width", "__label_"
TEXT = "__text_"  # + a column's name: its cell text as ``stage_rows`` parses it (stripped, blank as null)


@dataclass
class HeaderMatch:
    kind: k.Kind
    positions: dict[str, int]  # canonical column -> grid column index
    row_index: int  # 0-based row of the header in the grid
    labels: list[str]  # header cell texts, de-duplicated, for raw JSON keys and messages
    width: int  # cells in the header row
    header_rows: int = 1  # 2: a two-row header (a merged parent over its children), read as ``parent/child``
    titles: list[str] = field(default_factory=list)  # the text of the title rows above the header
    sums: dict[str, list[int]] = field(default_factory=dict)  # canonical column -> cells added up
    constants: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (value, where from)
    absent: dict[str, str] = field(default_factory=dict)  # required column no source gives -> where it could
    serial_column: int | None = None  # 序号: a template's sample row reads 例 there
    day_column: int | None = None  # daily attendance: the column of days

    @property
    def data_start(self) -> int:
        return self.row_index + self.header_rows


class ProfileMismatch(Exception):
    """An import profile names a header the file lacks; the message names both (no personal data)."""


def find_header(grid: pl.DataFrame, profile=None) -> HeaderMatch | None:
    """The first of the top rows (after up to 9 title rows) whose cells identify a kind (SPEC §2 v3); a
    two-row header (a merged parent over its children) is read as ``parent/child``. ``profile`` (an import
    profile's ``[[source]]``, ``transforms.ingest.context.Profile``) may fix the kind, map headers to columns and name
    headers to add up; a header it names that the file lacks raises ``ProfileMismatch``."""
    cell_columns = [c for c in grid.columns if c not in (CELLS, FOREIGN)]
    top = [list(row) for row in grid.head(MAX_HEADER_SEARCH + 1).select(cell_columns).iter_rows()]
    for row_index, row in enumerate(top[:MAX_HEADER_SEARCH]):
        below = top[row_index + 1] if row_index + 1 < len(top) else None
        two_rows = _two_row_header(row, below)
        readings = ([(two_rows, 2)] if two_rows else []) + [((row, row, row), 1)]
        for (labels, keys, names), rows_used in readings:
            found = _identify(keys, names, profile)
            if found is None:
                continue
            kind, positions, sums = found
            width = len(labels)
            while width and not _text(labels[width - 1]):
                width -= 1
            titles = [" ".join(_text(c) for c in title if _text(c)) for title in top[:row_index]]
            cleaned = [k.clean_header(c) for c in keys]
            return HeaderMatch(kind, positions, row_index, _labels(tuple(labels[:width])), width, rows_used,
                               [t for t in titles if t], sums,
                               serial_column=next((i for i, key in enumerate(cleaned) if key == "序号"), None),
                               day_column=k.day_column(cleaned) if kind.name == "attendance" else None)
    if profile is not None and (profile.columns or profile.sums):
        wanted = list(profile.columns.values()) + [h for headers in profile.sums.values() for h in headers]
        seen = {k.clean_header(c) for row in top for c in row}
        lacking = [h for h in wanted if k.clean_header(h) not in seen]
        if lacking:
            raise ProfileMismatch(f"导入方案 {profile.origin}（match = \"{profile.match}\"）指定的表头"
                                  f"“{'、'.join(lacking)}”在文件中不存在；请核对导入方案或文件")
    return None


def _text(cell) -> str:
    return str(cell).replace("\ufeff", "").strip() if cell is not None else ""


_DATA_LIKE = re.compile(r"^[\d\s,.\-/:：¥￥%Xx]+$")


def _two_row_header(row: list, below: list | None):
    """(labels, match keys, names for per-type detection) of ``row`` over ``below`` read as one two-row
    header, or None when ``below`` is not a row of child headers: it must hold a header text under a cell
    ``row`` leaves blank (the merged parent's span) and nothing that looks like data."""
    if below is None or not any(_text(c) for c in row):
        return None
    texts, children = [_text(c) for c in row], [_text(c) for c in below]
    # a merged parent spans blank cells above its children, and a header standing alone spans both rows
    # (blank below it); a title row over the header has neither
    if not any(child and not texts[i] for i, child in enumerate(children)):
        return None
    if not any(text and (i >= len(children) or not children[i]) for i, text in enumerate(texts)):
        return None
    if any(child and (_DATA_LIKE.match(child) or len(child) > 30) for child in children):
        return None
    # every child lies under a parent's span: the parent's own cell starts it (a blank beside it, with a child
    # under that blank), blank cells continue it; a data row under a header has values under standalone cells
    spanning = False
    for i, child in enumerate(children):
        text = texts[i] if i < len(texts) else ""
        if text:
            following = i + 1 < len(children) and children[i + 1] and not (texts[i + 1] if i + 1 < len(texts) else "")
            spanning = bool(child and following)
            if child and not spanning:
                return None
        elif not child:
            spanning = False
        elif not spanning:
            return None
    labels, keys, names, parent = [], [], [], ""
    for text, child in zip(texts, children, strict=False):
        if text:
            parent = text
        elif not child:
            parent = ""
        own = text or parent
        if child and own and child != own:
            labels.append(f"{own}/{child}")
            child_key = k.clean_header(child)
            keys.append(child if child_key in k.ALL_ALIASES else own)
            # 养老保险/个人 is a per-type column by its parent; 代扣款项/养老保险(个人) by its child
            names.append(f"{own}({child})" if child.startswith("个人") else child)
        else:
            labels.append(own or child)
            keys.append(own or child)
            names.append(own or child)
    return labels, keys, names


def _identify(keys: list, names: list, profile) -> tuple[k.Kind, dict[str, int], dict[str, list[int]]] | None:
    """(kind, positions, sums) of a header row, with the profile applied; None when it identifies no kind."""
    cleaned = [k.clean_header(c) for c in keys]
    kind: k.Kind | None
    if profile is not None and profile.kind:
        kind = k.KINDS[profile.kind]
        positions = k.column_positions(kind, cleaned)
    else:
        match = k.match_header(keys)
        if match is None and not (profile is not None and profile.columns):
            return None
        kind, positions = match if match is not None else (None, {})
    if profile is not None and (profile.columns or profile.sums):
        mapped = {column: cleaned.index(k.clean_header(header)) for column, header in profile.columns.items()
                  if k.clean_header(header) in cleaned}
        if len(mapped) < len(profile.columns):
            return None  # not this row: the profile's headers are all on the header row
        sums = {column: [cleaned.index(k.clean_header(h)) for h in headers if k.clean_header(h) in cleaned]
                for column, headers in profile.sums.items()}
        if any(len(sums[c]) < len(profile.sums[c]) for c in sums):
            return None
        if kind is None:  # no kind identified by aliases: the first whose columns the profile maps
            kind = next((k.KINDS[name] for name in k.PRECEDENCE
                         if set(mapped) <= {c.name for c in k.KINDS[name].columns}), None)
            if kind is None:
                return None
            positions = k.column_positions(kind, cleaned)
        positions = {c: i for c, i in positions.items() if i not in mapped.values()} | mapped
        positions = {c: i for c, i in positions.items() if c not in sums}
    else:
        sums = {}
    if kind is None:
        return None
    if (profile is not None and profile.kind and not profile.columns and not profile.sums and len(positions) < 2
            and not k.identifies(kind.name, set(positions), k.day_column(cleaned) is not None)):
        return None  # a profile fixing the kind still needs a header row: two of the kind's columns at least
    if kind.name == "payroll" and "si_withheld" not in positions and "si_withheld" not in sums:
        parts = [i for i in k.withholding_columns(names) if i not in positions.values()]
        if parts:
            sums["si_withheld"] = parts
    return kind, positions, sums


def _labels(cells: tuple) -> list[str]:
    labels, seen = [], set()
    for index, cell in enumerate(cells):
        label = str(cell).replace("\ufeff", "").strip() if cell is not None else ""
        label = label or f"列{index + 1}"
        base, suffix = label, 2
        while label in seen:
            label, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(label)
        labels.append(label)
    return labels


def body_height(grid: pl.DataFrame, header: HeaderMatch) -> int:
    """Rows under the header, blank ones included: what ``data_rows``'s ``start`` counts in."""
    return max(grid.height - header.data_start, 0)


def _body(grid: pl.DataFrame, header: HeaderMatch, start: int, length: int | None,
          body: int | None = None) -> pl.DataFrame:
    if body is None:
        body_rows = grid.slice(header.data_start + start, length).with_row_index(ROW_NUMBER, offset=1 + start)
    else:  # a piece of a streamed file: rows under the header only, the first being the body's row ``body``
        body_rows = grid.slice(start, length).with_row_index(ROW_NUMBER, offset=1 + body + start)
    return _non_blank(body_rows, grid)


def _non_blank(body: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    body = body.with_columns(pl.col(ROW_NUMBER).cast(pl.Int32))
    all_cells = [c for c in grid.columns if c not in (CELLS, FOREIGN)]
    if all_cells:
        blank = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in all_cells])
        body = body.filter(~blank)
    return body


def _cells(grid: pl.DataFrame, header: HeaderMatch) -> list[str]:
    present = set(grid.columns)  # a set: polars builds its column list anew on each ``columns``
    return [f"c{i}" for i in range(header.width) if f"c{i}" in present]


def _raw(cell_columns: list[str], header: HeaderMatch) -> pl.Expr:
    """The row's cells under the header's labels: its raw JSON, and what makes two rows exact copies."""
    return pl.struct([pl.col(c).alias(label) for c, label in zip(cell_columns, header.labels, strict=False)])


def data_rows(grid: pl.DataFrame, header: HeaderMatch, sheet: str | None, start: int = 0,
              length: int | None = None, body_row: int | None = None) -> pl.DataFrame:
    """The rows under the header: numbered 1.. as in the sheet, blank rows left out, raw JSON kept.

    ``start``/``length``: only those rows under the header (a chunk of a large sheet; numbers unchanged).
    ``body_row``: ``grid`` holds rows under the header only, the first of them that row of the body (0-based;
    a chunk of a file read a piece at a time)."""
    cell_columns = _cells(grid, header)
    body = _body(grid, header, start, length, body_row)
    if not cell_columns:
        return body.select(ROW_NUMBER).with_columns(pl.lit(sheet, pl.String).alias(SHEET), pl.lit("{}").alias(RAW))
    present = set(body.columns)  # a set: a sheet may be 10,000 columns wide
    extra = (pl.col(CELLS) > header.width) if CELLS in present else pl.lit(False)
    return body.select(
        pl.col(ROW_NUMBER),
        pl.lit(sheet, pl.String).alias(SHEET),
        _raw(cell_columns, header).struct.json_encode().alias(RAW),
        extra.fill_null(False).alias("__extra_cells"),
        (pl.col(CELLS) if CELLS in present else pl.lit(None, pl.Int32)).alias("__cells"),
        (pl.col(FOREIGN) if FOREIGN in present else pl.lit(False)).alias(FOREIGN),
        *[
            (pl.col(f"c{index}") if f"c{index}" in present else pl.lit(None, pl.String)).alias(f"in_{name}")
            for name, index in header.positions.items()
        ],
        *[pl.lit(value, pl.String).alias(f"in_{name}") for name, (value, _) in header.constants.items()
          if name not in header.positions],
        *[_sum(body, [f"c{i}" for i in parts if f"c{i}" in present]).alias(f"in_{name}")
          for name, parts in header.sums.items()],
        _not_data_flag(body, cell_columns, header).alias(NOT_DATA_FLAG),
        *([pl.col(f"c{header.day_column}").alias(DAY), _present(cell_columns, header).alias(PRESENT)]
          if header.day_column is not None and f"c{header.day_column}" in present else []),
    )


DAY, PRESENT = "__day", "__present"
_ABSENT_RESULTS = ["缺卡", "旷工", "未打卡", "休息", "请假"]


def _present(cell_columns: list[str], header: HeaderMatch) -> pl.Expr:
    """Daily attendance (DingTalk 每日统计): was the person there that day? Not on a rest shift (班次 休息);
    then, where the export has punch columns, a punch time or a result other than 缺卡/旷工/未打卡/休息/请假.
    A file with neither kind of column lists the days present only."""
    labels = dict(zip(cell_columns, header.labels, strict=False))
    times = [c for c, label in labels.items() if "打卡时间" in label]
    results = [c for c, label in labels.items() if "结果" in label]
    shifts = [c for c, label in labels.items() if label in ("班次", "排班")]
    present: pl.Expr = pl.lit(True)
    punches = [n.blank_to_null(pl.col(c)).is_not_null() & ~pl.col(c).str.contains("未打卡|--") for c in times]
    punches += [n.blank_to_null(pl.col(c)).is_not_null() & ~pl.col(c).str.contains("|".join(_ABSENT_RESULTS))
                for c in results]
    if punches:
        present = pl.any_horizontal(punches).fill_null(False)
    for column in shifts:
        present = present & ~pl.col(column).fill_null("").str.contains("休息")
    return present


def daily_to_monthly(rows: pl.DataFrame, header: HeaderMatch) -> pl.DataFrame:
    """One attendance row per person and month from a daily export (SPEC §2 v3): its days present as
    attendance_days, its month from the day column where the file has no month column; the first row of
    each person's month stands for it (its row number and raw cells). Rows that are not data, and exact
    copies, stay as they are, to be counted as such."""
    if DAY not in rows.columns:
        return rows
    apart = pl.col(NOT_DATA_FLAG) | (pl.col(DUPLICATE) if DUPLICATE in rows.columns else pl.lit(False))
    kept = rows.filter(apart)
    days = rows.filter(~apart)
    # DingTalk writes days as ``24-06-03 星期一``: the weekday dropped, a two-digit year read as 20xx
    text = (n.blank_to_null(pl.col(DAY)).str.replace(r"\s*(?:星期|周)[一二三四五六日天]$", "")
            .str.replace(r"^(\d{2})([-/.]\d{1,2}[-/.]\d{1,2})$", "20${1}${2}"))
    day = n.parse_date(text)
    if "period" not in header.positions:  # the days' month, before any month the title or name gives
        given = [pl.col("in_period")] if "in_period" in days.columns else []
        days = days.with_columns(pl.coalesce(day.dt.strftime("%Y-%m"), *given, pl.col(DAY)).alias("in_period"))
    person = [c for c in ("in_employee_id", "in_id_number", "in_name") if c in days.columns]
    key = pl.coalesce([n.blank_to_null(pl.col(c)) for c in person]).alias("__person")
    others = [c for c in days.columns if c not in (DAY, PRESENT, "in_period", "__person", ROW_NUMBER)]
    monthly = (
        days.with_columns(key).group_by("__person", "in_period", maintain_order=True)
        .agg(pl.col(ROW_NUMBER).min(), *[pl.col(c).first() for c in others], pl.col(PRESENT).sum().alias("__days"))
    )
    if "in_attendance_days" not in header.positions:
        monthly = monthly.with_columns(pl.col("__days").cast(pl.String).alias("in_attendance_days"))
    monthly = monthly.drop("__person", "__days")
    kept = kept.drop([c for c in (DAY, PRESENT) if c in kept.columns])
    if "in_period" not in kept.columns:
        kept = kept.with_columns(pl.lit(None, pl.String).alias("in_period"))
    if "in_attendance_days" not in kept.columns:
        kept = kept.with_columns(pl.lit(None, pl.String).alias("in_attendance_days"))
    return pl.concat([monthly, kept.select(monthly.columns)], how="vertical").sort(ROW_NUMBER)


NOT_DATA_FLAG = "__not_data"
_TOTALS = ["合计", "总计", "小计"]
_SAMPLES = ["样例", "示例", "导入样板数据"]


def not_data(cell_columns: list[str], header: HeaderMatch) -> pl.Expr:
    """SPEC §2 v3 "Rows that are not data": a totals row (a cell reading 合计, 总计 or 小计, with or without a
    colon), a template's sample row (序号 ``例``, or a cell 样例, 示例, 导入样板数据), an instruction line
    (填表说明…). Whole columns at once."""
    if not cell_columns:
        return pl.lit(False)
    checks = []
    for column in cell_columns:
        cell = pl.col(column).str.strip_chars(" \t\u3000")
        checks.append(cell.str.strip_chars_end(":：").is_in(_TOTALS) | cell.is_in(_SAMPLES)
                      | cell.str.starts_with("填表说明") | cell.str.starts_with("填写说明"))
    if header.serial_column is not None and f"c{header.serial_column}" in cell_columns:
        checks.append(pl.col(f"c{header.serial_column}").str.strip_chars() == "例")
    return pl.any_horizontal(checks).fill_null(False)


# Any cell holding one of these characters may make its row not data; rows with none are data outright.
_NOT_DATA_CHARS = "计例样示说"


def _not_data_flag(body: pl.DataFrame, cell_columns: list[str], header: HeaderMatch) -> pl.Expr:
    """``not_data`` for ``body``, paying for the exact test only when some row may need it: one scan of the
    cells for a handful of characters settles almost every chunk of a large file."""
    if not cell_columns or not body.height:
        return pl.lit(False)
    present = set(body.columns)
    hints = [pl.col(c).str.contains(f"[{_NOT_DATA_CHARS}]") for c in cell_columns if c in present]
    maybe = bool(hints) and body.select(pl.any_horizontal(hints).fill_null(False).any()).item()
    return not_data(cell_columns, header) if maybe else pl.lit(False)


def _sum(body: pl.DataFrame, columns: list[str]) -> pl.Series:
    """Amount cells added up (SPEC §2 v3 per-type columns), as decimal text; blank cells count as nothing, all
    blank is blank, and a cell that is not an amount is passed on as it is, to be that row's BAD_AMOUNT.
    Step by step over the body (each step once), exact in millionths as integers: polars' text-to-Decimal
    cast costs 20 times the parse. DuckDB rounds the sum to cents half-up when it is staged, as any amount."""
    if not columns:
        return pl.Series([None] * body.height, dtype=pl.String)
    texts = [f"__t{i}" for i in range(len(columns))]
    parsed = [f"__p{i}" for i in range(len(columns))]
    total = pl.sum_horizontal([_millionths(pl.col(p)) for p in parsed])
    cells = body.lazy().select([n.blank_to_null(pl.col(c)).alias(t) for c, t in zip(columns, texts, strict=True)]).collect()
    # an export's amounts are mostly plain (610.10): those are their own parse, as in a column staged alone
    def parse(column: str) -> pl.Expr:
        return _unless_plain(cells, pl.col(column), n.PLAIN_AMOUNT, n.parse_amount)

    return (
        cells.lazy()
        .with_columns([parse(t).alias(p) for t, p in zip(texts, parsed, strict=True)])
        .with_columns(total.alias("__total"))
        .select(
            pl.when(pl.all_horizontal([pl.col(t).is_null() for t in texts])).then(pl.lit(None, pl.String))
            .otherwise(pl.coalesce(
                [pl.when(pl.col(t).is_not_null() & pl.col(p).is_null()).then(pl.col(t))
                 for t, p in zip(texts, parsed, strict=True)]
                + [pl.when(pl.col("__total") < 0).then(pl.lit("-")).otherwise(pl.lit(""))
                   + (pl.col("__total").abs() // 1_000_000).cast(pl.String) + "."
                   + (pl.col("__total").abs() % 1_000_000).cast(pl.String).str.zfill(6)]))
            .alias("sum"))
        .collect().to_series()
    )


def _millionths(amount: pl.Expr) -> pl.Expr:
    """Plain decimal text (``parse_amount``'s) as an integer count of millionths; digits past six are cut."""
    negative = amount.str.starts_with("-")
    parts = amount.str.strip_chars_start("-").str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64)
    fraction = parts.struct.field("field_1").fill_null("").str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64)
    value = whole * 1_000_000 + fraction
    return pl.when(negative).then(-value).otherwise(value)


def copy_of_an_earlier_row() -> pl.Expr:
    """SPEC §2's DUPLICATE_ROW test: a row is an exact copy when its raw JSON (its cells under the header's labels)
    is an earlier row's. The one test, over a small file's rows, a large file's candidates or one chunk."""
    return ~pl.col(RAW).is_first_distinct()


def copied_rows(sheets: list[tuple[pl.DataFrame, HeaderMatch]], size: int) -> pl.Series:
    """Per data row of ``sheets`` (``data_rows`` of each, in order): is it an exact copy of an earlier row,
    the same raw JSON? Decided over all of them, ``size`` rows at a time: a hash of each row's cells first,
    then the raw JSON of only the rows whose hash repeats, so a large file's raw text is never held whole
    (at a million rows that text alone is about 250 MB) and a hash collision never rejects a row."""
    chunks = [(grid, header, start) for grid, header in sheets for start in range(0, body_height(grid, header), size)]

    def rows_of(grid, header, start) -> pl.DataFrame:
        cells = _cells(grid, header)
        key = _raw(cells, header).hash() if cells else pl.lit(0, pl.UInt64)
        return _body(grid, header, start, size).select(ROW_NUMBER, key.alias("key"), *[pl.col(c) for c in cells])

    keys = pl.concat([rows_of(*chunk).get_column("key") for chunk in chunks]) if chunks else pl.Series([], dtype=pl.UInt64)
    maybe = keys.is_duplicated()
    none = pl.repeat(False, keys.len(), dtype=pl.Boolean, eager=True).alias(DUPLICATE)
    if not maybe.any():
        return none
    texts, offset = [], 0
    for grid, header, start in chunks:
        rows = rows_of(grid, header, start)
        picked = maybe.slice(offset, rows.height)
        cells = _cells(grid, header)
        raw = _raw(cells, header).struct.json_encode() if cells else pl.lit("{}")
        texts.append(rows.with_row_index("at", offset).filter(picked).select("at", raw.alias(RAW)))
        offset += rows.height
    candidates = pl.concat(texts).filter(copy_of_an_earlier_row())
    return none.scatter(candidates["at"], True)


def row_keys(grid: pl.DataFrame, header: HeaderMatch, body_row: int) -> pl.Series:
    """``copied_rows``' first step for a piece of a file read a piece at a time (``data_rows``' ``body_row``): a
    hash of each data row's cells. The hashes of the whole file are held (8 bytes a row), never its text."""
    cells = _cells(grid, header)
    key = _raw(cells, header).hash() if cells else pl.lit(0, pl.UInt64)
    return _body(grid, header, 0, None, body_row).select(key.alias("key")).get_column("key")


def copies_in(rows: pl.DataFrame, maybe: pl.Series, seen: pl.Series) -> tuple[pl.Series, pl.Series]:
    """``copied_rows``' decision for one chunk of a file read a piece at a time, in file order: per row of
    ``rows`` (``data_rows``), is it an exact copy of an earlier row of the file? ``maybe``: its cells' hash
    repeats in the file; ``seen``: the raw JSON of the earlier chunks' rows whose hash repeats (only those are
    held, as in ``copied_rows``). Returns (``DUPLICATE``, ``seen`` with this chunk's)."""
    candidates = rows.select(RAW).with_row_index("at").filter(maybe)
    none = pl.repeat(False, rows.height, dtype=pl.Boolean, eager=True).alias(DUPLICATE)
    if not candidates.height:
        return none, seen
    marked = candidates.with_columns((pl.col(RAW).is_in(seen) | copy_of_an_earlier_row()).alias("copy"))
    return (none.scatter(marked.filter("copy")["at"], True),
            pl.concat([seen, marked.filter(~pl.col("copy")).get_column(RAW)]))


def stage_rows(rows: pl.DataFrame, kind: k.Kind, labels: dict[str, str], header_width: int,
               region_lookup: dict[str, str], absent: dict[str, str] | None = None) -> pl.DataFrame:
    """Parse every column of ``kind``; add ``reason_code``/``reason`` (null when the row stages).

    ``labels`` maps canonical column -> the header text the file used, for messages HR can act on;
    ``absent`` a required column the file lacks and no context gave -> where it could come from.
    Messages are built only for the rejected rows: formatting text for every row would cost more than
    all the parsing.
    """
    absent = absent or {}
    # No 工号 column: the normalised ID number stands in for employee_id (SPEC §2 v3).
    derive_id = ("in_employee_id" not in rows.columns and "in_id_number" in rows.columns
                 and any(c.name == "employee_id" for c in kind.columns))
    if derive_id:
        rows = rows.with_columns(pl.col("in_id_number").alias("in_employee_id"))
    missing_sources = [f"in_{c.name}" for c in kind.columns if f"in_{c.name}" not in rows.columns]
    rows = rows.with_columns([pl.lit(None, pl.String).alias(s) for s in missing_sources])
    # each column's text stripped, blank as null, once: its parse, its tests and the reject reason all read it
    texts = [TEXT + column.name for column in kind.columns]
    rows = rows.with_columns([n.blank_to_null(pl.col(f"in_{column.name}")).alias(TEXT + column.name)
                              for column in kind.columns])
    parsed_columns: list[pl.Expr] = []
    problems: list[tuple[str, pl.Expr, pl.Expr]] = []  # (code, failed?, message), in column order

    given = set(rows.columns)
    for column in kind.columns:
        source = f"in_{column.name}"
        text = pl.col(TEXT + column.name)
        # a run of files staged together (``staged_file.stage_run``) carries each file's label on its rows
        label: pl.Expr = (pl.col(LABEL + column.name) if LABEL + column.name in given
                          else pl.lit(message_label(kind, labels, column.name, derive_id)))
        missing = text.is_null()
        if column.required and column.default is None and column.name in absent:
            alias = column.aliases[0]
            problems.append((n.MISSING_FIELD, missing, _on_row(
                f"文件没有{alias}列，也无处取得；请在{absent[column.name]}中给出{alias}")))
        elif column.required and column.default is None:
            problems.append((n.MISSING_FIELD, missing, _on_row("{}为空，请填写{}", label, label)))
        parsed, failure = _parse(column, text, rows, region_lookup, has_column=source not in missing_sources)
        parsed_columns.extend(parsed if isinstance(parsed, list) else [parsed])
        if failure is not None:
            code, failed = failure
            problems.append((code, ~missing & failed,
                             _message(code, label, pl.col(source), k.VALUE_HINTS.get(column.parse))))
        if column.parse == k.NON_NEGATIVE_AMOUNT:
            negative = ~missing & n.is_negative(pl.col(column.name).fill_null(""))
            problems.append((n.NEGATIVE_AMOUNT, negative, _message(n.NEGATIVE_AMOUNT, label, pl.col(source))))
    if NOT_DATA_FLAG in rows.columns:  # a totals, sample or instruction row: counted apart, never a reject
        problems.append((n.NOT_DATA, pl.col(NOT_DATA_FLAG), _on_row("合计行、样例行或填表说明，不是数据，已跳过")))
    problems.append((
        n.MALFORMED_ROW, pl.col("__extra_cells"),
        pl.format("第 {} 行：该行有 {} 个单元格，表头只有 {} 列，请删除多余的单元格", pl.col(ROW_NUMBER),
                  pl.col("__cells"), pl.col(WIDTH) if WIDTH in given else pl.lit(header_width)),
    ))
    if FOREIGN in rows.columns:  # decoded as GBK it would stage mojibake names and entities
        problems.append((n.MALFORMED_ROW, pl.col(FOREIGN), _on_row(
            "该行是 UTF-8 编码，文件其余部分是 GBK 编码，请重新录入该行，或将文件另存为 CSV UTF-8")))
    # The first problem of a row, by REASON_ORDER and then column order, is its reject reason.
    ordered = sorted(range(len(problems)), key=lambda i: (n.REASON_ORDER.index(problems[i][0]), i))
    first = pl.lit(None, pl.Int32)
    for index in reversed(ordered):
        first = pl.when(problems[index][1].fill_null(False)).then(pl.lit(index, pl.Int32)).otherwise(first)
    codes = pl.Series([p[0] for p in problems], dtype=pl.String)
    staged = (
        rows.lazy()
        .with_columns(parsed_columns)
        .with_columns([pl.col("id_number").alias("employee_id")] if derive_id else [])
        .with_columns(first.alias("__problem"))
        .with_columns(pl.col("__problem").replace_strict(list(range(len(codes))), codes, default=None,
                                                         return_dtype=pl.String).alias(REASON_CODE))
        .drop(texts)
        .collect()
    )
    # the cells as given are read by the reasons alone: a staged chunk waiting to be written holds its typed values,
    # not also the text of every cell (which kept the rows of the file read, at a million rows, in memory)
    cells = [column for column in staged.columns if column.startswith("in_")]
    message = pl.lit(None, pl.String)
    for index, (_, _, text) in enumerate(problems):
        message = pl.when(pl.col("__problem") == index).then(text).otherwise(message)
    rejected = staged.filter(pl.col("__problem").is_not_null())
    if rejected.height:
        rejected = rejected.with_columns(message.alias(REASON))
    else:
        rejected = rejected.with_columns(pl.lit(None, pl.String).alias(REASON))
    if not rejected.height:  # the rows are in sheet order already: no copy of their raw text to sort
        return staged.with_columns(pl.lit(None, pl.String).alias(REASON)).drop("__problem", *cells)
    accepted = staged.filter(pl.col("__problem").is_null()).with_columns(pl.lit(None, pl.String).alias(REASON))
    order = [FILE, SHEET, ROW_NUMBER] if FILE in given else [SHEET, ROW_NUMBER]
    return pl.concat([accepted, rejected], how="vertical").sort(order, nulls_last=False).drop("__problem", *cells)


# Values parsed by _by_distinct, per parser (its type, value -> result): months, dates and coded values are the
# same few hundred spellings in every file of an inbox, so a file after the first seldom parses any. Bounded:
# a parser's values are forgotten when they grow past the limit.
_PARSED: dict[str, tuple[pl.DataType, dict[str, object]]] = {}
_PARSED_LIMIT = 200_000
_PARSED_LOCK = threading.Lock()


def _by_distinct(rows: pl.DataFrame, text: pl.Expr, parse, kind: str) -> pl.Expr:
    """Parse each distinct value once and map the results back: months, dates and coded values repeat
    across millions of rows but take only a few hundred spellings. ``kind`` names ``parse`` for the values
    parsed before (``_PARSED``), which are not parsed again."""
    values = rows.select(text.alias("v")).get_column("v").drop_nulls().unique().to_list()
    with _PARSED_LOCK:  # a file staged ahead (``ahead``) may be staged beside one the writer stages
        dtype, known = _PARSED.get(kind) or (None, {})
        new = [value for value in values if value not in known]
        if new or dtype is None:
            if len(known) + len(new) > _PARSED_LIMIT:
                known = {}
            parsed = pl.DataFrame({"v": pl.Series(new, dtype=pl.String)}).select(parse(pl.col("v")).alias("p"))
            known.update(zip(new, parsed.get_column("p").to_list(), strict=True))
            dtype = parsed.schema["p"]
            _PARSED[kind] = (dtype, known)
        results = pl.Series([known[value] for value in values], dtype=dtype)
    return text.replace_strict(pl.Series(values, dtype=pl.String), results, default=None, return_dtype=dtype)


def _unless_plain(rows: pl.DataFrame, text: pl.Expr, plain: str, parse) -> pl.Expr:
    """``parse`` for the values not written plainly (``plain``: a pattern of values ``parse`` returns as they
    are), once per distinct value; the plain ones pass through. Nearly every cell is plain (an 18-digit ID,
    ``8000.00``, a name without spaces), and the dozen regular expressions that clean the others cost more,
    run over every row, than all the rest of staging."""
    values = (rows.select(text.alias("v")).filter(pl.col("v").is_not_null() & ~pl.col("v").str.contains(plain))
              .get_column("v").unique())
    if not values.len():
        return text
    # lazily: the parser's steps share their parts (an amount's cleaned text is read four times), which the
    # eager engine computes again for each use; twice as fast for an amount or an ID number
    parsed = pl.DataFrame({"v": values}).lazy().select(pl.col("v"), parse(pl.col("v")).alias("p")).collect()
    return text.replace(parsed["v"], parsed["p"])


def _parse(column: k.Column, text: pl.Expr, rows: pl.DataFrame, region_lookup: dict[str, str], has_column: bool = True):
    """(expressions for the staged column(s), (error code, failed?) or None). ``has_column``: the file has the column."""
    name, parse = column.name, column.parse
    # A failure reads the staged column, computed before the failures are: the parse itself (a dozen regular
    # expressions for an amount or a date) then runs once, not again inside each failure's test.
    staged = pl.col(name)
    if parse == k.TEXT:
        return text.alias(name), None
    if parse == k.NAME:
        return _unless_plain(rows, text, n.PLAIN_NAME, n.normalise_name).alias(name), None
    if parse == k.ORG_NAME:
        return n.normalise_org_name(text).alias(name), None
    if parse == k.PLACE:
        given = rows.select(text.alias("v"))["v"]
        return [given.alias(name), n.map_provinces(given).alias(name.replace("_region", "_province"))], None
    if parse == k.ID_NUMBER:
        # A 15-digit first-generation number is never plain: each distinct spelling that is not is cleaned and,
        # if 15 digits, converted once; rows then look theirs up (no regular expression runs over every row).
        value = _unless_plain(rows, text, n.PLAIN_ID_NUMBER, n.normalise_id_number)
        return [value.alias(name), text.alias(f"{name}_raw")], None
    if parse == k.MONTH:
        value = _by_distinct(rows, text, n.parse_month, parse)
        return value.alias(name), (n.BAD_MONTH, staged.is_null())
    if parse == k.DATE:
        value = _by_distinct(rows, text, n.parse_date, parse)
        return value.alias(name), (n.BAD_DATE, staged.is_null())
    if parse in (k.AMOUNT, k.NON_NEGATIVE_AMOUNT):
        value = _unless_plain(rows, text, n.PLAIN_AMOUNT, n.parse_amount)
        return value.alias(name), (n.BAD_AMOUNT, staged.is_null())
    if parse == k.COUNT:
        value = n.parse_count(text)
        return value.alias(name), (n.BAD_AMOUNT, staged.is_null())
    if parse == k.DAYS:
        value = n.parse_days(text)
        return value.alias(name), (n.BAD_AMOUNT, staged.is_null())
    if parse == k.YES_NO:
        key = text.str.strip_chars().str.to_lowercase()
        value = key.replace_strict(k.YES_NO_VALUES, default=None, return_dtype=pl.Boolean)
        return value.alias(name), (n.UNKNOWN_VALUE, staged.is_null())
    if parse in (k.INSURANCE_TYPE, k.STATUS, k.STAGE):
        value = _by_distinct(rows, text, lambda v: n.map_values(v, k.VALUE_LISTS[parse]), parse)
        if column.default is not None:
            value = pl.when(text.is_null()).then(pl.lit(column.default)).otherwise(value)
            return value.alias(name), (n.UNKNOWN_VALUE, text.is_not_null() & staged.is_null())
        return value.alias(name), (n.UNKNOWN_VALUE, staged.is_null())
    if parse in (k.EMPLOYMENT_TYPE, k.POSITION_CATEGORY):
        value = _by_distinct(rows, text, lambda v: n.map_values(v, k.VALUE_LISTS[parse]), parse)
        if parse == k.EMPLOYMENT_TYPE and has_column:  # SPEC §3: a blank 用工形式 is full-time; no column, no say
            value = pl.when(text.is_null()).then(pl.lit("full_time")).otherwise(value)
        return value.alias(name), (n.UNKNOWN_VALUE, text.is_not_null() & staged.is_null())
    if parse == k.REGION:
        given = rows.select(text.alias("v"))["v"]
        region, known = n.map_regions(given, region_lookup)
        return [region.alias(name), given.alias(f"{name}_raw"), known.alias(f"{name}_known")], None
    raise ValueError(f"no parser for {parse}")


def message_label(kind: k.Kind, labels: dict[str, str], name: str, derive_id: bool) -> str:
    """How a reject's reason names column ``name``: the header text the file used, else its first alias."""
    return (labels.get(name) or (labels.get("id_number") if derive_id and name == "employee_id" else None)
            or next(c.aliases[0] for c in kind.columns if c.name == name))


def _message(code: str, label: pl.Expr, value: pl.Expr, fix: str | None = None) -> pl.Expr:
    fixes = {
        n.BAD_MONTH: "不是月份，请写成 2024-03",
        n.BAD_DATE: "不是日期，请写成 2024-03-05",
        n.BAD_AMOUNT: "不是金额，请写成 10000.00",
        n.NEGATIVE_AMOUNT: "是负数，工资和基数不能小于零",
        n.UNKNOWN_VALUE: "不是可识别的取值，请按填写说明选择",
    }
    shown = value.str.strip_chars().str.slice(0, 40)
    return pl.format("第 {} 行：{}“{}”" + (fix or fixes[code]), pl.col(ROW_NUMBER), label, shown)


def _on_row(sentence: str, *values: pl.Expr) -> pl.Expr:
    """SPEC §2: a reject's reason is a Chinese sentence naming its row (``第 12 行：…``); ``values`` fill the
    sentence's ``{}``."""
    return pl.format("第 {} 行：" + sentence, pl.col(ROW_NUMBER), *values)


def mark_duplicates(rows: pl.DataFrame) -> pl.DataFrame:
    """An exact copy of an earlier row of the same file is rejected as DUPLICATE_ROW (it wins).

    Whether a row is a copy is decided over the whole file (``DUPLICATE``) before rows are chunked;
    without that column, within ``rows``.
    """
    duplicate = pl.col(DUPLICATE) if DUPLICATE in rows.columns else copy_of_an_earlier_row()
    duplicate = duplicate & (pl.col(REASON_CODE).fill_null("") != n.NOT_DATA)  # a second totals row is not data either
    return rows.with_columns(
        pl.when(duplicate).then(pl.lit(n.DUPLICATE_ROW)).otherwise(pl.col(REASON_CODE)).alias(REASON_CODE),
        pl.when(duplicate)
        .then(_on_row("与本文件前面的一行完全相同，请删除重复的行"))
        .otherwise(pl.col(REASON))
        .alias(REASON),
    )
