"""Withdraw a counted report at the coordinator's word: it stops counting, the unit's earlier report counts again."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from . import archive
from .batch import Job, Outputs, rollup_name, year_roster
from .config import Settings
from .findings import finding
from .joblock import job_lock
from .ledger import WITHDRAWN, FileRow, Ledger
from .roster import Roster, normalise


class WithdrawError(ValueError):
    """Nothing (or more than one report) answers to what was asked; the message (Chinese) says what to do."""


@dataclass
class Withdrawn:
    """What `withdraw` did."""

    file: FileRow  # the report withdrawn, as it was
    restored: FileRow | None  # the unit's earlier report that counts again, if any
    outputs: Outputs | None  # the outputs written again (None: they could not be: the log says why)
    feedback: Path | None = None  # the file's feedback workbook, written again to say it was withdrawn
    restored_feedback: Path | None = None  # the restored report's, written again to say it counts again
    roster_note: str | None = None  # which roster a past year's withdrawal used (Job.roster_note)
    past_year: int | None = None  # the year withdrawn from, when it is not the current one (roster_is_current)


def counted_matching(ledger: Ledger, roster: Roster | None, year: int, target: str) -> list[FileRow]:
    """The year's counted reports that `target` names: by file name (as received), by ledger id (#12),
    or by unit (its roster name, an alias, or the name a roll-up stands under)."""
    rows = [r for r in ledger.files(year) if r.counted]
    text = target.strip()
    if text.startswith("#") and text[1:].isdigit():
        return [r for r in rows if r.id == int(text[1:])]
    by_name = [r for r in rows if r.original_name.casefold() == text.casefold()]
    if by_name:
        return by_name
    unit = roster.match(text) if roster is not None else None
    group = roster.group_named(text) if roster is not None else None  # (a roll-up: 西山县人民政府 → 西山县)
    keys = {normalise(text), *(normalise(n) for n in (unit and unit.name, group and rollup_name(group)) if n)}
    return [r for r in rows if normalise(r.unit or "") in keys]


def _other_years(ledger: Ledger, roster: Roster | None, year: int, target: str) -> list[int]:
    """The other years in which `target` names a counted report (the latest first)."""
    years = [
        y for (y,) in ledger.db.execute("SELECT DISTINCT year FROM files WHERE year<>? ORDER BY year DESC", (year,))
    ]
    return [y for y in years if y is not None and counted_matching(ledger, roster, y, target)]


def _the_one(ledger: Ledger, roster: Roster | None, year: int, target: str) -> FileRow:
    """The one counted report of `year` that `target` names, or WithdrawError saying what to do."""
    rows = counted_matching(ledger, roster, year, target)
    if not rows:
        other = _other_years(ledger, roster, year, target)
        text = target.strip()
        by_file = (text.startswith("#") and text[1:].isdigit()) or any(
            r.original_name.casefold() == text.casefold() for y in other[:1] for r in ledger.files(y)
        )
        if other and by_file:
            hint = f'它是 {other[0]} 年度的报告：要撤回它，请加 --year {other[0]}（如 nianbao withdraw "{text}" --year {other[0]}）。'
        elif other:
            hint = (
                f"（它在 {other[0]} 年度有正在计入的报告；如要撤回 {other[0]} 年度的那份，请加 --year {other[0]}。）"
                "请用 nianbao status 查看各单位计入的文件名。"
            )
        else:
            hint = "请用 nianbao status 查看各单位计入的文件名。"
        raise WithdrawError(
            f"{year} 年度没有名为“{target}”的、正在计入汇总的报告（按文件名、单位名称或台账编号 #N 查找）。" + hint
        )
    if len(rows) > 1:
        listed = "；".join(f"#{r.id} “{r.original_name}”（{r.unit}，{r.received:%Y-%m-%d %H:%M} 收到）" for r in rows)
        raise WithdrawError(
            f"“{target}”对应多份正在计入的报告：{listed}。请改用台账编号，"
            f'如 nianbao withdraw "#{rows[0].id}"（# 前后要加引号）。'
        )
    return rows[0]


def preview(settings: Settings, target: str) -> tuple[FileRow, FileRow | None, str | None]:
    """What withdraw would take out and what would count again in its place, and which roster a past year's
    withdrawal uses (year_roster's note), read without the outbox lock (so that a `run` due meanwhile is not
    kept waiting while the coordinator decides); WithdrawError as withdraw raises it."""
    path = settings.outbox / archive.LEDGER_FILE
    if not path.is_file():
        raise WithdrawError(f"输出文件夹“{settings.outbox}”中还没有台账：没有可撤回的报告。")
    with Ledger(path, readonly=True) as ledger:
        made = year_roster(settings, ledger, save=False)
        row = _the_one(ledger, made.roster, settings.year, target)
        older = ledger.superseded_rows(row.id)
    return row, older[-1] if older else None, made.note


def withdraw(settings: Settings, target: str, *, reason: str = "", expect: int | None = None) -> Withdrawn:
    """Withdraw the one counted report of settings.year that `target` names (counted_matching), then
    write the outputs again. Holds the outbox lock (raises JobBusy while `run` or `watch` runs). `expect`:
    the ledger id `preview` showed the coordinator; another report answering by now is a WithdrawError."""
    with job_lock(settings.outbox, settings.lock_wait_seconds):
        job = Job(settings, mode="withdraw")
        done: dict[str, int] = {}
        try:
            row = _the_one(job.ledger, job.roster, job.year, target)
            past = None if job.roster_current else job.year
            if expect is not None and row.id != expect:
                raise WithdrawError(
                    f"确认期间“{target}”对应的报告有了变化（现在是 #{row.id} “{row.original_name}”），未撤回。请重新运行本命令。"
                )
            spec = job.spec
            when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
            notice = finding(
                spec, "withdrawn", file=row.original_name, found=reason.strip() or "未注明原因", expected=when
            )
            told = notice.about(agency=row.agency, file=row.original_name)
            restored_ids = job.ledger.withdraw(row.id, told)
            restored = job.ledger.get(restored_ids[-1]) if restored_ids else None
            done = {"withdrawn": 1}
            feedback = job.retell(row, told, create=True)  # (so its clerk learns of it)
            again = None
            if restored is not None:  # (its feedback said it was superseded: it counts again, and says so)
                back = finding(spec, "reinstated", file=restored.original_name, found=row.original_name, expected=when)
                again = job.retell(restored, back.about(agency=restored.agency, file=restored.original_name))
            _archive_as_withdrawn(job, row)
            units = job.units()
            outputs = job.write_outputs(units, changed=True)
        finally:
            job.close(done)
    return Withdrawn(row, restored, outputs, feedback, again, job.roster_note, past)


def _archive_as_withdrawn(job: Job, row: FileRow) -> None:
    """Move the withdrawn original from 归档/<年度>/已通过/… to 归档/<年度>/已撤回/<单位>/, where a coordinator
    browsing the archive looks for it: copied there durably, the ledger pointed at the copy, then the old
    one removed (a crash in between leaves a second copy of the same bytes, never none)."""
    old = job.outbox / row.archive_path if row.archive_path else None
    if old is None or not old.is_file():
        return
    try:
        folder = archive.archive_folder(job.outbox, row.year or job.year, WITHDRAWN, row.unit)
        new = archive.store(old, row.sha256, folder, row.original_name, root=job.outbox)
        job.ledger.move_archive(row.id, archive.relative(new, job.outbox))
        old.unlink()
        with contextlib.suppress(OSError):  # (the unit's folder under 已通过, left empty)
            old.parent.rmdir()
    except OSError as exc:  # (the withdrawal stands; the original stays where it was, and is said)
        logger.warning(
            "撤回的原件“{}”未能移到“已撤回”文件夹（{}），仍在 {}", row.original_name, archive.describe_error(exc), old
        )
