"""Value normalisation of SPEC §2, vectorised over whole columns (polars expressions).

Each parser returns the normalised text (or typed value) and an error code per row; the staging step
turns the first error of a row into its reject reason. Helpers that need Python (region names) run once
per distinct value, never per row.
"""

from __future__ import annotations

import polars as pl

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, to their half-width forms.
_FULL = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000", "\uffe5"]
_HALF = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" ", "¥"]

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

MISSING_FIELD, BAD_MONTH, BAD_DATE, BAD_AMOUNT = "MISSING_FIELD", "BAD_MONTH", "BAD_DATE", "BAD_AMOUNT"
NEGATIVE_AMOUNT, UNKNOWN_VALUE, DUPLICATE_ROW, MALFORMED_ROW = (
    "NEGATIVE_AMOUNT", "UNKNOWN_VALUE", "DUPLICATE_ROW", "MALFORMED_ROW",
)
NOT_DATA = "NOT_DATA"  # a totals, sample or instruction row (SPEC §2 v3): skipped and counted, not a reject
# A row with several problems is rejected for the first of these, in this order.
REASON_ORDER = (NOT_DATA, DUPLICATE_ROW, MALFORMED_ROW, MISSING_FIELD, BAD_MONTH, BAD_DATE, BAD_AMOUNT, NEGATIVE_AMOUNT,
                UNKNOWN_VALUE)


def halfwidth(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(_FULL, _HALF)


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def parse_month(text: pl.Expr) -> pl.Expr:
    """``2024-03 2024/03 2024/3 202403 2024.3 2024年3月 2024年03月`` -> ``2024-03``; else null."""
    s = halfwidth(text).str.replace_all(r"\s+", "")
    patterns = (
        r"^(\d{4})[-/.年](\d{1,2})月?$",
        r"^(\d{4})(\d{2})$",
        r"^(\d{4})-(\d{1,2})-\d{1,2}$",  # a date cell typed into a month column
    )
    year = pl.coalesce([s.str.extract(p, 1) for p in patterns]).cast(pl.Int32, strict=False)
    month = pl.coalesce([s.str.extract(p, 2) for p in patterns]).cast(pl.Int32, strict=False)
    ok = year.is_between(1900, 2200) & month.is_between(1, 12)
    as_month = pl.when(ok).then(pl.format("{}-{}", year.cast(pl.String), month.cast(pl.String).str.zfill(2)))
    # SPEC §2 v3: a date in a month column (2024/3/31, 2024年3月31日, 20240331) -> its month. An Excel date cell
    # reads as 2024-03-31; a bare 5-digit number is a mistyped month (20243), not a serial.
    dated = halfwidth(text).str.strip_chars().str.contains(r"^[0-9]{4}(?:[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?(?:[ T].*)?|[0-9]{4})$")
    return pl.coalesce(as_month, pl.when(dated).then(parse_date(text).dt.strftime("%Y-%m")))


def parse_date(text: pl.Expr) -> pl.Expr:
    """``2024-03-05 2024/3/5 2024.3.5 20240305 2024年3月5日``, Excel serials -> DATE; else null."""
    s = halfwidth(text).str.replace_all(r"\s+", " ").str.strip_chars()
    patterns = (
        r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$",
        r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$",
        r"^(\d{4})(\d{2})(\d{2})$",
    )
    year = pl.coalesce([s.str.extract(p, 1) for p in patterns])
    month = pl.coalesce([s.str.extract(p, 2) for p in patterns])
    day = pl.coalesce([s.str.extract(p, 3) for p in patterns])
    iso = pl.format("{}-{}-{}", year, month.str.zfill(2), day.str.zfill(2))
    calendar = iso.str.to_date("%Y-%m-%d", strict=False)
    serial = s.str.extract(r"^(\d{5})(?:\.0+)?$", 1).cast(pl.Int64, strict=False)
    from_serial = pl.lit(19000101).cast(pl.String).str.to_date("%Y%m%d") + pl.duration(days=serial - 2)
    value = pl.coalesce([calendar, pl.when(serial.is_not_null()).then(from_serial)])
    return pl.when(value.dt.year().is_between(1900, 2200)).then(value)


_CURRENCY_MARKS = [" ", "\t", "¥", "元", "RMB", "CNY"]


def clean_amount(text: pl.Expr) -> pl.Expr:
    """Amount text with currency marks, spaces and full-width digits removed (not yet validated)."""
    return halfwidth(text).str.replace_many(_CURRENCY_MARKS, [""] * len(_CURRENCY_MARKS))


# Thousands separators only in groups of three; at most 12 digits before the point (DECIMAL(14,2)).
# ASCII digits only ([0-9], not \d, which is any script's): DuckDB cannot cast an Arabic-Indic or Thai digit,
# and one such cell must be that row's BAD_AMOUNT, not a failed file (issue 30.5).
AMOUNT_SHAPE = r"^-?(?:[0-9]{1,3}(?:,[0-9]{3}){1,3}|[0-9]{1,12})(?:\.[0-9]+)?$"


# Amount text parse_amount returns as it is: the way nearly every cell is written. Eleven digits at most, so the
# rounding past DECIMAL(14,2) cannot arise.
PLAIN_AMOUNT = r"^-?[0-9]{1,11}(?:\.[0-9]+)?$"


def parse_amount(text: pl.Expr) -> pl.Expr:
    """``10000 10,000.00 ￥10000 ¥10,000 10000元 １２,０００`` -> plain decimal text; else null.

    The text is cast to DECIMAL(14,2) in DuckDB, which rounds half-up; polars would round half-even.
    """
    s = clean_amount(text)
    plain = s.str.replace_all(",", "", literal=True)
    # 999999999999.995 and up round to 13 digits: past DECIMAL(14,2), one row's BAD_AMOUNT, not a failed file
    rounds_past = (plain.str.extract(r"^-?(\d+)", 1) == "999999999999") & (
        (plain.str.extract(r"\.(\d+)$", 1).fill_null("") + "000").str.slice(0, 3) >= "995")
    return pl.when(s.str.contains(AMOUNT_SHAPE) & ~rounds_past).then(plain)


def is_negative(amount_text: pl.Expr) -> pl.Expr:
    return amount_text.str.starts_with("-") & amount_text.str.contains(r"[1-9]")


def parse_count(text: pl.Expr) -> pl.Expr:
    s = halfwidth(text).str.strip_chars()
    return s.str.extract(r"^([0-9]{1,6})(?:\.0+)?$", 1).cast(pl.Int32, strict=False)


def parse_days(text: pl.Expr) -> pl.Expr:
    s = halfwidth(text).str.strip_chars()
    return pl.when(s.str.contains(r"^[0-9]{1,3}(?:\.[0-9]{1,2})?$")).then(s)


# Characters HR's tools leave around an ID number: every kind of space (after halfwidth, U+3000 is a
# space), zero-width characters and byte-order marks, and Excel's leading apostrophe (its text marker).
_ID_NOISE = r"[\s\u00a0\u200b\u200c\u200d\u2060\ufeff]"
_INVISIBLE = r"[\u200b\u200c\u200d\u2060\ufeff]"


# An ID number clean_id_number returns as it is: 18 ASCII characters, nothing around them.
PLAIN_ID_NUMBER = r"^[0-9]{17}[0-9X]$"


def clean_id_number(text: pl.Expr) -> pl.Expr:
    """Spaces and zero-width characters removed, a leading apostrophe dropped, full-width to half-width,
    ``x`` -> ``X`` (SPEC §2)."""
    s = halfwidth(text).str.replace_all(_ID_NOISE, "")
    return s.str.replace(r"^['\u2018\u2019]+", "").str.to_uppercase()


def normalise_org_name(text: pl.Expr) -> pl.Expr:
    """Employer and entity names: trimmed, full-width parentheses and spaces to half-width, so that
    ``星城智造（长沙）有限公司`` and ``星城智造(长沙)有限公司`` are one employer (SPEC §2)."""
    return text.str.replace_many(["（", "）", "\u3000"], ["(", ")", " "]).str.strip_chars()


def id15_to_18(cleaned: pl.Expr) -> pl.Expr:
    """A 15-digit number -> 18 digits (``19`` before the birth year, then the check character)."""
    body = cleaned.str.slice(0, 6) + pl.lit("19") + cleaned.str.slice(6, 9)
    return body + id_check_char(body)


def first_generation_id(text: pl.Expr, cleaned: pl.Expr | None = None) -> pl.Expr:
    """A 15-digit first-generation number, to be converted to 18 digits: 15 digits once cleaned, and no invisible
    character in the cell. Invisible characters that stood in for digits of an 18-digit number can leave 15; that
    number converted would be someone else's valid ID, so it stays 15 digits and is reported invalid.
    ``cleaned``: ``clean_id_number(text)`` when the caller has it already."""
    cleaned = clean_id_number(text) if cleaned is None else cleaned
    return cleaned.str.contains(r"^\d{15}$") & ~text.str.contains(_INVISIBLE).fill_null(False)


def normalise_id_number(text: pl.Expr) -> pl.Expr:
    """Spaces removed, full-width to half-width, ``x`` -> ``X``; 15 digits -> 18 (GB 11643)."""
    s = clean_id_number(text)
    return pl.when(first_generation_id(text)).then(id15_to_18(s)).otherwise(s)


def id_check_char(body17: pl.Expr) -> pl.Expr:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of a 17-digit body."""
    total = pl.sum_horizontal(
        [body17.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(ID_WEIGHTS)]
    )
    return pl.lit(ID_CHECK_CHARS).str.slice((total % 11).cast(pl.Int64), 1)


# A name normalise_name returns as it is: no space of any kind, and none around it.
PLAIN_NAME = r"^\S*$"


def normalise_name(text: pl.Expr) -> pl.Expr:
    """Trimmed; spaces between CJK characters removed (``王 芳`` -> ``王芳``)."""
    s = text.str.strip_chars()
    for _ in range(2):  # twice: a match consumes the following character
        s = s.str.replace_all(r"(\p{Han})[\s\u3000]+(\p{Han})", "${1}${2}")
    return s


def map_values(text: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    key = text.str.strip_chars().str.replace_all(r"\s+", "").str.to_lowercase()
    return key.replace_strict(mapping, default=None, return_dtype=pl.String)


def map_regions(series: pl.Series, lookup: dict[str, str]) -> tuple[pl.Series, pl.Series]:
    """Normalised region and whether it is known, computed once per distinct value."""
    from warehouse.reference import normalise_region

    distinct = series.drop_nulls().unique().to_list()
    names, known = {}, {}
    for value in distinct:
        names[value], known[value] = normalise_region(value, lookup)
    region = series.replace_strict(names, default=None, return_dtype=pl.String)
    is_known = series.replace_strict(known, default=None, return_dtype=pl.Boolean)
    return region, is_known


def map_provinces(series: pl.Series) -> pl.Series:
    """The province each free-text place names (``湖南省长沙市…`` -> ``湖南``), once per distinct value."""
    from warehouse.reference import province_of

    provinces = {value: province_of(value) for value in series.drop_nulls().unique().to_list()}
    return series.replace_strict(provinces, default=None, return_dtype=pl.String)
