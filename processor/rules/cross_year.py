"""Rule kinds comparing with the agency's previous-year report: `carry` (I1), `stock` (I2), `roll_forward` (I3)."""

from __future__ import annotations

from ..findings import Finding
from ..spec import Rule, cell_code
from . import Context, column_words, row_words


def check_carry(rule: Rule, ctx: Context) -> list[Finding]:
    """I1: per column, this year's `this` row equals last year's `last` row.

    Table-3 codes are shared by the 2019 and 2021 editions, so a 2020 report carries into 2021.
    Total columns are skipped: they differ exactly when one of their parts does.
    """
    if ctx.last_year(same_edition=False) is None:
        return []
    table = ctx.spec.table(rule.params["table"])
    findings = []
    for column in table.columns:
        if column.sum_of:
            continue
        this = cell_code(table.code, rule.params["this"], column.code)
        last = cell_code(table.code, rule.params["last"], column.code)
        if last not in ctx.previous_values:
            continue
        found, expected = ctx.values[this], ctx.previous_values[last]
        if found != expected:
            findings.append(ctx.at(rule, this, expected=expected, found=found, column=column_words(table, column)))
    return findings


def check_stock(rule: Rule, ctx: Context) -> list[Finding]:
    """I2 (2021 edition): stock = last year's stock + this year's plus − this year's minus, per row."""
    if ctx.last_year(same_edition=True) is None:
        return []
    table = ctx.spec.table(rule.params["table"])
    p, findings = rule.params, []
    for row in table.rows:
        code = {k: cell_code(table.code, row.code, p[k]) for k in ("stock", "plus", "minus")}
        last_stock, plus, minus = (
            ctx.previous_values[code["stock"]],
            ctx.values[code["plus"]],
            ctx.values[code["minus"]],
        )
        expected, found = last_stock + plus - minus, ctx.values[code["stock"]]
        if found != expected:
            findings.append(
                ctx.at(
                    rule,
                    code["stock"],
                    expected=expected,
                    found=found,
                    table=table.title,
                    row=row_words(row),
                    last_stock=last_stock,
                    plus=plus,
                    minus=minus,
                )
            )
    return findings


def check_roll_forward(rule: Rule, ctx: Context) -> list[Finding]:
    """I3 (2019 edition): this year's base = last year's base + last year's change, per row of each table."""
    if ctx.last_year(same_edition=True) is None:
        return []
    p, findings = rule.params, []
    for table in (ctx.spec.table(t) for t in p["tables"]):
        for row in table.rows:
            base, change = cell_code(table.code, row.code, p["base"]), cell_code(table.code, row.code, p["change"])
            last_base, last_change = ctx.previous_values[base], ctx.previous_values[change]
            expected, found = last_base + last_change, ctx.values[base]
            if found != expected:
                findings.append(
                    ctx.at(
                        rule,
                        base,
                        expected=expected,
                        found=found,
                        table=table.title,
                        row=row_words(row),
                        last_base=last_base,
                        last_change=last_change,
                    )
                )
    return findings
