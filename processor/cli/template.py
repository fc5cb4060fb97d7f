"""`nianbao template`: write the fill-in workbook for an agency (or the blank ones of every edition)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..spec import SpecError, edition_for_year, get_spec, load_specs
from ..template import blank_template_name, write_template
from . import app


@app.command("template", no_args_is_help=True)
def template_command(
    output: Path = typer.Option(..., "-o", "--output", help="输出文件（.xlsx）；与 --all 同用时为输出文件夹。"),
    edition: str | None = typer.Option(None, "--edition", help="报告格式版本：2019 或 2021。不填时按报告年度确定。"),
    year: int | None = typer.Option(
        None, "--year", help="报告年度，如 2025（≤2020 用 2019 年版，≥2021 用 2021 年版）。"
    ),
    agency: str | None = typer.Option(None, "--agency", help="预先填入的单位名称。"),
    contact: str | None = typer.Option(
        None, "--contact", help="填报说明中“如有疑问请联系”的内容，如“市政务公开办 张三 0453-1234567”。"
    ),
    all_editions: bool = typer.Option(False, "--all", help="在 -o 指定的文件夹中写出每个版本的空白模板。"),
) -> None:
    """生成供各单位填报的年报模板（Excel 工作簿）。"""
    try:
        specs = load_specs()
        if all_editions:
            for spec in specs.values():
                path = write_template(output / blank_template_name(spec), spec, contact=contact, reproducible=True)
                typer.echo(f"已生成 {spec.label}空白模板：{path}")
            return
        spec = _choose_spec(edition, year)
    except (SpecError, KeyError) as exc:
        typer.echo(f"错误：{exc.args[0] if isinstance(exc, KeyError) else exc}", err=True)
        raise typer.Exit(2) from exc
    if output.suffix.lower() != ".xlsx":
        typer.echo(f"错误：输出文件“{output}”应以 .xlsx 结尾。", err=True)
        raise typer.Exit(2)
    path = write_template(output, spec, year=year, agency=agency, contact=contact)
    who = f"“{agency}”" if agency else "空白"
    typer.echo(f"已生成 {who}{year or ''}{'年度' if year else ''}年报模板（{spec.label}格式）：{path}")


def _choose_spec(edition: str | None, year: int | None):
    """The edition asked for, checked against the year; or the one the year implies."""
    if edition is None:
        if year is None:
            raise KeyError("请用 --year 指定报告年度，或用 --edition 指定格式版本（2019 或 2021）。")
        return edition_for_year(year)
    spec = get_spec(edition)
    if year is not None and not spec.covers(year):
        right = edition_for_year(year)
        raise KeyError(
            f"{year} 年度的报告应使用 {right.label}格式，不能使用 {spec.label}格式。请去掉 --edition 或改为 --edition {right.edition}。"
        )
    return spec
