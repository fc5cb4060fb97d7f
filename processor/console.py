"""Render check results as the plain Chinese text a coordinator reads in a terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .check import CheckResult
from .feedback import counts_line, verdict
from .findings import ERROR, NOTICE, WARNING, Finding

Style = Callable[[str, str | None], str]  # (text, colour name or None) → text, e.g. typer.style

_COLOUR = {ERROR: "red", WARNING: "yellow", NOTICE: "cyan", "explained": "green"}


def _plain(text: str, colour: str | None) -> str:
    return text


def _status_key(f: Finding) -> str:
    return "explained" if f.explained else f.severity


def render_finding(f: Finding, style: Style = _plain) -> list[str]:
    """Lines of one finding: status, rule and location, then the message (and the explanation)."""
    head = f"  [{f.status_label}] {f.rule_id}"
    if f.location:
        head += f"  {f.location}"
    lines = [style(head, _COLOUR.get(_status_key(f))), f"      {f.message}"]
    if f.explanation:
        lines.append(f"      情况说明：{f.explanation}")
    return lines


def render_result(result: CheckResult, style: Style = _plain) -> str:
    """The report of one file: header, verdict with counts, then every finding (most severe first)."""
    sub = result.submission
    lines = [style(f"文件：{result.file}", None)]
    if sub is not None:
        edition = result.spec.label if result.spec else f"{sub.edition}年版"
        lines.append(f"单位：{sub.agency or '（未填写）'}　报告年度：{sub.year or '（未填写）'}　格式：{edition}")
    colour = "green" if result.report.valid else "red"
    lines.append(style(f"结论：{verdict(result)}", colour))
    lines.append(f"统计：{counts_line(result)}")
    for f in result.report.sorted():
        lines.extend(render_finding(f, style))
    return "\n".join(lines)


def render_summary(results: Sequence[CheckResult]) -> str:
    """One closing line for several files: how many passed and how many were returned."""
    rejected = sum(1 for r in results if not r.report.valid)
    return f"共校验 {len(results)} 个文件：通过 {len(results) - rejected} 个，退回 {rejected} 个。"


def render(results: Sequence[CheckResult], style: Style = _plain) -> str:
    """Every file's report separated by blank lines, with a summary line when there are several."""
    parts = [render_result(r, style) for r in results]
    if len(results) > 1:
        parts.append(render_summary(results))
    return "\n\n".join(parts)
