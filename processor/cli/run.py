"""`nianbao run`: process every workbook in the inbox once, consolidate, say what was done and where."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import typer
from loguru import logger

from ..archive import LEDGER_FILE, rollup_report_name
from ..batch import UNTITLED, RunResult, run_batch
from ..config import ConfigError, Settings, load_settings, past_year_in_inbox
from ..consolidate import ACCEPTED, COUNTED, COVERED, REJECTED, SIMILAR_RULE, STATUS_LABEL, WARNED
from ..findings import WARNING
from ..joblock import EXIT_BUSY, JobBusy
from ..ledger import Ledger, LedgerError
from ..logs import setup_logging
from ..roster import RosterError
from ..spec import get_spec
from ..watch import stop_on_interrupt
from . import app
from .output import ascii_json

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Options shared by run, watch and status (declared once).
INBOX = typer.Option(None, "--inbox", help="收件文件夹（默认取 nianbao.toml 中的 inbox，否则为 ./inbox）。")
OUTBOX = typer.Option(
    None, "--outbox", help="输出文件夹：归档、反馈、汇总表、台账和日志（默认取 nianbao.toml，否则为 ./outbox）。"
)
ROSTER = typer.Option(None, "--roster", help="单位名册（.csv 或 .xlsx），列出应报送的全部单位。")
YEAR = typer.Option(None, "--year", help="汇总年度，如 2025（默认取 nianbao.toml，否则为上一年）。")
CONFIG = typer.Option(None, "--config", help="配置文件（默认为当前文件夹中的 nianbao.toml，没有也可以）。")
WORKERS = typer.Option(None, "--workers", help="并行校验的进程数（默认为 CPU 核数；1 表示不并行）。")
WAIT = typer.Option(None, "--wait", help="另一个任务正在运行时最多等待的秒数（默认 10）。")
JSON = typer.Option(False, "--json", help="以一个 JSON 对象输出结果（键 summary 为汇总表路径）。")
BY_GROUP = typer.Option(
    None, "--by-group/--no-by-group", help="另为名册中的每个分组（如各县区）各写一份汇总表和上报用汇总数据。"
)


def settings_from(config: Path | None, **options: Any) -> Settings:
    """Settings from nianbao.toml and options, or a clear Chinese error and exit code 2."""
    if "wait" in options:
        options["lock_wait_seconds"] = options.pop("wait")
    try:
        return load_settings(config=config, **options)
    except ConfigError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc


def refuse_past_year_in_inbox(settings: Settings) -> None:
    """A job for an earlier year than the configured one on the configured inbox, with files in it, once the
    configured year's collection has begun or the earlier year's was done: exit 2, nothing done
    (config.past_year_in_inbox). Before either, last year's reports are loaded that way on purpose (README:
    先运行一次 nianbao run --year 2024)."""
    why = past_year_in_inbox(settings)
    if why and _begun(settings):
        typer.echo(f"错误：{why}", err=True)
        raise typer.Exit(EXIT_USAGE)


def _begun(settings: Settings) -> bool:
    """Whether the ledger has files of the configured year or of the job's (either collection has begun)."""
    path = settings.outbox / LEDGER_FILE
    if settings.config_year is None or not path.is_file():
        return False
    years = (settings.config_year, settings.year)
    try:
        with Ledger(path, readonly=True) as ledger:
            return bool(ledger.db.execute("SELECT 1 FROM files WHERE year IN (?, ?) LIMIT 1", years).fetchone())
    except LedgerError:
        return False


def fail(exc: Exception) -> typer.Exit:
    """The job could not run: one Chinese line, and the matching exit code."""
    if isinstance(exc, JobBusy):
        typer.echo(f"错误：{exc}", err=True)
        return typer.Exit(EXIT_BUSY)
    if isinstance(exc, RosterError | ConfigError):
        typer.echo(f"错误：{exc}", err=True)
        return typer.Exit(EXIT_USAGE)
    typer.echo(f"错误：任务无法完成：{exc}", err=True)
    return typer.Exit(EXIT_FAILED)


@app.command("run")
def run_command(
    inbox: Path | None = INBOX,
    outbox: Path | None = OUTBOX,
    roster: Path | None = ROSTER,
    year: int | None = YEAR,
    config: Path | None = CONFIG,
    workers: int | None = WORKERS,
    wait: float | None = WAIT,
    by_group: bool | None = BY_GROUP,
    as_json: bool = JSON,
) -> None:
    """处理收件文件夹中的全部年报：校验、写反馈、归档、登记台账、生成汇总表。

    收件文件夹（含子文件夹）中每个完整的文件都会被处理并移入输出文件夹的“归档”，不会删除任何文件；
    锁定文件（~$ 开头）、隐藏文件和临时文件不处理。退出码：0 表示任务已完成（无论各单位报送情况如何）；
    1 表示任务未能完成（例如汇总表无法写出：文件已处理，汇总表需再运行一次生成）；2 表示设置有误；3 表示另一个任务正在运行。
    """
    settings = settings_from(
        config, inbox=inbox, outbox=outbox, roster=roster, year=year, workers=workers, wait=wait, by_group=by_group
    )
    refuse_past_year_in_inbox(settings)
    try:
        setup_logging(settings.outbox)
        with stop_on_interrupt() as stop:
            result = run_batch(settings, stop=stop.is_set)
    except (JobBusy, RosterError, ConfigError, LedgerError, OSError) as exc:
        raise fail(exc) from exc
    except Exception as exc:  # the job itself broke: one line here, the traceback in the log
        logger.opt(exception=exc).debug("run failed")
        raise fail(exc) from exc
    if as_json:
        for chunk in json_chunks(result, ascii=ascii_json()):
            typer.echo(chunk, nl=False)
        typer.echo("")
    else:
        typer.echo(render_run(result))
    # Every file was taken care of, but without its summary the job did not finish: say so in the exit code.
    raise typer.Exit(EXIT_OK if result.summary and not result.failed_outputs else EXIT_FAILED)


def json_chunks(result: RunResult, *, ascii: bool = False) -> Iterator[str]:
    """json.dumps(result.to_dict(), ensure_ascii=ascii, indent=2), one entry of its long lists at a
    time: the entries of 10,000 files (every finding) and the summary's findings (~13,000 内容雷同 at
    10,000 units) are never all in memory as dicts and text at once."""
    string = _ASCII if ascii else _STRING
    streamed: dict[str, Iterator[dict[str, Any]]] = {
        "summary_findings": (f.to_dict() for f in result.noticed),
        "files": (f.to_dict(result.outbox) for f in result.files),
    }
    head = result.to_dict(files=False, findings=False)

    def encoded(value: Any, newline: str) -> str:
        try:
            return indented_json(value, newline, string)
        except TypeError:  # a value json.dumps may still know how to write (or say why not)
            return json.dumps(value, ensure_ascii=ascii, indent=2).replace("\n", newline)

    yield "{"
    for i, (key, value) in enumerate(head.items()):
        yield ("," if i else "") + "\n  " + string(key) + ": "
        entries = streamed.get(key) if value == [] else None
        first = next(entries, None) if entries is not None else None
        if first is None:
            yield encoded(value, "\n  ")
            continue
        yield "["
        for k, entry in enumerate(chain([first], entries)):  # type: ignore[arg-type]
            yield ("," if k else "") + "\n    " + encoded(entry, "\n    ")
        yield "\n  ]"
    yield "\n}"


_STRING = json.encoder.encode_basestring  # (the C encoder of json.dumps(ensure_ascii=False))
_ASCII = json.encoder.encode_basestring_ascii  # (… and of json.dumps(ensure_ascii=True))


def indented_json(value: Any, newline: str = "\n", string: Callable[[str], str] = _STRING) -> str:
    """json.dumps(value, ensure_ascii=False, indent=2) with every line break written as `newline`,
    for values made of dicts, lists, strings, ints, floats, booleans and None (else TypeError);
    with `string` _ASCII, json.dumps(value, indent=2)'s (ensure_ascii).

    json.dumps falls back to its pure-Python encoder when asked to indent: at 10,000 files with every
    finding the --json output cost ~1 ms a file; this writes the same text in a third of the time."""
    kind = type(value)
    if kind is str:
        return string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float(value)
    inner = newline + "  "
    if kind is dict:
        if not value:
            return "{}"
        items = (f"{string(_key(k))}: {indented_json(v, inner, string)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(indented_json(v, inner, string) for v in value) + newline + "]"
    raise TypeError(f"{kind.__name__} is not one of the JSON types written here")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    """A dict key as json.dumps writes it."""
    kind = type(key)
    if kind is str:
        return key
    if kind is float:
        return _float(key)
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if kind is int:
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {kind.__name__}")


def noticed_lines(result: RunResult) -> list[str]:
    """What summing the year found, in brief (the summary's 问题清单 has every message): roll-up overlaps and
    reports not summed by unit, 内容雷同 by how many units."""
    if not result.noticed:
        return []
    rules = get_spec(result.edition).rules
    found = [f for f in result.noticed if f.rule_id != SIMILAR_RULE]
    bits = [f"{f.agency}：{rules[f.rule_id].title if f.rule_id in rules else f.rule_id}" for f in found]
    if result.alike_units:
        bits.append(f"{result.alike_units} 个单位的文字部分内容雷同")
    return ["汇总时发现（详见汇总表“问题清单”）：" + "；".join(bits)]


def later_year_lines(result: RunResult) -> list[str]:
    """Files refused for being next year's reports: most likely the collection of that year has begun and
    nianbao.toml still names this one (their feedback tells the clerks; this tells the coordinator)."""
    if result.past_year:  # (a late correction's job: the current year is set already)
        return []
    later = [
        f.name
        for f in result.files
        if any(x.rule_id == "year-mismatch" and x.found == str(result.year + 1) for x in f.findings)
    ]
    if not later:
        return []
    return [
        f"被退回的文件中有 {len(later)} 份是 {result.year + 1} 年度的报告（{'、'.join(later[:5])}"
        + ("等" if len(later) > 5 else "")
        + f"）：如果已开始收集 {result.year + 1} 年度，请把 nianbao.toml 中的 year 改为 {result.year + 1}"
        f"（或运行时加 --year {result.year + 1}），再把这些文件从“归档/{result.year}年度/被退回”中放回收件文件夹，重新运行。"
    ]


def render_run(result: RunResult) -> str:
    """What a run did, in the words a coordinator uses."""
    d = result.to_dict()
    lines = [f"{result.year} 年度政府信息公开年报（{result.edition}年版格式）"]
    if result.roster_note:
        lines.append(result.roster_note)
    received = d["received"]
    if received or d["recovered"] or d["errors"]:
        parts = [
            f"通过 {d['accepted']}" + (f"（其中已说明 {d['explained']}）" if d["explained"] else ""),
            f"有警告 {d['accepted_with_warnings']}",
            f"被退回 {d['rejected']}",
            f"重复 {d['duplicates']}",
        ]
        lines.append(f"本次收到文件 {received} 个：" + "，".join(parts) + "。")
    elif result.waiting:
        lines.append("本次没有可处理的文件：收件文件夹中的文件仍在写入（见下），留待下次处理。")
    else:
        lines.append("本次收件文件夹中没有新文件。")
    if d["recovered"]:
        lines.append(f"补完上次中断的文件 {d['recovered']} 个（已归档，未重复计入）。")
    if d["errors"]:
        lines.append(f"处理出错 {d['errors']} 个（文件留在收件文件夹，原因见上方和日志）。")
    if result.skipped:
        lines.append(
            f"未处理的锁定、隐藏、临时或无法读取的文件 {len(result.skipped)} 个（留在收件文件夹，原因见上方）。"
        )
    if result.waiting:
        names = "、".join(c.rel for c in result.waiting)
        lines.append(f"仍在写入、留待下次处理的文件 {len(result.waiting)} 个：{names}")
    if result.interrupted:
        lines.append("任务被中途停止：已处理的文件都已归档并登记，其余文件留在收件文件夹，下次运行继续。")
    units = d["units"]
    shown = result.shown()
    if units["expected"]:
        counted = sum(units[s] for s in COUNTED)
        covered = f"，由县区汇总表涵盖 {units[COVERED]}" if units[COVERED] else ""
        lines.append(
            f"名册单位 {units['expected']} 个：已计入汇总 {counted}{covered}，"
            f"被退回 {units['rejected']}，未报送 {units['missing']}。"
        )
        if result.missing:
            lines.append("未报送：" + "、".join(result.missing))
        returned = [u.name for u, status in shown if status == REJECTED]
        if returned:
            lines.append("被退回（需重新提交）：" + "、".join(returned))
        failed = [f"{u.name}（“{u.rejected_after}”）" for u, status in shown if status in COUNTED and u.rejected_after]
        if failed:
            lines.append("重新提交被退回、仍按此前通过的报告计入：" + "、".join(failed))
    rollups = [u for u in result.units if u.is_rollup and not u.listed]
    if rollups:
        under = Counter(result.covered().values())
        warned = {f.agency for f in result.noticed if f.rule_id != SIMILAR_RULE and f.severity == WARNING and f.is_open}
        lines.append(
            f"县区汇总表 {len(rollups)} 份："
            + "、".join(
                f"{u.name}（{STATUS_LABEL[WARNED if u.status == ACCEPTED and u.name in warned else u.status]}"
                + (f"，涵盖名册单位 {under[u.name]} 个）" if under[u.name] else "）")
                for u in rollups
            )
        )
    outside = [u for u in result.units if u.group[:1] == ("名册以外的单位",) and not u.is_rollup]  # (listed above)
    if outside:
        lines.append(
            f"名册以外的单位 {len(outside)} 个（请核对名称，或加入名册/别名）："
            + "、".join(f"{u.name}（{STATUS_LABEL[u.status]}）" for u in outside)
        )
    said = noticed_lines(result)
    lines.extend(said)
    lines.extend(later_year_lines(result))
    if result.unidentified:
        lines.append(
            f"未能识别单位的文件 {len(result.unidentified)} 个："
            + "、".join(r.original_name for r in result.unidentified)
        )
    lines.append("输出：")
    if result.summary:
        unchanged = "（台账、名册和设置都没有变化，保持原样）" if result.kept else ""
        lines.append(f"  汇总表：{result.summary}{unchanged}")
        for report in result.reports[:1]:
            lines.append(f"  汇总数据（按年报模板填好，可上报或发布）：{report}")
            if report.name == rollup_report_name(result.year, UNTITLED):  # (nianbao.toml sets no title)
                lines.append(
                    f"    其中的单位名称为“{UNTITLED}”：要交给上级汇总时，请先在 nianbao.toml 中写明本级名称"
                    '（如 title = "西山县"），再运行 nianbao run，否则上级对应不到分组，会退回。'
                )
        if result.group_summaries:
            lines.append(f"  分组汇总表 {len(result.group_summaries)} 个：{result.group_summaries[0].parent.parent}")
        elif result.stale_groups:
            lines.append(
                f"  注意：{result.stale_groups[0].parent.parent} 中的分组汇总表 {len(result.stale_groups)} 个是此前用 "
                "--by-group 生成的，本次没有更新，数字可能已过时；需要时请加 --by-group 再运行一次"
                "（或在 nianbao.toml 中设 by_group = true）。"
            )
        if result.set_aside:
            names = "、".join(p.name for p in result.set_aside)
            lines.append(f"  被修改过的输出已另存、没有覆盖（见上方说明）：{names}")
        if result.failed_outputs:
            names = "、".join(p.name for p in result.failed_outputs)
            lines.append(
                f"  未能写出的分组汇总表 {len(result.failed_outputs)} 个（原因见上方；排除后再运行一次）：{names}"
            )
    else:
        lines.append("  汇总表：未能生成（原因见上方和日志）")
    lines.append(f"  反馈工作簿：{d['feedback']}（每个单位一个文件夹，请转给各单位）")
    lines.append(f"  原件归档：{d['archive']}")
    lines.append(f"  台账：{d['ledger']}")
    lines.append(f"  日志：{d['log']}")
    return "\n".join(lines)
