"""Match the agency's 情况说明 rows to warnings: a long enough explanation marks a warning 已说明."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import cache

from ..findings import ERROR, WARNING, Finding, finding
from ..layout import a1, layout, note_code, parse_a1
from ..spec import Spec
from ..submission import Note, Submission
from . import marked_cells
from .text import said, text_chars

_A1 = re.compile(r"^[A-Za-z]{1,3}[0-9]{1,7}$")
# an A1 address at the end, with what clerks put around it: 三、依申请公开 D7, 三、依申请公开：D7, 'x'!$D$7,
# D7单元格, D7 单元格, 单元格D7, 第D7格, D7（合计）; what is before it is a sheet name or more addresses
_LAST_CELL = re.compile(
    r"(?:^|(?<=[^A-Za-z$]))(?:单元格|第)?\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>[0-9]{1,7})"
    r"\s*(?:单元格|格)?\s*(?:[（(][^（()）]*[)）])?$"
)
_SEPARATORS = " \t\n!:：,，、;；和及至~～-"  # between a sheet and an address, or between addresses
_RANGE = (":", "：", "至", "~", "～", "-")  # D7:D9
_RANGE_MAX = 200  # cells a typed range stands for at most
_RULE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def parse_note_cells(typed: str) -> tuple[str | None, tuple[str, ...]]:
    """What a clerk typed as the cell → (sheet or None, A1 addresses). D6, $d$6, Ｄ６, 三、依申请公开!D6,
    'x'!D6, 三、依申请公开 D6, D6单元格, D6（合计）; several (D6、D7) or a range (D6:D9) name each of them.
    Not an address at all: kept as typed (upper-cased), so that it matches nothing and is reported."""
    text = unicodedata.normalize("NFKC", typed).strip()
    if not text:
        return None, ()
    cells: list[str] = []
    rest, between = text, ""  # (what separated the address found last from the one after it)
    while (m := _LAST_CELL.search(rest)) is not None:
        cell = a1(*parse_a1(m["col"] + m["row"]))
        if cells and between in _RANGE:
            cells[:1] = _range(cell, cells[0])
        else:
            cells.insert(0, cell)
        head = rest[: m.start()]
        rest = head.rstrip(_SEPARATORS)
        between = head[len(rest) :].strip()
        if not rest:
            break
    if not cells:
        sheet, _, ref = "".join(text.split()).rpartition("!")
        return sheet.strip("'‘’") or None, (ref.upper(),)
    sheet = rest.strip().strip("'‘’").strip() or None
    return sheet, tuple(dict.fromkeys(cells))


def _range(first: str, last: str) -> list[str]:
    """The cells of a typed range, row by row; just its ends when it is larger than _RANGE_MAX."""
    (r1, c1), (r2, c2) = parse_a1(first), parse_a1(last)
    rows, cols = range(min(r1, r2), max(r1, r2) + 1), range(min(c1, c2), max(c1, c2) + 1)
    if len(rows) * len(cols) > _RANGE_MAX:
        return [first, last]
    return [a1(r, c) for r in rows for c in cols]


def parse_note_rule(typed: str, ids: dict[str, str]) -> str:
    """The rule id a clerk typed (I1, i1, Ｉ１, or copied from the feedback: the 规则 column's "I1 本年…" or
    its title alone, a comment's "【警告 I1】…"), upper-cased; as typed (upper-cased) when it names no rule,
    so that it is reported. `ids`: _ids, rule ids and titles."""
    text = unicodedata.normalize("NFKC", typed).strip().upper()
    if not text:
        return text
    bare = _title_key(text)  # (a rule's title as the 规则 column shows it, its quotes typed or not: 整张表未填写)
    known = next((t for t in (text, bare, *_RULE_TOKEN.findall(text[:40])) if t in ids), None)
    return ids[known].upper() if known is not None else text


Marked = frozenset[tuple[str | None, str | None]]  # the (sheet, A1) cells the feedback marks for a finding


def said_chars(text: str) -> int:
    """How many 字 an explanation says: punctuation and symbols left out (未收费。。。 is 3), and none at all
    when it repeats two characters or fewer (无无无无无无, 。。。。。。)."""
    chars = said(text)
    return len(chars) if len(set(chars)) >= 3 else 0


def _why_short(text: str, min_chars: int) -> str:
    """What said_chars left out of a text long enough as typed: said to the clerk, who counted them."""
    if text_chars(text) < min_chars:
        return ""
    return "（标点不算；翻来覆去一两个字，如“无无无无无无”，也不算说明）"


def _marked(f: Finding, submission: Submission) -> Marked:
    spec = submission.spec
    places = layout(spec).places
    codes = marked_cells(f, spec, submission.blanks) if f.code else []
    return frozenset([(f.sheet, f.cell)] + [(places[c].sheet, places[c].a1) for c in codes if c in places])


def _same_sheet(typed: str, sheet: str | None) -> bool:
    return "".join(unicodedata.normalize("NFKC", sheet or "").split()) == "".join(typed.split())


def _matches(note_rule: str, sheet: str | None, cells: tuple[str, ...], f: Finding, marked: Marked) -> bool:
    if note_rule and f.rule_id.upper() != note_rule:
        return False
    if cells and not (note_rule or sheet):  # (D6 alone: the warning at D6 of some sheet, not any marked D6)
        return f.cell in cells
    if cells:
        return any(a in cells and (not sheet or _same_sheet(sheet, s)) for s, a in marked)
    return not sheet or _same_sheet(sheet, f.sheet)


def _label(note: Note, rule_id: str, ids: dict[str, str]) -> str:
    """The row's target as a clerk reads it: rule id as the catalogue spells it, then the cell typed."""
    return " ".join(x for x in (ids.get(rule_id, note.rule.strip()), note.cell.strip()) if x)


def _title_key(text: str) -> str:
    """A rule title as compared: NFKC, upper case, without spaces, punctuation and symbols (“” typed or not)."""
    return said(unicodedata.normalize("NFKC", text).upper())


def _ids(submission: Submission) -> dict[str, str]:
    """The catalogue's rule ids by their upper case (a row's rule is compared upper-cased), and by their
    titles (spaces left out) where no two rules share one."""
    return _ids_of(submission.spec)


@cache
def _ids_of(spec: Spec) -> dict[str, str]:
    """_ids of an edition, made once (every file asks)."""
    titles: dict[str, str | None] = {}
    for rule_id, rule in spec.rules.items():
        key = _title_key(rule.title)
        titles[key] = rule_id if titles.get(key, rule_id) == rule_id else None
    return {**{k: v for k, v in titles.items() if v is not None}, **{r.upper(): r for r in spec.rules}}


Row = tuple[Note, str, str | None, tuple[str, ...]]  # a 情况说明 row and what it names: rule id, sheet, cells


def _read_rows(submission: Submission, ids: dict[str, str]) -> list[Row]:
    """Every 情况说明 row with the rule, sheet and cells it names, as `apply` and `named_by_rows` read them."""
    rows = [(n, parse_note_rule(n.rule, ids), *parse_note_cells(n.cell)) for n in submission.notes]
    if not submission.moved:
        return rows
    # rows or columns inserted: a cell as the clerk sees it in the file names its template cell too
    by_sheet = submission.moved_by_sheet()
    return [(n, rule, sheet, _both(cells, sheet, by_sheet)) for n, rule, sheet, cells in rows]


def _both(cells: tuple[str, ...], sheet: str | None, by_sheet: dict[str, dict[str, str]]) -> tuple[str, ...]:
    """Typed cells and the template cells they are in a file whose rows moved (of the sheet typed, or any)."""
    more = [
        home
        for s, moved in by_sheet.items()
        if sheet is None or _same_sheet(sheet, s)
        for home, there in moved.items()
        if there in cells
    ]
    return tuple(dict.fromkeys([*cells, *more]))


def named_by_rows(submission: Submission, findings: list[Finding]) -> set[int]:
    """The positions of the findings some 情况说明 row names, as `apply` reads the rows (with or without an
    explanation yet): the feedback prefills a row only for warnings no row names."""
    rows = [row for row in _read_rows(submission, _ids(submission)) if row[1] or row[3]]
    if not rows:
        return set()
    named = set()
    for i, f in enumerate(findings):
        marked = _marked(f, submission)
        if any(_matches(rule_id, sheet, cells, f, marked) for _, rule_id, sheet, cells in rows):
            named.add(i)
    return named


CROSS_YEAR_KINDS = ("carry", "stock", "roll_forward")  # rules that need last year's report to be checked


def apply(submission: Submission, findings: list[Finding], *, last_year: bool = True) -> list[Finding]:
    """Return findings with explained warnings marked, plus notices about the 情况说明 rows themselves.

    A row names a rule id and optionally a cell, any cell the feedback marks for the warning (a total's
    parts, every blank cell of a blank table); it explains every warning it names when its text
    has at least `spec.notes.min_chars` characters. Severity never changes: an explained warning
    stays a warning (shown as 已说明). Errors cannot be explained. Rows without explanation text
    (e.g. rows the feedback workbook prefilled and the clerk left alone) are ignored.

    A row that names a rule whose warnings are at other cells gets `explanation-wrong-cell`, naming them.
    Without last year's report (`last_year` False: `nianbao validate` of one file) the cross-year rules
    were not checked: a row about one of them is neither matched nor said to be unmatched.
    """
    spec = submission.spec
    places = layout(spec).places
    ids = _ids(submission)
    out = list(findings)
    if not any(note.text.strip() for note in submission.notes):  # (most files: nothing to match)
        return out
    marked = [_marked(f, submission) if f.severity in (ERROR, WARNING) else frozenset() for f in out]
    notices: list[Finding] = []
    for note, rule_id, sheet, cells in _read_rows(submission, ids):
        if not note.text.strip():
            continue
        text_place = places[note_code(note.index, "text")]
        rule_place = places[note_code(note.index, "rule")]
        at_rule = {"sheet": rule_place.sheet, "cell": rule_place.a1, "code": note_code(note.index, "rule")}
        if not rule_id and not cells:
            notices.append(finding(spec, "explanation-incomplete", **at_rule))
            continue
        if rule_id and rule_id not in ids:  # (全表空白, table blank: no rule of ours)
            if not cells:
                open_ids = "、".join(dict.fromkeys(f.rule_id for f in out if f.severity == WARNING and not f.explained))
                expected = f"本文件待说明的警告：{open_ids}" if open_ids else "本文件没有待说明的警告"
                notices.append(
                    finding(spec, "explanation-rule-unknown", found=note.rule.strip(), expected=expected, **at_rule)
                )
                continue
            rule_id = ""  # (the cell says which warning)
        targets = [
            i for i, f in enumerate(out) if f.severity == WARNING and _matches(rule_id, sheet, cells, f, marked[i])
        ]
        if not targets:
            label = _label(note, rule_id, ids)
            of_rule = [f for f in out if rule_id and f.rule_id.upper() == rule_id]
            error = any(f.severity == ERROR for f in of_rule) or any(
                f.severity == ERROR and _matches(rule_id, sheet, cells, f, marked[i]) for i, f in enumerate(out)
            )
            elsewhere = [f for f in of_rule if f.severity == WARNING]
            rule = spec.rules.get(ids.get(rule_id, ""))
            if error:  # (at whichever cell: an error is corrected, not explained)
                notices.append(finding(spec, "explanation-for-error", found=label, **at_rule))
            elif elsewhere:
                where = "、".join(dict.fromkeys(f.location for f in elsewhere if f.location))
                notices.append(finding(spec, "explanation-wrong-cell", found=label, expected=where, **at_rule))
            elif last_year or rule is None or rule.kind not in CROSS_YEAR_KINDS:
                notices.append(finding(spec, "explanation-unmatched", found=label, **at_rule))
            continue
        if said_chars(note.text) < spec.notes.min_chars:
            notices.append(
                finding(
                    spec,
                    "explanation-short",
                    sheet=text_place.sheet,
                    cell=text_place.a1,
                    code=note_code(note.index, "text"),
                    found=_label(note, rule_id, ids),
                    expected=spec.notes.min_chars,
                    why=_why_short(note.text, spec.notes.min_chars),
                )
            )
            continue
        for i in targets:
            if not out[i].explained:
                out[i] = replace(out[i], explanation=note.text.strip())
    return out + notices
