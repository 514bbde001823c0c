"""The one Chinese glossary for what people read: insurance types, transfer stages, action statuses,
severities, reject reasons, extract kinds. Reports, workbooks, forms and declarations label codes through
``zh`` so that an enum value or an English code never reaches a cell a person reads. A finding code's title
and evidence sentence are its row of the check registry, read from ``quality.checks``."""

from __future__ import annotations

INSURANCE = {"pension": "养老保险", "medical": "医疗保险", "unemployment": "失业保险", "work_injury": "工伤保险",
             "maternity": "生育保险"}
INSURANCE_SHORT = {"pension": "养老", "medical": "医疗", "unemployment": "失业", "work_injury": "工伤",
                   "maternity": "生育"}
STAGE = {"submitted": "已提交", "origin_approved": "转出地已审核", "funds_received": "资金已到账",
         "completed": "已办结", "rejected": "已退回"}
# Action statuses (SPEC §6); the workbook's 处理状态 column uses the same words.
ACTION_STATUS = {"open": "待处理", "submitted": "已提交", "resolved": "已解决", "dismissed": "忽略"}
RECORD_STATUS = {"active": "在缴", "suspended": "暂停", "terminated": "终止"}
RUN_STATUS = {"succeeded": "已完成", "running": "进行中", "failed": "失败"}
SEVERITY = {"error": "错误", "warning": "警告"}
KIND = {"payroll": "工资表", "attendance": "考勤表", "insurance": "参保明细", "transfers": "转移接续",
        "bill": "社保缴费账单", "action_updates": "动作处理回执"}
ID_PROBLEM = {"format": "格式错误（应为17位数字加校验位）", "check_digit": "校验位错误",
              "birth_date": "出生日期不可能", "too_young": "未满16周岁", "province": "前两位不是省级行政区代码"}
REJECT_REASON = {
    "DUPLICATE_ROW": "重复的行", "MALFORMED_ROW": "行格式错误（列数不对）", "MISSING_FIELD": "必填项为空",
    "BAD_MONTH": "月份格式错误", "BAD_DATE": "日期格式错误", "BAD_AMOUNT": "金额格式错误",
    "NEGATIVE_AMOUNT": "金额为负数", "UNKNOWN_VALUE": "取值无法识别", "NOT_ALLOWED": "无权执行此操作",
    "NOT_DATA": "不是数据行（合计、样例或填表说明），已跳过", "TOO_LONG": "内容过长",
}
VERIFIED = {"official": "官方文件", "secondary": "二手资料", "unverified": "未核实", "test": "测试数据",
            True: "已核实", False: "未核实"}
SEX = {"M": "男", "F": "女"}
YES_NO = {True: "是", False: "否"}
# SPEC §3/§7 政策核实: the verified mark of a policy row (and of each ledger row and export line it computed).
POLICY_VERIFIED = {"official": "官方核实", "secondary": "二手来源", "assumed": "推定"}
POLICY_VERIFIED_UNKNOWN = "未记录"  # ledger rows booked before the mark was recorded
ROUNDING = {"cent_half_up": "四舍五入到分", "jiao_up": "见分进角"}  # a region's rounding rule (SPEC §3)
SIDE = {"employer": "单位", "employee": "个人"}  # a contribution's side (POLICY_CONFLICTS_BILL's details)
# SPEC §3 户籍 of a policy row ('all': the row applies whatever the hukou).
HUKOU = {"all": "不分户籍", "local": "本地户籍", "nonlocal": "外地户籍"}
ENTRY_TYPE = {"original": "首次入账", "adjustment": "调整"}
# SPEC §3 用工形式 and §5 岗位类别 / the basis of a statutory retirement age (RETIREMENT_DUE).
EMPLOYMENT_TYPE = {"full_time": "全日制", "part_time": "非全日制", "retiree": "退休返聘", "intern": "实习"}
POSITION_CATEGORY = {"worker": "工人", "cadre": "干部"}
RETIREMENT_BASIS = {"male": "男职工", "female_50": "女职工（工人岗位）", "female_55": "女职工（干部岗位）"}


def zh(table: dict, code: object, default: str = "") -> str:
    """``code``'s Chinese label in ``table``; ``default`` (never the code itself) when there is none."""
    if code is None:
        return default
    return table.get(code, default)


def id_type(id_number: str | None) -> str:
    """证件类型 from the number's form: 2023 foreign permanent-resident numbers start with 9 (SPEC §2)."""
    if id_number and str(id_number).startswith("9") and len(str(id_number)) == 18:
        return "外国人永久居留身份证"
    return "居民身份证"


def retirement_age_zh(age: str | None) -> str:
    """``60y1m`` (RETIREMENT_DUE's retirement_age) as HR reads it: 60岁1个月; ``50y0m``: 50周岁."""
    if not age or "y" not in age:
        return ""
    years, months = age.rstrip("m").split("y", 1)
    return f"{years}周岁" if months in ("", "0") else f"{years}岁{months}个月"
