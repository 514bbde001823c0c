"""The models' contracts (``warehouse/models/<schema>/schema.yml``, beside the SQL as dbt keeps them): every
model has one, and a new warehouse matches each, column for column and type for type."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from warehouse.migrate import MODELS, model_files, model_name

# A table macro is described for one argument per parameter: a month, a load id, a run id, a declaration, a side.
ARGUMENTS = {"p": "'2024-03'", "l": "1", "run": "'r'", "declaration": "'enrol'", "above": "true"}


def _contracts() -> dict[str, dict]:
    contracts: dict[str, dict] = {}
    for path in sorted(MODELS.glob("*/schema.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in data["models"]:
            name = f"{path.parent.name}.{entry['name']}"
            assert name not in contracts, f"{name} has two contracts"
            contracts[name] = entry
    return contracts


CONTRACTS = _contracts()


@pytest.fixture(scope="module")
def built(migrated_warehouse: Path):
    """The session's new warehouse, read only: every model as a connection leaves it."""
    import duckdb

    con = duckdb.connect(str(migrated_warehouse), read_only=True)
    yield con
    con.close()


def test_every_model_has_a_contract_and_every_contract_a_model():
    models = {model_name(path) for path in model_files()}
    assert sorted(models - CONTRACTS.keys()) == [], "add these models to their folder's schema.yml"
    assert sorted(CONTRACTS.keys() - models) == [], "these contracts name no model"


def test_every_column_and_parameter_is_described_in_one_line():
    for name, entry in CONTRACTS.items():
        assert entry["kind"] in ("view", "macro", "table macro"), name
        assert entry.get("description", "").strip(), name
        for item in [*entry.get("columns", []), *entry.get("parameters", [])]:
            text = item.get("description", "")
            assert text.strip() and "\n" not in text.strip() and "TODO" not in text, (name, item["name"])
        assert ("columns" in entry) == (entry["kind"] != "macro"), f"{name}: a view or table macro lists its columns"
        assert ("parameters" in entry) == (entry["kind"] != "view"), f"{name}: a macro lists its parameters"


def _kinds(con) -> dict[str, tuple[str, list[str]]]:
    views = {f"{s}.{n}": ("view", []) for s, n in con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database()"
        " AND NOT internal").fetchall()}
    macros = {f"{s}.{n}": ("table macro" if kind == "table_macro" else "macro", list(parameters))
              for s, n, kind, parameters in con.execute(
                  "SELECT schema_name, function_name, function_type, parameters FROM duckdb_functions()"
                  " WHERE database_name = current_database() AND function_type IN ('macro', 'table_macro')"
                  " AND NOT internal").fetchall()}
    return {**views, **macros}


@pytest.fixture(scope="module")
def built_kinds(built) -> dict[str, tuple[str, list[str]]]:
    """The new warehouse's views and macros, listed once for the module (a listing of every function, each time:
    about a second of the module's tests)."""
    return _kinds(built)


def _described(con, name: str, kinds: dict[str, tuple[str, list[str]]] | None = None
               ) -> tuple[str, list[str], list[tuple[str, str]]]:
    """(kind, parameters, columns) of a model as a warehouse holds it (``kinds``: its :func:`_kinds`, if listed)."""
    kind, parameters = (kinds or _kinds(con))[name]
    if kind == "macro":
        return kind, parameters, []
    relation = name if kind == "view" else f"{name}({', '.join(ARGUMENTS[p] for p in parameters)})"
    columns = [(column, type_) for column, type_, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    return kind, parameters, columns


def _contracted(name: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    entry = CONTRACTS[name]
    return (entry["kind"], [p["name"] for p in entry.get("parameters", [])],
            [(c["name"], c["type"]) for c in entry.get("columns", [])])


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_the_warehouse_matches_the_contract(built, built_kinds, name):
    """A view's DESCRIBE, a macro's parameters and a table macro's columns are what the contract says."""
    assert _described(built, name, built_kinds) == _contracted(name)


def test_a_model_unlike_its_contract_is_caught():
    """The comparison can fail: a core.payroll without si_withheld, or with gross_pay as DOUBLE, and a
    ledger.month_fraction with a parameter less, do not match their contracts."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA core; CREATE SCHEMA ledger")
        columns = ", ".join(f"CAST(NULL AS {c['type']}) AS {c['name']}" for c in CONTRACTS["core.payroll"]["columns"])
        con.execute(f"CREATE VIEW core.payroll AS SELECT {columns}")
        assert _described(con, "core.payroll") == _contracted("core.payroll")
        con.execute(f"CREATE OR REPLACE VIEW core.payroll AS SELECT * EXCLUDE (si_withheld) FROM (SELECT {columns})")
        assert _described(con, "core.payroll") != _contracted("core.payroll")
        con.execute(f"CREATE OR REPLACE VIEW core.payroll AS SELECT * REPLACE (CAST(gross_pay AS DOUBLE) AS gross_pay)"
                    f" FROM (SELECT {columns})")
        assert _described(con, "core.payroll") != _contracted("core.payroll")
        con.execute("CREATE MACRO ledger.month_fraction(hire_date, leave_date, cutoff, last_day) AS 1")
        assert _described(con, "ledger.month_fraction") != _contracted("ledger.month_fraction")
    finally:
        con.close()
