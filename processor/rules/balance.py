"""Rule kind `balance` (E1): per column, the sum of the left rows equals the sum of the right rows."""

from __future__ import annotations

from ..findings import Finding
from ..spec import Rule, Spec, Table, cell_code
from . import Context, column_words

# Official text (corner cell of 三): （本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）


def operands(rule: Rule, table: Table, column: str) -> list[str]:
    """Codes of every operand of the rule in one column, left rows first."""
    return [cell_code(table.code, r, column) for r in (*rule.params["left"], *rule.params["right"])]


def check(rule: Rule, ctx: Context) -> list[Finding]:
    """One finding per column whose sides differ, at the column's first operand.

    The rule cannot tell which operand is wrong, so the message names them all. Total columns are
    skipped: with recomputed totals they balance exactly when their parts do.
    """
    table = ctx.spec.table(rule.params["table"])
    places = ctx.layout.places
    findings = []
    sides_rows = {key: [table.row(r) for r in rule.params[key]] for key in ("left", "right")}
    for column in table.columns:
        if column.sum_of:
            continue
        sides = []
        for rows in sides_rows.values():
            terms = [(row.short or row.label, ctx.values[cell_code(table.code, row.code, column.code)]) for row in rows]
            sides.append((terms, sum(v for _, v in terms)))
        (left_named, left), (right_named, right) = sides
        if left == right:
            continue
        left_terms, right_terms = (
            "+".join(f"{name}({value})" for name, value in named) for named in (left_named, right_named)
        )
        codes = operands(rule, table, column.code)
        findings.append(
            ctx.at(
                rule,
                codes[0],
                expected=left,
                found=right,
                column=column_words(table, column),
                left_terms=left_terms,
                left=left,
                right_terms=right_terms,
                right=right,
                diff=abs(left - right),
                cells="、".join(places[c].a1 for c in codes),
            )
        )
    return findings


def cells(rule: Rule, finding: Finding, spec: Spec) -> list[str]:
    """All operands of the broken column (the finding sits on the first one)."""
    if not finding.code:
        return []
    table = spec.table(rule.params["table"])
    return operands(rule, table, finding.code.rsplit(".", 1)[1])
