"""The inbox: which files are submissions, whether they are complete, and their content identity."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .archive import describe_error
from .atomic import TEMP_PREFIX

# Office, WPS and LibreOffice lock files, partial downloads and editor leftovers are never read.
TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".lock", ".bak", "~")
SYSTEM_FILES = {"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db"}
SKIP_DIRS = {"__macosx", "$recycle.bin", "system volume information"}


@dataclass(frozen=True)
class Candidate:
    """A file in the inbox that may be a submission."""

    path: Path
    rel: str  # path relative to the inbox, forward slashes
    size: int
    mtime_ns: int
    arrived_ns: int | None = None  # when it was put in the inbox, as its times tell (`arrival_ns`)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def signature(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)

    @property
    def folders(self) -> tuple[str, ...]:
        """The subfolders of the inbox it sits in, outermost first."""
        return tuple(Path(self.rel).parts[:-1])


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str  # Chinese, for the console and the log
    unreadable: bool = False  # a folder or file that could not be read (the coordinator must act)


def _hidden(st: os.stat_result) -> bool:
    attrs = getattr(st, "st_file_attributes", 0)  # Windows only
    return bool(attrs & (getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)))


def _is_link(path: Path) -> bool:
    """A symbolic link, or a Windows junction (os.walk follows junctions before Python 3.12, which has
    no os.path.isjunction either: there a reparse point is told by its attribute)."""
    if path.is_symlink():
        return True
    isjunction = getattr(os.path, "isjunction", None)
    if isjunction is not None:
        return isjunction(path)
    try:
        st = path.lstat()
    except OSError:
        return False
    attrs = getattr(st, "st_file_attributes", 0)  # (Windows only; a OneDrive placeholder is a reparse point too)
    mount_point = getattr(stat, "IO_REPARSE_TAG_MOUNT_POINT", 0xA0000003)  # what isjunction checks since 3.12
    reparse = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)
    return bool(attrs & reparse) and getattr(st, "st_reparse_tag", 0) == mount_point


def skip_reason(name: str) -> str | None:
    """Why a file name is never a submission (lock, hidden or temporary file), or None."""
    lower = name.lower()
    if name.startswith("~$") or lower.startswith(".~lock."):
        return "Office/WPS 打开文件时生成的锁定文件"
    if name.startswith(TEMP_PREFIX):
        return "nianbao 的临时文件"
    if name.startswith("."):
        return "隐藏文件"
    if lower in SYSTEM_FILES:
        return "系统文件"
    if name.startswith("~") or lower.endswith(TEMP_SUFFIXES):
        return "临时文件或未下载完成的文件"
    return None


def scan(inbox: Path) -> tuple[list[Candidate], list[Skipped]]:
    """Every file under the inbox (subfolders included) that may be a submission, and what was skipped.

    Hidden folders, symbolic links and files that vanish while scanning are left alone. Candidates
    come back oldest first (by modification time, then path).
    """
    inbox = Path(inbox)
    found: list[Candidate] = []
    skipped: list[Skipped] = []

    def unreadable(exc: OSError) -> None:  # a folder that cannot be listed (the inbox too): said, not passed over
        where = Path(exc.filename) if exc.filename else inbox
        why = f"无法打开的文件夹（{describe_error(exc)}），其中的文件没有处理"
        skipped.append(Skipped(where, why, unreadable=True))

    for folder, dirs, files in os.walk(inbox, onerror=unreadable):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d.lower() not in SKIP_DIRS)
        for d in [d for d in dirs if _is_link(base / d)]:  # never walked out of the inbox through a link
            dirs.remove(d)
            skipped.append(Skipped(base / d, "指向其他位置的文件夹链接（不处理，请放入文件本身）"))
        for name in sorted(files):
            path = base / name
            reason = skip_reason(name)
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue  # vanished while scanning
            except OSError as exc:  # (e.g. a path too long for Windows, from an archive unpacked deep down)
                skipped.append(Skipped(path, f"无法读取（{describe_error(exc)}）", unreadable=True))
                continue
            if reason is None and stat.S_ISLNK(st.st_mode):
                reason = "符号链接（请放入文件本身）"
            elif reason is None and not stat.S_ISREG(st.st_mode):
                reason = "不是普通文件"
            elif reason is None and _hidden(st):
                reason = "隐藏文件"
            if reason:
                skipped.append(Skipped(path, reason))
                continue
            rel = path.relative_to(inbox).as_posix()
            found.append(Candidate(path, rel, st.st_size, st.st_mtime_ns, arrival_ns(st)))
    found.sort(key=lambda c: (c.mtime_ns, c.rel))
    return found, skipped


def arrival_ns(st: os.stat_result) -> int:
    """When a file was put where it is, as far as its times tell: the later of its last modification and
    its creation (Windows, macOS: a copy is created anew but keeps the time it was last saved) or, where
    there is no creation time (Linux), its last status change (a copy, a move, a save: each changes it).
    Never earlier than the last save; the job caps it at the time it first saw the file."""
    born = getattr(st, "st_birthtime_ns", None)
    if born is None and hasattr(st, "st_birthtime"):
        born = int(st.st_birthtime * 1e9)
    return max(st.st_mtime_ns, born if born is not None else st.st_ctime_ns)


def openable(path: Path) -> bool:
    """The file can be opened for reading now (Windows refuses while a copy is still writing it)."""
    try:
        with open_regular(path):
            return True
    except OSError:
        return False


def busy(path: Path) -> bool:
    """The file cannot be opened because another program is writing it (a sharing violation, Windows).

    Any other reason (no read permission, not a regular file) will not pass by waiting: such a file is
    taken, and reading it says why.
    """
    try:
        with open_regular(path):
            return False
    except OSError as exc:
        return getattr(exc, "winerror", None) in SHARING_VIOLATIONS


SHARING_VIOLATIONS = (32, 33)  # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION


class Changing(OSError):
    """The file changed while it was being read (it is still being written); it is left for the next run."""


def open_regular(path: Path) -> BinaryIO:
    """Open an inbox file (or the outbox's pairs store) for reading: never through a symbolic link (one
    put in place after the scan), never blocking on a named pipe; OSError when it is not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "不是普通文件", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_snapshot(path: Path) -> tuple[bytes, str, tuple[int, int]]:
    """The file's content, its SHA-256 and the (size, mtime_ns) it had while being read.

    Raises Changing when the file changed during the read, so the bytes could be half old, half new.
    """
    with open_regular(path) as fh:
        before = os.fstat(fh.fileno())
        data = fh.read()
        after = os.fstat(fh.fileno())
    signature = (after.st_size, after.st_mtime_ns)
    if (before.st_size, before.st_mtime_ns) != signature or len(data) != after.st_size:
        raise Changing(errno.EAGAIN, "文件在读取时被修改", str(path))
    return data, hashlib.sha256(data).hexdigest(), signature


class Stability:
    """Tells when files have stopped changing: same size and mtime for `window` seconds, and openable."""

    def __init__(
        self,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.window = window
        self.clock = clock
        # With `wall` (the clock file times are in): a file first seen with a modification time already
        # older than the window has been still that long, so it counts as stable at once (`run`).
        self.wall = wall
        self._seen: dict[str, tuple[tuple[int, int], float]] = {}  # rel → (signature, since)

    def update(self, candidates: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
        """(stable, still changing) among the candidates of a new scan; forgets files that are gone."""
        now = self.clock()
        stable: list[Candidate] = []
        waiting: list[Candidate] = []
        current = {c.rel for c in candidates}
        for rel in list(self._seen):
            if rel not in current:
                del self._seen[rel]
        wall = self.wall() if self.wall is not None else None
        for c in candidates:
            first = now
            if wall is not None and c.rel not in self._seen and wall - c.mtime_ns / 1e9 >= self.window:
                first = now - min(wall - c.mtime_ns / 1e9, max(self.window, 1.0) * 3)
            sig, since = self._seen.get(c.rel, (None, first))
            if sig != c.signature:
                since = now if sig is not None else first
                self._seen[c.rel] = (c.signature, since)
            if c.size > 0 and now - since >= self.window and not busy(c.path):
                stable.append(c)
            elif c.size == 0 and now - since >= max(self.window, 1.0) * 3:
                stable.append(c)  # a file that stays empty is an empty submission, not one in progress
            else:
                waiting.append(c)
        return stable, waiting

    def forget(self, rel: str) -> None:
        self._seen.pop(rel, None)

    def next_due(self) -> float | None:
        """Seconds until the earliest waiting file may be stable, or None when nothing waits."""
        if not self._seen:
            return None
        now = self.clock()
        return max(0.0, min(since + self.window - now for _, since in self._seen.values()))


def wait_for_complete(
    inbox: Path,
    window: float,
    max_wait: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    stop: Callable[[], bool] = lambda: False,
) -> tuple[list[Candidate], list[Candidate], list[Skipped]]:
    """Scan the inbox until every file is stable, `max_wait` has passed or `stop()` is true.

    Returns (complete files, files still changing when the wait ran out, skipped files).
    """
    tracker = Stability(window, clock, wall=time.time)  # files long unchanged need no wait
    start = clock()
    while True:
        candidates, skipped = scan(inbox)
        stable, waiting = tracker.update(candidates)
        if not waiting or clock() - start >= max_wait or stop():
            return stable, waiting, skipped
        due = tracker.next_due() or 0.0
        sleep(min(max(due, 0.05), max(0.05, max_wait - (clock() - start)), 0.5))


def read_file(path: Path) -> tuple[bytes, str]:
    """The file's content and its SHA-256 (hex), read once so both describe the same bytes."""
    data, sha, _ = read_snapshot(path)
    return data, sha
