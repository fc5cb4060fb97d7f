"""Rule kind `total` (E2/E3/E4): a total the workbook shows must equal the sum of its parts."""

from __future__ import annotations

from functools import cache

from ..findings import Finding
from ..spec import Cell, Rule, Spec
from ..submission import Number, input_cells
from . import Context, column_words, compact_cells, row_words

TEXT_PARTS = "total-text-parts"  # (a notice) the shown total differs only by the numbers kept as text


def _displayed(ctx: Context, code: str) -> Number:
    """What the workbook shows in a cell: the shown total for a total cell, else the value read."""
    shown = ctx.submission.shown_totals.get(code) if ctx.spec.cells[code].is_total else None
    return ctx.values[code] if shown is None else shown


def check(rule: Rule, ctx: Context) -> list[Finding]:
    """One finding per total cell checked by `rule` whose shown value differs from its parts' sum.

    Not findings: totals the workbook did not show (they are recomputed anyway), and totals that
    add up their displayed parts correctly but inherit a wrong part total (e.g. the corner cell
    of 三 summing a typed-over （七）总计): the wrong part has its own finding. A total that differs
    only by parts typed as text ("10 ", "５"), which the sheet's SUM skipped and the reader read as
    meant, is a notice (TEXT_PARTS) naming those parts, not an error at a formula cell nobody typed in.
    """
    places = ctx.layout.places
    cells = ctx.spec.cells
    findings = []
    for code, cell in _checked_by(ctx.spec, rule.id):
        shown = ctx.submission.shown_totals.get(code)
        expected = ctx.values[code]
        if shown is None or shown == expected:
            continue
        if _short_by_text(ctx, code):  # the sheet's own SUM skipped numbers kept as text
            if any(_short_by_text(ctx, p) for p in cell.parts):
                continue  # (a part total says so already: the corner of 三 adds up column totals)
            texts = sorted(ctx.submission.text_numbers & input_cells(ctx.spec, code))
            findings.append(
                ctx.at(
                    ctx.spec.rule(TEXT_PARTS),
                    code,
                    expected=expected,
                    found=shown,
                    row=row_words(cell.row),
                    column=column_words(cell.table, cell.column),
                    texts=compact_cells([places[p].a1 for p in texts]),
                )
            )
            continue
        inherited = any(cells[p].is_total and _displayed(ctx, p) != ctx.values[p] for p in cell.parts)
        if inherited and shown == sum((_displayed(ctx, p) for p in cell.parts), start=0):
            continue
        findings.append(
            ctx.at(
                rule,
                code,
                expected=expected,
                found=shown,
                row=row_words(cell.row),
                column=column_words(cell.table, cell.column),
                parts=compact_cells([places[p].a1 for p in cell.parts]),
            )
        )
    return findings


def _short_by_text(ctx: Context, code: str) -> bool:
    """A total the workbook shows short by exactly its parts kept as text (it has a TEXT_PARTS notice)."""
    shown = ctx.submission.shown_totals.get(code) if ctx.spec.cells[code].is_total else None
    return shown is not None and shown != ctx.values[code] and shown == ctx.saved_values[code]


@cache
def _checked_by(spec: Spec, rule_id: str) -> tuple[tuple[str, Cell], ...]:
    """The total cells a rule checks, in spec order."""
    return tuple((code, cell) for code, cell in spec.cells.items() if cell.rule == rule_id and cell.is_total)
