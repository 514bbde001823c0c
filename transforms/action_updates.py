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
warehouse (``transforms.roles.granted_role`` where roles exist; before that, the user running shebao is
its hr_manager and anyone else hr_staff).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from pathlib import Path

import duckdb

from transforms import glossary, roles
from transforms.actions import actor, audit
from transforms.privacy import redact
from transforms.readers import CELLS, FileContent
from transforms.workbook import ID_COLUMN, NOTE_COLUMN, STATUS_COLUMN
from warehouse.db import scalar, transaction
from warehouse.errors import ShebaoError

KIND = "action_updates"
WORDS = {"已提交": "submitted", "忽略": "dismissed"}
NOTHING = {"", "待处理", "已解决"}
MAX_HEADER_ROWS = 6
# from which statuses each change applies (SPEC §6: open -> submitted; open or submitted -> dismissed)
FROM = {"submitted": ("open",), "dismissed": ("open", "submitted")}


def _header(grid) -> tuple[int, dict[str, int]] | None:
    columns = [c for c in grid.columns if c != CELLS]
    for index, row in enumerate(grid.head(MAX_HEADER_ROWS).select(columns).iter_rows()):
        cells = {str(v).strip(): i for i, v in enumerate(row) if v is not None}
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


def _rows(content: FileContent):
    """(sheet, 1-based data row, Excel row, id, status word, note, raw) of every data row under an updates
    header."""
    for sheet in content.sheets:
        found = _header(sheet.grid)
        if found is None:
            continue
        index, cells = found
        columns = [c for c in sheet.grid.columns if c != CELLS]
        names = {i: name for name, i in cells.items()}
        for number, row in enumerate(sheet.grid.slice(index + 1).select(columns).iter_rows(), start=1):
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            text = [("" if v is None else str(v).strip()) for v in row]
            raw = {names.get(i, f"列{i + 1}"): redact(v) for i, v in enumerate(text) if v}
            yield (sheet.name, number, index + 1 + number, text[cells[ID_COLUMN]], text[cells[STATUS_COLUMN]],
                   text[cells[NOTE_COLUMN]], raw)


def load_action_updates(con: duckdb.DuckDBPyConnection, path: Path, sha: str, content: FileContent,
                        run_id: str | None = None, source: str | None = None) -> dict:
    """Apply one filled workbook: a load of kind action_updates, its rows staged (applied or nothing to do)
    or rejected; returns the load's summary (no personal data). ``source``: its name below the inbox."""
    source = source or path.name
    user = file_owner(path)
    role = role_of(con, user)
    now = datetime.now()
    counts = {"read": 0, "staged": 0, "rejected": 0, "applied": 0}
    with transaction(con):
        load_id = scalar(con, "SELECT nextval('ingest.load_id_seq')")
        status = dict(con.execute("SELECT action_id, status FROM actions.cleanup_actions").fetchall())
        rows = [(sheet, number, excel, action_id, word, clean_note(note), raw)
                for sheet, number, excel, action_id, word, note, raw in _rows(content)]
        # one action, one change per file: the last row that asks for one is what HR meant; an earlier row
        # asking for something else is rejected (rows asking the same, like ADJUST_BASE's per type, agree)
        last: dict[str, tuple] = {}
        for sheet, _, excel, action_id, word, note, _ in rows:
            if word not in NOTHING:
                last[action_id] = (sheet, excel, WORDS.get(word), note)
        done: set[tuple[str, str]] = set()
        for sheet, number, excel, action_id, word, note, raw in rows:
            counts["read"] += 1
            requested = WORDS.get(word)
            at = f"{sheet or ''} 第{excel}行（{ID_COLUMN} {action_id or '空'}）"
            code = reason = None
            if word in NOTHING:
                pass
            elif requested is None:
                code, reason = "UNKNOWN_VALUE", f"{at}：{STATUS_COLUMN}“{word}”无法识别；只能填 待处理、已提交 或 忽略"
            elif action_id not in status:
                code, reason = "UNKNOWN_VALUE", f"{at}：{ID_COLUMN}“{action_id}”不存在；请用本期动作清单中的编号"
            elif last[action_id][1:] != (excel, requested, note) and last[action_id][2:] != (requested, note):
                code, reason = "DUPLICATE_ROW", (f"{at}：同一动作在「{last[action_id][0] or ''}」第{last[action_id][1]}行"
                                                 "另有不同填写，以后一行为准，本行未采用")
            elif requested == "dismissed" and not note:
                code, reason = "MISSING_FIELD", f"{at}：选择“忽略”时必须在{NOTE_COLUMN}中写明原因"
            elif len(note) > MAX_NOTE:
                code, reason = "TOO_LONG", f"{at}：{NOTE_COLUMN}超过 {MAX_NOTE} 个字符；请精简后再放回"
            elif (requested == "dismissed" and not may_dismiss(role)) or not may_submit(role):
                allowed = "仅 HR 经理可以忽略动作" if requested == "dismissed" else "仅 HR 专员和 HR 经理可以更改动作"
                code, reason = "NOT_ALLOWED", f"{at}：文件所有者 {user} 无权执行（{allowed}）"
                con.execute("INSERT INTO actions.audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [now, user, role, "action_updates", action_id, False,
                             f"{source} {sheet or ''} 第{number}行: role may not set {requested}"])
            elif status[action_id] != requested and status[action_id] not in FROM[requested]:
                code, reason = "NOT_ALLOWED", (f"{at}：该动作已是“{glossary.ACTION_STATUS[status[action_id]]}”，"
                                               f"不能改为“{word}”；本行未采用")
            applied = False
            if code is None and requested and (action_id, requested) not in done:
                done.add((action_id, requested))  # ADJUST_BASE has a row per insurance type: one change
                applied = change_status(con, action_id, requested, note or None, user, role, "action_updates",
                                        f"{source} {sheet or ''} 第{number}行:")
                status[action_id] = requested if applied else status[action_id]
            if code is None:
                counts["staged"] += 1
                counts["applied"] += applied
            else:
                counts["rejected"] += 1
                con.execute("INSERT INTO ingest.rejects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [load_id, source, KIND, number, sheet, code, redact(reason),
                             json.dumps(raw, ensure_ascii=False)])
            con.execute("INSERT INTO actions.workbook_updates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [load_id, source, sheet, number, action_id or None, requested, note or None, user, role,
                         applied, code, now])
        con.execute(
            "INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, rows_read, rows_staged, rows_rejected,"
            " loaded_at, run_id, encoding, message) VALUES (?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?, ?)",
            [load_id, source, sha, KIND, counts["read"], counts["staged"], counts["rejected"], now, run_id,
             content.encoding, f"{counts['applied']} status changes applied"])
    return {"load_id": load_id, "source_file": source, "kind": KIND, "status": "loaded", "rows_read": counts["read"],
            "rows_staged": counts["staged"], "rows_rejected": counts["rejected"], "applied": counts["applied"]}
