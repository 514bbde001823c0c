"""Client folders, the fleet summary (opened as finance opens it) and the fleet read copy."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from transforms.outputs.fleet import (
    FLEET_READ_FILE,
    SUMMARY_HEADERS,
    Client,
    client_figures,
    load_client,
    load_clients,
    write_fleet_read_copy,
    write_fleet_summary,
)
from warehouse.errors import InputError


def _client(root: Path, key: str, toml: str) -> Path:
    folder = root / key
    folder.mkdir(parents=True)
    (folder / "shebao.toml").write_text(toml, encoding="utf-8")
    return folder


def test_a_client_folder_gives_its_name_inbox_policy_and_roles(tmp_path):
    folder = _client(tmp_path, "acme", 'name = "星城智造"\npolicy = "p.csv"\n[roles]\nhr_li = "hr_staff"\n')
    (folder / "p.csv").write_text("region\n", encoding="utf-8")
    client = load_client(folder)
    assert (client.key, client.name, client.inbox, client.policy) == ("acme", "星城智造", folder / "inbox",
                                                                      folder / "p.csv")
    assert client.roles == {"hr_li": "hr_staff"} and client.warehouse == folder / "shebao.duckdb"


@pytest.mark.parametrize(("toml", "words"), [
    ('name = "a"\ncolour = "red"\n', "unknown setting 'colour'"),
    ('[roles]\nhr_li = "boss"\n', "role 'boss' of hr_li is unknown"),
    ('policy = "missing.csv"\n', "names the policy file missing.csv"),
    ('name = \n', "is not valid TOML"),
    ("name = 3\n", "name must be text"),
])
def test_a_client_file_mistake_is_one_sentence_naming_the_file(tmp_path, toml, words):
    folder = _client(tmp_path, "acme", toml)
    with pytest.raises(InputError) as caught:
        load_client(folder)
    assert words in str(caught.value) and str(folder) in str(caught.value)


def test_clients_are_the_folders_with_a_client_file_in_name_order(tmp_path):
    for key in ("b", "a"):
        _client(tmp_path, key, "")
    (tmp_path / "_fleet").mkdir()  # the summary's own folder is no client
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert [c.key for c in load_clients(tmp_path)] == ["a", "b"]
    with pytest.raises(InputError, match="holds no client folder"):
        load_clients(tmp_path / "_fleet")
    with pytest.raises(InputError, match="does not exist"):
        load_clients(tmp_path / "nowhere")


def _fake_read_copy(client: Client, people: list[tuple[str, str, str, str]], findings: dict[str, int],
                    open_actions: int) -> None:
    """A client's read copy as a close writes it: Parquet per relation and period, views over them."""
    tables = client.out / "tables"
    ledger = tables / "ledger.contributions" / "period=2024-03"
    ledger.mkdir(parents=True)
    findings_dir = tables / "quality.findings" / "period=2024-03"
    findings_dir.mkdir(parents=True)
    actions_dir = tables / "actions.cleanup_actions"
    actions_dir.mkdir(parents=True)
    con = duckdb.connect()
    rows = ", ".join(f"('{e}', '{i}', 'pension', {a}::DECIMAL(14,2), {b}::DECIMAL(14,2), 'secondary')"
                     for e, i, a, b in people)
    con.execute(f"COPY (SELECT * FROM (VALUES {rows}) t(entity, employee_id, insurance_type, employer_amount,"
                f" employee_amount, policy_verified)) TO '{ledger / 'data.parquet'}'")
    finding_rows = ", ".join(f"('r2', '{sev}')" for sev, n in findings.items() for _ in range(n))
    con.execute(f"COPY (SELECT * FROM (VALUES ('r1', 'error'), {finding_rows}) t(run_id, severity))"
                f" TO '{findings_dir / 'data.parquet'}'")
    con.execute(f"COPY (SELECT 'open' AS status FROM range({open_actions}) UNION ALL SELECT 'resolved')"
                f" TO '{actions_dir / 'data.parquet'}'")
    con.close()
    read = duckdb.connect(str(client.out / "shebao_read.duckdb"))
    for schema, name, path in (("ledger", "contributions", ledger), ("quality", "findings", findings_dir),
                               ("actions", "cleanup_actions", actions_dir)):
        read.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        read.execute(f"CREATE VIEW {schema}.{name} AS SELECT *, '2024-03' AS period FROM '{path}/data.parquet'")
    read.close()


@pytest.fixture
def two_clients(tmp_path) -> list[Client]:
    a = load_client(_client(tmp_path / "clients", "a", 'name = "甲公司"\n'))
    b = load_client(_client(tmp_path / "clients", "b", 'name = "乙公司"\n'))
    _fake_read_copy(a, [("甲", "E1", "100.10", "40.05"), ("甲", "E2", "200.00", "80.00")], {"error": 2, "warning": 1}, 3)
    _fake_read_copy(b, [("乙", "E1", "50.00", "20.00")], {"warning": 4}, 0)
    return [a, b]


def test_client_figures_read_the_latest_run_and_net_amounts(two_clients):
    figures = client_figures(two_clients[0], "2024-03")
    assert figures["people"] == 2 and figures["employer_amount"] == Decimal("300.10")
    assert figures["employee_amount"] == Decimal("120.05") and figures["total_amount"] == Decimal("420.15")
    assert (figures["errors"], figures["warnings"], figures["open_actions"]) == (2, 1, 3)  # run r1 is older
    assert figures["policy_secondary"] == 2 and figures["policy_assumed"] == 0
    assert client_figures(two_clients[1], "2024-02")["people"] == 0


def test_the_fleet_summary_reads_in_chinese_with_its_totals(two_clients, tmp_path):
    rows = [{"client": c.name, "status": status, "attempts": 1, "seconds": 1.5, "note": note,
             **client_figures(c, "2024-03")}
            for c, status, note in zip(two_clients, ["completed", "failed"], ["", "月结失败：请查看运行日志"],
                                       strict=True)]
    files = write_fleet_summary(rows, tmp_path / "fleet", "2024-03")
    sheet = openpyxl.load_workbook(files["xlsx"]).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == list(SUMMARY_HEADERS.values())
    assert values[1][:6] == ["甲公司", "已完成", 2, 300.1, 120.05, 420.15]
    assert values[2][1] == "失败" and values[2][-1] == "月结失败：请查看运行日志"
    html = Path(files["html"]).read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>|\{[^}]*\}", " ", html.split("<body>")[1])
    assert not re.findall(r"[A-Za-z]{2,}", text), "the page shows no English word, code or None"
    assert "490.15" in html and "合计" in html  # the grand total of both clients


def test_the_fleet_read_copy_queries_every_client_at_once(two_clients, tmp_path):
    result = write_fleet_read_copy(two_clients, tmp_path / "fleet")
    assert Path(result["path"]).name == FLEET_READ_FILE and "ledger.contributions" in result["relations"]
    con = duckdb.connect(result["path"], read_only=True)
    try:
        totals = con.execute("SELECT client, count(*), sum(employer_amount) FROM ledger.contributions"
                             " GROUP BY client ORDER BY client").fetchall()
        comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'contributions'").fetchone()[0]
    finally:
        con.close()
    assert sorted(totals, key=str) == sorted([("甲公司", 2, Decimal("300.10")), ("乙公司", 1, Decimal("50.00"))], key=str)
    assert "every client" in comment
