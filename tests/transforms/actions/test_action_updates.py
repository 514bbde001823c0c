"""The workbook round trip (SPEC §6, issue 15): the action workbook, filled by HR and put back into the inbox,
is ingested as kind action_updates; 已提交 -> submitted, 忽略 with a reason -> dismissed; rejects and audit rows as
§6 says; a later run that no longer finds a submitted problem resolves it. Real workbook, real ingest."""

from __future__ import annotations

import getpass
import json

import openpyxl
import pytest

from tests.transforms.actions.test_actions import ID_B, ID_C, base_finding, employee_finding, runs  # noqa: F401
from transforms.actions.cleanup import list_actions
from transforms.actions.status_updates import ACTION_WORKBOOK, submit
from transforms.actions.workbook import write_workbook
from transforms.ingest.inbox import ingest_inbox
from warehouse.errors import ShebaoError

UNKNOWN = "ADJ-ffffffffffff"


def findings():
    return [base_finding(),                                                   # ADJUST_BASE
            employee_finding("HIRED_NOT_ENROLLED", "E5", ident=ID_B),        # ENROLL_EMPLOYEE
            employee_finding("WITHHOLDING_MISMATCH", "E6", ident=ID_C, severity="warning"),  # CORRECT_WITHHOLDING
            employee_finding("DEPARTED_STILL_CONTRIBUTING", "E7")]          # STOP_CONTRIBUTION


def fill(path, choices: dict[str, tuple[str, str | None]], extra: tuple | None = None) -> None:
    """Set 处理状态/处理说明 of the action rows in ``choices`` (by action type's sheet) as HR would."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[1]]
        at = {name: header.index(name) + 1 for name in ("动作编号", "处理状态", "处理说明")}
        for row in range(2, sheet.max_row + 1):
            action_id = sheet.cell(row, at["动作编号"]).value
            if action_id in choices:
                status, note = choices[action_id]
                sheet.cell(row, at["处理状态"]).value = status
                sheet.cell(row, at["处理说明"]).value = note
        if extra and sheet.title == extra[0]:
            new = sheet.max_row + 1
            sheet.cell(new, at["动作编号"]).value, sheet.cell(new, at["处理状态"]).value = extra[1], extra[2]
    book.save(path)


def demote(con, role: str) -> None:
    """Another user becomes the HR manager and this one ``role``, granted as `shebao roles grant` does."""
    from transforms.common.roles import caller, grant

    grant(con, "boss", "hr_manager")
    grant(con, caller(), role)


def ids_by_type(runs):  # noqa: F811
    # the hand-built loads of make_warehouse took ids 1-4 without the sequence
    runs.con.execute("SELECT nextval('ingest.load_id_seq') FROM range(10)").fetchall()
    return {a["action_type"]: a["action_id"] for a in runs.actions().values()}


def test_round_trip(runs, tmp_path):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    inbox = tmp_path / "inbox"
    path = write_workbook(runs.con, inbox / "actions_2024-03_filled.xlsx")
    fill(path, {ids["ADJUST_BASE"]: ("已提交", "4月5日网上申报"), ids["ENROLL_EMPLOYEE"]: ("已提交", None),
                ids["CORRECT_WITHHOLDING"]: ("忽略", "已在4月工资中补扣"), ids["STOP_CONTRIBUTION"]: ("忽略", None)},
         extra=("调整缴费基数", UNKNOWN, "已提交"))
    [load] = ingest_inbox(runs.con, inbox, returned=[ACTION_WORKBOOK])
    assert (load["kind"], load["rows_read"], load["rows_staged"], load["rows_rejected"]) == ("action_updates", 5, 3, 2)
    status = {t: runs.actions()[i]["status"] for t, i in ids.items()}
    assert status == {"ADJUST_BASE": "submitted", "ENROLL_EMPLOYEE": "submitted", "CORRECT_WITHHOLDING": "dismissed",
                      "STOP_CONTRIBUTION": "open"}
    assert runs.actions()[ids["CORRECT_WITHHOLDING"]]["dismissed_reason"] == "已在4月工资中补扣"
    rejects = runs.con.execute("SELECT source_file, kind, sheet, row_number, reason_code, reason FROM ingest.rejects"
                               " ORDER BY reason_code").fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rejects] == [
        (path.name, "action_updates", "停止缴费", 1, "MISSING_FIELD"),
        (path.name, "action_updates", "调整缴费基数", 2, "UNKNOWN_VALUE")]
    assert UNKNOWN in rejects[1][5]
    # audited: file, row and user for every change
    user = getpass.getuser()
    audit = runs.con.execute("SELECT actor, command, target, allowed, reason FROM actions.audit"
                             " WHERE command = 'action_updates' ORDER BY target").fetchall()
    assert sorted(a[2] for a in audit) == sorted([ids["ADJUST_BASE"], ids["ENROLL_EMPLOYEE"], ids["CORRECT_WITHHOLDING"]])
    assert all(a[0] == user and a[3] and path.name in a[4] and "第1行" in a[4] for a in audit)
    rows = runs.con.execute("SELECT source_file, sheet, row_number, actor, applied, reason_code"
                            " FROM actions.workbook_updates ORDER BY sheet, row_number").fetchall()
    assert len(rows) == 5 and {r[3] for r in rows} == {user} and sum(r[4] for r in rows) == 3
    events = runs.con.execute("SELECT action_id, event, from_status, to_status, actor FROM actions.action_events"
                              " WHERE event IN ('submitted', 'dismissed') ORDER BY action_id").fetchall()
    assert len(events) == 3 and {e[4] for e in events} == {user}
    # the same file again is already loaded: nothing changes twice
    assert ingest_inbox(runs.con, inbox, returned=[ACTION_WORKBOOK]) == [{"source_file": path.name, "status": "already_loaded"}]
    # the next close: the base was fixed, the enrolment is still found -> resolved / stays submitted
    runs.run("2024-04", findings()[1:])
    status = {t: runs.actions()[i]["status"] for t, i in ids.items()}
    assert status == {"ADJUST_BASE": "resolved", "ENROLL_EMPLOYEE": "submitted", "CORRECT_WITHHOLDING": "dismissed",
                      "STOP_CONTRIBUTION": "open"}
    # the workbook shows the statuses and notes in Chinese
    book = openpyxl.load_workbook(write_workbook(runs.con, tmp_path / "after.xlsx"))
    header = [c.value for c in book["更正代扣"][1]]
    row = dict(zip(header, next(book["更正代扣"].iter_rows(min_row=2, values_only=True)), strict=True))
    assert (row["处理状态"], row["处理说明"]) == ("忽略", "已在4月工资中补扣")
    assert next(book["办理参保"].iter_rows(min_row=2, values_only=True))[1] == "已提交"


def test_a_user_who_may_not_dismiss_is_refused(runs, tmp_path):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    # this user is hr_staff in this warehouse (the roles table of SPEC §8)
    demote(runs.con, "hr_staff")
    inbox = tmp_path / "inbox"
    path = write_workbook(runs.con, inbox / "filled.xlsx")
    fill(path, {ids["CORRECT_WITHHOLDING"]: ("忽略", "不需要"), ids["ENROLL_EMPLOYEE"]: ("已提交", None)})
    ingest_inbox(runs.con, inbox, returned=[ACTION_WORKBOOK])
    assert runs.actions()[ids["CORRECT_WITHHOLDING"]]["status"] == "open"
    assert runs.actions()[ids["ENROLL_EMPLOYEE"]]["status"] == "submitted"
    assert runs.con.execute("SELECT reason_code FROM ingest.rejects").fetchall() == [("NOT_ALLOWED",)]
    assert runs.con.execute("SELECT allowed FROM actions.audit WHERE command = 'action_updates' AND NOT allowed"
                            ).fetchall() == [(False,)]


def test_submit_from_the_command_and_list_by_status(runs):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    assert submit(runs.con, ids["ENROLL_EMPLOYEE"], "已在网上办理", role="hr_staff")
    assert not submit(runs.con, ids["ENROLL_EMPLOYEE"], role="hr_staff")  # already
    with pytest.raises(ShebaoError, match="There is no action"):
        submit(runs.con, UNKNOWN)
    assert list_actions(runs.con, status="submitted")["action_id"].to_list() == [ids["ENROLL_EMPLOYEE"]]
    event = runs.con.execute("SELECT from_status, to_status, reason FROM actions.action_events"
                             " WHERE event = 'submitted'").fetchall()
    assert event == [("open", "submitted", "已在网上办理")]
    assert json.loads(runs.actions()[ids["ENROLL_EMPLOYEE"]]["d"])["name"] == "张三"


# ------------------------------------------------------------------- issue 30: roles, notes, odd rows

def _rejects(runs):  # noqa: F811
    return runs.con.execute("SELECT sheet, row_number, reason_code, reason FROM ingest.rejects ORDER BY ALL").fetchall()


def test_an_owner_without_a_passwd_entry_gets_no_role(runs, tmp_path):  # noqa: F811
    """The file's owner decides; a uid with no user name is not the (manager) user running shebao."""
    import os
    import pwd

    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    uid = next(u for u in range(54321, 60000) if not _has_passwd(pwd, u))
    path = write_workbook(runs.con, tmp_path / "inbox" / "filled.xlsx")
    fill(path, {ids["ENROLL_EMPLOYEE"]: ("已提交", None), ids["CORRECT_WITHHOLDING"]: ("忽略", "不需要")})
    os.chown(path, uid, -1)
    [load] = ingest_inbox(runs.con, tmp_path / "inbox", returned=[ACTION_WORKBOOK])
    assert (load["applied"], load["rows_rejected"]) == (0, 2)
    assert {a["status"] for a in runs.actions().values()} == {"open"}
    assert {r[2] for r in _rejects(runs)} == {"NOT_ALLOWED"}
    assert runs.con.execute("SELECT DISTINCT actor, role FROM actions.workbook_updates").fetchall() == [
        (f"uid{uid}", "none")]


def _has_passwd(pwd, uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


@pytest.mark.parametrize("role", ["finance", None])
def test_finance_or_no_role_cannot_submit_or_dismiss(runs, tmp_path, role):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    if role:
        demote(runs.con, role)
    else:
        from transforms.common.roles import caller, grant

        grant(runs.con, "boss", "hr_manager")
        runs.con.execute("DELETE FROM actions.roles WHERE user_name = ?", [caller()])
    path = write_workbook(runs.con, tmp_path / "inbox" / "filled.xlsx")
    fill(path, {ids["ENROLL_EMPLOYEE"]: ("已提交", None), ids["CORRECT_WITHHOLDING"]: ("忽略", "不需要")})
    ingest_inbox(runs.con, tmp_path / "inbox", returned=[ACTION_WORKBOOK])
    assert {a["status"] for a in runs.actions().values()} == {"open"}
    assert [r[2] for r in _rejects(runs)] == ["NOT_ALLOWED", "NOT_ALLOWED"]


@pytest.mark.parametrize("typed", ["430102199001011237", "４３０１０２１９９００１０１１２３７", "430102-19900101-1237"])
def test_an_id_typed_into_a_note_is_masked_everywhere_it_is_kept(runs, tmp_path, typed):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    path = write_workbook(runs.con, tmp_path / "inbox" / "filled.xlsx")
    fill(path, {ids["CORRECT_WITHHOLDING"]: ("忽略", f"此人{typed}已补扣"), ids["ENROLL_EMPLOYEE"]: ("已提交", typed)})
    ingest_inbox(runs.con, tmp_path / "inbox", returned=[ACTION_WORKBOOK])
    assert runs.actions()[ids["CORRECT_WITHHOLDING"]]["status"] == "dismissed"
    kept = runs.con.execute("SELECT string_agg(reason, '|') FROM actions.action_events").fetchone()[0]
    kept += runs.con.execute("SELECT string_agg(note, '|') FROM actions.workbook_updates").fetchone()[0]
    kept += str(runs.con.execute("SELECT list(dismissed_reason) FROM actions.cleanup_actions").fetchone()[0])
    assert "430102********1237" in kept
    text = "".join(str(c) for sheet in openpyxl.load_workbook(write_workbook(runs.con, tmp_path / "next.xlsx"))
                   for row in sheet.iter_rows(values_only=True) for c in row)
    assert "430102********1237" in text
    for shown in (kept, text):
        digits = "".join(ch for ch in __import__("unicodedata").normalize("NFKC", shown) if ch.isdigit() or ch == "|")
        assert "19900101" not in digits


def test_rejected_rows_name_the_action_the_excel_row_and_what_to_write(runs, tmp_path):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    path = write_workbook(runs.con, tmp_path / "inbox" / "filled.xlsx")
    fill(path, {ids["CORRECT_WITHHOLDING"]: ("做完了", None), ids["STOP_CONTRIBUTION"]: ("忽略", "\u200b \u200d")})
    ingest_inbox(runs.con, tmp_path / "inbox", returned=[ACTION_WORKBOOK])
    (_, n1, code1, text1), (_, n2, code2, text2) = _rejects(runs)
    assert (n1, code1) == (1, "MISSING_FIELD") and (n2, code2) == (1, "UNKNOWN_VALUE")  # zero-width is no reason
    assert "第2行" in text1 and ids["STOP_CONTRIBUTION"] in text1  # data row 1 is Excel's row 2
    assert "第2行" in text2 and ids["CORRECT_WITHHOLDING"] in text2 and "待处理、已提交 或 忽略" in text2


def test_two_rows_for_one_action_the_last_wins(runs, tmp_path):  # noqa: F811
    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    path = write_workbook(runs.con, tmp_path / "inbox" / "filled.xlsx")
    fill(path, {ids["CORRECT_WITHHOLDING"]: ("忽略", "先写的原因")},
         extra=("更正代扣", ids["CORRECT_WITHHOLDING"], "已提交"))
    ingest_inbox(runs.con, tmp_path / "inbox", returned=[ACTION_WORKBOOK])
    assert runs.actions()[ids["CORRECT_WITHHOLDING"]]["status"] == "submitted"
    assert [(r[1], r[2]) for r in _rejects(runs)] == [(1, "DUPLICATE_ROW")]
    assert runs.con.execute("SELECT count(*) FROM actions.action_events WHERE event IN ('submitted', 'dismissed')"
                            ).fetchone() == (1,)


def test_a_row_for_a_dismissed_action_and_an_overlong_note_are_reported(runs, tmp_path):  # noqa: F811
    from transforms.actions.cleanup import dismiss

    runs.run("2024-03", findings())
    ids = ids_by_type(runs)
    dismiss(runs.con, ids["ENROLL_EMPLOYEE"], "线下已办", role="hr_manager")
    path = write_workbook(runs.con, tmp_path / "inbox" / "filled.xlsx")
    fill(path, {ids["ENROLL_EMPLOYEE"]: ("已提交", None)})
    # a cell holds 32,767 characters (openpyxl cuts there too): a longer note comes as CSV
    (tmp_path / "inbox" / "notes.csv").write_text(f"动作编号,处理状态,处理说明\n{ids['CORRECT_WITHHOLDING']},忽略,{'长' * 32768}\n",
                                                 encoding="utf-8")
    ingest_inbox(runs.con, tmp_path / "inbox", returned=[ACTION_WORKBOOK])
    rejects = {r[2]: r[3] for r in _rejects(runs)}
    assert set(rejects) == {"NOT_ALLOWED", "TOO_LONG"}
    assert "忽略" in rejects["NOT_ALLOWED"] and "32767" in rejects["TOO_LONG"]
    assert runs.actions()[ids["ENROLL_EMPLOYEE"]]["status"] == "dismissed"
    assert runs.actions()[ids["CORRECT_WITHHOLDING"]]["status"] == "open"
