"""warehouse/models/: every view and macro is one model file, and the rules the ledger and the checks share
are the same named relation for both (issue 12)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import duckdb
import pytest

from warehouse.migrate import (
    MIGRATIONS,
    MODELS,
    ModelOrderError,
    available,
    migrate,
    model_files,
    model_name,
    model_order,
    model_references,
)

DEFINES = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\w*\s+)?(VIEW|MACRO)\s+([a-z_]+\.[a-z_]+)", re.I)
# Migrations up to this one are history (never edited): their views and macros are redefined by models.
LAST_MIGRATION_WITH_VIEWS = 17


def _defined(path: Path) -> list[str]:
    return [name.lower() for _, name in DEFINES.findall(path.read_text(encoding="utf-8"))]


def test_each_model_file_defines_one_relation_and_no_two_files_the_same():
    names = {path.name: _defined(path) for path in model_files()}
    assert all(len(found) == 1 for found in names.values()), {f: n for f, n in names.items() if len(n) != 1}
    relations = [found[0] for found in names.values()]
    assert len(relations) == len(set(relations))
    assert all("CREATE OR REPLACE" in path.read_text(encoding="utf-8") for path in model_files())


def test_every_view_and_macro_of_the_warehouse_is_a_model(con):
    """What the code can call is what a connection leaves in the warehouse: each of those views and macros
    must be a model, so none is defined only by migration history (001's core views, 003's macros)."""
    views = {f"{s}.{n}" for s, n in con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'wh' AND NOT internal").fetchall()}
    macros = {f"{s}.{n}" for s, n in con.execute(
        "SELECT DISTINCT schema_name, function_name FROM duckdb_functions()"
        " WHERE database_name = 'wh' AND function_type IN ('macro', 'table_macro') AND NOT internal").fetchall()}
    models = {name for path in model_files() for name in _defined(path)}
    assert views | macros == models


def test_each_model_is_in_the_folder_of_its_schema_named_after_its_relation():
    """``models/<schema>/<name>.sql`` defines ``<schema>.<name>``: the path is the relation's name, no prefix."""
    misplaced = [str(path.relative_to(MODELS)) for path in model_files()
                 if model_name(path) != f"{path.parent.name}.{path.stem}" or path.parent.parent != MODELS]
    assert misplaced == [], f"move each to models/<schema>/<name>.sql after the relation it defines: {misplaced}"


def _catalog(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    views = con.execute("SELECT schema_name, view_name, sql FROM duckdb_views()"
                        " WHERE database_name = current_database() AND NOT internal ORDER BY ALL").fetchall()
    macros = con.execute("SELECT schema_name, function_name, parameters, macro_definition FROM duckdb_functions()"
                         " WHERE database_name = current_database() AND function_type IN ('macro', 'table_macro')"
                         " AND NOT internal ORDER BY ALL").fetchall()
    columns = [(s, n, con.execute(f"DESCRIBE {s}.{n}").fetchall()) for s, n, _ in views]
    return [*views, *macros, *columns]


def _built(path: Path, files: list[Path]) -> list[tuple]:
    con = duckdb.connect(str(path))
    try:
        migrate(con)
        for file in files:
            con.execute(file.read_text(encoding="utf-8"))
        return _catalog(con)
    finally:
        con.close()


def test_the_derived_order_builds_a_new_warehouse_and_any_file_order_derives_it(tmp_path):
    """The order comes from what each model reads, not from how the files are listed: any shuffle of the
    files gives the same order, and that order builds a new warehouse (every view binds)."""
    files = model_files()
    shuffler = random.Random(27)
    for _ in range(5):
        shuffled = files[:]
        shuffler.shuffle(shuffled)
        assert model_order(shuffled) == files
    assert model_order(files[::-1]) == files
    for path, reads in model_references(files).items():
        assert all(files.index(read) < files.index(path) for read in reads), path
    assert _built(tmp_path / "derived.duckdb", files) == _built(tmp_path / "again.duckdb", model_order(files[::-1]))


def test_an_order_against_the_references_does_not_build(tmp_path):
    """The order matters: ``ingest.bills`` reads the view ``core.bills``, so it cannot be created first."""
    files = model_files()
    ingest_bills, core_bills = MODELS / "ingest" / "bills.sql", MODELS / "core" / "bills.sql"
    assert core_bills in model_references(files)[ingest_bills]
    wrong = [ingest_bills, *[f for f in files if f != ingest_bills]]
    with pytest.raises(duckdb.CatalogException, match="core.bills|bills"):
        _built(tmp_path / "wrong.duckdb", wrong)


def _model(folder: Path, relation: str, body: str) -> Path:
    schema, name = relation.split(".")
    path = folder / schema / f"{name}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"CREATE OR REPLACE VIEW {relation} AS\n{body}\n", encoding="utf-8")
    return path


def test_a_circle_of_models_is_one_clear_error(tmp_path):
    files = [_model(tmp_path, "core.a", "SELECT * FROM core.b"), _model(tmp_path, "core.b", "SELECT * FROM ledger.c"),
             _model(tmp_path, "ledger.c", "SELECT * FROM core.a -- core.zzz in a comment is no reference"),
             _model(tmp_path, "ref.d", "SELECT 'core.zzz' AS text_is_no_reference FROM ref.regions")]
    with pytest.raises(ModelOrderError, match=r"circle: core/a -> core/b -> ledger/c -> core/a\.$"):
        model_order(files)
    assert model_order(files[3:]) == files[3:]


def test_a_model_reading_a_relation_nothing_defines_is_one_clear_error(tmp_path):
    files = [_model(tmp_path, "core.a", "SELECT * FROM core.payroll_v2 JOIN ref.regions USING (region)")]
    with pytest.raises(ModelOrderError, match=r"^The model core/a.sql reads core.payroll_v2, which no model defines"):
        model_order(files)


def test_migrations_from_now_on_hold_tables_only():
    later = [path for version, path in available() if version > LAST_MIGRATION_WITH_VIEWS]
    offending = [path.name for path in later
                 if re.search(r"\bCREATE\s+(OR\s+REPLACE\s+)?(TEMP\w*\s+)?(VIEW|MACRO)\b|\bOR\s+REPLACE\b",
                              path.read_text(encoding="utf-8"), re.I)]
    assert offending == [], f"views and macros belong in warehouse/models/, not in {offending} ({MIGRATIONS})"


def _payroll(con, load_id, entity, employee_id, city, row_number, period="2024-03", gross="10000"):
    con.execute("INSERT INTO staging.payroll VALUES (?, NULL, ?, ?, ?, '王芳', '430102199001010013',"
                " '430102199001010013', ?, ?, ?, true, ?, NULL, NULL)",
                [load_id, row_number, period, employee_id, entity, city, city, gross])


def test_the_employee_region_is_one_rule_for_the_ledger_and_the_findings(con):
    """SPEC §4: R is the employee's payroll city for P. Two payroll rows naming different cities (the first
    in the file 长沙, the second 武汉) give one R, the same in the ledger and in quality.employees (which
    once took the first row's city, 长沙, while the ledger took the least name, 武汉)."""
    from transforms.ledger.book import compute_ledger

    _payroll(con, 1, "星城公司", "E1", "长沙", 1, gross="6000")
    _payroll(con, 1, "星城公司", "E1", "武汉", 2, gross="4000")
    con.execute("INSERT INTO ingest.load_keys SELECT * FROM ingest.staged_keys(1)")
    compute_ledger(con, "2024-03")
    ledger = con.execute("SELECT region, gross_pay FROM ledger.employee_months WHERE period = '2024-03'").fetchall()
    findings = con.execute("SELECT region FROM quality.employees('2024-03')").fetchall()
    assert "武汉" < "长沙" and ledger == [("武汉", 10000)]
    assert findings == [("武汉",)]


# The models of quality/ read outside the checks: the finance reconciliation totals BILL_MISMATCH's comparison,
# and the declarations read the findings that feed them through one filter.
QUALITY_READ_ELSEWHERE = {
    "quality.bill_comparison": {"transforms/ledger/sql/reconciliation.sql"},
    "quality.declared_findings": {"transforms/outputs/sql/declaration_enrol.sql", "transforms/outputs/sql/declaration_stop.sql",
                                  "transforms/outputs/sql/declaration_arrears.sql", "transforms/outputs/declarations.py"},
}


def test_the_quality_models_serve_the_checks():
    """models/quality/ holds the shared definitions of SPEC §5 the checks call (the README says why they are
    models): nothing but the checks and the other models reads them (migration 003, history, created them),
    save the reconciliation's comparison and the declarations' filter."""
    repo = MODELS.parents[1]
    code = [path for folder in ("transforms", "flows", "warehouse", "expectations")
            for path in (repo / folder).rglob("*") if path.suffix in (".py", ".sql")
            and not {"checks", "migrations"} & set(path.relative_to(repo).parts) and MODELS not in path.parents]
    texts = {str(path.relative_to(repo)): re.sub(r"--[^\n]*|#[^\n]*", "", path.read_text(encoding="utf-8"))
             for path in code}
    readers = {model_name(path): {name for name, text in texts.items()
                                  if re.search(rf"\b{re.escape(model_name(path))}\b", text)}
               for path in model_files() if path.parent.name == "quality"}
    assert len(readers) == 13
    assert {name: found for name, found in readers.items() if found} == QUALITY_READ_ELSEWHERE
