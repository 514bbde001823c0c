"""Roles on ``report``, ``export`` and ``actions`` (through ``flows.cli.main``, as the console script runs it):
the HR manager sees full IDs when asking with --full-ids and may dismiss; HR staff see masked IDs and may not
dismiss; finance gets ledger exports with masked IDs and no findings. Every refusal is one sentence, exit 2,
and audited. Roles come from the operating-system user (SPEC §8): the tests change the roles table (grant
another name, take the current user down) rather than switch users."""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

FULL_ID = re.compile(r"(?<![0-9*])\d{17}[\dX](?![0-9])")
MASKED_ID = re.compile(r"(?<![0-9])\d{6}\*{8}[\dX]{4}")
PERIOD = "2024-03"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, acceptance_closed) -> Path:
    path = tmp_path_factory.mktemp("roles") / "w.duckdb"
    shutil.copy(acceptance_closed, path)  # dismissals and the audit write to it
    return path


@pytest.fixture()
def shebao(capfd, monkeypatch, tmp_path):
    """``shebao ARGS`` in this process: (exit code, stdout, stderr)."""
    from flows.cli import main

    monkeypatch.delenv("SHEBAO_WAREHOUSE_KEY", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        monkeypatch.setattr(sys, "argv", ["shebao", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capfd.readouterr()
        return code, out, err
    return run


def audit_rows(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT role, command, target, allowed FROM actions.audit ORDER BY occurred_at").fetchall()
    finally:
        con.close()


def _text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return "".join(archive.read(n).decode("utf-8", errors="replace") for n in archive.namelist())
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return "\n".join(str(v) for c in frame.columns for v in frame[c].to_list())
    return path.read_text(encoding="utf-8-sig")


def _refused(result: tuple[int, str, str], words: str) -> None:
    code, _, err = result
    assert code == 2, result
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and words in err, err


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
@pytest.mark.parametrize(("role", "full"), [("hr_manager", True), ("hr_staff", False), ("finance", False)])
def test_ledger_export_shows_full_ids_only_to_the_manager(warehouse, shebao, tmp_path, role, full, fmt):
    code, out, err = shebao("export", "--period", PERIOD, "--format", fmt, "--out", str(tmp_path / "x"), "--role",
                            role, "--warehouse", str(warehouse), *(["--full-ids"] if full else []))
    assert code == 0, err
    text = _text(tmp_path / "x" / f"ledger_{PERIOD}.{fmt}")
    assert bool(FULL_ID.search(text)) is full
    assert bool(MASKED_ID.search(text)) is not full  # masked as 430102********1234, not dropped
    assert not FULL_ID.search(out + err)


def test_report_by_role(warehouse, shebao, tmp_path):
    for role, full in (("hr_manager", True), ("hr_staff", False)):
        code, _, err = shebao("report", "--period", PERIOD, "--role", role, "--out", str(tmp_path / role),
                              "--warehouse", str(warehouse), *(["--full-ids"] if full else []))
        assert code == 0, err
        (html,) = (tmp_path / role / PERIOD).glob("*.html")
        text = html.read_text(encoding="utf-8")
        assert bool(FULL_ID.search(text)) is full
        assert full or MASKED_ID.search(text)
    _refused(shebao("report", "--period", PERIOD, "--role", "finance", "--out", str(tmp_path / "finance"),
                    "--warehouse", str(warehouse)), "finance")
    assert not (tmp_path / "finance" / PERIOD).exists() or not list((tmp_path / "finance" / PERIOD).glob("*.html"))
    assert ("finance", "report", PERIOD, False) in audit_rows(warehouse)


def test_action_list_and_dismissal_by_role(warehouse, shebao):
    code, staff, _ = shebao("actions", "list", "--role", "hr_staff", "--warehouse", str(warehouse))
    assert code == 0 and not FULL_ID.search(staff) and MASKED_ID.search(staff)
    code, manager, _ = shebao("actions", "list", "--full-ids", "--warehouse", str(warehouse))
    assert code == 0 and FULL_ID.search(manager)
    _refused(shebao("actions", "list", "--role", "finance", "--warehouse", str(warehouse)), "may not run `actions list`")
    action_id = manager.split()[0]
    for role in ("hr_staff", "finance"):
        _refused(shebao("actions", "dismiss", action_id, "--reason", "重复", "--role", role, "--warehouse",
                        str(warehouse)), "may not dismiss")
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT status FROM actions.cleanup_actions WHERE action_id = ?", [action_id]).fetchone() == (
        "open",), "a refused dismissal changed the action"
    con.close()
    code, _, err = shebao("actions", "dismiss", action_id, "--reason", "已线下处理", "--role", "hr_manager",
                          "--warehouse", str(warehouse))
    assert code == 0, err
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT status, dismissed_reason FROM actions.cleanup_actions WHERE action_id = ?",
                       [action_id]).fetchone() == ("dismissed", "已线下处理")
    con.close()
    rows = {(role, command, allowed) for role, command, _, allowed in audit_rows(warehouse)}
    assert {("hr_staff", "actions dismiss", False), ("finance", "actions dismiss", False),
            ("hr_manager", "actions dismiss", True), ("finance", "actions list", False)} <= rows


def test_unknown_role_is_a_sentence(warehouse, shebao, tmp_path):
    _refused(shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--role", "admin",
                    "--warehouse", str(warehouse)), "role 'admin' is unknown")


def test_audit_rows_carry_who_and_when(warehouse):
    """After the refusals above (module order): each audit row says who, as which role, and when."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("SELECT occurred_at, actor, role, command, allowed FROM actions.audit").fetchall()
    finally:
        con.close()
    assert rows and all(at is not None and actor for at, actor, _, _, _ in rows)


# ---------------------------------------------------------------- roles from the operating-system user (18.9)

def test_the_creator_of_a_warehouse_is_its_hr_manager(tmp_path):
    from transforms.common.roles import caller, granted_role
    from warehouse.db import connect

    con = connect(tmp_path / "new.duckdb")
    try:
        assert granted_role(con) == "hr_manager"
        assert con.execute("SELECT user_name, role, granted_by FROM actions.roles").fetchall() == [
            (caller(), "hr_manager", caller())]
    finally:
        con.close()


def test_the_manager_sees_masked_ids_unless_asking_and_the_asking_is_audited(warehouse, shebao, tmp_path):
    from transforms.common.roles import caller

    code, out, err = shebao("actions", "list", "--warehouse", str(warehouse))
    assert code == 0 and not FULL_ID.search(out) and MASKED_ID.search(out), err
    code, out, err = shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--warehouse",
                            str(warehouse))
    assert code == 0 and not FULL_ID.search(_text(tmp_path / f"ledger_{PERIOD}.csv")), err
    code, out, err = shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--full-ids",
                            "--warehouse", str(warehouse))
    assert code == 0 and FULL_ID.search(_text(tmp_path / f"ledger_{PERIOD}.csv")), err
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT actor, role, command, allowed FROM actions.audit WHERE reason = '--full-ids'").fetchall()
    con.close()
    assert (caller(), "hr_manager", "export", True) in rows


@pytest.fixture()
def demoted(tmp_path, acceptance_closed, shebao) -> Path:
    """A warehouse in which another user ("boss") is the HR manager and the current user is HR staff."""
    from transforms.common.roles import caller

    path = tmp_path / "demoted.duckdb"
    shutil.copy(acceptance_closed, path)
    assert shebao("roles", "grant", "boss", "hr_manager", "--warehouse", str(path))[0] == 0
    code, _, err = shebao("roles", "grant", caller(), "hr_staff", "--warehouse", str(path))
    assert code == 0, err
    return path


def test_role_cannot_be_raised_by_typing_it(demoted, shebao, tmp_path, monkeypatch):
    monkeypatch.setenv("USER", "boss")  # nor by claiming another user's name
    monkeypatch.setenv("LOGNAME", "boss")
    w = ["--warehouse", str(demoted)]
    _refused(shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--role", "hr_manager",
                    *w), "may only lower")
    _refused(shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--full-ids", *w),
             "may not see full ID numbers")
    _refused(shebao("report", "--period", PERIOD, "--role", "hr_manager", "--full-ids", "--out", str(tmp_path), *w),
             "may only lower")
    code, listed, _ = shebao("actions", "list", *w)
    assert code == 0 and listed and not FULL_ID.search(listed)
    _refused(shebao("actions", "dismiss", listed.split()[0], "--reason", "x", *w), "may not dismiss")
    _refused(shebao("actions", "dismiss", listed.split()[0], "--reason", "x", "--role", "hr_manager", *w),
             "may only lower")
    _refused(shebao("roles", "grant", "mallory", "hr_manager", *w), "needs hr_manager")
    code, _, err = shebao("export", "--period", PERIOD, "--format", "csv", "--out", str(tmp_path), "--role",
                          "finance", *w)  # lowering is fine
    assert code == 0, err
    refused = {(role, command) for role, command, _, allowed in audit_rows(demoted) if not allowed}
    assert {("hr_manager", "export"), ("hr_staff", "export"), ("hr_manager", "report"),
            ("hr_staff", "roles grant")} <= refused


def test_policy_override_is_for_managers_only(demoted, shebao, tmp_path):
    policy = tmp_path / "policy.csv"
    policy.write_text("地区,险种,生效月份,基数下限,基数上限,单位费率,个人费率\n长沙,养老,2024-01,3000,20000,0.16,0.08\n",
                      encoding="utf-8")
    _refused(shebao("ledger", "--period", PERIOD, "--policy", str(policy), "--warehouse", str(demoted)),
             "needs hr_manager")


def test_a_user_without_a_role_reads_nothing_personal(demoted, shebao, tmp_path):
    from transforms.common.roles import caller

    w = ["--warehouse", str(demoted)]
    # boss (the manager) revokes the current user: boss cannot run this machine's Python, so the table is
    # changed as `roles revoke` would
    con = duckdb.connect(str(demoted))
    con.execute("DELETE FROM actions.roles WHERE user_name = ?", [caller()])
    con.close()
    out = tmp_path / "out"
    for args in (("actions", "list"), ("export", "--period", PERIOD, "--format", "csv", "--out", str(out)),
                 ("report", "--period", PERIOD, "--out", str(out)), ("roles", "list")):
        _refused(shebao(*args, *w), "has no role")
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_grant_and_revoke_are_audited_and_keep_a_manager(warehouse, shebao):
    from transforms.common.roles import caller

    w = ["--warehouse", str(warehouse)]
    assert shebao("roles", "grant", "clerk", "finance", *w)[0] == 0
    code, out, _ = shebao("roles", "list", *w)
    assert code == 0 and "clerk\tfinance" in out and f"{caller()}\thr_manager" in out
    assert shebao("roles", "revoke", "clerk", *w)[0] == 0
    _refused(shebao("roles", "revoke", caller(), *w), "last HR manager")
    _refused(shebao("roles", "grant", "clerk", "admin", *w), "role 'admin' is unknown")
    rows = [(command, target, allowed) for _, command, target, allowed in audit_rows(warehouse)]
    assert ("roles grant", "clerk", True) in rows and ("roles revoke", "clerk", True) in rows


def test_warehouse_and_outputs_are_the_owners_alone(tmp_path, shebao, warehouse):
    import stat

    from warehouse.db import connect

    connect(tmp_path / "direct" / "w.duckdb").close()  # created by a function, not the CLI
    assert stat.S_IMODE((tmp_path / "direct" / "w.duckdb").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "direct").stat().st_mode) == 0o700
    code, _, err = shebao("export", "--period", PERIOD, "--format", "xlsx", "--out", str(tmp_path / "x" / "y"),
                          "--warehouse", str(warehouse))
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "x" / "y" / f"ledger_{PERIOD}.xlsx").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "x" / "y").stat().st_mode) == 0o700


def test_a_flow_run_without_the_cli_needs_a_role_too(demoted, prefect_harness, acceptance_dir, tmp_path):
    """A deployment's worker calls the flows directly: the close refuses a user with no role, and a
    policy override by anyone but an hr_manager, before it reads or writes anything."""
    from flows.close import monthly_close
    from transforms.common.roles import PermissionDenied, caller

    with pytest.raises(PermissionDenied, match="needs hr_manager"):
        monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(demoted),
                      out=str(tmp_path / "out"), policy=str(tmp_path / "policy.csv"))
    con = duckdb.connect(str(demoted))
    con.execute("DELETE FROM actions.roles WHERE user_name = ?", [caller()])
    con.close()
    with pytest.raises(PermissionDenied, match="has no role"):
        monthly_close(inbox=str(acceptance_dir / "inbox"), period=PERIOD, warehouse=str(demoted),
                      out=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- grants are verifiable (issue 30.4)

def test_a_role_row_no_audited_grant_explains_gives_no_role(tmp_path, shebao):
    """Anyone who can write the warehouse file can write its roles table; only rows an audited grant (or the
    warehouse's creation) explains count, so writing a row, or changing a granted one, gives nothing."""
    from transforms.common.roles import caller, grant, granted_role
    from warehouse.db import connect

    path = tmp_path / "w.duckdb"
    con = connect(path)
    try:
        grant(con, "boss", "hr_manager")
        grant(con, caller(), "hr_staff")
        granted = con.execute("SELECT actor, role, command, target, reason FROM actions.audit WHERE allowed"
                              " ORDER BY occurred_at").fetchall()
        assert granted == [(caller(), "hr_manager", "create warehouse", caller(), "hr_manager"),
                           (caller(), "hr_manager", "roles grant", "boss", "hr_manager"),
                           (caller(), "hr_manager", "roles grant", caller(), "hr_staff")]  # who, what, when
        assert granted_role(con) == "hr_staff" and granted_role(con, "boss") == "hr_manager"
        # the staff member raises themselves, adds a friend, and writes a matching-looking row by hand
        con.execute("UPDATE actions.roles SET role = 'hr_manager' WHERE user_name = ?", [caller()])
        con.execute("INSERT INTO actions.roles SELECT 'mallory', 'hr_manager', granted_by, granted_at"
                    " FROM actions.roles WHERE user_name = 'boss'")
        assert granted_role(con) is None and granted_role(con, "mallory") is None
        assert granted_role(con, "boss") == "hr_manager"
    finally:
        con.close()
    code, _, err = shebao("actions", "list", "--warehouse", str(path))
    assert code == 2 and "has no role" in err


def test_a_revoked_row_written_back_gives_no_role(tmp_path):
    from transforms.common.roles import grant, granted_role, revoke
    from warehouse.db import connect

    con = connect(tmp_path / "w.duckdb")
    try:
        grant(con, "clerk", "finance")
        row = con.execute("SELECT * FROM actions.roles WHERE user_name = 'clerk'").fetchall()
        revoke(con, "clerk")
        con.execute("INSERT INTO actions.roles VALUES (?, ?, ?, ?)", list(row[0]))
        assert granted_role(con, "clerk") is None
    finally:
        con.close()


def test_an_upgraded_warehouse_keeps_its_roles(tmp_path):
    """Before migration 025 a grant's audit row came a moment after its role row, and the creator's row had
    none: the upgrade explains the rows it finds, and later grants work as ever."""
    from datetime import datetime, timedelta
    from pathlib import Path

    from transforms.common.roles import caller, grant, granted_role
    from warehouse.db import connect
    from warehouse.sql import sql_text

    con = connect(tmp_path / "w.duckdb")
    try:
        con.execute("DELETE FROM actions.audit")  # as built by earlier code
        at = datetime.now()
        con.execute("INSERT INTO actions.roles VALUES ('clerk', 'finance', ?, ?)", [caller(), at])
        con.execute("INSERT INTO actions.audit VALUES (?, ?, 'hr_manager', 'roles grant', 'clerk', true, 'finance')",
                    [at + timedelta(milliseconds=3), caller()])
        assert granted_role(con) is None and granted_role(con, "clerk") is None
        con.execute(sql_text(Path(__file__).parents[2] / "warehouse" / "migrations" / "025_role_grants.sql"))
        assert granted_role(con) == "hr_manager" and granted_role(con, "clerk") == "finance"
        grant(con, "clerk", "hr_staff")
        assert granted_role(con, "clerk") == "hr_staff"
    finally:
        con.close()
