"""The four extract kinds of SPEC §2: canonical columns, header aliases, and how each value parses.

This table is the single place that knows which header means which column. Recognition and
normalisation both read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# How a column's text is parsed into its staged value (see transforms/ingest/normalise.py).
TEXT, NAME, ID_NUMBER, REGION, MONTH, DATE, AMOUNT, NON_NEGATIVE_AMOUNT, COUNT, DAYS, YES_NO = (
    "text", "name", "id_number", "region", "month", "date", "amount", "non_negative_amount", "count", "days",
    "yes_no",
)
ORG_NAME = "org_name"  # an employer or entity name (SPEC §2: one spelling per organisation)
PLACE = "place"  # a free-text place (户籍所在地), kept as given with the province it names
INSURANCE_TYPE, STATUS, STAGE = "insurance_type", "status", "stage"
# SPEC §2/§3 用工形式 and 岗位类别: coded values (EMPLOYMENT_TYPES, POSITION_CATEGORIES below). A blank
# 用工形式 is full-time; a file without the column says nothing (transforms/ingest/staging.py).
EMPLOYMENT_TYPE, POSITION_CATEGORY = "employment_type", "position_category"


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    required: bool
    parse: str
    default: str | None = None  # canonical value used when the cell is blank


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)


_PAYROLL_PERIOD = ("工资月份", "所属期", "月份", "期间", "所属月份", "账单月份", "税款所属期")
_EMPLOYEE_ID = ("工号", "员工编号", "员工工号", "人员编码", "人员编号")
_PAYROLL_ID = ("身份证号", "身份证号码", "证件号码", "证件编号", "证照号码")
_ENTITY = ("公司", "用人单位", "单位名称", "法人主体", "所属公司")
_SNAPSHOT_PERIOD = ("数据期间", "导出月份", "查询月份")
_SNAPSHOT_ID = ("公民身份号码", "身份证号", "身份证号码", "证件号码")
_INSURANCE_TYPE = ("险种", "险种类型", "参保险种")

KINDS: dict[str, Kind] = {
    "payroll": Kind("payroll", "工资表", (
        Column("period", _PAYROLL_PERIOD, True, MONTH),
        Column("employee_id", _EMPLOYEE_ID, True, TEXT),
        Column("name", ("姓名", "人员姓名", "员工姓名"), True, NAME),
        Column("id_number", _PAYROLL_ID, True, ID_NUMBER),
        Column("entity", _ENTITY, True, ORG_NAME),
        Column("city", ("参保城市", "工作城市", "缴纳地", "社保缴纳地", "所在城市"), True, REGION),
        Column("gross_pay", ("应发工资", "应发合计", "本期收入", "税前工资"), True, NON_NEGATIVE_AMOUNT),
        Column("net_pay", ("实发工资", "实发合计"), False, NON_NEGATIVE_AMOUNT),
        Column("si_withheld", ("个人社保", "社保个人扣款", "代扣社保", "个人社保合计"), False, AMOUNT),
    )),
    "attendance": Kind("attendance", "考勤", (
        Column("period", _PAYROLL_PERIOD, True, MONTH),
        Column("employee_id", _EMPLOYEE_ID, True, TEXT),
        Column("name", ("姓名",), True, NAME),
        Column("id_number", _PAYROLL_ID, False, ID_NUMBER),
        Column("entity", _ENTITY, True, ORG_NAME),
        Column("hire_date", ("入职日期", "入职时间", "入司时间"), True, DATE),
        Column("leave_date", ("离职日期", "离职时间"), False, DATE),
        Column("attendance_days", ("出勤天数", "实际出勤"), False, DAYS),
        Column("hukou_region", ("户籍所在地", "户口所在地"), False, PLACE),
        Column("employment_type", ("用工形式", "人员类别"), False, EMPLOYMENT_TYPE),
        Column("position_category", ("岗位类别", "人员身份"), False, POSITION_CATEGORY),
    )),
    "insurance": Kind("insurance", "参保记录", (
        Column("period", _SNAPSHOT_PERIOD, True, MONTH),
        Column("id_number", _SNAPSHOT_ID, True, ID_NUMBER),
        Column("name", ("姓名",), True, NAME),
        Column("region", ("参保地", "参保城市", "参保统筹区"), True, REGION),
        Column("employer", ("单位名称", "参保单位"), True, ORG_NAME),
        Column("insurance_type", _INSURANCE_TYPE, True, INSURANCE_TYPE),
        Column("status", ("参保状态", "缴费状态", "人员参保状态"), True, STATUS),
        Column("start_month", ("参保开始年月", "起始年月", "开始年月", "参加失业保险时间"), True, MONTH),
        Column("end_month", ("参保终止年月", "终止年月", "截止年月"), False, MONTH),
        Column("base", ("缴费基数", "申报基数", "人员缴费基数"), True, NON_NEGATIVE_AMOUNT),
        Column("months_paid", ("累计缴费月数",), False, COUNT),
        Column("first_enrollment", ("首次参保",), False, YES_NO),
    )),
    "transfers": Kind("transfers", "转移接续", (
        Column("period", _SNAPSHOT_PERIOD, True, MONTH),
        Column("transfer_id", ("业务流水号", "申请编号"), True, TEXT),
        Column("id_number", _SNAPSHOT_ID, True, ID_NUMBER),
        Column("name", ("姓名",), True, NAME),
        Column("insurance_type", _INSURANCE_TYPE, False, INSURANCE_TYPE, default="pension"),
        Column("from_region", ("转出地",), True, REGION),
        Column("to_region", ("转入地",), True, REGION),
        Column("stage", ("办理状态", "业务状态"), True, STAGE),
        Column("submitted_on", ("申请日期",), True, DATE),
        Column("stage_on", ("状态日期", "状态更新日期"), True, DATE),
    )),
    # The agency's bill for one month (optional): one row per person and insurance type, per region.
    "bill": Kind("bill", "社保费缴费明细", (
        Column("period", ("费款所属期", "缴费所属期", "所属期", "对应费款所属期"), True, MONTH),
        Column("id_number", _SNAPSHOT_ID, True, ID_NUMBER),
        Column("name", ("姓名",), True, NAME),
        Column("region", ("参保地", "征收地", "统筹区"), True, REGION),
        Column("employer", ("单位名称", "缴费单位"), True, ORG_NAME),
        Column("insurance_type", _INSURANCE_TYPE, True, INSURANCE_TYPE),
        Column("base", ("缴费基数", "个人缴费基数总额"), True, NON_NEGATIVE_AMOUNT),
        Column("employer_amount", ("单位缴费", "单位应缴", "单位缴费金额", "单位应缴金额", "单位缴"), True, AMOUNT),
        Column("employee_amount", ("个人缴费", "个人应缴", "个人缴费金额", "个人缴"), True, AMOUNT),
    )),
}

# Value lists of SPEC §2 (the canonical English names are accepted as themselves).
INSURANCE_TYPES = {
    "pension": ("企业职工基本养老保险", "基本养老保险", "养老保险", "养老", "110"),
    "medical": ("职工基本医疗保险", "城镇职工基本医疗保险", "基本医疗保险", "医疗保险", "医疗", "310"),
    "unemployment": ("失业保险", "失业", "210"),
    "work_injury": ("工伤保险", "工伤", "410"),
    "maternity": ("生育保险", "生育", "510"),
}
STATUSES = {
    "active": ("正常参保", "参保缴费", "正常缴费", "在缴"),
    "suspended": ("暂停缴费", "暂停参保", "中断缴费", "暂停"),
    "terminated": ("终止参保", "终止缴费", "停保", "终止", "注销"),
}
STAGES = {
    "submitted": ("已提交", "待审核", "已申请"),
    "origin_approved": ("转出地已审核", "已发联系函", "转出审核通过"),
    "funds_received": ("资金已到账", "基金已到账"),
    "completed": ("已完成", "办结"),
    "rejected": ("已退回", "不予受理"),
}
# SPEC §3 employment types: what is levied for each is ref.levied_types (warehouse/models).
# SPEC §3 lists 全日制/合同制/劳动合同, 非全日制, 退休返聘/已退休, 实习; the other spellings are the same words as
# rosters write them (小时工: hourly pay is what makes 非全日制用工, 劳动合同法 第68条).
EMPLOYMENT_TYPES = {
    "full_time": ("全日制", "合同制", "劳动合同", "全日制用工", "劳动合同制", "全职", "合同工", "正式工", "正式员工"),
    "part_time": ("非全日制", "非全日制用工", "兼职", "小时工"),
    "retiree": ("退休返聘", "已退休", "返聘", "退休人员", "退休返聘人员"),
    "intern": ("实习", "实习生", "实习人员"),
}
# SPEC §5 RETIREMENT_DUE: a woman's statutory age is 55 (干部: management and technical posts) or 50 (工人).
POSITION_CATEGORIES = {
    "worker": ("工人", "工勤", "工勤人员"),
    "cadre": ("干部", "管理", "技术", "管理岗", "技术岗", "管理人员", "技术人员", "专业技术人员"),
}
YES_NO_VALUES = {"是": True, "y": True, "yes": True, "true": True, "1": True,
                 "否": False, "n": False, "no": False, "false": False, "0": False}


def value_map(lists: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every accepted spelling (lower-cased) -> canonical value."""
    mapping = {canonical: canonical for canonical in lists}
    for canonical, spellings in lists.items():
        for spelling in spellings:
            mapping[spelling.lower()] = canonical
    return mapping


VALUE_LISTS = {INSURANCE_TYPE: value_map(INSURANCE_TYPES), STATUS: value_map(STATUSES), STAGE: value_map(STAGES)}
VALUE_LISTS[EMPLOYMENT_TYPE] = value_map(EMPLOYMENT_TYPES)
VALUE_LISTS[POSITION_CATEGORY] = value_map(POSITION_CATEGORIES)
# What an UNKNOWN_VALUE reject of these columns tells HR to write instead.
VALUE_HINTS = {
    EMPLOYMENT_TYPE: "不是可识别的用工形式，请填写 全日制、非全日制、退休返聘 或 实习",
    POSITION_CATEGORY: "不是可识别的岗位类别，请填写 工人 或 干部（管理、技术岗位同干部）",
}


def header_key(cell: object) -> str:
    """Header cells match aliases with case and surrounding spaces ignored."""
    return str(cell if cell is not None else "").replace("\ufeff", "").strip().strip('"').strip().lower()


# A header cell's decorations (SPEC §2 v3): a leading ``*`` marks a required field in import templates, and a
# parenthesised unit or legend follows the name (``应发工资(单位:元)``, ``险种类型(4 工伤,5 生育)``).
_PARENTHESISED = re.compile(r"[(（][^()（）]*[)）]")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


def clean_header(cell: object) -> str:
    """A header cell as matched against the aliases: ``header_key`` without a leading ``*``, spaces or a
    parenthesised unit or legend."""
    key = _SPACES.sub("", header_key(cell)).lstrip("*＊")
    return _PARENTHESISED.sub("", key) or key


# One kind per file (SPEC §2 v3): a header identifying several kinds is read as the first of these.
PRECEDENCE = ("payroll", "bill", "insurance", "attendance", "transfers")
# Daily attendance (DingTalk 每日统计): a column of days, one row per person and day.
DAY_ALIASES = ("日期", "考勤日期")


def identifies(kind: str, has: set[str], daily: bool) -> bool:
    """SPEC §2 v3 "Kind by what a file has": the identifying columns of each kind."""
    if kind == "payroll":
        return "gross_pay" in has and bool(has & {"name", "id_number"})
    if kind == "bill":
        return bool(has & {"id_number", "name"}) and bool(has & {"employer_amount", "employee_amount"})
    if kind == "insurance":
        return "id_number" in has and bool(has & {"status", "base"}) and "employer_amount" not in has
    if kind == "attendance":
        return "name" in has and (bool(has & {"hire_date", "attendance_days"}) or daily)
    if kind == "transfers":
        return "transfer_id" in has or {"from_region", "to_region"} <= has
    return False


def column_positions(kind: Kind, keys: list[str]) -> dict[str, int]:
    """Canonical column -> cell index. Where two cells match one column, the one whose alias is listed first
    wins (the other stays an extra column); a cell serves one column only."""
    positions: dict[str, int] = {}
    for column in kind.columns:
        for alias in column.aliases:
            alias_key = alias.lower()
            index = next((i for i, key in enumerate(keys) if key == alias_key and i not in positions.values()), None)
            if index is not None:
                positions[column.name] = index
                break
    return positions


def day_column(keys: list[str]) -> int | None:
    """The index of a daily attendance export's column of days, if any."""
    return next((i for i, key in enumerate(keys) if key in DAY_ALIASES), None)


def match_header(cells: list[object]) -> tuple[Kind, dict[str, int]] | None:
    """The kind a header row identifies (SPEC §2 v3), with column name -> cell index; None when it
    identifies none. Columns a file lacks are filled from context or rejected row by row, later."""
    keys = [clean_header(c) for c in cells]
    daily = day_column(keys) is not None
    for name in PRECEDENCE:
        kind = KINDS[name]
        positions = column_positions(kind, keys)
        if identifies(name, set(positions), daily):
            return kind, positions
    return None


# Per-insurance withholding columns of a payroll (SPEC §2 v3 "Per-type columns"): the employee's share of
# pension, medical (incl. 大病/大额医疗) and unemployment; never 住房公积金, 企业年金 or 个税.
_WITHHOLDING = re.compile(
    r"^(?:个人)?(?:基本|补充)?(养老|医疗|失业|大病医疗|大额医疗)(?:保险)?(费)?(?:[(（]?(个人)(?:部分|缴纳|扣款|扣缴)?[)）]?)?$")


def withholding_columns(cells: list[object]) -> list[int]:
    """The cells of per-insurance withholding columns (``养老保险(个人)``, ``个人养老``, ``基本养老保险费``…)."""
    found = []
    for index, cell in enumerate(cells):
        key = _SPACES.sub("", header_key(cell)).lstrip("*＊")
        match = _WITHHOLDING.match(key)
        if match and (key.startswith("个人") or match.group(2) or match.group(3)):
            found.append(index)
    return found


# Every alias of every kind, as matched: a two-row header's child names the column when it is one of these.
ALL_ALIASES = frozenset(alias.lower() for kind in KINDS.values() for column in kind.columns for alias in column.aliases)


# Daily attendance (SPEC §2 v3) carries no hire or leave dates and is not required to: a roster gives them.
DAILY_OPTIONAL = frozenset({"hire_date"})


def daily(kind: Kind) -> Kind:
    """``kind`` (attendance) as a daily export stages it: the columns of ``DAILY_OPTIONAL`` not required."""
    from dataclasses import replace

    return replace(kind, columns=tuple(replace(c, required=False) if c.name in DAILY_OPTIONAL else c
                                       for c in kind.columns))
