"""Match the agency's 情况说明 rows to warnings: a long enough explanation marks a warning 已说明."""

from __future__ import annotations

import re
from dataclasses import replace

from ..findings import ERROR, WARNING, Finding, finding
from ..layout import a1, layout, note_code, parse_a1
from ..submission import Note, Submission
from . import marked_cells
from .text import text_chars

_A1 = re.compile(r"^[A-Za-z]{1,3}[0-9]{1,7}$")


def parse_note_cell(typed: str) -> tuple[str | None, str | None]:
    """What a clerk typed as the cell (D6, $d$6, 三、依申请公开!D6, 'x'!D6) → (sheet or None, A1 or None)."""
    text = "".join(typed.split()).replace("！", "!").replace("$", "")
    if not text:
        return None, None
    sheet, _, ref = text.rpartition("!")
    sheet = sheet.strip("'‘’") or None
    if not _A1.match(ref):
        return sheet, ref.upper()  # not an A1 address: kept, so it matches nothing and is reported
    return sheet, a1(*parse_a1(ref))


Marked = frozenset[tuple[str | None, str | None]]  # the (sheet, A1) cells the feedback marks for a finding


def _marked(f: Finding, submission: Submission) -> Marked:
    spec = submission.spec
    places = layout(spec).places
    codes = marked_cells(f, spec, submission.blanks) if f.code else []
    return frozenset([(f.sheet, f.cell)] + [(places[c].sheet, places[c].a1) for c in codes if c in places])


def _matches(note_rule: str, sheet: str | None, cell: str | None, f: Finding, marked: Marked) -> bool:
    if note_rule and f.rule_id.upper() != note_rule:
        return False
    if cell:
        return any(a == cell and (not sheet or s == sheet) for s, a in marked)
    return not sheet or f.sheet == sheet


def _label(note: Note, ids: dict[str, str]) -> str:
    """The row's target as a clerk reads it: rule id as the catalogue spells it, then the cell typed."""
    rule = note.rule.strip()
    return " ".join(x for x in (ids.get(rule.upper(), rule), note.cell.strip()) if x)


def apply(submission: Submission, findings: list[Finding]) -> list[Finding]:
    """Return findings with explained warnings marked, plus notices about the 情况说明 rows themselves.

    A row names a rule id and optionally a cell, any cell the feedback marks for the warning (a total's
    parts, every blank cell of a blank table); it explains every warning it names when its text
    has at least `spec.notes.min_chars` characters. Severity never changes: an explained warning
    stays a warning (shown as 已说明). Errors cannot be explained. Rows without explanation text
    (e.g. rows the feedback workbook prefilled and the clerk left alone) are ignored.
    """
    spec = submission.spec
    places = layout(spec).places
    ids = {rule_id.upper(): rule_id for rule_id in spec.rules}
    out = list(findings)
    marked = [_marked(f, submission) if f.severity in (ERROR, WARNING) else frozenset() for f in out]
    notices: list[Finding] = []
    for note in submission.notes:
        rule_id = note.rule.strip().upper()
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
            error = any(f.severity == ERROR and _matches(rule_id, sheet, cell, f, marked[i]) for i, f in enumerate(out))
            rule = "explanation-for-error" if error else "explanation-unmatched"
            notices.append(finding(spec, rule, found=_label(note, ids), **at_rule))
            continue
        if text_chars(note.text) < spec.notes.min_chars:
            notices.append(
                finding(
                    spec,
                    "explanation-short",
                    sheet=text_place.sheet,
                    cell=text_place.a1,
                    code=note_code(note.index, "text"),
                    found=_label(note, ids),
                    expected=spec.notes.min_chars,
                )
            )
            continue
        for i in targets:
            if not out[i].explained:
                out[i] = replace(out[i], explanation=note.text.strip())
    return out + notices
