"""``shebao run``, ``backfill`` in their own processes: exit codes, sentences (two runs at once and ``demo``:
test_close_cli_concurrent.py and test_close_cli_demo.py, so pytest-xdist can run them on the other worker)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PERIOD, finish, query, shebao


@pytest.mark.parametrize("case", ["missing inbox", "unreadable policy", "bad period", "backwards range"])
def test_a_close_that_cannot_run_says_why_in_one_sentence(case, tmp_path, acceptance_dir):
    policy = tmp_path / "policy.csv"
    policy.write_bytes(b"\x00\x01 not a policy")
    inbox = str(acceptance_dir / "inbox")
    args, says = {
        "missing inbox": (["run", "--inbox", str(tmp_path / "nowhere"), "--period", PERIOD], "does not exist"),
        "unreadable policy": (["run", "--inbox", inbox, "--period", PERIOD, "--policy", str(policy)], "policy.csv"),
        "bad period": (["run", "--inbox", inbox, "--period", "2024-3"], "not a month like 2024-03"),
        "backwards range": (["backfill", "--inbox", inbox, "--from", "2024-03", "--to", "2024-01"], "before"),
    }[case]
    code, out, err = finish(shebao(*args, "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path), 300)
    assert code == 2, err[-2000:]
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "w.duckdb").exists()  # stopped before anything was written


def test_a_locked_warehouse_is_refused_with_the_holders_pid(tmp_path, acceptance_dir):
    from flows.lock import warehouse_lock

    warehouse = tmp_path / "w.duckdb"
    with warehouse_lock(warehouse):
        code, _, err = finish(shebao("run", "--inbox", str(acceptance_dir / "inbox"), "--period", PERIOD,
                                      "--warehouse", str(warehouse), "--wait", "1", cwd=tmp_path), 300)
    assert code == 2
    assert f"The warehouse {warehouse} is being written by another shebao run (pid " in err
    assert "try again when it finishes." in err and "Traceback" not in err


# ------------------------------------------------ --role and --full-ids on `run`, checked before any work (30.1)

FULL_ID = r"(?<![0-9*])\d{17}[\dX](?![0-9])"


def _demoted(acceptance_ingested: Path, tmp_path: Path) -> Path:
    """A copy of the ingested acceptance warehouse in which "boss" is the HR manager and this user HR staff,
    granted as `shebao roles grant` grants (audited)."""
    from transforms.common.roles import caller, grant
    from warehouse.db import opened

    path = tmp_path / "demoted.duckdb"
    shutil.copy(acceptance_ingested, path)
    with opened(path) as con:
        grant(con, "boss", "hr_manager")
        grant(con, caller(), "hr_staff")
    return path


def _one_sentence(result: tuple[int, str, str], words: str) -> None:
    code, _, err = result
    assert code == 2, err[-3000:]
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err[-3000:]


def test_run_refuses_a_raised_role_or_full_ids_before_any_work(tmp_path, acceptance_dir, acceptance_ingested):
    warehouse = _demoted(acceptance_ingested, tmp_path)
    loads = query(warehouse, "SELECT count(*) FROM ingest.loads")
    base = ("run", "--inbox", str(acceptance_dir / "inbox"), "--period", PERIOD, "--warehouse", str(warehouse),
            "--out", str(tmp_path / "out"))
    _one_sentence(finish(shebao(*base, "--role", "hr_manager", "--full-ids", cwd=tmp_path), 300), "may only lower")
    _one_sentence(finish(shebao(*base, "--full-ids", cwd=tmp_path), 300), "may not see full ID numbers")
    _one_sentence(finish(shebao(*base, "--role", "finance", cwd=tmp_path), 300), "may not run `run`")
    assert not (tmp_path / "out").exists()
    assert query(warehouse, "SELECT count(*) FROM ingest.loads") == loads  # nothing ingested
    refused = query(warehouse, "SELECT role, reason FROM actions.audit WHERE command = 'run' AND NOT allowed")
    assert ("hr_manager", "--role above the granted role") in refused
    assert ("hr_staff", "--full-ids needs hr_manager") in refused and ("finance", "needs hr_staff") in refused


@pytest.mark.slow
def test_the_managers_own_run_with_full_ids_works_end_to_end(tmp_path, acceptance_dir, acceptance_ingested):
    import re
    import zipfile

    from transforms.common.roles import caller

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_ingested, warehouse)  # its creator (this user) is its hr_manager
    code, out, err = finish(shebao("run", "--inbox", str(acceptance_dir / "inbox"), "--period", PERIOD,
                                    "--policy", str(acceptance_dir / "policy.csv"), "--warehouse", str(warehouse),
                                    "--out", str(tmp_path / "out"), "--full-ids", cwd=tmp_path))
    assert code == 0, err[-3000:]
    with zipfile.ZipFile(tmp_path / "out" / PERIOD / "actions.xlsx") as book:
        text = "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    assert re.search(FULL_ID, text)
    assert (caller(), "hr_manager", True) in query(
        warehouse, "SELECT actor, role, allowed FROM actions.audit WHERE command = 'run' AND reason = '--full-ids'")


def test_a_failure_inside_the_close_is_the_sentence_without_prefects_tracebacks(tmp_path, acceptance_ingested):
    """A task that fails (here: the out folder cannot be written) logs its traceback at ERROR; without
    --verbose the console shows the stages and the one sentence, not ~150 lines before it (issue 30)."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_ingested, warehouse)
    (tmp_path / "inbox").mkdir()
    code, _, err = finish(shebao("run", "--inbox", str(tmp_path / "inbox"), "--period", PERIOD, "--warehouse",
                                  str(warehouse), "--out", "/sys/kernel/shebao-out", cwd=tmp_path), 600)
    assert code == 2, err[-3000:]
    assert "Traceback" not in err and "ERROR" not in err, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("shebao: ") and len(err.strip().splitlines()) <= 8, err


def test_run_names_the_files_it_could_not_load(con, tmp_path, capsys):
    """Issue 30.6: `run` prints what `ingest` prints of files not loaded, from the close's own ingest summary
    (flows.ingest.summarise over a real ingest of an inbox holding a file of no known kind)."""
    from flows.cli_close import _print_ingest
    from flows.ingest import summarise
    from transforms.ingest.inbox import ingest_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "说明.csv").write_text("备注,内容\n1,无\n", encoding="utf-8")
    (inbox / "工资.csv").write_text("工号,姓名,身份证号,应发工资\nE1,王芳,430102199001011237,9000\n", encoding="utf-8")
    _print_ingest(summarise(ingest_inbox(con, inbox), {}))
    out = capsys.readouterr().out
    assert "Files NOT loaded (1):" in out and "说明.csv: unrecognized" in out
    assert "Files loaded in part (1):" in out and "工资.csv: 1 of 1 rows rejected" in out


def test_a_bad_setting_met_inside_the_close_is_one_sentence(tmp_path, acceptance_dir):
    """Issue 30 (medium): a bad setting the close meets only once it runs (the ingest's chunk size) is the
    setting's sentence, exit 2, never retried, without the ~150 lines of Prefect's logs before it."""
    code, _, err = finish(shebao("run", "--inbox", str(acceptance_dir / "inbox"), "--period", PERIOD, "--warehouse",
                                  str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "out"), cwd=tmp_path,
                                  env={"SHEBAO_INGEST_CHUNK_ROWS": "many"}), 600)
    assert code == 2, err[-3000:]
    assert "Traceback" not in err and "ERROR" not in err and "Retrying" not in err, err[-3000:]
    lines = err.strip().splitlines()
    assert lines[-1].startswith("shebao: ") and "SHEBAO_INGEST_CHUNK_ROWS" in lines[-1] and len(lines) <= 8, err
