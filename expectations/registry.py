"""The checks of SPEC §5: one SQL file per finding code, and one row here with everything else about it.

A finding code touches two places: its SQL file (``checks/<code>.sql``) and its :class:`Check` row below,
which carries the severity, SPEC's "one row per" key, the suite, the Chinese title, the action type of SPEC
§6 (or ``None``, and ``action_if``, the type its details may call for instead), the extracts its findings need, the actions' problem-key expression and the Chinese
evidence sentence, the SPEC §7 declarations its findings feed and whether a known transfer makes its action moot. The validation writes the rows to ``quality.checks`` (:func:`record_checks`), and the
layers below read them from there: the actions stage builds its type map and problem keys from it, the HR
report and workbook render the evidence sentences from it, the declarations pick their findings by it. Nothing
else names a code (``tests/expectations/test_registry_complete.py``); a caller may pass its own rows
(``validate_period(..., checks=...)``, each ``Check.folder`` the folder of its SQL file).

A check's SQL returns the failing rows with the columns of ``quality.findings`` except run_id, code and
severity (:data:`OUTPUT_COLUMNS`). It reads its period from ``{batch}`` — a one-row relation with a
``period`` column — always as ``WITH scope AS (SELECT period FROM {batch})``, so that it runs unchanged
as a GX ``UnexpectedRowsExpectation`` and directly in DuckDB. Rules over other areas' relations
(``ref.policy``, ``ledger.*``) are shared fragments in ``checks/shared/`` named ``{fragment}`` in a check;
:func:`Check.sql` fills them in, so the text GX runs and the text the findings come from are one string.

``problem_key`` is a DuckDB expression over one finding ``f`` (the columns of ``quality.findings``, and
``f.d``, its details as JSON): the key that keeps an action's id from month to month (transforms/actions/cleanup.py).
Its text must keep giving the keys stored in ``actions.cleanup_actions.problem_key``: changing one needs a
migration that rewrites them (as 012 did). ``evidence_zh`` is a Jinja template over the finding's details
(``transforms/actions/evidence.py`` renders it: ``zh(TABLE, default)`` labels a code through ``transforms.common.glossary``,
``people`` lists ``{entity, employee_id}`` items); what it prints is what HR reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from warehouse.sql import sql_text

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
    # No defaults below: a new row states each one (``action=None`` for a code that calls for no action).
    action: str | None       # SPEC §6 action type
    needs: tuple[str, ...]   # extracts its findings come from: missing, its open actions are not resolved
    problem_key: str | None  # DuckDB expression over finding ``f``: the action's key (never the month)
    evidence_zh: str         # Jinja template over the finding's details: the sentence HR reads
    # SPEC §6's exceptions to ``action``, the one place a code's action depends on its details: (DuckDB condition
    # over finding ``f``, action type) — where the condition holds, the finding calls for that type instead.
    # A default, unlike the fields above: most codes have no exception.
    action_if: tuple[str, str] | None = None
    # The SPEC §7 declarations its findings feed, by the name of their SQL (``transforms/outputs/sql/declaration_<name>.sql``:
    # ``enrol``, ``stop``, ``arrears``), read through ``quality.declared_findings``; its details carry the
    # fields that file reads (``checks/README.md``).
    declarations: tuple[str, ...] = ()
    # SPEC §6: its action is moot while a pension transfer of the person from the finding's ``other_region`` is
    # known (the transfer's own findings cover it): ACTIVE_ELSEWHERE's STOP_ORIGIN_RECORD.
    moot_with_transfer: bool = False
    # The folder of its SQL file: the registry's own, or another a caller passes with its rows (a test's toy
    # code: ``validate_period(..., checks=CHECKS + (toy,))``).
    folder: Path = CHECKS_DIR

    @property
    def path(self) -> Path:
        return self.folder / f"{self.code.lower()}.sql"

    @cached_property
    def sql(self) -> str:
        """The check's one SQL text, shared fragments filled in; ``{batch}`` left for GX (or :meth:`sql_for`)."""
        text = sql_text(self.path)
        fragments = {path.stem: _strip_comments(sql_text(path)) for path in SHARED_DIR.glob("*.sql")}
        return text.format(batch="{batch}", **fragments).rstrip().rstrip(";")

    def sql_for(self, batch: str) -> str:
        """The same text with ``{batch}`` replaced, to run directly in DuckDB (what GX does for its batch)."""
        return self.sql.format(batch=batch)


def _strip_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


ENTITY_EMPLOYEE = "concat_ws('|', f.entity, f.employee_id)"
ENTITY_PERSON = "concat_ws('|', f.entity, f.id_number)"
ID_KINDS = ("payroll", "attendance")

CHECKS: tuple[Check, ...] = (
    Check("DUPLICATE_ID_NUMBER", "error", ("entity", "employee_id"), "identity", "重复身份证号",
          "One normalised id_number held by two or more of the month's employees.",
          action="MERGE_RECORDS", needs=ID_KINDS, problem_key="concat_ws('|', 'id', f.id_number)",
          evidence_zh="同一身份证号亦由 {{ others | people }} 使用；原始号码 {{ id_number_raw }}"),
    Check("DUPLICATE_PERSON", "warning", ("entity", "employee_id"), "identity", "疑似同一人",
          "Employees with the same name and birth date but different id_numbers.",
          action="MERGE_RECORDS", needs=ID_KINDS,
          problem_key="concat_ws('|', 'person', f.d ->> '$.name', f.d ->> '$.birth_digits')",
          evidence_zh="姓名与出生日期 {{ birth_digits }} 相同、身份证号不同：{{ others | people }}"),
    Check("INVALID_ID_NUMBER", "error", ("entity", "employee_id"), "identity", "身份证号无效",
          "An employee's id_number fails GB 11643 (format, province, birth date, check digit).",
          action="FIX_ID_NUMBER", needs=ID_KINDS, problem_key=ENTITY_EMPLOYEE,
          evidence_zh="{{ (id_problem or problem) | zh('ID_PROBLEM', '号码有误') }}；原始号码 {{ id_number_raw or '—' }}"
                      "{% if insured_as %}；本单位以 {{ insured_as }} 为其参保（同名）：请按参保号码更正，"
                      "无需增员或补缴{% endif %}"),
    Check("BASE_BELOW_FLOOR", "error", ("id_number", "insurance_type"), "bases", "缴费基数低于下限",
          "An active insurance record of ours has a base below the policy floor.",
          action="ADJUST_BASE", needs=("insurance", "payroll"), problem_key=ENTITY_PERSON,
          evidence_zh="参保基数 {{ base }} 低于下限 {{ base_floor }}（上限 {{ base_ceiling }}）；参保单位 {{ employer }}"),
    Check("BASE_ABOVE_CEILING", "error", ("id_number", "insurance_type"), "bases", "缴费基数高于上限",
          "An active insurance record of ours has a base above the policy ceiling.",
          action="ADJUST_BASE", needs=("insurance", "payroll"), problem_key=ENTITY_PERSON,
          evidence_zh="参保基数 {{ base }} 高于上限 {{ base_ceiling }}（下限 {{ base_floor }}）；参保单位 {{ employer }}"),
    Check("BASE_MISMATCH", "warning", ("id_number", "insurance_type"), "bases", "缴费基数与台账不符",
          "A base within the policy range differs from the ledger base by 1.00 or more.",
          action="ADJUST_BASE", needs=("insurance", "payroll"), problem_key=ENTITY_PERSON,
          evidence_zh="参保基数 {{ base }}，台账基数 {{ ledger_base }}，差额 {{ difference }}"),
    Check("WITHHOLDING_MISMATCH", "warning", ("entity", "employee_id"), "bases", "代扣社保不符",
          "Payroll's social-insurance withholding differs from the ledger's employee share by more than 1.00.",
          action="CORRECT_WITHHOLDING", needs=("payroll",), problem_key=ENTITY_EMPLOYEE,
          evidence_zh="工资代扣 {{ si_withheld }}，应扣 {{ expected_employee_amount }}，差额 {{ difference }}"
                      "（计费比例 {{ month_fraction }}）"),
    Check("HIRED_NOT_ENROLLED", "error", ("entity", "employee_id"), "enrolment", "入职未参保",
          "An employee in the ledger population has no active pension record with us in the payroll city.",
          action="ENROLL_EMPLOYEE", needs=("insurance", "payroll"), problem_key=ENTITY_EMPLOYEE,
          evidence_zh="入职日期 {{ hire_date or '—' }}"
                      "{% if registration_due %}，应于 {{ registration_due }} 前办理参保登记"
                      "{% if not overdue %}（尚在30日登记期内）{% endif %}{% endif %}"
                      "；本单位在该地无有效{{ record_type | zh('INSURANCE_SHORT', '养老') }}参保记录；现有记录："
                      "{% for r in records or [] %}{{ '' if loop.first else '、' }}{{ r.region }} {{ r.employer }}"
                      "（{{ r.status | zh('RECORD_STATUS', '状态不明') }}）{% else %}无{% endfor %}"
                      "{% if arrears_months %}；应补缴 {{ arrears_months | length }} 个月（{{ arrears_months | join('、') }}）："
                      "单位 {{ arrears_employer }}，个人 {{ arrears_employee }}，滞纳金 {{ late_fee }}"
                      "（按日万分之五估算至 {{ late_fee_until or '本月末' }}）{% endif %}"
                      "{% if arrears_before_data %}；入职早于本系统最早的工资数据，此前月份的补缴无法在此计算{% endif %}",
          declarations=("enrol", "arrears")),
    Check("DEPARTED_STILL_CONTRIBUTING", "error", ("entity", "employee_id"), "enrolment", "离职仍在缴费",
          "A departed employee still has an active insurance record with the entity.",
          action="STOP_CONTRIBUTION", needs=("insurance", "attendance"), problem_key=ENTITY_EMPLOYEE,
          evidence_zh="离职日期 {{ leave_date }}，本月无工资记录，仍有有效参保："
                      "{{ (records or []) | map(attribute='insurance_type') | map('zh', 'INSURANCE_SHORT', '其他险种')"
                      " | join('、') }}",
          declarations=("stop",)),
    Check("ACTIVE_ELSEWHERE", "error", ("entity", "employee_id"), "enrolment", "异地仍在参保",
          "An employee in the ledger population has an active pension record in another region.",
          action="STOP_ORIGIN_RECORD", needs=("insurance", "payroll", "transfers"),
          problem_key="concat_ws('|', f.entity, f.employee_id, f.d ->> '$.other_region')",
          evidence_zh="在 {{ other_region }}（{{ other_employer }}，自 {{ other_start_month }}）仍有有效养老参保",
          moot_with_transfer=True),
    Check("DOUBLE_ENROLLMENT", "error", ("entity", "employee_id"), "enrolment", "同地重复参保",
          "An employee in the ledger population is also insured by another employer in the same region.",
          action="STOP_ORIGIN_RECORD", needs=("insurance", "payroll", "transfers"),
          problem_key="concat_ws('|', f.entity, f.employee_id, 'employer', f.d ->> '$.other_employer')",
          evidence_zh="其他参保单位 {{ other_employer }}"),
    Check("TRANSFER_NEEDED", "warning", ("entity", "employee_id"), "transfers", "需办理转移接续",
          "An employee enrolled here still has a stopped pension record in another province and no transfer.",
          action="INITIATE_TRANSFER", needs=("insurance", "payroll", "transfers"),
          problem_key="concat_ws('|', f.entity, f.employee_id, 'from', f.d ->> '$.from_region')",
          evidence_zh="转出地 {{ from_region }}；转入地 {{ to_region }}{% if interim_account_check %}"
                      "；适用临时缴费账户规定（国办发〔2009〕66号 第六条）：养老保险关系暂留原参保地，不申请转移"
                      "{% elif hukou_unknown %}；户籍所在地未知：请核对是否适用临时缴费账户规定{% endif %}",
          # 国办发〔2009〕66号 第六条: the relationship stays at the origin, R keeps an interim account (SPEC §6)
          action_if=("coalesce(TRY_CAST(f.d ->> '$.interim_account_check' AS BOOLEAN), false)",
                     "CONFIRM_INTERIM_ACCOUNT")),
    Check("FIRST_ENROLLMENT_MISJUDGED", "error", ("id_number",), "enrolment", "首次参保误判",
          "A pension record marked first enrolment while an earlier pension record exists.",
          action="LINK_PRIOR_HISTORY", needs=("insurance",), problem_key="f.id_number",
          evidence_zh="标记为首次参保（{{ start_month }} 起），但 {{ earlier_start_month }} 已在 {{ earlier_region }}"
                      "（{{ earlier_employer }}）参保"),
    Check("RETIREMENT_DUE", "warning", ("entity", "employee_id"), "enrolment", "到达法定退休年龄",
          "An employee in the ledger population reaches the statutory retirement age by three months after the month.",
          action="PREPARE_RETIREMENT", needs=("payroll",), problem_key=ENTITY_EMPLOYEE,
          evidence_zh="{{ basis | zh('RETIREMENT_BASIS', '') }}，出生 {{ birth_month }}，法定退休年龄 "
                      "{{ retirement_age | replace('y0m', '周岁') | replace('y', '岁') | replace('m', '个月') }}，"
                      "退休年月 {{ retirement_month }}；累计缴费 "
                      "{% if months_paid is not none %}{{ months_paid }} 个月{% else %}未知（参保明细未提供）{% endif %}，"
                      "最低缴费 {{ min_contribution_months }} 个月{% if short_of_minimum %}，尚差 "
                      "{{ min_contribution_months - months_paid }} 个月{% endif %}"
                      "{% if basis_assumed %}；未提供岗位类别，按女职工50周岁推定{% endif %}"),
    Check("NO_POLICY", "error", ("region",), "enrolment", "缺少政策",
          "Employees owe contributions in a region without a pension policy row for the month.",
          action="ADD_POLICY", needs=("payroll",), problem_key="concat_ws('|', 'region', f.region)",
          evidence_zh="{{ employees }} 名员工在该地区无养老政策：{{ people | people }}"),
    Check("STALE_TRANSFER", "warning", ("transfer_id",), "transfers", "转移接续超时",
          "An open transfer has waited more working days than its stage's limit.",
          action="CHASE_TRANSFER", needs=("transfers",), problem_key="f.transfer_id",
          evidence_zh="{{ from_region }} → {{ to_region }}，阶段「{{ stage | zh('STAGE', '办理中') }}」自 {{ stage_on }}"
                      " 已等待 {{ working_days_waited }} 个工作日（上限 {{ limit_days }}）"
                      "{% if calendar != 'official' %}（超出官方日历年份，仅按周末计算）{% endif %}"),
    Check("TRANSFER_NOT_REFLECTED", "error", ("transfer_id",), "transfers", "转移未体现",
          "A completed transfer while the origin region still shows an active pension record.",
          action="UPDATE_TRANSFER_STATUS", needs=("transfers", "insurance"), problem_key="f.transfer_id",
          evidence_zh="{{ from_region }} → {{ to_region }} 已于 {{ stage_on }} 办结，但转出地仍有有效养老参保"
                      "（{{ record_employer }}，自 {{ record_start_month }}）"),
    Check("POLICY_OUTDATED", "warning", ("region",), "completeness", "政策待更新",
          "The pension policy in force is open-ended and started 12 or more months before the month.",
          action="UPDATE_POLICY", needs=("payroll",), problem_key="concat_ws('|', 'region', f.region)",
          evidence_zh="政策起始 {{ effective_from }}"),
    Check("MISSING_EXTRACT", "error", ("kind",), "completeness", "缺少数据",
          "No staged rows of an extract kind for the month.",
          action=None, needs=(), problem_key=None,
          evidence_zh="本月没有「{{ kind | zh('KIND', '数据文件') }}」数据"
                      "{% if latest_period_before %}（最近一期 {{ latest_period_before }}）{% endif %}"),
    Check("BILL_MISMATCH", "error", ("id_number", "insurance_type", "region"), "bills", "账单与台账不符",
          "The agency's bill differs from the ledger's net amount by 1.00 or more on either side.",
          action="RECONCILE_BILL", needs=("payroll", "bill"), problem_key="concat_ws('|', 'bill', f.region, f.id_number)",
          evidence_zh="账单 单位 {{ billed_employer_amount }}（台账 {{ ledger_employer_amount }}），"
                      "个人 {{ billed_employee_amount }}（台账 {{ ledger_employee_amount }}），"
                      "基数 {{ billed_base or '—' }}（台账 {{ ledger_base or '—' }}）"),
    Check("POLICY_CONFLICTS_BILL", "warning", ("region", "insurance_type"), "bills", "账单费率与政策不符",
          "Most billed rows of a region and type disagree with round(base x the policy's rate) + its fixed sum.",
          action="UPDATE_POLICY", needs=("payroll",),
          problem_key="concat_ws('|', 'policy_bill', f.region, f.insurance_type)",
          evidence_zh="账单中 {{ rows_disagreeing }} 行（共 {{ rows }} 行）的{{ side | zh('SIDE', '') }}缴费与政策费率 "
                      "{{ policy_rate }} 不符，按账单推算的费率为 {{ implied_rate }}，请核实后更新政策表"),
)

BY_CODE = {check.code: check for check in CHECKS}
FINDING_ACTION = {check.code: check.action for check in CHECKS if check.action}  # SPEC §6

COLUMNS = ("ordinal", "code", "severity", "key", "suite", "suite_zh", "title_zh", "description", "action_type",
           "needs", "problem_key", "evidence_zh", "action_if", "action_if_type", "declarations", "moot_with_transfer")


def record_checks(con, checks: tuple[Check, ...] = CHECKS) -> None:
    """Write the registry's rows (``checks``: all of them, or a caller's list) to ``quality.checks`` (inside the
    caller's transaction): what the report, the workbook, the actions stage and the declarations read."""
    con.execute("DELETE FROM quality.checks")
    con.executemany(f"INSERT INTO quality.checks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
                    [[n, c.code, c.severity, list(c.key), c.suite, SUITES[c.suite], c.title_zh, c.description,
                      c.action, list(c.needs), c.problem_key, c.evidence_zh,
                      c.action_if[0] if c.action_if else None, c.action_if[1] if c.action_if else None,
                      list(c.declarations), c.moot_with_transfer]
                     for n, c in enumerate(checks)])
