"""One check per SPEC §5 code, one SQL file per check, metadata in one place."""

from __future__ import annotations

import re
from pathlib import Path

from expectations.registry import CHECKS, CHECKS_DIR, SUITES

SPEC = Path(__file__).resolve().parents[3] / "shared" / "SPEC.md"


def test_every_spec_code_has_one_check_with_its_severity_and_key():
    table = SPEC.read_text(encoding="utf-8").split("## 5. Findings")[1].split("## 6.")[0]
    spec = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r"^\| ([A-Z_]+) \| (error|warning) \| ([^|]+) \|",
                                                                      table, re.M)}
    assert len(spec) == 21
    assert {c.code: c.severity for c in CHECKS} == {code: sev for code, (sev, _) in spec.items()}
    for check in CHECKS:
        for column in check.key:
            assert column in spec[check.code][1], check.code


def test_one_sql_file_per_check_and_no_strays():
    files = {p.stem.upper() for p in CHECKS_DIR.glob("*.sql")}
    assert files == {c.code for c in CHECKS}
    assert {c.suite for c in CHECKS} == set(SUITES)


def test_fragments_are_filled_in_and_only_batch_is_left():
    for check in CHECKS:
        assert check.sql.lstrip().startswith("--") or check.sql.lstrip().startswith("WITH"), check.code
        assert "WITH scope AS (SELECT period FROM {batch})" in check.sql, check.code
        assert re.findall(r"\{(\w+)\}", check.sql) == ["batch"], check.code
