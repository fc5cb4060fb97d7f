"""Rule kinds: one module per kind; the rule instances live in the spec files.

Every kind module exposes `check(rule, ctx) -> list[Finding]` (pure) and may expose
`cells(rule, finding, spec) -> list[str]`, the codes a finding is about (all operands of a
balance, for instance), so the feedback workbook can highlight every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from ..findings import Finding, make_finding
from ..layout import Layout, a1, layout, parse_a1
from ..spec import Column, Row, Rule, Spec, Table
from ..submission import Number, Submission, recompute_totals


@dataclass
class Context:
    """What a rule sees: one submission (totals recomputed), optionally last year's, and overrides."""

    submission: Submission
    previous: Submission | None = None
    text_limit: int | None = None  # overrides the text_length rules' `limit`
    values: dict[str, Number] = field(init=False)
    previous_values: dict[str, Number] = field(init=False)

    def __post_init__(self) -> None:
        # Never trust a workbook's arithmetic: totals are recomputed here whatever the caller passed.
        self.values = recompute_totals(self.spec, self.submission.values)
        prev = self.previous
        self.previous_values = recompute_totals(prev.spec, prev.values) if prev is not None else {}

    @property
    def spec(self) -> Spec:
        return self.submission.spec

    @cached_property
    def saved_values(self) -> dict[str, Number]:
        """The totals as the workbook's own formulas add up: an office suite's SUM skips a number kept as
        text, so the inputs read from text count 0 here (see Submission.text_numbers)."""
        text = self.submission.text_numbers
        if not text:
            return self.values
        return recompute_totals(self.spec, {c: 0 if c in text else v for c, v in self.submission.values.items()})

    @property
    def layout(self) -> Layout:
        return layout(self.spec)

    def last_year(self, *, same_edition: bool) -> Submission | None:
        """Last year's submission when it is really last year's (and of this edition if asked)."""
        prev, sub = self.previous, self.submission
        if prev is None or prev.year is None or sub.year is None or prev.year != sub.year - 1:
            return None
        if same_edition and prev.edition != sub.edition:
            return None
        return prev

    def at(self, rule: Rule, code: str, **kwargs: Any) -> Finding:
        """A finding of `rule` about the cell `code`: sheet and A1 come from the layout."""
        place = self.layout.places[code]
        return make_finding(rule, sheet=place.sheet, cell=place.a1, code=code, **kwargs)


CheckFn = Callable[[Rule, Context], list[Finding]]
CellsFn = Callable[[Rule, Finding, Spec], list[str]]


def column_words(table: Table, column: Column) -> str:
    """A column as a clerk names it: 自然人, or 复议后起诉·总计 where the label alone is ambiguous."""
    if column.bands and sum(c.label == column.label for c in table.columns) > 1:
        return f"{column.bands[-1]}·{column.label}"
    return column.label


def row_words(row: Row) -> str:
    """A row as a clerk names it: its label, preceded by its sub-group (（三）不予公开 1.属于国家秘密)."""
    return " ".join([*row.groups[1:], row.label]).strip()


def compact_cells(addresses: list[str]) -> str:
    """A1 addresses joined for a message, contiguous runs shortened: B12–G12 or B7–B25、B27."""
    cells = sorted({parse_a1(a) for a in addresses})
    by_row = _runs(cells, lambda rc: (rc[0], rc[1]))
    by_col = _runs(cells, lambda rc: (rc[1], rc[0]))
    runs = min(by_row, by_col, key=len)
    return "、".join(a1(*r[0]) if len(r) == 1 else f"{a1(*r[0])}–{a1(*r[-1])}" for r in runs)


def _runs(
    cells: list[tuple[int, int]], key: Callable[[tuple[int, int]], tuple[int, int]]
) -> list[list[tuple[int, int]]]:
    """Split cells into runs that are contiguous along the minor axis of `key`."""
    runs: list[list[tuple[int, int]]] = []
    for rc in sorted(cells, key=key):
        major, minor = key(rc)
        if runs and key(runs[-1][-1]) == (major, minor - 1):
            runs[-1].append(rc)
        else:
            runs.append([rc])
    return runs


@cache
def _registry() -> dict[str, tuple[CheckFn, CellsFn | None]]:
    from . import balance, cross_year, text, total

    return {
        "balance": (balance.check, balance.cells),
        "total": (total.check, None),
        "carry": (cross_year.check_carry, None),
        "stock": (cross_year.check_stock, None),
        "roll_forward": (cross_year.check_roll_forward, None),
        "text_required": (text.check_required, None),
        "text_length": (text.check_length, None),
        "text_mentions": (text.check_mentions, None),
    }


def run_rule(rule: Rule, ctx: Context) -> list[Finding]:
    """Findings of one spec rule over the context (an unknown kind is a programming error)."""
    return _registry()[rule.kind or ""][0](rule, ctx)


def cells_of(finding: Finding, spec: Spec) -> list[str]:
    """Every cell code a finding is about: its own code plus, for some kinds, all its operands."""
    rule = spec.rules.get(finding.rule_id)
    cells_fn = _registry().get(rule.kind or "", (None, None))[1] if rule else None
    codes = cells_fn(rule, finding, spec) if cells_fn and rule else []
    own = [finding.code] if finding.code else []
    return list(dict.fromkeys(own + codes))


BLANK_RULES = ("value-blank", "table-blank")  # about a table's blank cells (the finding's code: the first)


def marked_cells(finding: Finding, spec: Spec, blanks: Collection[str]) -> list[str]:
    """The cell codes the feedback marks for a finding: `cells_of`, and every blank cell of a blank table's.

    A 情况说明 row that names any of them explains the finding: the clerk names a cell they saw marked.
    """
    codes = cells_of(finding, spec)
    if finding.rule_id in BLANK_RULES and finding.code in spec.cells:
        table = spec.cells[finding.code].table
        codes += sorted(c for c in blanks if c != finding.code and spec.cells[c].table is table)
    return codes
