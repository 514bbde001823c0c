"""What a file lacks, from where it is (SPEC §2 v3 "Context for what a file lacks").

Real exports leave out what is constant for them: the month is in the file name or a folder, the region and
the employer are where the file was downloaded, a 失业保险 portal has no 险种 column. A column a file lacks is
taken, in this order, from the import profile that matches the file, a title row above the header, the file
name, and the folders between the inbox and the file. Each value is text, parsed by the column's own parser
like any cell; only what no source gives makes the rows MISSING_FIELD.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from transforms.ingest import kinds as k
from warehouse.errors import InputError

PROFILE_FILE = "shebao-import.toml"

# What kind of context fills which column of each kind.
MONTH, REGION, ORG, INSURANCE = "month", "region", "org", "insurance_type"
CONTEXT_COLUMNS = {
    "payroll": {MONTH: "period", REGION: "city", ORG: "entity"},
    "attendance": {MONTH: "period", ORG: "entity"},
    "insurance": {MONTH: "period", REGION: "region", ORG: "employer", INSURANCE: "insurance_type"},
    "bill": {MONTH: "period", REGION: "region", ORG: "employer", INSURANCE: "insurance_type"},
    "transfers": {MONTH: "period"},
}
# Where each kind of context can come from, in words HR reads (the MISSING_FIELD reason and the console).
WHERE_ZH = {
    MONTH: "导入方案、标题行（如 2024年6月）、文件名（如 _202406）或所在文件夹（如 202406）",
    REGION: "导入方案、标题行或所在文件夹（地区名，如 武汉）",
    ORG: "导入方案或所在文件夹（单位名称）",
    INSURANCE: "导入方案或标题行（如 失业保险）",
}
SOURCE_ZH = {"profile": "导入方案", "title": "标题行", "file_name": "文件名", "folder": "文件夹"}


@dataclass
class Profile:
    """One ``[[source]]`` of an import profile (导入方案)."""

    match: str
    kind: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical column -> header text in the file
    constants: dict[str, str] = field(default_factory=dict)  # canonical column -> value of every row
    sums: dict[str, list[str]] = field(default_factory=dict)  # canonical column -> headers added up
    origin: str = PROFILE_FILE

    def matches(self, relative: str) -> bool:
        pattern = self.match.replace("\\", "/")
        candidates = [pattern] + ([pattern[3:]] if pattern.startswith("**/") else [])
        name = PurePosixPath(relative).name
        return any(fnmatch.fnmatchcase(relative, p) or ("/" not in p and fnmatch.fnmatchcase(name, p))
                   for p in candidates)


def load_profiles(path: Path) -> list[Profile]:
    """The ``[[source]]`` entries of a profile file; a malformed one is one sentence naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"The import profile {path} cannot be read ({exc.strerror}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"The import profile {path} is not valid TOML ({exc}); fix it or remove it.") from None
    profiles = []
    for number, source in enumerate(data.get("source", []), start=1):
        if not isinstance(source, dict) or not isinstance(source.get("match"), str):
            raise InputError(f"The import profile {path}: [[source]] number {number} needs match = \"a file-name pattern\".")
        kind = source.get("kind")
        if kind is not None and kind not in k.KINDS:
            raise InputError(f"The import profile {path}: [[source]] {source['match']!r} has kind = {kind!r}; "
                             f"use one of {', '.join(k.KINDS)}.")
        columns = {str(a): str(b) for a, b in (source.get("columns") or {}).items()}
        constants = {str(a): str(b) for a, b in (source.get("constants") or {}).items()}
        sums = {str(a): [str(h) for h in (b if isinstance(b, list) else [b])] for a, b in (source.get("sum") or {}).items()}
        known = {c.name for kind_ in k.KINDS.values() for c in kind_.columns}
        unknown = sorted((set(columns) | set(constants) | set(sums)) - known)
        if unknown:
            raise InputError(f"The import profile {path}: [[source]] {source['match']!r} names {', '.join(unknown)}, "
                             "which no kind of extract has; use the canonical column names of SPEC §2.")
        profiles.append(Profile(source["match"], kind, columns, constants, sums, origin=str(path.name)))
    return profiles


def profiles_for_inbox(inbox: Path, profiles_file: Path | None = None) -> list[Profile]:
    """``--profiles FILE`` when given, else the inbox's own ``shebao-import.toml``, else none."""
    if profiles_file is not None:
        if not Path(profiles_file).is_file():
            raise InputError(f"The import profile {profiles_file} does not exist; pass --profiles with a TOML file.")
        return load_profiles(Path(profiles_file))
    own = Path(inbox) / PROFILE_FILE
    return load_profiles(own) if own.is_file() else []


def profile_for(relative: str, profiles: list[Profile]) -> Profile | None:
    return next((p for p in profiles if p.matches(relative)), None)


# Months as file names and titles write them; a date range counts when it lies within one month.
_RANGE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-.]?(\d{2})[-.]?(\d{2})\s*[-_~至到]+\s*((?:19|20)\d{2})[-.]?(\d{2})[-.]?(\d{2})(?!\d)")
_MONTH_FORMS = (
    re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.](\d{1,2})(?![\d])"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(?:\d{2})?(?!\d)"),  # 202406 or a single date 20240615
)


def month_in(text: str) -> str | None:
    """The one month ``text`` names (``2024年6月``, ``2024-06``, ``202406``, ``20240601-20240630``); None when
    it names none, or a range over several months."""
    text = text.translate({c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)})
    ranged = _RANGE.search(text)
    if ranged:
        first, last = ranged.group(1, 2), ranged.group(4, 5)
        return _month(*first) if first == last else None
    for pattern in _MONTH_FORMS:
        for found in pattern.finditer(text):
            month = _month(found.group(1), found.group(2))
            if month:
                return month
    return None


def _month(year: str, month: str) -> str | None:
    return f"{int(year):04d}-{int(month):02d}" if 1 <= int(month) <= 12 else None


def insurance_type_in(text: str) -> str | None:
    """An insurance type a title names (``失业保险人员缴费查询`` -> 失业保险); the longer spellings only, so a
    word like 医疗费 in a title is not taken for one."""
    spellings = sorted((s for v in k.INSURANCE_TYPES.values() for s in v if len(s) >= 4), key=len, reverse=True)
    return next((s for s in spellings if s in text), None)


def region_in(text: str, lookup: dict[str, str]) -> str | None:
    """A region of the region table named in a title, the longest spelling first."""
    names = sorted((name for name in lookup if len(name) >= 2), key=len, reverse=True)
    return next((name for name in names if name in text), None)


# Title rows that say when a report was made, not what it is about.
_GENERATED = re.compile(r"生成|打印|导出|制表|下载|时间|日期")


@dataclass
class Context:
    """Per context kind, the value and where it came from (``SOURCE_ZH`` key)."""

    values: dict[str, tuple[str, str]] = field(default_factory=dict)

    def offer(self, what: str, value: str | None, source: str) -> None:
        if value and what not in self.values:
            self.values[what] = (value, source)


def gather(relative: str, titles: list[str], lookup: dict[str, str]) -> Context:
    """Context from the title rows, the file name and the folders, in that order (profile constants are
    applied per column before these, by the caller)."""
    from warehouse.reference import normalise_region

    context = Context()
    for title in titles:
        if not _GENERATED.search(title) or _RANGE.search(title):  # 统计日期：a range within one month counts
            context.offer(MONTH, month_in(title), "title")
        context.offer(INSURANCE, insurance_type_in(title), "title")
        context.offer(REGION, region_in(title, lookup), "title")
    path = PurePosixPath(relative)
    context.offer(MONTH, month_in(path.stem), "file_name")
    folders = path.parts[:-1]
    for depth in range(len(folders) - 1, -1, -1):  # the nearest folder first
        folder = folders[depth]
        if re.fullmatch(r"[\d\s年月日._~-]+", folder):  # a month, or a year or date range: never an employer
            year = folders[depth - 1] if depth else ""
            nested = re.fullmatch(r"(0?[1-9]|1[0-2])月?", folder) and re.fullmatch(r"(?:19|20)\d{2}年?", year)
            context.offer(MONTH, month_in(f"{year[:4]}-{folder.rstrip('月')}") if nested else month_in(folder), "folder")
            continue
        _, known = normalise_region(folder, lookup)
        if known:
            context.offer(REGION, folder, "folder")
        else:
            context.offer(ORG, folder, "folder")
    return context


def column_context(kind: str, context: Context) -> dict[str, tuple[str, str]]:
    """Canonical column -> (value, source) for ``kind``'s columns that context can fill."""
    return {column: context.values[what] for what, column in CONTEXT_COLUMNS.get(kind, {}).items()
            if what in context.values}


def where_from(kind: str, column: str) -> str:
    """Where a missing column could come from, in words HR reads."""
    for what, name in CONTEXT_COLUMNS.get(kind, {}).items():
        if name == column:
            return WHERE_ZH[what]
    return "导入方案（[source.columns] 或 [source.constants]）"
