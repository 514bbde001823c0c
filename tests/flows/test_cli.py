"""The ``shebao`` entry point: usage mistakes are one sentence and exit 2 with nothing written; ``--version``;
read commands never create a warehouse; ``actions list --format``; the close's console in words."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import command_env

REPO = Path(__file__).resolve().parents[2]


def shebao(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.launch", *args], cwd=cwd, capture_output=True, text=True,
                          env=command_env(env), timeout=300)


@pytest.mark.parametrize(("args", "sentence"), [
    (["nosuch"], "shebao: no such command 'nosuch'; see `shebao --help`."),
    (["run", "--inbox", "in", "--period", "2024-03", "--nope"], "shebao run: no such option: --nope"),
    (["run", "--inbox", "in"], "shebao run: missing option '--period'; see `shebao run --help`."),
    (["demo", "--employees", "many"], "shebao demo: invalid value for '--employees': Input should be a valid integer"),
    (["actions", "list", "--format", "xml"], "shebao actions list: invalid value for '--format'"),
    (["actions", "dismiss"], "shebao actions dismiss: missing argument 'action_id'"),
])
def test_a_usage_mistake_is_one_sentence_exit_2_and_writes_nothing(args, sentence, tmp_path):
    result = shebao(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(sentence), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no shebao-error.log, no warehouse


def test_version(tmp_path):
    from importlib.metadata import version

    result = shebao("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"shebao {version('shebao')}"


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("SHEBAO_LOCK_WAIT", "abc", "is not a number of seconds"),
    ("SHEBAO_LOCK_WAIT", "nan", "is not a number of seconds"),   # was: waits forever
    ("SHEBAO_LOCK_WAIT", "-1", "is not a number of seconds"),
    ("SHEBAO_DUCKDB_MEMORY", "1KB", "is too small"),             # was: blamed on "another shebao run"
    ("SHEBAO_DUCKDB_MEMORY", "60MB", "is too small"),            # was: out of memory mid-close
    ("SHEBAO_DUCKDB_MEMORY", "lots", "is not a memory size"),
])
def test_a_bad_setting_is_one_sentence_naming_the_variable(variable, value, words, tmp_path, acceptance_closed):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    result = shebao("actions", "list", "--warehouse", str(warehouse), cwd=tmp_path, env={variable: value})
    assert result.returncode == 2
    assert result.stderr.strip() == f"shebao: {variable}={value!r} {words}; " + {
        "SHEBAO_LOCK_WAIT": "set it to a number of seconds, e.g. 30 (0 = try once).",
        "SHEBAO_DUCKDB_MEMORY": "set it to at least 256MB, e.g. 2GB."}[variable]


@pytest.mark.parametrize("command", [["actions", "list"], ["report", "--period", "2024-03"],
                                     ["export", "--period", "2024-03"]])
def test_a_read_command_on_a_missing_warehouse_creates_nothing(command, tmp_path):
    missing = tmp_path / "typo" / "a" / "b" / "w.duckdb"
    result = shebao(*command, "--warehouse", str(missing), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"shebao: The warehouse {missing} does not exist;"), result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture()
def cli(capfd, monkeypatch, tmp_path):
    """``shebao ARGS`` in this process: (exit code, stdout, stderr)."""
    from flows.cli import main

    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capfd.readouterr()
        return code, out, err
    return run


def test_actions_list_as_json_and_csv(cli, tmp_path, acceptance_closed):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    code, table, _ = cli("actions", "list", "--warehouse", str(warehouse))
    assert code == 0
    code, out, _ = cli("actions", "list", "--warehouse", str(warehouse), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == len(table.strip().splitlines()) > 0
    assert {"action_id", "action_type", "status", "id_number"} <= rows[0].keys()
    assert [row["action_id"] for row in rows] == [line.split()[0] for line in table.strip().splitlines()]
    code, out, _ = cli("actions", "list", "--warehouse", str(warehouse), "--format", "csv", "--status", "open")
    assert code == 0
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert parsed and {row["status"] for row in parsed} == {"open"}
    assert all("*" in row["id_number"] for row in parsed if row["id_number"])  # masked by default


def test_validate_with_a_relative_out_folder(cli, tmp_path, acceptance_closed, prefect_harness):
    """Issue 18 item 11: `shebao validate --period P --out val`, as the README shows, failed inside GX."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    code, out, err = cli("validate", "--period", "2024-03", "--out", "val", "--warehouse", str(warehouse))
    assert code == 0, err
    assert (tmp_path / "val" / "2024-03" / "data_docs" / "index.html").is_file()
    assert f"Report: {tmp_path / 'val' / '2024-03'}" in out


def test_the_orchestrators_logs_only_with_verbose(tmp_path, acceptance_ingested, acceptance_dir):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_ingested, warehouse)  # every file loaded before: a quick ingest
    args = ("ingest", "--inbox", str(acceptance_dir / "inbox"), "--warehouse", str(warehouse))
    quiet = shebao(*args, cwd=tmp_path)
    assert quiet.returncode == 0 and "0 staged" in quiet.stdout, quiet.stderr
    assert quiet.stderr.startswith("✓ ingest the inbox") and len(quiet.stderr.strip().splitlines()) == 1, quiet.stderr
    verbose = shebao("--verbose", *args, cwd=tmp_path)
    assert verbose.returncode == 0 and "Flow run '" in verbose.stderr and "Task run '" in verbose.stderr, verbose.stderr


def test_an_id_in_the_inbox_folder_name_never_reaches_prefects_parameters(tmp_path, prefect_harness, capfd,
                                                                            monkeypatch, acceptance_dir):
    """Prefect keeps every flow run's parameters: an inbox named after a person goes in as an opaque
    reference (issue 30.3), and the files in it are still read."""
    import asyncio

    from prefect.client.orchestration import get_client

    from flows.cli import main

    person = "430102199001011237"
    inbox = tmp_path / f"收件箱-{person}"
    inbox.mkdir()
    for source in sorted((acceptance_dir / "inbox").iterdir())[:3]:
        shutil.copy(source, inbox)
    monkeypatch.delenv("SHEBAO_WAREHOUSE_KEY", raising=False)
    monkeypatch.setattr(sys, "argv", ["shebao", "ingest", "--inbox", str(inbox), "--warehouse",
                                      str(tmp_path / "w.duckdb")])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), capfd.readouterr().err[-2000:]

    async def parameters() -> str:
        async with get_client() as client:
            runs = await client.read_flow_runs()
        return json.dumps([run.parameters for run in runs if run.name and run.flow_id], ensure_ascii=False)

    stored = asyncio.run(parameters())
    assert "folder:" in stored and person not in stored
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM ingest.loads WHERE status = 'loaded'").fetchone()[0] > 0
    con.close()


def test_actions_list_csv_neutralises_formulas_and_says_why_dismissed(cli, tmp_path, acceptance_closed):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(acceptance_closed, warehouse)
    w = ("--warehouse", str(warehouse))
    code, table, _ = cli("actions", "list", *w)
    first, second = [line.split()[0] for line in table.strip().splitlines()[:2]]
    code, _, err = cli("actions", "dismiss", first, "--reason", "\u200b\u200d \u2060", *w)
    assert code == 2 and "needs a reason" in err and len(err.strip().splitlines()) == 1
    formula = '=HYPERLINK("http://x.example","点此")'
    assert cli("actions", "dismiss", first, "--reason", formula, *w)[0] == 0
    assert cli("actions", "dismiss", second, "--reason", "身份证 430102199001011237 已核对", *w)[0] == 0
    code, out, _ = cli("actions", "list", "--status", "dismissed", "--format", "csv", *w)
    rows = {row["action_id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert rows[first]["dismissed_reason"] == "'" + formula  # shown as text, not run
    assert rows[second]["dismissed_reason"] == "身份证 430102********1237 已核对"
    code, out, _ = cli("actions", "list", "--status", "dismissed", "--format", "json", *w)
    assert {row["action_id"]: row["dismissed_reason"] for row in json.loads(out)}[first] == formula


def test_a_damaged_warehouse_is_one_sentence_exit_2(cli, tmp_path, acceptance_closed):
    """Blocks overwritten on disk (a bad sector, a copy cut short): whichever block a command meets, it
    says the warehouse is damaged and what to do (exit 2), never "an unexpected IOException" (issue 30)."""
    size = acceptance_closed.stat().st_size
    outcomes = set()
    for fraction in (0.15, 0.35, 0.55, 0.75, 0.95):
        warehouse = tmp_path / f"damaged_{fraction}.duckdb"
        data = bytearray(acceptance_closed.read_bytes())
        at = int(size * fraction) // 262144 * 262144 + 8
        data[at:at + 200_000] = b"\xff" * len(data[at:at + 200_000])
        warehouse.write_bytes(bytes(data))
        code, _, err = cli("export", "--period", "2024-03", "--format", "csv", "--out", str(tmp_path / "x"),
                           "--warehouse", str(warehouse))
        outcomes.add(code)
        assert code in (0, 2), err
        if code == 2:
            assert "is damaged" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert 2 in outcomes
