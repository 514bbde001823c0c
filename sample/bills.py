"""The agency's bills (SPEC §2 kind `bill`): one file per region and month, with planted differences.

A region's agency bills what the contribution ledger of SPEC §4 comes to for the people the company pays
there (f > 0, in a month with a pension policy row; per levied type: the base clamps the reference wage,
each share rounds by the region's rule), so a bill agrees with a correct ledger except where a difference
is planted. Each file gets four: an amount off (the employer's pension share, by 5 yuan or more), a billed
non-employee, an unbilled employee, and a sub-yuan rounding difference that BILL_MISMATCH must not flag.
The bill carries the ID number the company declared (its payroll's), so identity anomalies planted
elsewhere do not show as bill differences.

The keys a correct pipeline finds, (id_number, insurance_type, region) per period, are worked out here by
the rule of SPEC §5 over the ledger frame and the bill frame (an oracle independent of the SQL check) and
kept in the manifest as ``bill_differences``; the generated people are synthetic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from sample import spelling as sp
from sample.files import FileFormat, write_extract
from sample.people import check_chars
from sample.rules import employee_share_cents, month_policy, region_spellings
from transforms.ingest.kinds import INSURANCE_TYPES, KINDS
from transforms.ingest.normalise import normalise_id_number

LABEL = "社保费缴费明细"
STRANGER_NAMES = ("赵建国", "钱淑芬", "孙志强", "周丽娟", "吴海涛")
COLUMNS = ("period", "id_number", "name", "region", "employer", "insurance_type", "base", "employer_amount",
           "employee_amount")
AMOUNT_COLUMNS = frozenset({6, 7, 8})
PLANTS = ("amount_off", "non_employee", "unbilled", "rounding")


class BillWriter:
    """Writes each month's bills and records them (and the differences a correct check finds) in the manifest."""

    def __init__(self, out: Path, rng: np.random.Generator, manifest: dict):
        self.out = out
        self.rng = rng
        self.manifest = manifest
        manifest.setdefault("bill_differences", {})
        manifest.setdefault("bill_plants", {name: 0 for name in PLANTS})

    def month(self, period: str, month: pl.DataFrame) -> None:
        """One bill per region of P's payroll with a pension policy row for P."""
        keys: list[tuple[str, str, str]] = []
        for region in sorted(month["city"].unique().to_list()):
            policy = month_policy(region, period)
            if not policy.has_pension_row:  # no ledger there (NO_POLICY): nothing to reconcile
                continue
            people = month.filter((pl.col("city") == region) & (pl.col("fraction") > 0))
            if people.height == 0:
                continue
            ledger = self._ledger(people, region, policy)
            bill = self._plant(ledger, region, period)
            keys += _differences(ledger, bill)
            self._write(period, region, bill)
        self.manifest["bill_differences"][period] = sorted(keys)
        anomalies = self.manifest["anomalies"]
        anomalies["BILL_MISMATCH"] = anomalies.get("BILL_MISMATCH", 0) + len(keys)

    def _ledger(self, people: pl.DataFrame, region: str, policy) -> pl.DataFrame:
        """What SPEC §4 books for these people in ``region``: one row per record and levied type, in cents."""
        wage = people["wage_cents"].to_numpy()
        fraction = people["fraction"].to_numpy()
        frames = []
        for insurance_type, rule in policy.types.items():
            base = np.clip(wage, rule.floor_cents, rule.ceiling_cents)
            frames.append(pl.DataFrame({
                "id_number": people.select(normalise_id_number(pl.col("payroll_id"))).to_series(),
                "name": people["name"], "employer": people["entity"],
                "insurance_type": [insurance_type] * people.height, "base": base,
                "employer_amount": employee_share_cents(base, rule.employer_rate, fraction, policy.jiao_up)
                + np.where(fraction > 0, rule.employer_fixed_cents, 0),  # SPEC §4.6 fixed sums
                "employee_amount": employee_share_cents(base, rule.employee_rate, fraction, policy.jiao_up)
                + np.where(fraction > 0, rule.employee_fixed_cents, 0),
            }))
        return pl.concat(frames).with_columns(pl.lit(region).alias("region"))

    def _plant(self, ledger: pl.DataFrame, region: str, period: str) -> pl.DataFrame:
        """The bill: the ledger's rows, with the four differences planted among people of one record each."""
        counts = ledger.group_by("id_number").agg(pl.col("employer").n_unique().alias("n"), pl.len().alias("rows"))
        types = ledger["insurance_type"].n_unique()
        single = counts.filter((pl.col("n") == 1) & (pl.col("rows") == types))["id_number"].sort().to_list()
        if len(single) < 3:
            return ledger
        off, unbilled, rounded = (single[i] for i in self.rng.choice(len(single), 3, replace=False))
        plants = self.manifest["bill_plants"]
        bill = ledger.filter(pl.col("id_number") != unbilled)
        pension = pl.col("insurance_type") == "pension"
        bill = bill.with_columns(
            pl.when((pl.col("id_number") == off) & pension)
            .then(pl.col("employer_amount") + int(self.rng.integers(5, 300)) * 100)
            .otherwise(pl.col("employer_amount")).alias("employer_amount"),
            pl.when((pl.col("id_number") == rounded) & pension)
            .then(pl.col("employee_amount") + int(self.rng.integers(1, 100)))
            .otherwise(pl.col("employee_amount")).alias("employee_amount"),
        )
        stranger = self._stranger(ledger, set(ledger["id_number"].to_list()))
        for name in PLANTS:
            plants[name] += 1
        return pl.concat([bill, stranger], how="vertical_relaxed")

    def _stranger(self, ledger: pl.DataFrame, taken: set[str]) -> pl.DataFrame:
        """Someone the agency bills to one of our employers but who is not on our payroll there."""
        while True:
            body = f"430102198{int(self.rng.integers(0, 10))}0{int(self.rng.integers(1, 10))}1{int(self.rng.integers(0, 10))}" \
                   f"{int(self.rng.integers(0, 1000)):03d}"
            number = body + str(check_chars(np.array([body]))[0])
            if number not in taken:
                break
        like = ledger.filter(pl.col("id_number") == ledger["id_number"][0])  # a colleague's types and shares
        return like.with_columns(pl.lit(number).alias("id_number"),
                                 pl.lit(str(self.rng.choice(STRANGER_NAMES))).alias("name"))

    def _write(self, period: str, region: str, bill: pl.DataFrame) -> None:
        encoding = ("gbk", "utf-8")[int(self.rng.integers(2))]
        fmt = FileFormat(encoding, crlf=bool(self.rng.random() < 0.3))
        n = bill.height
        spellings = {t: INSURANCE_TYPES[t] for t in INSURANCE_TYPES}
        type_text = [spellings[t][int(i) % len(spellings[t])] for t, i in
                     zip(bill["insurance_type"].to_list(), self.rng.integers(0, 12, n), strict=True)]
        region_text = region_spellings(region)
        table = bill.select(
            sp.month_texts(self.rng, n, period).alias("period"),
            sp.id_numbers(pl.col("id_number"), sp.pick(self.rng, n, sp.ID_WEIGHTS)).alias("id_number"),
            "name",
            pl.Series(np.array(region_text)[self.rng.integers(0, len(region_text), n)]).alias("region"),
            "employer",
            pl.Series(type_text, dtype=pl.String).alias("insurance_type"),
            *[sp.amounts(pl.col(c), sp.pick(self.rng, n, sp.AMOUNT_WEIGHTS), fmt.yuan_sign).alias(c)
              for c in ("base", "employer_amount", "employee_amount")],
        )
        header = [self._alias(column) for column in COLUMNS]
        name = f"{LABEL}_{region}_{period.replace('-', '')}.csv"
        write_extract(self.out / name, header, table, fmt, [], AMOUNT_COLUMNS)
        self.manifest["files"][name] = n
        self.manifest["kinds"][name] = "bill"
        self.manifest["encodings"][name] = encoding

    def _alias(self, column: str) -> str:
        spec = next(c for c in KINDS["bill"].columns if c.name == column)
        return spec.aliases[int(self.rng.integers(len(spec.aliases)))]


def _differences(ledger: pl.DataFrame, bill: pl.DataFrame) -> list[tuple[str, str, str]]:
    """SPEC §5 BILL_MISMATCH over the two frames: per (id_number, type, region), either side 1.00 or more apart."""
    key = ["id_number", "insurance_type", "region"]
    sums = [pl.col("employer_amount").sum(), pl.col("employee_amount").sum()]
    joined = ledger.group_by(key).agg(sums).join(bill.group_by(key).agg(sums), on=key, how="full", coalesce=True,
                                                 suffix="_billed").fill_null(0)
    differing = joined.filter(((pl.col("employer_amount") - pl.col("employer_amount_billed")).abs() >= 100)
                              | ((pl.col("employee_amount") - pl.col("employee_amount_billed")).abs() >= 100))
    return [tuple(row) for row in differing.select(key).sort(key).iter_rows()]
