"""``shebao fleet run`` for real: three small clients closed two at a time, each as its own process and Prefect
flow run; one client fails and the others close; each client's outputs are those of closing it alone."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from sample import generate_inbox
from tests.flows.conftest import finish, shebao

PERIOD = "2024-03"
RUN_ID = re.compile(r"\d{8}T\d{6}\d*Z-[0-9a-f]{4}")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``shebao`` in a fresh process on the session's Prefect server, as the other CLI tests run it
    (tests/flows/conftest.py): the fleet's client processes inherit its address."""
    code, out, err = finish(shebao(*args, cwd=cwd))
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.fixture(scope="module")
def sample_inbox(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("fleet-sample") / "inbox"
    generate_inbox(inbox, 20, "2024-01", PERIOD)
    return inbox


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, sample_inbox) -> tuple[Path, subprocess.CompletedProcess]:
    clients = tmp_path_factory.mktemp("fleet") / "clients"
    for key, toml in (("alpha", 'name = "阿尔法科技"\n'), ("beta", 'name = "贝塔商贸"\n[roles]\nfleet_reader = "finance"\n'),
                      ("gamma", 'name = "伽马物流"\n')):
        (clients / key).mkdir(parents=True)
        (clients / key / "shebao.toml").write_text(toml, encoding="utf-8")
    for key in ("alpha", "beta"):
        shutil.copytree(sample_inbox, clients / key / "inbox")
    # gamma's inbox was never delivered: its close cannot run, and trying again would not help
    result = _cli("fleet", "run", "--clients", str(clients), "--period", PERIOD, "--workers", "2", cwd=clients)
    return clients, result


@pytest.mark.slow
def test_one_failing_client_never_stops_the_others(fleet):
    clients, result = fleet
    assert result.returncode == 1, result.stderr[-3000:]
    assert "1 of 3 clients did not close: gamma." in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    sheet = openpyxl.load_workbook(clients / "_fleet" / PERIOD / "fleet_summary.xlsx").active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert [rows[name][1] for name in ("阿尔法科技", "贝塔商贸", "伽马物流")] == ["已完成", "已完成", "失败"]
    assert rows["阿尔法科技"][2] > 0 and rows["阿尔法科技"][2:6] == rows["贝塔商贸"][2:6]  # same inbox, same figures
    assert rows["伽马物流"][12] == 1, "an input failure is not retried"
    assert "未重试" in rows["伽马物流"][-1]
    log = (clients / "gamma" / "out" / PERIOD / "fleet_close.log").read_text(encoding="utf-8")
    assert "inbox" in log and "does not exist" in log


@pytest.mark.slow
def test_the_fleet_read_copy_answers_across_clients(fleet):
    clients, _ = fleet
    con = duckdb.connect(str(clients / "_fleet" / "fleet_read.duckdb"), read_only=True)
    try:
        by_client = dict(con.execute("SELECT client, count(*) FROM ledger.contributions WHERE period = ?"
                                     " GROUP BY client", [PERIOD]).fetchall())
        ids = con.execute("SELECT DISTINCT id_number FROM ledger.contributions").fetchall()
    finally:
        con.close()
    assert set(by_client) == {"阿尔法科技", "贝塔商贸"} and by_client["阿尔法科技"] == by_client["贝塔商贸"] > 0
    assert all("*" in row[0] for row in ids if row[0]), "finance's copy: ID numbers masked"


@pytest.mark.slow
def test_client_roles_come_from_its_file(fleet):
    clients, _ = fleet
    con = duckdb.connect(str(clients / "beta" / "shebao.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT role FROM actions.roles WHERE user_name = 'fleet_reader'").fetchall() == [("finance",)]
    finally:
        con.close()
    alpha = duckdb.connect(str(clients / "alpha" / "shebao.duckdb"), read_only=True)
    try:
        assert alpha.execute("SELECT count(*) FROM actions.roles WHERE user_name = 'fleet_reader'").fetchone()[0] == 0
    finally:
        alpha.close()


def _cells(path: Path) -> list:
    """Every sheet's values, run ids and timestamps replaced (they name when a run happened, not what it found)."""
    book = openpyxl.load_workbook(path, read_only=True)
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            values.append([("<time>" if isinstance(v, datetime) else RUN_ID.sub("<run>", v) if isinstance(v, str)
                            else v) for v in row])
    book.close()
    return values


@pytest.mark.slow
def test_a_client_closed_in_the_fleet_writes_what_it_writes_alone(fleet, tmp_path):
    clients, _ = fleet
    alone = tmp_path / "alone"
    shutil.copytree(clients / "alpha" / "inbox", alone / "inbox")
    result = _cli("run", "--inbox", str(alone / "inbox"), "--period", PERIOD, "--warehouse",
                  str(alone / "shebao.duckdb"), "--out", str(alone / "out"), cwd=alone)
    assert result.returncode == 0, result.stderr[-3000:]
    fleet_out, alone_out = clients / "alpha" / "out" / PERIOD, alone / "out" / PERIOD
    files = sorted(p.relative_to(alone_out) for p in alone_out.rglob("*")
                   if p.is_file() and "data_docs" not in p.parts and not p.name.startswith("validation_report_"))
    assert files == sorted(p.relative_to(fleet_out) for p in fleet_out.rglob("*")
                           if p.is_file() and "data_docs" not in p.parts and p.name != "fleet_close.log"
                           and not p.name.startswith("validation_report_"))
    for name in files:
        if name.suffix == ".xlsx":  # the package records when it was written; the cells are what people read
            assert _cells(fleet_out / name) == _cells(alone_out / name), name
        else:
            assert (fleet_out / name).read_bytes() == (alone_out / name).read_bytes(), name
