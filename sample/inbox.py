"""The generator's main loop: month by month, the four extracts of every entity, spelled and written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from sample import spelling as sp
from sample.anomalies import HUKOU_CITY, NEVER, NOT_REFLECTED, SAME_PROVINCE, plant, plant_v2
from sample.bills import BillWriter
from sample.files import FileFormat, choose_format, write_extract
from sample.people import PRIOR_REGIONS, draw_people, employee_ids, entities, placed
from sample.rules import employee_share_cents, month_policy, region_spellings
from transforms.common.periods import months_between
from transforms.ingest.kinds import INSURANCE_TYPES, KINDS, STAGES, STATUSES
from warehouse.errors import InputError

LABELS = {"payroll": "工资表", "attendance": "考勤", "insurance": "参保明细", "transfers": "转移接续"}
DEPARTMENTS = np.array(["生产部", "研发部", "销售部", "财务部", "人事行政部", "市场部", "采购部", "客服部"])
MATERNITY_LISTED = frozenset({"长沙", "株洲", "武汉"})  # elsewhere merged into medical (国办发〔2019〕10号)
AMOUNT_COLUMNS = {"gross_pay", "net_pay", "si_withheld", "base"}
DATE_COLUMNS = {"hire_date", "leave_date", "submitted_on", "stage_on"}
INSURED_TYPES = ("pension", "medical", "unemployment", "work_injury", "maternity")
MONTHS_LISTED_AFTER_LEAVING = 3  # the platform keeps a terminated record in the export for a while
TRANSFER_LISTED_DAYS = 92  # finished transfers stay in the business query for about a quarter
# district and 本级 names an insurance export may give for our cities (SPEC §2 v2 maps them to the city)
DISTRICT_SPELLINGS = {"长沙": ("长沙市天心区", "长沙市本级", "湖南省本级"), "武汉": ("武汉市江汉区", "湖北省本级"),
                      "广州": ("广州市天河区", "广东省本级"), "上海": ("浦东新区",), "北京": ("北京市海淀区",),
                      "株洲": ("株洲市芦淞区",)}


def generate_inbox(out_dir: Path, employees: int, start: str, end: str, seed: int = 0, formats: str = "mixed", *,
                   history_payroll_only: bool = False, bills: bool = False,
                   progress: Callable[[str], None] | None = None, entities: tuple | None = None) -> dict:
    """Write a realistic inbox for ``employees`` people from ``start`` to ``end`` (``YYYY-MM``); return the manifest.

    ``bills``: also the agency's bill, one file per region and month (``sample.bills``), drawn
    from a random stream of its own so the other files stay the same.
    ``formats``: ``mixed`` (CSV in UTF-8, UTF-8 with BOM and GBK, some xlsx with title rows) or ``csv``
    (UTF-8 and GBK CSV only). ``history_payroll_only``: months before ``end`` get payroll files only (the
    ingest benchmark's twelve months of payroll history). The manifest holds no personal data: file
    names with their kind, encoding, rows and planted rejects, and the anomalies planted by SPEC §5 code;
    with ``bills``, also ``bill_plants`` (counts) and ``bill_differences`` (per period the BILL_MISMATCH keys a
    correct check finds: the generated, synthetic ID numbers, for tests; the CLI prints counts only).
    ``entities``: the employers (default ``sample.people.ENTITIES``; the demo's come from ``rules.demo_plan``).
    """
    with placed(entities):
        return _generate(out_dir, employees, start, end, seed, formats, history_payroll_only, bills, progress)


def _generate(out_dir: Path, employees: int, start: str, end: str, seed: int, formats: str,
              history_payroll_only: bool, bills: bool, progress: Callable[[str], None] | None) -> dict:
    if formats not in ("mixed", "csv"):
        raise InputError(f"The format {formats!r} is unknown; use mixed or csv.")
    if employees < 1:
        raise InputError("The number of employees must be at least 1.")
    periods = months_between(start, end)
    if not periods:
        raise InputError(f"The month {end} is before {start}; give the months in order.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    first_day = date.fromisoformat(periods[0] + "-01")
    last_day = _month_end(periods[-1])
    people = draw_people(rng, employees, first_day, last_day, len(periods))
    people, anomalies = plant(rng, people, first_day, last_day, periods)
    people, v2_counts, v2_planted = plant_v2(rng, people, periods)
    anomalies.update(v2_counts)
    people = people.with_columns(
        employee_ids(people),
        pl.Series("department", rng.choice(DEPARTMENTS, people.height)),
        pl.col("entity_index").replace_strict(dict(enumerate(e.name for e in entities())), return_dtype=pl.String)
        .alias("entity"),
        pl.col("entity_index").replace_strict(dict(enumerate(e.city for e in entities())), return_dtype=pl.String)
        .alias("city"),
        _month_number(pl.col("hire_date")).alias("hire_month"),
    ).with_columns(
        (pl.col("hire_month") + pl.col("enrol_delay")).alias("enrol_month"),
        (pl.col("hire_month") - pl.col("prior_years") * 12).alias("prior_start_month"),
    )
    inbox = _Inbox(out, formats, rng, anomalies, employees, periods)
    inbox.manifest["v2"] = v2_planted
    expect = _Expected(people, periods, inbox.manifest)
    pay = _Pay(people, rng)
    biller = BillWriter(out, np.random.default_rng([seed, 14]), inbox.manifest) if bills else None
    for number, period in enumerate(periods, start=1):
        month = pay.month(period)
        full = not history_payroll_only or period == periods[-1]
        for entity_index in range(len(entities())):
            rows = month.filter(pl.col("entity_index") == entity_index).sort("employee_id")
            if rows.height:
                inbox.payroll(period, rows)
                if full:
                    inbox.attendance(period, rows)
        if full:
            inbox.insurance(period, people, month)
            inbox.transfers(period, people)
            expect.month(period, month, inbox.transfer_seen)
        if bills and full:
            biller.month(period, month)
        if progress:
            progress(f"{period}: {number}/{len(periods)} months, {len(inbox.manifest['files'])} files")
    return inbox.manifest


def _month_end(period: str) -> date:
    first = date.fromisoformat(period + "-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _month_number(dates: pl.Expr) -> pl.Expr:
    """Months since year 0, so month arithmetic is integer arithmetic."""
    return dates.dt.year().cast(pl.Int64) * 12 + dates.dt.month().cast(pl.Int64) - 1


def _month_date(numbers: pl.Expr) -> pl.Expr:
    return pl.date(numbers // 12, numbers % 12 + 1, 1)


class _Pay:
    """Gross pay, the reference wage, base and withholding of SPEC §4, month by month, for everyone at once."""

    def __init__(self, people: pl.DataFrame, rng: np.random.Generator):
        self.people = people
        self.rng = rng
        self.n = people.height
        self.hire = people["hire_date"].to_numpy()
        leave = people["leave_date"].to_numpy()
        self.leave = np.where(np.isnat(leave), np.datetime64("2999-12-31"), leave)
        self.entity = people["entity_index"].to_numpy()
        self.pay = people["pay"].to_numpy().astype(np.float64)
        self.same_person_as = people["same_person_as"].to_numpy().astype(np.int64)
        self.year = None
        # calendar-year pay per person, by year; the first pay of the person's current contribution year
        self.year_sums: dict[int, np.ndarray] = {}
        self.year_rows: dict[int, np.ndarray] = {}
        self.start_month = np.array([month_policy(e.city, "2024-01").base_year_start_month
                                     for e in entities()])[self.entity]
        self.first_of_year = np.full(self.n, -1, np.int64)

    def month(self, period: str) -> pl.DataFrame:
        """The people on P's payroll with their money (cents) and month fraction."""
        first = np.datetime64(period + "-01", "D")
        next_first = np.datetime64(_month_end(period) + timedelta(days=1), "D")
        year, month_no = int(period[:4]), int(period[5:])
        if self.year is not None and year != self.year:
            self.pay = self.pay * self.rng.uniform(1.0, 1.08, self.n)  # the yearly raise
        self.year = year
        zeros = np.zeros(self.n, np.int64)
        self.year_sums.setdefault(year, zeros.copy())
        self.year_rows.setdefault(year, zeros.copy())
        # SPEC §4.4: the contribution year starts in month S of year Y (Y = P's year when P's month >= S)
        self.first_of_year = np.where(self.start_month == month_no, -1, self.first_of_year)
        base_year = np.where(month_no >= self.start_month, year, year - 1)
        active = (self.hire < next_first) & (self.leave >= first)
        # pay varies a little month to month (overtime, bonuses); half-yuan amounts as payroll systems give
        gross = (np.round(self.pay * self.rng.uniform(0.95, 1.08, self.n) * 2) * 50).astype(np.int64)
        gross = gross[self.same_person_as]  # a second record of one person is paid the same
        self.year_sums[year] += np.where(active, gross, 0)
        self.year_rows[year] += active
        self.first_of_year = np.where(active & (self.first_of_year < 0), gross, self.first_of_year)
        # W: the mean of calendar year Y - 1, else the first pay since month S of Y, half-up to the cent
        previous_sum, previous_rows = zeros.copy(), zeros.copy()
        for y in (year - 1, year - 2):
            mine = base_year - 1 == y
            previous_sum = np.where(mine, self.year_sums.get(y, zeros), previous_sum)
            previous_rows = np.where(mine, self.year_rows.get(y, zeros), previous_rows)
        mean = (2 * previous_sum + np.maximum(previous_rows, 1)) // (2 * np.maximum(previous_rows, 1))
        wage = np.where(previous_rows > 0, mean, self.first_of_year)

        fraction = np.zeros(self.n)
        withheld = np.zeros(self.n, np.int64)
        base = np.zeros(self.n, np.int64)
        type_bases = {kind: np.zeros(self.n, np.int64) for kind in INSURED_TYPES}
        for index, entity in enumerate(entities()):
            mine = active & (self.entity == index)
            policy = month_policy(entity.city, period)
            cutoff = first + np.timedelta64(policy.cutoff_day - 1, "D")
            employed_on_cutoff = (self.hire <= cutoff) & (self.leave > cutoff)
            late_hire = (self.hire > cutoff) & (self.hire < next_first) & (self.leave >= next_first)
            f = np.where(employed_on_cutoff, 1.0, np.where(late_hire, policy.late_hire_fraction, 0.0))
            fraction = np.where(mine, f, fraction)
            for rule in policy.types.values():
                share = employee_share_cents(np.clip(wage, rule.floor_cents, rule.ceiling_cents), rule.employee_rate,
                                             f, policy.jiao_up) + np.where(f > 0, rule.employee_fixed_cents, 0)
                withheld = np.where(mine, withheld + share, withheld)
            pension = policy.pension
            base = np.where(mine, self._declared_base(wage, pension.floor_cents, pension.ceiling_cents), base)
            for kind in INSURED_TYPES:  # each type its own floor and ceiling where the region sets them apart
                rule = policy.types.get(kind, pension)
                type_bases[kind] = np.where(mine, self._declared_base(wage, rule.floor_cents, rule.ceiling_cents),
                                            type_bases[kind])
        wrong = self.people["wrong_withholding"].to_numpy()
        withheld = np.where(wrong, withheld + self.people["withholding_delta"].to_numpy(), withheld)
        # 实发 = 应发 − 社保 − 公积金 − 个税 (housing fund ~7%, a simplified tax)
        housing = np.round(np.minimum(gross, 3_000_000) * 0.07 / 100).astype(np.int64) * 100
        taxable = np.maximum(gross - withheld - housing - 500_000, 0)
        tax = np.where(taxable <= 300_000, taxable * 0.03, np.where(taxable <= 1_200_000, taxable * 0.1 - 21_000,
                                                                    taxable * 0.2 - 141_000))
        net = gross - withheld - housing - np.round(tax).astype(np.int64)
        days = np.busday_count(np.maximum(self.hire, first), np.minimum(self.leave + np.timedelta64(1, "D"),
                                                                       next_first))
        days = np.maximum(days - self.rng.choice(3, self.n, p=[0.75, 0.18, 0.07]), 0)
        chosen = np.flatnonzero(active)
        return self.people[chosen.tolist()].with_columns(
            pl.Series("gross_cents", gross[chosen]), pl.Series("si_cents", withheld[chosen]),
            pl.Series("net_cents", net[chosen]), pl.Series("base_cents", base[chosen]),
            pl.Series("fraction", fraction[chosen]), pl.Series("days", days[chosen].astype(np.int64)),
            pl.Series("wage_cents", wage[chosen]),
            *[pl.Series(f"base_{kind}_cents", type_bases[kind][chosen]) for kind in INSURED_TYPES],
        )

    def _declared_base(self, wage: np.ndarray, floor: int, ceiling: int) -> np.ndarray:
        """The base declared to the platform: the right one, unless a wrong one was planted."""
        shift = self.people["base_shift"].to_numpy()
        right = np.clip(wage, floor, ceiling)
        below = np.maximum(floor - self.people["base_delta"].to_numpy(), 100_000)
        above = np.maximum(wage, ceiling + self.people["ceiling_excess"].to_numpy())
        off = np.clip(wage - self.people["base_delta"].to_numpy(), floor, ceiling)
        return np.select([shift == 1, shift == 2, shift == 3], [below, above, off], right)


class _Inbox:
    """Spells each month's rows in a file's chosen format and writes the file; keeps the manifest."""

    def __init__(self, out: Path, formats: str, rng: np.random.Generator, anomalies: dict, employees: int,
                 periods: list[str]):
        self.out = out
        self.formats = formats
        self.rng = rng
        self.reject_counters: dict[str, int] = {}
        self.transfer_seen: set[int] = set()  # people with a transfer row not rejected in a snapshot so far
        self.decorated = 0
        self.manifest: dict = {
            "employees": employees, "periods": periods, "files": {}, "kinds": {}, "encodings": {},
            "anomalies": anomalies, "rejects": {}, "rejects_by_file": {},
            "no_policy_regions": sorted({e.city for e in entities()
                                         if not all(month_policy(e.city, p).has_pension_row for p in periods)}),
        }

    # -- the four kinds ---------------------------------------------------------------------------

    def payroll(self, period: str, rows: pl.DataFrame) -> None:
        fmt, n = self._format(rows.height), rows.height
        entity = entities()[rows["entity_index"][0]]
        table = rows.select(
            sp.month_texts(self.rng, n, period).alias("period"), "employee_id",
            sp.names(pl.col("name"), sp.pick(self.rng, n, sp.NAME_WEIGHTS)).alias("name"),
            pl.col("department").alias("部门"),
            sp.id_numbers(pl.col("payroll_id"), sp.pick(self.rng, n, sp.ID_WEIGHTS)).alias("id_number"),
            "entity", sp.text_choice(self.rng, n, entity.city_spellings).alias("city"),
            self._amount(pl.col("gross_cents"), n, fmt).alias("gross_pay"),
            self._amount(pl.col("net_cents"), n, fmt).alias("net_pay"),
            self._amount(pl.col("si_cents"), n, fmt).alias("si_withheld"),
        )
        table = self._drop_optional(table, {"部门": 0.5, "net_pay": 0.15})
        table = self._decorate_ids(table, fmt)
        table, rejects = self._plant_rejects(table, "payroll", period)
        self._write("payroll", period, table, fmt, rejects, title=f"{int(period[:4])}年{int(period[5:])}月工资表")

    def attendance(self, period: str, rows: pl.DataFrame) -> None:
        fmt, n = self._format(rows.height), rows.height
        date_style = sp.pick(self.rng, n, [w for _, w in sp.DATE_FORMATS])
        table = rows.select(
            sp.month_texts(self.rng, n, period).alias("period"), "employee_id",
            sp.names(pl.col("name"), sp.pick(self.rng, n, sp.NAME_WEIGHTS)).alias("name"),
            pl.col("department").alias("部门"),
            # the roster often lacks the ID number (it is optional there)
            pl.when(pl.Series(self.rng.random(n) < 0.03)).then(pl.lit(None, pl.String))
            .otherwise(sp.id_numbers(pl.col("payroll_id"), sp.pick(self.rng, n, sp.ID_WEIGHTS))).alias("id_number"),
            "entity", sp.dates(pl.col("hire_date"), date_style).alias("hire_date"),
            pl.when(pl.col("leave_date") <= _month_end(period)).then(sp.dates(pl.col("leave_date"), date_style))
            .alias("leave_date"),
            pl.col("days").cast(pl.String).alias("attendance_days"),
            # 户籍所在地 (SPEC v2, optional): given for some people, as ``四川省成都市``
            pl.col("hukou_region").replace_strict(
                {r: region_spellings(r)[-1] for r in set(PRIOR_REGIONS) | set(HUKOU_CITY.values())},
                default=None, return_dtype=pl.String).alias("hukou_region"),
        )
        table = self._drop_optional(table, {"部门": 0.5, "attendance_days": 0.1})
        table, rejects = self._plant_rejects(table, "attendance", period)
        self._write("attendance", period, table, fmt, rejects, title=f"{int(period[:4])}年{int(period[5:])}月考勤表")

    def insurance(self, period: str, people: pl.DataFrame, month: pl.DataFrame) -> None:
        p = int(period[:4]) * 12 + int(period[5:]) - 1
        first = date.fromisoformat(period + "-01")
        cutoff_day = pl.col("city").replace_strict({e.city: month_policy(e.city, period).cutoff_day for e in entities()},
                                                   return_dtype=pl.Int8)
        # leaving after the cutoff day, the leave month is still insured; on or before it, it is not
        cutoff_passed = pl.col("leave_date").dt.day() > cutoff_day
        leave_month = _month_number(pl.col("leave_date"))
        # our records: staff on P's payroll who are enrolled by now, and recent leavers
        current = month.filter(pl.col("insured") & (pl.col("enrol_month") <= p)).with_columns(
            pl.col("base_cents").alias("base_value"),
            pl.when(pl.col("leave_date").is_not_null() & (leave_month == p) & ~cutoff_passed)
            .then(pl.lit(p - 1)).alias("end_month_number"),
        )
        left = people.filter(pl.col("insured") & (pl.col("leave_date") < first) & (pl.col("enrol_month") < NEVER)
                             & (pl.col("still_active") | (leave_month >= p - MONTHS_LISTED_AFTER_LEAVING)))
        left = left.with_columns(
            (pl.col("pay") * 100).cast(pl.Int64).alias("base_value"),
            pl.when(~pl.col("still_active"))
            .then(pl.when(cutoff_passed).then(leave_month).otherwise(leave_month - 1)).alias("end_month_number"),
        )
        left = left.with_columns(*[pl.lit(None, pl.Int64).alias(f"base_{kind}_cents") for kind in INSURED_TYPES])
        shared = ["person", "id_number", "name", "entity", "city", "enrol_month", "prior_region", "prior_start_month",
                  "hire_month", "first_misjudged", "base_value", "end_month_number",
                  *[f"base_{kind}_cents" for kind in INSURED_TYPES]]
        ours = pl.concat([current.select(shared), left.select(shared)], how="vertical_relaxed").with_columns(
            pl.when(pl.col("end_month_number").is_null()).then(pl.lit("active")).otherwise(pl.lit("terminated"))
            .alias("status"),
            pl.col("enrol_month").alias("start_month_number"),
            (pl.lit(p) - pl.col("enrol_month") + 1
             + pl.when(pl.col("prior_region").is_not_null())
             .then(pl.col("hire_month") - pl.col("prior_start_month")).otherwise(0)).alias("months_paid"),
            pl.when(pl.col("prior_region").is_null() | pl.col("first_misjudged")).then(pl.lit("是"))
            .otherwise(pl.lit("否")).alias("first_flag"),
            pl.col("entity").alias("employer"), pl.col("city").alias("region"),
        )
        per_type = []
        for order, kind in enumerate(INSURED_TYPES):
            rows = ours if kind != "maternity" else ours.filter(pl.col("city").is_in(list(MATERNITY_LISTED)))
            per_type.append(rows.with_columns(pl.lit(kind).alias("insurance_type"), pl.lit(order).alias("type_order"),
                                              pl.coalesce(f"base_{kind}_cents", "base_value").alias("base_value"),
                                              pl.when(pl.lit(kind == "pension")).then(pl.col("first_flag"))
                                              .alias("first_flag")))
        # the same people's earlier insurance in another region (pension and medical)
        listed = ours.select("person").unique(maintain_order=True)
        earlier = people.filter(pl.col("person").is_in(listed["person"].implode()) & pl.col("prior_region").is_not_null()
                                & pl.col("prior_listed"))
        done = pl.col("done_on").is_not_null() & (pl.col("done_on") <= _month_end(period))
        still_open = pl.col("active_elsewhere") | (pl.col("transfer_fate") == NOT_REFLECTED)
        earlier = earlier.with_columns(
            pl.when(still_open).then(pl.lit("active"))
            .when((pl.col("mover") & ~done) | pl.col("origin_suspended")).then(pl.lit("suspended"))
            .otherwise(pl.lit("terminated")).alias("status"),
            pl.col("prior_start_month").alias("start_month_number"),
            pl.when(still_open).then(None).otherwise(pl.col("hire_month") - 1).alias("end_month_number"),
            ((pl.col("pay") * 0.85).round(0) * 100).cast(pl.Int64).alias("base_value"),
            (pl.col("hire_month") - pl.col("prior_start_month")
             + pl.when(still_open).then(pl.lit(p) - pl.col("hire_month") + 1).otherwise(0)).alias("months_paid"),
            pl.col("prior_employer").alias("employer"), pl.col("prior_region").alias("region"),
        )
        for order, kind in enumerate(("pension", "medical")):
            per_type.append(earlier.with_columns(
                pl.lit(kind).alias("insurance_type"), pl.lit(10 + order).alias("type_order"),
                pl.when(pl.lit(kind == "pension")).then(pl.lit("是")).otherwise(None).alias("first_flag")))
        # double enrolment (SPEC v2): another employer in the same region insures the person too, since our start
        double = ours.filter(pl.col("person").is_in(people.filter(pl.col("double_enrolled"))["person"].implode())
                             & (pl.col("status") == "active"))
        double = double.join(people.select("person", "double_employer"), on="person").with_columns(
            (pl.col("city") + pl.col("double_employer")).alias("employer"), pl.lit("active").alias("status"),
            pl.col("enrol_month").alias("start_month_number"), pl.lit(None, pl.Int64).alias("end_month_number"),
            (pl.lit(p) - pl.col("enrol_month") + 1).alias("months_paid"))
        for order, kind in enumerate(("pension", "medical")):
            per_type.append(double.with_columns(
                pl.lit(kind).alias("insurance_type"), pl.lit(20 + order).alias("type_order"),
                pl.when(pl.lit(kind == "pension")).then(pl.lit("否")).otherwise(None).alias("first_flag")))
        columns = ["person", "type_order", "id_number", "name", "region", "employer", "insurance_type", "status",
                   "start_month_number", "end_month_number", "base_value", "months_paid", "first_flag"]
        rows = pl.concat([frame.select(columns) for frame in per_type], how="vertical_relaxed").sort("person", "type_order")
        n = rows.height
        fmt = self._format(n)
        month_style = sp.pick(self.rng, n, [w for _, w in sp.MONTH_FORMATS])
        table = rows.select(
            sp.month_texts(self.rng, n, period).alias("period"), "id_number", "name",
            self._insured_regions(rows["region"]), "employer",
            self._spell(rows["insurance_type"], INSURANCE_TYPES), self._spell(rows["status"], STATUSES),
            sp.months(_month_date(pl.col("start_month_number")), month_style).alias("start_month"),
            sp.months(_month_date(pl.col("end_month_number")), month_style).alias("end_month"),
            self._amount(pl.col("base_value"), n, fmt).alias("base"),
            pl.col("months_paid").cast(pl.String).alias("months_paid"),
            pl.when(pl.Series(self.rng.random(n) < 0.1)).then(pl.col("first_flag").replace({"是": "Y", "否": "N"}))
            .otherwise(pl.col("first_flag")).alias("first_enrollment"),
        )
        table = self._drop_optional(table, {"months_paid": 0.4})
        title = f"参保人员明细（{int(period[:4])}年{int(period[5:])}月）"
        self._write("insurance", period, table, fmt, {}, title=title)

    def transfers(self, period: str, people: pl.DataFrame) -> None:
        last = _month_end(period)
        listed_from = date.fromisoformat(period + "-01") - timedelta(days=TRANSFER_LISTED_DAYS)
        finished = pl.coalesce("done_on", "rejected_on")
        rows = people.filter(pl.col("mover") & (pl.col("submitted_on") <= last)
                             & (finished.is_null() | (finished >= listed_from)))
        if rows.height == 0:
            return
        # the stage reached by the end of P, and its date
        stages = [("rejected", "rejected_on"), ("completed", "done_on"), ("funds_received", "funds_on"),
                  ("origin_approved", "approved_on"), ("submitted", "submitted_on")]
        reached = [(stage, pl.col(column).is_not_null() & (pl.col(column) <= last), column) for stage, column in stages]
        stage = pl.when(reached[0][1]).then(pl.lit(stages[0][0]))
        stage_on = pl.when(reached[0][1]).then(pl.col(stages[0][1]))
        for name, condition, column in reached[1:]:
            stage, stage_on = stage.when(condition).then(pl.lit(name)), stage_on.when(condition).then(pl.col(column))
        rows = rows.with_columns(stage.alias("stage"), stage_on.alias("stage_on")).sort("submitted_on", "person")
        self.transfer_seen |= set(rows.filter(pl.col("stage") != "rejected")["person"].to_list())
        n = rows.height
        fmt = self._format(n)
        date_style = sp.pick(self.rng, n, [w for _, w in sp.DATE_FORMATS])
        pension_spellings = ("", "基本养老保险", "企业职工基本养老保险", "养老保险")
        table = rows.select(
            sp.month_texts(self.rng, n, period).alias("period"),
            pl.format("ZY{}{}", pl.col("submitted_on").dt.strftime("%Y%m%d"),
                      pl.col("person").cast(pl.String).str.zfill(7)).alias("transfer_id"),
            "id_number", "name",
            pl.Series(sp.text_choice(self.rng, n, pension_spellings, [0.4, 0.3, 0.2, 0.1]))
            .replace("", None).alias("insurance_type"),
            self._regions(rows["prior_region"]).alias("from_region"),
            self._regions(rows["city"]).alias("to_region"),
            self._spell(rows["stage"], STAGES),
            sp.dates(pl.col("submitted_on"), date_style).alias("submitted_on"),
            sp.dates(pl.col("stage_on"), sp.pick(self.rng, n, [w for _, w in sp.DATE_FORMATS])).alias("stage_on"),
        )
        self._write("transfers", period, table, fmt, {}, title=f"转移接续业务查询（{int(period[:4])}年{int(period[5:])}月）")

    # -- spelling helpers --------------------------------------------------------------------------

    def _format(self, rows: int) -> FileFormat:
        return choose_format(self.rng, rows, self.formats)

    def _amount(self, cents: pl.Expr, n: int, fmt: FileFormat) -> pl.Expr:
        return sp.amounts(cents, sp.pick(self.rng, n, sp.AMOUNT_WEIGHTS), fmt.yuan_sign)

    def _spell(self, values: pl.Series, lists: dict[str, tuple[str, ...]]) -> pl.Series:
        """Per row, one of the spellings ``lists`` gives for its value (others stay as they are)."""
        draws = 12  # a multiple of every list length up to 4, so each spelling is equally likely
        key = pl.format("{}#{}", pl.col("v"), pl.Series(self.rng.integers(0, draws, values.len())))
        table = {f"{value}#{d}": spellings[d % len(spellings)] for value, spellings in lists.items()
                 for d in range(draws)}
        frame = pl.DataFrame({"v": values})
        return frame.select(key.replace_strict(table, default=pl.col("v"), return_dtype=pl.String)
                            .alias(values.name)).to_series()

    def _regions(self, values: pl.Series) -> pl.Series:
        """``成都`` / ``成都市`` / ``四川省成都市``, per row."""
        return self._spell(values, {r: region_spellings(r) for r in {e.city for e in entities()} | set(PRIOR_REGIONS)})

    def _decorate_ids(self, table: pl.DataFrame, fmt: FileFormat) -> pl.DataFrame:
        """Every other payroll file: one ID number as Excel and copy-paste leave it (SPEC §2 v2 removes it all):
        a non-breaking or zero-width space, a leading apostrophe, an ideographic space, full-width digits.
        GBK holds neither U+00A0 nor U+200B: those files get the apostrophe or U+3000 instead."""
        if table.height == 0 or self.rng.random() < 0.5:
            return table
        kinds = ("nbsp", "zero_width", "apostrophe", "ideographic_space", "full_width")
        kind = kinds[self.decorated % len(kinds)]
        self.decorated += 1
        if fmt.encoding == "gbk" and kind in ("nbsp", "zero_width"):
            kind = {"nbsp": "ideographic_space", "zero_width": "apostrophe"}[kind]
        row = int(self.rng.integers(table.height))
        number = table["id_number"][row]
        decorated = {"nbsp": lambda t: t[:6] + "\u00a0" + t[6:], "zero_width": lambda t: t + "\u200b",
                     "apostrophe": lambda t: "'" + t, "ideographic_space": lambda t: "\u3000" + t,
                     "full_width": lambda t: t.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})}[kind](number)
        counts = self.manifest.setdefault("decorated_ids", {})
        counts[kind] = counts.get(kind, 0) + 1
        return table.with_columns(table["id_number"].scatter(row, decorated))

    def _insured_regions(self, values: pl.Series) -> pl.Series:
        """As ``_regions``, and for our cities sometimes a district or 本级 (SPEC v2: they map to the city)."""
        lists = {r: region_spellings(r) for r in set(PRIOR_REGIONS) | set(SAME_PROVINCE.values())}
        lists |= {e.city: region_spellings(e.city) + DISTRICT_SPELLINGS.get(e.city, ()) for e in entities()}
        return self._spell(values, lists)

    def _drop_optional(self, table: pl.DataFrame, chances: dict[str, float]) -> pl.DataFrame:
        """Some exports leave out an optional column (or carry an extra one, like 部门)."""
        dropped = [column for column, chance in chances.items() if self.rng.random() < chance]
        return table.drop(dropped)

    # -- rejects and writing ----------------------------------------------------------------------

    def _plant_rejects(self, table: pl.DataFrame, kind: str, period: str) -> tuple[pl.DataFrame, dict[str, int]]:
        """Every third payroll and every fourth attendance file gets one row ingest must reject, taking the
        reasons in turn; it is an extra row beside the good ones, so the good data stays complete."""
        counter = self.reject_counters[kind] = self.reject_counters.get(kind, 0) + 1
        every = 3 if kind == "payroll" else 4
        if table.height < 2 or counter % every != 1:
            return table, {}
        year = period[:4]
        reasons = {
            "payroll": [("BAD_MONTH", "period", f"{year}-13"), ("BAD_AMOUNT", "gross_pay", "1,2,3"),
                        ("MISSING_FIELD", "id_number", None), ("DUPLICATE_ROW", None, None)],
            "attendance": [("BAD_DATE", "hire_date", f"{year}-02-30"), ("MISSING_FIELD", "hire_date", None),
                           ("BAD_MONTH", "period", f"{year}年0月")],
        }[kind]
        code, column, value = reasons[(counter // every) % len(reasons)]
        source = int(self.rng.integers(0, table.height))
        bad = table[source]
        if column is None:  # an exact copy, right after the row it copies
            position = source + 0.5
        else:
            bad = bad.with_columns(pl.lit(value, pl.String).alias(column))
            position = int(self.rng.integers(0, table.height + 1)) - 0.5
        order = pl.Series("order", np.arange(table.height, dtype=np.float64))
        merged = pl.concat([table.with_columns(order), bad.with_columns(pl.Series("order", [position]))])
        return merged.sort("order").drop("order"), {code: 1}

    def _write(self, kind: str, period: str, table: pl.DataFrame, fmt: FileFormat, rejects: dict[str, int],
               title: str) -> None:
        sequence = sum(kind != "bill" for kind in self.manifest["kinds"].values()) + 1  # bills are named apart
        name = f"{LABELS[kind]}_{period.replace('-', '')}_{sequence:03d}{fmt.suffix}"
        header = [self._header(kind, column) for column in table.columns]
        titles = [title] + (["单位：元"] if self.rng.random() < 0.3 else [])
        amount_columns = frozenset(i for i, c in enumerate(table.columns) if c in AMOUNT_COLUMNS)
        date_columns = frozenset(i for i, c in enumerate(table.columns) if c in DATE_COLUMNS)
        write_extract(self.out / name, header, table, fmt, titles, amount_columns, date_columns)
        self.manifest["files"][name] = table.height
        self.manifest["kinds"][name] = kind
        self.manifest["encodings"][name] = fmt.encoding
        if rejects:
            self.manifest["rejects_by_file"][name] = rejects
            for code, count in rejects.items():
                self.manifest["rejects"][code] = self.manifest["rejects"].get(code, 0) + count

    def _header(self, kind: str, column: str) -> str:
        """One of SPEC §2's aliases for the column (extra columns keep their own name)."""
        for spec in KINDS[kind].columns:
            if spec.name == column:
                return spec.aliases[int(self.rng.integers(len(spec.aliases)))]
        return column


class _Expected:
    """What a correct close must find, per month, for the codes whose only cause in the sample is a plant
    (SPEC v2: DOUBLE_ENROLLMENT, TRANSFER_NEEDED with its interim-account flag, INVALID_ID_NUMBER), as
    ``entity|employee_id`` keys in ``manifest["expected"][code][period]``. Employee ids only: no personal data.

    Read off the same people columns the files are written from: a population row (f > 0, a pension row
    for its city) is matched to the insured person by the number on its payroll row, as the checks match.
    """

    def __init__(self, people: pl.DataFrame, periods: list[str], manifest: dict):
        from sample.rules import _regions
        from transforms.ingest.normalise import normalise_id_number

        self.people = people
        self.province = {region: row["province"] for region, row in _regions().items()}
        self.expected: dict[str, dict[str, list[str]]] = manifest.setdefault("expected", {})
        self.number = normalise_id_number(pl.col("payroll_id")).alias("number")

    def month(self, period: str, month: pl.DataFrame, transfer_seen: set[int]) -> None:
        p = int(period[:4]) * 12 + int(period[5:]) - 1
        pension = {e.city: month_policy(e.city, period).has_pension_row for e in entities()}
        key = pl.format("{}|{}", "entity", "employee_id").alias("key")
        population = month.filter((pl.col("fraction") > 0) & pl.col("city").replace_strict(pension)).with_columns(
            self.number, key)
        enrolled = month.filter(pl.col("insured") & (pl.col("enrol_month") <= p))
        here = pl.col("city").replace_strict(self.province, default="")
        there = pl.col("prior_region").replace_strict(self.province, default="")
        origin_open = pl.col("active_elsewhere") | (pl.col("mover") & (pl.col("transfer_fate") == NOT_REFLECTED))
        needs = enrolled.filter(pl.col("prior_listed") & pl.col("prior_region").is_not_null() & ~origin_open
                                & (there != "") & (there != here) & ~pl.col("person").is_in(list(transfer_seen)))
        doubles = enrolled.filter(pl.col("double_enrolled"))
        last_day = _month_end(period)

        def keys(holders: pl.DataFrame) -> pl.DataFrame:
            return population.join(holders.select(pl.col("id_number").alias("number"), "entity_index"),
                                   on=["number", "entity_index"], how="semi")

        needed = keys(needs)
        of_age = needed.filter(pl.col("number").map_elements(lambda n: _of_age(n, last_day), return_dtype=pl.Boolean)
                               & pl.col("hukou_region").is_not_null()
                               & (pl.col("hukou_region").replace_strict(self.province, default="") != here))
        for code, frame in (("DOUBLE_ENROLLMENT", keys(doubles)), ("TRANSFER_NEEDED", needed),
                            ("interim_account_check", of_age),
                            ("INVALID_ID_NUMBER", month.filter(pl.col("id_invalid")).with_columns(key))):
            self.expected.setdefault(code, {})[period] = sorted(frame["key"].unique().to_list())


def _of_age(number: str, last_day: date) -> bool:
    """国办发〔2009〕66号 第六条: a man of 50 or more, a woman of 40 or more on ``last_day`` (digit 17 odd: male)."""
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    years = last_day.year - born.year - ((last_day.month, last_day.day) < (born.month, born.day))
    return years >= (50 if int(number[16]) % 2 else 40)
