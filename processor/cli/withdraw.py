"""`nianbao withdraw`: take a counted report out of the sums (a wrong file, a roll-up to be replaced by its units')."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..config import ConfigError
from ..joblock import EXIT_BUSY, JobBusy
from ..ledger import FileRow, LedgerError
from ..logs import setup_logging
from ..roster import RosterError
from ..withdraw import WithdrawError, Withdrawn, preview, withdraw
from . import app
from .output import json_text
from .run import BY_GROUP, CONFIG, EXIT_FAILED, EXIT_OK, EXIT_USAGE, OUTBOX, ROSTER, WAIT, YEAR, fail, settings_from


@app.command("withdraw")
def withdraw_command(
    target: str = typer.Argument(..., help="要撤回的报告：文件名（如 教育局.xlsx）、单位名称，或台账编号（如 #12）。"),
    reason: str = typer.Option("", "--reason", help="撤回原因（写入台账和该文件的记录）。"),
    outbox: Path | None = OUTBOX,
    roster: Path | None = ROSTER,
    year: int | None = YEAR,
    config: Path | None = CONFIG,
    wait: float | None = WAIT,
    by_group: bool | None = BY_GROUP,
    as_json: bool = typer.Option(
        False, "--json", help="以一个 JSON 对象输出结果（撤回的文件、重新计入的文件、汇总表和反馈工作簿的路径）。"
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="不再询问，直接撤回（在终端中运行时，默认先列出将撤回哪份报告并请你确认）。"
    ),
) -> None:
    """撤回一份正在计入汇总的报告：它不再计入，该单位此前计入的报告（如有）重新计入，汇总表随即更新。

    用于收到了不该计入的文件（如别的单位的文件、测试文件），或县区汇总表应改为按各单位的报告计入。
    原件仍在归档中保存，台账记下撤回时间和原因；同一文件以后再放入收件文件夹会重新处理。
    watch 运行时请先停止它（同一时间只能有一个任务）。分组汇总表（--by-group 或 nianbao.toml 的 by_group）也随之更新。
    在终端中运行时，先列出将撤回的报告和撤回后计入的报告，输入 y 确认后才撤回（--yes 不询问）。
    退出码：0 已撤回；1 已撤回但汇总表未能写出；2 找不到、不止一份对应或确认时取消（未改动）；3 另一个任务正在运行（未改动）。
    """
    settings = settings_from(config, outbox=outbox, roster=roster, year=year, wait=wait, by_group=by_group)
    try:
        setup_logging(settings.outbox)
        expect = None
        if not (yes or as_json or not interactive()):  # (asked before the outbox is locked: see preview)
            row, restored, note = preview(settings, target)
            if note:
                typer.echo(note, err=True)
            if not confirm_withdrawal(row, restored):
                typer.echo(f"未撤回“{row.original_name}”（{row.unit}）：已取消，什么都没有改动。", err=True)
                raise typer.Exit(EXIT_USAGE)
            expect = row.id
        done = withdraw(settings, target, reason=reason, expect=expect)
    except WithdrawError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    except JobBusy as exc:  # (watch holds the outbox as long as it runs: it does not end by itself)
        typer.echo(
            "错误：输出文件夹正被另一个任务占用，未撤回。如果正在运行 nianbao watch，请先按 Ctrl+C 停止它，"
            f"撤回后再启动。（{exc}）",
            err=True,
        )
        raise typer.Exit(EXIT_BUSY) from exc
    except (RosterError, ConfigError, LedgerError, OSError) as exc:
        raise fail(exc) from exc
    if as_json:
        typer.echo(json_text(_as_dict(done)))
    else:
        typer.echo(render_withdrawn(done))
    raise typer.Exit(EXIT_OK if done.outputs is not None else EXIT_FAILED)


def interactive() -> bool:
    """Someone at a terminal can answer (a script, a scheduled task or a pipe cannot: they are not asked)."""
    return sys.stdin.isatty()


def confirm_withdrawal(row: FileRow, restored: FileRow | None) -> bool:
    typer.echo(
        f"将撤回：#{row.id} “{row.original_name}”（{row.unit}，{row.received:%Y-%m-%d %H:%M} 收到，正在计入汇总）。",
        err=True,
    )
    if restored is not None:
        then = f"撤回后 {row.unit} 改按此前收到的“{restored.original_name}”（#{restored.id}）计入。"
    else:
        then = f"撤回后 {row.unit} 没有计入汇总的报告。"
    typer.echo(then, err=True)
    typer.echo("确认撤回吗？输入 y 并回车撤回，直接回车取消：", nl=False, err=True)
    return sys.stdin.readline().strip().casefold() in {"y", "yes", "是", "确认"}


def render_withdrawn(done: Withdrawn) -> str:
    row = done.file
    lines = [done.roster_note] if done.roster_note else []
    lines.append(
        f"已撤回：“{row.original_name}”（{row.unit}，{row.received:%Y-%m-%d %H:%M} 收到，台账编号 #{row.id}）。"
    )
    if done.restored is not None:
        r = done.restored
        lines.append(
            f"{row.unit} 现按此前收到的“{r.original_name}”（台账编号 #{r.id}，{r.received:%Y-%m-%d %H:%M} 收到）计入。"
        )
    else:
        lines.append(f"{row.unit} 现在没有计入汇总的报告。")
    if done.feedback is not None:
        lines.append(f"已在反馈工作簿中告知该单位：{done.feedback}")
    if done.restored_feedback is not None:
        lines.append(f"“{done.restored.original_name}”的反馈工作簿已改写为重新计入：{done.restored_feedback}")  # type: ignore[union-attr]
    if done.outputs is not None:
        lines.append(f"汇总表已更新：{done.outputs.summary}")
        if done.outputs.stale_groups and not done.outputs.groups:
            lines.append(
                f"注意：{done.outputs.stale_groups[0].parent.parent} 中的分组汇总表（{len(done.outputs.stale_groups)} 个）是此前用 "
                "--by-group 生成的，没有随本次撤回更新，数字可能已过时：请运行 "
                + (
                    f"nianbao run --year {done.past_year} --inbox 补报{done.past_year} --by-group"
                    f"（补报{done.past_year} 是单独的文件夹，可以是空的）"
                    if done.past_year
                    else "nianbao run --by-group"
                )
                + " 更新它们（撤回已经完成，不要再运行一次本命令）。"
            )
    else:
        lines.append("汇总表未能更新（原因见上方和日志）；排除问题后运行 nianbao run 即可生成。")
    return "\n".join(lines)


def _as_dict(done: Withdrawn) -> dict[str, object]:
    return {
        "withdrawn": {"id": done.file.id, "file": done.file.original_name, "unit": done.file.unit},
        "restored": {"id": done.restored.id, "file": done.restored.original_name} if done.restored else None,
        "summary": str(done.outputs.summary) if done.outputs is not None else None,
        "feedback": str(done.feedback) if done.feedback is not None else None,
        "restored_feedback": str(done.restored_feedback) if done.restored_feedback is not None else None,
    }
