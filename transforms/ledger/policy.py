"""The policy in force (SPEC §3): the shipped table, with every region a ``--policy`` file names replaced.

The last file given is kept (``ref.policy_overrides``), so a later run without ``--policy`` computes with
the same policy; validation on load (no overlapping periods per key, floor ≤ ceiling, rates in [0, 1), every
region known or declared with its settings) happens before anything is written, so a bad file leaves the
warehouse as it was.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from transforms.ingest import kinds as k
from transforms.ingest import normalise as n
from warehouse.db import one, transaction
from warehouse.errors import InputError
from warehouse.reference import (
    REFERENCE,
    normalise_region,
    read_once,
    refresh_cities,
    refresh_regions,
    refresh_transfer_limits,
    region_lookup,
    shipped_region_lookup,
)
from warehouse.sql import sql_text

SHIPPED_POLICY = REFERENCE / "policy.csv"
POLICY_COLUMNS = ("region, insurance_type, effective_from, effective_to, base_floor, base_ceiling, employer_rate,"
                  " employee_rate, source, employer_fixed, employee_fixed, verified, hukou")
_AMOUNT, _RATE = pa.decimal128(18, 2), pa.decimal128(18, 6)
_ARROW_TYPES = {"base_floor": _AMOUNT, "base_ceiling": _AMOUNT, "employer_fixed": _AMOUNT, "employee_fixed": _AMOUNT,
                "employer_rate": _RATE, "employee_rate": _RATE}

COLUMNS = {
    "region": ("region", "地区", "统筹区", "参保地"),
    "insurance_type": ("insurance_type", "险种"),
    "effective_from": ("effective_from", "生效月份", "开始月份"),
    "effective_to": ("effective_to", "截止月份", "失效月份"),
    "base_floor": ("base_floor", "基数下限", "缴费基数下限"),
    "base_ceiling": ("base_ceiling", "基数上限", "缴费基数上限"),
    "employer_rate": ("employer_rate", "单位费率", "单位比例"),
    "employee_rate": ("employee_rate", "个人费率", "个人比例"),
    "employer_fixed": ("employer_fixed", "单位固定金额"),
    "employee_fixed": ("employee_fixed", "个人固定金额"),
    "hire_cutoff_day": ("hire_cutoff_day", "截止日"),
    "late_hire_fraction": ("late_hire_fraction", "折算比例"),
    "rounding": ("rounding", "舍入规则"),
    "base_year_start_month": ("base_year_start_month", "基数年度起始月"),
    "source": ("source", "来源"),
    "verified": ("verified", "核实"),
    "hukou": ("hukou", "户籍"),
}
REQUIRED = ("region", "insurance_type", "effective_from", "base_floor", "base_ceiling", "employer_rate",
            "employee_rate")
SETTINGS = ("hire_cutoff_day", "late_hire_fraction", "rounding", "base_year_start_month")
PROVENANCE = ("source", "verified")  # of a region's settings (SPEC §3: marked like a policy row)
ROUNDING = {"cent_half_up": "cent_half_up", "四舍五入": "cent_half_up", "四舍五入到分": "cent_half_up",
            "jiao_up": "jiao_up", "见分进角": "jiao_up", "进角": "jiao_up"}
# official: read in the issuing authority's own notice; secondary: a calculator, news page or dataset that
# states this region's figure for this period; assumed: no source states it (SPEC §3). A figure still to be
# checked (未核实, 待核实) rests on no source yet: assumed.
VERIFIED = {"official": "official", "官方": "official", "官方核实": "official", "已核实": "official", "已核": "official",
            "secondary": "secondary", "二手": "secondary", "二手来源": "secondary", "第三方": "secondary",
            "assumed": "assumed", "推定": "assumed", "假定": "assumed", "未核实": "assumed", "待核实": "assumed"}
MARKS = ("official", "secondary", "assumed")  # best first: a row is as verified as its least verified figure
# SPEC §3 户籍: blank = everyone ('all'); 本地户籍 / 外地户籍 where a region charges by hukou (深户 / 非深户).
HUKOU = {"": "all", "all": "all", "不限": "all", "全部": "all",
         "local": "local", "本地": "local", "本地户籍": "local", "本市": "local", "本市户籍": "local", "深户": "local",
         "nonlocal": "nonlocal", "外地": "nonlocal", "外地户籍": "nonlocal", "非本市户籍": "nonlocal",
         "非深户": "nonlocal"}


@dataclass
class PolicyRow:
    region: str
    insurance_type: str
    effective_from: str
    effective_to: str | None
    base_floor: Decimal
    base_ceiling: Decimal
    employer_rate: Decimal
    employee_rate: Decimal
    source: str | None
    employer_fixed: Decimal = Decimal("0.00")
    employee_fixed: Decimal = Decimal("0.00")
    verified: str = "assumed"
    line: str = ""  # where it came from, for messages
    hukou: str = "all"

    def values(self) -> list:
        return [self.region, self.insurance_type, self.effective_from, self.effective_to, self.base_floor,
                self.base_ceiling, self.employer_rate, self.employee_rate, self.source, self.employer_fixed,
                self.employee_fixed, self.verified, self.hukou]

    def key(self) -> tuple:
        return (self.region, self.insurance_type, self.effective_from, self.hukou)


@dataclass
class PolicyFile:
    rows: list[PolicyRow]
    settings: dict[str, dict[str, object]] = field(default_factory=dict)  # region -> setting -> value


def _fail(where: str, problem: str) -> InputError:
    return InputError(f"{where}: {problem}.")


@cache
def _parsed(parse, value: str) -> str | None:
    """``parse`` (a normaliser) of one cell: a policy file repeats its months and amounts on many rows, and one
    polars query per cell was most of reading it."""
    return pl.select(parse(pl.lit(value, pl.String))).item()


def _month(value: str, where: str, column: str) -> str:
    parsed = _parsed(n.parse_month, value)
    if parsed is None:
        raise _fail(where, f"{column} '{value}' is not a month; write it like 2024-01")
    return parsed


def _amount(value: str, where: str, column: str) -> Decimal:
    parsed = _parsed(n.parse_amount, value)
    if parsed is None or parsed.startswith("-"):
        raise _fail(where, f"{column} '{value}' is not an amount; write it like 3604 or 3604.00")
    return Decimal(parsed).quantize(Decimal("0.01"))


def parse_rate(value: str, where: str, column: str, places: int = 6) -> Decimal:
    """``0.16`` or ``16%``; a bare number of 1 or more is an error, not a percentage. More decimals than
    the warehouse keeps (6 for rates) is an error too: a rate is never rounded silently."""
    text = value.strip().replace("％", "%")
    try:
        rate = Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:  # also NaN/sNaN divided for a percentage
        rate = None
    if rate is None or not rate.is_finite():  # NaN, sNaN, Infinity parse as Decimals but are no rate
        raise _fail(where, f"{column} '{value}' is not a rate; write it like 0.16 or 16%")
    if not text.endswith("%") and rate >= 1:
        raise _fail(where, f"{column} '{value}' is 1 or more; write a rate like 0.16 or 16%")
    if rate < 0 or rate >= 1:
        raise _fail(where, f"{column} '{value}' is outside [0, 1); write a rate like 0.16 or 16%")
    if rate != rate.quantize(Decimal(1).scaleb(-places)):
        raise _fail(where, f"{column} '{value}' has more than {places} decimal places as a fraction; round it")
    return rate


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    from transforms.ingest.readers import UnreadableFile, read_xlsx, to_utf8

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"The policy file {path} cannot be read ({exc.strerror}); check the path.") from None
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            sheet = read_xlsx(data)[0].grid
            cells = [c for c in sheet.columns if c.startswith("c")]
            rows = [["" if v is None else str(v) for v in r] for r in sheet.select(cells).iter_rows()]
        else:
            payload, _ = to_utf8(data)
            rows = list(csv.reader(io.StringIO(payload.decode("utf-8"))))
    except UnreadableFile as exc:
        raise InputError(f"The policy file {path} cannot be read: {exc}.") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"The policy file {path} is empty; it needs a header row and one row per region and type.")
    return rows[0], rows[1:]


def read_policy_file(path: Path, lookup: dict[str, str]) -> PolicyFile:
    header, body = _read_table(path)
    keys = [k.header_key(h) for h in header]
    positions: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in keys:
                positions[column] = keys.index(alias.lower())
                break
    missing = [c for c in REQUIRED if c not in positions]
    if missing:
        raise InputError(f"The policy file {path} has no column for {', '.join(missing)}; "
                         f"use the headers of SPEC §3 (e.g. 地区, 险种, 生效月份, 基数下限, 基数上限, 单位费率, 个人费率).")
    types = k.VALUE_LISTS[k.INSURANCE_TYPE]
    result = PolicyFile(rows=[])
    unknown: dict[str, str] = {}  # region the region table does not know -> its first row
    table = set(lookup.values())
    for number, cells in enumerate(body, start=1):
        where = f"The policy file {path.name}, data row {number}"

        def cell(column: str, cells=cells) -> str:
            index = positions.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        for column in REQUIRED:
            if not cell(column):
                raise _fail(where, f"{column} is empty; fill it in")
        region, known = normalise_region(cell("region"), lookup)
        insurance_type = types.get(cell("insurance_type").lower().replace(" ", ""))
        if insurance_type is None:
            raise _fail(where, f"insurance type '{cell('insurance_type')}' is unknown; use 养老, 医疗, 失业, 工伤 or 生育")
        effective_to = _month(cell("effective_to"), where, "effective_to") if cell("effective_to") else None
        row = PolicyRow(
            region=region, insurance_type=insurance_type,
            effective_from=_month(cell("effective_from"), where, "effective_from"), effective_to=effective_to,
            base_floor=_amount(cell("base_floor"), where, "base_floor"),
            base_ceiling=_amount(cell("base_ceiling"), where, "base_ceiling"),
            employer_rate=parse_rate(cell("employer_rate"), where, "employer_rate"),
            employee_rate=parse_rate(cell("employee_rate"), where, "employee_rate"),
            source=cell("source") or f"policy file {path.name}",
            employer_fixed=_amount(cell("employer_fixed") or "0", where, "employer_fixed"),
            employee_fixed=_amount(cell("employee_fixed") or "0", where, "employee_fixed"),
            verified=_verified(cell("verified"), where), line=where, hukou=_hukou(cell("hukou"), where),
        )
        result.rows.append(row)
        if not known or region not in table:  # a real city the table lacks (恩施) is new too: SPEC §3
            unknown.setdefault(region, where)
        given = _settings(cell, where)
        if given:  # the settings come from this row: its source and mark are theirs
            given |= {"source": row.source, "verified": row.verified}
        known_settings = result.settings.setdefault(region, {})
        for name, value in given.items():
            if name in ("source", "verified"):
                known_settings.setdefault(name, value)
                continue
            if name in known_settings and known_settings[name] != value:
                raise _fail(where, f"{name} '{value}' disagrees with an earlier row of {region} "
                                   f"('{known_settings[name]}'); give one value per region")
            known_settings[name] = value
    for region, where in unknown.items():
        missing = [s for s in SETTINGS if s not in result.settings.get(region, {})]
        if missing:
            raise _unknown_region(where, region, missing, lookup)
    return result


def _unknown_region(where: str, region: str, missing: list[str], lookup: dict[str, str]) -> InputError:
    """A typo (长砂) must not quietly drop a city: name it, suggest the nearest known spelling."""
    near = difflib.get_close_matches(region, sorted(set(lookup.values())), n=1, cutoff=0.5)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return _fail(where, f"region '{region}' is not in the region table{hint}; correct the name, or declare a new "
                        f"region by giving its {', '.join(missing)} on its rows")


def _verified(value: str, where: str) -> str:
    if not value:
        return "assumed"  # a row that states no provenance rests on no source (SPEC §3)
    verified = VERIFIED.get(value.strip().lower())
    if verified is None:
        raise _fail(where, f"verified '{value}' is unknown; write official (checked against the issuing "
                           "authority's own notice), secondary (a calculator, news page or dataset stating this "
                           "region's figure for this period) or assumed (no source states it)")
    return verified


def _hukou(value: str, where: str) -> str:
    hukou = HUKOU.get(value.strip().lower().replace(" ", ""))
    if hukou is None:
        raise _fail(where, f"hukou '{value}' is unknown; leave it blank for everyone, or write 本地户籍 (local) or "
                           "外地户籍 (nonlocal)")
    return hukou


def _settings(cell, where: str) -> dict[str, object]:
    found: dict[str, object] = {}
    if cell("hire_cutoff_day"):
        try:
            day = int(Decimal(cell("hire_cutoff_day")))
        except (InvalidOperation, ValueError, OverflowError):
            day = 0
        if not 1 <= day <= 31:
            raise _fail(where, f"hire_cutoff_day '{cell('hire_cutoff_day')}' is not a day of the month (1-31)")
        found["hire_cutoff_day"] = day
    if cell("late_hire_fraction"):
        fraction = parse_rate(cell("late_hire_fraction"), where, "late_hire_fraction", places=4) \
            if cell("late_hire_fraction") not in ("1", "1.0") else Decimal(1)
        found["late_hire_fraction"] = fraction
    if cell("rounding"):
        rounding = ROUNDING.get(cell("rounding").lower())
        if rounding is None:
            raise _fail(where, f"rounding '{cell('rounding')}' is unknown; use cent_half_up or jiao_up")
        found["rounding"] = rounding
    if cell("base_year_start_month"):
        try:
            month = Decimal(cell("base_year_start_month"))
        except InvalidOperation:
            month = Decimal(0)
        if not month.is_finite() or month != month.to_integral_value() or not 1 <= month <= 12:
            raise _fail(where, f"base_year_start_month '{cell('base_year_start_month')}' is not a month "
                               "number (1-12; 7 where bases run July to June)")
        found["base_year_start_month"] = int(month)
    return found


def check_table(rows: list[PolicyRow], origin: str) -> None:
    """At most one row applies per (region, type, month, hukou) — a row for everyone overlaps a hukou row of the
    same months too; floor ≤ ceiling; a hukou row has its other-hukou twin for the same months (someone of the
    other hukou, or of none known, is charged by it); marks are official, secondary or assumed."""
    by_key: dict[tuple, list[PolicyRow]] = {}
    for row in rows:
        if row.base_floor > row.base_ceiling:
            raise _fail(row.line or origin, f"base_floor {row.base_floor} is above base_ceiling {row.base_ceiling}")
        if row.effective_to is not None and row.effective_to < row.effective_from:
            raise _fail(row.line or origin, f"effective_to {row.effective_to} is before effective_from {row.effective_from}")
        if row.verified not in MARKS:
            raise _fail(row.line or origin, f"verified '{row.verified}' is not official, secondary or assumed")
        by_key.setdefault((row.region, row.insurance_type), []).append(row)
    for (region, insurance_type), group in by_key.items():
        group.sort(key=lambda r: (r.effective_from, r.hukou))
        for i, later in enumerate(group):
            for earlier in group[:i]:
                if (earlier.hukou == later.hukou or "all" in (earlier.hukou, later.hukou)) and (
                        earlier.effective_to is None or earlier.effective_to >= later.effective_from):
                    what = "" if later.hukou == "all" else f" ({later.hukou} hukou)"
                    raise _fail(later.line or origin,
                                f"the {region} {insurance_type} row{what} from {later.effective_from} overlaps the "
                                f"row from {earlier.effective_from}; end the earlier row with effective_to before "
                                "the later one starts")
        spans = {(r.hukou, r.effective_from, r.effective_to) for r in group}
        for row in group:
            twin = {"local": "nonlocal", "nonlocal": "local"}.get(row.hukou)
            if twin and (twin, row.effective_from, row.effective_to) not in spans:
                raise _fail(row.line or origin,
                            f"the {region} {insurance_type} {row.hukou} hukou row from {row.effective_from} has no "
                            f"{twin} row for the same months; give one row per hukou value")


def check_policy_file(path: str | Path) -> None:
    """Read and check a policy file without touching any warehouse (raises InputError with a sentence)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The policy file {path} does not exist; check --policy.")
    check_table(read_policy_file(path, shipped_region_lookup()).rows, f"The policy file {path.name}")


def shipped_rows() -> list[PolicyRow]:
    return list(_shipped_policy()[0])


def _shipped_policy() -> tuple[tuple[PolicyRow, ...], pa.Table]:
    """The shipped policy's rows, and the same rows as an Arrow table (``_policy_table``): read once per process
    while the file is unchanged. Every policy applied (each close, each test booking a ledger) read and
    converted its 700 rows, a fifth of ``apply_policy``'s time."""
    return read_once("shipped policy", SHIPPED_POLICY, _read_shipped_policy)


def _read_shipped_policy(path: Path) -> tuple[tuple[PolicyRow, ...], pa.Table]:
    with path.open(encoding="utf-8") as handle:
        rows = tuple(
            PolicyRow(r["region"], r["insurance_type"], r["effective_from"], r["effective_to"] or None,
                      Decimal(r["base_floor"]), Decimal(r["base_ceiling"]), Decimal(r["employer_rate"]),
                      Decimal(r["employee_rate"]), r["source"], Decimal(r["employer_fixed"] or 0),
                      Decimal(r["employee_fixed"] or 0), r["verified"], line=f"shipped policy row {i}",
                      hukou=_hukou(r.get("hukou") or "", f"The shipped policy, row {i}"))
            for i, r in enumerate(csv.DictReader(handle), start=1)
        )
    return rows, _policy_table(list(rows))


def _stored_overrides(con: duckdb.DuckDBPyConnection) -> PolicyFile:
    rows = [PolicyRow(*r) for r in con.execute(
        "SELECT region, insurance_type, effective_from, effective_to, base_floor, base_ceiling, employer_rate,"
        " employee_rate, source, employer_fixed, employee_fixed, coalesce(verified, 'secondary'), '',"
        " coalesce(hukou, 'all') FROM ref.policy_overrides"
    ).fetchall()]
    settings: dict[str, dict[str, object]] = {}
    names = (*SETTINGS, *PROVENANCE)
    for region, *values in con.execute(f"SELECT region, {', '.join(names)} FROM ref.region_overrides").fetchall():
        settings[region] = {name: v for name, v in zip(names, values, strict=True) if v is not None}
    return PolicyFile(rows, settings)


def apply_policy(con: duckdb.DuckDBPyConnection, policy_file: str | Path | None = None) -> dict:
    """Make ``ref.policy``/``ref.regions`` the policy in force; return a summary with its fingerprint."""
    with transaction(con):
        refresh_regions(con)
        refresh_cities(con)
        refresh_transfer_limits(con)
        lookup = region_lookup(con)
        if policy_file is not None:
            path = Path(policy_file)
            if not path.is_file():
                raise InputError(f"The policy file {path} does not exist; check --policy.")
            override = read_policy_file(path, lookup)
            check_table(override.rows, f"The policy file {path.name}")
        else:
            override = _stored_overrides(con)
        named = {row.region for row in override.rows} | set(override.settings)
        shipped, shipped_table = _shipped_policy()
        kept = [row.region not in named for row in shipped]  # a region overridden keeps none of its shipped rows
        effective = [row for row, keep in zip(shipped, kept, strict=True) if keep] + override.rows
        check_table(effective, "The policy in force")
        if policy_file is not None:
            _store_overrides(con, override, Path(policy_file))
        con.execute("DELETE FROM ref.policy")
        # effective's rows in its order, the shipped ones from their table (converting them was the slow part)
        _insert_table(con, "ref.policy", pa.concat_tables([shipped_table.filter(pa.array(kept, pa.bool_())),
                                                           _policy_table(override.rows)]))
        _apply_region_settings(con, named, override.settings)
        fingerprint = policy_fingerprint(con)
    return {"policy_rows": len(effective), "regions_overridden": sorted(named), "fingerprint": fingerprint}


def _insert_rows(con, table: str, rows: list[PolicyRow]) -> None:
    """One INSERT from an Arrow table: DuckDB's executemany runs a statement per row, and bound VALUES lists
    cost a tenth of a second for the shipped policy, on every close and every test that applies a policy.
    Amounts carry 2 places and rates 6 (the parsers refuse more); Arrow refuses to drop a digit."""
    _insert_table(con, table, _policy_table(rows))


def _policy_table(rows: list[PolicyRow]) -> pa.Table:
    columns = [name.strip() for name in POLICY_COLUMNS.split(",")]
    values = list(zip(*(row.values() for row in rows), strict=True)) if rows else [()] * len(columns)
    return pa.table({name: pa.array(column, type=_ARROW_TYPES.get(name, pa.string()))
                     for name, column in zip(columns, values, strict=True)})


def _insert_table(con, table: str, frame: pa.Table) -> None:
    """``frame`` (``_policy_table``'s columns) into ``table``."""
    con.register("policy_rows_in", frame)
    try:
        con.execute(f"INSERT INTO {table} ({POLICY_COLUMNS}) SELECT {POLICY_COLUMNS} FROM policy_rows_in")
    finally:
        con.unregister("policy_rows_in")


def _store_overrides(con, override: PolicyFile, path: Path) -> None:
    con.execute("DELETE FROM ref.policy_overrides")
    con.execute("DELETE FROM ref.region_overrides")
    if override.rows:
        _insert_rows(con, "ref.policy_overrides", override.rows)
    names = (*SETTINGS, *PROVENANCE)
    for region, settings in override.settings.items():
        con.execute(f"INSERT INTO ref.region_overrides (region, {', '.join(names)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [region, *(settings.get(name) for name in names)])
    con.execute("INSERT INTO ref.policy_files VALUES (?, ?, ?, ?)",
                [datetime.now(), path.name, hashlib.sha256(path.read_bytes()).hexdigest(), len(override.rows)])


def _apply_region_settings(con, regions: set[str], settings: dict[str, dict[str, object]]) -> None:
    """A region new to the project gets the default settings; given settings replace the region's."""
    for region in sorted(regions):
        con.execute("INSERT INTO ref.regions (region, province, aliases)"
                    " SELECT ?, coalesce((SELECT province FROM ref.cities WHERE city = ?), ''), [] "
                    "WHERE NOT EXISTS (SELECT 1 FROM ref.regions WHERE region = ?)", [region, region, region])
        for name, value in settings.get(region, {}).items():
            con.execute(f"UPDATE ref.regions SET {name} = ? WHERE region = ?", [value, region])


def policy_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the policy in force and the region settings: the ledger records what it computed with.

    Remembered for the rows it was computed from (``_FINGERPRINTS``, by DuckDB's hashes of them): reading 700
    policy rows into Python to digest them took about 10 ms, and every ledger booked and every policy applied
    takes the fingerprint, usually of a policy digested before."""
    rows = one(con, _POLICY_HASHES)
    if rows not in _FINGERPRINTS:
        text = repr(con.execute("SELECT * FROM ref.policy ORDER BY ALL").fetchall()) + repr(
            con.execute(f"SELECT region, {', '.join(SETTINGS)} FROM ref.regions ORDER BY ALL").fetchall()
        )
        if len(_FINGERPRINTS) > 64:
            _FINGERPRINTS.clear()
        _FINGERPRINTS[rows] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return _FINGERPRINTS[rows]


# The rows a fingerprint digests, by their columns' types, count and two sums of DuckDB's hash of each row (a 2 ms
# query): the same rows give the same figures; other rows the same only by a collision of 64-bit hashes twice over.
_POLICY_HASHES = f"""SELECT
    (SELECT (any_value(typeof(p)), count(*), sum(hash(p)), bit_xor(hash(p))) FROM ref.policy p),
    (SELECT (any_value(typeof(r)), count(*), sum(hash(r)), bit_xor(hash(r)))
     FROM (SELECT region, {', '.join(SETTINGS)} FROM ref.regions) r)"""
_FINGERPRINTS: dict[tuple, str] = {}


# ------------------------------------------------------------------------------------ `shebao policy show/check`

SHOW_SQL = Path(__file__).with_name("sql") / "policy_show.sql"
COVERAGE_SQL = Path(__file__).with_name("sql") / "policy_coverage.sql"
SHOW_HEADERS = {"region": "地区", "insurance_type": "险种", "hukou": "户籍", "months": "执行期间",
                "base_floor": "基数下限", "base_ceiling": "基数上限", "employer_rate": "单位费率",
                "employee_rate": "个人费率", "fixed": "固定金额", "source": "来源", "verified": "政策核实"}
CHECK_HEADERS = {"region": "地区", "missing": "缺养老政策的月份", "missing_count": "缺少月数",
                 "sourced": "有来源的月份", "assumed_rows": "推定行数"}


def close_policy(source: duckdb.DuckDBPyConnection | None) -> duckdb.DuckDBPyConnection:
    """A scratch in-memory warehouse holding the policy a close would apply: the shipped table with the last
    ``--policy`` file's regions replaced (copied from ``source``, a warehouse that may be read-only)."""
    from warehouse.db import connect

    scratch = connect(":memory:")
    if source is not None:
        for table in ("ref.policy_overrides", "ref.region_overrides"):
            cursor = source.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            if rows:
                marks = ", ".join("?" * len(names))
                scratch.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)
    apply_policy(scratch)
    return scratch


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def policy_show(con: duckdb.DuckDBPyConnection, region_text: str, period: str) -> list[dict]:
    """The rows a close of ``period`` would use in the region ``region_text`` names, labelled in Chinese."""
    from transforms.common import glossary

    region, known = normalise_region(region_text, region_lookup(con))
    if not known or con.execute("SELECT count(*) FROM ref.regions WHERE region = ?", [region]).fetchone() == (0,):
        near = difflib.get_close_matches(region, sorted(set(region_lookup(con).values())), n=1, cutoff=0.5)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise InputError(f"The region '{region_text}' is not in the region table{hint}; check --region.")
    rows = con.execute(sql_text(SHOW_SQL), {"region": region, "period": period}).fetchall()
    return [{"region": region, "insurance_type": glossary.zh(glossary.INSURANCE, t, "其他险种"),
             "hukou": glossary.zh(glossary.HUKOU, hukou, ""), "months": f"{start} 至 {end or '今'}",
             "base_floor": str(floor), "base_ceiling": str(ceiling),
             "employer_rate": _percent(er), "employee_rate": _percent(ee),
             "fixed": "" if not (ef or eef) else f"单位 {ef} / 个人 {eef}", "source": source or "未注明来源",
             "verified": glossary.zh(glossary.POLICY_VERIFIED, verified, "未注明")}
            for _, t, hukou, start, end, floor, ceiling, er, ee, ef, eef, source, verified in rows]


def _month_ranges(months: list[str]) -> str:
    """['2023-01', '2023-02', '2023-05'] -> '2023-01..2023-02、2023-05'."""
    def number(month: str) -> int:
        return int(month[:4]) * 12 + int(month[5:7])

    spans: list[list[str]] = []
    for month in months:
        if spans and number(month) == number(spans[-1][1]) + 1:
            spans[-1][1] = month
        else:
            spans.append([month, month])
    return "、".join(a if a == b else f"{a}..{b}" for a, b in spans)


def policy_coverage(con: duckdb.DuckDBPyConnection, first: str = "2023-01", last: str = "2025-12") -> list[dict]:
    """Per required region (SPEC §3): the months first..last without a pension row, the months whose pension
    row is `official` or `secondary`, and the region's count of `assumed` rows."""
    from warehouse.reference import REQUIRED_REGIONS

    rows = con.execute(sql_text(COVERAGE_SQL),
                       {"first": first, "last": last, "regions": list(REQUIRED_REGIONS)}).fetchall()
    return [{"region": region, "missing": _month_ranges(missing or []) or "无",
             "missing_count": str(len(missing or [])), "sourced": f"{sourced}/{months}", "sourced_months": sourced,
             "months": months, "assumed_rows": str(assumed)}
            for region, missing, sourced, months, assumed in rows]


def settings_line(con: duckdb.DuckDBPyConnection, region: str) -> str:
    """The region's settings a close uses (SPEC §3), with their source and mark, as one Chinese line."""
    from transforms.common import glossary

    row = con.execute("SELECT hire_cutoff_day, late_hire_fraction, rounding, base_year_start_month, source, verified"
                      " FROM ref.regions WHERE region = ?", [region]).fetchone()
    if row is None:
        return ""
    cutoff, fraction, rounding, start, source, verified = row
    rounding_zh = glossary.zh(glossary.ROUNDING, rounding, "四舍五入到分")
    return (f"{region} 地区设置：入职截止日 {cutoff} 日，截止日后入职当月按 {fraction.normalize():f} 个月计，"
            f"舍入 {rounding_zh}，缴费年度自 {start} 月起；来源：{source or '未注明来源'}"
            f"（{glossary.zh(glossary.POLICY_VERIFIED, verified, '推定')}）")
