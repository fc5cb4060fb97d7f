"""Watch the inbox: process each file once it is complete, refresh the outputs, stop cleanly on Ctrl-C.

The core is a polling loop (it works everywhere, including SMB/NFS shares that deliver no change
events); where the platform delivers file-system events, watchdog's observer only wakes the loop
early. A file counts as complete when its size and mtime have not changed for the stability window.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from .batch import CheckFn, FeedbackFn, FileOutcome, Job, RunResult, SummaryFn, say_skipped
from .config import Settings
from .consolidate import COUNTED, COVERED, MISSING, REJECTED
from .inbox import Candidate, Stability, scan
from .joblock import job_lock

SHOWN_STATUSES = (*COUNTED, REJECTED)  # a file processed with one of these is a new ledger row the summary shows
TICK = 0.5  # longest uninterrupted wait, so that Ctrl-C is honoured quickly on every platform
LEFT_RETRY = 60.0  # seconds before a file left in the inbox, or an output not written (open in Excel), is tried again


@dataclass
class WatchResult:
    files: list[FileOutcome] = field(default_factory=list)
    cycles: int = 0
    summary: Path | None = None
    events: bool = False  # file-system events were used (else polling only)


def _start_observer(inbox: Path, wake: threading.Event) -> Any | None:
    """A watchdog observer that sets `wake` on any change under the inbox; None when none can run."""
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:  # pragma: no cover - watchdog is a dependency
        return None

    class _Wake(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            wake.set()

    observer = Observer()
    try:
        observer.schedule(_Wake(), str(inbox), recursive=True)
        observer.start()
    except Exception as exc:  # e.g. inotify watch limit reached: polling still works
        logger.warning("无法使用文件系统事件（{}），改为每隔一段时间扫描一次。", exc)
        return None
    return observer


def watch(
    settings: Settings,
    *,
    force_poll: bool = False,
    stop: threading.Event | None = None,
    check: CheckFn | None = None,
    feedback: FeedbackFn | None = None,
    summary: SummaryFn | None = None,
    on_cycle: Callable[[RunResult], None] | None = None,
) -> WatchResult:
    """Process files as they become complete until `stop` is set; holds the outbox lock throughout."""
    stop = stop or threading.Event()
    out = WatchResult()
    with job_lock(settings.outbox, settings.lock_wait_seconds):
        job = Job(settings, mode="watch", check=check, feedback=feedback, summary=summary)
        if job.roster_note:  # (a past year's watch: which roster it uses)
            logger.info(job.roster_note)
        job.warm_intake()
        wake = threading.Event()
        observer = None if force_poll else _start_observer(settings.inbox, wake)
        out.events = observer is not None
        tracker = Stability(settings.stable_seconds)
        reported: set[tuple[str, str]] = set()  # skipped files already logged
        # rel → (signature, until when) of a file that failed (retried once it changes) or stayed in the inbox
        # after it was processed (also retried after LEFT_RETRY seconds: it may have been closed meanwhile)
        failed: dict[str, tuple[tuple[int, int], float]] = {}
        how = "文件系统事件 + 定时扫描" if observer else f"每 {settings.poll_seconds:g} 秒扫描"
        logger.info(
            "开始监视收件文件夹“{}”（{}，文件稳定 {:g} 秒后处理）。按 Ctrl+C 停止。",
            settings.inbox,
            how,
            settings.stable_seconds,
        )
        refresh = True
        changed = False  # new files changed the ledger since the last summary
        retry: float | None = None  # when to write the outputs again that could not be written (open in Excel)
        try:
            while not stop.is_set():
                out.cycles += 1
                candidates, skipped = scan(settings.inbox)
                for s in skipped:
                    if (str(s.path), s.reason) not in reported:
                        reported.add((str(s.path), s.reason))
                        say_skipped(s)
                now = time.monotonic()
                candidates = [c for c in candidates if not _held(failed.get(c.rel), c.signature, now)]
                stable, waiting = tracker.update(candidates)
                if stable:
                    outcomes = job.process(stable, stop=stop.is_set)
                    for c in stable:
                        tracker.forget(c.rel)
                    by_rel = {c.rel: c for c in stable}
                    for o in outcomes:
                        match = by_rel.get(o.rel)
                        if match and o.status == "error":
                            failed[o.rel] = (match.signature, math.inf)
                        elif match and _left_behind(match):
                            failed[o.rel] = (match.signature, time.monotonic() + LEFT_RETRY)
                    out.files += outcomes
                    refresh = refresh or bool(outcomes)
                    changed = changed or any(o.status in SHOWN_STATUSES for o in outcomes)
                if job.reload_roster():
                    refresh = True
                if retry is not None and time.monotonic() >= retry:
                    refresh, retry = True, None
                if refresh and not stop.is_set():
                    result = _refresh(job, out.files, changed)
                    out.summary = result.summary
                    refresh = changed = False
                    if result.summary is None or result.failed_outputs:  # (a run cannot: watch holds the lock)
                        retry = time.monotonic() + LEFT_RETRY
                    if on_cycle:
                        on_cycle(result)
                _wait(wake, stop, _pause(settings.poll_seconds, tracker.next_due() if waiting else None))
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
            job.close({"files": len(out.files), "cycles": out.cycles})
    logger.info("已停止监视。本次共处理 {} 个文件。", len(out.files))
    return out


def _refresh(job: Job, files: list[FileOutcome], changed: bool = False) -> RunResult:
    from .summary import gc_paused

    with gc_paused():  # (the cyclic collector would rescan the job's kept rows and texts, ~0.3 s a time)
        units, unidentified = job.units()
        result = RunResult(job.year, job.spec.edition, job.outbox, files=list(files), roster=job.settings.roster)
        result.units, result.unidentified = units, unidentified
        result.take(job.write_outputs((units, unidentified), changed=changed))
    if result.summary and not result.kept:  # (the roster units as `run` and the summary count them)
        shown = result.unit_counts
        counted = sum(shown[s] for s in COUNTED)
        covered = f"，由县区汇总表涵盖 {shown[COVERED]} 个" if shown[COVERED] else ""
        logger.info(
            "汇总表已更新：{}（名册单位已计入汇总 {} 个{}，未报送 {} 个）",
            result.summary,
            counted,
            covered,
            shown[MISSING],
        )
    return result


def _held(entry: tuple[tuple[int, int], float] | None, signature: tuple[int, int], now: float) -> bool:
    """Whether a file is not to be taken this cycle (see `failed` in watch)."""
    return entry is not None and entry[0] == signature and now < entry[1]


def _left_behind(cand: Candidate) -> bool:
    """Whether a file processed (archived and recorded) is still in the inbox as it was: one that
    cannot be removed (open in Excel on Windows, no delete right on a share). Not taken again every
    cycle — hashed, found archived, said again — until it changes or a run is started."""
    try:
        st = cand.path.stat()
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == cand.signature


def _pause(poll: float, due: float | None) -> float:
    """Seconds to sleep before the next scan: the poll interval, or until the first waiting file's
    stability window is over (a hair later), or a quarter second when one is over but the file was
    not stable yet (still open, still changing)."""
    if due is None:
        return poll
    return min(poll, due + 0.01 if due > 0 else 0.25)


def _wait(wake: threading.Event, stop: threading.Event, seconds: float) -> None:
    """Sleep up to `seconds`, returning early on a file-system event or a stop request."""
    remaining = seconds
    while remaining > 0 and not stop.is_set() and not wake.is_set():
        step = min(TICK, remaining)
        wake.wait(step)
        remaining -= step
    wake.clear()


@contextmanager
def stop_on_interrupt(
    message: str = "收到停止信号：处理完当前文件后停止（再按一次 Ctrl+C 立即退出）…",
) -> Iterator[threading.Event]:
    """Turn the first Ctrl-C (SIGINT, SIGTERM, Windows Ctrl-Break) into a stop request; a second one interrupts.

    Only in the main thread (signal handlers can be installed nowhere else); elsewhere the event is
    simply returned for the caller to set.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    names = ["SIGINT", "SIGTERM", "SIGBREAK"]
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.set()
        logger.warning(message)

    for name in names:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not allowed here
            continue
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
