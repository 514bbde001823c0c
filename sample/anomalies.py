"""Planting the SPEC §5 anomalies in the people, at low realistic rates, and counting what was planted.

Each anomaly is a column of the people frame (a flag, a shift, a fate), chosen among people for whom it
can show: identity mistakes among staff employed the whole range, enrolment gaps among new hires, stuck
transfers among people moving their insurance here. The sets are disjoint, so the counts are exact.
Counts are in the unit the anomaly is planted in (people, pairs, transfers); a finding may repeat them
per month or per insurance type, and a planted mistake can set off related findings (an invalid ID
number on the payroll also matches no insurance record), as it would in real data.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from sample.people import check_chars, entities
from sample.rules import month_policy

NEVER = 10**6  # an enrolment month that never comes

# transfer fates
COMPLETED, REJECTED, STUCK, NOT_REFLECTED = range(4)
STUCK_STAGES = ("submitted", "origin_approved", "funds_received")


def _count(rate: float, pool: int, at_least: int = 1) -> int:
    return min(pool, max(at_least, int(round(rate * pool))))


def _take(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    """``count`` indices from the boolean ``pool``, sorted (so later steps do not depend on draw order)."""
    candidates = np.flatnonzero(pool)
    return np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))


def plant(rng: np.random.Generator, people: pl.DataFrame, first_day: date, last_day: date,
          periods: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """The people with every anomaly column filled; and the counts planted, by SPEC §5 code."""
    counts: dict[str, int] = {}
    people, counts_identity = _identity(rng, people, first_day)
    counts.update(counts_identity)
    n = people.height
    originals = ~people["extra_record"].to_numpy()
    hire = people["hire_date"].to_numpy()
    leave = people["leave_date"].to_numpy()
    start = np.datetime64(first_day, "D")
    stays = originals & ~people["identity_planted"].to_numpy() & np.isnat(leave)
    staff = stays & (hire < start)

    # enrolment: a few new hires never enrolled, a few enrolled two months late; only where the ledger books
    # them (a city with a pension row every month), since HIRED_NOT_ENROLLED reads the ledger population
    booked = np.array([all(month_policy(e.city, p).has_pension_row for p in periods) for e in entities()])
    enrol_delay = np.zeros(n, dtype=np.int64)
    hires = (originals & (hire >= start) & ~people["identity_planted"].to_numpy() & np.isnat(leave)
             & booked[people["entity_index"].to_numpy()])
    late = _take(rng, hires, _count(0.05, int(hires.sum())) if hires.any() else 0)
    enrol_delay[late[::2]] = NEVER
    enrol_delay[late[1::2]] = 2
    counts["HIRED_NOT_ENROLLED"] = late.size

    # leavers whose insurance nobody stopped
    last_month = np.datetime64(periods[-1] + "-01", "D")
    leavers = originals & ~np.isnat(leave) & (leave < last_month)
    still_active = np.zeros(n, dtype=bool)
    still_active[_take(rng, leavers, _count(0.05, int(leavers.sum())) if leavers.any() else 0)] = True
    counts["DEPARTED_STILL_CONTRIBUTING"] = int(still_active.sum())

    people = people.with_columns(pl.Series("enrol_delay", enrol_delay), pl.Series("still_active", still_active))
    people, transfer_counts = _transfers(rng, people, staff, first_day, last_day)
    counts.update(transfer_counts)
    prior = people["prior_region"].is_not_null().to_numpy() & stays
    mover = people["mover"].to_numpy()

    active_elsewhere = np.zeros(n, dtype=bool)
    active_elsewhere[_take(rng, prior & ~mover, _count(0.003, n))] = True
    first_misjudged = np.zeros(n, dtype=bool)
    first_misjudged[_take(rng, prior & ~mover & ~active_elsewhere, _count(0.03, int(prior.sum())))] = True
    counts["ACTIVE_ELSEWHERE"] = int(active_elsewhere.sum())
    counts["FIRST_ENROLLMENT_MISJUDGED"] = int(first_misjudged.sum())

    # bases and withholding, where a pension policy makes them checkable in the last month (the demo's close)
    checkable = np.array([month_policy(e.city, periods[-1]).has_pension_row for e in entities()])
    entity = people["entity_index"].to_numpy()
    pool = originals & ~people["identity_planted"].to_numpy() & checkable[entity]
    if not pool.any():
        pool = originals & ~people["identity_planted"].to_numpy()
    pay = people["pay"].to_numpy()
    floor = np.array([month_policy(e.city, periods[0]).pension.floor_cents / 100 for e in entities()])[entity]
    ceiling = np.array([month_policy(e.city, periods[0]).pension.ceiling_cents / 100 for e in entities()])[entity]
    base_shift = np.zeros(n, dtype=np.int8)
    inside = (pay > floor * 1.3) & (pay < ceiling * 0.7)  # a mismatch must stay within the range
    for shift, code, among in ((1, "BASE_BELOW_FLOOR", pool), (2, "BASE_ABOVE_CEILING", pool),
                               (3, "BASE_MISMATCH", pool & inside)):
        chosen = _take(rng, among & (base_shift == 0), _count(0.004, int(among.sum())))
        base_shift[chosen] = shift
        counts[code] = chosen.size
    wrong = np.zeros(n, dtype=bool)
    wrong[_take(rng, pool & (base_shift == 0), _count(0.01, int(pool.sum())))] = True
    counts["WITHHOLDING_MISMATCH"] = int(wrong.sum())
    counts["NO_POLICY"] = sum(1 for e in entities() if not all(month_policy(e.city, p).has_pension_row for p in periods))

    people = people.with_columns(
        pl.Series("active_elsewhere", active_elsewhere), pl.Series("first_misjudged", first_misjudged),
        pl.Series("base_shift", base_shift), pl.Series("wrong_withholding", wrong),
        # how far off a planted base or withholding is, fixed per person (cents)
        pl.Series("base_delta", rng.integers(200, 800, n) * 100),
        pl.Series("ceiling_excess", rng.integers(500, 15_000, n) * 100),
        pl.Series("withholding_delta", rng.integers(30, 400, n) * 100 + rng.integers(0, 100, n)),
    )
    return people, counts


def _identity(rng: np.random.Generator, people: pl.DataFrame, first_day: date) -> tuple[pl.DataFrame, dict]:
    """Duplicate, invalid and re-registered ID numbers, among staff on the payroll the whole range."""
    n = people.height
    ids = people["id_number"].to_numpy().astype("<U18")
    hire = people["hire_date"].to_numpy()
    pool = (hire < np.datetime64(first_day, "D")) & np.isnat(people["leave_date"].to_numpy())
    entity = people["entity_index"].to_numpy()
    planted = np.zeros(n, dtype=bool)
    payroll_ids = ids.astype("<U20").copy()

    def take(count: int, among: np.ndarray | None = None) -> np.ndarray:
        chosen = _take(rng, pool & ~planted & (True if among is None else among), count)
        planted[chosen] = True
        return chosen

    # someone's number copied onto a colleague's payroll row (same company: a copy-paste in one sheet)
    copied = 0
    for b in take(_count(0.001, n)):
        colleagues = np.flatnonzero(pool & ~planted & (entity == entity[b]))
        if colleagues.size:
            payroll_ids[b] = ids[rng.choice(colleagues)]
            copied += 1

    # invalid numbers: wrong check character, impossible birth date, no such province, a digit lost, a child's
    invalid = take(_count(0.002, n, at_least=5))
    for number, i in enumerate(invalid):
        body = ids[i][:17]
        kind = number % 5
        if kind == 4:  # SPEC §5 too_young: born ten years before the range
            payroll_ids[i] = _with_check(body[:6] + str(first_day.year - 10) + body[10:])
            continue
        if kind == 0:
            payroll_ids[i] = body + "0123456789X"[("0123456789X".index(ids[i][17]) + 1) % 11]
        elif kind == 1:
            bad = body[:10] + "0230" + body[14:]  # 30 February
            payroll_ids[i] = _with_check(bad)
        elif kind == 2:
            payroll_ids[i] = _with_check("99" + body[2:])
        else:
            payroll_ids[i] = ids[i][:9] + ids[i][10:]  # 17 characters

    # extra employee records: the same person under a second employee id (twins: another valid number;
    # re-registered: the old 15-digit number of the same person, which normalises to the same 18 digits)
    born_1900s = np.array([i[6:8] == "19" for i in ids])
    twins = take(_count(0.0005, n))
    reregistered = take(_count(0.0005, n), among=born_1900s)
    taken = set(ids.tolist())
    twin_ids = np.array([_another_sequence(ids[i], taken) for i in twins], dtype="<U18")
    twin_payroll = np.array([t[:6] + t[8:17] if (k % 2 and t[6:8] == "19") else t for k, t in enumerate(twin_ids)],
                            dtype="<U20")
    rereg_payroll = np.array([ids[i][:6] + ids[i][8:17] for i in reregistered], dtype="<U20")

    people = people.with_columns(pl.Series("payroll_id", payroll_ids, dtype=pl.String),
                                 pl.Series("identity_planted", planted), pl.lit(False).alias("extra_record"),
                                 pl.lit(True).alias("insured"), pl.col("person").alias("same_person_as"),
                                 pl.Series("id_invalid", np.isin(np.arange(n), invalid)))
    extra = pl.concat([
        people[twins.tolist()].with_columns(pl.Series("id_number", twin_ids, dtype=pl.String),
                                            pl.Series("payroll_id", twin_payroll, dtype=pl.String)),
        # the platform knows the person once: the second record has no insurance rows of its own
        people[reregistered.tolist()].with_columns(pl.Series("payroll_id", rereg_payroll, dtype=pl.String),
                                                   pl.lit(False).alias("insured")),
    # one person, one pay: the second record is paid what the first is (so its ledger base agrees)
    ]).with_columns(pl.lit(True).alias("extra_record"), pl.lit(True).alias("identity_planted"),
                    pl.lit(None, pl.String).alias("prior_region"))
    people = pl.concat([people, extra]).with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("person"))
    return people, {"DUPLICATE_ID_NUMBER": copied + reregistered.size, "DUPLICATE_PERSON": twins.size,
                    "INVALID_ID_NUMBER": invalid.size}


def _with_check(body17: str) -> str:
    return body17 + str(check_chars(np.array([body17]))[0])


def _another_sequence(number: str, taken: set[str]) -> str:
    """The same area and birth date with another sequence number of the same sex, not yet used."""
    sequence = int(number[14:17])
    for step in range(2, 1000, 2):
        candidate = _with_check(number[:14] + f"{(sequence + step) % 1000:03d}")
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise RuntimeError("no free sequence number")  # pragma: no cover


def _transfers(rng: np.random.Generator, people: pl.DataFrame, staff: np.ndarray, first_day: date,
               last_day: date) -> tuple[pl.DataFrame, dict]:
    """Pension transfers of people who moved here recently, through their stages, with planted fates."""
    n = people.height
    start, end = np.datetime64(first_day, "D"), np.datetime64(last_day, "D")
    hire = people["hire_date"].to_numpy().copy()
    prior_region = people["prior_region"].to_numpy().astype(object)
    has_prior = prior_region != None  # noqa: E711 - elementwise over an object array
    originals = ~people["extra_record"].to_numpy()
    # one transfer that arrived before the range and is stuck: every snapshot has a row, stale throughout
    anchor = _take(rng, staff, 1)
    hire[anchor] = start - rng.integers(60, 100, anchor.size).astype("timedelta64[D]")
    # a mover's number is theirs alone (no identity plant, not copied onto a colleague's row): its
    # TRANSFER_NEEDED months are then exactly the mover's own (SPEC v2)
    copied = people.filter(pl.col("payroll_id") != pl.col("id_number"))["payroll_id"].to_list()
    own_number = ~people["identity_planted"].to_numpy() & ~people["id_number"].is_in(copied).to_numpy()
    mover = originals & own_number & has_prior & (hire >= start - np.timedelta64(150, "D"))
    mover[anchor] = True
    if mover.sum() < 3:  # small samples: a few more recent arrivals, so every stage can occur
        extra = _take(rng, staff & ~mover, 3 - int(mover.sum()))
        hire[extra] = start - rng.integers(20, 140, extra.size).astype("timedelta64[D]")
        mover[extra] = True
    prior_region[mover & ~has_prior] = "郑州"

    def step(days_from: np.ndarray) -> np.ndarray:
        # each step 4-14 calendar days, rolled to a working day: never past the 15-working-day limit
        return np.busday_offset(days_from + rng.integers(4, 15, n).astype("timedelta64[D]"), 0, roll="forward")

    submitted = np.busday_offset(hire + rng.integers(7, 46, n).astype("timedelta64[D]"), 0, roll="forward")
    approved = step(submitted)
    funds = step(approved)
    done = step(funds)
    stuck_at = rng.integers(0, len(STUCK_STAGES), n)
    stuck_at[anchor] = 0
    stage_dates = np.stack([submitted, approved, funds])
    stuck_on = stage_dates[stuck_at, np.arange(n)]
    # planted where the pipeline can see it: stuck long enough before the end, completed within the range
    fate = np.full(n, COMPLETED, dtype=np.int8)
    fate[anchor] = STUCK
    rest = mover.copy()
    rest[anchor] = False
    for code, rate, visible in ((NOT_REFLECTED, 0.04, done <= end),
                                (STUCK, 0.05, stuck_on <= end - np.timedelta64(40, "D")),
                                (REJECTED, 0.06, approved <= end)):
        chosen = _take(rng, rest & visible, _count(rate, int(mover.sum())))
        fate[chosen] = code
        rest[chosen] = False
    nat = np.datetime64("NaT")
    stuck = fate == STUCK
    rejected = fate == REJECTED
    rejected_on = np.where(rejected, approved, nat)
    approved = np.where(rejected | (stuck & (stuck_at < 1)), nat, approved)
    funds = np.where(rejected | (stuck & (stuck_at < 2)), nat, funds)
    done = np.where(rejected | stuck, nat, done)
    people = people.with_columns(
        pl.Series("hire_date", hire),
        pl.Series("prior_region", [r if r is not None else None for r in prior_region], dtype=pl.String),
        pl.Series("mover", mover), pl.Series("transfer_fate", fate),
        *[pl.Series(name, np.where(mover, values, nat).astype("datetime64[D]"))
          for name, values in (("submitted_on", submitted), ("approved_on", approved), ("funds_on", funds),
                               ("done_on", done), ("rejected_on", rejected_on))],
    )
    return people, {"STALE_TRANSFER": int(stuck.sum()), "TRANSFER_NOT_REFLECTED": int((fate == NOT_REFLECTED).sum())}


# -- SPEC version 2: foreign IDs, double enrolments, origins that need a transfer, hukou ---------------------

# other cities of the employer's province (provincial pooling: a move between them needs no transfer)
SAME_PROVINCE = {"长沙": "湘潭", "株洲": "长沙", "武汉": "宜昌", "广州": "深圳"}
NATIONALITY_CODES = ("840", "410", "392", "250", "276")  # GB/T 2659 numeric: US, KR, JP, FR, DE
HUKOU_CITY = {"湖南": "长沙", "湖北": "武汉", "广东": "广州", "上海": "上海", "北京": "北京", "浙江": "杭州", "四川": "成都",
              "河南": "郑州", "江西": "南昌", "陕西": "西安", "重庆": "重庆", "广西": "南宁"}


def plant_v2(rng: np.random.Generator, people: pl.DataFrame,
             periods: list[str]) -> tuple[pl.DataFrame, dict[str, int], dict[str, int]]:
    """The v2 columns: foreign permanent-resident numbers, double enrolments, earlier records that need a
    transfer (planted) or need none (decoys: same province), hukou; and their counts.

    Only people whose number is theirs alone are used (no identity plant, no copied number), so that each
    planted item sets off exactly the finding it is planted for. ``prior_listed``: the earlier record shows
    in the insurance snapshot; a prior record not listed was transferred and merged long ago.
    """
    from sample.people import AREA_CODES
    from sample.rules import _regions

    n = people.height
    originals = ~people["extra_record"].to_numpy()
    identity = people["identity_planted"].to_numpy()
    ids = people["id_number"].to_numpy().astype("<U18")
    copied = set(people.filter(pl.col("payroll_id") != pl.col("id_number"))["payroll_id"].to_list())
    clean = originals & ~identity & ~np.isin(ids, list(copied))
    staff = clean & np.isnat(people["leave_date"].to_numpy()) & (people["hire_date"].to_numpy()
                                                                 < np.datetime64(periods[0] + "-01", "D"))
    entity = people["entity_index"].to_numpy()
    # in the ledger population of the last month at least (the demo closes it); the expected keys are per month
    checkable = np.array([month_policy(e.city, periods[-1]).has_pension_row for e in entities()])[entity]
    mover = people["mover"].to_numpy()
    busy = mover | people["active_elsewhere"].to_numpy() | people["first_misjudged"].to_numpy()
    province = {r: row["province"] for r, row in _regions().items()}
    city = np.array([e.city for e in entities()])[entity]
    here = np.array([province.get(c, "") for c in city])
    prior = people["prior_region"].to_numpy().astype(object)
    there = np.array([province.get(r, "") if r is not None else "" for r in prior])
    counts: dict[str, int] = {}

    # double enrolment: another employer of the same region also insures the person (pension, active)
    double = np.zeros(n, dtype=bool)
    double[_take(rng, staff & checkable & ~busy, _count(0.004, n, at_least=2))] = True
    counts["DOUBLE_ENROLLMENT"] = int(double.sum())

    # an earlier record in another province, suspended, with no transfer: TRANSFER_NEEDED
    age = np.array([int(periods[0][:4]) - int(i[6:10]) - 1 for i in ids])  # at least, in every month of the range
    male = np.array([int(i[16]) % 2 == 1 for i in ids])
    of_age = np.where(male, age >= 50, age >= 40)
    cross = staff & checkable & ~busy & ~double & (there != "") & (there != here)
    needed = np.zeros(n, dtype=bool)
    needed[_take(rng, cross & of_age, 1)] = True  # one of interim-account age, with hukou elsewhere
    needed[_take(rng, cross & ~needed, _count(0.006, n, at_least=2))] = True
    # decoys: the same, but suspended in another city of the same province (no transfer needed)
    same = staff & checkable & ~busy & ~double & ~needed & np.isin(city, list(SAME_PROVINCE))
    decoy = np.zeros(n, dtype=bool)
    decoy[_take(rng, same, _count(0.003, n, at_least=2))] = True
    prior[decoy] = [SAME_PROVINCE[c] for c in city[decoy]]
    counts["TRANSFER_NEEDED"] = int(needed.sum())  # and the movers' months before their application

    # hukou: most people give none; the planted of-age one gives a hukou in the province of the origin
    area_province = {code: p for p, codes in AREA_CODES.items() for code in codes}
    hukou = np.array([HUKOU_CITY.get(area_province.get(i[:6], "")) for i in ids], dtype=object)
    hukou[rng.random(n) < 0.6] = None
    hukou[needed & of_age] = prior[needed & of_age]

    # foreign permanent residents (2023 format): 9, the province code, a nationality, birth date, check digit
    foreign = _take(rng, clean & ~busy & ~double & ~needed & ~decoy, _count(0.003, n, at_least=2))
    for i in foreign:
        body = "9" + ids[i][:2] + NATIONALITY_CODES[int(rng.integers(len(NATIONALITY_CODES)))] + ids[i][6:17]
        ids[i] = _with_check(body)
    hukou[foreign] = None
    payroll = people["payroll_id"].to_numpy().astype(object)
    payroll[foreign] = ids[foreign]
    planted = {"foreign_ids": len(foreign), "decoy_same_province": int(decoy.sum()),
               "interim_account_age": int((needed & of_age).sum())}

    listed = mover | people["active_elsewhere"].to_numpy() | people["first_misjudged"].to_numpy() | needed | decoy
    people = people.with_columns(
        pl.Series("id_number", ids, dtype=pl.String), pl.Series("payroll_id", payroll.tolist(), dtype=pl.String),
        pl.Series("prior_region", prior.tolist(), dtype=pl.String),
        pl.Series("double_enrolled", double), pl.Series("origin_suspended", needed | decoy),
        pl.Series("prior_listed", listed), pl.Series("hukou_region", hukou.tolist(), dtype=pl.String),
        pl.Series("double_employer", rng.choice(np.array(["恒信物流有限公司", "宏达电子科技有限公司", "安泰保险代理有限公司"]), n)),
    )
    return people, counts, planted
