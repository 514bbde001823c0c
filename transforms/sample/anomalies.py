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

from transforms.sample.people import ENTITIES, check_chars
from transforms.sample.rules import month_policy

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

    # enrolment: a few new hires never enrolled, a few enrolled two months late
    enrol_delay = np.zeros(n, dtype=np.int64)
    hires = originals & (hire >= start) & ~people["identity_planted"].to_numpy() & np.isnat(leave)
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

    # bases and withholding, where a pension policy makes them checkable in every month of the range
    checkable = np.array([all(month_policy(e.city, p).has_pension_row for p in periods) for e in ENTITIES])
    entity = people["entity_index"].to_numpy()
    pool = originals & ~people["identity_planted"].to_numpy() & checkable[entity]
    if not pool.any():
        pool = originals & ~people["identity_planted"].to_numpy()
    pay = people["pay"].to_numpy()
    floor = np.array([month_policy(e.city, periods[0]).pension.floor_cents / 100 for e in ENTITIES])[entity]
    ceiling = np.array([month_policy(e.city, periods[0]).pension.ceiling_cents / 100 for e in ENTITIES])[entity]
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
    counts["NO_POLICY"] = sum(1 for e in ENTITIES if not all(month_policy(e.city, p).has_pension_row for p in periods))

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

    # invalid numbers: wrong check character, impossible birth date, no such province, a digit lost
    invalid = take(_count(0.002, n, at_least=4))
    for number, i in enumerate(invalid):
        body = ids[i][:17]
        kind = number % 4
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
                                 pl.lit(True).alias("insured"), pl.col("person").alias("same_person_as"))
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
    mover = originals & has_prior & (hire >= start - np.timedelta64(150, "D"))
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
