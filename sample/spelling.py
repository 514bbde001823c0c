"""How HR systems spell values: months, dates, amounts, ID numbers and names in the variants of SPEC §2.

Each function takes a polars expression and a per-row variant index (an expression of small integers
drawn by the caller), so a whole column is spelled in one pass. Every variant here is one the ingest
must accept; the rejects are made elsewhere, on purpose.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_FULL_WIDTH_DIGITS = [chr(0xFF10 + d) for d in range(10)]
_DIGITS = [str(d) for d in range(10)]

# Spelling variants with their weights (the first is the common one).
MONTH_FORMATS = (("%Y-%m", 0.35), ("%Y年%-m月", 0.15), ("%Y年%m月", 0.15), ("%Y%m", 0.15), ("%Y/%-m", 0.15),
                 ("%Y.%-m", 0.05))
DATE_FORMATS = (("%Y-%m-%d", 0.4), ("%Y/%-m/%-d", 0.2), ("%Y.%-m.%-d", 0.1), ("%Y%m%d", 0.15), ("%Y年%-m月%-d日", 0.15))
PLAIN, THOUSANDS, YUAN_SIGN, YUAN_SUFFIX, WHOLE, FULL_WIDTH = range(6)
AMOUNT_WEIGHTS = (0.62, 0.12, 0.1, 0.08, 0.05, 0.03)


def pick(rng: np.random.Generator, rows: int, weights) -> pl.Series:
    """A variant index per row, drawn with ``weights``."""
    p = np.asarray(weights, dtype=np.float64)
    return pl.Series(rng.choice(p.size, size=rows, p=p / p.sum()).astype(np.int8))


def choose(variants: list[pl.Expr], index: pl.Expr) -> pl.Expr:
    """Per row, the variant that ``index`` names."""
    expr = variants[0]
    for number, variant in enumerate(variants[1:], start=1):
        expr = pl.when(index == number).then(variant).otherwise(expr)
    return expr


def months(dates: pl.Expr, index: pl.Expr) -> pl.Expr:
    """A month (given as any date in it) spelled ``2024-03``, ``2024年3月``, ``202403``, ``2024/3`` ..."""
    return choose([dates.dt.strftime(f) for f, _ in MONTH_FORMATS], index)


def dates(values: pl.Expr, index: pl.Expr) -> pl.Expr:
    """A date spelled ``2024-03-05``, ``2024/3/5``, ``2024.3.5``, ``20240305`` or ``2024年3月5日``."""
    return choose([values.dt.strftime(f) for f, _ in DATE_FORMATS], index)


def full_width(text: pl.Expr) -> pl.Expr:
    return text.str.replace_many(_DIGITS, _FULL_WIDTH_DIGITS)


def amounts(cents: pl.Expr, index: pl.Expr, yuan_sign: str = "¥") -> pl.Expr:
    """Money from integer cents: ``8123.50``, ``8,123.50``, ``¥8,123.50``, ``8123.50元``, ``8123``, full width.

    ``yuan_sign`` is ``￥`` (full width) for GBK files: the half-width ``¥`` has no GBK code.
    """
    yuan = cents // 100
    fraction = (cents % 100).cast(pl.String).str.zfill(2)
    plain = pl.format("{}.{}", yuan, fraction)
    low = (yuan % 1000).cast(pl.String)
    mid = ((yuan // 1000) % 1000).cast(pl.String)
    grouped = (pl.when(yuan >= 1_000_000)
               .then(pl.format("{},{},{}", yuan // 1_000_000, mid.str.zfill(3), low.str.zfill(3)))
               .when(yuan >= 1000).then(pl.format("{},{}", yuan // 1000, low.str.zfill(3)))
               .otherwise(low))
    thousands = pl.format("{}.{}", grouped, fraction)
    whole = pl.when(cents % 100 == 0).then(yuan.cast(pl.String)).otherwise(plain)
    return choose([plain, thousands, pl.lit(yuan_sign) + thousands, plain + pl.lit("元"), whole, full_width(plain)],
                  index)


def id_numbers(ids: pl.Expr, index: pl.Expr) -> pl.Expr:
    """ID numbers as typed: mostly clean; sometimes with spaces, a lower-case ``x``, or full width."""
    spaced = pl.format("{} {} {}", ids.str.slice(0, 6), ids.str.slice(6, 8), ids.str.slice(14))
    return choose([ids, spaced, ids.str.to_lowercase(), full_width(ids)], index)


ID_WEIGHTS = (0.985, 0.006, 0.006, 0.003)


def names(values: pl.Expr, index: pl.Expr) -> pl.Expr:
    """Names, sometimes with a space typed between the characters (``王 芳``)."""
    spaced = pl.format("{} {}", values.str.slice(0, 1), values.str.slice(1))
    return choose([values, spaced], index)


NAME_WEIGHTS = (0.99, 0.01)


def text_choice(rng: np.random.Generator, rows: int, spellings: tuple[str, ...] | list[str],
                weights=None) -> pl.Series:
    """One of ``spellings`` per row."""
    values = np.array(list(spellings))
    p = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    return pl.Series(values[rng.choice(values.size, size=rows, p=p)], dtype=pl.String)


def month_texts(rng: np.random.Generator, rows: int, period: str) -> pl.Series:
    """The period of a file as its rows spell it (exports mix spellings, as the acceptance inbox does)."""
    year, month = int(period[:4]), int(period[5:])
    spellings = [f"{year}-{month:02d}", f"{year}年{month}月", f"{year}年{month:02d}月", f"{year}{month:02d}",
                 f"{year}/{month}", f"{year}.{month}"]
    return text_choice(rng, rows, spellings, [w for _, w in MONTH_FORMATS])
