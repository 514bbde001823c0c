"""The policy in force: shipped rows, overrides by region, validation with one clear sentence."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from transforms.ledger.policy import apply_policy, check_policy_file
from warehouse.errors import InputError

HEADER = "地区,险种,生效月份,截止月份,基数下限,基数上限,单位费率,个人费率"


def write(tmp_path: Path, body: str, header: str = HEADER, name: str = "policy.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((header + "\n" + body + "\n").encode(encoding))
    return path


def policy(con, region, insurance_type="pension"):
    return con.execute("SELECT effective_from, base_floor, base_ceiling, employer_rate, employee_rate FROM ref.policy"
                       " WHERE region = ? AND insurance_type = ? ORDER BY 1", [region, insurance_type]).fetchall()


def test_shipped_policy_holds_changsha_2024(con):
    apply_policy(con)
    assert ("2024-01", Decimal("3604.00"), Decimal("18021.00"), Decimal("0.160000"), Decimal("0.080000")) in \
        policy(con, "长沙")
    assert policy(con, "长沙", "medical")[0][3:] == (Decimal("0.080000"), Decimal("0.020000"))
    regions = {r[0] for r in con.execute("SELECT DISTINCT region FROM ref.policy").fetchall()}
    assert {"长沙", "北京", "上海", "广州", "武汉", "杭州", "成都"} <= regions
    assert con.execute("SELECT count(*) FROM ref.policy WHERE source IS NULL OR source = ''").fetchone()[0] == 0


def test_a_file_replaces_every_shipped_row_of_the_regions_it_names(con, tmp_path):
    path = write(tmp_path, "湖南省长沙市,养老保险,2024-01,,4000,20000,16%,8%")
    summary = apply_policy(con, path)
    assert summary["regions_overridden"] == ["长沙"]
    assert policy(con, "长沙") == [("2024-01", Decimal("4000.00"), Decimal("20000.00"), Decimal("0.160000"),
                                   Decimal("0.080000"))]
    assert policy(con, "长沙", "medical") == []  # every shipped 长沙 row went
    assert policy(con, "北京")  # other regions keep theirs
    # later runs without --policy keep the policy in force
    apply_policy(con)
    assert policy(con, "长沙")[0][1] == Decimal("4000.00")


def test_region_settings_and_new_regions(con, tmp_path):
    header = HEADER + ",截止日,折算比例,舍入规则"
    path = write(tmp_path, "株洲,养老,2024-01,,3200,16500,0.16,0.08,20,0.5,jiao_up\n株洲,医疗,2024-01,,3200,16500,0.08,0.02,20,,",
                 header, encoding="gbk")
    apply_policy(con, path)
    assert con.execute("SELECT hire_cutoff_day, late_hire_fraction, rounding FROM ref.regions WHERE region = '株洲'"
                       ).fetchone() == (20, Decimal("0.5000"), "jiao_up")
    # a region the table does not know is declared by giving its settings (SPEC §3)
    header = HEADER + ",截止日,折算比例,舍入规则,基数年度起始月"
    path = write(tmp_path, "新区,养老,2024-01,,3000,15000,0.16,0.08,15,0.5,cent_half_up,7", header)
    apply_policy(con, path)
    assert con.execute("SELECT hire_cutoff_day, rounding, base_year_start_month FROM ref.regions WHERE region = '新区'"
                       ).fetchone() == (15, "cent_half_up", 7)
    apply_policy(con)  # and stays declared on later runs
    assert policy(con, "新区")[0][1] == Decimal("3000.00")


def test_xlsx_policy_file(con, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["武汉", "养老", "2024-01", None, 4000, 20000, 0.16, 0.08])
    book.save(tmp_path / "policy.xlsx")
    apply_policy(con, tmp_path / "policy.xlsx")
    assert policy(con, "武汉")[0][:3] == ("2024-01", Decimal("4000.00"), Decimal("20000.00"))


@pytest.mark.parametrize(("body", "message"), [
    ("长沙,养老,2024-01,,3604,18021,16,0.08", "employer_rate '16' is 1 or more"),
    ("长沙,养老,2024-01,,3604,18021,0.16,abc", "employee_rate 'abc' is not a rate"),
    ("长沙,养老,2024-01,,18021,3604,0.16,0.08", "base_floor 18021.00 is above base_ceiling"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08\n长沙,养老,2024-06,,3604,18021,0.16,0.08", "overlaps"),
    ("长沙,公积金,2024-01,,3604,18021,0.16,0.08", "insurance type '公积金' is unknown"),
    ("长沙,养老,2024-13,,3604,18021,0.16,0.08", "is not a month"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,20\n长沙,医疗,2024-01,,3604,18021,0.08,0.02,25", "disagrees"),
    ("长沙,养老,2024-01,,3604,18021,0.1600001,0.08", "more than 6 decimal places"),
    ("长沙,养老,2024-01,,3604,18021,0.16,-8%", "outside"),
    ("长沙,养老,2024-01,,3604,18021,NaN,0.08", "employer_rate 'NaN' is not a rate"),
    ("长沙,养老,2024-01,,3604,18021,0.16,sNaN", "employee_rate 'sNaN' is not a rate"),
    ("长沙,养老,2024-01,,3604,18021,0.16,sNaN%", "employee_rate 'sNaN%' is not a rate"),
    ("长沙,养老,2024-01,,3604,18021,inf,0.08", "employer_rate 'inf' is not a rate"),
    ("长沙,养老,2024-01,,3604,18021,-Infinity%,0.08", "employer_rate '-Infinity%' is not a rate"),
    ("长沙,养老,2024-01,,3604,18021,0.16,NaN%", "employee_rate 'NaN%' is not a rate"),
    ("长砂,养老,2024-01,,3604,18021,0.16,0.08", "region '长砂' is not in the region table .did you mean 长沙"),
])
def test_malformed_files_are_one_sentence_and_change_nothing(con, tmp_path, body, message):
    header = HEADER + (",截止日" if "disagrees" in message else "")
    path = write(tmp_path, body, header)
    apply_policy(con)
    before = con.execute("SELECT count(*) FROM ref.policy").fetchone()[0]
    with pytest.raises(InputError, match=message) as caught:
        apply_policy(con, path)
    assert "policy" in str(caught.value) and "\n" not in str(caught.value)
    assert con.execute("SELECT count(*) FROM ref.policy").fetchone()[0] == before
    with pytest.raises(InputError):
        check_policy_file(path)


def test_missing_policy_file(con, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        apply_policy(con, tmp_path / "none.csv")


# Every city and period of REFERENCE.md: (region, effective_from, effective_to, floor, ceiling).
REFERENCE_ROWS = [
    ("长沙", "2024-01", "2024-12", 3604, 18021), ("长沙", "2025-01", None, 4072, 20361),
    ("北京", "2023-07", "2024-06", 6326, 33891), ("北京", "2024-07", "2025-06", 6821, 35283),
    ("北京", "2025-07", None, 7162, 35811),
    ("上海", "2023-07", "2024-06", 7310, 36549), ("上海", "2024-07", "2025-06", 7384, 36921),
    ("上海", "2025-07", None, 7460, 37302),
    ("广州", "2024-07", "2025-06", 5500, 27501), ("广州", "2025-07", None, 5510, 27549),
    ("武汉", "2025-01", None, 4498, 22488),
    ("杭州", "2024-01", "2024-12", 4812, 24930), ("杭州", "2025-01", None, 4986, 25299),
    ("成都", "2024-01", "2024-12", 4511, 22555), ("成都", "2025-01", None, 4588, 22938),
]


# Rows the shipped table adds for those cities beyond REFERENCE.md: 北京 and 上海 2022-07 have their own secondary
# sources; the others fill 2023-01..2025-12 with an earlier or later year's (or the province's) figure, marked
# assumed (SPEC §3 v3).
ADDED_ROWS = [
    ("北京", "2022-07", "2023-06", 5869, 31884), ("上海", "2022-07", "2023-06", 6520, 34188),
    ("长沙", "2023-01", "2023-12", 3604, 18021), ("武汉", "2023-01", "2023-12", 4007, 22467),
    ("武汉", "2024-01", "2024-12", 4007, 22467), ("杭州", "2023-01", "2023-12", 4812, 24930),
    ("成都", "2023-01", "2023-12", 4511, 22555),
    ("广州", "2022-07", "2023-06", 4588, 24930), ("广州", "2023-07", "2024-06", 4588, 24930),
]


def test_shipped_policy_holds_every_reference_row_with_a_source(con):
    apply_policy(con)
    regions = {r[0] for r in REFERENCE_ROWS}
    pension = {r[:5] for r in con.execute(
        "SELECT region, effective_from, effective_to, CAST(base_floor AS INTEGER), CAST(base_ceiling AS INTEGER)"
        " FROM ref.policy WHERE insurance_type = 'pension'").fetchall() if r[0] in regions}
    assert pension == set(REFERENCE_ROWS + ADDED_ROWS)
    # a period no source covers carries the nearest sourced figures and is marked assumed (广州 medical 2025-07);
    # 2024-07 has its own per-type bases
    carried = con.execute("SELECT effective_from, verified FROM ref.policy WHERE region = '广州' AND insurance_type ="
                          " 'medical' AND source LIKE '%carried forward%'").fetchall()
    assert ("2025-07", "assumed") in carried and {mark for _, mark in carried} == {"assumed"}
    assert ("2024-07", Decimal("5996.00")) in [r[:2] for r in policy(con, "广州", "medical")]
    # 上海 rounds up to the jiao (见分进角)
    assert con.execute("SELECT rounding FROM ref.regions WHERE region = '上海'").fetchone()[0] == "jiao_up"


def test_canonical_headers_percent_rates_and_gbk(con, tmp_path):
    path = write(tmp_path, "长沙,pension,2024-01,,4000,20000,16%,8.5%",
                 header="region,insurance_type,effective_from,effective_to,base_floor,base_ceiling,employer_rate,"
                        "employee_rate", encoding="gbk")
    apply_policy(con, path)
    assert policy(con, "长沙")[0][3:] == (Decimal("0.160000"), Decimal("0.085000"))


def test_the_last_file_wins_and_reapplying_is_deterministic(con, tmp_path):
    from transforms.ledger.policy import policy_fingerprint

    apply_policy(con)
    shipped = policy_fingerprint(con)
    header = HEADER + ",截止日,舍入规则"
    first = apply_policy(con, write(tmp_path, "长沙,养老,2024-01,,4000,20000,0.16,0.08,20,jiao_up", header, "a.csv"))
    assert apply_policy(con)["fingerprint"] == first["fingerprint"] != shipped
    assert con.execute("SELECT hire_cutoff_day, rounding FROM ref.regions WHERE region = '长沙'").fetchone() == \
        (20, "jiao_up")
    # a later file naming only 武汉: 长沙 is back to the shipped rows and settings
    apply_policy(con, write(tmp_path, "武汉,养老,2024-01,,4000,20000,0.16,0.08", name="b.csv"))
    assert policy(con, "长沙")[0][1] == Decimal("3604.00")
    assert con.execute("SELECT hire_cutoff_day, rounding FROM ref.regions WHERE region = '长沙'").fetchone() == \
        (15, "cent_half_up")


def test_a_fingerprint_remembered_is_the_digest_of_the_rows_in_force(con):
    """policy_fingerprint remembers the digest of rows it read before: a change to one rate or one setting is a
    new digest, the same as one computed afresh, and the rows changed back give the first digest again."""
    from transforms.ledger import policy as module

    apply_policy(con)
    shipped = module.policy_fingerprint(con)
    con.execute("UPDATE ref.policy SET employer_rate = 0.17 WHERE region = '长沙' AND insurance_type = 'pension'")
    rate = module.policy_fingerprint(con)
    con.execute("UPDATE ref.regions SET hire_cutoff_day = 20 WHERE region = '长沙'")
    setting = module.policy_fingerprint(con)
    module._FINGERPRINTS.clear()
    assert module.policy_fingerprint(con) == setting and len({shipped, rate, setting}) == 3
    apply_policy(con)
    assert module.policy_fingerprint(con) == shipped


def test_xlsx_with_percent_text_and_region_settings(con, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(",") + ["舍入规则"])
    book.active.append(["上海市", "养老保险", "2024年1月", None, 7310, 36549, "16%", "8%", "见分进角"])
    book.active.append(["上海市", "医疗保险", "2024-01", "", 7310, 36549, 0.095, 0.02, "jiao_up"])
    book.save(tmp_path / "policy.xlsx")
    apply_policy(con, tmp_path / "policy.xlsx")
    assert policy(con, "上海")[0] == ("2024-01", Decimal("7310.00"), Decimal("36549.00"), Decimal("0.160000"),
                                     Decimal("0.080000"))
    assert policy(con, "上海", "medical")[0][3] == Decimal("0.095000")
    assert policy(con, "上海", "unemployment") == []


V2_HEADER = HEADER + ",单位固定金额,个人固定金额,来源,核实,截止日,折算比例,舍入规则,基数年度起始月"


def test_fixed_sums_provenance_and_the_contribution_year_are_kept_across_runs(con, tmp_path):
    path = write(tmp_path, "北京,医疗,2025-07,,7162,35811,9.8%,2%,0,3,京医保发〔2025〕1号,官方,15,0.5,cent_half_up,07\n"
                           "北京,养老,2025-07,,7162,35811,16%,8%,,,,,,,,7", V2_HEADER)
    apply_policy(con, path)
    for _ in range(2):  # the file's run, then a later run without --policy
        rows = con.execute("SELECT insurance_type, employer_fixed, employee_fixed, source, verified FROM ref.policy"
                           " WHERE region = '北京' ORDER BY 1").fetchall()
        assert rows == [("medical", Decimal("0.00"), Decimal("3.00"), "京医保发〔2025〕1号", "official"),
                        ("pension", Decimal("0.00"), Decimal("0.00"), "policy file policy.csv", "assumed")]
        assert con.execute("SELECT base_year_start_month FROM ref.regions WHERE region = '北京'").fetchone() == (7,)
        apply_policy(con)


def test_a_changed_setting_or_fixed_sum_changes_the_fingerprint(con, tmp_path):
    base = "长沙,养老,2024-01,,3604,18021,0.16,0.08,0,{fixed},seed,secondary,15,0.5,cent_half_up,{month}"
    prints = {apply_policy(con, write(tmp_path, base.format(fixed=f, month=m), V2_HEADER))["fingerprint"]
              for f, m in (("0", "1"), ("3", "1"), ("0", "7"))}
    assert len(prints) == 3


@pytest.mark.parametrize(("body", "message"), [
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,official,15,0.5,cent_half_up,13", "base_year_start_month '13'"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,official,15,0.5,cent_half_up,7.5", "base_year_start_month '7.5'"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,official,15,0.5,cent_half_up,NaN", "base_year_start_month 'NaN'"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,official,15,0.5,cent_half_up,七", "base_year_start_month '七'"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,official,,,,7\n"
     "长沙,医疗,2024-01,,3604,18021,0.08,0.02,0,0,x,official,,,,1", "base_year_start_month '1' disagrees"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,-3,x,official,,,,", "employee_fixed '-3' is not an amount"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,NaN,0,x,official,,,,", "employer_fixed 'NaN' is not an amount"),
    ("长沙,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,maybe,,,,", "verified 'maybe' is unknown"),
    # settings given only in part do not declare a region: the missing ones are named
    ("长砂,养老,2024-01,,3604,18021,0.16,0.08,0,0,x,official,20,,,", "late_hire_fraction, rounding, base_year_start"),
])
def test_malformed_v2_columns_are_one_sentence(con, tmp_path, body, message):
    path = write(tmp_path, body, V2_HEADER)
    apply_policy(con)
    before = con.execute("SELECT * FROM ref.policy ORDER BY ALL").fetchall()
    with pytest.raises(InputError, match=message) as caught:
        apply_policy(con, path)
    assert "policy" in str(caught.value) and "\n" not in str(caught.value)
    assert con.execute("SELECT * FROM ref.policy ORDER BY ALL").fetchall() == before


def test_the_acceptance_v2_policy_file_loads(con):
    path = Path(__file__).resolve().parents[3].parent / "shared" / "acceptance-v2" / "policy.csv"
    if not path.exists():
        pytest.fail(f"The acceptance-v2 sample is missing at {path}; CI provides ../shared beside the repo.")
    summary = apply_policy(con, path)
    assert summary["regions_overridden"] == ["广州", "株洲", "武汉", "长沙"]
    settings = dict((r[0], r[1:]) for r in con.execute(
        "SELECT region, hire_cutoff_day, rounding, base_year_start_month FROM ref.regions").fetchall())
    assert settings["武汉"] == (15, "jiao_up", 7) and settings["株洲"] == (20, "cent_half_up", 1)
    assert settings["广州"][2] == 7 and settings["长沙"][2] == 1
    assert con.execute("SELECT employee_fixed FROM ref.policy WHERE region = '长沙' AND insurance_type = 'medical'"
                       " AND effective_from = '2024-01'").fetchone() == (Decimal("3.00"),)


def test_migration_008_keeps_the_policy_and_the_overrides(tmp_path):
    import duckdb

    from warehouse.migrate import available, migrate

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT now())")
    for version, path in available():
        if version < 8:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, path.name])
    con.execute("INSERT INTO ref.policy VALUES ('长沙', 'pension', '2024-01', NULL, 3604, 18021, 0.16, 0.08, 's')")
    con.execute("INSERT INTO ref.policy_overrides VALUES ('长沙', 'pension', '2024-01', NULL, 1, 2, 0.16, 0.08, 's')")
    con.execute("INSERT INTO ref.regions VALUES ('长沙', '湖南', ['长沙市'], 20, 0.5, 'jiao_up')")
    con.execute("INSERT INTO ref.region_overrides VALUES ('长沙', 20, NULL, NULL)")
    assert migrate(con) == [v for v, _ in available() if v >= 8]
    assert con.execute("SELECT region, base_floor, employer_fixed, employee_fixed, verified FROM ref.policy"
                       ).fetchall() == [("长沙", Decimal("3604.00"), Decimal("0.00"), Decimal("0.00"), "secondary")]
    assert con.execute("SELECT employee_fixed, verified FROM ref.policy_overrides").fetchall() == \
        [(Decimal("0.00"), "secondary")]
    assert con.execute("SELECT hire_cutoff_day, rounding, base_year_start_month FROM ref.regions").fetchall() == \
        [(20, "jiao_up", 1)]
    assert con.execute("SELECT base_year_start_month FROM ref.region_overrides").fetchall() == [(None,)]
    with pytest.raises(duckdb.ConstraintException):
        con.execute("UPDATE ref.regions SET base_year_start_month = 13")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("UPDATE ref.policy SET verified = 'maybe'")


def test_a_real_city_outside_the_region_table_is_declared_like_any_new_region(con, tmp_path):
    """恩施 is a real city (known to normalise_region) but not in the table: settings declare it, SPEC §3."""
    with pytest.raises(InputError, match="region '恩施' is not in the region table"):
        apply_policy(con, write(tmp_path, "恩施土家族苗族自治州,养老,2024-01,,3000,15000,0.16,0.08"))
    header = HEADER + ",截止日,折算比例,舍入规则,基数年度起始月"
    apply_policy(con, write(tmp_path, "恩施州,养老,2024-01,,3000,15000,0.16,0.08,15,0.5,cent_half_up,1", header))
    assert con.execute("SELECT province FROM ref.regions WHERE region = '恩施'").fetchone() == ("湖北",)
    # a district names its city's rows
    apply_policy(con, write(tmp_path, "长沙市天心区,养老,2024-01,,3604,18021,0.16,0.08"))
    assert policy(con, "长沙")[0][1] == Decimal("3604.00")


# ---------------------------------------------------------------------------------------- SPEC v3 (issue 24)

V3_HEADER = HEADER + ",来源,核实,户籍"


def test_hukou_rows_load_with_chinese_values_and_survive_a_run_without_the_file(con, tmp_path):
    path = write(tmp_path, "深圳,养老,2025-01,,2520,27549,15%,8%,深人社规〔2024〕1号,官方核实,本地户籍\n"
                           "深圳,养老,2025-01,,2520,27549,14%,8%,深人社规〔2024〕1号,official,外地户籍\n"
                           "深圳,医疗,2025-01,,2520,27549,5%,2%,某计算器,二手来源,\n"
                           "深圳,工伤,2025-01,,2520,27549,0.2%,0,,推定,", V3_HEADER)
    for given in (path, None):  # the file's run, then a later run from the stored override
        apply_policy(con, given)
        assert con.execute("SELECT insurance_type, hukou, employer_rate, verified FROM ref.policy"
                           " WHERE region = '深圳' ORDER BY ALL").fetchall() == [
            ("medical", "all", Decimal("0.050000"), "secondary"),
            ("pension", "local", Decimal("0.150000"), "official"),
            ("pension", "nonlocal", Decimal("0.140000"), "official"),
            ("work_injury", "all", Decimal("0.002000"), "assumed")]


@pytest.mark.parametrize(("body", "message"), [
    ("深圳,养老,2025-01,,2520,27549,15%,8%,x,official,深户户口", "hukou '深户户口' is unknown"),
    ("深圳,养老,2025-01,,2520,27549,15%,8%,x,probably,", "verified 'probably' is unknown; write official"),
    # a row for everyone and a hukou row of the same months: an employee would match both
    ("深圳,养老,2025-01,,2520,27549,15%,8%,x,official,\n深圳,养老,2025-01,,2520,27549,14%,8%,x,official,外地户籍\n"
     "深圳,养老,2025-01,,2520,27549,14%,8%,x,official,本地户籍", "overlaps the row from 2025-01"),
    # two local rows of overlapping months
    ("深圳,养老,2024-01,,2520,27549,15%,8%,x,official,本地\n深圳,养老,2024-01,,2520,27549,14%,8%,x,official,外地\n"
     "深圳,养老,2025-01,,2520,27549,15%,8%,x,official,本地\n深圳,养老,2025-01,,2520,27549,14%,8%,x,official,外地",
     "row \\(local hukou\\) from 2025-01 overlaps"),
    # a local row without its nonlocal twin leaves people of no known hukou uncharged
    ("深圳,养老,2025-01,,2520,27549,15%,8%,x,official,本地户籍", "has no nonlocal row for the same months"),
])
def test_bad_hukou_and_marks_are_one_sentence_naming_the_row(con, tmp_path, body, message):
    path = write(tmp_path, body, V3_HEADER)
    with pytest.raises(InputError, match=message) as caught:
        apply_policy(con, path)
    assert "policy" in str(caught.value) and "\n" not in str(caught.value)


def test_region_settings_carry_the_source_and_mark_of_their_row(con, tmp_path):
    header = V3_HEADER + ",截止日,折算比例,舍入规则,基数年度起始月"
    apply_policy(con, write(tmp_path, "长沙,养老,2024-01,,3604,18021,16%,8%,湘人社发〔2024〕1号,official,,15,0,cent_half_up,1",
                            header))
    for _ in range(2):
        assert con.execute("SELECT late_hire_fraction, source, verified FROM ref.regions WHERE region = '长沙'"
                           ).fetchone() == (Decimal("0.0000"), "湘人社发〔2024〕1号", "official")
        apply_policy(con)
    # a shipped region's settings have a mark too (assumed where regions.csv states none)
    assert con.execute("SELECT count(*) FROM ref.regions WHERE verified NOT IN ('official', 'secondary', 'assumed')"
                       " OR verified IS NULL").fetchone() == (0,)


def test_migration_023_keeps_the_policy_rows_and_adds_the_hukou_key(tmp_path):
    import duckdb

    from warehouse.migrate import available, migrate

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT now())")
    for version, path in available():
        if version < 23:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("INSERT INTO meta.schema_migrations (version, name) VALUES (?, ?)", [version, path.name])
    con.execute("INSERT INTO ref.policy (region, insurance_type, effective_from, base_floor, base_ceiling,"
                " employer_rate, employee_rate, source, verified) VALUES"
                " ('深圳', 'pension', '2024-01', 2360, 26421, 0.15, 0.08, 's', 'official')")
    assert 23 in migrate(con)
    assert con.execute("SELECT region, employer_rate, verified, hukou FROM ref.policy").fetchall() == [
        ("深圳", Decimal("0.150000"), "official", "all")]
    con.execute("INSERT INTO ref.policy (region, insurance_type, effective_from, base_floor, base_ceiling,"
                " employer_rate, employee_rate, source, verified, hukou) VALUES"
                " ('深圳', 'pension', '2024-01', 2360, 26421, 0.14, 0.08, 's', 'assumed', 'nonlocal')")
    with pytest.raises(duckdb.ConstraintException):  # the key is (region, type, effective_from, hukou)
        con.execute("INSERT INTO ref.policy (region, insurance_type, effective_from, base_floor, base_ceiling,"
                    " employer_rate, employee_rate, source, verified, hukou) VALUES"
                    " ('深圳', 'pension', '2024-01', 2360, 26421, 0.13, 0.08, 's', 'assumed', 'nonlocal')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("UPDATE ref.policy SET verified = 'maybe'")
