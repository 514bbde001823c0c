"""The evidence sentences HR reads, rendered from the registry's templates (the report's cell per finding,
the workbook's 说明 per action): the wording of the sentences that existed before the registry held them."""

from __future__ import annotations

import json

import polars as pl

from expectations.registry import BY_CODE
from transforms.actions.evidence import findings_sentences, registry, sentence, titles
from transforms.actions.workbook import evidence


def said(code: str, **details) -> str:
    return sentence(BY_CODE[code].evidence_zh, details)


def test_sentences_keep_their_wording():
    assert said("HIRED_NOT_ENROLLED", hire_date="2024-01-05", records=[
        {"region": "杭州", "employer": "乙公司", "status": "terminated"}], arrears_months=["2024-01", "2024-02"],
        arrears_employer="100.00", arrears_employee="40.00", late_fee="1.20") == (
        "入职日期 2024-01-05；本单位在该地无有效养老参保记录；现有记录：杭州 乙公司（终止）；应补缴 2 个月"
        "（2024-01、2024-02）：单位 100.00，个人 40.00，滞纳金 1.20（按日万分之五估算至 本月末）")
    assert said("HIRED_NOT_ENROLLED", hire_date=None, records=[]) == (
        "入职日期 —；本单位在该地无有效养老参保记录；现有记录：无")
    # SPEC v3: the registration window, the day the late fee is estimated to, arrears before the data
    assert said("HIRED_NOT_ENROLLED", hire_date="2024-03-20", registration_due="2024-04-19", overdue=False,
                records=[]) == ("入职日期 2024-03-20，应于 2024-04-19 前办理参保登记（尚在30日登记期内）；"
                                "本单位在该地无有效养老参保记录；现有记录：无")
    assert said("HIRED_NOT_ENROLLED", hire_date="2016-05-24", registration_due="2016-06-23", overdue=True,
                records=[], arrears_months=["2024-06"], arrears_employer="1.00", arrears_employee="0.50",
                late_fee="0.02", late_fee_until="2024-07-31", arrears_before_data=True) == (
        "入职日期 2016-05-24，应于 2016-06-23 前办理参保登记；本单位在该地无有效养老参保记录；现有记录：无；"
        "应补缴 1 个月（2024-06）：单位 1.00，个人 0.50，滞纳金 0.02（按日万分之五估算至 2024-07-31）；"
        "入职早于本系统最早的工资数据，此前月份的补缴无法在此计算")
    assert said("INVALID_ID_NUMBER", id_problem="check_digit", id_number_raw="x", insured_as="430102********1234") == (
        "校验位错误；原始号码 x；本单位以 430102********1234 为其参保（同名）：请按参保号码更正，无需增员或补缴")
    assert said("TRANSFER_NEEDED", from_region="深圳", to_region="长沙", interim_account_check=True) == (
        "转出地 深圳；转入地 长沙；适用临时缴费账户规定（国办发〔2009〕66号 第六条）：养老保险关系暂留原参保地，不申请转移")
    assert said("STALE_TRANSFER", from_region="长沙", to_region="广州", stage="submitted", stage_on="2024-02-26",
                working_days_waited=24, limit_days=15, calendar="official") == (
        "长沙 → 广州，阶段「已提交」自 2024-02-26 已等待 24 个工作日（上限 15）")
    assert said("STALE_TRANSFER", stage="odd", calendar="weekends_only").endswith("（超出官方日历年份，仅按周末计算）")
    assert said("MISSING_EXTRACT", kind="attendance", latest_period_before="2024-02") == "本月没有「考勤表」数据（最近一期 2024-02）"
    assert said("MISSING_EXTRACT", kind="nope") == "本月没有「数据文件」数据"
    assert said("INVALID_ID_NUMBER", id_problem="check_digit", id_number_raw="x") == "校验位错误；原始号码 x"
    assert said("INVALID_ID_NUMBER") == "号码有误；原始号码 —"
    assert said("DEPARTED_STILL_CONTRIBUTING", leave_date="2024-01-01", records=[
        {"insurance_type": "pension"}, {"insurance_type": "medical"}]) == (
        "离职日期 2024-01-01，本月无工资记录，仍有有效参保：养老、医疗")
    assert said("NO_POLICY", employees=1, people=[{"entity": "甲", "employee_id": "S1"}]) == "1 名员工在该地区无养老政策：甲 S1"
    # a value that is not there reads —, never None
    assert said("BASE_MISMATCH", base="3000.00", ledger_base=None) == "参保基数 3000.00，台账基数 —，差额 —"


def test_the_workbook_line_holds_each_findings_sentence_led_by_its_type(con):
    checks = registry(con)
    finding = {"code": "BASE_MISMATCH", "entity": "甲", "employee_id": "E1", "id_number": None}
    details = {"insurance_types": ["medical", "pension"], "findings": [
        finding | {"insurance_type": t, "evidence": {"base": "3000.00", "ledger_base": "3100.00", "difference": "-100.00"}}
        for t in ("medical", "pension")]}
    assert findings_sentences(details, checks) == [
        "医疗：参保基数 3000.00，台账基数 3100.00，差额 -100.00", "养老：参保基数 3000.00，台账基数 3100.00，差额 -100.00"]
    line = evidence(json.dumps(details), checks)
    assert line.startswith("险种：医疗、养老；医疗：参保基数 3000.00")


def test_titles_name_each_code_over_the_whole_column():
    checks = {"BASE_MISMATCH": ("基数不一致", None), "INVALID_ID_NUMBER": ("身份证号无效", None)}

    def one_at_a_time(codes: str | None) -> str | None:  # the rule as it reads, for one value
        if codes is None:
            return None
        return "、".join(checks[c][0] if c in checks else "其他问题" for c in codes.split(",") if c)

    values = ["BASE_MISMATCH", "BASE_MISMATCH,INVALID_ID_NUMBER", "INVALID_ID_NUMBER,NEW_CODE", "", ",",
              "BASE_MISMATCH,,BASE_MISMATCH", None]
    frame = pl.DataFrame({"codes": values}, schema={"codes": pl.String})
    assert frame.select(titles(pl.col("codes"), checks)).to_series().to_list() == [one_at_a_time(v) for v in values]
    assert frame.select(titles(pl.col("codes"), {})).to_series().to_list()[:2] == ["其他问题", "其他问题、其他问题"]
