"""The checks of SPEC §5: one SQL file per finding code, with its metadata here and nowhere else.

A check's SQL returns the failing rows with the columns of ``quality.findings`` except run_id, code and
severity (:data:`OUTPUT_COLUMNS`). It reads its period from ``{batch}`` — a one-row relation with a
``period`` column — always as ``WITH scope AS (SELECT period FROM {batch})``, so that it runs unchanged
as a GX ``UnexpectedRowsExpectation`` and directly in DuckDB. Rules over other areas' relations
(``ref.policy``, ``ledger.*``) are shared fragments in ``checks/shared/`` named ``{fragment}`` in a check;
:func:`Check.sql` fills them in, so the text GX runs and the text the findings come from are one string.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

CHECKS_DIR = Path(__file__).with_name("checks")
SHARED_DIR = CHECKS_DIR / "shared"

OUTPUT_COLUMNS = ("period", "entity", "employee_id", "id_number", "region", "insurance_type", "transfer_id",
                  "details")

SUITES = {
    "identity": "身份信息",
    "bases": "缴费基数",
    "enrolment": "参保与在离职",
    "transfers": "转移接续",
    "completeness": "数据完整性",
    "bills": "社保账单",
}


@dataclass(frozen=True)
class Check:
    code: str
    severity: str            # error | warning
    key: tuple[str, ...]     # SPEC §5 "one row per"
    suite: str
    title_zh: str
    description: str         # one English line for Data Docs

    @property
    def path(self) -> Path:
        return CHECKS_DIR / f"{self.code.lower()}.sql"

    @cached_property
    def sql(self) -> str:
        """The check's one SQL text, shared fragments filled in; ``{batch}`` left for GX (or :meth:`sql_for`)."""
        text = self.path.read_text(encoding="utf-8")
        fragments = {path.stem: _strip_comments(path.read_text(encoding="utf-8")) for path in SHARED_DIR.glob("*.sql")}
        return text.format(batch="{batch}", **fragments).rstrip().rstrip(";")

    def sql_for(self, batch: str) -> str:
        """The same text with ``{batch}`` replaced, to run directly in DuckDB (what GX does for its batch)."""
        return self.sql.format(batch=batch)


def _strip_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


CHECKS: tuple[Check, ...] = (
    Check("DUPLICATE_ID_NUMBER", "error", ("entity", "employee_id"), "identity", "重复身份证号",
          "One normalised id_number held by two or more of the month's employees."),
    Check("DUPLICATE_PERSON", "warning", ("entity", "employee_id"), "identity", "疑似同一人",
          "Employees with the same name and birth date but different id_numbers."),
    Check("INVALID_ID_NUMBER", "error", ("entity", "employee_id"), "identity", "身份证号无效",
          "An employee's id_number fails GB 11643 (format, province, birth date, check digit)."),
    Check("BASE_BELOW_FLOOR", "error", ("id_number", "insurance_type"), "bases", "缴费基数低于下限",
          "An active insurance record of ours has a base below the policy floor."),
    Check("BASE_ABOVE_CEILING", "error", ("id_number", "insurance_type"), "bases", "缴费基数高于上限",
          "An active insurance record of ours has a base above the policy ceiling."),
    Check("BASE_MISMATCH", "warning", ("id_number", "insurance_type"), "bases", "缴费基数与台账不符",
          "A base within the policy range differs from the ledger base by 1.00 or more."),
    Check("WITHHOLDING_MISMATCH", "warning", ("entity", "employee_id"), "bases", "代扣社保不符",
          "Payroll's social-insurance withholding differs from the ledger's employee share by more than 1.00."),
    Check("HIRED_NOT_ENROLLED", "error", ("entity", "employee_id"), "enrolment", "入职未参保",
          "An employee in the ledger population has no active pension record with us in the payroll city."),
    Check("DEPARTED_STILL_CONTRIBUTING", "error", ("entity", "employee_id"), "enrolment", "离职仍在缴费",
          "A departed employee still has an active insurance record with the entity."),
    Check("ACTIVE_ELSEWHERE", "error", ("entity", "employee_id"), "enrolment", "异地仍在参保",
          "An employee in the ledger population has an active pension record in another region."),
    Check("DOUBLE_ENROLLMENT", "error", ("entity", "employee_id"), "enrolment", "同地重复参保",
          "An employee in the ledger population is also insured by another employer in the same region."),
    Check("TRANSFER_NEEDED", "warning", ("entity", "employee_id"), "transfers", "需办理转移接续",
          "An employee enrolled here still has a stopped pension record in another province and no transfer."),
    Check("FIRST_ENROLLMENT_MISJUDGED", "error", ("id_number",), "enrolment", "首次参保误判",
          "A pension record marked first enrolment while an earlier pension record exists."),
    Check("NO_POLICY", "error", ("region",), "enrolment", "缺少政策",
          "Employees owe contributions in a region without a pension policy row for the month."),
    Check("STALE_TRANSFER", "warning", ("transfer_id",), "transfers", "转移接续超时",
          "An open transfer has waited more working days than its stage's limit."),
    Check("TRANSFER_NOT_REFLECTED", "error", ("transfer_id",), "transfers", "转移未体现",
          "A completed transfer while the origin region still shows an active pension record."),
    Check("POLICY_OUTDATED", "warning", ("region",), "completeness", "政策待更新",
          "The pension policy in force is open-ended and started 12 or more months before the month."),
    Check("MISSING_EXTRACT", "error", ("kind",), "completeness", "缺少数据",
          "No staged rows of an extract kind for the month."),
    Check("BILL_MISMATCH", "error", ("id_number", "insurance_type", "region"), "bills", "账单与台账不符",
          "The agency's bill differs from the ledger's net amount by 1.00 or more on either side."),
)

BY_CODE = {check.code: check for check in CHECKS}


def record_checks(con) -> None:
    """Write the registry to ``quality.checks`` (inside the caller's transaction): what the report reads."""
    con.execute("DELETE FROM quality.checks")
    con.executemany("INSERT INTO quality.checks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [[n, c.code, c.severity, list(c.key), c.suite, SUITES[c.suite], c.title_zh, c.description]
                     for n, c in enumerate(CHECKS)])


def suite_checks(suite: str) -> list[Check]:
    return [check for check in CHECKS if check.suite == suite]
