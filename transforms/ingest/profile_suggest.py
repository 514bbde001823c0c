"""A draft import profile (导入方案) for a file no kind recognises (SPEC §2 v3 ``shebao profile suggest``).

A person maps a source's columns once; this drafts that mapping from the closest aliases, for them to check:
the kind whose columns the header row comes closest to, each column matched by an alias or, failing that, by
the header most like one of its aliases, and the required columns nothing matched, left as comments.
"""

from __future__ import annotations

import difflib
import functools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from transforms.ingest import kinds as k
from transforms.ingest.readers import CELLS, FOREIGN, MAX_HEADER_SEARCH, FileContent, read_extract

# The identifying columns of each kind (``kinds.identifies``), as groups of which one is needed.
IDENTIFYING: dict[str, list[tuple[str, ...]]] = {
    "payroll": [("gross_pay",), ("name", "id_number")],
    "bill": [("id_number", "name"), ("employer_amount", "employee_amount")],
    "insurance": [("id_number",), ("status", "base")],
    "attendance": [("name",), ("hire_date", "attendance_days")],
    "transfers": [("transfer_id", "from_region")],
}
_LIKE = 0.6  # how alike a header and an alias must be (difflib ratio) to be suggested


@dataclass
class Draft:
    kind: k.Kind
    row_index: int
    headers: list[str]
    exact: dict[str, str]  # column -> header, by alias
    guessed: dict[str, str]  # column -> header, by likeness (to check)

    @property
    def score(self) -> float:
        return len(self.exact) + 0.5 * len(self.guessed)

    def lacking(self) -> list[str]:
        """The identifying groups with no column found, as the columns' first aliases."""
        found = set(self.exact) | set(self.guessed)
        names = {c.name: c.aliases[0] for c in self.kind.columns}
        return ["或".join(names[c] for c in group if c in names) for group in IDENTIFYING[self.kind.name]
                if not found & set(group)]


def _alike(header: str, aliases: tuple[str, ...]) -> float:
    """How alike a header is to the closest of a column's aliases: 0.8 for one inside the other, difflib's ratio,
    and at least _LIKE for a shared word of two characters (员工代码 ~ 员工编号)."""
    key = k.clean_header(header)
    if not key:
        return 0.0
    characters, pairs = Counter(key), _pairs(key)
    best = 0.0
    for alias in aliases:
        if alias in key or key in alias:
            best = max(best, 0.8 if len(key) >= 2 else 0.0)
        lowered, alias_characters, alias_pairs = _alias(alias)
        # difflib's ratio is never above the share of characters the two have in common (its quick_ratio, counted
        # here from each side's character counts, an alias's kept once): where that cannot raise ``best``, skip it
        common = sum((characters & alias_characters).values())
        if 2.0 * common / (len(key) + len(lowered)) > best:
            best = max(best, difflib.SequenceMatcher(None, key, lowered).ratio())
        if best < _LIKE and pairs & alias_pairs:  # a common substring of two characters or more
            best = _LIKE
    return best


def _pairs(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1))


@functools.cache
def _alias(alias: str) -> tuple[str, Counter[str], frozenset[str]]:
    lowered = alias.lower()
    return lowered, Counter(lowered), _pairs(lowered)


def draft_for_row(kind: k.Kind, row_index: int, cells: list) -> Draft:
    headers = [str(c).strip() if c is not None else "" for c in cells]
    keys = [k.clean_header(h) for h in headers]
    positions = k.column_positions(kind, keys)
    exact = {column: headers[index] for column, index in positions.items()}
    used = set(positions.values())
    guessed: dict[str, str] = {}
    # the most alike pairs first, so that 员工名字 goes to 姓名 before 员工编号 can take it
    pairs = sorted(((_alike(h, column.aliases), -i, column.name) for column in kind.columns if column.name not in exact
                    for i, h in enumerate(headers) if h and i not in used), reverse=True)
    for score, negative_index, name in pairs:
        if score < _LIKE:
            break
        if name not in guessed and -negative_index not in used:
            guessed[name] = headers[-negative_index]
            used.add(-negative_index)
    return Draft(kind, row_index, headers, exact, guessed)


def closest(content: FileContent) -> Draft | None:
    """The best draft over every sheet's top rows and every kind; None for a file with no header text."""
    best: Draft | None = None
    for sheet in content.sheets:
        columns = [c for c in sheet.grid.columns if c not in (CELLS, FOREIGN)]
        for row_index, row in enumerate(sheet.grid.head(MAX_HEADER_SEARCH).select(columns).iter_rows()):
            if sum(1 for c in row if c is not None and str(c).strip()) < 2:
                continue
            for name in k.PRECEDENCE:
                draft = draft_for_row(k.KINDS[name], row_index, list(row))
                if draft.score and (best is None or draft.score > best.score):
                    best = draft
    return best


def closest_kind(content: FileContent) -> str | None:
    """One sentence for an unrecognised file: the closest kind and the identifying columns it lacks."""
    draft = closest(content)
    if draft is None:
        return None
    lacking = draft.lacking()
    names = {c.name: c.aliases[0] for c in draft.kind.columns}
    guesses = "、".join(f"{names[c]}可能是“{header}”" for c, header in draft.guessed.items())
    said = f"最接近{draft.kind.label}"
    if lacking:
        said += f"，缺少可识别的列：{'、'.join(lacking)}"
    if guesses:
        said += f"（{guesses}）"
    return said + "；请用导入方案 [source.columns] 指明（shebao profile suggest 可生成草稿）"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def suggest(path: Path) -> str:
    """The draft profile for ``path``, as TOML text with Chinese comments."""
    content = read_extract(path, path.read_bytes())
    draft = closest(content)
    lines = [f"# 导入方案草稿：{path.name}。请逐项核对，保存为收件箱根目录的 shebao-import.toml，",
             "# 或用 --profiles 指定。标“请核对”的列是按相近的表头猜测的。", "[[source]]",
             f"match = {_quote('**/' + PurePosixPath(path.name).stem + '*')}"]
    if draft is None:
        lines += ["# 文件中没有可识别的表头行；请填写 kind 和 [source.columns]。", '# kind = "payroll"']
        return "\n".join(lines) + "\n"
    names = {c.name: c.aliases[0] for c in draft.kind.columns}
    lines += [f"kind = {_quote(draft.kind.name)}  # {draft.kind.label}", "", "[source.columns]"]
    for column in draft.kind.columns:
        if column.name in draft.exact:
            lines.append(f"{column.name} = {_quote(draft.exact[column.name])}  # {names[column.name]}")
        elif column.name in draft.guessed:
            lines.append(f"{column.name} = {_quote(draft.guessed[column.name])}  # {names[column.name]}（请核对）")
    missing = [c for c in draft.kind.required if c.name not in draft.exact and c.name not in draft.guessed]
    if missing:
        lines += ["", "[source.constants]",
                  "# 文件中没有下列必填列：若每行相同，写在这里；否则由标题行、文件名或文件夹给出（SPEC 第2节）"]
        lines += [f"# {c.name} = \"\"  # {names[c.name]}" for c in missing]
    return "\n".join(lines) + "\n"
