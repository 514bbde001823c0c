"""Completeness of the check registry (dagster's ``test_defs_can_load`` idea): every SPEC §5 code has one
row with everything about it — check file, severity, key, suite, title, action type (or an explicit None),
needs, problem-key expression and evidence template — every check file has a row, and the rows load into
``quality.checks`` and from there into the actions stage and the sentences HR reads."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from expectations.registry import BY_CODE, CHECKS, CHECKS_DIR, SUITES, record_checks
from transforms.actions.cleanup import BY_TYPE, TYPES, register_action_map, unprovable_types
from transforms.actions.evidence import check as check_template
from transforms.actions.evidence import registry, sentence
from transforms.common import glossary
from transforms.ingest.kinds import KINDS

SPEC = Path(__file__).resolve().parents[3] / "shared" / "SPEC.md"

# Recipe v1 of the problem key, as transforms/actions/sql/actions_found.sql spelled it before the registry held it:
# ids people dismissed depend on these keys, so the registry's expressions must give exactly the same.
RECIPE_V1 = """CASE f.code
    WHEN 'DUPLICATE_ID_NUMBER' THEN concat_ws('|', 'id', f.id_number)
    WHEN 'DUPLICATE_PERSON' THEN concat_ws('|', 'person', f.d ->> '$.name', f.d ->> '$.birth_digits')
    WHEN 'BASE_BELOW_FLOOR' THEN concat_ws('|', f.entity, f.id_number)
    WHEN 'BASE_ABOVE_CEILING' THEN concat_ws('|', f.entity, f.id_number)
    WHEN 'BASE_MISMATCH' THEN concat_ws('|', f.entity, f.id_number)
    WHEN 'FIRST_ENROLLMENT_MISJUDGED' THEN f.id_number
    WHEN 'STALE_TRANSFER' THEN f.transfer_id
    WHEN 'TRANSFER_NOT_REFLECTED' THEN f.transfer_id
    WHEN 'ACTIVE_ELSEWHERE' THEN concat_ws('|', f.entity, f.employee_id, f.d ->> '$.other_region')
    WHEN 'DOUBLE_ENROLLMENT' THEN concat_ws('|', f.entity, f.employee_id, 'employer', f.d ->> '$.other_employer')
    WHEN 'TRANSFER_NEEDED' THEN concat_ws('|', f.entity, f.employee_id, 'from', f.d ->> '$.from_region')
    WHEN 'POLICY_OUTDATED' THEN concat_ws('|', 'region', f.region)
    WHEN 'NO_POLICY' THEN concat_ws('|', 'region', f.region)
    WHEN 'BILL_MISMATCH' THEN concat_ws('|', 'bill', f.region, f.id_number)
    WHEN 'POLICY_CONFLICTS_BILL' THEN concat_ws('|', 'policy_bill', f.region, f.insurance_type)
    ELSE concat_ws('|', f.entity, f.employee_id)
END"""


def _spec_section(number: int) -> str:
    return SPEC.read_text(encoding="utf-8").split(f"## {number}. ")[1].split(f"## {number + 1}. ")[0]


def spec_codes() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| ([A-Z_]+) \| (error|warning) \|", _spec_section(5), re.M)}


def spec_actions() -> dict[str, str]:
    """SPEC §6's table: finding code -> action type."""
    mapping = {}
    for line in _spec_section(6).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and re.fullmatch(r"[A-Z_]+(, [A-Z_]+)*", cells[0]):
            action = re.match(r"[A-Z_]+", cells[1])
            for code in cells[0].split(", "):
                mapping[code] = action.group(0) if action else None
    return mapping


def test_every_spec_code_has_a_complete_row():
    codes = spec_codes()
    actions = spec_actions()
    assert len(codes) == 21 and set(actions) == set(codes) - {"MISSING_EXTRACT"}
    assert set(BY_CODE) == set(codes)
    for code in codes:
        check = BY_CODE[code]
        assert check.path.exists(), code
        assert check.severity == codes[code], code
        assert check.key and check.suite in SUITES and check.title_zh and check.description, code
        assert check.action == actions.get(code), code   # None only where SPEC §6 names no action
        if check.action is None:
            assert check.needs == () and check.problem_key is None, code
        else:
            assert check.action in BY_TYPE, code
            assert check.needs and set(check.needs) <= set(KINDS), code
            assert check.problem_key and "f." in check.problem_key, code
        assert check.evidence_zh, code
        check_template(check.evidence_zh)


def test_every_check_file_is_a_registry_row():
    files = {p.stem.upper() for p in CHECKS_DIR.glob("*.sql")}
    assert files == set(BY_CODE)
    # and no file names a finding code that has no row (a code written as a literal in its SQL)
    for path in CHECKS_DIR.rglob("*.sql"):
        named = set(re.findall(r"'([A-Z][A-Z_]{5,})'", path.read_text(encoding="utf-8")))
        assert named <= set(BY_CODE) | {"NULL"}, (path.name, named - set(BY_CODE))


def test_every_action_type_is_called_for_and_one_type_has_one_needs():
    called = {c.action for c in CHECKS if c.action} | {c.action_if[1] for c in CHECKS if c.action_if}
    assert called == set(BY_TYPE) == {t.code for t in TYPES}
    for action in called:  # what an open action needs to be resolved is one set per type
        assert len({frozenset(c.needs) for c in CHECKS
                    if action in (c.action, c.action_if and c.action_if[1])}) == 1, action


def test_the_registry_loads_into_the_warehouse_and_the_stages_that_read_it(con):
    record_checks(con)
    checks = registry(con)
    assert set(checks) == set(BY_CODE)
    fragments = register_action_map(con)
    assert con.execute("SELECT count(*) FROM action_map").fetchone()[0] == sum(1 for c in CHECKS if c.action)
    assert all(f"WHEN '{c.code}'" in fragments["problem_key"] for c in CHECKS if c.action)
    assert unprovable_types(con, {"bill"}) == ["RECONCILE_BILL"]
    for code, (_, text) in checks.items():   # every template renders on empty details, and no English leaks
        rendered = sentence(text, {})
        assert rendered and not re.search(r"[A-Za-z]{4,}", rendered), (code, rendered)


@pytest.fixture()
def findings() -> duckdb.DuckDBPyConnection:
    """One finding of each code with every column and details key a key expression reads."""
    db = duckdb.connect()
    db.execute("CREATE TABLE f0 (code VARCHAR, entity VARCHAR, employee_id VARCHAR, id_number VARCHAR, region VARCHAR,"
               " transfer_id VARCHAR, details VARCHAR, insurance_type VARCHAR DEFAULT 'pension')")
    details = ('{"name": "张三", "birth_digits": "19900101", "other_region": "杭州", "other_employer": "乙公司",'
               ' "from_region": "深圳"}')
    db.executemany("INSERT INTO f0 (code, entity, employee_id, id_number, region, transfer_id, details)"
                   " VALUES (?, '长沙甲公司', 'E1', '430102199001011234', '长沙', 'ZY1', ?)",
                   [[c.code, details] for c in CHECKS])
    db.execute("CREATE TABLE f1 AS SELECT * FROM f0 UNION ALL SELECT code, NULL, NULL, NULL, NULL, NULL, '{}', NULL FROM f0")
    return db


def test_problem_keys_are_recipe_v1(findings):
    """Action ids stay stable: each code's expression gives the key the fixed CASE gave, nulls included."""
    for check in CHECKS:
        if check.problem_key is None:
            continue
        rows = findings.execute(
            f"SELECT {check.problem_key}, {RECIPE_V1} FROM (SELECT *, CAST(details AS JSON) AS d FROM f1) f"
            " WHERE code = ?", [check.code]).fetchall()
        assert rows and all(new == old for new, old in rows), (check.code, rows)


# Issue 27: a finding code is its SQL file and its registry row. The places below still name a code, each
# for a reason of its own: the HR report's sections built on one code's details (补缴, 到龄退休人员) and the
# actions stage's reading of MISSING_EXTRACT, the validation's own record of which extracts are missing.
NAMED_ON_PURPOSE = {"transforms/outputs/report.py": {"HIRED_NOT_ENROLLED", "RETIREMENT_DUE"},
                    "transforms/actions/cleanup.py": {"MISSING_EXTRACT"}}


def test_no_module_but_the_registry_names_a_finding_code():
    root = Path(__file__).resolve().parents[2]
    quoted = re.compile(r"""['"]({})['"]""".format("|".join(BY_CODE)))
    named = {}
    for folder in ("transforms", "flows", "warehouse"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".sql", ".html") and path.is_file():
                codes = set(quoted.findall(path.read_text(encoding="utf-8")))
                if codes:
                    named[str(path.relative_to(root))] = codes
    assert named == NAMED_ON_PURPOSE


def test_a_codes_declarations_and_its_types_columns_are_known():
    sql = Path(__file__).resolve().parents[2] / "transforms" / "outputs" / "sql"
    fed = {p.stem.removeprefix("declaration_") for p in sql.glob("declaration_*.sql")
           if "quality.declared_findings" in p.read_text(encoding="utf-8")}
    assert fed == {"enrol", "stop", "arrears"}
    for check in CHECKS:
        assert set(check.declarations) <= fed, check.code
        assert not check.declarations or check.action, check.code   # dismissing its action takes it out
    kinds = {"text", "money", "count", "list", "yes_no", "retirement_age"}
    for t in TYPES:
        assert 0 <= t.rank <= 3, t.code
        for column in t.columns:
            assert column.kind in kinds or column.kind.removeprefix("zh:") in dir(glossary), (t.code, column)
