"""The four extract kinds of SPEC §2: canonical columns, header aliases, and how each value parses.

This table is the single place that knows which header means which column. Recognition and
normalisation both read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# How a column's text is parsed into its staged value (see transforms/normalise.py).
TEXT, NAME, ID_NUMBER, REGION, MONTH, DATE, AMOUNT, NON_NEGATIVE_AMOUNT, COUNT, DAYS, YES_NO = (
    "text", "name", "id_number", "region", "month", "date", "amount", "non_negative_amount", "count", "days",
    "yes_no",
)
ORG_NAME = "org_name"  # an employer or entity name (SPEC §2: one spelling per organisation)
PLACE = "place"  # a free-text place (户籍所在地), kept as given with the province it names
INSURANCE_TYPE, STATUS, STAGE = "insurance_type", "status", "stage"
# SPEC §2/§3 用工形式 and 岗位类别: coded values (EMPLOYMENT_TYPES, POSITION_CATEGORIES below). A blank
# 用工形式 is full-time; a file without the column says nothing (transforms/staging.py).
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


_PAYROLL_PERIOD = ("工资月份", "所属期", "月份", "期间", "所属月份")
_EMPLOYEE_ID = ("工号", "员工编号", "员工工号")
_PAYROLL_ID = ("身份证号", "身份证号码", "证件号码")
_ENTITY = ("公司", "用人单位", "单位名称", "法人主体")
_SNAPSHOT_PERIOD = ("数据期间", "导出月份", "查询月份")
_SNAPSHOT_ID = ("公民身份号码", "身份证号", "身份证号码", "证件号码")
_INSURANCE_TYPE = ("险种", "险种类型", "参保险种")

KINDS: dict[str, Kind] = {
    "payroll": Kind("payroll", "工资表", (
        Column("period", _PAYROLL_PERIOD, True, MONTH),
        Column("employee_id", _EMPLOYEE_ID, True, TEXT),
        Column("name", ("姓名",), True, NAME),
        Column("id_number", _PAYROLL_ID, True, ID_NUMBER),
        Column("entity", _ENTITY, True, ORG_NAME),
        Column("city", ("参保城市", "工作城市", "缴纳地", "社保缴纳地"), True, REGION),
        Column("gross_pay", ("应发工资", "应发合计"), True, NON_NEGATIVE_AMOUNT),
        Column("net_pay", ("实发工资", "实发合计"), False, NON_NEGATIVE_AMOUNT),
        Column("si_withheld", ("个人社保", "社保个人扣款", "代扣社保", "个人社保合计"), False, AMOUNT),
    )),
    "attendance": Kind("attendance", "考勤", (
        Column("period", _PAYROLL_PERIOD, True, MONTH),
        Column("employee_id", _EMPLOYEE_ID, True, TEXT),
        Column("name", ("姓名",), True, NAME),
        Column("id_number", _PAYROLL_ID, False, ID_NUMBER),
        Column("entity", _ENTITY, True, ORG_NAME),
        Column("hire_date", ("入职日期", "入职时间"), True, DATE),
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
        Column("status", ("参保状态", "缴费状态"), True, STATUS),
        Column("start_month", ("参保开始年月", "起始年月", "开始年月"), True, MONTH),
        Column("end_month", ("参保终止年月", "终止年月", "截止年月"), False, MONTH),
        Column("base", ("缴费基数", "申报基数"), True, NON_NEGATIVE_AMOUNT),
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
        Column("period", ("费款所属期", "缴费所属期", "所属期"), True, MONTH),
        Column("id_number", _SNAPSHOT_ID, True, ID_NUMBER),
        Column("name", ("姓名",), True, NAME),
        Column("region", ("参保地", "征收地", "统筹区"), True, REGION),
        Column("employer", ("单位名称", "缴费单位"), True, ORG_NAME),
        Column("insurance_type", _INSURANCE_TYPE, True, INSURANCE_TYPE),
        Column("base", ("缴费基数",), True, NON_NEGATIVE_AMOUNT),
        Column("employer_amount", ("单位缴费", "单位应缴", "单位缴费金额"), True, AMOUNT),
        Column("employee_amount", ("个人缴费", "个人应缴", "个人缴费金额"), True, AMOUNT),
    )),
}

# Value lists of SPEC §2 (the canonical English names are accepted as themselves).
INSURANCE_TYPES = {
    "pension": ("企业职工基本养老保险", "基本养老保险", "养老保险", "养老"),
    "medical": ("职工基本医疗保险", "基本医疗保险", "医疗保险", "医疗"),
    "unemployment": ("失业保险", "失业"),
    "work_injury": ("工伤保险", "工伤"),
    "maternity": ("生育保险", "生育"),
}
STATUSES = {
    "active": ("正常参保", "参保缴费", "正常缴费", "在缴"),
    "suspended": ("暂停缴费", "暂停参保", "中断缴费", "暂停"),
    "terminated": ("终止参保", "停保", "终止", "注销"),
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


def match_header(cells: list[object]) -> tuple[Kind, dict[str, int]] | None:
    """The kind whose required columns all appear in ``cells``, with column name -> cell index.

    When several kinds match (payroll and attendance share columns), the one matching more of its
    columns wins; a tie is no match, since guessing would stage rows under the wrong kind.
    """
    keys = [header_key(c) for c in cells]
    candidates = []
    for kind in KINDS.values():
        positions: dict[str, int] = {}
        for column in kind.columns:
            aliases = {a.lower() for a in column.aliases}
            for index, key in enumerate(keys):
                if key in aliases and index not in positions.values():
                    positions[column.name] = index
                    break
        if all(c.name in positions for c in kind.required):
            candidates.append((len(positions), kind, positions))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0], reverse=True)
    if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
        return None
    return candidates[0][1], candidates[0][2]
