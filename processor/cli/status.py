"""`nianbao status`: per roster unit, submitted or missing, accepted or rejected, open findings, when, by whom."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from ..archive import LEDGER_FILE
from ..batch import attach_submissions, recorded_noticed, unit_results, year_roster
from ..consolidate import (
    ACCEPTED,
    COUNTED,
    COVERED,
    EXPLAINED,
    MISSING,
    REJECTED,
    SHOWN_LABEL,
    SIMILAR_RULE,
    STATUS_LABEL,
    WARNED,
    UnitResult,
    covering,
    outside_roster,
    rollup_findings,
)
from ..findings import Finding, in_brief, sort_key
from ..ledger import Ledger, LedgerError
from ..roster import RosterError, load_roster
from ..spec import Spec, edition_for_year, get_spec
from . import app
from .output import json_text, plain_lines
from .run import CONFIG, OUTBOX, ROSTER, YEAR, fail, settings_from

SHOWN_ORDER = (ACCEPTED, WARNED, EXPLAINED, COVERED, REJECTED, MISSING)  # the count line's order


def status_rows(
    units: list[UnitResult], spec: Spec | None = None, noticed: list[Finding] | None = None
) -> list[dict[str, Any]]:
    """Every unit as `status` shows it (a unit a counted roll-up stands for: 由汇总表涵盖), with what the
    summary's 问题清单 says of a counted unit outside the roster and of a counted roll-up whose units reported
    too (`spec`: the year's edition), and the 内容雷同 found of it when the summary was last written
    (`noticed`: batch.recorded_noticed)."""
    covered = covering(units)
    said: dict[str, list[Finding]] = {}
    for f in [*outside_roster(spec, units), *rollup_findings(spec, units)] if spec is not None else []:
        said.setdefault(f.agency or "", []).append(f)
    alike: dict[str, list[Finding]] = {}
    for f in noticed or []:
        if f.rule_id == SIMILAR_RULE:
            alike.setdefault(f.agency or "", []).append(f)
    return [
        unit_row(u, covered.get(u.name), said.get(u.name, []), alike.get(u.name, []) if u.status in COUNTED else [])
        for u in units
    ]


def unit_row(
    u: UnitResult,
    covered_by: str | None = None,
    more: list[Finding] | None = None,
    alike: list[Finding] | None = None,
) -> dict[str, Any]:
    """A unit as `status` shows it; `covered_by`: the counted roll-up standing for it (consolidate.covering);
    `more`: findings about it beyond its file's own (outside_roster); `alike`: its 内容雷同, counted and
    listed as the summary's 报送情况 does, without changing its standing (已通过 stays 已通过)."""
    open_findings = [f for f in [*u.findings, *(more or []), *(alike or [])] if f.is_open]
    status = u.status
    if status == ACCEPTED and any(f.severity == "warning" for f in more or [] if f.is_open):
        status = WARNED  # (a warning of summing about a unit outside the roster: 有警告, as the summary shows it)
    return {
        "unit": u.name,
        "group": "/".join(u.group),
        "on_roster": u.listed,
        "rollup": u.is_rollup,
        "status": COVERED if covered_by else status,
        "status_label": f"{SHOWN_LABEL[COVERED]}（{covered_by}）" if covered_by else STATUS_LABEL[status],
        "submitted": u.status != MISSING,
        "open_findings": len(open_findings),
        "errors": sum(1 for f in open_findings if f.severity == "error"),
        "warnings": sum(1 for f in open_findings if f.severity == "warning"),
        "findings": [f.to_dict() for f in sorted(open_findings, key=sort_key)],
        "file": u.file,
        "rejected_after": u.rejected_after,
        "withdrawn": u.withdrawn,
        "other_year": u.other_year,
        "received_at": u.received_at.isoformat(timespec="seconds") if u.received_at else None,
        "filler": u.filler,
        "phone": u.phone,
    }


@app.command("status")
def status_command(
    outbox: Path | None = OUTBOX,
    roster: Path | None = ROSTER,
    year: int | None = YEAR,
    config: Path | None = CONFIG,
    as_json: bool = typer.Option(False, "--json", help="以一个 JSON 对象输出（键 units 为各单位的报送情况）。"),
) -> None:
    """查看各单位的报送情况：是否已报送、通过还是被退回、待处理的问题数、报送时间、填报人和电话。

    只读取台账，不处理文件，可以在 run 或 watch 运行时使用。
    """
    settings = settings_from(config, outbox=outbox, roster=roster, year=year)
    path = settings.outbox / LEDGER_FILE
    try:
        missing = not path.exists()
    except OSError:  # (Ledger says why it cannot be opened)
        missing = False
    if missing and not settings.roster:
        typer.echo(f"输出文件夹“{settings.outbox}”中还没有台账：请先运行 nianbao run 处理收件文件夹。", err=True)
        raise typer.Exit(2)
    noticed: list[Finding] = []
    note = None
    try:
        if missing:  # (the season has not started: every roster unit is still to report)
            units_roster = load_roster(settings.roster) if settings.roster else None
            units, unidentified = unit_results(None, units_roster, settings.year, submissions=False)
            typer.echo(
                f"输出文件夹“{settings.outbox}”中还没有台账（还没有运行过 nianbao run）：名册单位都显示为未报送。",
                err=True,
            )
        else:
            with Ledger(path, readonly=True) as ledger:
                units_roster, note, *_ = year_roster(settings, ledger, save=False)  # (a past year: the one saved)
                units, unidentified = unit_results(ledger, units_roster, settings.year, submissions=False)
                attach_submissions(ledger, [u for u in units if u.is_rollup])  # (how many units each says it sums)
                noticed = recorded_noticed(ledger, settings.year)
    except (RosterError, LedgerError) as exc:
        raise fail(exc) from exc
    spec = get_spec(settings.edition) if settings.edition else edition_for_year(settings.year)
    rows = status_rows(units, spec, noticed)
    if as_json:
        obj = {
            "year": settings.year,
            "roster_note": note,
            "units": rows,
            "unidentified": [
                {"file": r.original_name, "status": r.status, "received_at": r.received_at} for r in unidentified
            ],
        }
        typer.echo(json_text(obj))
        return
    if note:
        typer.echo(note, err=True)
    typer.echo(render_status(settings.year, rows, [r.original_name for r in unidentified], spec=spec))


def _first(f: dict[str, Any], spec: Spec | None) -> str:
    """An open finding (as --json gives it) in a few words: where and what (二、主动公开!B14 不是数字)."""
    return in_brief(Finding(f["rule"], f["severity"], f["message"], f.get("sheet"), f.get("cell")), spec)


def render_status(
    year: int,
    rows: list[dict[str, Any]],
    unidentified: list[str],
    *,
    ascii_lines: bool | None = None,
    spec: Spec | None = None,
) -> str:
    """A table of units (widths measured as a terminal shows Chinese) and a closing count line.
    `ascii_lines`: draw it with + - | (default: when stdout is a code page's, `output.plain_lines`);
    `spec`: the year's edition, whose rule titles name each unit's first open finding."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    plain = plain_lines() if ascii_lines is None else ascii_lines
    table = Table(title=f"{year} 年度报送情况", show_lines=False, box=box.ASCII2 if plain else box.HEAVY_HEAD)
    for header in ("单位", "分组", "状态", "待处理问题", "报送时间", "文件", "填报人", "电话"):
        table.add_column(header, overflow="fold")
    for r in rows:
        problems = "，".join(f"{k} {r[key]}" for key, k in (("errors", "错误"), ("warnings", "警告")) if r[key])
        if r["findings"]:  # (the first to see to, as the summary's 问题清单 lists it: whom to call about what)
            problems += f"：{_first(r['findings'][0], spec)}"
        if r["rejected_after"]:  # (counted still, by its earlier file: the correction did not pass)
            problems = "，".join(filter(None, [problems, f"其后的“{r['rejected_after']}”被退回"]))
        if r["withdrawn"]:
            problems = "，".join(filter(None, [problems, r["withdrawn"]]))
        if r["other_year"]:
            problems = "，".join(filter(None, [problems, r["other_year"]]))
        when = (r["received_at"] or "").replace("T", " ")[:16]
        table.add_row(
            r["unit"],
            r["group"],
            r["status_label"],
            problems,
            when,
            r["file"] or "",
            r["filler"] or "",
            r["phone"] or "",
        )
    width = shutil.get_terminal_size((160, 40)).columns if sys.stdout.isatty() else 160
    console = Console(record=True, width=width, force_terminal=False, color_system=None)
    with console.capture() as cap:
        console.print(table)
    text = cap.get().rstrip()
    counts = Counter(r["status"] for r in rows if r["on_roster"])
    line = f"名册单位 {counts.total()} 个：" + "，".join(
        f"{SHOWN_LABEL[k]} {counts[k]}" for k in SHOWN_ORDER if counts[k]
    )
    rollups = [r for r in rows if r["rollup"] and not r["on_roster"]]
    if rollups:
        line += f"；另收到县区汇总表 {len(rollups)} 份：" + "、".join(
            f"{r['unit']}（{r['status_label']}）" for r in rollups
        )
    extra = f"\n未能识别单位的文件：{'、'.join(unidentified)}" if unidentified else ""
    return f"{text}\n{line}{extra}"
