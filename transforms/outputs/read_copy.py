"""The read copy of SPEC §7: the public relations as Parquet, and a DuckDB file of views over them.

DuckDB lets one process write the warehouse, so finance's tools read a copy that a close never waits for:

- ``<out>/tables/<relation>/period=<P>/data.parquet`` (hive style) for relations with a period column,
  ``<out>/tables/<relation>/data.parquet`` for the others: one file per partition, for any Parquet tool.
- ``<out>/shebao_read.duckdb``: one table per relation holding its rows, named as in the warehouse, with
  ``COMMENT ON`` each table and column. It names no path, so the out folder can be copied or moved and
  opened from any working directory. Each close updates a copy of it (only the partitions that changed)
  that then replaces it (``os.replace``), so a tool holding the old file open keeps working and sees the
  new one when it reopens.

Files are never changed in place: DuckDB opens a Parquet file more than once in a query (schema, then
data), so a file replaced in between breaks the query. Each partition's rows are written once to an
immutable version, ``tables/.versions/<relation>/[period=<P>/]<digest>.parquet`` (the digest fingerprints
the rows, so an unchanged partition is not written again), and the hive file above is a hard link to the
current version, swapped in with ``os.replace``; the read file's tables are copied from the versions.
Superseded versions are kept until a later close has superseded them for a day (``RETAIN``), so a Parquet
tool that listed them just before can still read them.

Personal data as finance may see it (SPEC §8): ID numbers masked, also inside free text and JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from transforms.common.privacy import mask_id_sql, redact_sql
from warehouse.db import half_memory, one

READ_FILE = "shebao_read.duckdb"
TABLES = "tables"
VERSIONS = ".versions"
DATA = "data.parquet"
RETAIN = timedelta(days=1)  # how long a superseded version outlives the close that superseded it
# Bump when what is written for the same rows changes (masking, columns): every partition is rewritten.
FORMAT_VERSION = "3"
PARTS = "_read_copy.parts"  # in the read file: which version of each partition its tables hold
READER = "read_copy_file"  # the catalog the new read file is attached as, on the warehouse's connection
# Rows DuckDB's Parquet writer buffers before it writes a row group: by size, not by count (122,880 rows of the
# action details are some 300 MB); only while the insertion order is not kept (``_streaming``).
ROW_GROUP_BYTES = "32MB"

# SPEC §7: the public relations, their columns in order, and what each column means.
RELATIONS: dict[str, tuple[str, dict[str, str]]] = {
    "ingest.loads": ("每个收件箱文件（及其中每类数据）的一次导入记录", {
        "load_id": "导入编号", "source_file": "来源文件", "sha256": "文件内容的 SHA-256 摘要",
        "kind": "数据类型（payroll 工资表、attendance 考勤、insurance 参保明细、transfers 转移接续、bill 社保账单等）",
        "status": "导入状态：loaded 已导入、skipped_duplicate 重复文件已跳过、unrecognized 无法识别、failed 失败",
        "rows_read": "读取行数", "rows_staged": "入库行数", "rows_rejected": "拒收行数（读取 = 入库 + 拒收）",
        "loaded_at": "导入时间",
    }),
    "ingest.rejects": ("导入时被拒收的行及原因", {
        "load_id": "导入编号（对应 ingest.loads）", "source_file": "来源文件", "kind": "数据类型",
        "row_number": "该行在其工作表中的数据行号（从 1 起）", "sheet": "工作表名（CSV 为空）",
        "reason_code": "拒收原因代码", "reason": "拒收原因说明", "raw": "该行读到的原始内容（JSON，身份证号已脱敏）",
    }),
    "ledger.contributions": ("社保缴费台账（只追加）：每个期间、单位、员工、险种的各行相加即为当前应缴", {
        "period": "缴费期间（YYYY-MM）", "entity": "用人单位", "employee_id": "工号", "id_number": "身份证号（已脱敏）",
        "name": "姓名", "region": "参保地", "insurance_type":
            "险种：pension 养老、medical 医疗、unemployment 失业、work_injury 工伤、maternity 生育",
        "base": "缴费基数（调整行为变动额）", "month_fraction": "计费比例（当月计费的月份比例）",
        "employer_rate": "单位费率", "employee_rate": "个人费率", "employer_amount": "单位缴费金额（元）",
        "employee_amount": "个人缴费金额（元）", "entry_type": "记账类型：original 首次入账、adjustment 调整（差额）",
        "run_id": "核算批次（按开始时间排序）", "created_at": "记账时间",
        "policy_verified": "政策核实：所用政策行的核实情况，official 官方核实、secondary 二手来源、assumed 推定（无来源）；"
                           "空为记录此项之前入账的行",
    }),
    "quality.findings": ("校验发现的问题，每次校验一批", {
        "run_id": "校验批次", "period": "期间（YYYY-MM）", "code": "问题代码", "severity": "严重程度：error 错误、warning 警告",
        "entity": "用人单位", "employee_id": "工号", "id_number": "身份证号（已脱敏）", "region": "参保地",
        "insurance_type": "险种", "transfer_id": "转移接续业务流水号", "details": "问题详情（JSON，身份证号已脱敏）",
    }),
    "actions.cleanup_actions": ("待处理事项（由问题生成，同一问题保持同一编号）", {
        "action_id": "事项编号（跨批次稳定）", "action_type": "事项类型", "status":
            "状态：open 待处理、submitted 已提交、resolved 已解决、dismissed 已忽略",
        "period_first_seen": "首次发现期间", "period_last_seen": "最近发现期间", "entity": "用人单位",
        "employee_id": "工号", "id_number": "身份证号（已脱敏）", "finding_codes": "涉及的问题代码",
        "details": "事项详情（JSON，身份证号已脱敏）", "updated_at": "更新时间",
    }),
    "ingest.bills": ("社保经办机构账单（每期每地以最新导入为准）", {
        "period": "账单期间（YYYY-MM）", "id_number": "身份证号（已脱敏）", "name": "姓名", "region": "参保地",
        "employer": "账单上的参保单位", "insurance_type": "险种", "base": "缴费基数",
        "employer_amount": "单位缴费金额（元）", "employee_amount": "个人缴费金额（元）", "load_id": "导入编号",
    }),
}
# What finance's sheets show (SPEC §7 v3), derived from the relations above when the copy is written: each
# is a frame registered on the connection under its source name, then copied like a relation.
DERIVED: dict[str, tuple[str, dict[str, str]]] = {
    "ledger.totals": ("合计：每个期间、单位、参保地、险种的人数和缴费合计（按当前台账，含调整）", {
        "period": "缴费期间（YYYY-MM）", "entity": "用人单位", "region": "参保地",
        "insurance_type": "险种代码（中文名见 ref.labels）", "people": "人数（工号去重）",
        "employer_amount": "单位缴费合计（元）", "employee_amount": "个人缴费合计（元）",
        "total_amount": "缴费合计（元）",
    }),
    "ledger.unbooked": ("未入账人员：本期发薪但未进入台账的人员及原因（与财务导出的“未入账人员”表相同）", {
        "period": "期间（YYYY-MM）", "entity": "用人单位", "employee_id": "工号", "name": "姓名",
        "id_number": "身份证号（已脱敏）", "region": "工资所在城市", "gross_pay": "应发工资（元）",
        "reason": "未入账原因", "detail": "说明（来源文件、行号或相关日期）",
    }),
    "ref.labels": ("代码与中文名称对照：透视表可显示“养老保险”而非 pension", {
        "column_name": "代码所在的列（如 insurance_type、status、code）", "code": "代码", "label": "中文名称",
    }),
}
ID_COLUMNS = {"id_number"}
# Text from the extracts, or quoting them, where an ID number may stand (one pasted into the city column,
# a reject's raw row): ID-like runs masked in every form the normaliser accepts (transforms.common.privacy).
FREE_TEXT = {"source_file", "sheet", "reason", "raw", "entity", "employee_id", "name", "region", "transfer_id",
             "details", "employer", "detail"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _derive(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """Register the rows of a DERIVED relation on ``con``; returns the name to read them by."""
    import polars as pl

    from transforms.common import glossary
    from transforms.outputs.export import unbooked_people

    source = "read_copy_" + relation.replace(".", "_")
    if relation == "ledger.totals":
        # people counted as the groups of each employee, not count(DISTINCT): a distinct count's state cannot
        # spill, and over a million employees' cells it ran past half of the 1GB default
        frame = con.execute("""
            WITH per_employee AS (
                SELECT period, entity, region, insurance_type, employee_id,
                       sum(employer_amount) AS employer_amount, sum(employee_amount) AS employee_amount,
                       sum(employer_amount + employee_amount) AS total_amount
                FROM ledger.current_contributions GROUP BY ALL)
            SELECT period, entity, region, insurance_type, count(employee_id) AS people,
                   sum(employer_amount) AS employer_amount, sum(employee_amount) AS employee_amount,
                   sum(total_amount) AS total_amount
            FROM per_employee GROUP BY ALL""").pl()
    elif relation == "ledger.unbooked":
        periods = [p for (p,) in con.execute("SELECT DISTINCT period FROM ledger.employee_months ORDER BY 1"
                                             ).fetchall()]
        frames = [unbooked_people(con, p, full_ids=False).with_columns(pl.lit(p).alias("period")) for p in periods]
        frame = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(
            schema=dict.fromkeys(DERIVED[relation][1], pl.String))
    else:  # ref.labels: every coded value the copy carries, with its Chinese name
        from transforms.actions.cleanup import ACTION_TYPES

        checks = dict(con.execute("SELECT code, title_zh FROM quality.checks").fetchall()) if _columns(
            con, "quality.checks") else {}
        coded = {"insurance_type": glossary.INSURANCE, "status": glossary.ACTION_STATUS | glossary.RECORD_STATUS,
                 "severity": glossary.SEVERITY, "kind": glossary.KIND, "reason_code": glossary.REJECT_REASON,
                 "entry_type": glossary.ENTRY_TYPE, "action_type": ACTION_TYPES, "code": checks}
        frame = pl.DataFrame([(column, str(code), label) for column, labels in coded.items()
                              for code, label in labels.items()], schema=["column_name", "code", "label"],
                             orient="row")
    con.register(source, frame)
    return source


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """The relation's columns and types in the warehouse (empty when it does not exist)."""
    if "." not in relation:  # a registered frame (DERIVED)
        return {name: str(kind) for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    schema, name = relation.split(".")
    rows = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = "
                       "current_database() AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                       [schema, name]).fetchall()
    return dict(rows)


def _select(relation: str, columns: list[str], types: dict[str, str]) -> str:
    exprs = []
    for c in columns:
        if c in ID_COLUMNS:
            exprs.append(f"{mask_id_sql(_quote(c))} AS {_quote(c)}")
        elif c in FREE_TEXT:
            masked = redact_sql(f"CAST({_quote(c)} AS VARCHAR)")
            exprs.append(f"CAST({masked} AS {types[c]}) AS {_quote(c)}")
        else:
            exprs.append(_quote(c))
    return f"SELECT {', '.join(exprs)} FROM {relation}"


def write_read_copy(con: duckdb.DuckDBPyConnection, out: str | os.PathLike) -> dict:
    """Bring ``<out>/tables`` and ``<out>/shebao_read.duckdb`` up to date with the warehouse behind ``con``.
    Returns counts (no personal data): relations, partitions written and kept."""
    with _streaming(con):
        return _write_read_copy(con, Path(out).resolve())


@contextmanager
def _streaming(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB streams the copy within its memory limit: rows in any order (which is what lets the Parquet
    writer cut row groups by size, and lets a query spill instead of holding its order), at half the limit
    (``warehouse.db.half_memory``), as while an inbox is ingested: the copy only writes what it reads once. The
    connection's settings are restored after."""
    kept = one(con, "SELECT current_setting('preserve_insertion_order')")[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        with half_memory(con):
            yield
    finally:
        con.execute(f"SET preserve_insertion_order = {str(kept).lower()}")


def _write_read_copy(con: duckdb.DuckDBPyConnection, out: Path) -> dict:
    tables = out / TABLES
    # a copy killed midway leaves temporary files (the close holds the warehouse lock: no other copy runs)
    for leftover in [*tables.rglob(".*.tmp"), *out.glob(f".{READ_FILE}.*.tmp")]:
        leftover.unlink(missing_ok=True)
    views: dict[str, tuple[list[str], dict[str, str], list[tuple[str | None, Path]]]] = {}
    written = kept = 0
    for relation, (_, meanings) in (RELATIONS | DERIVED).items():
        source = _derive(con, relation) if relation in DERIVED else relation
        types = _columns(con, source)
        if not types:
            continue  # ingest.bills before the bill kind lands
        columns = [c for c in meanings if c in types]
        select = _select(source, columns, types)
        signature = json.dumps([FORMAT_VERSION, [(c, types[c]) for c in columns]])
        hashed = f"count(*), sum(hash({', '.join(_quote(c) for c in columns)})::HUGEINT)"
        if "period" in columns:
            inner = ", ".join(_quote(c) for c in columns if c != "period")
            parts = {f"period={p}": (f"SELECT {inner} FROM ({select}) WHERE period = {_literal(p)}", n, h)
                     for p, n, h in con.execute(f"SELECT period, {hashed} FROM {source} GROUP BY period").fetchall()
                     if p is not None}
            for stale in (d for d in (tables / relation).glob("period=*") if d.name not in parts):
                shutil.rmtree(stale, ignore_errors=True)
        else:
            parts = {"": (select, *one(con, f"SELECT {hashed} FROM {source}"))}
        files = []
        for part, (query, rows, row_hash) in sorted(parts.items()):
            digest = hashlib.sha256(f"{signature}|{rows}|{row_hash}".encode()).hexdigest()[:24]
            version = tables / VERSIONS / relation / part / f"{digest}.parquet"
            if version.exists():
                kept += 1
            else:
                _write_version(con, query, version, relation, meanings)
                written += 1
            _publish(version, tables / relation / part / DATA)
            files.append((part.removeprefix("period=") or None, version))
        views[relation] = (columns, types, files)
    _replace_read_file(con, out, views)
    _drop_old_versions(tables / VERSIONS, [f for _, _, fs in views.values() for _, f in fs])
    return {"relations": len(views), "partitions_written": written, "partitions_kept": kept,
            "read_file": str(out / READ_FILE)}


def _write_version(con: duckdb.DuckDBPyConnection, query: str, version: Path, relation: str,
                   meanings: dict[str, str]) -> None:
    """The partition's rows as an immutable Parquet file carrying its columns' meanings."""
    version.parent.mkdir(parents=True, exist_ok=True)
    temporary = version.with_name(f".{version.name}.{os.getpid()}.tmp")
    metadata = {"shebao.relation": relation, "shebao.columns": json.dumps(meanings, ensure_ascii=False)}
    kv = ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in metadata.items())
    con.execute(f"COPY ({query}) TO {_literal(str(temporary))} (FORMAT parquet, KV_METADATA {{{kv}}}, "
                f"ROW_GROUP_SIZE_BYTES {_literal(ROW_GROUP_BYTES)})")
    os.replace(temporary, version)


def _publish(version: Path, public: Path) -> None:
    """Make the hive file ``public`` the current version: a hard link (a copy where links are not
    possible) swapped in atomically."""
    if public.exists() and os.path.samefile(public, version):
        return
    public.parent.mkdir(parents=True, exist_ok=True)
    temporary = public.with_name(f".{public.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        os.link(version, temporary)
    except OSError:
        shutil.copyfile(version, temporary)
    os.replace(temporary, public)


def _drop_old_versions(versions: Path, current: list[Path]) -> None:
    """Delete the versions no read file of the last ``RETAIN`` refers to. ``generations.json`` lists each
    read file's versions and when it was built (which is when it superseded the one before)."""
    manifest = versions / "generations.json"
    now = datetime.now(UTC)
    history = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else []
    history.append({"built": now.isoformat(), "files": [str(f.relative_to(versions)) for f in current]})
    # a read file's versions are kept while it is the current one or the one before, or for RETAIN after
    # the next one superseded it
    keep = [generation for index, generation in enumerate(history)
            if index >= len(history) - 2 or now - datetime.fromisoformat(history[index + 1]["built"]) < RETAIN]
    wanted = {versions / f for g in keep for f in g["files"]}
    for path in versions.rglob("*.parquet"):
        if path not in wanted:
            path.unlink(missing_ok=True)
    temporary = manifest.with_name(f".{manifest.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(keep, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, manifest)


def _previous(con: duckdb.DuckDBPyConnection, target: Path, temporary: Path) -> dict[tuple[str, str], str]:
    """Attach ``temporary`` to ``con`` as ``READER``: a copy of the read file ``target`` when it is one this code
    wrote (its ``_read_copy.parts`` lists the version each relation's partition holds, returned), else a new file.
    On the warehouse's connection, not one of its own, so the rows it copies count against the one memory
    limit (a connection of its own had DuckDB's default, 80% of the machine, and held them until its checkpoint)."""
    if target.exists():
        shutil.copyfile(target, temporary)
        try:
            con.execute(f"ATTACH {_literal(str(temporary))} AS {READER}")
            parts = con.execute(f"SELECT relation, part, version FROM {READER}.{PARTS}").fetchall()
            return {(relation, part): version for relation, part, version in parts}
        except duckdb.Error:  # a read file of views (before issue 30) or a damaged one: start anew
            con.execute(f"DETACH DATABASE IF EXISTS {READER}")
            temporary.unlink(missing_ok=True)
    con.execute(f"ATTACH {_literal(str(temporary))} AS {READER}")
    return {}


def _replace_read_file(con: duckdb.DuckDBPyConnection, out: Path,
                       views: dict[str, tuple[list[str], dict[str, str], list[tuple[str | None, Path]]]]) -> None:
    """Bring the read file up to date in a copy beside it, then swap it in. Each relation is a table holding
    its rows: views over the Parquet files would name them by path, and DuckDB resolves an absolute path only
    where the folder was, a relative one only from the working directory it was made in, while finance copies
    the out folder and opens it from their own tools (issue 30). Only partitions whose version changed are
    deleted and copied again, so a close costs what it changed, not the whole history."""
    target = out / READ_FILE
    temporary = out / f".{READ_FILE}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    held = _previous(con, target, temporary)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND NOT internal",
            [READER]).fetchall()}
        for relation in tables - set(views) - {PARTS}:
            con.execute(f"DROP TABLE {READER}.{relation}")
        for relation, (columns, types, files) in views.items():
            schema, name = relation.split(".")
            description, meanings = (RELATIONS | DERIVED)[relation]
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {READER}.{schema}")
            shape = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND "
                                "schema_name = ? AND table_name = ? ORDER BY column_index",
                                [READER, schema, name]).fetchall()
            if relation not in tables or shape != [(c, types[c]) for c in columns]:
                con.execute(f"DROP TABLE IF EXISTS {READER}.{relation}")
                con.execute(f"CREATE TABLE {READER}.{relation} ("
                            + ", ".join(f"{_quote(c)} {types[c]}" for c in columns) + ")")
                held = {key: version for key, version in held.items() if key[0] != relation}
            wanted = {period or "": path for period, path in files}
            for part, version in [(p, v) for (r, p), v in held.items() if r == relation]:
                if part not in wanted or wanted[part].name != version:
                    con.execute(f"DELETE FROM {READER}.{relation}"
                                + (f" WHERE period = {_literal(part)}" if part else ""))
            for part, path in wanted.items():
                if held.get((relation, part)) != path.name:
                    selected = ", ".join(f"CAST({_literal(part)} AS VARCHAR)" if c == "period" and part else _quote(c)
                                         for c in columns)
                    con.execute(f"INSERT INTO {READER}.{relation} SELECT {selected} "
                                f"FROM read_parquet({_literal(str(path))})")
            con.execute(f"COMMENT ON TABLE {READER}.{relation} IS {_literal(description)}")
            for column in columns:
                con.execute(f"COMMENT ON COLUMN {READER}.{relation}.{_quote(column)} IS {_literal(meanings[column])}")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {READER}.{PARTS.split('.')[0]}")
        con.execute(f"CREATE OR REPLACE TABLE {READER}.{PARTS} (relation VARCHAR, part VARCHAR, version VARCHAR)")
        con.executemany(f"INSERT INTO {READER}.{PARTS} VALUES (?, ?, ?)",
                        [[relation, period or "", path.name] for relation, (_, _, files) in views.items()
                         for period, path in files])
        con.execute(f"COMMENT ON TABLE {READER}.{PARTS} IS '内部：各表每个分区所含数据的版本（更新本文件时用，无需查询）'")
        con.execute(f"CHECKPOINT {READER}")
    finally:
        con.execute(f"DETACH DATABASE IF EXISTS {READER}")
    os.replace(temporary, target)
