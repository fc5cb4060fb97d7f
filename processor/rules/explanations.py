"""Match the agency's 情况说明 rows to warnings: a long enough explanation marks a warning 已说明."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from ..findings import ERROR, WARNING, Finding, finding
from ..layout import a1, layout, note_code, parse_a1
from ..submission import Note, Submission
from . import marked_cells
from .text import text_chars

_A1 = re.compile(r"^[A-Za-z]{1,3}[0-9]{1,7}$")
# a sheet name (optional) and an A1 address at the end, with what clerks put around it: 三、依申请公开 D7,
# 三、依申请公开：D7, 'x'!$D$7, D7单元格, 单元格D7, 第D7格
_CELL = re.compile(
    r"^(?P<sheet>.*?)[\s!:：,，]*(?:单元格|第)?\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>[0-9]{1,7})(?:单元格|格)?$"
)
_RULE_HEAD = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)")


def parse_note_cell(typed: str) -> tuple[str | None, str | None]:
    """What a clerk typed as the cell (D6, $d$6, Ｄ６, 三、依申请公开!D6, 'x'!D6, 三、依申请公开 D6, D6单元格)
    → (sheet or None, A1 or None)."""
    text = unicodedata.normalize("NFKC", typed).strip()
    if not text:
        return None, None
    m = _CELL.match(text)
    if m is None:
        sheet, _, ref = "".join(text.split()).rpartition("!")
        return sheet.strip("'‘’") or None, ref.upper()  # not an address: kept, so it matches nothing and is reported
    sheet = m["sheet"].strip().strip("'‘’").strip() or None
    return sheet, a1(*parse_a1(m["col"] + m["row"]))


def parse_note_rule(typed: str, ids: dict[str, str]) -> str:
    """The rule id a clerk typed (I1, i1, Ｉ１, or the feedback's 规则 column copied: "I1 本年“上年结转”…"),
    upper-cased; as typed (upper-cased) when it names no rule, so that it is reported."""
    text = unicodedata.normalize("NFKC", typed).strip().upper()
    if text in ids or not text:
        return text
    head = _RULE_HEAD.match(text)
    return head[1] if head and head[1] in ids else text


Marked = frozenset[tuple[str | None, str | None]]  # the (sheet, A1) cells the feedback marks for a finding


def _marked(f: Finding, submission: Submission) -> Marked:
    spec = submission.spec
    places = layout(spec).places
    codes = marked_cells(f, spec, submission.blanks) if f.code else []
    return frozenset([(f.sheet, f.cell)] + [(places[c].sheet, places[c].a1) for c in codes if c in places])


def _same_sheet(typed: str, sheet: str | None) -> bool:
    return "".join(unicodedata.normalize("NFKC", sheet or "").split()) == "".join(typed.split())


def _matches(note_rule: str, sheet: str | None, cell: str | None, f: Finding, marked: Marked) -> bool:
    if note_rule and f.rule_id.upper() != note_rule:
        return False
    if cell:
        return any(a == cell and (not sheet or _same_sheet(sheet, s)) for s, a in marked)
    return not sheet or _same_sheet(sheet, f.sheet)


def _label(note: Note, rule_id: str, ids: dict[str, str]) -> str:
    """The row's target as a clerk reads it: rule id as the catalogue spells it, then the cell typed."""
    return " ".join(x for x in (ids.get(rule_id, note.rule.strip()), note.cell.strip()) if x)


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
    ids = {rule_id.upper(): rule_id for rule_id in spec.rules}
    out = list(findings)
    marked = [_marked(f, submission) if f.severity in (ERROR, WARNING) else frozenset() for f in out]
    notices: list[Finding] = []
    for note in submission.notes:
        rule_id = parse_note_rule(note.rule, ids)
        sheet, cell = parse_note_cell(note.cell)
        if not note.text.strip():
            continue
        text_place = places[note_code(note.index, "text")]
        rule_place = places[note_code(note.index, "rule")]
        at_rule = {"sheet": rule_place.sheet, "cell": rule_place.a1, "code": note_code(note.index, "rule")}
        if not rule_id and not cell:
            notices.append(finding(spec, "explanation-incomplete", **at_rule))
            continue
        targets = [
            i for i, f in enumerate(out) if f.severity == WARNING and _matches(rule_id, sheet, cell, f, marked[i])
        ]
        if not targets:
            label = _label(note, rule_id, ids)
            error = any(f.severity == ERROR and _matches(rule_id, sheet, cell, f, marked[i]) for i, f in enumerate(out))
            elsewhere = [f for f in out if f.severity == WARNING and rule_id and f.rule_id.upper() == rule_id]
            rule = spec.rules.get(ids.get(rule_id, ""))
            if error:
                notices.append(finding(spec, "explanation-for-error", found=label, **at_rule))
            elif elsewhere:
                cells = "、".join(dict.fromkeys(f.location for f in elsewhere if f.location))
                notices.append(finding(spec, "explanation-wrong-cell", found=label, expected=cells, **at_rule))
            elif last_year or rule is None or rule.kind not in CROSS_YEAR_KINDS:
                notices.append(finding(spec, "explanation-unmatched", found=label, **at_rule))
            continue
        if text_chars(note.text) < spec.notes.min_chars:
            notices.append(
                finding(
                    spec,
                    "explanation-short",
                    sheet=text_place.sheet,
                    cell=text_place.a1,
                    code=note_code(note.index, "text"),
                    found=_label(note, rule_id, ids),
                    expected=spec.notes.min_chars,
                )
            )
            continue
        for i in targets:
            if not out[i].explained:
                out[i] = replace(out[i], explanation=note.text.strip())
    return out + notices
