"""Ingest an inbox: every file recognised by its header, landed raw, staged typed or rejected.

For every load, rows read = rows staged + rows rejected + rows not data (a CHECK in the table holds us to it). All
writes of one file happen in one transaction, so a failure leaves nothing half-loaded. Consecutive small files
share one transaction (``_Batch``): a commit costs a write of the log to disk, which on a busy disk took longer
than staging the file; a write that fails rolls the batch back and each of its files is loaded again alone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from transforms.common.faults import checkpoint
from transforms.ingest import kinds as k
from transforms.ingest.ahead import (
    AHEAD_BYTES,
    PENDING_BYTES,
    RUN_BYTES,
    RUN_FILES,
    StagedAhead,
    file_size,
    one_ahead,
)
from transforms.ingest.normalise import NOT_DATA
from transforms.ingest.readers import (
    MAX_HEADER_SEARCH,
    FileContent,
    NotStreamable,
    UnreadableFile,
    file_sha256,
    max_cells,
    read_extract,
    stream_bytes,
    stream_extract,
)
from transforms.ingest.staged_file import (
    StagedFile,
    group_sheets,
    rows_in,
    stage_file,
    stage_run,
    staged_chunks,
)
from transforms.ingest.staging import (
    RAW,
    REASON,
    REASON_CODE,
    ROW_NUMBER,
    SHEET,
    HeaderMatch,
    ProfileMismatch,
)
from warehouse.db import scalar, transaction
from warehouse.errors import InputError, storage_error
from warehouse.reference import refresh_cities, refresh_regions, region_lookup
from warehouse.settings import whole_number_setting
from warehouse.sql import sql_text

Progress = Callable[[int, int, dict], None]
# Rows staged and written at a time: memory stays flat however large a file is. Staging a chunk costs
# about 2.5 KB a row at its peak (an 11-column insurance row), so 100,000 rows is about 250 MB; 200,000
# put the first month of a 200,000-employee backfill 250 MB higher for no measurable speed.
CHUNK_ROWS = 100_000
CHUNK_ROWS_ENV = "SHEBAO_INGEST_CHUNK_ROWS"  # a smaller chunk trades speed for memory


def chunk_rows() -> int:
    return whole_number_setting(CHUNK_ROWS_ENV, CHUNK_ROWS, "rows")


FOLLOW_LINKS_ENV = "SHEBAO_INBOX_FOLLOW_LINKS"  # 1: read links that point outside the inbox too


def follow_outside_links() -> bool:
    text = (os.environ.get(FOLLOW_LINKS_ENV) or "0").strip().lower()
    if text not in ("0", "1", "true", "false", "yes", "no"):
        raise InputError(f"{FOLLOW_LINKS_ENV} is {text!r}; set it to 1 to read links pointing outside the inbox, else 0.")
    return text in ("1", "true", "yes")


def inbox_files(inbox: Path) -> list[Path]:
    """The extract files of ``inbox`` and its subfolders (entries it will not read: ``inbox_entries``)."""
    return inbox_entries(inbox)[0]


def inbox_entries(inbox: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(files to read, [(entry, why it is not read)]) of the inbox and its subfolders (SPEC §2: a team files
    extracts in month / entity / region folders), each in name order. Not read: pipes and devices (reading a
    pipe would block the run), hidden files and folders, Excel's ``~$`` lock files, broken links, links to
    files outside the inbox (someone else's folder) unless ``SHEBAO_INBOX_FOLLOW_LINKS`` allows, links to
    folders, and the import profile (``shebao-import.toml``) at the inbox's root."""
    if not inbox.exists():
        raise InputError(f"The inbox {inbox} does not exist; pass --inbox with the folder of extract files.")
    if not inbox.is_dir():
        raise InputError(f"The inbox {inbox} is a file, not a folder; pass --inbox with the folder of extract files.")
    from transforms.ingest.context import PROFILE_FILE

    outside_ok, home = follow_outside_links(), inbox.resolve()
    files: list[Path] = []
    refused: list[tuple[Path, str]] = []
    pending = [inbox]
    while pending:
        folder = pending.pop()
        for entry in sorted(folder.iterdir()):
            reason = None
            if folder == inbox and entry.name == PROFILE_FILE and entry.is_file():
                continue  # the inbox's import profile (导入方案), read by ingest_inbox
            if entry.name.startswith("~$"):
                reason = "an Excel lock file (the workbook is open somewhere), not an extract"
            elif entry.name.startswith("."):
                reason = "a hidden file, not an extract; rename it without the leading dot to load it"
            elif entry.is_symlink() and not entry.exists():
                reason = "a link to nothing; link to the extract file or copy it into the inbox"
            elif entry.is_symlink() and entry.is_dir():
                reason = "a link to a folder, not followed; copy the folder into the inbox"
            elif entry.is_symlink() and not outside_ok and not entry.resolve().is_relative_to(home):
                reason = (f"a link to a file outside the inbox, not followed; copy the file into the inbox "
                          f"(or set {FOLLOW_LINKS_ENV}=1)")
            elif entry.is_dir():
                pending.append(entry)
                continue
            elif not entry.is_file():
                reason = "not a regular file (a pipe, socket or device); put the extract file itself in the inbox"
            if reason is None:
                files.append(entry)
            else:
                refused.append((entry, reason))
    files.sort(key=lambda path: path.relative_to(inbox).as_posix())
    refused.sort(key=lambda item: item[0].relative_to(inbox).as_posix())
    return files, refused


def source_name(inbox: Path, path: Path) -> str:
    """A file's name as recorded (``ingest.loads.source_file``): its path below the inbox, with ``/``."""
    try:
        return path.relative_to(inbox).as_posix()
    except ValueError:
        return path.name


def file_modified(path: Path) -> datetime | None:
    """The file's own modification time (local time, like ``loaded_at``): what orders corrections."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class HandedBack:
    """A file HR hand back through the inbox that is no extract (the filled action workbook, SPEC §6): recognised
    by its sheets and loaded by the stage that owns it. Ingest names none: the flow passes them in, so that
    ingest, below the actions stage, never imports it."""
    recognises: Callable[[FileContent], bool]
    load: Callable[[duckdb.DuckDBPyConnection, Path, str, FileContent, str | None, str], dict]


# Files of a batch, together: past this many bytes read the batch commits (a transaction holds its rows).
BATCH_BYTES = 64 * 2**20


@dataclass
class _Batch:
    """Consecutive files written in one transaction, opened by the first write (``_transaction``) and committed
    when the batch holds ``BATCH_BYTES``, before a file that needs transactions of its own (``_own_transactions``:
    a large file's chunks, a workbook HR hand back) and at the end. If a write fails, the transaction is rolled
    back and the files it held are loaded again, each in its own transactions, as if there were no batch: a
    file that cannot be written is then recorded ``failed`` alone.

    The files' rows are written together, just before the commit (``_Rows``): each statement costs a file some
    milliseconds whatever its rows, and a small file's rows took a dozen of them."""

    con: duckdb.DuckDBPyConnection
    open: bool = False
    held: list[tuple[int, Path, str | None, list[dict]]] = field(default_factory=list)  # written, not committed
    done: list[tuple[int, Path, list[dict]]] = field(default_factory=list)  # committed, not yet reported
    size: int = 0
    rows: _Rows = field(default_factory=lambda: _Rows())  # the held files' rows, written at the commit
    # the load ids given out in the open transaction: the first drawn from the sequence, the last counted since
    first_load_id: int | None = None
    last_load_id: int = 0

    def load(self, index: int, path: Path, reason: str | None, load) -> list[tuple[int, Path, list[dict]]]:
        """Load one file in the batch; returns the files committed since the last call, with their results."""
        token = _BATCH.set(self)
        try:
            results: list[dict] | None = load(path, reason)
        except duckdb.Error:
            results = None  # the transaction is aborted
        finally:
            _BATCH.reset(token)
        if results is None:
            self._again_alone([*self.held, (index, path, reason, [])], load)
        elif self.open:
            self.held.append((index, path, reason, results))
            self.size += file_size(path)
            if self.size >= BATCH_BYTES:
                self.commit(load)
        else:
            self.done.append((index, path, results))
        return self.take()

    def commit(self, load) -> None:
        """Commit what the batch holds; if the commit fails, each of its files again alone."""
        try:
            self.commit_held()
        except duckdb.Error:
            self._again_alone(self.held, load)

    def draw_load_id(self) -> int:
        """The next load id, in the batch's open transaction: the first is drawn from the sequence, the next ones
        are counted here and drawn at the commit in one statement (``_draw_counted``): one a file cost it some
        milliseconds beside the staging threads. The ids are those drawing each alone gives."""
        if self.first_load_id is None:
            self.first_load_id = self.last_load_id = _draw_load_ids(self.con, 1)
        else:
            self.last_load_id += 1
        return self.last_load_id

    def _draw_counted(self) -> None:
        """The sequence drawn past the ids counted (``draw_load_id``), in the transaction that writes their rows: a
        load id must never come round again, nor be given twice."""
        first, last = self.first_load_id, self.last_load_id
        if first is not None and last > first and _draw_load_ids(self.con, last - first) != last:
            raise RuntimeError("Load ids were drawn outside the ingest batch that counted them; run ingest again.")
        self.first_load_id = None

    def commit_held(self) -> None:
        if self.open:
            self._draw_counted()
            self.rows.write(self.con)
            self.con.execute("COMMIT")
            self.open = False
        self.done += [(index, path, results) for index, path, _, results in self.held]
        self.held, self.size = [], 0

    def take(self) -> list[tuple[int, Path, list[dict]]]:
        done, self.done = self.done, []
        return done

    def abandon(self) -> None:
        self.rows, self.first_load_id = _Rows(), None
        if self.open:
            with suppress(duckdb.Error):  # the connection may be gone, and the transaction with it
                self.con.execute("ROLLBACK")
            self.open = False

    def _again_alone(self, files: list[tuple[int, Path, str | None, list[dict]]], load) -> None:
        self.abandon()
        self.held, self.size = [], 0
        self.done += [(index, path, load(path, reason)) for index, path, reason, _ in files]


@dataclass
class _Run:
    """Frames of one table and shape, held file after file for one statement, and each one's load id. A file's
    polars work is kept to none here: each query costs a small file more than its rows (some 0.3 ms)."""

    table: str
    kind: str
    schema: pl.Schema
    frames: list[pl.DataFrame]
    load_ids: list[int]

    def rows(self) -> pl.DataFrame:
        """The frames one under the other, each row with its file's load id (``__load_id``)."""
        rows = pl.concat(self.frames, how="vertical", rechunk=False) if len(self.frames) > 1 else self.frames[0]
        ids = np.repeat(np.array(self.load_ids, dtype=np.int64), [frame.height for frame in self.frames])
        return rows.with_columns(pl.Series(_LOAD_ID, ids, dtype=pl.Int64))


@dataclass
class _Rows:
    """Rows of a batch's files to write before it commits: per table, runs of frames of one shape in file order,
    each run one statement (a table's rows keep the order they would have had written file by file); and the
    loads, drawn one after another in the batch: their ``ingest.loads`` rows, one statement for all, then their
    keys (``record_load_keys``)."""

    runs: list[_Run] = field(default_factory=list)
    loads: list[dict] = field(default_factory=list)  # the loads' rows (``_insert_load``), in load id order
    size: int = 0  # bytes of the frames held, with their load ids

    def add(self, table: str, kind: str, load_id: int, frame: pl.DataFrame) -> None:
        self.size += int(frame.estimated_size()) + 8 * frame.height
        schema = frame.schema
        for run in reversed(self.runs):  # the table's last run, if it has this shape
            if run.table == table:
                if run.kind == kind and run.schema == schema:
                    run.frames.append(frame)
                    run.load_ids.append(load_id)
                    return
                break
        self.runs.append(_Run(table, kind, schema, [frame], [load_id]))

    def write_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """Every table's rows held, in the order they came, in the caller's transaction."""
        for run in self.runs:
            _insert(con, run.table, run.kind, run.rows())
        self.runs, self.size = [], 0

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """The rows held, then the loads' rows and keys, in the caller's transaction (the batch's commit)."""
        self.write_rows(con)
        if self.loads:
            _insert_load_rows(con, self.loads)
            record_load_keys(con, self.loads[0]["load_id"], self.loads[-1]["load_id"])
        self.loads = []

    def loaded(self, source: str, sha: str) -> tuple[bool, str | None]:
        """``loaded_before`` of the loads held (all ``loaded``): whether ``source`` with these bytes is one, and
        the first of them with these bytes."""
        same = [load["source_file"] for load in self.loads if load["sha256"] == sha]
        return source in same, (same[0] if same else None)


_BATCH: ContextVar[_Batch | None] = ContextVar("ingest_batch", default=None)


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The ingest's writes: inside a batch, in the batch's transaction (opened here if need be); else each
    block its own transaction (``warehouse.db.transaction``)."""
    batch = _BATCH.get()
    if batch is None:
        with transaction(con):
            yield con
        return
    if not batch.open:
        con.execute("BEGIN TRANSACTION")
        batch.open = True
    yield con


def _own_transactions(con: duckdb.DuckDBPyConnection) -> None:
    """The file about to be written needs transactions of its own: commit the batch's first (a failed commit
    raises, and the batch loads its files again alone), and write this file outside it."""
    batch = _BATCH.get()
    if batch is None:
        return
    batch.commit_held()
    _BATCH.set(None)


def ingest_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, run_id: str | None = None,
                 progress: Progress | None = None, profiles_file: Path | None = None,
                 returned: Sequence[HandedBack] = ()) -> list[dict]:
    """Load every new file of ``inbox`` (and its subfolders); return one summary per load (no personal data).
    Entries that are not read are recorded too, as ``unrecognized`` with the reason, once.

    Each load records its file's own modification time: of two files holding the same key, the later file
    (then the later name) is current (SPEC §2 corrections; ``ingest.current_loads``), so a re-export
    (``…202408 (1).csv``) written after its original wins whatever the names and load order (issue 30.7)."""
    from transforms.ingest.context import profiles_for_inbox

    inbox = Path(inbox)
    files, refused = inbox_entries(inbox)
    profiles = profiles_for_inbox(inbox, profiles_file)
    chunk_rows()  # a bad setting is a sentence before any file, not halfway through the inbox
    stream_bytes()
    max_cells()
    discard_unfinished_loads(con)  # a large file's chunks left by a run that died before the file's end
    if scalar(con, "SELECT count(*) FROM ref.regions") == 0:
        refresh_regions(con)
    if scalar(con, "SELECT count(*) FROM ref.cities") == 0:
        refresh_cities(con)
    lookup = region_lookup(con)
    summaries: list[dict] = []
    entries: list[tuple[Path, str | None]] = [(path, None) for path in files]
    entries.extend(refused)
    entries.sort(key=lambda item: source_name(inbox, item[0]))
    batch = _Batch(con)
    known = RunLoads(settled_before_run(con))
    stage, stage_many = _stager(inbox, lookup, profiles, returned, known.settled)
    ahead = StagedAhead(stage, stage_many)

    def load(path: Path, reason: str | None) -> list[dict]:
        source = source_name(inbox, path)
        if reason is None:
            return ingest_file(con, path, run_id=run_id, lookup=lookup, source=source, profiles=profiles,
                               returned=returned, staged=ahead.take(path), known=known)
        return [_refuse_entry(con, source, reason, run_id)]

    def settle(done: list[tuple[int, Path, list[dict]]]) -> None:
        for index, path, results in done:
            summaries.extend(results)
            if progress:
                progress(index, len(entries), {"file": source_name(inbox, path), "loads": results})

    upcoming = 1  # entries[upcoming:] are not handed to the stager yet

    def stageable(at: int) -> bool:
        return at < len(entries) and entries[at][1] is None and _small(entries[at][0])

    try:
        for index, (path, reason) in enumerate(entries, start=1):
            # the small files after this one staged in runs while it is written, up to PENDING_BYTES ahead; never
            # past a file the writer reads itself (a large file's chunks are not held beside staged files)
            upcoming = max(upcoming, index)
            while _small(path) and stageable(upcoming) and ahead.pending_bytes(besides=path) < PENDING_BYTES:
                run: list[Path] = []
                while stageable(upcoming) and len(run) < RUN_FILES and sum(file_size(file) for file in run) < RUN_BYTES:
                    run.append(entries[upcoming][0])
                    upcoming += 1
                ahead.start_run(run)
            settle(batch.load(index, path, reason, load))
            checkpoint("ingest.after_file")
        batch.commit(load)
        settle(batch.take())
    except BaseException:
        batch.abandon()  # the batch's files are not loaded; the next run loads them
        raise
    finally:
        ahead.close()
    return summaries


# A file whose source and bytes have a load of these statuses is settled: never read again (a failed one is).
_SETTLED_STATUSES = ("loaded", "skipped_duplicate", "unrecognized")
_SETTLED_SQL = "(" + ", ".join(f"'{status}'" for status in _SETTLED_STATUSES) + ")"


def loaded_before(con: duckdb.DuckDBPyConnection, source: str, sha: str) -> tuple[int, str | None]:
    """(whether ``source`` with these bytes was settled before, the first file these bytes were loaded as):
    one query for both, as each statement costs a file some milliseconds, whatever its size."""
    return con.execute(  # type: ignore[return-value]  # an aggregate without GROUP BY: always one row
        f"SELECT count(*) FILTER (WHERE source_file = $source AND status IN {_SETTLED_SQL}),"
        " arg_min(source_file, load_id) FILTER (WHERE status = 'loaded')"
        " FROM ingest.loads WHERE sha256 = $sha", {"source": source, "sha": sha}).fetchone()


def _stager(inbox: Path, lookup: dict[str, str], profiles: list, returned: Sequence[HandedBack],
            settled: Callable[[str, str], bool]) -> tuple[Callable[[Path], StagedFile | None],
                                                          Callable[[list[Path]], dict[Path, StagedFile | None]]]:
    """What stages a file ahead (``StagedAhead``): a file ``settled`` before this run (``settled_before_run``)
    is not staged."""
    from transforms.ingest.context import profile_for

    def stage(path: Path) -> StagedFile | None:
        source = source_name(inbox, path)
        return stage_file(path, source, lookup, profile_for(source, profiles), chunk_rows(),
                          [handed_back.recognises for handed_back in returned], partial(settled, source))

    def stage_many(paths: list[Path]) -> dict[Path, StagedFile | None]:
        files = [(path, source_name(inbox, path), profile_for(source_name(inbox, path), profiles)) for path in paths]
        return stage_run(files, lookup, chunk_rows(), [handed_back.recognises for handed_back in returned], settled)

    return stage, stage_many


def settled_before_run(con: duckdb.DuckDBPyConnection) -> Callable[[str, str], bool]:
    """``any(loaded_before(con, source, sha))`` as the warehouse stands now, from one query: what the stager asks of
    each file it reads ahead. Asked of the warehouse a file at a time, the stager's thread spent about a
    millisecond a statement beside the writer's own (issue 28: 0.2-0.3 s of the acceptance sample's 3.4 s ingest).
    Loads the run commits later are not in it: a file whose bytes an earlier file of the run loaded is staged
    ahead for nothing, and the writer, which asks the warehouse itself (``loaded_before``), still skips it."""
    rows = con.execute(f"SELECT source_file, sha256, status FROM ingest.loads WHERE status IN {_SETTLED_SQL}"
                       ).fetchall()
    settled = {(source, sha) for source, sha, _ in rows}
    loaded = {sha for _, sha, status in rows if status == "loaded"}
    return lambda source, sha: (source, sha) in settled or sha in loaded


@dataclass
class RunLoads:
    """What an inbox's run knows of ``ingest.loads`` without asking it: the loads settled when it began
    (``settled_before_run``) and the bytes of every file it has read since. Every load a run records is of the
    bytes of the file it is reading, so the warehouse holds no load of bytes that neither knows: the writer
    asks it (``loaded_before``) about the others only. A question costs a file a millisecond or more, beside
    the stager's work (issue 28)."""

    settled: Callable[[str, str], bool]
    read: set[str] = field(default_factory=set)  # the sha256 of every file read in the run

    def may_hold(self, source: str, sha: str) -> bool:
        return sha in self.read or self.settled(source, sha)


def _small(path: Path) -> bool:
    return file_size(path) < min(AHEAD_BYTES, stream_bytes())


def _refuse_entry(con, source: str, reason: str, run_id) -> dict:
    """An inbox entry that is not read: recorded once (its content is never read, so no checksum)."""
    if scalar(con, "SELECT count(*) FROM ingest.loads WHERE source_file = ? AND sha256 = '' AND status = 'unrecognized'"
                   " AND message = ?", [source, reason]):
        return {"source_file": source, "status": "already_loaded"}
    return _record(con, source, "", None, "unrecognized", run_id, message=reason)


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, *, run_id: str | None = None,
                lookup: dict[str, str] | None = None, source: str | None = None,
                profiles: list | None = None, returned: Sequence[HandedBack] = (),
                staged: StagedFile | None = None, known: RunLoads | None = None) -> list[dict]:
    """Load one file. ``source``: its name as recorded, its path below the inbox (the folders in it give
    context, SPEC §2 v3); ``profiles``: the import profiles (``transforms.ingest.context.Profile``) in force;
    ``returned``: the files HR hand back that a later stage loads (``HandedBack``).

    A CSV larger than ``SHEBAO_INGEST_STREAM_BYTES`` is read a piece at a time; one the pieces cannot read
    as the whole file would be read (``NotStreamable``, found before any row is written) is read whole.
    ``staged``: the file read and staged already (``staged_file.stage_file``): only written here. ``known``:
    the loads of the inbox's run (``RunLoads``), which spare the warehouse a question about new bytes."""
    if staged is not None:
        return _ingest_file(con, path, run_id, lookup, source, profiles, returned, stream=False, staged=staged,
                            known=known)
    try:
        return _ingest_file(con, path, run_id, lookup, source, profiles, returned, stream=True, known=known)
    except NotStreamable:
        return _ingest_file(con, path, run_id, lookup, source, profiles, returned, stream=False, known=known)


def _ingest_file(con: duckdb.DuckDBPyConnection, path: Path, run_id: str | None, lookup: dict[str, str] | None,
                 source: str | None, profiles: list | None, returned: Sequence[HandedBack], *,
                 stream: bool, staged: StagedFile | None = None, known: RunLoads | None = None) -> list[dict]:
    from transforms.ingest.context import profile_for

    lookup = lookup if lookup is not None else region_lookup(con)
    source = source or path.name
    profile = profile_for(source, profiles or [])
    # A large CSV is read a piece at a time (issue 28): its bytes are never held whole.
    streamed = stream and path.suffix.lower() in (".csv", ".txt") and file_size(path) > stream_bytes()
    data: bytes | None = None
    try:
        if staged is not None:
            sha = staged.sha
        elif streamed:
            sha = file_sha256(path)
        else:
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
    except OSError as exc:
        return [_record(con, source, "", None, "failed", run_id, message=f"the file cannot be read ({exc.strerror})")]
    # A failed load (a full disk, a damaged file) is tried again: only what was settled counts as loaded before.
    settled, earlier = False, None
    if known is None or known.may_hold(source, sha):
        count, earlier = loaded_before(con, source, sha)
        settled = count > 0
        batch = _BATCH.get()
        if batch is not None:  # the loads the batch holds, written at its commit (their ids follow the warehouse's)
            settled_here, earlier_here = batch.rows.loaded(source, sha)
            settled, earlier = settled or settled_here, earlier if earlier is not None else earlier_here
    if known is not None:
        known.read.add(sha)
    if settled:
        return [{"source_file": source, "status": "already_loaded"}]
    if earlier is not None:
        return [_record(con, source, sha, None, "skipped_duplicate", run_id,
                        message=f"same content as {earlier}, already loaded")]
    content = staged.content if staged else stream_extract(path, max(stream_bytes() // 4, 1)) if streamed else None
    if content is None:
        try:
            data = path.read_bytes() if data is None else data
        except OSError as exc:
            return [_record(con, source, sha, None, "failed", run_id, message=f"the file cannot be read ({exc.strerror})")]
        if not data or data.isspace():
            return [_record(con, source, sha, None, "unrecognized", run_id, message="the file is empty")]
        try:
            content = read_extract(path, data)
        except UnreadableFile as exc:
            return [_record(con, source, sha, None, "failed", run_id, message=str(exc))]
    actions: list[dict] = []
    for handed_back in () if staged else returned:  # a file staged ahead was recognised as none (stage_file)
        if handed_back.recognises(content) and streamed:
            raise NotStreamable  # a workbook's loader reads the whole grid
        if handed_back.recognises(content):  # a file HR hand back (the action workbook, SPEC §6 round trip)
            _own_transactions(con)
            actions = [handed_back.load(con, path, sha, content, run_id, source)]
            # a sheet of another kind inside it (an extra payroll pasted in) is loaded and counted too (issue 30.6)
            content = FileContent(content.encoding, [sheet for sheet in content.sheets if not handed_back.recognises(
                FileContent(content.encoding, [sheet]))])
            if not any(sheet.grid.height for sheet in content.sheets):
                return actions
            break
    try:
        groups, unrecognised_sheets = ((staged.groups, staged.unrecognised) if staged
                                       else group_sheets(content, source, lookup, profile))
    except ProfileMismatch as exc:
        return actions + [_record(con, source, sha, None, "failed", run_id, encoding=content.encoding, message=str(exc))]
    encoding = content.encoding
    if streamed and (not groups or any(header.day_column is not None for sheets in groups.values()
                                       for _, header in sheets)):
        raise NotStreamable  # no header (the closest kind is found over the whole grid), or a daily export (one chunk)
    if not groups:
        if actions:  # the action sheets were the workbook; other sheets without a header are notes
            return actions
        from transforms.ingest.profile_suggest import closest_kind

        message = ("no header row naming the columns of a payroll, attendance, insurance, transfers or bill extract "
                   f"was found in the first {MAX_HEADER_SEARCH} rows")
        hint = closest_kind(content)
        if hint:
            message += f"; {hint}"
        return [_record(con, source, sha, None, "unrecognized", run_id, encoding=encoding, message=message)]
    note = f"sheets without a recognised header: {', '.join(unrecognised_sheets)}" if unrecognised_sheets else None
    del data, content  # the sheets hold what is needed; the file's bytes are not
    large = streamed or rows_in(groups) > chunk_rows()
    context = LoadContext(source=source, sha=sha, lookup=lookup, run_id=run_id, encoding=encoding, note=note,
                          commit_chunks=large, modified=file_modified(path))
    try:
        if not context.commit_chunks:  # one transaction for the whole file
            with _transaction(con):
                loads = [_load_kind(con, context, kind, sheets, staged.staged[kind] if staged else None)
                         for kind, sheets in groups.items()]
                checkpoint("ingest.before_commit")
                return actions + [_insert_load(con, load) for load in loads]
        # A large file commits its rows a row group or more at a time (``_RowGroupCommits``); its loads
        # stay pending, their rows invisible, until the file's loads rows are committed, together, last.
        _own_transactions(con)
        loads = [_load_kind(con, context, kind, sheets) for kind, sheets in groups.items()]
        checkpoint("ingest.before_commit")
        with transaction(con):
            return actions + [_insert_load(con, load, pending=True) for load in loads]
    except duckdb.Error as exc:
        if _BATCH.get() is not None:
            raise  # the batch's transaction is aborted: its files are loaded again, each alone (_Batch.load)
        reason = f"the rows could not be written ({type(exc).__name__}); nothing of this file was loaded"
        disk = storage_error(exc)
        if disk is None:
            discard_unfinished_loads(con)
            return [_record(con, source, sha, None, "failed", run_id, encoding=encoding, message=reason)]
        # A full or read-only disk: the files after this one would fail too, and a close on part of the inbox
        # would find false problems. Stop in one sentence; this file is retried by the next run.
        try:
            discard_unfinished_loads(con)
            _record(con, source, sha, None, "failed", run_id, encoding=encoding, message=reason)
        except duckdb.Error:
            pass  # nothing could be written; no record is needed for the next run to load the file
        raise disk from None


LOAD_KEYS_SQL = Path(__file__).with_name("sql") / "load_keys.sql"

# Every table a load writes rows to, keyed by load_id.
LOAD_TABLES = ("raw.rows", "ingest.rejects", *(f"staging.{name}" for name in k.KINDS))


def discard_unfinished_loads(con: duckdb.DuckDBPyConnection) -> None:
    """Delete the rows of pending loads: chunks of a large file whose run failed or was killed before the
    file's last commit. They never counted (``ingest.current_loads`` leaves pending loads out)."""
    if not scalar(con, "SELECT count(*) FROM ingest.pending_loads"):
        return
    with _transaction(con):
        for table in LOAD_TABLES:
            con.execute(f"DELETE FROM {table} WHERE load_id IN (SELECT load_id FROM ingest.pending_loads)")
        con.execute("DELETE FROM ingest.pending_loads")


@dataclass(frozen=True)
class LoadContext:
    """What every kind's load of one file shares, settled once per file before its rows are staged."""

    source: str  # the file's name in the inbox
    sha: str  # sha256 of its bytes
    lookup: dict[str, str]  # region names to codes (``warehouse.reference.region_lookup``)
    run_id: str | None
    encoding: str | None  # a text file's encoding as detected; None for a workbook
    note: str | None  # sheets without a recognised header, kept on each load's row
    commit_chunks: bool  # a large file: chunks committed a row group at a time, the loads pending until last
    modified: datetime | None = None  # the file's own modification time: orders corrections (issue 30.7)


def _load_kind(con, context: LoadContext, kind_name: str, sheets: list,
               ready: list[tuple[HeaderMatch, pl.DataFrame]] | None = None) -> dict:
    """Stage and write one kind's rows of a file in chunks (memory stays flat on large files), committed a
    row group at a time when ``context.commit_chunks`` (``_RowGroupCommits``); returns the load's row, for the
    caller to insert last. ``ready``: its chunks staged already (``StagedAhead``)."""
    kind = k.KINDS[kind_name]
    load_id = None
    counts = {"read": 0, "staged": 0, "rejected": 0, "not_data": 0}
    chunks = ready if ready is not None else staged_chunks(kind_name, sheets, context.lookup, chunk_rows())
    ahead = None
    if ready is None and context.commit_chunks:  # a large file: its next chunk staged while this one is written
        chunks = ahead = one_ahead(iter(chunks))
    commits = _RowGroupCommits(con) if context.commit_chunks else None
    try:
        for _, chunk in chunks:
            with commits.chunk(chunk.height) if commits is not None else nullcontext():
                # drawn in a transaction that writes: DuckDB persists a sequence's use only with a commit
                # that changed data, and a load id must never come round again after a crash
                if load_id is None:
                    load_id = _next_load_id(con)
                    if context.commit_chunks:
                        con.execute("INSERT INTO ingest.pending_loads VALUES (?, ?, ?)",
                                    [load_id, context.source, datetime.now()])
                staged, rejected, skipped = _write_rows(con, load_id, context.source, kind_name, chunk)
            counts["read"] += chunk.height
            counts["staged"] += staged
            counts["rejected"] += rejected
            counts["not_data"] += skipped
        if commits is not None:
            commits.finish()
    finally:
        if commits is not None:
            commits.abandon()  # a failed write: the open transaction's rows are rolled back
        if ahead is not None:  # a failed write: the chunk being staged is finished and dropped, its thread ended
            ahead.close()
    sheet_names = ", ".join(sorted({sheet.name for sheet, _ in sheets if sheet.name is not None})) or None
    lacking = {column: where for _, header in sheets for column, where in header.absent.items()}
    message = "; ".join(filter(None, [context.note, lacking_sentence(kind, lacking)])) or None
    return {"load_id": load_id, "source_file": context.source, "sha256": context.sha, "kind": kind_name,
            "rows_read": counts["read"], "rows_staged": counts["staged"], "rows_rejected": counts["rejected"],
            "rows_not_data": counts["not_data"], "file_modified": context.modified, "run_id": context.run_id,
            "encoding": context.encoding, "sheets": sheet_names, "message": message}


# DuckDB's row group. A commit that appends at least this many rows to a table writes them straight into the
# file, compressed, as the insert fills each row group; fewer go through its log and are written again, compressed
# then, at the next checkpoint (at 200,000 employees the insurance extract's 100,000-row chunks were a third of
# ingest's writes).
ROW_GROUP_ROWS = 122_880


@dataclass
class _RowGroupCommits:
    """A large file's chunks committed together until their rows fill a row group (``ROW_GROUP_ROWS``), never one
    chunk alone: each commit then writes its rows into the file once. A transaction holds no more in memory for
    it: DuckDB writes each full row group out as the insert fills it, and keeps only the last, partly filled one
    (as it kept every committed chunk's rows, until the checkpoint, when they went through the log)."""

    con: duckdb.DuckDBPyConnection
    rows: int = 0  # rows written in the open transaction
    open: bool = False

    @contextmanager
    def chunk(self, rows: int) -> Iterator[None]:
        """Write a chunk of ``rows`` rows in the open transaction (opened here if need be); commit after it when the
        transaction holds a row group's rows."""
        if not self.open:
            self.con.execute("BEGIN TRANSACTION")
            self.open = True
        yield
        self.rows += rows
        if self.rows >= ROW_GROUP_ROWS:
            self.finish()

    def finish(self) -> None:
        if self.open:
            self.con.execute("COMMIT")
            self.open, self.rows = False, 0

    def abandon(self) -> None:
        if self.open:
            self.open, self.rows = False, 0
            with suppress(duckdb.Error):  # the connection may be gone, and the transaction with it
                self.con.execute("ROLLBACK")


def lacking_sentence(kind: k.Kind, lacking: dict[str, str]) -> str | None:
    """The columns a file lacks that no context gave (its rows are MISSING_FIELD), and where each could come
    from, in words HR reads: ``缺少列：工资月份（可在…中给出）``."""
    if not lacking:
        return None
    names = {c.name: c.aliases[0] for c in kind.columns}
    return "缺少列：" + "；".join(f"{names.get(c, c)}（可在{where}中给出）" for c, where in lacking.items())


def record_load_keys(con: duckdb.DuckDBPyConnection, load_id: int, last: int | None = None) -> None:
    """Record the keys ``load_id`` (to ``last``) holds rows for (``transforms/ingest/sql/load_keys.sql``), in the
    caller's transaction: ``ingest.current_loads`` counts a load from then on."""
    # As literals, not parameters: DuckDB then prunes the staging tables' row groups by the load ids,
    # instead of scanning every staging table for each load.
    first = int(load_id)
    con.execute(sql_text(LOAD_KEYS_SQL).replace("$first", str(first)).replace("$last", str(int(last or first))))


def _next_load_id(con) -> int:
    batch = _BATCH.get()
    if batch is not None and batch.open:
        return batch.draw_load_id()
    return _draw_load_ids(con, 1)


def _draw_load_ids(con, count: int) -> int:
    """``count`` load ids drawn from the sequence; the last of them."""
    return scalar(con, f"SELECT max(nextval('ingest.load_id_seq')) FROM range({int(count)})")


def _insert_load(con, load: dict, pending: bool = False) -> dict:
    """The load's row in ``ingest.loads`` (inside the transaction that commits it): from here on its rows
    count. ``pending``: a large file's load, recorded pending while its chunks were written. Returns the
    load's summary."""
    # a kind with no rows drew no load id yet
    load = load | {"load_id": load["load_id"] or _next_load_id(con), "loaded_at": datetime.now()}
    row = {column: load[column] for column in _LOAD_COLUMNS}
    batch = _BATCH.get()
    if batch is not None and not pending:  # written with the batch's rows at its commit: a statement costs ms
        batch.rows.loads.append(row)
    else:
        if pending:
            con.execute("DELETE FROM ingest.pending_loads WHERE load_id = ?", [load["load_id"]])
        _insert_load_rows(con, [row])
        record_load_keys(con, load["load_id"])
    return {key: load[key] for key in ("load_id", "source_file", "kind", "rows_read", "rows_staged", "rows_rejected",
                                       "rows_not_data", "message")} | {"status": "loaded"}


# A loaded file's row of ``ingest.loads`` as ingest writes it (``status`` 'loaded'), in load id order.
_LOAD_COLUMNS = ("load_id", "source_file", "sha256", "kind", "rows_read", "rows_staged", "rows_rejected",
                 "rows_not_data", "file_modified", "loaded_at", "run_id", "encoding", "sheets", "message")
_LOAD_SCHEMA = pl.Schema({
    "load_id": pl.Int64(), "source_file": pl.String(), "sha256": pl.String(), "kind": pl.String(),
    "rows_read": pl.Int64(), "rows_staged": pl.Int64(), "rows_rejected": pl.Int64(), "rows_not_data": pl.Int64(),
    "file_modified": pl.Datetime("us"), "loaded_at": pl.Datetime("us"), "run_id": pl.String(),
    "encoding": pl.String(), "sheets": pl.String(), "message": pl.String()})


def _insert_load_rows(con: duckdb.DuckDBPyConnection, loads: list[dict]) -> None:
    """``loads`` (rows of ``_LOAD_COLUMNS``) into ``ingest.loads`` as loaded, in one statement."""
    con.register("v_loads", _arrow(pl.DataFrame(loads, schema=_LOAD_SCHEMA)))
    try:
        con.execute(f"INSERT INTO ingest.loads ({', '.join(_LOAD_COLUMNS)}, status)"
                    f" SELECT {', '.join(_LOAD_COLUMNS)}, 'loaded' FROM v_loads ORDER BY load_id")
    finally:
        con.unregister("v_loads")


# The staging tables' columns, looked up once per connection rather than once per chunk: the catalog does
# not change while an inbox is ingested (migrations run when a connection opens).
_COLUMNS: dict = {"con": None, "columns": {}}


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    if _COLUMNS["con"] is not con:
        _COLUMNS.update(con=con, columns={})
    key = (schema, table)
    if key not in _COLUMNS["columns"]:
        _COLUMNS["columns"][key] = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database()"
            " AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
    return _COLUMNS["columns"][key]


_LOAD_ID, _SOURCE = "__load_id", "__source"
# A batch's rows held for its commit, at most (``_Rows``); past it they are written in the batch's transaction
# at once. A small close's inbox stays under it; a 200,000-employee payroll file alone passes it.
ROWS_HELD_BYTES = 32 * 2**20


def _write_rows(con, load_id: int, source: str, kind: str, rows: pl.DataFrame) -> tuple[int, int, int]:
    """Raw rows, rejects (NOT_DATA rows among them, SPEC §7) and staged rows of one chunk, written now or, in
    a batch, when it commits (``_Rows``); returns (staged, rejected, not data)."""
    staged = rows.filter(pl.col(REASON_CODE).is_null())
    rejected = rows.filter(pl.col(REASON_CODE).is_not_null())
    skipped = int((rejected.get_column(REASON_CODE) == NOT_DATA).sum()) if rejected.height else 0
    targets = _table_columns(con, "staging", kind)
    pieces = [("raw.rows", rows.select(SHEET, ROW_NUMBER, RAW))]
    if rejected.height:
        pieces.append(("ingest.rejects", rejected.select(SHEET, ROW_NUMBER, REASON_CODE, REASON, RAW,
                                                         pl.lit(source, pl.String).alias(_SOURCE))))
    pieces.append((f"staging.{kind}", staged.select([c for c, _ in targets if c in staged.columns])))
    batch = _BATCH.get()
    for table, frame in pieces:
        if batch is not None:
            batch.rows.add(table, kind, load_id, frame)
        else:
            _insert(con, table, kind, frame.with_columns(pl.lit(load_id, pl.Int64).alias(_LOAD_ID)))
    if batch is not None and batch.rows.size > ROWS_HELD_BYTES:
        batch.rows.write_rows(con)  # a large inbox's batch: its rows in memory stay bounded
    return staged.height, rejected.height - skipped, skipped


def _insert(con, table: str, kind: str, frame: pl.DataFrame) -> None:
    """One statement: ``frame``'s rows (of one or more loads, ``__load_id``) into ``table``."""
    con.register("v_rows", _arrow(frame))
    try:
        if table == "raw.rows":
            con.execute("INSERT INTO raw.rows SELECT __load_id, ?, sheet, row_number, raw FROM v_rows", [kind])
        elif table == "ingest.rejects":
            con.execute("INSERT INTO ingest.rejects SELECT __load_id, __source, ?, row_number, sheet, reason_code,"
                        " reason, CAST(raw AS JSON) FROM v_rows", [kind])
        else:
            select = []
            for column, data_type in _table_columns(con, "staging", kind):
                if column == "load_id":
                    select.append(f"CAST(__load_id AS {data_type}) AS load_id")
                elif column in frame.columns:
                    select.append(f'CAST("{column}" AS {data_type}) AS "{column}"')
            con.execute(f"INSERT INTO {table} BY NAME SELECT {', '.join(select)} FROM v_rows")
    finally:
        con.unregister("v_rows")


def _arrow(frame: pl.DataFrame):
    # Plain Arrow strings: DuckDB scans them about twice as fast as polars' string views.
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def _record(con, source, sha, kind, status, run_id, *, encoding=None, message=None) -> dict:
    """A load with no rows: unrecognized, failed or skipped files are accounted for too."""
    with _transaction(con):
        load_id = _next_load_id(con)
        con.execute(
            "INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, loaded_at, run_id, encoding, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, source, sha, kind, status, datetime.now(), run_id, encoding, message],
        )
    return {"load_id": load_id, "source_file": source, "kind": kind, "status": status, "rows_read": 0,
            "rows_staged": 0, "rows_rejected": 0, "rows_not_data": 0, "message": message}
