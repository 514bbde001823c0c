"""A fleet of clients (tenants): each a folder with its own inbox, warehouse, settings and outputs.

An HR-outsourcing or payroll-service firm closes many client companies each month. A client never shares a
warehouse with another, so no client's people can appear in another's files. A client folder holds::

    <clients>/<client>/shebao.toml     name, policy file, roles (below); its presence makes the folder a client
    <clients>/<client>/inbox/          the client's extract files (``inbox`` in the file can name another folder)
    <clients>/<client>/shebao.duckdb   the client's warehouse (made by its first close)
    <clients>/<client>/out/            the client's reports, workbooks, exports and read copy

``shebao.toml``::

    name = "星城智造"              # shown in the fleet summary (default: the folder's name)
    policy = "policy.csv"         # optional: the client's policy overrides, relative to its folder
    inbox = "inbox"               # optional
    [roles]                       # optional: OS user -> role in this client's warehouse (granted, audited)
    hr_li = "hr_staff"

What the operator and finance read across clients (the fleet summary, the fleet read copy) is built here
from each client's own read copy, which already masks ID numbers as for finance (SPEC §8): the summary
holds counts and amounts only, and a client's HR keeps reading their client's own outputs alone.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from transforms.common.periods import check_period
from transforms.common.spreadsheet import new_workbook, write_sheet
from transforms.common.templating import page
from transforms.outputs.read_copy import READ_FILE, TABLES
from warehouse.db import scalar
from warehouse.errors import InputError

CLIENT_FILE = "shebao.toml"
SUMMARY_STEM = "fleet_summary"
FLEET_READ_FILE = "fleet_read.duckdb"
ROLES = ("hr_manager", "hr_staff", "finance")
KEYS = {"name", "policy", "inbox", "roles"}

# A client's close ends in one of these; the summary shows the Chinese word.
STATUS_ZH = {"completed": "已完成", "failed": "失败", "not_run": "未运行"}
VERIFIED_ZH = {"official": "官方核实", "secondary": "二手来源", "assumed": "推定"}


@dataclass(frozen=True)
class Client:
    key: str                 # the folder's name: unique in the fleet, used in file and run names
    name: str                # what people read
    folder: Path
    inbox: Path
    policy: Path | None
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return self.folder / "shebao.duckdb"

    @property
    def out(self) -> Path:
        return self.folder / "out"


def load_client(folder: Path) -> Client:
    """One client from its folder's ``shebao.toml``; a mistake in it is one sentence naming the file."""
    folder = Path(folder).resolve()
    path = folder / CLIENT_FILE
    if not path.is_file():
        raise InputError(f"{folder} is not a client folder: it has no {CLIENT_FILE}.")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML ({exc}); fix the line it names.") from None
    unknown = sorted(set(config) - KEYS)
    if unknown:
        raise InputError(f"{path} has the unknown setting {unknown[0]!r}; use only {', '.join(sorted(KEYS))}.")
    for key in ("name", "policy", "inbox"):
        if key in config and not isinstance(config[key], str):
            raise InputError(f"{path}: {key} must be text in quotes.")
    roles = config.get("roles", {})
    if not isinstance(roles, dict):
        raise InputError(f"{path}: roles must be a table, [roles] with one `user = \"role\"` line each.")
    for user, role in roles.items():
        if role not in ROLES:
            raise InputError(f"{path}: the role {role!r} of {user} is unknown; use one of {', '.join(ROLES)}.")
    policy = (folder / config["policy"]).resolve() if config.get("policy") else None
    if policy is not None and not policy.is_file():
        raise InputError(f"{path} names the policy file {config['policy']}, which is not in {folder}.")
    return Client(key=folder.name, name=(config.get("name") or folder.name).strip() or folder.name, folder=folder,
                  inbox=(folder / config.get("inbox", "inbox")).resolve(), policy=policy, roles=dict(roles))


def load_clients(clients: Path) -> list[Client]:
    """Every client folder directly under ``clients`` (a folder with a ``shebao.toml``), in name order."""
    clients = Path(clients)
    if not clients.is_dir():
        raise InputError(f"The clients folder {clients} does not exist; pass --clients with the folder holding "
                         f"one folder per client.")
    found = [load_client(entry) for entry in sorted(clients.iterdir())
             if entry.is_dir() and not entry.name.startswith(".") and (entry / CLIENT_FILE).is_file()]
    if not found:
        raise InputError(f"{clients} holds no client folder (a folder with a {CLIENT_FILE}); see docs/fleet.md.")
    return found


# ------------------------------------------------------------------------------------------- the summary

SUMMARY_HEADERS = {
    "client": "客户", "status": "状态", "people": "入账人数", "employer_amount": "单位缴费合计",
    "employee_amount": "个人缴费合计", "total_amount": "缴费合计", "errors": "错误", "warnings": "警告",
    "open_actions": "待处理事项", "policy_official": "官方核实人数", "policy_secondary": "二手来源人数",
    "policy_assumed": "推定政策人数", "attempts": "运行次数", "seconds": "用时(秒)", "note": "说明",
}
MONEY = frozenset({"employer_amount", "employee_amount", "total_amount"})
COUNTS = ("people", "errors", "warnings", "open_actions", "policy_official", "policy_secondary", "policy_assumed")


def client_figures(client: Client, period: str) -> dict:
    """People, amounts, findings by severity, open actions and the policy marks of ``period`` from the
    client's read copy (zeros where the client has none yet)."""
    figures: dict = dict.fromkeys(COUNTS, 0) | dict.fromkeys(MONEY, Decimal("0.00"))
    read_file = client.out / READ_FILE
    if not read_file.is_file():
        return figures
    con = duckdb.connect(str(read_file), read_only=True)
    try:
        cells = con.execute(
            "SELECT entity, employee_id, sum(employer_amount) AS employer, sum(employee_amount) AS employee"
            " FROM ledger.contributions WHERE period = ? GROUP BY entity, employee_id, insurance_type", [period]
        ).pl()
        if cells.height:
            employer, employee = cells["employer"].sum(), cells["employee"].sum()
            figures["employer_amount"] = Decimal(employer).quantize(Decimal("0.01"))
            figures["employee_amount"] = Decimal(employee).quantize(Decimal("0.01"))
            figures["people"] = cells.select("entity", "employee_id").unique().height
        figures["total_amount"] = figures["employer_amount"] + figures["employee_amount"]
        for severity, n in con.execute(
                "SELECT severity, count(*) FROM quality.findings WHERE period = ? AND run_id = "
                "(SELECT max(run_id) FROM quality.findings WHERE period = ?) GROUP BY severity",
                [period, period]).fetchall():
            figures["errors" if severity == "error" else "warnings"] += n
        figures["open_actions"] = scalar(con, "SELECT count(*) FROM actions.cleanup_actions WHERE status = 'open'")
        columns = {row[0] for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'ledger' AND table_name = 'contributions'"
        ).fetchall()}
        if "policy_verified" in columns:
            for mark, n in con.execute(
                    "SELECT policy_verified, count(DISTINCT (entity, employee_id)) FROM ledger.contributions"
                    " WHERE period = ? GROUP BY 1", [period]).fetchall():
                if mark in VERIFIED_ZH:
                    figures[f"policy_{mark}"] = n
    finally:
        con.close()
    return figures


def summary_frame(rows: list[dict]) -> pl.DataFrame:
    """One row per client in the columns of :data:`SUMMARY_HEADERS`, statuses in Chinese."""
    shaped = [{column: row.get(column) for column in SUMMARY_HEADERS} for row in rows]
    for row in shaped:
        row["status"] = STATUS_ZH.get(str(row["status"]), str(row["status"]))
        row["note"] = row.get("note") or ""
    schema = {c: pl.String for c in ("client", "status", "note")} | {c: pl.Decimal(14, 2) for c in MONEY} \
        | {c: pl.Int64 for c in (*COUNTS, "attempts")} | {"seconds": pl.Float64}
    return pl.DataFrame(shaped, schema=schema)


def write_fleet_summary(rows: list[dict], out: Path, period: str) -> dict[str, str]:
    """The fleet summary of ``period`` as ``<out>/<period>/fleet_summary.xlsx`` and ``.html`` (Chinese, no
    personal data), with a totals row in the page."""
    check_period(period)
    folder = Path(out) / period
    folder.mkdir(parents=True, exist_ok=True)
    frame = summary_frame(rows)
    xlsx = folder / f"{SUMMARY_STEM}.xlsx"
    with new_workbook(xlsx) as book:
        write_sheet(book, "客户汇总", frame, SUMMARY_HEADERS, money=MONEY,
                    widths={"client": 24, "note": 48})
    totals = {c: sum((r[c] for r in frame.iter_rows(named=True)), Decimal("0.00")) for c in MONEY} \
        | {c: int(frame[c].sum()) for c in COUNTS}
    failed = frame.filter(pl.col("status") == STATUS_ZH["failed"]).height
    html = folder / f"{SUMMARY_STEM}.html"
    html.write_text(page("fleet_summary.html").render(
        period=period, headers=SUMMARY_HEADERS, rows=frame.iter_rows(named=True), totals=totals, money=MONEY,
        clients=frame.height, failed=failed), encoding="utf-8")
    return {"xlsx": str(xlsx), "html": str(html)}


# ------------------------------------------------------------------------------------ the fleet read copy


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_fleet_read_copy(clients: list[Client], out: Path) -> dict:
    """``<out>/fleet_read.duckdb``: for every relation of the clients' read copies, one view over every
    client's Parquet files with a ``client`` column first, so finance queries across clients in one place.
    The Parquet stays where each client's close wrote it; the file is replaced atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources: dict[str, list[tuple[Client, Path]]] = {}
    for client in clients:
        tables = client.out / TABLES
        if not tables.is_dir():
            continue
        for folder in sorted(p for p in tables.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if any(folder.rglob("*.parquet")):
                sources.setdefault(folder.name, []).append((client, folder))
    temporary = out / f".{FLEET_READ_FILE}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    con = duckdb.connect(str(temporary))
    try:
        for relation, parts in sorted(sources.items()):
            schema, name = relation.split(".", 1)
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            selects = [f"SELECT {_literal(client.name)} AS client, * FROM read_parquet("
                       f"{_literal(str(folder.resolve()) + '/**/*.parquet')}, hive_partitioning = true)"
                       for client, folder in parts]
            con.execute(f'CREATE VIEW "{schema}"."{name}" AS ' + " UNION ALL BY NAME ".join(selects))
            con.execute(f'COMMENT ON VIEW "{schema}"."{name}" IS '
                        f"{_literal(f'{relation} of every client, one row per client row; client = 客户')}")
            con.execute(f"COMMENT ON COLUMN \"{schema}\".\"{name}\".client IS '客户 (shebao.toml name)'")
    finally:
        con.close()
    os.chmod(temporary, 0o600)
    target = out / FLEET_READ_FILE
    os.replace(temporary, target)
    return {"path": str(target), "relations": sorted(sources), "clients": len(clients)}


def summary_json(rows: list[dict]) -> str:
    """The rows as JSON for logs and Prefect artifacts (counts and amounts only)."""
    return json.dumps(rows, ensure_ascii=False, default=str)
