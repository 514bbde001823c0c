"""A file's rows staged, apart from the warehouse: its sheets grouped by kind under their headers, their rows in
chunks, each chunk staged (typed or given its reject reason), its exact copies marked and held to the pandera
contract. Nothing here reads or writes the warehouse: ``inbox`` writes what it yields. So a file can be read
and staged on the second core while the file before it is written (``ahead.StagedAhead``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from transforms.ingest import kinds as k
from transforms.ingest.contracts import CONTRACT_VIOLATION, contract_failures
from transforms.ingest.readers import CsvStream, FileContent, Sheet, UnreadableFile, read_extract
from transforms.ingest.staging import (
    DUPLICATE,
    FILE,
    LABEL,
    RAW,
    REASON,
    REASON_CODE,
    WIDTH,
    HeaderMatch,
    ProfileMismatch,
    body_height,
    copied_rows,
    copies_in,
    copy_of_an_earlier_row,
    daily_to_monthly,
    data_rows,
    find_header,
    mark_duplicates,
    message_label,
    row_keys,
    stage_rows,
)


def group_sheets(content: FileContent, source: str = "", lookup: dict[str, str] | None = None,
                  profile=None) -> tuple[dict[str, list], list[str]]:
    """Per kind, the sheets whose header identifies it, each header completed with what the file lacks
    (SPEC §2 v3 context: the profile's constants, title rows, the file name, the folders); and the names of
    sheets with no header."""
    from transforms.ingest.context import column_context, gather, where_from

    groups: dict[str, list] = {}
    unrecognised: list[str] = []
    for sheet in content.sheets:
        header = find_header(sheet.grid, profile)
        if header is None:
            if sheet.grid.height and sheet.name is not None:
                unrecognised.append(sheet.name)
            continue
        kind = header.kind
        given = {column: (value, "profile") for column, value in (profile.constants if profile else {}).items()
                 if any(c.name == column for c in kind.columns)}
        context = column_context(kind.name, gather(source, header.titles, lookup or {}))
        header.constants = {column: found for column, found in (context | given).items()
                            if column not in header.positions and column not in header.sums}
        filled = set(header.positions) | set(header.sums) | set(header.constants)
        derived = {"employee_id"} if "id_number" in filled else set()
        if header.day_column is not None:  # daily attendance: the month from its days; no hire dates needed
            derived |= {"period"} | k.DAILY_OPTIONAL
        header.absent = {c.name: where_from(kind.name, c.name) for c in kind.required
                         if c.name not in filled | derived and c.default is None}
        groups.setdefault(kind.name, []).append((sheet, header))
    return groups, unrecognised


def rows_in(groups: dict[str, list]) -> int:
    """The rows of a file's recognised sheets, header and title rows included: past ``chunk_rows`` a file is
    large, its chunks committed one by one."""
    return sum(sheet.grid.height for sheets in groups.values() for sheet, _ in sheets)


@dataclass(frozen=True)
class StagedFile:
    """A small extract read and staged whole, before the warehouse has been asked anything but whether its bytes
    were loaded before: what ``inbox`` would otherwise compute for it, its rows ready to write."""

    sha: str
    content: FileContent
    groups: dict[str, list]  # kind -> [(sheet, header)], as ``group_sheets`` gives
    unrecognised: list[str]
    staged: dict[str, list[tuple[HeaderMatch, pl.DataFrame]]]  # kind -> its chunks, as ``staged_chunks`` yields


def stage_file(path: Path, source: str, lookup: dict[str, str], profile, size: int,
               handed_back: Sequence[Callable[[FileContent], bool]],
               loaded_before: Callable[[str], bool], rows_only: bool = False) -> StagedFile | None:
    """``path`` read and staged whole, if it is a plain extract of at most ``size`` rows whose bytes were not
    loaded before (``loaded_before(sha)``). Anything else is None: a file loaded before, empty, unreadable, a
    workbook HR hand back (``handed_back``), one whose profile does not fit, with no header, or large. ``inbox``
    then reads it and decides as it does for any file, and says what is wrong with it."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if loaded_before(sha) or not data or data.isspace():
        return None
    try:
        content = read_extract(path, data)
    except UnreadableFile:
        return None
    del data
    if any(recognises(content) for recognises in handed_back):
        return None
    try:
        groups, unrecognised = group_sheets(content, source, lookup, profile)
    except ProfileMismatch:
        return None
    if not groups or rows_in(groups) > size:
        return None
    if rows_only:  # ``stage_run`` stages the rows: each chunk's rows under its header, not staged yet
        return StagedFile(sha, content, groups, unrecognised,
                          {kind: list(chunks(sheets, size)) for kind, sheets in groups.items()})
    staged = {kind: list(staged_chunks(kind, sheets, lookup, size)) for kind, sheets in groups.items()}
    return StagedFile(sha, content, groups, unrecognised, staged)


def stage_run(files: Sequence[tuple[Path, str, object]], lookup: dict[str, str], size: int,
              handed_back: Sequence[Callable[[FileContent], bool]],
              loaded_before: Callable[[str, str], bool]) -> dict[Path, StagedFile | None]:
    """``stage_file`` of each of ``files`` ((path, source, profile), small ones), its rows staged together with
    the other files' of the same kind and columns (issue 28): polars costs some milliseconds a query whatever
    its rows, and a file alone took some 60 queries. Each file's staged rows are exactly those it stages alone:
    every parse is per value, exact copies were marked within the file, and the reject reasons name the file's
    own labels and rows. ``loaded_before(source, sha)`` as for ``stage_file``."""
    staged: dict[Path, StagedFile | None] = {}
    done: set[Path] = set()  # files whose rows are staged (the others hold rows read, not staged yet)
    together: dict[tuple, list[tuple[Path, StagedFile, HeaderMatch, pl.DataFrame]]] = {}
    for path, source, profile in files:
        read = stage_file(path, source, lookup, profile, size, handed_back, partial(loaded_before, source),
                          rows_only=True)
        staged[path] = read
        if read is None or len(read.groups) != 1:
            continue
        kind_name, sheets = next(iter(read.groups.items()))
        header = sheets[0][1]
        rows = read.staged[kind_name]
        if len(sheets) != 1 or len(rows) != 1 or header.day_column is not None:
            continue
        frame = rows[0][1]
        key = (kind_name, tuple(frame.schema.items()), tuple(sorted(header.absent.items())))
        together.setdefault(key, []).append((path, read, header, frame))
    for (kind_name, _, _), members in together.items():
        if len(members) == 1:
            path, read, header, frame = members[0]
            staged[path] = _staged(read, kind_name, [(header, _stage_chunk(kind_name, header, frame, lookup))])
            done.add(path)
            continue
        kind = k.KINDS[kind_name]
        derive_id = "in_employee_id" not in members[0][3].columns and "in_id_number" in members[0][3].columns
        frames = [frame.with_columns(
            pl.lit(number, pl.Int32).alias(FILE), pl.lit(header.width, pl.Int64).alias(WIDTH),
            *[pl.lit(message_label(kind, _labels(header), column.name, derive_id), pl.String).alias(LABEL + column.name)
              for column in kind.columns])
            for number, (_, _, header, frame) in enumerate(members)]
        first = members[0][2]
        whole = _stage_chunk(kind_name, first, pl.concat(frames, how="vertical"), lookup)
        helpers = [FILE, WIDTH, *[LABEL + column.name for column in kind.columns]]
        parts = whole.partition_by(FILE, maintain_order=True, include_key=True, as_dict=True)
        for number, (path, read, header, _) in enumerate(members):
            staged[path] = _staged(read, kind_name, [(header, parts[(number,)].drop(helpers))])
            done.add(path)
    # a file not staged with others (several kinds or sheets, a daily export) is staged alone, as ever
    for path, read in staged.items():
        if read is not None and path not in done:
            staged[path] = _staged_alone(read, lookup, size)
    return staged


def _labels(header: HeaderMatch) -> dict[str, str]:
    return {name: header.labels[index] for name, index in header.positions.items() if index < len(header.labels)}


def _stage_chunk(kind_name: str, header: HeaderMatch, rows: pl.DataFrame, lookup: dict[str, str]) -> pl.DataFrame:
    """One chunk's rows (``chunks``) staged: typed or given its reject reason, copies marked, held to the contract."""
    kind = k.KINDS[kind_name]
    daily = header.day_column is not None
    if daily:
        rows = daily_to_monthly(rows, header)
    chunk = stage_rows(rows, k.daily(kind) if daily else kind, _labels(header), header.width, lookup, header.absent)
    return hold_to_contract(kind_name, mark_duplicates(chunk))


def _staged(read: StagedFile, kind_name: str, chunks: list[tuple[HeaderMatch, pl.DataFrame]]) -> StagedFile:
    return StagedFile(read.sha, read.content, read.groups, read.unrecognised, {kind_name: chunks})


def _staged_alone(read: StagedFile, lookup: dict[str, str], size: int) -> StagedFile:
    return StagedFile(read.sha, read.content, read.groups, read.unrecognised,
                      {kind: list(staged_chunks(kind, sheets, lookup, size)) for kind, sheets in read.groups.items()})


def staged_chunks(kind_name: str, sheets: list, lookup: dict[str, str], size: int
                  ) -> Iterator[tuple[HeaderMatch, pl.DataFrame]]:
    """One kind's rows of a file, ``size`` at a time, staged: each chunk as ``inbox`` writes it (staged rows
    and rejects, copies marked, held to the contract), with the header it came under."""
    for header, rows in chunks(sheets, size):
        yield header, _stage_chunk(kind_name, header, rows, lookup)


def chunks(sheets: list, size: int) -> Iterator[tuple[HeaderMatch, pl.DataFrame]]:
    """(header, its sheet's next chunk's rows, ``data_rows`` with ``DUPLICATE``), in file order. An exact copy
    of an earlier row anywhere in the file is decided over the whole file, before chunking."""
    if sheets and sheets[0][0].stream is not None:  # a large CSV (one sheet), read a piece at a time
        yield from streamed_chunks(sheets[0][0], sheets[0][1], size)
        return
    parts: Iterable[tuple[HeaderMatch, pl.DataFrame]]
    if all(body_height(sheet.grid, header) <= size for sheet, header in sheets):
        # a sheet each chunk (a small file): its rows are built once, and the copies found in their raw JSON
        parts = [(header, rows) for sheet, header in sheets
                 if (rows := data_rows(sheet.grid, header, sheet.name)).height]  # blank rows only: no chunk
        copies = (pl.concat([rows.select(RAW) for _, rows in parts]).select(copy_of_an_earlier_row()).to_series()
                  if parts else pl.Series([], dtype=pl.Boolean))
    else:
        # each chunk's rows are built from its sheet when it is staged, so a large file's rows never exist whole;
        # its copies are decided first, without holding its raw text whole
        parts = _built_chunks(sheets, size)
        copies = copied_rows([(sheet.grid, header) for sheet, header in sheets], size)
    offset = 0
    for header, rows in parts:
        yield header, rows.with_columns(copies.slice(offset, rows.height).alias(DUPLICATE))
        offset += rows.height


def _built_chunks(sheets: list, size: int) -> Iterator[tuple[HeaderMatch, pl.DataFrame]]:
    """(header, a chunk's rows, ``data_rows``) of each sheet in turn, chunks with rows only."""
    for sheet, header in sheets:
        # a daily export is one chunk: a person's days are counted together into their month
        step = max(body_height(sheet.grid, header), 1) if header.day_column is not None else size
        for start in range(0, body_height(sheet.grid, header), step):
            rows = data_rows(sheet.grid, header, sheet.name, start, step)
            if rows.height:  # else blank rows only
                yield header, rows


def _body_pieces(stream: CsvStream, header: HeaderMatch, cell_counts: bool = True) -> Iterator[tuple[pl.DataFrame, int]]:
    """Each piece's rows under the header, and the body row (0-based) the first of them is."""
    before = header.data_start  # rows of the next piece that are above the body
    body = 0
    for grid in stream.grids(cell_counts):
        part = grid.slice(min(before, grid.height))
        before = max(before - grid.height, 0)
        if part.height:
            yield part, body
            body += part.height


def streamed_chunks(sheet: Sheet, header: HeaderMatch, size: int) -> Iterator[tuple[HeaderMatch, pl.DataFrame]]:
    """``chunks`` of a file read a piece at a time, in two passes over it: the hash of every row's cells first
    (exact copies are decided over the whole file, as ``copied_rows`` does), then the chunks, each the same
    rows as the whole file's chunk there. Nothing is written before the first pass has read the whole file, so
    a NotStreamable it raises leaves nothing behind."""
    assert sheet.stream is not None
    keys = [row_keys(part, header, body) for part, body in _body_pieces(sheet.stream, header, cell_counts=False)]
    maybe = pl.concat(keys).is_duplicated() if keys else pl.Series([], dtype=pl.Boolean)
    del keys
    seen = pl.Series(RAW, [], dtype=pl.String)
    held: list[pl.DataFrame] = []
    start = offset = 0  # the body row held[0] starts at; data rows staged so far

    def chunk(grid: pl.DataFrame, at: int) -> pl.DataFrame:
        nonlocal seen, offset
        rows = data_rows(grid, header, sheet.name, body_row=at)
        copies, seen = copies_in(rows, maybe.slice(offset, rows.height), seen)
        offset += rows.height
        return rows.with_columns(copies)

    for part, _ in _body_pieces(sheet.stream, header):
        held.append(part)
        while sum(frame.height for frame in held) >= size:
            whole = pl.concat(held, how="vertical")
            rows = chunk(whole.slice(0, size), start)
            held, start = [whole.slice(size)], start + size
            if rows.height:  # blank rows only
                yield header, rows
    if held:
        rows = chunk(pl.concat(held, how="vertical"), start)
        if rows.height:
            yield header, rows


def hold_to_contract(kind_name: str, rows: pl.DataFrame) -> pl.DataFrame:
    """Rows the normaliser passed but the pandera contract refuses are rejected, never staged or lost."""
    staged_index = rows.with_row_index("__i").filter(pl.col(REASON_CODE).is_null())
    broken = contract_failures(kind_name, staged_index)
    if not broken.len():
        return rows
    bad_rows = staged_index[broken]["__i"].implode()
    return rows.with_row_index("__i").with_columns(
        pl.when(pl.col("__i").is_in(bad_rows)).then(pl.lit(CONTRACT_VIOLATION))
        .otherwise(pl.col(REASON_CODE)).alias(REASON_CODE),
        pl.when(pl.col("__i").is_in(bad_rows))
        .then(pl.lit("the row broke the staging contract after normalisation; report it to the data team"))
        .otherwise(pl.col(REASON)).alias(REASON),
    ).drop("__i")
