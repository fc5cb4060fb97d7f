"""`nianbao validate`: check workbooks, print a report (or JSON), optionally write feedback workbooks."""

from __future__ import annotations

from pathlib import Path

import typer

from ..archive import describe_error, feedback_name, numbered
from ..check import CheckResult, Options, check_workbook
from ..console import render
from ..feedback import write_feedback
from ..inbox import skip_reason
from . import app
from .output import json_text

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
YEAR_RANGE = (2019, 2099)


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"错误：{message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _files(given: list[Path]) -> list[Path]:
    """The files to check: a pattern the shell did not expand (Windows' cmd passes 收件\\*.xlsx as typed)
    expanded here; lock files (~$x.xlsx, beside a workbook open in Excel) left out with a line on stderr
    when other files are given, refused when one is all that was given."""
    files: list[Path] = []
    for path in given:
        if not path.exists() and any(ch in path.name for ch in "*?["):
            files += sorted(p for p in path.parent.glob(path.name) if p.is_file())
        else:
            files.append(path)
    locks = {p: why for p in files if (why := _lock_file(p)) is not None}
    kept = [p for p in files if p not in locks]
    for path, why in locks.items():
        original = path.name.removeprefix("~$").removeprefix(".~lock.").removesuffix("#")
        said = f"“{path.name}”是{why}，不是报告，也不会被汇总读取"
        if not kept:
            raise _usage_error(f"{said}。请校验原文件“{original}”。")
        typer.echo(f"跳过：{said}。", err=True)
    if not kept:
        raise _usage_error(f"没有找到要校验的文件（{'、'.join(str(p) for p in given)}）。请检查文件名和路径。")
    return kept


def _lock_file(path: Path) -> str | None:
    why = skip_reason(path.name)
    return why if why is not None and why.endswith("锁定文件") else None


def _check_arguments(files: list[Path], year: int | None, text_limit: int | None, feedback: Path | None) -> None:
    """Refuse, before reading anything, what cannot run: missing files, folders, impossible options."""
    for path in files:
        if not path.exists():
            raise _usage_error(f"找不到文件“{path}”。请检查文件名和路径。")
        if path.is_dir():
            raise _usage_error(f"“{path}”是文件夹，请指定其中的工作簿文件（如 {path / '某某局.xlsx'}）。")
    if year is not None and not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise _usage_error(f"--year 应为 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 之间的四位年份，实际为 {year}。")
    if text_limit is not None and text_limit < 1:
        raise _usage_error(f"--text-limit 应为正整数（字数），实际为 {text_limit}。")
    if feedback is not None and feedback.exists() and not feedback.is_dir():
        raise _usage_error(f"--feedback 应为文件夹，但“{feedback}”是一个文件。")


def _write_feedbacks(results: list[CheckResult], folder: Path, inputs: list[Path]) -> dict[str, Path]:
    """Write a feedback workbook for each readable file with findings; returns file → path written.

    Files that could not be read get none (there is nothing to rebuild); their report says why. A name
    taken by another feedback of this call or by a file being checked (某局年报_反馈.xlsx checked with
    --feedback . would be its own feedback's name) gets a number: no input is ever overwritten.
    """
    written: dict[str, Path] = {}
    taken: set[Path] = {p.resolve() for p in inputs}
    for result in results:
        if result.submission is None or not result.report.findings:
            continue
        n = 1
        while (path := folder / numbered(feedback_name(result.file), n)).resolve() in taken:
            n += 1
        taken.add(path.resolve())
        try:
            written[result.file] = write_feedback(path, result)
        except OSError as exc:  # (e.g. the last feedback still open in Excel): said; the report still follows
            typer.echo(f"错误：无法写出“{result.file}”的反馈工作簿“{path}”：{describe_error(exc)}。", err=True)
    return written


@app.command("validate", no_args_is_help=True)
def validate_command(
    files: list[Path] = typer.Argument(..., help="要校验的年报工作簿（.xlsx），可以一次给出多个。", show_default=False),
    as_json: bool = typer.Option(
        False, "--json", help="以 JSON 输出结果：一个数组，每个文件一个对象（即使只有一个文件）。"
    ),
    year: int | None = typer.Option(None, "--year", help="本次汇总的报告年度，如 2025；年度不同的文件报错误。"),
    text_limit: int | None = typer.Option(
        None, "--text-limit", help="“一、总体情况”的字数上限，超过时提示（默认按格式规定为 1000）。"
    ),
    feedback: Path | None = typer.Option(
        None, "--feedback", help="为有问题的文件生成反馈工作簿（标出问题单元格），写入此文件夹。"
    ),
) -> None:
    """校验年报工作簿，逐个文件列出问题。

    退出码：0 表示所有文件都没有错误（可有警告、提示）；1 表示至少一个文件有错误（被退回）；
    2 表示命令本身无法执行（参数有误、文件不存在）。
    """
    files = _files(files)
    _check_arguments(files, year, text_limit, feedback)
    options = Options(year=year, text_limit=text_limit)
    results = [check_workbook(path, name=path.name, options=options) for path in files]
    written = _write_feedbacks(results, feedback, files) if feedback is not None else {}
    if as_json:
        objects = []
        for result in results:
            obj = result.to_dict()
            if feedback is not None:
                obj["feedback"] = str(written[result.file]) if result.file in written else None
            objects.append(obj)
        typer.echo(json_text(objects))
    else:
        typer.echo(render(results, lambda text, colour: typer.style(text, fg=colour) if colour else text))
    for path in written.values():  # on stderr with --json, so stdout stays one JSON document
        typer.echo(f"已生成反馈工作簿：{path}", err=as_json)
    raise typer.Exit(EXIT_OK if all(r.report.valid for r in results) else EXIT_REJECTED)
