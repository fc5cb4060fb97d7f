"""One job at a time per outbox: a cross-platform lock file that a second run or watch waits on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .archive import LOCK_FILE

EXIT_BUSY = 3  # exit code of a job that gave up waiting for another one


class JobBusy(RuntimeError):
    """Another job holds the outbox; the message (Chinese) says which folder and what to do."""


@contextmanager
def job_lock(outbox: Path, wait: float) -> Iterator[Path]:
    """Hold outbox/.nianbao.lock for the duration; wait up to `wait` seconds for another job to finish.

    filelock uses fcntl on POSIX and msvcrt on Windows; the lock dies with the process that held it,
    so a crashed job never leaves the outbox locked.
    """
    outbox = Path(outbox)
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / LOCK_FILE
    lock = FileLock(path, timeout=wait)
    try:
        lock.acquire()
    except Timeout as exc:
        raise JobBusy(
            f"另一个 nianbao 任务（run 或 watch）正在处理输出文件夹“{outbox}”，已等待 {wait:g} 秒仍未结束{_holder(outbox)}。"
            "请等它完成后再运行；如果正在运行 watch，它会自动处理新文件，无需再运行 run。"
        ) from exc
    try:
        yield path
    finally:
        lock.release()


def _holder(outbox: Path) -> str:
    """Which job that likely is, from the ledger (Ledger.unfinished_run), e.g. （台账记录：PC-01 上的 zhang
    于 … 开始的 watch）. On a network share the lock of a computer that crashed is held until its session
    times out: this says whose computer to look at. Empty when the ledger cannot say."""
    import sqlite3

    from .archive import LEDGER_FILE
    from .ledger import Ledger, LedgerError

    if not (outbox / LEDGER_FILE).is_file():
        return ""
    try:
        with Ledger(outbox / LEDGER_FILE, readonly=True, timeout=1) as ledger:
            row = ledger.unfinished_run()
    except (LedgerError, sqlite3.Error):
        return ""
    if row is None:
        return ""
    mode, host, user, started = row
    who = f"{host} 上的 {user}" if host and user else host or user or "某台电脑"
    return f"（台账记录：{who} 于 {str(started)[:16].replace('T', ' ')} 开始的 {mode}）"
