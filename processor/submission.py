"""The neutral representation of one agency's report: values keyed by spec cell code, nothing of Excel."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from .spec import Spec, get_spec

Number = int | Decimal


@dataclass(frozen=True)
class Note:
    """One row of the 情况说明 sheet: an explanation the agency wrote for a warning."""

    index: int  # 1-based row of the notes table
    rule: str  # rule id as typed (normalised to upper case, e.g. I1)
    cell: str  # cell as typed, may be empty (e.g. D6 or 三、依申请公开!D6)
    text: str


@dataclass
class Submission:
    """What one workbook says, after reading and normalising; the input of every rule.

    `values` holds every number of the edition's tables: inputs as read (a blank input is 0 and
    listed in `blanks`) and totals recomputed from their parts. `shown_totals` holds what the
    workbook itself displayed in its total cells (cached formula results or typed numbers), so the
    total rules can compare; None where the workbook had no value. `text_numbers`: the inputs read
    from text, which the workbook's own SUM formulas did not add (see rules/total.py).
    """

    edition: str
    year: int | None = None
    agency: str | None = None
    values: dict[str, Number] = field(default_factory=dict)
    blanks: set[str] = field(default_factory=set)
    # inputs whose number was read from text ("10 ", "５", "2件"): an office suite's own sums leave them out
    text_numbers: set[str] = field(default_factory=set)
    shown_totals: dict[str, Number | None] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # info.* and text.* cells, stripped
    notes: list[Note] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # the template's hidden metadata as found
    file: str | None = None  # file name as received
    kind: str = "report"  # report | rollup (a county's consolidated summary)
    units: int = 1  # units a roll-up covers
    covers: list[str] | None = None  # … their names, as its _meta says them (None: not said)
    # cells found elsewhere than the template has them (rows or columns added or deleted): "sheet!A1" of
    # the template → A1 in the file; findings say both (check.where_moved)
    moved: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> Spec:
        return get_spec(self.edition)

    def moved_by_sheet(self) -> dict[str, dict[str, str]]:
        """`moved` by sheet: the template's A1 → the A1 in the file."""
        out: dict[str, dict[str, str]] = {}
        for ref, there in self.moved.items():
            sheet, _, cell = ref.partition("!")
            out.setdefault(sheet, {})[cell] = there
        return out

    def value(self, code: str) -> Number:
        return self.values.get(code, 0)


def recompute_totals(spec: Spec, values: dict[str, Number]) -> dict[str, Number]:
    """Return values with every total cell recomputed from its parts (never trust a workbook's sums)."""
    inputs, codes, order = _totals(spec)
    if values.keys() <= codes:  # the common case (every input given), in a precomputed order
        out = {code: v for code, v in values.items() if code in inputs}
        if out.keys() == inputs:
            for code, parts in order:
                out[code] = sum([out[p] for p in parts], start=0)
            return out
    cells = spec.cells
    out = {code: v for code, v in values.items() if not cells[code].is_total} if values else {}

    def total(code: str) -> Number:
        if code in out:
            return out[code]
        cell = cells[code]
        if not cell.is_total:
            out[code] = 0
            return 0
        value: Number = sum((total(p) for p in cell.parts), start=0)
        out[code] = value
        return value

    for code, cell in cells.items():
        if cell.is_total:
            total(code)
        else:
            out.setdefault(code, 0)
    return out


@cache
def _totals(spec: Spec) -> tuple[frozenset[str], frozenset[str], tuple[tuple[str, tuple[str, ...]], ...]]:
    """(input codes, every code, totals with their parts in the order recompute_totals computes them)."""
    cells = spec.cells
    order: dict[str, tuple[str, ...]] = {}

    def visit(code: str) -> None:
        cell = cells[code]
        if cell.is_total and code not in order:
            for p in cell.parts:
                visit(p)
            order[code] = cell.parts

    for code in cells:
        visit(code)
    inputs = frozenset(code for code, cell in cells.items() if not cell.is_total)
    return inputs, frozenset(cells), tuple(order.items())


@cache
def input_cells(spec: Spec, code: str) -> frozenset[str]:
    """The input cells a cell adds up: itself for an input, every input under it for a total."""
    cell = spec.cells.get(code)
    if cell is None or not cell.is_total:
        return frozenset((code,))
    return frozenset().union(*(input_cells(spec, p) for p in cell.parts))
