"""Status changes of cleanup actions (SPEC §6): ``actions submit ID`` and the workbook round trip.

A filled action workbook put back into the inbox is the kind ``action_updates``: recognised by a sheet whose
header row holds 动作编号, 处理状态 and 处理说明 (any sheet; 汇总 has none and is skipped). Its rows marked
已提交 set the action to ``submitted``; 忽略 sets ``dismissed`` with 处理说明 as the reason. Rejected, with
the reason in ``ingest.rejects`` (naming the sheet, the row as Excel numbers it, the action id and what to
write): 忽略 without a reason (MISSING_FIELD), a change from a user who may not make it, or for an action
that cannot move there (resolved, dismissed) (NOT_ALLOWED), an unknown action id or status word
(UNKNOWN_VALUE), a note longer than a cell holds (TOO_LONG), an earlier row of the same action asking for
something else than its last row (DUPLICATE_ROW: the last row wins). Rows left 待处理 / 已解决, or asking
for the status the action already has, change nothing and count as staged. Notes are stored with ID numbers
masked. Every row read is written to
``actions.workbook_updates`` (file, sheet, row, user, applied or the reject code); every change also to
``actions.action_events`` and ``actions.audit``.

The user is the owner of the file (who put it into the inbox), their role the one granted in the
warehouse (``transforms.common.roles.granted_role`` where roles exist; before that, the user running shebao is
its hr_manager and anyone else hr_staff).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.actions.cleanup import actor, audit
from transforms.actions.workbook import ID_COLUMN, NOTE_COLUMN, STATUS_COLUMN
from transforms.common import glossary, roles
from transforms.common.privacy import redact, redact_series
from transforms.ingest.inbox import HandedBack
from transforms.ingest.readers import CELLS, FileContent
from warehouse.db import scalar, transaction
from warehouse.errors import ShebaoError

KIND = "action_updates"
WORDS = {"已提交": "submitted", "忽略": "dismissed"}
NOTHING = {"", "待处理", "已解决"}
MAX_HEADER_ROWS = 6
# from which statuses each change applies (SPEC §6: open -> submitted; open or submitted -> dismissed)
FROM = {"submitted": ("open",), "dismissed": ("open", "submitted")}


def _header(grid) -> tuple[int, dict[str, int]] | None:
    # the first rows as Python values, without a query (every file of the inbox is asked, on the writer's thread)
    columns = [i for i, c in enumerate(grid.columns) if c != CELLS]
    for index, row in enumerate(grid.head(MAX_HEADER_ROWS).rows()):
        cells = {str(row[at]).strip(): i for i, at in enumerate(columns) if row[at] is not None}
        if all(name in cells for name in (ID_COLUMN, STATUS_COLUMN, NOTE_COLUMN)):
            return index, cells
    return None


def is_action_workbook(content: FileContent) -> bool:
    return any(_header(sheet.grid) is not None for sheet in content.sheets)


def file_owner(path: Path) -> str:
    """Who put the file into the inbox: its owner. An owner with no passwd entry is named by the uid, as
    ``warehouse.users.caller`` names one, and so has no role; never the user running shebao (issue 30.2)."""
    try:
        uid = path.stat().st_uid
    except OSError:
        return "unknown"
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid{uid}"


def role_of(con: duckdb.DuckDBPyConnection, user: str) -> str:
    """The role granted to ``user`` in this warehouse (``none`` without one)."""
    return roles.granted_role(con, user) or "none"


def may_dismiss(role: str) -> bool:
    return role in roles.ROLES and roles.get_role(role).may_dismiss


def may_submit(role: str) -> bool:
    """HR (staff or manager) works the action list; finance and users with no role may not (as the CLI)."""
    return role in roles.ROLES and roles.get_role(role).sees_findings


MAX_NOTE = 32767  # characters: what one Excel cell holds; a longer note is refused, never cut


def clean_note(note: str) -> str:
    """The note as stored: empty when it holds nothing visible (spaces, zero-width characters only), and
    every ID-number-like run masked (a note is shown in masked workbooks and kept in action_events)."""
    visible = "".join(ch for ch in note if not unicodedata.category(ch).startswith(("Z", "C"))).strip()
    return redact(note.strip()) if visible else ""


def change_status(con, action_id: str, to_status: str, reason: str | None, who: str, role: str, command: str,
                  where: str | None = None) -> bool:
    """Set the action's status (an event and an audit row); False when it is already there or cannot move."""
    row = con.execute("SELECT status FROM actions.cleanup_actions WHERE action_id = ?", [action_id]).fetchone()
    if row is None or row[0] not in FROM[to_status]:
        return False
    now = datetime.now()
    con.execute("INSERT INTO actions.action_events VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
                [action_id, to_status, row[0], to_status, who, reason, now])
    con.execute("UPDATE actions.cleanup_actions SET status = ?, updated_at = ?,"
                " dismissed_reason = CASE WHEN ? = 'dismissed' THEN ? ELSE dismissed_reason END WHERE action_id = ?",
                [to_status, now, to_status, reason, action_id])
    con.execute("INSERT INTO actions.audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                [now, who, role, command, action_id, True, " ".join(x for x in (where, reason) if x) or None])
    return True


def submit(con: duckdb.DuckDBPyConnection, action_id: str, note: str | None = None, role: str | None = None) -> bool:
    """HR filed the application or declaration: open -> submitted (it stays submitted while found)."""
    permitted = roles.get_role(role)
    if not permitted.sees_findings:
        audit(con, permitted.name, "actions submit", action_id, False, "role may not work the action list")
        raise roles.PermissionDenied(f"The role {permitted.name} may not change actions; ask HR.")
    row = con.execute("SELECT status FROM actions.cleanup_actions WHERE action_id = ?", [action_id]).fetchone()
    if row is None:
        raise ShebaoError(f"There is no action {action_id}; `shebao actions list` shows the action ids.")
    if row[0] == "submitted":
        return False
    if row[0] != "open":
        raise ShebaoError(f"The action {action_id} is {row[0]}; only an open action can be marked submitted.")
    with transaction(con):
        return change_status(con, action_id, "submitted", clean_note(note or "") or None, actor(), permitted.name,
                             "actions submit")


SQL = "action_updates_apply.sql"
_INVISIBLE = r"[\p{Z}\p{C}]"  # what a note of nothing else holds: spaces, zero-width and control characters


def _frame(content: FileContent) -> pl.DataFrame:
    """Every data row under an updates header, in file order: sheet, number (1-based data row), excel (the
    row as Excel numbers it), action_id, word, note (as typed, stripped) and raw (the row's non-empty cells
    as JSON, keyed by header, ID-like runs masked). Blank rows are skipped but keep their numbers."""
    frames = []
    for order, sheet in enumerate(content.sheets):
        found = _header(sheet.grid)
        if found is None:
            continue
        index, cells = found
        columns = [c for c in sheet.grid.columns if c != CELLS]
        names = {i: name for name, i in cells.items()}
        body = sheet.grid.slice(index + 1).select(
            [pl.col(c).cast(pl.String).str.strip_chars().fill_null("").alias(f"c{i}") for i, c in enumerate(columns)])
        if not body.width:
            continue
        texts = [pl.col(f"c{i}") for i in range(len(columns))]
        # raw: '{"header": "value", …}' of the non-empty cells, each pair JSON-encoded by polars
        pairs = [pl.when(t != "").then(pl.struct(t.alias(names.get(i, f"列{i + 1}"))).struct.json_encode()
                                       .str.slice(1).str.head(-1)) for i, t in enumerate(texts)]
        frames.append(body.with_row_index("number", offset=1).filter(pl.any_horizontal([t != "" for t in texts]))
                      .select(pl.lit(order).alias("sheet_order"), pl.lit(sheet.name, pl.String).alias("sheet"),
                              pl.col("number").cast(pl.Int64), (pl.col("number") + index + 1).cast(pl.Int64).alias("excel"),
                              pl.col(f"c{cells[ID_COLUMN]}").alias("action_id"),
                              pl.col(f"c{cells[STATUS_COLUMN]}").alias("word"),
                              pl.col(f"c{cells[NOTE_COLUMN]}").alias("note"),
                              ("{" + pl.concat_str(pairs, separator=", ", ignore_nulls=True) + "}").alias("raw")))
    schema = {"sheet_order": pl.Int32, "sheet": pl.String, "number": pl.Int64, "excel": pl.Int64,
              "action_id": pl.String, "word": pl.String, "note": pl.String, "raw": pl.String}
    if not frames:
        return pl.DataFrame(schema=schema)
    frame = pl.concat([f.cast(schema) for f in frames]).with_row_index("seq")  # type: ignore[arg-type]
    # the note as stored (clean_note over the column): empty when nothing visible, ID-like runs masked
    visible = frame["note"].str.replace_all(_INVISIBLE, "").str.strip_chars() != ""
    return frame.with_columns(note=pl.when(visible).then(redact_series(frame["note"])).otherwise(pl.lit("")),
                              raw=redact_series(frame["raw"]))


def _judge(frame: pl.DataFrame, status: pl.DataFrame, user: str, role: str) -> pl.DataFrame:
    """Each row's reject code and reason (null when accepted) and whether it applies, by SPEC §6 and
    issue 30, over the whole file at once; the first rule a row breaks decides, in this order:
    a status word not in the dropdown, an unknown action id, an earlier row of the same action asking
    for something else than its last row (the last wins), 忽略 without a visible reason, a note longer
    than a cell, a role that may not make the change, an action that cannot move there (resolved,
    dismissed). Of an action's accepted rows (ADJUST_BASE has one per insurance type) the first applies,
    when the action is not already there."""
    at = pl.concat_str([pl.col("sheet").fill_null(""), pl.lit(" 第"), pl.col("excel").cast(pl.String),
                        pl.lit(f"行（{ID_COLUMN} "), pl.when(pl.col("action_id") == "").then(pl.lit("空"))
                        .otherwise(pl.col("action_id")), pl.lit("）：")])
    words = pl.DataFrame({"word": list(WORDS), "requested": list(WORDS.values())})
    frame = frame.join(words, on="word", how="left").join(status, on="action_id", how="left").sort("seq")
    asking = ~pl.col("word").is_in(list(NOTHING))
    last = (frame.filter(asking).group_by("action_id", maintain_order=True)
            .agg(pl.col("sheet").last().alias("last_sheet"), pl.col("excel").last().alias("last_excel"),
                 pl.col("requested").last().alias("last_requested"), pl.col("note").last().alias("last_note")))
    frame = frame.join(last, on="action_id", how="left").sort("seq")
    dismissing = pl.col("requested") == "dismissed"
    may_not = (dismissing & pl.lit(not may_dismiss(role))) | pl.lit(not may_submit(role))
    from_ok = (pl.col("current") == pl.col("requested")) | pl.when(dismissing).then(
        pl.col("current").is_in(list(FROM["dismissed"]))).otherwise(pl.col("current").is_in(list(FROM["submitted"])))
    labels = pl.col("current").replace_strict(glossary.ACTION_STATUS, default=pl.col("current"))
    rules = [  # (breaks, code, reason after the row's place)
        (pl.col("requested").is_null(), "UNKNOWN_VALUE",
         pl.concat_str([pl.lit(f"{STATUS_COLUMN}“"), pl.col("word"), pl.lit("”无法识别；只能填 待处理、已提交 或 忽略")])),
        (pl.col("current").is_null(), "UNKNOWN_VALUE",
         pl.concat_str([pl.lit(f"{ID_COLUMN}“"), pl.col("action_id"), pl.lit("”不存在；请用本期动作清单中的编号")])),
        (pl.col("requested").ne_missing(pl.col("last_requested")) | pl.col("note").ne_missing(pl.col("last_note")),
         "DUPLICATE_ROW",
         pl.concat_str([pl.lit("同一动作在「"), pl.col("last_sheet").fill_null(""), pl.lit("」第"),
                        pl.col("last_excel").cast(pl.String), pl.lit("行另有不同填写，以后一行为准，本行未采用")])),
        (dismissing & (pl.col("note") == ""), "MISSING_FIELD", pl.lit(f"选择“忽略”时必须在{NOTE_COLUMN}中写明原因")),
        (pl.col("note").str.len_chars() > MAX_NOTE, "TOO_LONG", pl.lit(f"{NOTE_COLUMN}超过 {MAX_NOTE} 个字符；请精简后再放回")),
        (may_not, "NOT_ALLOWED", pl.concat_str([pl.lit(f"文件所有者 {user} 无权执行（"), pl.when(dismissing).then(
            pl.lit("仅 HR 经理可以忽略动作")).otherwise(pl.lit("仅 HR 专员和 HR 经理可以更改动作")), pl.lit("）")])),
        (~from_ok, "NOT_ALLOWED", pl.concat_str([pl.lit("该动作已是“"), labels, pl.lit("”，不能改为“"), pl.col("word"),
                                                 pl.lit("”；本行未采用")])),
    ]
    code: pl.Expr = pl.lit(None, pl.String)
    reason: pl.Expr = pl.lit(None, pl.String)
    for breaks, name, text in reversed(rules):
        code = pl.when(asking & breaks).then(pl.lit(name)).otherwise(code)
        reason = pl.when(asking & breaks).then(at + text).otherwise(reason)
    # a role refusal is audited: NOT_ALLOWED where the role may not (its rule comes before the state rule)
    judged = frame.with_columns(code=code, reason=reason).with_columns(
        refused_role=((pl.col("code") == "NOT_ALLOWED") & may_not).fill_null(False))
    accepted = pl.col("code").is_null() & pl.col("requested").is_not_null()
    first = accepted & (pl.col("seq") == pl.col("seq").filter(accepted).min().over("action_id"))
    return judged.with_columns(applied=(first & (pl.col("current") != pl.col("requested"))).fill_null(False),
                               reason=redact_series(judged["reason"]))


def load_action_updates(con: duckdb.DuckDBPyConnection, path: Path, sha: str, content: FileContent,
                        run_id: str | None = None, source: str | None = None) -> dict:
    """Apply one filled workbook: a load of kind action_updates, its rows staged (applied or nothing to do)
    or rejected; returns the load's summary (no personal data). ``source``: its name below the inbox.
    The sheet is read into one frame, judged by vectorised rules (``_judge``) and written by the statements
    of ``transforms/actions/sql/action_updates_apply.sql``: no Python per row while the warehouse is locked."""
    from transforms.actions.cleanup import run_sql_file

    source = source or path.name
    user = file_owner(path)
    frame = _frame(content)
    with transaction(con):
        role = role_of(con, user)
        load_id = scalar(con, "SELECT nextval('ingest.load_id_seq')")
        con.register("workbook_ids", frame.select(pl.col("action_id").unique()))
        try:
            status = con.execute("SELECT action_id, status AS current FROM actions.cleanup_actions"
                                 " WHERE action_id IN (SELECT action_id FROM workbook_ids)").pl()
        finally:
            con.unregister("workbook_ids")
        judged = _judge(frame, status, user, role)
        counts = judged.select(read=pl.len(), staged=pl.col("code").is_null().sum(),
                               rejected=pl.col("code").is_not_null().sum(), applied=pl.col("applied").sum()).row(0, named=True)
        con.register("workbook_rows", judged.select("sheet", "number", "action_id", "requested", "note", "raw", "code",
                                                    "reason", "applied", "refused_role", "current"))
        try:
            run_sql_file(con, SQL, {"load_id": load_id, "source": source, "kind": KIND, "sha": sha, "actor": user, "role": role,
                                    "now": datetime.now(), "run_id": run_id, "encoding": content.encoding,
                                    "message": f"{counts['applied']} status changes applied",
                                    "read": counts["read"], "staged": counts["staged"], "rejected": counts["rejected"]})
        finally:
            con.unregister("workbook_rows")
    return {"load_id": load_id, "source_file": source, "kind": KIND, "status": "loaded", "rows_read": counts["read"],
            "rows_staged": counts["staged"], "rows_rejected": counts["rejected"], "applied": counts["applied"]}


# The action workbook as ingest meets it in the inbox: the flow hands this to ``ingest_inbox(returned=...)``.
ACTION_WORKBOOK = HandedBack(is_action_workbook, load_action_updates)
