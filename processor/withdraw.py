"""Withdraw a counted report at the coordinator's word: it stops counting, the unit's earlier report counts again."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from . import archive
from .batch import Job, Outputs, rollup_name
from .config import Settings
from .findings import finding
from .joblock import job_lock
from .ledger import WITHDRAWN, FileRow, Ledger
from .roster import Roster, normalise


class WithdrawError(ValueError):
    """Nothing (or more than one report) answers to what was asked; the message (Chinese) says what to do."""


class WithdrawCancelled(WithdrawError):
    """The coordinator, shown what would be withdrawn, said no: nothing was changed."""


# Asked before anything changes: (the report to withdraw, the unit's report that would count again) → go on?
Confirm = Callable[[FileRow, FileRow | None], bool]


@dataclass
class Withdrawn:
    """What `withdraw` did."""

    file: FileRow  # the report withdrawn, as it was
    restored: FileRow | None  # the unit's earlier report that counts again, if any
    outputs: Outputs | None  # the outputs written again (None: they could not be: the log says why)
    feedback: Path | None = None  # the file's feedback workbook, written again to say it was withdrawn
    restored_feedback: Path | None = None  # the restored report's, written again to say it counts again


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


def withdraw(settings: Settings, target: str, *, reason: str = "", confirm: Confirm | None = None) -> Withdrawn:
    """Withdraw the one counted report of settings.year that `target` names (counted_matching), then
    write the outputs again. Holds the outbox lock (raises JobBusy while `run` or `watch` runs). With
    `confirm`, it is asked first, with what would change; if it says no, WithdrawCancelled (nothing changed)."""
    with job_lock(settings.outbox, settings.lock_wait_seconds):
        job = Job(settings, mode="withdraw")
        done: dict[str, int] = {}
        try:
            rows = counted_matching(job.ledger, job.roster, job.year, target)
            if not rows:
                other = _other_years(job.ledger, job.roster, job.year, target)
                hint = (
                    f"它是 {other[0]} 年度的报告：要撤回它，请加 --year {other[0]}（如 nianbao withdraw "
                    f'"{target}" --year {other[0]}）。'
                    if other
                    else "请用 nianbao status 查看各单位计入的文件名。"
                )
                raise WithdrawError(
                    f"{job.year} 年度没有名为“{target}”的、正在计入汇总的报告（按文件名、单位名称或台账编号 #N 查找）。"
                    + hint
                )
            if len(rows) > 1:
                listed = "；".join(
                    f"#{r.id} “{r.original_name}”（{r.unit}，{r.received:%Y-%m-%d %H:%M} 收到）" for r in rows
                )
                raise WithdrawError(
                    f"“{target}”对应多份正在计入的报告：{listed}。请改用台账编号，"
                    f'如 nianbao withdraw "#{rows[0].id}"（# 前后要加引号）。'
                )
            row = rows[0]
            if confirm is not None:
                older = job.ledger.superseded_rows(row.id)
                if not confirm(row, older[-1] if older else None):
                    raise WithdrawCancelled(f"未撤回“{row.original_name}”（{row.unit}）：已取消，什么都没有改动。")
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
    return Withdrawn(row, restored, outputs, feedback, again)


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
