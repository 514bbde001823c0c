"""``shebao policy show`` / ``policy check`` (SPEC §3, issue 24): the rows a close would use, with source and
mark, and the coverage of the required regions; read without a role and without writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flows.test_cli import shebao
from transforms.ledger.policy import apply_policy
from warehouse.db import opened
from warehouse.reference import REQUIRED_REGIONS

OVERRIDE = """地区,险种,生效月份,截止月份,基数下限,基数上限,单位费率,个人费率,来源,核实,户籍
深圳,养老,2025-01,,2520,27549,16%,8%,深人社规〔2024〕1号,官方核实,本地户籍
深圳,养老,2025-01,,2520,27549,15%,8%,深人社规〔2024〕1号,官方核实,外地户籍
深圳,医疗,2025-01,,2520,27549,5%,2%,,,
大连,养老,2023-01,,3000,20000,16%,8%,大人社发〔2023〕1号,official,
"""


@pytest.fixture()
def warehouse(tmp_path) -> Path:
    path = tmp_path / "wh.duckdb"
    policy = tmp_path / "policy.csv"
    policy.write_text(OVERRIDE, encoding="utf-8")
    with opened(path) as con:
        apply_policy(con, policy)
    return path


def test_show_without_a_warehouse_is_the_shipped_table_and_writes_nothing(tmp_path):
    result = shebao("policy", "show", "--region", "广东省深圳市", "--period", "2025-03", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header == ["地区", "险种", "户籍", "执行期间", "基数下限", "基数上限", "单位费率", "个人费率", "固定金额",
                      "来源", "政策核实"]
    body = result.stdout.splitlines()[2:]
    assert body and all(line.startswith("深圳") for line in body) and "养老保险" in body[0]
    assert body[-1].startswith("深圳 地区设置：入职截止日 ") and "来源：" in body[-1]
    assert list(tmp_path.iterdir()) == []


def test_show_uses_the_stored_override_with_hukou_rows_and_marks(warehouse, tmp_path):
    result = shebao("policy", "show", "--region", "深圳", "--period", "2025-03", "--warehouse", str(warehouse),
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:-1]]
    assert [(r[1], r[2], r[8], r[-1]) for r in rows] == [  # 执行期间 is three words
        ("养老保险", "本地户籍", "16%", "官方核实"), ("养老保险", "外地户籍", "15%", "官方核实"),
        ("医疗保险", "不分户籍", "5%", "推定")]
    # before the rows start there is nothing to use
    result = shebao("policy", "show", "--region", "深圳", "--period", "2024-12", "--warehouse", str(warehouse),
                    cwd=tmp_path)
    assert result.returncode == 0 and "没有政策行" in result.stdout


def test_show_names_an_unknown_region_in_one_sentence(tmp_path):
    result = shebao("policy", "show", "--region", "长砂", "--period", "2025-03", cwd=tmp_path)
    assert result.returncode == 2
    assert "长砂" in result.stderr and "长沙" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_lists_every_required_region_its_gaps_and_assumed_rows(warehouse, tmp_path):
    result = shebao("policy", "check", "--warehouse", str(warehouse), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["地区", "缺养老政策的月份", "缺少月数", "有来源的月份", "推定行数"]
    rows = {line.split()[0]: line.split() for line in lines[2:-1]}
    assert list(rows) == list(REQUIRED_REGIONS)
    assert rows["大连"][1:] == ["无", "0", "36/36", "0"]        # the override's open-ended official row
    assert rows["深圳"][1:3] == ["2023-01..2024-12", "24"]       # the override replaces every shipped 深圳 row
    assert rows["深圳"][3:] == ["12/36", "1"]                    # its medical row states no mark: assumed
    assert lines[-1].startswith(f"必需地区 {len(REQUIRED_REGIONS)} 个，2023-01 至 2025-12 共 "
                                f"{36 * len(REQUIRED_REGIONS)} 个地区月份")
