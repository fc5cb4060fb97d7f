"""`nianbao templates`: one prefilled template per roster unit, ready to send out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import typer

from ..archive import LEDGER_FILE, safe_component
from ..batch import year_roster
from ..config import Settings
from ..ledger import Ledger, LedgerError
from ..roster import Roster, RosterError, load_roster
from ..spec import edition_for_year, get_spec
from ..template import write_template
from . import app
from .run import CONFIG, ROSTER, YEAR, settings_from


def template_name(unit: str, year: int) -> str:
    return safe_component(f"{unit}_{year}年度政府信息公开工作年度报告.xlsx", max_chars=80)


def _roster_of_year(settings: Settings) -> tuple[Roster, str | None]:
    """The roster of settings.year as a job for it would use it (a past year: the one saved with it in the
    ledger, batch.year_roster), and what to say about it."""
    path = settings.outbox / LEDGER_FILE
    if not path.is_file():
        return load_roster(settings.roster), None  # type: ignore[arg-type]
    try:
        with Ledger(path, readonly=True) as ledger:
            roster, note, *_ = year_roster(settings, ledger, save=False)
    except (LedgerError, sqlite3.Error) as exc:  # (a damaged ledger: the roster file, and it is said)
        return load_roster(settings.roster), f"台账无法读取（{exc}），按名册文件生成。"  # type: ignore[arg-type]
    return roster or load_roster(settings.roster), note  # type: ignore[arg-type]


@app.command("templates")
def templates_command(
    output: Path = typer.Option(..., "-o", "--output", help="输出文件夹：每个单位一个模板文件。"),
    roster: Path | None = ROSTER,
    year: int | None = YEAR,
    config: Path | None = CONFIG,
    edition: str | None = typer.Option(None, "--edition", help="格式版本（2019 或 2021），默认按年度确定。"),
    contact: str | None = typer.Option(None, "--contact", help="填报说明中“如有疑问请联系”的内容。"),
) -> None:
    """按单位名册为每个单位生成一份已填好单位名称和年度的年报模板。"""
    settings = settings_from(config, roster=roster, year=year, edition=edition, contact=contact)
    if settings.roster is None:
        typer.echo("错误：请用 --roster 指定单位名册，或在 nianbao.toml 中设置 roster。", err=True)
        raise typer.Exit(2)
    try:
        units, note = _roster_of_year(settings)
        spec = get_spec(settings.edition) if settings.edition else edition_for_year(settings.year)
    except (RosterError, KeyError, LedgerError) as exc:
        typer.echo(f"错误：{exc.args[0] if isinstance(exc, KeyError) else exc}", err=True)
        raise typer.Exit(2) from exc
    if not spec.covers(settings.year):
        typer.echo(f"错误：{settings.year} 年度不能使用 {spec.label}格式。请去掉 --edition。", err=True)
        raise typer.Exit(2)
    if note:
        typer.echo(note, err=True)
    output.mkdir(parents=True, exist_ok=True)
    for unit in units:
        write_template(
            output / template_name(unit.name, settings.year),
            spec,
            year=settings.year,
            agency=unit.name,
            contact=settings.contact,
        )
    typer.echo(f"已在“{output}”中为 {len(units)} 个单位生成 {settings.year} 年度模板（{spec.label}格式）。")
