"""Build Submission objects directly (no workbook): the fast way to exercise every rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processor.spec import edition_for_year, get_spec
from processor.submission import Note, Number, Submission, recompute_totals

TEXTS = {
    "info.agency": "测试市测试局",
    "info.filler": "张三",
    "info.phone": "0453-3921234",
    "text.s1": "本年度主动公开政府信息 12 条，收到政府信息公开申请 3 件，均已按期办结。",
    "text.s5": "信息公开栏目更新不够及时。下一步将建立月度更新台账，专人负责。",
    "text.s6": "本年度未收取信息处理费。",
}


def submission(
    edition: str = "2019",
    year: int = 2019,
    values: Mapping[str, Number] | None = None,
    *,
    shown: Mapping[str, Number | None] | None = None,
    texts: Mapping[str, str] | None = None,
    notes: list[tuple[str, str, str]] | None = None,
    agency: str = "测试市测试局",
    **kw: Any,
) -> Submission:
    """A submission whose inputs are 0 unless given; totals recomputed and shown as computed unless `shown` says otherwise.

    `notes` are 情况说明 rows as (rule, cell, text), numbered from 1.
    """
    spec = get_spec(edition)
    inputs = {code: 0 for code, cell in spec.cells.items() if not cell.is_total}
    inputs.update(values or {})
    full = recompute_totals(spec, inputs)
    shown_totals: dict[str, Number | None] = {c: full[c] for c, cell in spec.cells.items() if cell.is_total}
    shown_totals.update(shown or {})
    return Submission(
        edition=edition,
        year=year,
        agency=agency,
        values=full,
        shown_totals=shown_totals,
        texts={**TEXTS, "info.agency": agency, **(texts or {})},
        notes=[Note(i, r, c, t) for i, (r, c, t) in enumerate(notes or [], start=1)],
        **kw,
    )


def zeros(edition: str | None = None, year: int = 2025) -> dict[str, int]:
    """Every input cell of an edition (or of the year's edition) set to 0: a complete, quiet report."""
    spec = get_spec(edition) if edition else edition_for_year(year)
    return {code: 0 for code, cell in spec.cells.items() if not cell.is_total}
