"""One job over the inbox: intake, check, feedback, archive, ledger, consolidation (the I/O edge).

Per file, in this order (crash-safe: any interruption leaves a state the next run completes):

1. read the bytes once and hash them (SHA-256 identifies the file from now on);
2. ledger: a 'received' row, committed;
3. check (a pure function of the bytes; may run in a worker process);
4. feedback workbook written atomically (temp file + rename);
5. the original stored in the archive (temp file in the archive folder, fsync, link to a free name);
6. ledger: outcome, destination, values, superseded older submission: one transaction;
7. the original unlinked from the inbox (only if it is still the file that was archived).

On the next run, an inbox file whose hash the ledger has as done from the same inbox path is just
unlinked (step 7 was lost); a 'received' row is processed again (the archive step finds its earlier
copy by content and does not copy twice). Nothing is counted twice: the counts come from the ledger.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import multiprocessing
import os
import signal
import stat
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from loguru import logger

from . import archive, atomic
from .atomic import TEMP_PREFIX, TEMP_SUFFIX, atomic_path
from .config import Settings, configured_year
from .consolidate import (
    COUNTED,
    COVERED,
    MISSING,
    REJECTED,
    ROLLUP,
    STATUS_LABEL,
    SummaryData,
    UnitResult,
    alike_units,
    covering,
    named_in,
)
from .findings import ERROR, NOTICE, WARNING, Finding, Report, finding, findings_packed, findings_unpacked
from .inbox import Candidate, Changing, Skipped, read_snapshot, wait_for_complete
from .joblock import job_lock
from .kept import Memo
from .layout import layout, note_code
from .ledger import (
    DONE,
    DUPLICATE,
    WITHDRAWN,
    FileRow,
    KeptRows,
    Ledger,
    findings_to_json,
    light_submission,
    now,
    submission_to_blob,
)
from .logs import progress
from .roster import (
    Roster,
    RosterError,
    Unit,
    load_roster,
    normalise,
    roster_from_json,
    roster_json,
    short_name,
)
from .spec import Spec, edition_for_year, get_spec
from .submission import Submission

if TYPE_CHECKING:
    from .similarity import Comparisons
    from .summary import RowCache

ACCEPTED, WARNED, EXPLAINED = "accepted", "warning", "explained"
FILE_STATUS_LABEL = {
    **STATUS_LABEL,
    DUPLICATE: "重复提交",
    WITHDRAWN: "已撤回",
    "recovered": "上次中断，已补完",
    "error": "处理出错",
}
OUTSIDE_ROSTER = "名册以外的单位"
NOT_REFUSED = -1  # (Job._roster_refused: no mtime is -1; None is a roster file that is not there)
# Windows waits on at most 63 handles at once: ProcessPoolExecutor refuses more than 61 workers there
MAX_WORKERS = 61 if os.name == "nt" else 1 << 10
# a file the job itself died on this often is returned unread. A file that kills the worker checking it
# is found out at once (_ordered); this only stops a job that keeps dying from looping on one file.
MAX_ATTEMPTS = 10
IN_MEMORY_LIMIT = 64 * 1024 * 1024  # larger files are streamed, never held in memory
MIN_POOL_FILES = 4  # fewer files are checked in this process (starting workers costs more)
COMMIT_FILES = 200  # files archived per ledger transaction (NIANBAO_COMMIT_EVERY overrides: tests)
COMMIT_SECONDS = 1.0  # … or fewer, when the batch has waited this long
IN_FLIGHT = 32  # files handed to each worker ahead: they keep working while a batch is made durable (~0.2 s)
IN_FLIGHT_BYTES = 64 << 20  # … and at most about this much file content held for them
RECEIVE_FILES = 16  # files read and received per ledger transaction before they are checked

CheckFn = Callable[..., Any]  # check_workbook(source, *, name, previous, options, limits) -> CheckResult
FeedbackFn = Callable[[Path, Any], Path]
SummaryFn = Callable[..., Path]


# ---- the per-file step (pure: bytes in, a small picklable result out) -----------------------


@dataclass(frozen=True)
class Task:
    """One file to check, as handed to a worker."""

    file_id: int
    name: str
    rel: str
    folders: tuple[str, ...]
    sha256: str
    source: bytes | str  # the content, or the path of a file too large to hold in memory
    year: int
    text_limit: int | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1


@dataclass
class Examined:
    """What checking one file found; the CheckResult's report already holds the batch's own findings."""

    task: Task
    result: Any  # CheckResult (file, submission, report, spec)
    unit: str | None  # roster name, or the name as written when the roster does not know it
    on_roster: bool
    group: tuple[str, ...] = ()
    error: str | None = None  # the check itself failed (a bug or an unexpected condition)
    trace: str | None = None  # its traceback, for the log file
    blob: bytes | None = None  # the submission as the ledger stores it (made where it was checked)
    feedback_draft: str | None = None  # feedback workbook written under a temporary name in its folder
    feedback_error: str | None = None  # why the draft could not be written
    archive_draft: str | None = None  # the file's bytes written ahead into its archive folder (archive.draft)
    seconds: tuple[float, float] = (0.0, 0.0)  # time spent checking, writing the feedback draft


@dataclass
class Context:
    """What the per-file step needs besides the file: roster, last year's data, the check function."""

    roster: Roster | None
    # (a unit's names: its roster name, then its aliases; year) → that year's counted submission of it
    previous: Callable[[tuple[str, ...], int], Submission | None]
    check: CheckFn | None = None
    answered: Callable[[str, int], bool] | None = None  # (unit, year) → it has a feedback workbook already
    counted_in: Callable[[str], set[int]] | None = None  # (sha256) → the years a file of that content counted for


def status_of(report: Report) -> str:
    """accepted | warning | explained | rejected, from the findings."""
    if report.errors:
        return REJECTED
    if report.open_warnings:
        return WARNED
    if report.warnings:
        return EXPLAINED
    return ACCEPTED


def _default_check(source: Any, **kwargs: Any) -> Any:
    from .check import check_workbook

    return check_workbook(source, **kwargs)


def _options(task: Task) -> Any:
    from .check import Options

    return Options(year=task.year, text_limit=task.text_limit)


def _limits(task: Task) -> Any:
    return dict(task.limits) or None  # the reader takes a mapping of Limits fields


def identify(
    roster: Roster | None,
    agency: str | None,
    credit_code: str | None,
    hints: Iterable[str],
    kind: str = "report",
) -> tuple[str | None, bool, tuple[str, ...]]:
    """(unit, on roster, group) for a file: by the 单位名称 written, else by its folder or file name.

    A roll-up (a county's consolidated report) is the group it stands for (`Roster.group_named`),
    placed at the group's parent, so that the summary counts it instead of the group's units; else the
    unit it names exactly (a department's report of its own subordinate bodies); else it is outside the
    roster (and refused: `rollup-group-unknown`), never a unit found by its file or folder name.
    """
    if roster is not None and len(roster):
        if kind == ROLLUP:  # a group's, else a unit's own (教育局 with its schools), never a unit by a hint
            path = roster.group_named(agency)
            if path is not None:
                return rollup_name(path), True, path[:-1]
            unit = roster.match(agency, credit_code)
            if unit is not None:
                return unit.name, True, unit.group
            name = (agency or "").strip() or None
            return name, False, (OUTSIDE_ROSTER,) if name else ()
        unit = roster.match(agency, credit_code)
        if unit is None:
            for hint in hints:
                unit = roster.find_in(hint)
                if unit is not None:
                    break
        if unit is not None:
            return unit.name, True, unit.group
    name = (agency or "").strip() or None
    return name, False, (OUTSIDE_ROSTER,) if name and roster is not None and len(roster) else ()


def examine(task: Task, ctx: Context) -> Examined:
    """Check one file and say whose it is. Pure apart from reading last year's data; never raises."""
    if task.attempts > MAX_ATTEMPTS:
        return _gave_up(task)
    check = ctx.check or _default_check
    try:
        hints = (*reversed(task.folders), Path(task.name).stem)

        def last_year(sub: Submission) -> Submission | None:
            """The same unit's counted report of the year before (cross-year rules I1–I3), if any."""
            credit = sub.texts.get("info.credit_code")
            unit, on_roster, _ = identify(ctx.roster, sub.agency, credit, hints, sub.kind)
            if not (unit and on_roster and task.year):
                return None
            known = ctx.roster.match(unit) if ctx.roster is not None else None
            return ctx.previous((unit, *(known.aliases if known is not None else ())), task.year - 1)

        kwargs = {"name": task.name, "options": _options(task), "limits": _limits(task)}
        result = check(task.source, previous=last_year, **kwargs)
        sub = result.submission
        agency = sub.agency if sub else None
        credit = sub.texts.get("info.credit_code") if sub else None
        unit, on_roster, group = identify(ctx.roster, agency, credit, hints, sub.kind if sub else "report")
        if sub is not None and sub.kind == ROLLUP:
            extra = [] if on_roster else _rollup_findings(ctx.roster, result, agency)
        else:
            extra = _unit_findings(ctx.roster, result, agency, unit, on_roster, Path(task.name).stem, task.folders)
        if extra:
            result.report = Report([*result.report.findings, *extra])
        _as_counted_elsewhere(result, task, ctx)
        return Examined(task, result, unit, on_roster, group)
    except Exception as exc:  # a bug must not stop the job: the file stays in the inbox, the log says why
        return Examined(task, None, None, False, (), f"{type(exc).__name__}: {exc}", traceback.format_exc())


def rollup_name(path: tuple[str, ...]) -> str:
    """The unit a roll-up of a roster group is known by: the group's name, with the groups above it for a
    nested one (西山县乡镇街道: 北山县 has a 乡镇街道 too; `consolidate.covered_path` finds the group again)."""
    return "".join(path)


def _rollup_findings(roster: Roster | None, result: Any, agency: str | None) -> list[Finding]:
    """rollup-group-unknown when a roster is in use and neither a group nor a unit of it is the one a
    roll-up stands for: counted as a unit outside the roster, it would be summed beside the units it covers."""
    if roster is None or not len(roster) or result.submission is None:
        return []
    spec = result.submission.spec
    place = layout(spec).places["info.agency"]
    closest = roster.closest_groups(agency)
    nearest = "、".join(f"“{n}”" for n in closest) if closest else None
    covers = result.submission.covers or []
    ours = [n for n in covers if roster.match(n) is not None or roster.match(short_name(n) or n) is not None]
    own = (  # (most of the units it says are this roster's: likely this level's own 上报用 report, dropped in)
        f"它所列的单位（如“{ours[0]}”）大多是本级名册中的单位：如这是本级自己生成的上报用汇总报告，"
        "请把它交给上级汇总单位，不要放进本级的收件文件夹；否则，"
        if covers and len(ours) * 2 > len(covers)
        else ""
    )
    f = finding(
        spec,
        "rollup-group-unknown",
        sheet=place.sheet,
        cell=place.a1,
        code="info.agency",
        found=agency or "（空）",
        expected=nearest,
        closest=f"最接近的分组：{nearest}" if nearest else "名册中没有相近的分组",
        own=own,
        file=result.file,
    )
    return [replace(f, agency=agency)]


def _unit_findings(
    roster: Roster | None,
    result: Any,
    agency: str | None,
    unit: str | None,
    on_roster: bool,
    stem: str = "",
    folders: tuple[str, ...] = (),
) -> list[Finding]:
    """unit-unknown when a roster is in use and the 单位名称 written is not on it; unit-name-mismatch
    when it is, but the file's name, or else the inbox folder it is in, names another roster unit and
    not this one (a clerk who filled in another unit's file: counted for the unit written, it would
    replace that unit's report unseen)."""
    if roster is None or not len(roster) or not agency or result.submission is None:
        return []
    spec = result.submission.spec
    place = layout(spec).places["info.agency"]
    where = {"sheet": place.sheet, "cell": place.a1, "code": "info.agency", "file": result.file}
    written = roster.match(agency)
    if written is not None:
        if unit != written.name:
            return []
        said = _named_elsewhere(roster, written, f"{stem}{Path(result.file).suffix}", folders)
        if said is None:
            return []
        other, source, advice = said
        f = finding(
            spec, "unit-name-mismatch", **where, found=written.name, expected=other.name, source=source, advice=advice
        )
        return [replace(f, agency=agency)]
    closest = roster.closest(agency)
    nearest = "、".join(f"“{n}”" for n in closest) if closest else "（无相近名称）"
    f = finding(spec, "unit-unknown", **where, found=agency, expected=nearest)
    counted_as = f"已按文件位置识别为“{unit}”" if on_roster and unit else "暂按名册以外的单位处理"
    f = replace(f, message=f"{f.message}（{counted_as}。）", agency=agency)
    return [f]


def _named_elsewhere(
    roster: Roster, written: Unit, file: str, folders: tuple[str, ...]
) -> tuple[Unit, str, str] | None:
    """Another roster unit the file's name, or else its innermost inbox folder that names a unit, says the
    file is of (Roster.speaks_for; a folder called exactly like a unit, an alias, or a government's place:
    青石乡), with the words for the message: where it is said, and how to file it so that it is not said
    again. A file name that names the unit written settles it; a group's folder (西山县, 西山县政府,
    乡镇街道) and the folder of a unit above it (its county's government) name no other unit."""
    stem = Path(file).stem
    if roster.names(written, stem) or roster.place_in(written, stem):
        return None
    other = roster.speaks_for(stem, written)
    if other is not None:
        return other, f"文件名“{file}”", "文件名写明本单位名称"
    for folder in reversed(folders):  # (innermost first)
        if roster.is_group(folder):
            continue
        other = roster.match(folder) or roster.government_at(folder)
        if other == written:
            return None
        if other is None:
            if roster.names(written, folder):
                return None
            other = roster.speaks_for(folder, written)
        if other is None or (
            len(other.group) < len(written.group) and written.group[: len(other.group)] == other.group
        ):
            continue
        return other, f"文件所在的文件夹“{folder}”", "放在本单位的文件夹中"
    return None


# ---- worker processes ------------------------------------------------------------------------

_worker_ctx: Context | None = None
_worker_out: tuple[Path | None, FeedbackFn | None] = (None, None)


def _init_worker(
    roster: Roster | None,
    ledger_path: str,
    check: CheckFn | None,
    outbox: str | None = None,
    feedback: FeedbackFn | None = None,
) -> None:
    global _worker_ctx, _worker_out
    logger.remove()  # workers report through their results; the main process logs
    # Ctrl-C in a terminal (SIGINT to the whole process group) or a service stopped (SIGTERM to its
    # group) is for the main process to handle: it stops between files and shuts the pool down; a
    # worker interrupted in the middle of a file would leave the pool broken or hanging.
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    ledger = Ledger(Path(ledger_path), readonly=True)
    _worker_ctx = Context(roster, _last_year_lookup(ledger), check, _feedback_lookup(ledger), _counted_lookup(ledger))
    _worker_out = (Path(outbox) if outbox else None, feedback)


def _examine_in_worker(task: Task) -> Examined:
    assert _worker_ctx is not None
    ex = examine_and_prepare(task, _worker_ctx, *_worker_out)
    ex.task = replace(task, source=b"")  # the main process has the bytes: not pickled back
    return ex


def examine_and_prepare(task: Task, ctx: Context, outbox: Path | None, feedback: FeedbackFn | None) -> Examined:
    """examine(), then what only depends on the file: the ledger blob of its submission and, when it
    has findings, its feedback workbook under a temporary name in its feedback folder (the main
    process gives it its final name). Runs in the worker, so that this work is parallel too."""
    _crash_examining(task.name)
    t0 = time.perf_counter()
    ex = examine(task, ctx)
    t1 = time.perf_counter()
    result = ex.result
    if _orphaned():  # the job was killed: nobody will take this file's drafts
        outbox = None
    if result is not None and result.submission is not None:
        try:
            ex.blob = submission_to_blob(result.submission)
        except Exception:  # the main process will try again (and log)
            ex.blob = None
        if outbox is not None and isinstance(task.source, bytes):
            folder = archive.archive_folder(outbox, task.year, status_of(result.report), ex.unit)
            try:
                ex.archive_draft = str(archive.draft(task.source, task.sha256, folder))
            except Exception:  # the main process stores it (and logs what fails)
                ex.archive_draft = None
        answered = bool(ex.unit) and ctx.answered is not None and ctx.answered(ex.unit, task.year)  # type: ignore[arg-type]
        if (result.report.findings or answered) and outbox is not None:
            folder = archive.feedback_folder(outbox, task.year, _feedback_unit(ex, ctx.roster))
            draft = folder / f"{TEMP_PREFIX}fb-{task.file_id}-{task.sha256[:12]}{TEMP_SUFFIX}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                ex.feedback_draft = str(Path((feedback or _default_feedback)(draft, result)))
            except Exception as exc:
                draft.unlink(missing_ok=True)
                ex.feedback_error = str(exc) or type(exc).__name__
    ex.seconds = (t1 - t0, time.perf_counter() - t1)
    return ex


# what a terminal's Ctrl-C or a service manager's stop sends to every process of the job
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name))


def _started() -> None:
    """A worker's first task: it is running (Job._examine_all starts them all at once)."""


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM in this process while workers are started (main thread only): a
    process started meanwhile begins with them ignored (POSIX keeps an ignored signal ignored across
    exec, and Python then installs no KeyboardInterrupt handler). A Ctrl-C sent to the whole group
    while a worker was still loading would otherwise kill it before _init_worker ignores it, and the
    pool would hang. (Windows: only _init_worker's.)"""
    if os.name == "nt" or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _orphaned() -> bool:
    """This is a worker whose job died (killed, out of memory): it goes on with the file it has, but
    drafts it wrote now could come after the next job's start looked for temporary files."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()


def _feedback_unit(ex: Examined, roster: Roster | None) -> str | None:
    """The feedback folder's unit: the unit found, else _folder_unit."""
    return ex.unit or _folder_unit(ex.task.folders, roster)


def _folder_unit(folders: tuple[str, ...], roster: Roster | None) -> str | None:
    """The roster unit the innermost inbox folder names (公安局: a short name; 青石乡: a township's place),
    else none (未识别单位; a folder 乡镇街道 inside 西山县人民政府 is not the county's, nor 西山县 a unit).
    Without a roster, the innermost folder itself (the units' own folders)."""
    if not folders:
        return None
    folder = folders[-1]
    if roster is None or not len(roster):
        return folder
    if roster.is_group(folder):  # (西山县: many units' folder)
        return None
    named = roster.find_in(folder) or roster.government_at(folder) or next(iter(roster.named_in(folder)), None)
    return named.name if named is not None else None


def _previous(ledger: Ledger, unit: str, year: int) -> Submission | None:
    row = ledger.counted(unit, year)
    return ledger.submission(row.id) if row else None


_T = TypeVar("_T")


def _as_counted_elsewhere(result: Any, task: Task, ctx: Context) -> None:
    """Another year's report whose very content counted for that year (last year's report sent again: the
    wrong file picked) is told so, instead of how to send it in late (year-mismatch's `how_same`)."""
    findings = result.report.findings
    at = next((k for k, f in enumerate(findings) if f.rule_id == "year-mismatch"), None)
    if at is None or ctx.counted_in is None or result.spec is None:
        return
    f = findings[at]
    if not (f.found and f.found.isdigit() and int(f.found) in ctx.counted_in(task.sha256)):
        return
    from .check import year_finding

    told = year_finding(result.spec, int(f.found), int(f.expected or 0), "how_same")
    result.report = Report([*findings[:at], told, *findings[at + 1 :]])


def _per_year(query: Callable[[int], _T]) -> Callable[[int], _T]:
    """query(year), asked once per year (a query per file cost ~0.3 ms while the main process commits)."""
    known: dict[int, _T] = {}

    def of(year: int) -> _T:
        if year not in known:
            known[year] = query(year)
        return known[year]

    return of


def _last_year_lookup(ledger: Ledger) -> Callable[[tuple[str, ...], int], Submission | None]:
    """_previous for a worker: the units counted in a year are listed once; a job writes only its own
    year, never the one before. A unit renamed since (机构改革) is found by an alias: the ledger keeps last
    year's reports under the names they were counted under. Two or more of its names counted (units merged
    into it, under its own name or not) give none: no one report to compare with."""
    then = _per_year(lambda year: _as_it_was(ledger, year))

    def previous(names: tuple[str, ...], year: int) -> Submission | None:
        if _merged(names, then(year)):  # (units merged into it: no one report to compare with)
            return None
        known = then(year).counted
        found = list(dict.fromkeys(known[k] for k in map(normalise, names) if k in known))
        if len(found) != 1:
            return None
        return _previous(ledger, found[0], year)

    return previous


@dataclass
class _YearAsItWas:
    """A year's units as far as the ledger knows them: the roster saved with the year (else None), and the
    names its counted reports were recorded under (normalised → as recorded), each report's 统一社会信用代码
    read when asked (without a saved roster, names of one unit — renamed within the year, reports under
    both — and of several — merged since — are told apart by it)."""

    roster: Roster | None
    counted: dict[str, str]
    ledger: Ledger
    year: int
    codes: dict[str, str] = field(default_factory=dict)

    def code(self, key: str) -> str:
        if key not in self.codes:
            row = self.ledger.counted(self.counted[key], self.year)
            sub = self.ledger.submission(row.id) if row is not None else None
            self.codes[key] = normalise((sub.texts.get("info.credit_code") if sub is not None else "") or "")
        return self.codes[key]


def _merged(names: tuple[str, ...], then: _YearAsItWas) -> bool:
    """Whether a unit's names (its roster name, then its aliases) are those of two or more of a year's units:
    by that year's roster as saved, else by the names its counted reports were recorded under, when those
    reports give different 统一社会信用代码 (none given: taken for one unit)."""
    if then.roster is not None:
        return len({id(u) for u in map(then.roster.match, names) if u is not None}) > 1
    keys = list(dict.fromkeys(k for k in map(normalise, names) if k in then.counted))
    if len(keys) < 2:
        return False
    codes = [then.code(k) for k in keys]
    return all(codes) and len(set(codes)) == len(codes)


def _as_it_was(ledger: Ledger, year: int) -> _YearAsItWas:
    """A year's units as the ledger knows them (_YearAsItWas); a saved roster that cannot be read is said."""
    try:
        kept = saved_roster(ledger, year)
    except RosterError as exc:
        logger.warning("{}，按现在的名册处理", exc)
        kept = None
    counted = {normalise(u): u for u in ledger.counted_units(year)}
    return _YearAsItWas(kept[0] if kept is not None else None, counted, ledger, year)


def _counted_lookup(ledger: Ledger) -> Callable[[str], set[int]]:
    """The years a file of some content counted for (asked only of a file refused for its year)."""
    return lambda sha: {r.year for r in ledger.by_hash(sha) if r.counted and r.year is not None}


def _feedback_lookup(ledger: Ledger) -> Callable[[str, int], bool]:
    """Whether a unit had a feedback workbook written in a year, as the ledger said when first asked (a
    worker then drafts one for a clean file of it too; one the job writes meanwhile is the main
    process's to see: Job._feedback_units)."""
    answered = _per_year(ledger.feedback_units)
    return lambda unit, year: unit in answered(year)


class Workers:
    """The worker processes that examine files, started at the first task. A pool that lost a worker
    (killed, out of memory, a file that crashed the reader) is replaced by renew(); `generation` says
    which pool a task went to."""

    def __init__(
        self, size: int, initargs: tuple[Any, ...], initializer: Callable[..., None] | None = _init_worker
    ) -> None:
        self.size, self.initargs, self.initializer = min(size, MAX_WORKERS), initargs, initializer
        self.pool: ProcessPoolExecutor | None = None
        self.generation = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.size,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=self.initializer,
                initargs=self.initargs,
            )
            with _interrupts_ignored():  # (the workers start with Ctrl-C ignored: see _init_worker)
                for _ in range(self.size):  # each submit starts a worker while none is idle
                    self.pool.submit(_started)
        return self.pool.submit(fn, *args)

    def renew(self) -> None:
        """Shut the pool down (what is still queued is cancelled); the next task starts a new one."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None
        self.generation += 1

    def probe(self) -> None:
        """Raise unless a pool can run a task that does nothing: workers that cannot start or work
        at all (the ledger unreadable, no memory left) are the job's failure, not a file's."""
        try:
            self.submit(_started).result()
        except BrokenProcessPool as exc:
            self.renew()
            raise RuntimeError("检查文件的工作进程无法运行（启动后随即退出），未处理的文件留在收件文件夹") from exc


def _ordered(
    items: Iterable[Task],
    fn: Callable[[Task], Examined],
    workers: Workers,
    window: int,
    max_bytes: int = IN_FLIGHT_BYTES,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[Examined]:
    """Results of fn over items in order, computed by the workers; at most `window` tasks and about
    `max_bytes` of file content in flight.

    A worker that dies takes the files in flight with it, and nothing says which one killed it. The
    pool is replaced, and before anything new is handed out, each file it lost is checked again alone:
    the one that kills a worker alone (while a fresh pool can still run an empty task) is returned
    unread (_crashed); the others go on as usual. A task retried after an interruption of the job runs
    alone from the start. Stopped (`stop()`) while files are checked again, it ends there: the files
    not yet yielded are left to the caller, unblamed.
    """
    pending: deque[tuple[Task, Future, int, int]] = deque()  # (task, future, bytes, pool generation)
    held = 0

    def submit(task: Task) -> Future:
        try:
            return workers.submit(fn, task)
        except BrokenProcessPool as exc:  # a worker died since the last result was taken
            lost: Future = Future()
            lost.set_exception(exc)
            return lost

    def take() -> Examined | None:
        nonlocal held
        task, future, size, generation = pending.popleft()
        held -= size
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        if generation == workers.generation:  # (the pool it was lost with is replaced once)
            workers.renew()
        if stop():
            return None
        try:
            return workers.submit(fn, task).result()  # nothing else in flight: the pending are all lost
        except BrokenProcessPool:
            workers.renew()
        if stop():  # (Ctrl-C reaches the workers too where they cannot ignore it while starting: Windows)
            return None
        workers.probe()
        return _crashed(task)

    def recovering() -> bool:
        """The oldest file in flight went to a pool that has since been replaced."""
        return bool(pending) and pending[0][3] != workers.generation

    for item in items:
        solo = item.attempts > 1
        while pending and (solo or recovering()):
            if (ex := take()) is None:
                return
            yield ex
        size = len(item.source) if isinstance(item.source, bytes) else 0
        pending.append((item, submit(item), size, workers.generation))
        held += size
        while pending and (solo or recovering() or len(pending) >= window or held >= max_bytes):
            if (ex := take()) is None:
                return
            yield ex
    while pending:
        if (ex := take()) is None:
            return
        yield ex


# ---- outcomes --------------------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What the job did with one file (one console line, one --json entry)."""

    name: str
    rel: str
    status: str  # accepted | warning | explained | rejected | duplicate | recovered | error
    unit: str | None = None
    on_roster: bool = False
    sha256: str | None = None
    findings: list[Finding] = field(default_factory=list)
    archive: Path | None = None
    feedback: Path | None = None
    note: str | None = None  # a reason in Chinese (error, duplicate of …)

    @property
    def counts(self) -> Counter[str]:
        return Counter(
            "explained" if f.explained else f.severity for f in self.findings if f.severity in (ERROR, WARNING, NOTICE)
        )

    def line(self) -> str:
        """The console line for this file."""
        who = f"（{self.unit}）" if self.unit else ""
        label = FILE_STATUS_LABEL.get(self.status, self.status)
        c = self.counts
        bits = [
            f"{k} {c[key]}"
            for key, k in ((ERROR, "错误"), (WARNING, "警告"), ("explained", "已说明"), (NOTICE, "提示"))
            if c[key]
        ]
        text = f"{label}：{self.rel}{who}"
        if bits:
            text += "  " + "，".join(bits)
        if self.note:
            text += f"  {self.note}"
        if self.status == REJECTED:
            first = next((f for f in self.findings if f.severity == ERROR), None)
            if first:
                text += f"  首个错误：{first.message}"
        return text

    def to_dict(self, outbox: Path) -> dict[str, Any]:
        return {
            "file": self.rel,
            "status": self.status,
            "unit": self.unit,
            "on_roster": self.on_roster,
            "sha256": self.sha256,
            "archive": str(self.archive) if self.archive else None,
            "feedback": str(self.feedback) if self.feedback else None,
            "note": self.note,
            "counts": dict(self.counts),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class RunResult:
    """What one run (or one watch cycle) did, and where its outputs are."""

    year: int
    edition: str
    outbox: Path
    files: list[FileOutcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    waiting: list[Candidate] = field(default_factory=list)  # still being written; left for later
    units: list[UnitResult] = field(default_factory=list)
    unidentified: list[FileRow] = field(default_factory=list)  # this year's files of no known unit
    summary: Path | None = None
    reports: list[Path] = field(default_factory=list)  # consolidated figures as filled report templates
    group_summaries: list[Path] = field(default_factory=list)  # one per roster group (--by-group)
    stale_groups: list[Path] = field(default_factory=list)  # group summaries of an earlier --by-group, not rewritten
    roster: Path | None = None
    interrupted: bool = False
    kept: bool = False  # the outputs were left as they were (nothing they are made from changed)
    failed_outputs: list[Path] = field(default_factory=list)  # group summaries not written (see Outputs.failed)
    set_aside: list[Path] = field(default_factory=list)  # edited outputs kept under another name (Outputs)
    noticed: list[Finding] = field(default_factory=list)  # what summing found (Outputs.noticed)
    roster_note: str | None = None  # which roster a past year's job used (Job.roster_note)
    past_year: bool = False  # a job for another year than the current one (roster_is_current)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per part of the job (--json)

    def take(self, outputs: Outputs | None) -> None:
        """Record where the consolidated outputs went (None: they could not be written)."""
        if outputs is not None:
            self.summary, self.reports, self.group_summaries = outputs.summary, outputs.reports, outputs.groups
            self.kept, self.failed_outputs, self.set_aside = outputs.kept, outputs.failed, outputs.set_aside
            self.noticed, self.stale_groups = outputs.noticed, outputs.stale_groups

    @property
    def alike_units(self) -> int:
        """How many units summing found 内容雷同 of."""
        return alike_units(self.noticed)

    def count(self, *statuses: str) -> int:
        return sum(1 for f in self.files if f.status in statuses)

    def covered(self) -> dict[str, str]:
        """consolidate.covering of the units listed, made once for them (the run's lines, --json and the
        ledger's counts all ask)."""
        known = self.__dict__.get("_covered")
        if known is None or known[0] is not self.units:
            known = self.__dict__["_covered"] = (self.units, covering(self.units))
        return known[1]

    def shown(self) -> list[tuple[UnitResult, str]]:
        """Each unit with its status as the summary shows it: COVERED for a unit a counted roll-up stands for."""
        covered = self.covered()
        return [(u, COVERED if u.name in covered else u.status) for u in self.units]

    @property
    def missing(self) -> list[str]:
        """The roster units nothing arrived for (nor a roll-up standing for them)."""
        return [u.name for u, status in self.shown() if status == MISSING and u.listed]

    @property
    def unit_counts(self) -> Counter[str]:
        """The roster units by status as shown (a roll-up and a unit outside the roster are not roster units)."""
        return Counter(status for u, status in self.shown() if u.listed)

    def counts(self) -> dict[str, Any]:
        """The numbers of to_dict() without the lists (what the ledger's runs table keeps)."""
        d = self.to_dict(files=False, findings=False)
        d["files"], d["summary_findings"] = self.files, self.noticed  # (counted, not made into dicts)
        return {
            k: len(v) if isinstance(v, list) else v
            for k, v in d.items()
            if k not in ("archive", "feedback", "log", "timings")
        }

    def to_dict(self, *, files: bool = True, findings: bool = True) -> dict[str, Any]:
        """What --json prints; `files`, `findings`: False leaves those lists empty (json_chunks writes them
        one entry at a time)."""
        units = self.unit_counts
        return {
            "year": self.year,
            "edition": self.edition,
            "received": self.count(ACCEPTED, WARNED, EXPLAINED, REJECTED, DUPLICATE),
            "accepted": self.count(ACCEPTED, EXPLAINED),
            "accepted_with_warnings": self.count(WARNED),
            "explained": self.count(EXPLAINED),
            "rejected": self.count(REJECTED),
            "duplicates": self.count(DUPLICATE),
            "recovered": self.count("recovered"),
            "errors": self.count("error"),
            "skipped": [{"file": str(s.path), "reason": s.reason} for s in self.skipped],
            "waiting": [c.rel for c in self.waiting],
            "missing": self.missing,
            "units": {
                "expected": sum(1 for u in self.units if u.listed),
                **{status: units[status] for status in (*COUNTED, REJECTED, MISSING, COVERED)},
                "outside_roster": sum(1 for u in self.units if u.group[:1] == (OUTSIDE_ROSTER,)),
                "rollups": sum(1 for u in self.units if u.is_rollup and u.status in COUNTED),
            },
            "summary": str(self.summary) if self.summary else None,
            "summary_unchanged": self.kept,
            "roster_note": self.roster_note,
            "past_year": self.past_year,
            "reports": [str(p) for p in self.reports],
            "group_summaries": [str(p) for p in self.group_summaries],
            "stale_group_summaries": [str(p) for p in self.stale_groups],
            "failed_outputs": [str(p) for p in self.failed_outputs],
            "set_aside": [str(p) for p in self.set_aside],
            "summary_findings": [f.to_dict() for f in self.noticed] if findings else [],
            "text_similar_units": self.alike_units,
            "archive": str(self.outbox / archive.ARCHIVE_DIR),
            "feedback": str(self.outbox / archive.FEEDBACK_DIR / archive.year_folder(self.year)),
            "ledger": str(self.outbox / archive.LEDGER_FILE),
            "log": str(self.outbox / archive.LOG_DIR / "nianbao.log"),
            "interrupted": self.interrupted,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "files": [f.to_dict(self.outbox) for f in self.files] if files else [],
        }


# ---- the job ---------------------------------------------------------------------------------


def _crash_point(step: str) -> None:
    """Test seam: NIANBAO_CRASH_AT=<step>:<n> kills the process at the n-th time `step` is reached."""
    spec = os.environ.get("NIANBAO_CRASH_AT")
    if not spec:
        return
    want, _, n = spec.partition(":")
    if want != step:
        return
    _crash_counts[step] += 1
    if _crash_counts[step] >= int(n or 1):
        os._exit(137)


_crash_counts: Counter[str] = Counter()


def _crash_examining(name: str) -> None:
    """Test seam: NIANBAO_CRASH_EXAMINING=<file name> kills the process that checks that file, as a
    file that crashes the reader would (in a worker, only the worker dies)."""
    if os.environ.get("NIANBAO_CRASH_EXAMINING") == name:
        os._exit(139)


@dataclass
class _Finished:
    """A file archived and waiting for its batch's ledger transaction (then its unlink)."""

    cand: Candidate
    record: dict[str, Any]  # Ledger.complete keyword arguments
    outcome: FileOutcome
    stored: Path
    unit: str | None  # the unit it counts for (None when it does not count)
    light: Submission | None = None  # its submission as the summary loads it (ledger.light_submission)


def _known(cand: Candidate, rows: list[FileRow], year: int) -> FileRow | None:
    """Of the ledger rows of a file's content (Ledger.by_hash), the finished one it repeats, if any
    (its original, not a duplicate record). The very file left behind (same place, size and mtime: its
    unlink failed) is known whatever became of it. Else only a report that counted for this `year` is:
    the same content as a refused one is checked again (the refusal may have been the job's: another year,
    a size limit since raised — and else the clerk gets the same answer again, not "不重复计入"), as a
    withdrawn one it is taken as new, and last year's report sent again this year is checked (and refused
    for its year, with feedback saying so: a duplicate of it would tell nobody anything)."""
    done = [r for r in rows if r.state == DONE]
    left = [r for r in done if r.inbox_path == cand.rel and r.mtime_ns == cand.mtime_ns and r.size == cand.size]
    if left:
        return left[-1]
    counted = {r.id for r in done if r.status in COUNTED and r.year == year}
    done = [r for r in done if r.id in counted or r.duplicate_of in counted]
    if not done:
        return None
    same_path = [r for r in done if r.inbox_path == cand.rel]
    return same_path[-1] if same_path else done[0]


def _discard(path: str | None) -> None:
    if path:
        Path(path).unlink(missing_ok=True)


def _discard_draft(path: str | None) -> None:
    """Remove an archive draft, and its folder when that is left empty (a unit's folder under a
    status it did not get)."""
    if path:
        _discard(path)
        try:
            Path(path).parent.rmdir()
        except OSError:  # not empty (the usual case), or already gone
            pass


def _roster_meta(year: int) -> str:
    return f"roster.{year}"


def saved_roster(ledger: Ledger, year: int) -> tuple[Roster, dict[str, Any]] | None:
    """The roster a year was collected with, as the ledger keeps it (_save_roster), and when it was saved
    (None: none kept; RosterError: not readable). The same text gives the same Roster object (watch's
    listing of last year keeps its units while the roster it was made with is the same one)."""
    text = ledger.meta(_roster_meta(year))
    if not text:
        return None
    if _saved_rosters.get(text) is None:
        try:
            state = json.loads(text)
            source = Path(state["source"]) if state.get("source") else None
            made = roster_from_json(state["units"], source), state
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # (damaged, or a newer version's)
            raise RosterError(f"台账中保存的 {year} 年度名册无法读取（{exc}）") from exc
        _saved_rosters.clear()
        _saved_rosters[text] = made
    return _saved_rosters[text]


_saved_rosters: dict[str, tuple[Roster, dict[str, Any]]] = {}  # (saved_roster's last answer)


def _last_roster(roster: Roster | None, ledger: Ledger, year: int) -> Roster | None:
    """The roster to list a past year's reports with: the one saved with it; else today's, but with each of
    today's units that two or more of that year's units were merged into (_merged) split back into them,
    under the names their reports were counted under (else they would supersede each other). The
    same answer for the same inputs is the same object (watch keeps its listing of last year while it is)."""
    then = _as_it_was(ledger, year)
    if then.roster is not None or roster is None:
        return then.roster or roster
    last = _split_rosters[0] if _split_rosters else None
    if last is not None and last[0] is roster and last[1] == then.counted:
        return last[2]
    units: list[Unit] = []
    for unit in roster:
        names = (unit.name, *unit.aliases)
        if not _merged(names, then):
            units.append(unit)
            continue
        # (merged since: as they were, by the names their reports were counted under)
        units.extend(
            Unit(then.counted[k], None, unit.group) for k in dict.fromkeys(map(normalise, names)) if k in then.counted
        )
    made = roster if len(units) == len(roster) else Roster(units, roster.source)
    _split_rosters[:] = [(roster, then.counted, made)]
    return made


_split_rosters: list[tuple[Roster, dict[str, str], Roster]] = []  # (_last_roster's last answer)


def _named_now(name: str, roster: Roster | None) -> str:
    """A unit of last year's roster by this year's name: the unit whose name or alias it is (renamed), or
    its own name."""
    unit = roster.match(name) if roster is not None else None
    return unit.name if unit is not None else name


def _save_roster(ledger: Ledger, year: int, roster: Roster) -> int | None:
    """Keep the roster a year is collected with in the ledger, when it changed (a later year's job reading
    this year again uses it: saved_roster); returns how many units the one it replaced had (None: none)."""
    units = roster_json(roster)
    try:
        known = json.loads(ledger.meta(_roster_meta(year)) or "{}").get("units")
    except (ValueError, AttributeError):  # (damaged: replaced)
        known = None
    if known == units:
        return None
    state = {"units": units, "source": str(roster.source or ""), "saved": now()}
    ledger.set_meta(_roster_meta(year), json.dumps(state, ensure_ascii=False))
    try:
        return len(json.loads(known)) if known else None
    except (ValueError, TypeError):
        return None


def roster_is_current(settings: Settings, ledger: Ledger | None) -> bool:
    """Whether the roster file is settings.year's: not a year before the one nianbao.toml names (given with
    --year), and no later year has counted reports yet (a later year begun, the file is that year's; a
    refused file of a typo'd --year does not begin one)."""
    if settings.config_year is not None and settings.year < settings.config_year:
        return False
    return ledger is None or (ledger.latest_counted_year() or 0) <= settings.year


class YearRoster(NamedTuple):
    """The roster a job for a year uses (year_roster), and what is to be said about it."""

    roster: Roster | None
    note: str | None  # a line to say about it (None: nothing to say)
    current: bool  # the roster file is this year's (roster_is_current)
    saved: bool  # the roster saved with the year is the one used, not the file


def year_roster(settings: Settings, ledger: Ledger | None, *, save: bool) -> YearRoster:
    """The roster a job for settings.year uses, and a line to say about it.

    The roster file is the current year's (roster_is_current). A job for another year (a late correction,
    `run --year 2025` in 2026) uses the roster saved with that year instead — its units as they were then,
    not as renamed, merged or added since — unless `--roster` names a file, which is then kept as that
    year's. `save`: keep the units of the file used with the year (a writable ledger), when it is the
    current year's or was named with --roster."""
    current = roster_is_current(settings, ledger)
    damaged = ""
    try:
        kept = saved_roster(ledger, settings.year) if not current and ledger is not None else None
    except RosterError as exc:
        kept, damaged = None, f"{exc}，"
    if kept is not None and not settings.roster_given:
        roster, state = kept
        when = str(state.get("saved") or "")[:16].replace("T", " ")
        return YearRoster(
            roster,
            f"按台账中保存的 {settings.year} 年度名册处理（{len(roster)} 个单位，{when} 保存自"
            f"“{roster.source or '名册'}”）：名册文件是当前年度的，不是 {settings.year} 年度的。"
            + (
                f"要改用其他名册，请加 --roster 指定（处理或撤回时，指定的名册随即保存为 {settings.year} 年度的名册）。"
                if save
                else "要改用其他名册，请加 --roster 指定。"
            ),
            current,
            True,
        )
    roster = load_roster(settings.roster) if settings.roster else None
    if roster is None:
        return YearRoster(None, None, current, False)
    note = None
    if save and ledger is not None and (current or settings.roster_given):
        replaced = _save_roster(ledger, settings.year, roster)
        if replaced is not None and not current:  # (a past year's roster replaced by --roster: said, with what it was)
            note = (
                f"已用 --roster 指定的名册（{len(roster)} 个单位）替换台账中保存的 {settings.year} 年度名册"
                f"（原为 {replaced} 个单位）。"
            )
    if not current and not settings.roster_given:
        note = (
            f"{damaged or f'台账中没有保存 {settings.year} 年度的名册，'}按现在的名册“{settings.roster}”处理；"
            f"如果 {settings.year} 年度的单位与现在的不同（更名、合并、撤销、新设），请加 --roster 指定当年的名册。"
        )
    return YearRoster(roster, note, current, False)


class Job:
    """The batch job over one inbox and outbox; the caller holds the outbox lock."""

    def __init__(
        self,
        settings: Settings,
        *,
        mode: str = "run",
        check: CheckFn | None = None,
        feedback: FeedbackFn | None = None,
        summary: SummaryFn | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = settings.outbox
        self.inbox = settings.inbox
        self.year = settings.year
        self.spec: Spec = get_spec(settings.edition) if settings.edition else edition_for_year(settings.year)
        if settings.similar_scan_limit is not None:
            self.spec = self.spec.with_params("text-similar", scan_limit=settings.similar_scan_limit)
        self.check = check
        self.feedback_fn = feedback
        self.summary_fn = summary
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._tidy = _take_tidy_mark(self.outbox)  # how many jobs before this one ended tidy (up to 2)
        if self._tidy < TIDY_JOBS:  # (temporary files may be left)
            _clean_temp_files(self.outbox)
        self._untidy = False  # a draft of this job may be left behind (see close)
        self._in_process = False
        self.ledger = Ledger(self.outbox / archive.LEDGER_FILE)
        try:
            made = year_roster(settings, self.ledger, save=True)
        except BaseException:
            self.ledger.close()
            raise
        self.roster, self.roster_note, self.roster_current = made.roster, made.note, made.current
        self._roster_saved = made.saved
        # (watch: a roster file re-read is kept with the year as year_roster keeps it: only if it is this year's)
        self._roster_keep = settings.roster_given or made.current
        self._roster_mtime = _mtime(settings.roster)
        self._roster_refused: int | None = NOT_REFUSED  # (watch) the mtime of a roster file that could not be read
        self.run_id = self.ledger.start_run(mode, self.year)
        self._batch: dict[int, FileOutcome] = {}
        self._pending: list[_Finished] = []  # archived, waiting for the batch's ledger transaction
        self._pending_units: set[str] = set()  # the units those count for (a lookup per file, not a scan)
        self._pending_feedback: set[str] = set()  # the feedback workbooks they named (casefolded: as Windows compares)
        self._done: list[FileOutcome] = []  # committed, not yet reported by process()
        self._pending_since = 0.0
        self._commit_every = int(os.environ.get("NIANBAO_COMMIT_EVERY") or COMMIT_FILES)
        self.timings: Counter[str] = Counter()  # seconds per part of the job (RunResult.timings)
        # light submissions of the files committed since and of the last summary (watch: kept between summaries)
        self._submissions: dict[int, Submission] = {}
        self.mode = mode
        # what the last summary's 内容雷同 comparison found: in watch, kept between summaries; to start
        # with, the near pairs the last run left in the outbox (PAIRS_STORE), saved again by a run
        self._pairs = self.outbox / PAIRS_STORE.format(year=self.year)
        self._comparisons = _comparisons(self._pairs, once=False) if mode == "watch" else None  # (run: _compare)
        self._rows = _row_cache() if mode == "watch" else None  # watch: the last summary's rendered rows
        self._sums: Memo[Any] | None = Memo() if mode == "watch" else None  # watch: the last summary's sums
        self._units = KeptUnits() if mode == "watch" else None  # watch: the last units listing …
        self._last_year = KeptUnits() if mode == "watch" else None  # … and that of the year before
        self._warmed = False  # watch: the reports loaded and their texts compared once (by a summary or _warm)

    def close(self, counts: dict[str, Any] | None = None) -> None:
        self.ledger.finish_run(self.run_id, counts or {})
        self.ledger.close()
        if not (self._untidy or self._in_process):  # every draft of this job was put in place or removed
            _leave_tidy_mark(self.outbox, min(self._tidy + 1, TIDY_JOBS))

    def reload_roster(self) -> bool:
        """Re-read the roster when its file changed (watch); True when it did.

        A roster that cannot be read as it is now (being saved by Excel, which replaces the file; a share
        that is away for a moment; a mistake in an edit) leaves the one in use as it was: said once, and
        read again when the file changes again."""
        path = self.settings.roster
        mtime = _mtime(path)
        if path is None or self._roster_saved or mtime in (self._roster_mtime, self._roster_refused):
            return False
        try:
            roster = load_roster(path)
        except (RosterError, OSError) as exc:
            self._roster_refused = mtime
            why = exc if isinstance(exc, RosterError) else archive.describe_error(exc)
            logger.warning(
                "单位名册有改动，但现在无法读取（{}）：继续使用原来的名册；改好并保存后会自动重新载入。", why
            )
            return False
        now_year = configured_year(self.settings.source)
        if now_year is not None and now_year != self.settings.config_year:  # (the change of year, watch running)
            self._roster_refused = mtime  # (said once; the roster in use stays: it is this watch's year's)
            logger.warning(
                "nianbao.toml 中的年度已改为 {}，本 watch 仍在处理 {} 年度：改后的名册不用于 {} 年度，也不保存。"
                "请按 Ctrl+C 停止 watch 后重新启动。",
                now_year,
                self.year,
                self.year,
            )
            return False
        self.roster, self._roster_mtime, self._roster_refused = roster, mtime, NOT_REFUSED
        if self._roster_keep:
            _save_roster(self.ledger, self.year, roster)
        logger.info("单位名册已更新，重新载入：{}（{} 个单位）", path, len(self.roster))
        return True

    # -- intake ------------------------------------------------------------------------------

    def process(
        self,
        candidates: list[Candidate],
        *,
        stop: Callable[[], bool] = lambda: False,
        advance: Callable[[], None] = lambda: None,
    ) -> list[FileOutcome]:
        """Take every candidate (oldest first) through the per-file steps; returns what happened to each.

        Stops between files when `stop()` becomes true; unprocessed files stay in the inbox.
        """
        self._batch: dict[int, FileOutcome] = {}  # file ids finished by this call (one batch, also in watch)
        self._in_process = True  # (left so when an exception ends this call: drafts may be left)
        # Units with a counted submission of the year: only their new files look for one to supersede
        # (a query per file cost ~0.3 ms); this job is the ledger's only writer while process() runs.
        self._counted_units = self.ledger.counted_units(self.year)
        # Units whose feedback folder holds a workbook already: a file of theirs without any finding gets
        # one too (结论：通过), so that the folder a unit is sent does not say only that an earlier file was 退回
        self._feedback_units = self.ledger.feedback_units(self.year)
        outcomes: list[FileOutcome] = []
        deferred: list[Candidate] = []  # same content as an earlier file of this batch
        seen: set[str] = set()
        pending: dict[int, tuple[Candidate, Task]] = {}  # received, not yet finished

        chunk: list[tuple[Candidate, bytes | Path, str]] = []

        def receive() -> Iterator[Task]:
            """Receive the files read so far (one ledger transaction) and hand them on as tasks."""
            if not chunk:
                return
            t0 = time.perf_counter()
            rows = self.ledger.receive_many(
                [(sha, c.size, c.mtime_ns, c.name, c.rel, c.arrived_ns) for c, _, sha in chunk], self.run_id
            )
            self.timings["ledger"] += time.perf_counter() - t0
            items = list(zip(chunk, rows, strict=True))
            chunk.clear()
            for (cand, data, sha), (file_id, attempts) in items:
                _crash_point("received")
                task = Task(
                    file_id,
                    cand.name,
                    cand.rel,
                    cand.folders,
                    sha,
                    data if isinstance(data, bytes) else str(data),
                    self.year,
                    self.settings.text_limit,
                    dict(self.settings.limits),
                    attempts,
                )
                pending[file_id] = (cand, task)
                yield task

        def tasks() -> Iterator[Task]:
            """Read, hash and receive files a few at a time (RECEIVE_FILES), as the checker asks for them.

            A file an earlier run was interrupted on is received alone, so that a file that kills the
            process does not cost its neighbours attempts.
            """
            for cand in candidates:
                if stop():  # files read but not yet received stay in the inbox untouched
                    return
                t0 = time.perf_counter()
                try:
                    data, sha, cand = _read(cand)
                except FileNotFoundError:
                    logger.warning("文件在读取前被移走或删除，已跳过：{}", cand.rel)
                    continue
                except Changing:
                    logger.warning("文件 {} 在读取时仍在被修改，本次不处理，留待下次运行。", cand.rel)
                    continue
                except OSError as exc:
                    why = archive.describe_error(exc)
                    logger.error("无法读取文件 {}：{}。文件留在收件文件夹，下次运行再试。", cand.rel, why)
                    outcomes.append(FileOutcome(cand.name, cand.rel, "error", note=f"无法读取：{why}"))
                    continue
                self.timings["intake"] += time.perf_counter() - t0
                if sha in seen:
                    deferred.append(cand)
                    continue
                seen.add(sha)
                rows = self.ledger.by_hash(sha)
                done = _known(cand, rows, self.year)
                if done is not None:
                    self._record(outcomes, self._settle_known(cand, data, sha, done), advance)
                    continue
                if any(r.state != DONE for r in rows):  # an earlier run was interrupted on this content
                    yield from receive()
                    chunk.append((cand, data, sha))
                    yield from receive()
                    continue
                chunk.append((cand, data, sha))
                if len(chunk) >= RECEIVE_FILES or (isinstance(data, Path)):
                    yield from receive()
            yield from receive()

        for examined in self._examine_all(tasks(), len(candidates), stop):
            cand, examined.task = pending.pop(examined.task.file_id)  # a worker's result comes without the bytes
            try:
                outcome = self._finish(cand, examined)
            except Exception as exc:  # e.g. the disk is full: this file stays in the inbox, the job goes on
                _discard_draft(examined.archive_draft)
                self._untidy = True  # (its feedback draft, if any, is left to the next start)
                why = archive.describe_error(exc)
                logger.opt(exception=exc).error(
                    "处理文件 {} 时出错：{}。文件留在收件文件夹，下次运行再处理。", cand.rel, why
                )
                outcome = FileOutcome(cand.name, cand.rel, "error", note=why)
            for done in self._drain():
                self._record(outcomes, done, advance)
            if outcome is not None:
                self._record(outcomes, outcome, advance)
        self._commit()
        for done in self._drain():
            self._record(outcomes, done, advance)
        for file_id, (cand, _) in pending.items():  # stopped before these were checked: they stay in the inbox
            self.ledger.release(file_id)
            logger.info("已停止，未处理的文件留在收件文件夹：{}", cand.rel)

        for cand in deferred:
            if stop():
                break
            try:
                data, sha, cand = _read(cand)
            except OSError:
                continue
            rows = self.ledger.by_hash(sha)
            done = _known(cand, rows, self.year)
            if done is None:  # its twin was refused in this batch: the same answer, recorded once
                twin = next((r for r in rows if r.state == DONE and r.id in self._batch and not r.duplicate_of), None)
                if twin is None:  # its twin failed (the log says why): both are tried on the next run
                    continue
                self._record(outcomes, self._duplicate(cand, data, sha, twin, refused=True), advance)
                continue
            self._record(outcomes, self._settle_known(cand, data, sha, done), advance)
        # stopped early: a draft of a file examined but not finished may be left (removed at the next start)
        self._untidy = self._untidy or bool(pending) or stop()
        self._in_process = False
        return outcomes

    def _record(self, outcomes: list[FileOutcome], outcome: FileOutcome, advance: Callable[[], None]) -> None:
        outcomes.append(outcome)
        self._log(outcome)
        advance()

    def _examine_all(self, tasks: Iterator[Task], count: int, stop: Callable[[], bool]) -> Iterator[Examined]:
        """examine() over the tasks, in order: in this process, or in worker processes for many files."""
        workers = min(self.settings.workers, count)
        initargs = (self.roster, str(self.ledger.path), self.check, str(self.outbox), self.feedback_fn)
        if workers <= 1 or count < MIN_POOL_FILES:
            ctx = Context(
                self.roster,
                _last_year_lookup(self.ledger),
                self.check,
                _feedback_lookup(self.ledger),
                _counted_lookup(self.ledger),
            )
            spare = Workers(1, initargs)  # a retried file is checked in a process of its own
            try:
                for task in tasks:
                    if task.attempts > 1:
                        yield from _ordered([task], _examine_in_worker, spare, 1, stop=stop)
                    else:
                        yield examine_and_prepare(task, ctx, self.outbox, self.feedback_fn)
                    if stop():
                        return
            finally:
                spare.renew()
            return
        pool = Workers(workers, initargs)
        try:
            for examined in _ordered(tasks, _examine_in_worker, pool, workers * IN_FLIGHT, stop=stop):
                yield examined
                if stop():
                    return
        finally:
            pool.renew()

    def _settle_known(self, cand: Candidate, data: bytes | Path, sha: str, row: FileRow) -> FileOutcome | None:
        """A file whose content the ledger already has: finish an interrupted move, or record a duplicate."""
        same_file = row.inbox_path == cand.rel and row.mtime_ns == cand.mtime_ns and row.size == cand.size
        if same_file and row.archive_path:  # archived and recorded, but the unlink was lost
            stored = self.outbox / row.archive_path
            if not (stored.is_file() and archive.sha256_file(stored) == sha):
                folder = stored.parent
                stored = archive.store(data, sha, folder, row.original_name, root=self.outbox)
                self.ledger.move_archive(row.id, archive.relative(stored, self.outbox))
            gone = _unlink_if_same(cand)
            if row.status == WITHDRAWN:  # (left behind, open in Excel, when it was processed; withdrawn since)
                note = "已撤回，不计入；要重新计入请另存后再放入收件文件夹"
                return FileOutcome(cand.name, cand.rel, WITHDRAWN, row.unit, True, sha, [], stored, note=note)
            if gone:
                logger.info("上次运行中断后补完：{} 已归档（{}），已从收件文件夹移出", cand.rel, row.archive_path)
            return FileOutcome(cand.name, cand.rel, "recovered", row.unit, True, sha, [], stored)
        return self._duplicate(cand, data, sha, row)

    def _duplicate(
        self, cand: Candidate, data: bytes | Path, sha: str, original: FileRow, *, refused: bool = False
    ) -> FileOutcome:
        """Record a file whose content the ledger has: `original` counted (or was superseded since), or,
        `refused`, it was refused in this very batch."""
        if original.duplicate_of:
            original = self.ledger.get(original.duplicate_of)
        spec = get_spec(original.edition) if original.edition else self.spec
        when = original.received.strftime("%Y-%m-%d %H:%M")
        current = None
        if original.superseded_by and original.unit and not refused:
            current = self.ledger.counted(original.unit, original.year or self.year)
        if current is None:
            rule, how = "duplicate-of-refused" if refused else "duplicate-file", ""
        else:  # (an earlier version sent again: which counts, and how to have this one count)
            rule, how = "duplicate-of-superseded", _how_to_count(original, current)
        notice = finding(
            spec,
            rule,
            file=cand.name,
            found=when,
            expected=original.original_name,
            agency=original.agency,
            current=current.original_name if current is not None else None,
            how=how,
        )
        notice = replace(notice, agency=original.agency, file=cand.name)
        file_id = self.ledger.receive(sha, cand.size, cand.mtime_ns, cand.name, cand.rel, self.run_id, cand.arrived_ns)
        folder = archive.archive_folder(self.outbox, self.year, DUPLICATE, original.unit)
        stored = archive.store(data, sha, folder, cand.name, root=self.outbox)
        told = self._feedback_copy(cand, file_id, original) if refused else None
        self.ledger.complete(
            file_id,
            status=DUPLICATE,
            unit=original.unit,
            agency=original.agency,
            year=self.year,
            edition=original.edition,
            kind=original.kind,
            filler=original.filler,
            phone=original.phone,
            findings=[notice],
            archive_path=archive.relative(stored, self.outbox),
            feedback_path=archive.relative(told, self.outbox) if told else None,
            submission=None,
            duplicate_of=original.id,
        )
        _unlink_if_same(cand)
        note = f"与 {when} 收到的“{original.original_name}”内容相同，不重复计入"
        if refused:
            note = f"与本批次被退回的“{original.original_name}”内容相同，不重复处理；请按它的反馈修改后重新提交"
        elif current is not None:
            note += f"；现计入的是其后收到的“{current.original_name}”，如应以本文件为准，{how.rstrip('。')}"
        return FileOutcome(cand.name, cand.rel, DUPLICATE, original.unit, True, sha, [notice], stored, told, note)

    def _feedback_copy(self, cand: Candidate, file_id: int, twin: FileRow) -> Path | None:
        """A copy of a refused twin's feedback for a file of the same bytes in another unit's folder (two
        empty or broken files, from 民政局/ and 公安局/): each unit's folder gets the answer. None when both
        sit in one folder, or the twin was found to be some unit's (its folder is that unit's already)."""
        if not twin.feedback_path or twin.unit or Path(twin.inbox_path).parent == Path(cand.rel).parent:
            return None
        unit = _folder_unit(cand.folders, self.roster)
        suffix = Path(twin.feedback_path).suffix
        path = self.feedback_path(unit, cand.name, file_id, text=suffix == ".txt")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes_atomic(path, (self.outbox / twin.feedback_path).read_bytes())
            return path
        except OSError as exc:  # (the file is settled as the twin's copy all the same; said in the log)
            logger.warning("无法为 {} 写出反馈：{}", cand.rel, archive.describe_error(exc))
            return None

    def _finish(self, cand: Candidate, ex: Examined) -> FileOutcome | None:
        """Steps 4–5 for a checked file (feedback in place, original archived); steps 6–7 (ledger,
        unlink) follow for the whole batch in _commit. Returns an outcome only for a file that failed."""
        task = ex.task
        self.timings["check"] += ex.seconds[0]
        self.timings["feedback"] += ex.seconds[1]
        if ex.result is None:
            _discard(ex.feedback_draft)
            logger.error("处理文件 {} 时出错：{}。文件留在收件文件夹，详情见日志。", cand.rel, ex.error)
            logger.debug("{}", ex.trace)
            return FileOutcome(cand.name, cand.rel, "error", note=ex.error)
        result = ex.result
        sub: Submission | None = result.submission
        status = status_of(result.report)
        supersedes: list[tuple[int, list[Finding]]] = []
        note = None
        if status in COUNTED and ex.unit:
            if ex.unit in self._pending_units:  # its earlier file must be in the ledger first
                self._commit()
            older = self.ledger.counted(ex.unit, self.year) if ex.unit in self._counted_units else None
            if older is not None and older.id != task.file_id:
                spec = sub.spec if sub else self.spec
                when = older.received.strftime("%Y-%m-%d %H:%M")
                # (two 年报.xlsx from two folders: each named by its path in the inbox, or neither could be told)
                alike = older.original_name.casefold() == task.name.casefold()
                this, that = (task.rel, older.inbox_path) if alike else (task.name, older.original_name)
                if older.id in self._batch:
                    warn = finding(
                        spec,
                        "same-batch-duplicate",
                        file=task.name,
                        found=that,
                        expected=this,
                        unit=ex.unit,
                    )
                    result.report = Report([*result.report.findings, replace(warn, agency=ex.unit, file=task.name)])
                    status = status_of(result.report)
                    _discard(ex.feedback_draft)  # written without this warning
                    ex.feedback_draft = None
                    note = f"本批次中同一单位的另一文件“{that}”较早，以本文件为准"
                else:
                    note = f"取代 {when} 收到的“{that}”"
                gone = finding(spec, "superseded", file=older.original_name, found=this, expected=when)
                gone = replace(gone, agency=older.agency)
                earlier = self._batch.get(older.id)
                if earlier is not None:  # (its line is printed already; --json and the run's list say it too)
                    earlier.note = "；".join(filter(None, [earlier.note, f"已被本批次较新的“{this}”取代，不计入"]))
                    earlier.findings.append(gone)
                    self.retell(older, gone)  # (its feedback said 通过)
                supersedes.append((older.id, [*older.findings, gone]))
        findings = result.report.sorted()
        t0 = time.perf_counter()
        answered = bool(ex.unit) and ex.unit in self._feedback_units  # (a clean file after earlier feedback)
        feedback = (
            self._write_feedback(task, result, _feedback_unit(ex, self.roster), ex) if findings or answered else None
        )
        if feedback is None and not findings:
            _discard(ex.feedback_draft)  # (none is wanted after all)
        if feedback is not None and ex.unit:
            self._feedback_units.add(ex.unit)
        t1 = time.perf_counter()
        _crash_point("feedback")
        folder = archive.archive_folder(self.outbox, self.year, status, ex.unit)
        source = task.source if isinstance(task.source, bytes) else Path(task.source)
        if ex.archive_draft and Path(ex.archive_draft).parent == folder:  # written ahead by the worker
            stored = archive.settle(Path(ex.archive_draft), task.sha256, folder, task.name, durable=False)
        else:  # synced in _commit
            _discard_draft(ex.archive_draft)
            stored = archive.store(source, task.sha256, folder, task.name, durable=False)
        self.timings["feedback"] += t1 - t0
        self.timings["archive"] += time.perf_counter() - t1
        _crash_point("archived")
        record = dict(
            file_id=task.file_id,
            status=status,
            unit=ex.unit,
            agency=sub.agency if sub else None,
            year=self.year,
            edition=sub.edition if sub else (result.spec.edition if result.spec else None),
            kind=sub.kind if sub else None,
            filler=sub.texts.get("info.filler") if sub else None,
            phone=sub.texts.get("info.phone") if sub else None,
            findings=findings,
            archive_path=archive.relative(stored, self.outbox),
            feedback_path=archive.relative(feedback, self.outbox) if feedback else None,
            submission=ex.blob if ex.blob is not None else sub,
            values=sub.values if sub else None,
            supersedes=supersedes,
        )
        outcome = FileOutcome(
            task.name, task.rel, status, ex.unit, ex.on_roster, task.sha256, findings, stored, feedback, note
        )
        if not self._pending:
            self._pending_since = time.monotonic()
        light = light_submission(sub) if sub is not None else None
        self._pending.append(_Finished(cand, record, outcome, stored, ex.unit if status in COUNTED else None, light))
        if status in COUNTED and ex.unit:
            self._pending_units.add(ex.unit)
        if record["feedback_path"]:
            self._pending_feedback.add(record["feedback_path"].casefold())
        if (
            task.attempts > 1  # a retry after a crash: committed at once, so a crash costs it no more attempts
            or len(self._pending) >= self._commit_every
            or time.monotonic() - self._pending_since >= COMMIT_SECONDS
        ):
            self._commit()
        return None

    def _commit(self) -> None:
        """Steps 6–7 for the files archived since the last commit: their archived copies and feedback
        workbooks made durable, one ledger transaction for all of them, then each original removed
        from the inbox.

        A crash before the transaction leaves their rows 'received' (redone by the next run, which
        finds the archived copies by content); after it, only unlinks are left (finished by the next run).
        """
        batch, self._pending = self._pending, []
        self._pending_units, self._pending_feedback = set(), set()
        if not batch:
            return
        try:
            t0 = time.perf_counter()
            feedback = [f.outcome.feedback for f in batch if f.outcome.feedback] if DEFER_FEEDBACK_SYNC else []
            archive.make_durable([f.stored for f in batch] + feedback, root=self.outbox)
            t1 = time.perf_counter()
            self.ledger.complete_many([f.record for f in batch])
            self.timings["archive"] += t1 - t0
            self.timings["ledger"] += time.perf_counter() - t1
        except Exception as exc:  # e.g. the disk is full: these files stay in the inbox, the job goes on
            why = archive.describe_error(exc)
            logger.opt(exception=exc).error(
                "写入台账时出错：{}。本批 {} 个文件留在收件文件夹，下次运行再处理。", why, len(batch)
            )
            self._done.extend(FileOutcome(f.cand.name, f.cand.rel, "error", note=why) for f in batch)
            return
        t0 = time.perf_counter()
        self._counted_units.update(f.unit for f in batch if f.unit)
        # (the summary at the end would read these back from the ledger: ~2 s at 10,000 files)
        self._submissions.update((f.record["file_id"], f.light) for f in batch if f.light is not None)
        for f in batch:
            self._batch[f.record["file_id"]] = f.outcome
            _crash_point("committed")
            _unlink_if_same(f.cand)
            self._done.append(f.outcome)
        self.timings["unlink"] += time.perf_counter() - t0

    def _drain(self) -> list[FileOutcome]:
        """Outcomes of the files committed since the last call."""
        done, self._done = self._done, []
        return done

    def feedback_path(self, unit: str | None, name: str, file_id: int, *, text: bool = False) -> Path:
        """outbox/反馈/<年度>/<单位>/<原文件名>_反馈.xlsx (.txt: `text`), numbered past the names other files'
        feedback already uses."""
        folder = archive.feedback_folder(self.outbox, self.year, unit)
        base = archive.feedback_name(name)
        if text:
            base = str(Path(base).with_suffix(".txt"))
        n = 1
        while True:
            path = folder / archive.numbered(base, n)
            rel = archive.relative(path, self.outbox)
            if rel.casefold() not in self._pending_feedback and not self.ledger.feedback_taken(rel, file_id):
                return path
            n += 1

    def retell(self, row: FileRow, notice: Finding, *, create: bool = False) -> Path | None:
        """A processed file's feedback workbook written again with `notice` added (it no longer counts:
        superseded in its own batch, withdrawn), whose rule's `verdict` becomes its 结论. A file that had
        no feedback gets one only if `create`. None when none is written (a failure is logged)."""
        from .check import CheckResult
        from .feedback import write_feedback

        if not row.feedback_path and not create:
            return None
        sub = self.ledger.submission(row.id)
        if sub is None:  # (a counted report always has its submission; an old ledger might not)
            return None
        path = self.outbox / row.feedback_path if row.feedback_path else None
        path = path or self.feedback_path(row.unit, row.original_name, row.id)
        result = CheckResult(row.original_name, sub, Report([*row.findings, notice]), sub.spec)
        try:
            written = Path((self.feedback_fn or write_feedback)(path, result))
            if not row.feedback_path:  # (recorded once written: the ledger names no workbook that is not there)
                self.ledger.set_feedback(row.id, archive.relative(written, self.outbox))
            return written
        except Exception as exc:  # (what it tells stands in the ledger and the outputs)
            logger.opt(exception=exc).error(
                "无法为 {} 写出反馈工作簿：{}", row.original_name, str(exc) or type(exc).__name__
            )
            return None

    def _write_feedback(self, task: Task, result: Any, unit: str | None, ex: Examined | None = None) -> Path | None:
        """outbox/反馈/<年度>/<单位>/<原文件名>_反馈.xlsx (a .txt for a file that could not be read at all).

        A name another file's feedback already uses gets a number; this file's own earlier attempt
        (an interrupted run) is simply replaced.
        """
        path = self.feedback_path(unit, task.name, task.file_id, text=result.submission is None)
        try:
            if ex is not None and ex.feedback_draft:  # written by the worker: give it its name
                atomic.replace(Path(ex.feedback_draft), path)
                return path
            if ex is not None and ex.feedback_error:
                raise RuntimeError(ex.feedback_error)
            if result.submission is None:
                return _write_text_feedback(path, task, result)
            writer = self.feedback_fn or _default_feedback
            return Path(writer(path, result))
        except Exception as exc:
            self._untidy = True  # (a draft that could not be renamed is left to the next start)
            logger.opt(exception=exc).error("无法为 {} 写出反馈工作簿：{}", task.rel, str(exc) or type(exc).__name__)
            return None

    def _log(self, outcome: FileOutcome) -> None:
        level = {REJECTED: "WARNING", "error": "ERROR"}.get(outcome.status, "INFO")
        logger.log(level, outcome.line())
        for f in outcome.findings:
            logger.debug("  {} [{}] {} {}", outcome.rel, f.rule_id, f.location, f.message)

    # -- consolidation -----------------------------------------------------------------------

    def units(self) -> tuple[list[UnitResult], list[FileRow]]:
        """Every unit's standing, without its submission: write_outputs loads those when it writes."""
        return unit_results(self.ledger, self.roster, self.year, submissions=False, kept=self._units)

    def write_outputs(
        self, units: tuple[list[UnitResult], list[FileRow]] | None = None, *, changed: bool = False
    ) -> Outputs | None:
        """The summary workbook of the year and its companions, rebuilt from the ledger (atomically).

        `units`: what units() just returned, when the caller has it (not loaded a second time);
        `changed`: the ledger changed since the outputs were written (see write_year_summary)."""
        try:
            outputs = write_year_summary(
                self.ledger,
                self.roster,
                self.spec,
                self.year,
                self.outbox,
                title=self.settings.title,
                writer=self.summary_fn,
                by_group=self.settings.by_group,
                units=units,
                cache=self._submissions,
                comparisons=self._compare,
                rows=self._rows,
                sums=self._sums,
                last_year=self._last_year,
                changed=changed,
                compared=self._compared,
            )
        except Exception as exc:
            logger.opt(exception=exc).error(
                "无法写出汇总表：{}。原有的汇总表保持不变；排除问题后再运行一次 nianbao run 即可生成。",
                archive.describe_error(exc),
            )
            return None
        if self.mode == "watch" and not self._warmed:
            if outputs.kept:
                self._warm(units)
            self._warmed = True
        return outputs

    def _compare(self) -> Comparisons:
        """What the summary's 内容雷同 comparison starts from: a run's made when a summary is to be written
        (numpy and the stored pairs are not loaded by a run that leaves the outputs as they are)."""
        if self._comparisons is None:
            self._comparisons = _comparisons(self._pairs, once=True)
        return self._comparisons

    def _compared(self) -> None:
        """The year's texts are compared (write_year_summary, before the workbook is written): a run leaves
        their near pairs in the outbox for the next run (PAIRS_STORE) and lets go of them."""
        comparisons = self._comparisons
        if self.mode == "watch" or comparisons is None:
            return
        try:
            with atomic_path(self._pairs, durable=False) as tmp:  # (a cache: a torn file is only read again)
                comparisons.save(tmp, _pairs_tag())
        except Exception as exc:  # only the next run's head start is lost
            logger.debug("未能保存内容雷同比对结果（{}）：下次运行将重新全部比对。", archive.describe_error(exc))
        comparisons.clear()

    def warm_intake(self) -> None:
        """watch, at start: make what its first file would make once per process (the reader's and the
        rules' modules loaded, their tables built, the feedback workbook's skeleton rendered) by
        checking a blank form in memory: ~0.1 s less between the first file dropped and its summary."""
        import io

        try:
            from .check import check_workbook
            from .feedback import _skeleton
            from .template import render_workbook

            blank = io.BytesIO()
            render_workbook(blank, self.spec)
            check_workbook(blank.getvalue(), name="blank.xlsx")
            _skeleton(self.spec)
        except Exception as exc:  # only a head start is lost
            logger.opt(exception=exc).debug("预先载入读取和反馈模块时出错：{}", exc)

    def _warm(self, units: tuple[list[UnitResult], list[FileRow]] | None) -> None:
        """watch, when it starts on outputs left as they were: load the reports, compare their texts and
        render the summary's rows now, as writing the summary would have, so that the first new file is
        reflected as fast as the next ones (at 10,000 units ~6 s at start instead of on the first file)."""
        from .summary import summarize, warm_rows

        try:
            data = summary_data(
                self.ledger,
                self.roster,
                self.spec,
                self.year,
                title=self.settings.title,
                units=units,
                cache=self._submissions,
                last_year=self._last_year,
            )
            con = summarize(data, self._comparisons, self._sums)
            if self._rows is not None:
                warm_rows(data, con, self._rows)
        except Exception as exc:  # only a head start is lost: the next summary compares everything
            logger.opt(exception=exc).warning(
                "预先准备汇总（载入报告、比对文字）时出错（{}），不影响处理：下一次汇总会从头生成。",
                archive.describe_error(exc),
            )


def run_batch(
    settings: Settings,
    *,
    check: CheckFn | None = None,
    feedback: FeedbackFn | None = None,
    summary: SummaryFn | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> RunResult:
    """One run: wait for complete files, process them all, rebuild the summary, say what happened.

    Takes the outbox lock (raises JobBusy after settings.lock_wait_seconds). `check`, `feedback`
    and `summary` replace the real check_workbook, write_feedback and write_summary (tests).
    """
    with job_lock(settings.outbox, settings.lock_wait_seconds):
        job = Job(settings, mode="run", check=check, feedback=feedback, summary=summary)
        result = RunResult(job.year, job.spec.edition, job.outbox, roster=settings.roster, roster_note=job.roster_note)
        result.past_year = not job.roster_current
        try:
            t0 = time.perf_counter()
            complete, result.waiting, result.skipped = wait_for_complete(
                settings.inbox, settings.stable_seconds, settings.max_wait_seconds, stop=stop
            )
            t1 = time.perf_counter()
            log_intake(result.skipped, result.waiting)
            with progress(len(complete)) as advance:
                result.files = job.process(complete, stop=stop, advance=advance)
            t2 = time.perf_counter()
            result.interrupted = stop()
            result.units, result.unidentified = job.units()
            t3 = time.perf_counter()
            result.take(job.write_outputs((result.units, result.unidentified)))
            t4 = time.perf_counter()
            result.timings = {
                "wait": t1 - t0,
                "files": t2 - t1,  # wall time of the per-file steps (the parts below overlap in workers)
                **{f"files.{k}": v for k, v in sorted(job.timings.items())},
                "units": t3 - t2,
                "summary": t4 - t3,
            }
        finally:
            job.close(result.counts())
    return result


def log_intake(skipped: list[Skipped], waiting: list[Candidate]) -> None:
    for s in skipped:
        say_skipped(s)
    for c in waiting:
        logger.warning("文件仍在写入（大小或修改时间还在变化），本次不处理，留待下次：{}", c.rel)


def say_skipped(s: Skipped) -> None:
    """One line for a file or folder left in the inbox: a warning with its path when it could not be read."""
    logger.log(
        "WARNING" if s.unreadable else "INFO", "跳过：{}（{}）", s.path if s.unreadable else s.path.name, s.reason
    )


@dataclass
class KeptUnits:
    """What `watch` keeps of one units listing (unit_results) for the next: the year's ledger rows
    (Ledger.files_kept: only the rows changed since are read again), and each unit's result with what
    it was made of (its rows, its place in the roster). A unit whose rows did not change is not made
    again: at 10,000 units a listing reads a few rows instead of all (~0.1 s less a refresh)."""

    rows: KeptRows = field(default_factory=KeptRows)
    results: dict[str, tuple[tuple[Any, ...], UnitResult]] = field(default_factory=dict)
    roster: Roster | None = None  # the roster they were placed with (another roster: made again)
    submissions: dict[int, Submission] = field(default_factory=dict)  # theirs, when loaded (Ledger.submissions' cache)


def unit_results(
    ledger: Ledger | None,
    roster: Roster | None,
    year: int,
    *,
    light: bool = False,
    cache: dict[int, Submission] | None = None,
    submissions: bool = True,
    kept: KeptUnits | None = None,
) -> tuple[list[UnitResult], list[FileRow]]:
    """Every roster unit's standing for a year, from the ledger, plus units outside the roster.

    The submission that counts is the unit's latest accepted one; a unit with only rejected files
    is rejected; a roster unit with nothing is missing. Files no unit could be found for are
    returned apart. Names are matched with the roster as it is now (an alias added later applies).
    submissions=False: the units without their submissions (attach_submissions loads them).
    `kept`: what the last call listed (watch; see KeptUnits), left holding exactly this call's; its
    own submissions serve as `cache`. No ledger (none made yet): every roster unit is missing.
    """
    if kept is not None and cache is not None:
        raise ValueError("unit_results: `kept` has its own cache of submissions")
    if ledger is None:
        listed = []
    else:
        listed = ledger.files(year) if kept is None else ledger.files_kept(year, kept.rows)
    rows = [r for r in listed if r.state == DONE and r.status != DUPLICATE]  # (withdrawn: see `since`)
    if kept is not None and kept.roster is not roster:
        kept.results.clear()
        kept.roster = roster
    by_unit: dict[str, list[FileRow]] = {}
    order: list[str] = []
    unidentified: list[FileRow] = []
    roster_names = {unit.name for unit in roster or []}
    groups: dict[str, tuple[str, ...]] = {}
    codes: dict[str, str | None] = {}
    aliases: dict[str, tuple[str, ...]] = {}
    for unit in roster or []:
        by_unit[unit.name] = []
        order.append(unit.name)
        groups[unit.name], codes[unit.name], aliases[unit.name] = unit.group, unit.code, unit.aliases
    for row in rows:
        name, group = _place(roster, row)
        if not name:
            if row.status != WITHDRAWN:
                unidentified.append(row)
            continue
        if row.kind == ROLLUP and row.status == REJECTED and group[:1] != (OUTSIDE_ROSTER,):
            row = _group_found(row)
        if name not in by_unit:
            by_unit[name] = []
            order.append(name)
            groups[name], codes[name] = group, None
        by_unit[name].append(row)
    results = []
    made: dict[str, tuple[tuple[Any, ...], UnitResult]] = {}  # (this call's, for `kept`)
    gone_rollups: dict[tuple[str, ...], tuple[str, list[str] | None]] = {}  # withdrawn: group → (words, covers)
    for name in order:
        files = by_unit[name]
        if kept is not None:
            made_of = (groups[name], codes[name], *files)  # (kept rows compare by identity first: fast)
            known = kept.results.get(name)
            if known is not None and known[0] == made_of:
                made[name] = known
                results.append(known[1])
                continue
        counted = [r for r in files if r.status in COUNTED]
        live = [r for r in counted if r.superseded_by is None] or counted
        withdrawn = [r for r in files if r.status == WITHDRAWN]
        since = withdrawn[-1].id if withdrawn else 0  # (refusals before a report later withdrawn were settled by it)
        refused = [r for r in files if r.status not in COUNTED and r.status != WITHDRAWN and r.id > since]
        settled: list[FileRow] = []
        if ledger is not None:  # (last year's report sent late, since counted for its own year: settled)
            settled = [r for r in refused if _other_year(r) and _counted_in_its_year(ledger, r)]
            refused = [r for r in refused if r not in settled]
        chosen = live[-1] if live else (refused[-1] if refused else None)
        if chosen is None and settled and not withdrawn and name not in roster_names and roster_names:
            continue  # (a unit not of this year's roster whose only file here was another year's report: not this year's)
        if chosen is None and withdrawn and name not in roster_names:
            path = _rollup_path(roster, withdrawn[-1]) if withdrawn[-1].kind == ROLLUP else None
            if path is not None:  # (a group's roll-up: its units, none reported since, say why they are 未报送)
                sub = ledger.submission(withdrawn[-1].id) if ledger is not None else None
                gone_rollups[path] = (f"“{name}”的汇总表{_withdrawn_text(withdrawn[-1])}", sub.covers if sub else None)
            continue  # (a unit outside the roster, or a roll-up, left with nothing but a withdrawn report: gone)
        listed = not roster or name in roster_names  # (without a roster, every unit found is one to expect)
        result = UnitResult(
            name=name, group=groups[name], code=codes[name], listed=listed, aliases=aliases.get(name, ())
        )
        if chosen is not None:
            result.__dict__["is_rollup"] = chosen.kind == ROLLUP  # (again from its submission, if attached)
            if chosen.kind == ROLLUP:  # (which units it stands for: a few roll-ups, read back one by one)
                sub = ledger.submission(chosen.id)
                result.covers = sub.covers if sub is not None else None
            found = chosen.findings
            if roster is not None and roster.match(chosen.agency):  # named right by now (an alias was added)
                found = [f for f in found if f.rule_id != "unit-unknown"]

            result.status = status_of(Report(found)) if chosen.status in COUNTED else REJECTED
            result.file_id = chosen.id
            result.findings = found
            result.file = chosen.original_name
            result.received_at = chosen.received
            result.filler, result.phone = chosen.filler, chosen.phone
            result.sha256 = chosen.sha256
            later = [r for r in files if r.id > chosen.id and r.status == REJECTED and not _other_year(r)]
            result.rejected_after = later[-1].original_name if later and result.status in COUNTED else None
        if withdrawn and (chosen is None or withdrawn[-1].id > chosen.id):  # (the unit's last word: withdrawn)
            result.withdrawn = _withdrawn_text(withdrawn[-1])
        if chosen is None and settled:  # (未报送, though a file of it came: another year's report, refused)
            result.other_year = _other_year_text(settled[-1])
        if files:
            last = max((r.processed_at for r in files if r.processed_at), default=None)
            if last is not None:
                result.changed_at = dt.datetime.fromisoformat(last).replace(tzinfo=None, microsecond=0)
        results.append(result)
        if kept is not None:
            made[name] = (made_of, result)
    if kept is not None:
        kept.results = made
    if gone_rollups:
        results = _under_gone_rollups(results, gone_rollups)
    settled = _resent_rollups(results)
    if settled:
        results = [u for u in results if u.name not in settled]
    if submissions:
        attach_submissions(ledger, results, light=light, cache=cache if kept is None else kept.submissions)
    return results, unidentified


def _withdrawn_text(row: FileRow) -> str:
    """“X”已撤回（原因）: what status, --json and 报送情况 say of a withdrawn report."""
    why = next((f.found for f in reversed(row.findings) if f.rule_id == WITHDRAWN), None)
    return f"“{row.original_name}”已撤回（{why or '未注明原因'}）"


def _under_gone_rollups(
    results: list[UnitResult], gone: dict[tuple[str, ...], tuple[str, list[str] | None]]
) -> list[UnitResult]:
    """The roster units a withdrawn roll-up stood for (its group's, or those it named: consolidate.named_in),
    未报送 since: copies saying why (the roll-up itself is no longer listed; a kept result is not changed:
    `watch` reuses it)."""
    told: dict[str, str] = {}
    for path, (text, covers) in gone.items():
        inside = [u for u in results if u.listed and not u.is_rollup and u.group[: len(path)] == path]
        named = named_in(covers, inside) if covers is not None else inside
        told.update((u.name, text) for u in named if u.name not in told)
    return [
        replace(u, withdrawn=told[u.name]) if u.name in told and u.status == MISSING and not u.withdrawn else u
        for u in results
    ]


def _resent_rollups(results: list[UnitResult]) -> set[str]:
    """Roll-ups refused for a name no roster group has (本级, a county's nianbao.toml without its title) that a
    later counted roll-up of all the same units settled: the county sent it again, named right. Shown,
    they would stay 被退回 for good (the name is no unit's, nor can `withdraw` take back a refusal). Units
    are compared without the place in front (本级's report says 教育局, the same county's once titled
    西山县教育局)."""

    def units(covers: list[str]) -> set[str]:
        return {short_name(n) or n for n in map(normalise, covers)}

    counted = [u for u in results if u.is_rollup and u.status in COUNTED and u.covers]  # (submissions not attached yet)
    return {
        u.name
        for u in results
        if u.is_rollup
        and u.status == REJECTED
        and u.group[:1] == (OUTSIDE_ROSTER,)
        and u.covers
        and any((c.file_id or 0) > (u.file_id or 0) and units(u.covers) <= units(c.covers) for c in counted)  # type: ignore[arg-type]
    }


def _how_to_count(original: FileRow, current: FileRow) -> str:
    """What makes an earlier version sent again count: withdrawing the one counted now, when that restores
    it; else (versions between them) saving it again, which makes it a new file."""
    again = "由单位把本文件在 Excel 或 WPS 中打开、另存一次后重新提交（按新文件处理，计入汇总）"
    if original.superseded_by == current.id:
        restore = f"“{original.original_name}”随即重新计入"
        return (
            f'请汇总单位运行 nianbao withdraw "#{current.id}" 撤回“{current.original_name}”（{restore}），或{again}。'
        )
    between = f"“{original.original_name}”之后还有别的版本，只撤回“{current.original_name}”计入的将是其间的版本"
    return f"请{again}；{between}。"


def _counted_in_its_year(ledger: Ledger, row: FileRow) -> bool:
    """Whether a file refused for being another year's report was later counted for a year of its own
    (`run --year 2024 --inbox 补报2024`, as its refusal advised): the same content counted for another year."""
    return any(r.counted and r.year != row.year for r in ledger.by_hash(row.sha256))


def _other_year_text(row: FileRow) -> str:
    """What 报送情况 and status say of a unit whose only file this year was another year's report."""
    [year] = [f.found for f in row.findings if f.rule_id == "year-mismatch"][:1] or [None]
    which = f" {year} 年度" if year else "其他年度"
    return f"收到的“{row.original_name}”是{which}的报告，已退回（反馈已写明），本年度的报告尚未收到"


def _other_year(row: FileRow) -> bool:
    """A file refused for being another year's report (a late one for last year): not a failed correction."""
    return any(f.rule_id == "year-mismatch" for f in row.findings)  # (edition-year-mismatch: this year, old form)


def attach_submissions(
    ledger: Ledger, units: list[UnitResult], *, light: bool = False, cache: dict[int, Submission] | None = None
) -> None:
    """Give each unit of unit_results(…, submissions=False) its submission (a query per 500 units)."""
    chosen = [u for u in units if u.file_id is not None]
    subs = ledger.submissions([u.file_id for u in chosen], light=light, cache=cache)  # type: ignore[misc]
    for unit in chosen:
        unit.submission = subs.get(unit.file_id)  # type: ignore[arg-type]


def _group_found(row: FileRow) -> FileRow:
    """A roll-up refused only because no roster group was found for it (`rollup-group-unknown`), now that
    the mended roster has one: as if it had been found then (its refusal dropped, its status again)."""
    findings = row.findings
    kept = [f for f in findings if f.rule_id != "rollup-group-unknown"]
    if len(kept) == len(findings):
        return row
    return replace(row, status=status_of(Report(kept)), findings_json=findings_to_json(kept))


def _place(roster: Roster | None, row: FileRow) -> tuple[str | None, tuple[str, ...]]:
    """(unit name, group) of a ledger row, with the roster as it is now."""
    if roster is None or not len(roster):
        return row.unit, ()
    if row.kind == ROLLUP:
        path = _rollup_path(roster, row)
        if path is not None:
            return rollup_name(path), path[:-1]
        unit = roster.match(row.agency) or roster.match(row.unit)
        return (unit.name, unit.group) if unit is not None else (row.unit, (OUTSIDE_ROSTER,))  # (see identify)
    match = roster.match(row.agency) or roster.match(row.unit)
    if match is not None:
        return match.name, match.group
    return row.unit, (OUTSIDE_ROSTER,)


def _rollup_path(roster: Roster | None, row: FileRow) -> tuple[str, ...] | None:
    """The roster group a roll-up's ledger row stands for, with the roster as it is now (None: no group's)."""
    if roster is None or not len(roster):
        return None
    return roster.group_named(row.agency) or roster.group_named(row.unit)


def write_year_summary(
    ledger: Ledger,
    roster: Roster | None,
    spec: Spec,
    year: int,
    outbox: Path,
    *,
    title: str = "",
    writer: SummaryFn | None = None,
    by_group: bool = False,
    units: tuple[list[UnitResult], list[FileRow]] | None = None,
    cache: dict[int, Submission] | None = None,
    comparisons: Comparisons | Callable[[], Comparisons] | None = None,
    rows: RowCache | None = None,
    sums: Memo[Any] | None = None,
    last_year: KeptUnits | None = None,
    changed: bool = False,
    compared: Callable[[], None] | None = None,
) -> Outputs:
    """Rebuild the year's outputs from the ledger, each written atomically.

    The summary workbook; beside it the consolidated figures as a filled report template (上报用:
    what a county submits upward, what a city publishes its own tables from); with `by_group`, the
    same two files for every roster group (e.g. each county's own summary).

    They are the same bytes for the same ledger, roster and settings: when none of these changed
    since they were last written and the files are still as written, they are left as they are
    (a province's summary takes seconds, and a workbook open in Excel cannot be replaced).
    `units`: unit_results() of the year, when the caller has them; `cache`: see Ledger.submissions;
    `comparisons`: what the last summary's 内容雷同 comparison found (watch; see similarity.Comparisons),
    or what makes it when a summary is to be written (a run: Job._compare);
    `rows`: the rows the last summary rendered (watch; see summary.RowCache); `sums`: its sums (see
    consolidate); `last_year`: see summary_data. They serve the year's summary only, not the per-group ones.
    `changed`: the caller knows the ledger changed since the outputs were written (watch, after new
    files): they are not looked at, and what they are made from is taken after they are written
    (nothing else writes the ledger meanwhile: the caller holds the outbox lock), ~0.1 s sooner.
    `compared`: called once the year's texts are compared, before its summary is written (Job._compared).
    """
    from .consolidate import consolidate, subtrees
    from .summary import summarize, write_rollup_report, write_summary

    stamps: dict[Path, list[int]] = {}  # each output's size and mtime, taken as soon as it is in place
    set_aside: list[Path] = []
    noticed: list[Finding] = []  # (the year's summary's: set by its summary_and_report)
    typed: dict[str, dict[str, str]] = {}  # what a county typed into each 上报用 report, by its path (kept on record)

    def stamped(path: Path) -> Path:
        st = path.stat()
        stamps[path] = [st.st_size, st.st_mtime_ns]
        return path

    def typed_in(report: Path) -> dict[str, str] | None:
        """What was typed into a 上报用 report (文字部分, 填报人 …), for the next one: from the report itself
        when someone edited it since it was written (it is renamed beside it first: `set_aside_edited`),
        else as on record (carried from an earlier edit into every report written since)."""
        rel = archive.relative(report, outbox)
        aside = set_aside_edited(report, outbox, last)
        if aside is not None:
            set_aside.append(aside)
            logger.warning(
                "“{}”在上次生成后被修改过，已原样保留为“{}”；其中填写的文字部分、填报信息和情况说明带入新生成的文件（数字按最新汇总）。",
                rel,
                aside.name,
            )
            texts = typed_texts(aside, spec, year)
            if texts is not None:
                typed[rel] = texts
        if rel not in typed and report.parent == outbox / archive.SUMMARY_DIR:
            carried = typed_before_renamed(rel)
            if carried is not None:
                typed[rel] = carried
        return typed.get(rel)

    def typed_before_renamed(rel: str) -> dict[str, str] | None:
        """The main 上报用 report written under another name before (title set or changed since: 本级 →
        西山县): what was typed into it, from the file itself when edited since it was written, else as on
        record. That file is left as it is."""
        recorded = last.get("files") or {}
        before = [
            r
            for r in recorded
            if isinstance(r, str)
            and r != rel
            and Path(r).parent == Path(rel).parent
            and r.endswith(archive.ROLLUP_REPORT_SUFFIX)
        ]
        if len(before) != 1:
            return None
        [old] = before
        try:
            edited = not _as_written(outbox, old, recorded[old])
        except (OSError, TypeError, AttributeError, ValueError):
            edited = False
        texts = typed_texts(outbox / old, spec, year) if edited else typed.get(old)
        if texts:
            logger.info(
                "上报用汇总报告改名为“{}”：“{}”中填写的文字部分、填报信息和情况说明已带入。",
                Path(rel).name,
                Path(old).name,
            )
        return texts or None

    def summary_and_report(
        part: SummaryData,
        path: Path,
        folder: Path,
        name: str,
        comparisons: Comparisons | None = None,
        rows: RowCache | None = None,
        sums: Memo[Any] | None = None,
    ) -> tuple[Path, Path]:
        """The summary workbook and the roll-up report (上报用) of `part`, consolidated once."""
        if writer is not None:  # (tests) a writer of its own
            written, con = Path(writer(path, part)), consolidate(part, texts=False)
        else:
            con = summarize(part, comparisons, sums)
            if comparisons is not None and compared is not None:
                compared()
            written = stamped(write_summary(path, part, con, rows))
        if part is data:
            noticed[:] = [*con.findings, *con.similar]
        report = folder / archive.rollup_report_name(year, name)
        texts = typed_in(report)
        return written, stamped(
            write_rollup_report(
                report,
                spec,
                year,
                name,
                con.root,
                texts=texts,
                created=part.produced_at,
                covers=con.names_counted(name),
            )
        )

    def outputs_key() -> str | None:
        return None if writer is not None else _outputs_key(ledger, roster, spec, year, title, by_group)

    last = _recorded_outputs(ledger, year)  # (what the outputs on disk were made from)
    typed.update(_typed_on_record(last))
    key = None if changed else outputs_key()

    def stale_groups() -> list[Path]:
        """Without by_group: the group summaries an earlier --by-group wrote, when what they are made from
        changed since (their record's key against the key the outputs would have with by_group now)."""
        written = [outbox / rel for rel in sorted(last.get("group_keys") or {}) if (outbox / rel).is_file()]
        if by_group or not written or writer is not None:
            return []
        now = _outputs_key(ledger, roster, spec, year, title, True)
        return [] if last.get("groups_for") == now else written

    kept = _kept_outputs(last, key, outbox) if key else None
    if kept is not None:
        logger.info("台账、名册和设置自上次生成以来没有变化，汇总表保持原样：{}", kept.summary)
        kept.stale_groups = stale_groups()
        return kept
    group_keys: dict[str, str] = {}  # each group summary's own key (its outputs are left when it did not change)
    group_files: dict[str, list[int]] = {}  # (without by_group) the group outputs last written, as they were

    def record(up_to_date: str, outputs: Outputs) -> None:
        """Record the outputs (_record_outputs); `up_to_date` "" when some could not be written: the next
        run writes them all again, and knows the ones written this time as its own, not as edited."""
        if writer is not None:
            return
        known = stamps
        if not up_to_date:  # (the stamps on record of what was not written this time stay on record)
            earlier = {**(last.get("group_files") or {}), **(last.get("files") or {})}
            known = {**{outbox / rel: stamp for rel, stamp in earlier.items()}, **stamps}
        try:
            groups_for = (up_to_date or None) if by_group else last.get("groups_for")
            _record_outputs(
                ledger, year, up_to_date, outbox, outputs, known, group_keys, group_files, typed, groups_for
            )
        except Exception as exc:  # the outputs are written; only the next run's shortcut is lost
            logger.warning(
                "汇总表已写出，但未能在台账中记下其来源（{}）：下次运行会重新生成。", archive.describe_error(exc)
            )

    data = summary_data(ledger, roster, spec, year, title=title, units=units, cache=cache, last_year=last_year)
    if callable(comparisons):
        comparisons = comparisons()
    try:
        summary, report = summary_and_report(
            data,
            archive.summary_path(outbox, year),
            outbox / archive.SUMMARY_DIR,
            title or UNTITLED,
            comparisons,
            rows,
            sums,
        )
    except BaseException:
        if stamps:  # (the summary is written, its report is not: the summary is ours, not someone's edit)
            record("", Outputs(summary=archive.summary_path(outbox, year)))
        raise
    outputs = Outputs(summary=summary, reports=[report])
    if not by_group:  # kept on record, so that the next --by-group rewrites only the groups changed since
        group_keys = dict(last.get("group_keys") or {})
        group_files = _group_files(last)
        outputs.stale_groups = stale_groups()
    else:
        common = None if writer is not None else _code_and_form(spec, year)
        digests: dict[int, str] = {}
        taken: set[str] = set()  # group folders so far, as Windows compares names
        for part in subtrees(data):
            group = part.root
            folder = archive.group_summary_folder(outbox, group)
            n = 1
            while (folder.name if n == 1 else f"{folder.name} ({n})").casefold() in taken:
                n += 1  # ("甲-乙", "丙") and ("甲", "乙", "丙") are both 甲-乙-丙: the later one numbered
            folder = folder if n == 1 else folder.with_name(f"{folder.name} ({n})")
            taken.add(folder.name.casefold())
            path = folder / archive.safe_component(
                archive.summary_path(outbox, year).name.replace("年政府", f"年{part.title}政府")
            )
            report = folder / archive.rollup_report_name(year, part.title)
            if common is not None:
                group_key = _group_key(common, part, digests)
                group_keys[archive.relative(path, outbox)] = group_key
                if _group_kept(last, group_key, (path, report), outbox, stamps):
                    outputs.groups.append(path)
                    outputs.reports.append(report)
                    continue
            try:
                summary, report = summary_and_report(part, path, folder, part.title)
            except OSError as exc:  # (one held open in Excel: the other groups are still written)
                logger.error(
                    "无法写出分组汇总表：{}。其他汇总表照常写出；排除问题后再运行一次即可补写。",
                    archive.describe_error(exc),
                )
                held = Path(getattr(exc, "target", None) or path)
                if held == report:  # (the summary was written; its 上报用 report was not)
                    outputs.groups.append(path)
                outputs.failed.append(held)
                group_keys.pop(archive.relative(path, outbox), None)  # (not up to date: written again next time)
                continue
            outputs.groups.append(summary)
            outputs.reports.append(report)
    outputs.set_aside, outputs.noticed = set_aside, noticed
    if changed:
        key = outputs_key()
    # (with a failure, not recorded as up to date: the next run writes what is missing)
    record(key if key and not outputs.failed else "", outputs)
    return outputs


def _outputs_key(ledger: Ledger, roster: Roster | None, spec: Spec, year: int, title: str, by_group: bool) -> str:
    """A digest of everything the year's outputs are made from: the ledger rows of the year and the
    year before, the roster (and the one saved with the year before), the form (with its job settings),
    the title, by_group and the writers."""
    units = repr([tuple(vars(u).values()) for u in roster.units]) if roster is not None else None  # (no dataclass repr)
    before = ledger.meta(_roster_meta(year - 1))  # (last year's units as saved: what 上年 is summed by)
    # (the year after too: a refused file of another year's counts there is settled here, see unit_results)
    parts = (_code_and_form(spec, year), title, by_group, units, ledger.digest((year, year - 1, year + 1)), before)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@functools.cache
def _source_digest() -> str:
    """A digest of this package's code: outputs written by other code are written again (a change of
    the summary's layout need not come with a new version number). Empty where there is no source."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        try:
            digest.update(path.read_bytes())
        except OSError:
            return ""
    return digest.hexdigest()


def _outputs_meta(year: int) -> str:
    return f"outputs.{year}"


def _recorded_outputs(ledger: Ledger, year: int) -> dict[str, Any]:
    """What _record_outputs recorded of the year's outputs ({} when nothing, or unreadable)."""
    try:
        state = json.loads(ledger.meta(_outputs_meta(year)) or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def recorded_noticed(ledger: Ledger, year: int) -> list[Finding]:
    """What summing found when the year's outputs were last written (内容雷同 and the rest), as recorded
    with them: what the summary's 问题清单 lists, for `status`, which reads only the ledger."""
    return findings_unpacked(_recorded_outputs(ledger, year).get("noticed"))


def _code_and_form(spec: Spec, year: int) -> str:
    """What every output is made from besides the ledger, the roster and the settings: the code (this
    package's, xlsxwriter's) and the form, by its content, not where it is installed; and the year."""
    import xlsxwriter

    from . import __version__

    return repr(
        (
            __version__,
            _source_digest(),
            xlsxwriter.__version__,
            year,
            repr(replace(spec, source=Path(spec.source).name)),
        )
    )


_UNIT_FIELDS = tuple(f.name for f in fields(UnitResult) if f.name not in ("submission", "findings"))


def _group_key(common: str, part: SummaryData, digests: dict[int, str]) -> str:
    """A digest of what one group's outputs are made from: `common` (_code_and_form), the group, when
    it was produced, and its units in order, each with its ledger row (a row's report never changes),
    findings and last year's row (which the roster as it is now decides). `digests`: each unit's part,
    by id, made once for all the groups it is in."""
    parts = [common, repr(part.root), part.produced_at.isoformat(), repr(sorted(part.covered_outside.items()))]
    merged = {k: (v, (part.previous_ids or {}).get(k)) for k, v in part.previous_as.items()}
    parts.append(repr(sorted(merged.items())))  # (last year's units merged into one of the group's, their rows)
    last = part.previous_ids or {}
    for u in part.units:
        digest = digests.get(id(u))
        if digest is None:
            made = repr(
                (
                    tuple(getattr(u, name) for name in _UNIT_FIELDS),
                    [tuple(f.as_dict().values()) for f in u.findings],
                    last.get(u.name),
                )
            )
            digest = digests[id(u)] = hashlib.sha256(made.encode()).hexdigest()
        parts.append(digest)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _group_kept(
    last: dict[str, Any], key: str, paths: tuple[Path, Path], outbox: Path, stamps: dict[Path, list[int]]
) -> bool:
    """Whether a group's summary and roll-up report, as last recorded, were made from `key` and are still
    there as written; if so their stamps are carried over into `stamps`."""
    try:
        if last.get("group_keys", {}).get(archive.relative(paths[0], outbox)) != key:
            return False
        kept = {}
        for path in paths:
            rel = archive.relative(path, outbox)
            recorded = last["files"][rel] if rel in last["files"] else last["group_files"][rel]
            if not _as_written(outbox, rel, recorded):
                return False
            kept[path] = list(recorded)
    except (OSError, KeyError, TypeError, AttributeError):
        return False
    stamps.update(kept)
    return True


def _group_files(last: dict[str, Any]) -> dict[str, list[int]]:
    """The group outputs of a record (_recorded_outputs) with their stamps: the files of the group
    summaries it names (their folders) that it holds stamps of."""
    try:
        folders = {rel.rsplit("/", 1)[0] + "/" for rel in last.get("group_keys") or {}}
        stamps = {**(last.get("group_files") or {}), **(last.get("files") or {})}
        return {rel: stamp for rel, stamp in stamps.items() if rel.rsplit("/", 1)[0] + "/" in folders}
    except (AttributeError, TypeError):
        return {}


def set_aside_edited(path: Path, outbox: Path, last: dict[str, Any]) -> Path | None:
    """Rename an output that is no longer as it was written (last: _recorded_outputs) to a free name
    beside it, "…（修改过的副本 20260120-1530）.xlsx" (its mtime); return the new path, or None when it is
    as written, gone, or was never recorded (nothing is known to be someone's work)."""
    rel = archive.relative(path, outbox)
    try:
        recorded = {**(last.get("group_files") or {}), **(last.get("files") or {})}
        stamp = recorded.get(rel)
        if stamp is None or _as_written(outbox, rel, stamp):
            return None
        when = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M")
    except (OSError, TypeError, AttributeError, ValueError):
        return None
    n = 1
    while True:
        aside = path.with_name(archive.numbered(f"{path.stem}（修改过的副本 {when}）{path.suffix}", n))
        if not aside.exists():
            break
        n += 1
    atomic.replace(path, aside, held=path)  # (open in Excel: FileInUse naming it, as writing it would be)
    return aside


UNTITLED = "本级"  # the name of the 上报用 report (its 单位名称) where nianbao.toml sets no title


def _typed_on_record(last: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The texts typed into 上报用 reports, as last recorded (`typed_texts`; {} when none or unreadable)."""
    texts = last.get("texts")
    if not isinstance(texts, dict):
        return {}
    return {
        rel: {k: v for k, v in typed.items() if isinstance(k, str) and isinstance(v, str)}
        for rel, typed in texts.items()
        if isinstance(rel, str) and isinstance(typed, dict)
    }


def typed_texts(path: Path, spec: Spec, year: int) -> dict[str, str] | None:
    """What someone typed into a 上报用 report we wrote (文字部分, 填报人, 联系电话 …, 情况说明 rows): carried
    into the next one. None when it cannot be read as a report of this edition and year."""
    from .reader import read_workbook

    try:
        sub = read_workbook(path, name=path.name).submission
    except Exception:  # (a file that cannot be read: nothing to carry; it is kept as it is anyway)
        logger.opt(exception=True).debug("读取修改过的上报用汇总报告 {} 时出错", path)
        return None
    if sub is None or sub.edition != spec.edition or sub.year != year:
        return None
    keep = {code for code in sub.texts if code not in ("info.agency", "info.year")}
    typed = {code: sub.texts[code] for code in sorted(keep) if (sub.texts[code] or "").strip()}
    for note in sub.notes:  # (情况说明 rows: the county's explanations of its roll-up's warnings)
        if 1 <= note.index <= spec.notes.rows and (note.rule or note.cell or note.text):
            for part, value in (("rule", note.rule), ("cell", note.cell), ("text", note.text)):
                typed[note_code(note.index, part)] = value or ""
    return typed


def _as_written(outbox: Path, rel: str, stamp: list[int]) -> bool:
    """Whether an output still has the size and mtime recorded right after it was put in place."""
    st = (outbox / rel).stat()
    return [st.st_size, st.st_mtime_ns] == list(stamp)


def _kept_outputs(state: dict[str, Any], key: str, outbox: Path) -> Outputs | None:
    """The outputs last written (`state`: _recorded_outputs), when they were made from `key` and are
    still there as written."""
    try:
        if state.get("key") != key:
            return None
        if not all(_as_written(outbox, rel, stamp) for rel, stamp in state["files"].items()):
            return None
        return Outputs(
            summary=outbox / state["summary"],
            reports=[outbox / rel for rel in state["reports"]],
            groups=[outbox / rel for rel in state["groups"]],
            kept=True,
            noticed=findings_unpacked(state.get("noticed")),
        )
    except (OSError, ValueError, KeyError, TypeError):  # gone, changed, or an older record: write them again
        return None


def _record_outputs(
    ledger: Ledger,
    year: int,
    key: str,
    outbox: Path,
    outputs: Outputs,
    stamps: dict[Path, list[int]],
    group_keys: dict[str, str] | None = None,
    group_files: dict[str, list[int]] | None = None,
    typed: dict[str, dict[str, str]] | None = None,
    groups_for: str | None = None,
) -> None:
    """Remember what the outputs were made from and how each was left (size, mtime taken right after
    it was put in place: not a version someone saved over it meanwhile), for _kept_outputs; and what
    each group summary was made from (`group_keys`, by its path), for _group_kept (with `group_files`,
    the stamps of group outputs not written this time: kept on record without by_group); `groups_for`:
    the outputs key of the last --by-group run that wrote them all (a run without it says when they
    are out of date)."""
    state = {
        "key": key,
        "summary": archive.relative(outputs.summary, outbox),
        "reports": [archive.relative(p, outbox) for p in outputs.reports],
        "groups": [archive.relative(p, outbox) for p in outputs.groups],
        "files": {archive.relative(p, outbox): stamp for p, stamp in stamps.items()},
        "group_keys": group_keys or {},
        "group_files": group_files or {},
        "texts": typed or {},
        "groups_for": groups_for,
        # (what summing found, said again by a run that leaves the outputs as they are and by `status`:
        # ~13,000 内容雷同 findings at 10,000 units, packed to ~0.5 MB, made a finding at a time)
        "noticed": findings_packed(outputs.noticed),
    }
    ledger.set_meta(_outputs_meta(year), json.dumps(state, ensure_ascii=False))


@dataclass
class Outputs:
    """Where a run's consolidated outputs are."""

    summary: Path
    reports: list[Path] = field(default_factory=list)  # filled report templates (上报用)
    groups: list[Path] = field(default_factory=list)  # per-group summaries (--by-group)
    kept: bool = False  # left as they were: nothing they are made from changed
    failed: list[Path] = field(default_factory=list)  # group summaries that could not be written (open in Excel)
    set_aside: list[Path] = field(default_factory=list)  # outputs someone had edited, kept under another name
    # what summing the year found (roll-up overlaps, reports not summed, 内容雷同): said on screen too
    noticed: list[Finding] = field(default_factory=list)
    stale_groups: list[Path] = field(
        default_factory=list
    )  # group summaries an earlier --by-group wrote, left as they were


def summary_data(
    ledger: Ledger,
    roster: Roster | None,
    spec: Spec,
    year: int,
    *,
    title: str = "",
    units: tuple[list[UnitResult], list[FileRow]] | None = None,
    cache: dict[int, Submission] | None = None,
    last_year: KeptUnits | None = None,
) -> SummaryData:
    """What the summary shows, from the ledger alone (so it can be rebuilt at any time).

    `last_year`: what the last call listed of the year before (watch; see KeptUnits).

    produced_at is the time of the year's last ledger change (duplicates aside), not the clock: the same
    ledger gives the same workbook, and a run that receives nothing new leaves the summary as it was.
    """
    units, unidentified = units or unit_results(ledger, roster, year, submissions=False)
    attach_submissions(ledger, units, light=True, cache=cache)
    before_roster = _last_roster(roster, ledger, year - 1)  # (last year's units as they were: none merged)
    before, _ = unit_results(ledger, before_roster, year - 1, light=True, kept=last_year)
    counted_before = [u for u in before if u.counted and u.submission is not None]
    by_now: dict[str, list[UnitResult]] = {}  # (this year's name → last year's units it is made of)
    for u in counted_before:
        by_now.setdefault(_named_now(u.name, roster) if before_roster is not roster else u.name, []).append(u)
    previous: dict[str, Submission] = {}
    previous_ids: dict[str, int] = {}
    previous_as: dict[str, str] = {}
    for name, made_of in by_now.items():  # (units merged into one: each kept, the others under their own names)
        keeper = next((u for u in made_of if u.name == name), made_of[0])
        for u in made_of:
            key = name if u is keeper else u.name
            if u is not keeper and (key in by_now or key in previous):
                key = f"{u.name}（{year - 1} 年度）"
            previous[key] = u.submission  # type: ignore[assignment]
            if u.file_id is not None:
                previous_ids[key] = u.file_id
            if key != name:
                previous_as[key] = name
    # (duplicates left out: they are not in the summary, so they do not make it newer)
    first, last = ledger.db.execute(
        "SELECT min(processed_at), max(processed_at) FROM files WHERE year=? AND status IS NOT ?", (year, DUPLICATE)
    ).fetchone()
    produced = dt.datetime.fromisoformat(last).replace(tzinfo=None) if last else dt.datetime.now()
    started = dt.datetime.fromisoformat(first).replace(tzinfo=None, microsecond=0) if first else None
    return SummaryData(
        spec=spec,
        year=year,
        units=units,
        title=title,
        previous=previous or None,
        previous_ids=previous_ids or None,
        previous_as=previous_as,
        produced_at=produced.replace(microsecond=0),
        started_at=started,
        findings=[f for row in unidentified for f in row.findings],
    )


# ---- helpers ---------------------------------------------------------------------------------


def _read(cand: Candidate) -> tuple[bytes | Path, str, Candidate]:
    """The file's bytes (or its path, when too large to hold), their SHA-256, and the candidate with
    the size and mtime the file had while it was read (what the final unlink compares with)."""
    if cand.size > IN_MEMORY_LIMIT:
        return cand.path, archive.sha256_file(cand.path), cand
    data, sha, (size, mtime_ns) = read_snapshot(cand.path)
    # (a copy still being finished when it was scanned arrived with its last write)
    arrived = max(cand.arrived_ns, mtime_ns) if cand.arrived_ns is not None else None
    return data, sha, replace(cand, size=size, mtime_ns=mtime_ns, arrived_ns=arrived)


def _unlink_if_same(cand: Candidate) -> bool:
    """Remove an archived original from the inbox, unless it changed since it was read; True when gone.

    A file that changed, or that cannot be removed (open in another program on Windows), stays and
    says why in the log; the next run finishes it (same content: just removed; new content: processed).
    """
    try:
        st = cand.path.stat()
    except FileNotFoundError:
        return True
    if (st.st_size, st.st_mtime_ns) != cand.signature:
        logger.warning("文件 {} 在处理期间被修改：已归档处理时的内容，新内容留在收件文件夹，下次运行再处理。", cand.rel)
        return False
    try:
        _remove(cand.path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        logger.warning(
            "文件 {} 已归档，但无法从收件文件夹移走（{}，可能正在 Excel/WPS 中打开）；关闭后下次运行会再移走。",
            cand.rel,
            archive.describe_error(exc),
        )
        return False
    return True


def _remove(path: Path) -> None:
    """Unlink a file; on Windows also one with the read-only attribute, which unlink refuses (a file
    copied from a CD or marked read-only by its sender): archived already, so its attribute is cleared."""
    try:
        path.unlink()
    except PermissionError:
        readonly = getattr(stat, "FILE_ATTRIBUTE_READONLY", 1)
        if not atomic.WINDOWS or not getattr(os.stat(path), "st_file_attributes", readonly) & readonly:
            raise  # (elsewhere, or open in another program: not about the attribute)
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
        path.unlink()


def _mtime(path: Path | None) -> int | None:
    try:
        return path.stat().st_mtime_ns if path else None
    except OSError:
        return None


def _comparisons(store: Path, *, once: bool) -> Comparisons:
    from .similarity import Comparisons  # (numpy: not imported by the workers, which never compare texts)

    return Comparisons(store, _pairs_tag(), once=once)


def _pairs_tag() -> str:
    """What the stored pairs depend on besides the texts: the code that found them (PAIRS_STORE)."""
    from . import __version__

    return f"{__version__}:{_source_digest()}"


# In the outbox: the near pairs among the texts of a year's last summary (similarity.Comparisons.save),
# so that a run compares only the texts that are new since (at 10,000 units ~1.5 s instead of ~3 s). A
# cache: deleting it costs one full comparison; numpy arrays only (read without pickle).
PAIRS_STORE = ".nianbao.pairs-{year}.npz"


def _row_cache() -> RowCache:
    from .summary import RowCache  # (xlsxwriter: not imported by the workers either)

    return RowCache()


TIDY_MARK = ".nianbao.tidy"  # in the outbox: how many jobs in a row ended leaving no temporary file behind
# A job's start looks for temporary files unless the last TIDY_JOBS jobs ended tidy: after a job that was
# killed, its workers may still write a draft (a file or two later) after the next job's start looked.
TIDY_JOBS = 2


def _take_tidy_mark(outbox: Path) -> int:
    """How many jobs in a row ended tidy before this one (0: none said so). The mark is removed now:
    a job that dies from here on leaves none, and the next start looks for its temporary files."""
    path = outbox / TIDY_MARK
    try:
        count = int(path.read_text(encoding="ascii").strip() or "1")
        path.unlink()
    except (OSError, ValueError):  # no mark (a job died, or an older nianbao) or not ours: look
        return 0
    return min(max(count, 0), TIDY_JOBS)


def _leave_tidy_mark(outbox: Path, count: int) -> None:
    """Say that this job leaves no temporary file (`count`: tidy jobs in a row): the next start need
    not walk the whole outbox (14,000 folders at 10,000 units: ~0.3 s) once TIDY_JOBS have said so."""
    try:
        (outbox / TIDY_MARK).write_text(str(count), encoding="ascii")
    except OSError:  # the next start looks, as without it
        pass


def _clean_temp_files(outbox: Path) -> None:
    """Remove temporary files an interrupted job left in the outbox (never anything else)."""
    from .atomic import TEMP_PREFIX, TEMP_SUFFIX

    for folder, _, names in os.walk(outbox):  # ~4× faster than rglob over 10,000s of folders; links not followed
        for name in names:
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                try:
                    os.unlink(os.path.join(folder, name))
                except OSError:
                    pass


# Feedback workbooks are fsynced with their batch (Job._commit) instead of one by one in the workers;
# not on Windows, where that reopens the file for writing and fails while a clerk has it open in Excel.
DEFER_FEEDBACK_SYNC = os.name != "nt"


def _default_feedback(path: Path, result: Any) -> Path:
    """The feedback workbook; where DEFER_FEEDBACK_SYNC, not yet fsynced (Job._commit does it)."""
    from .feedback import write_feedback

    return write_feedback(path, result, durable=not DEFER_FEEDBACK_SYNC)


def _write_text_feedback(path: Path, task: Task, result: Any) -> Path:
    """For a file that could not be read at all: the findings as a short text the agency can open."""
    from .atomic import write_text_atomic

    lines = [f"文件“{task.name}”未能通过校验，未计入汇总：", ""]
    lines += [f"{i}. {f.message}" for i, f in enumerate(result.report.sorted(), start=1)]
    lines += ["", "请改正后重新提交。"]
    return write_text_atomic(path, "\ufeff" + "\r\n".join(lines) + "\r\n")


def _gave_up(task: Task) -> Examined:
    """A file the job died on MAX_ATTEMPTS times is returned unread (it may be hostile)."""
    return _unread(task, f"处理该文件时程序已中断 {task.attempts - 1} 次")


def _crashed(task: Task) -> Examined:
    """A file whose check, alone in a worker process, killed that process: returned unread."""
    return _unread(task, "检查该文件时检查程序异常退出，文件可能已损坏或经过特殊构造")


def _unread(task: Task, reason: str) -> Examined:
    from .check import CheckResult

    f = finding(edition_for_year(task.year), "file-unreadable", file=task.name, reason=reason)
    return Examined(task, CheckResult(task.name, None, Report([f]), None), None, False)
