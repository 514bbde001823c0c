"""From a grid of text to staged rows and rejects, for one kind: SPEC §2, set-based.

``find_header`` locates the header row; ``stage_rows`` parses every column of a kind at once and gives
each row either its staged values or the first reason it cannot be staged.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms import kinds as k
from transforms import normalise as n
from transforms.readers import CELLS, FOREIGN, MAX_HEADER_SEARCH

ROW_NUMBER, SHEET, RAW, REASON_CODE, REASON = "row_number", "sheet", "raw", "reason_code", "reason"
DUPLICATE = "__duplicate"  # set by the caller: the row is an exact copy of an earlier row of the file


@dataclass
class HeaderMatch:
    kind: k.Kind
    positions: dict[str, int]  # canonical column -> grid column index
    row_index: int  # 0-based row of the header in the grid
    labels: list[str]  # header cell texts, de-duplicated, for raw JSON keys and messages
    width: int  # cells in the header row


def find_header(grid: pl.DataFrame) -> HeaderMatch | None:
    """The first of the top rows (after up to 5 title rows) whose cells name a kind's columns."""
    cell_columns = [c for c in grid.columns if c not in (CELLS, FOREIGN)]
    for row_index, row in enumerate(grid.head(MAX_HEADER_SEARCH).select(cell_columns).iter_rows()):
        match = k.match_header(list(row))
        if match is None:
            continue
        kind, positions = match
        width = len(row)
        while width and (row[width - 1] is None or str(row[width - 1]).strip() == ""):
            width -= 1
        return HeaderMatch(kind, positions, row_index, _labels(row[:width]), width)
    return None


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
    return max(grid.height - header.row_index - 1, 0)


def _body(grid: pl.DataFrame, header: HeaderMatch, start: int, length: int | None) -> pl.DataFrame:
    body = grid.slice(header.row_index + 1 + start, length).with_row_index(ROW_NUMBER, offset=1 + start)
    body = body.with_columns(pl.col(ROW_NUMBER).cast(pl.Int32))
    all_cells = [c for c in grid.columns if c not in (CELLS, FOREIGN)]
    if all_cells:
        blank = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in all_cells])
        body = body.filter(~blank)
    return body


def _cells(grid: pl.DataFrame, header: HeaderMatch) -> list[str]:
    return [f"c{i}" for i in range(header.width) if f"c{i}" in grid.columns]


def _raw(cell_columns: list[str], header: HeaderMatch) -> pl.Expr:
    """The row's cells under the header's labels: its raw JSON, and what makes two rows exact copies."""
    return pl.struct([pl.col(c).alias(label) for c, label in zip(cell_columns, header.labels, strict=False)])


def data_rows(grid: pl.DataFrame, header: HeaderMatch, sheet: str | None, start: int = 0,
              length: int | None = None) -> pl.DataFrame:
    """The rows under the header: numbered 1.. as in the sheet, blank rows left out, raw JSON kept.

    ``start``/``length``: only those rows under the header (a chunk of a large sheet; numbers unchanged)."""
    cell_columns = _cells(grid, header)
    body = _body(grid, header, start, length)
    if not cell_columns:
        return body.select(ROW_NUMBER).with_columns(pl.lit(sheet, pl.String).alias(SHEET), pl.lit("{}").alias(RAW))
    extra = (pl.col(CELLS) > header.width) if CELLS in body.columns else pl.lit(False)
    return body.select(
        pl.col(ROW_NUMBER),
        pl.lit(sheet, pl.String).alias(SHEET),
        _raw(cell_columns, header).struct.json_encode().alias(RAW),
        extra.fill_null(False).alias("__extra_cells"),
        (pl.col(CELLS) if CELLS in body.columns else pl.lit(None, pl.Int32)).alias("__cells"),
        (pl.col(FOREIGN) if FOREIGN in body.columns else pl.lit(False)).alias(FOREIGN),
        *[
            (pl.col(f"c{index}") if f"c{index}" in body.columns else pl.lit(None, pl.String)).alias(f"in_{name}")
            for name, index in header.positions.items()
        ],
    )


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
    candidates = pl.concat(texts).filter(~pl.col(RAW).is_first_distinct())
    return none.scatter(candidates["at"], True)


def stage_rows(rows: pl.DataFrame, kind: k.Kind, labels: dict[str, str], header_width: int,
               region_lookup: dict[str, str]) -> pl.DataFrame:
    """Parse every column of ``kind``; add ``reason_code``/``reason`` (null when the row stages).

    ``labels`` maps canonical column -> the header text the file used, for messages HR can act on.
    Messages are built only for the rejected rows: formatting text for every row would cost more than
    all the parsing.
    """
    missing_sources = [f"in_{c.name}" for c in kind.columns if f"in_{c.name}" not in rows.columns]
    rows = rows.with_columns([pl.lit(None, pl.String).alias(s) for s in missing_sources])
    parsed_columns: list[pl.Expr] = []
    problems: list[tuple[str, pl.Expr, pl.Expr]] = []  # (code, failed?, message), in column order

    for column in kind.columns:
        source = f"in_{column.name}"
        text = n.blank_to_null(pl.col(source))
        label = labels.get(column.name, column.name)
        missing = text.is_null()
        if column.required and column.default is None:
            problems.append((n.MISSING_FIELD, missing, _on_row(f"{label}为空，请填写{label}")))
        parsed, failure = _parse(column, text, rows, region_lookup, has_column=source not in missing_sources)
        parsed_columns.extend(parsed if isinstance(parsed, list) else [parsed])
        if failure is not None:
            code, failed = failure
            problems.append((code, ~missing & failed,
                             _message(code, label, pl.col(source), k.VALUE_HINTS.get(column.parse))))
        if column.parse == k.NON_NEGATIVE_AMOUNT:
            negative = ~missing & n.is_negative(pl.col(column.name).fill_null(""))
            problems.append((n.NEGATIVE_AMOUNT, negative, _message(n.NEGATIVE_AMOUNT, label, pl.col(source))))
    problems.append((
        n.MALFORMED_ROW, pl.col("__extra_cells"),
        pl.format(f"第 {{}} 行：该行有 {{}} 个单元格，表头只有 {header_width} 列，请删除多余的单元格",
                  pl.col(ROW_NUMBER), pl.col("__cells")),
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
        .with_columns(first.alias("__problem"))
        .with_columns(pl.col("__problem").replace_strict(list(range(len(codes))), codes, default=None,
                                                         return_dtype=pl.String).alias(REASON_CODE))
        .collect()
    )
    message = pl.lit(None, pl.String)
    for index, (_, _, text) in enumerate(problems):
        message = pl.when(pl.col("__problem") == index).then(text).otherwise(message)
    rejected = staged.filter(pl.col("__problem").is_not_null())
    if rejected.height:
        rejected = rejected.with_columns(message.alias(REASON))
    else:
        rejected = rejected.with_columns(pl.lit(None, pl.String).alias(REASON))
    accepted = staged.filter(pl.col("__problem").is_null()).with_columns(pl.lit(None, pl.String).alias(REASON))
    return pl.concat([accepted, rejected], how="vertical").sort(SHEET, ROW_NUMBER, nulls_last=False).drop("__problem")


def _by_distinct(rows: pl.DataFrame, text: pl.Expr, parse) -> pl.Expr:
    """Parse each distinct value once and map the results back: months, dates and coded values repeat
    across millions of rows but take only a few hundred spellings."""
    values = rows.select(text.alias("v")).get_column("v")
    distinct = values.drop_nulls().unique()
    parsed = pl.DataFrame({"v": distinct}).select(pl.col("v"), parse(pl.col("v")).alias("p"))
    return text.replace_strict(parsed["v"], parsed["p"], default=None, return_dtype=parsed.schema["p"])


def _parse(column: k.Column, text: pl.Expr, rows: pl.DataFrame, region_lookup: dict[str, str], has_column: bool = True):
    """(expressions for the staged column(s), (error code, failed?) or None). ``has_column``: the file has the column."""
    name, parse = column.name, column.parse
    if parse == k.TEXT:
        return text.alias(name), None
    if parse == k.NAME:
        return n.normalise_name(text).alias(name), None
    if parse == k.ORG_NAME:
        return n.normalise_org_name(text).alias(name), None
    if parse == k.PLACE:
        given = rows.select(text.alias("v"))["v"]
        return [given.alias(name), n.map_provinces(given).alias(name.replace("_region", "_province"))], None
    if parse == k.ID_NUMBER:
        cleaned = n.clean_id_number(text)
        # 15-digit numbers are rare: convert the distinct ones, then look them up.
        short = rows.select(cleaned.alias("v")).filter(pl.col("v").str.contains(r"^\d{15}$")).unique()
        long = short.select(n.id15_to_18(pl.col("v")).alias("p"))
        value = cleaned.replace(short["v"], long["p"]) if short.height else cleaned
        return [value.alias(name), text.alias(f"{name}_raw")], None
    if parse == k.MONTH:
        value = _by_distinct(rows, text, n.parse_month)
        return value.alias(name), (n.BAD_MONTH, value.is_null())
    if parse == k.DATE:
        value = _by_distinct(rows, text, n.parse_date)
        return value.alias(name), (n.BAD_DATE, value.is_null())
    if parse in (k.AMOUNT, k.NON_NEGATIVE_AMOUNT):
        value = n.parse_amount(text)
        return value.alias(name), (n.BAD_AMOUNT, value.is_null())
    if parse == k.COUNT:
        value = n.parse_count(text)
        return value.alias(name), (n.BAD_AMOUNT, value.is_null())
    if parse == k.DAYS:
        value = n.parse_days(text)
        return value.alias(name), (n.BAD_AMOUNT, value.is_null())
    if parse == k.YES_NO:
        key = text.str.strip_chars().str.to_lowercase()
        value = key.replace_strict(k.YES_NO_VALUES, default=None, return_dtype=pl.Boolean)
        return value.alias(name), (n.UNKNOWN_VALUE, value.is_null())
    if parse in (k.INSURANCE_TYPE, k.STATUS, k.STAGE):
        value = _by_distinct(rows, text, lambda v: n.map_values(v, k.VALUE_LISTS[parse]))
        if column.default is not None:
            value = pl.when(text.is_null()).then(pl.lit(column.default)).otherwise(value)
            return value.alias(name), (n.UNKNOWN_VALUE, text.is_not_null() & value.is_null())
        return value.alias(name), (n.UNKNOWN_VALUE, value.is_null())
    if parse in (k.EMPLOYMENT_TYPE, k.POSITION_CATEGORY):
        value = _by_distinct(rows, text, lambda v: n.map_values(v, k.VALUE_LISTS[parse]))
        if parse == k.EMPLOYMENT_TYPE and has_column:  # SPEC §3: a blank 用工形式 is full-time; no column, no say
            value = pl.when(text.is_null()).then(pl.lit("full_time")).otherwise(value)
        return value.alias(name), (n.UNKNOWN_VALUE, text.is_not_null() & value.is_null())
    if parse == k.REGION:
        given = rows.select(text.alias("v"))["v"]
        region, known = n.map_regions(given, region_lookup)
        return [region.alias(name), given.alias(f"{name}_raw"), known.alias(f"{name}_known")], None
    raise ValueError(f"no parser for {parse}")


def _message(code: str, label: str, value: pl.Expr, fix: str | None = None) -> pl.Expr:
    fixes = {
        n.BAD_MONTH: "不是月份，请写成 2024-03",
        n.BAD_DATE: "不是日期，请写成 2024-03-05",
        n.BAD_AMOUNT: "不是金额，请写成 10000.00",
        n.NEGATIVE_AMOUNT: "是负数，工资和基数不能小于零",
        n.UNKNOWN_VALUE: "不是可识别的取值，请按填写说明选择",
    }
    shown = value.str.strip_chars().str.slice(0, 40)
    return pl.format(f"第 {{}} 行：{label}“{{}}”{fix or fixes[code]}", pl.col(ROW_NUMBER), shown)


def _on_row(sentence: str) -> pl.Expr:
    """SPEC §2: a reject's reason is a Chinese sentence naming its row (``第 12 行：…``)."""
    return pl.format(f"第 {{}} 行：{sentence}", pl.col(ROW_NUMBER))


def mark_duplicates(rows: pl.DataFrame) -> pl.DataFrame:
    """An exact copy of an earlier row of the same file is rejected as DUPLICATE_ROW (it wins).

    Whether a row is a copy is decided over the whole file (``DUPLICATE``) before rows are chunked;
    without that column, within ``rows``.
    """
    duplicate = pl.col(DUPLICATE) if DUPLICATE in rows.columns else ~pl.col(RAW).is_first_distinct()
    return rows.with_columns(
        pl.when(duplicate).then(pl.lit(n.DUPLICATE_ROW)).otherwise(pl.col(REASON_CODE)).alias(REASON_CODE),
        pl.when(duplicate)
        .then(_on_row("与本文件前面的一行完全相同，请删除重复的行"))
        .otherwise(pl.col(REASON))
        .alias(REASON),
    )
