"""Lossless moves: safe path names, durable copies to a free name, and where each kind of file goes."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import unicodedata
from functools import lru_cache
from pathlib import Path

from .atomic import new_temp_file

# Outbox layout (folder names a coordinator reads).
ARCHIVE_DIR, FEEDBACK_DIR, SUMMARY_DIR, LOG_DIR = "归档", "反馈", "汇总", "日志"
LEDGER_FILE, LOCK_FILE = "ledger.sqlite", ".nianbao.lock"
STATUS_DIR = {
    "accepted": "已通过",
    "warning": "有警告",
    "explained": "有警告",
    "rejected": "被退回",
    "duplicate": "重复",
    "withdrawn": "已撤回",
}
UNKNOWN_UNIT = "未识别单位"

_ILLEGAL = re.compile(r'[<>:"/\\|?*]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
MAX_CHARS, MAX_BYTES = 60, 180  # per path component; leaves room under Windows' 260-character paths


@lru_cache(maxsize=16384)  # pure, and called several times per file with names that recur (units, statuses)
def safe_component(name: str | None, *, fallback: str = "未命名", max_chars: int = MAX_CHARS) -> str:
    """A name usable as one path component on Windows and POSIX, as close to `name` as possible.

    Removes path separators, Windows-illegal characters <>:"/\\|?*, control and invisible format
    characters (including bidi overrides), leading dots (no hidden files, no ..), trailing dots and
    spaces; prefixes reserved device names (CON, NUL, COM1…); shortens long names keeping the suffix.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(" " if ch in "\t\r\n" else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    text = _ILLEGAL.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").rstrip(". ")
    if not text:
        return fallback
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    return _shorten(text, max_chars)


def _shorten(text: str, max_chars: int) -> str:
    stem, dot, suffix = text.rpartition(".")
    if not dot or len(suffix) > 8 or not stem:
        stem, suffix = text, ""
    else:
        suffix = "." + suffix
    while stem and (len(stem) + len(suffix) > max_chars or len((stem + suffix).encode("utf-8")) > MAX_BYTES):
        stem = stem[:-1]
    return (stem.rstrip(". ") or "_") + suffix


def numbered(name: str, n: int) -> str:
    """name.xlsx → name (2).xlsx: the n-th free name for a clash."""
    if n <= 1:
        return name
    path = Path(name)
    return f"{path.stem} ({n}){path.suffix}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); Windows has no directory handles to sync."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def describe_error(exc: BaseException) -> str:
    """An error reading or writing a file, in the words a clerk reads (Chinese; never a traceback)."""
    if isinstance(exc, OSError):
        if getattr(exc, "winerror", None) in (32, 33):
            return "文件正被其他程序使用，请关闭后再试"
        reason = _ERRNO_TEXT.get(exc.errno) if exc.errno is not None else None
        if reason:
            return reason
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc)
    if "disk is full" in text or "database or disk is full" in text:  # sqlite3.OperationalError
        return _ERRNO_TEXT[errno.ENOSPC]
    return text or type(exc).__name__


_ERRNO_TEXT = {
    errno.EACCES: "没有读写权限（请检查文件或文件夹的权限，或文件是否被其他程序锁定）",
    errno.EPERM: "没有读写权限（请检查文件或文件夹的权限）",
    errno.ENOSPC: "磁盘已满（请清理输出文件夹所在的磁盘后再运行）",
    getattr(errno, "EDQUOT", -1): "磁盘配额已用完（请清理后再运行）",
    errno.ENOENT: "文件或文件夹不存在（可能已被移走或删除）",
    errno.EROFS: "磁盘是只读的",
    errno.ENAMETOOLONG: "文件路径过长",
    errno.ELOOP: "是符号链接（请放入文件本身）",
    errno.EIO: "磁盘读写出错",
    errno.EISDIR: "是文件夹，不是文件",
    errno.EINVAL: "不是普通文件",
}


class ContentChanged(OSError):
    """The source file changed between hashing and copying; it is left for the next run."""


def store(
    source: bytes | Path, sha256: str, folder: Path, name: str, *, durable: bool = True, root: Path | None = None
) -> Path:
    """Durably store `source` (bytes, or a file copied by streaming) in `folder` under `name` or the
    first free numbered variant of it.

    Idempotent: when a file with the same content already sits under one of the candidate names
    (a run interrupted after copying), that file is returned and nothing is written. Never replaces
    a different file. Writes to a temporary file in `folder`, fsyncs, then links it to the free name
    (os.link fails rather than overwrite; os.replace after an existence check where links are not
    supported), so a crash leaves either nothing or the complete file under the name.
    With durable=False the fsyncs are left to the caller (make_durable, once for a batch of files);
    with `root`, the folders between it and `folder` (maybe just made) are synced too.
    """
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    found = _existing(sha256, size, folder, name)
    if found is not None:
        return found
    tmp = draft(source, sha256, folder, durable=durable)
    stored = settle(tmp, sha256, folder, name, durable=durable, checked=True)
    if durable and root is not None:
        for parent in _folders_up_to([folder], root)[1:]:
            fsync_dir(parent)
    return stored


def draft(source: bytes | Path, sha256: str, folder: Path, *, durable: bool = False) -> Path:
    """`source` written to a temporary file in `folder` (made if missing): the first half of `store`,
    which a worker process can do ahead (settle() gives the file its name). An interrupted job's drafts
    are temporary files: removed at the next start."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temp_file(folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(source, bytes):
                fh.write(source)
            else:
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, fh, 1 << 20)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if not isinstance(source, bytes) and sha256_file(tmp) != sha256:
            raise ContentChanged(f"{source} changed while it was copied")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def settle(tmp: Path, sha256: str, folder: Path, name: str, *, durable: bool = True, checked: bool = False) -> Path:
    """Give a draft (in `folder`) the first free numbered variant of `name`; a file with the same
    content already there is kept instead (the draft is removed). checked: the caller just looked."""
    try:
        found = None if checked else _existing(sha256, tmp.stat().st_size, folder, name)
        if found is not None:
            tmp.unlink()
            return found
        name = safe_component(name)
        n = 1
        target = folder / name
        while True:
            try:
                os.link(tmp, target)
                tmp.unlink()
                break
            except FileExistsError:
                n += 1
                target = folder / numbered(name, n)
            except OSError:  # no hard links here (some network shares, FAT): check, then rename
                while target.exists():
                    n += 1
                    target = folder / numbered(name, n)
                os.replace(tmp, target)
                break
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(folder)
    return target


def _existing(sha256: str, size: int, folder: Path, name: str) -> Path | None:
    """A file under `name` or a numbered variant of it in `folder` with this content, if any."""
    name = safe_component(name)
    n = 1
    while True:
        target = folder / numbered(name, n)
        if not target.exists():
            return None
        if target.is_file() and target.stat().st_size == size and sha256_file(target) == sha256:
            return target
        n += 1


def make_durable(paths: list[Path], root: Path | None = None) -> None:
    """fsync files written with durable=False (a batch's archive copies and feedback workbooks), then
    each of their folders once, and the folders above them up to `root` (a folder made for a new unit
    is an entry in its parent). (syncfs(2) would be one call, but it reports no write-back error on
    kernels before 5.8, none already reported to another process, and FUSE file systems may not flush.)"""
    for path in paths:
        with open(path, "rb+") as fh:  # Windows flushes only handles open for writing
            os.fsync(fh.fileno())
    for folder in _folders_up_to([Path(p).parent for p in paths], root):
        fsync_dir(folder)


def _folders_up_to(folders: list[Path], root: Path | None) -> list[Path]:
    """The folders, then each one's parents up to and including `root` (when it is one of them), once each."""
    out = dict.fromkeys(folders)
    if root is not None:
        for folder in list(out):
            if root in folder.parents:
                for parent in folder.parents:
                    out.setdefault(parent)
                    if parent == root:
                        break
    return list(out)


def year_folder(year: int | None) -> str:
    """A year's folder under 归档 and 反馈: 2025年度."""
    return f"{year}年度" if year else "年度不明"


def archive_folder(outbox: Path, year: int | None, status: str, unit: str | None) -> Path:
    """outbox/归档/<年度>/<已通过|有警告|被退回|重复>/<单位>/"""
    return outbox / ARCHIVE_DIR / year_folder(year) / STATUS_DIR[status] / safe_component(unit, fallback=UNKNOWN_UNIT)


def feedback_folder(outbox: Path, year: int | None, unit: str | None) -> Path:
    """outbox/反馈/<年度>/<单位>/: a unit's folder holds the year's feedback only (forwarded as it is)."""
    return outbox / FEEDBACK_DIR / year_folder(year) / safe_component(unit, fallback=UNKNOWN_UNIT)


FEEDBACK_SUFFIX = "_反馈"
_FED_BACK = re.compile(
    r"(?:_反馈(?:\s*\(\d+\)|_\d+)?)+$"
)  # 某局年报_反馈, 某局年报_反馈 (2): a feedback workbook sent back


def feedback_name(original: str) -> str:
    """某局年报.xlsx → 某局年报_反馈.xlsx; the feedback workbook itself sent back in (某局年报_反馈 (2).xlsx)
    gets 某局年报_反馈.xlsx again, not …_反馈_反馈; a long name is shortened before 反馈, which stays."""
    stem = _FED_BACK.sub("", Path(original).stem) or Path(original).stem
    room = _shorten(safe_component(stem) + FEEDBACK_SUFFIX + ".xlsx", MAX_CHARS)
    if room.endswith(FEEDBACK_SUFFIX + ".xlsx"):
        return room
    short = _shorten(safe_component(stem), MAX_CHARS - len(FEEDBACK_SUFFIX) - 5)
    while len((short + FEEDBACK_SUFFIX + ".xlsx").encode("utf-8")) > MAX_BYTES:
        short = short[:-1]
    return f"{short.rstrip('. ') or '_'}{FEEDBACK_SUFFIX}.xlsx"


def summary_path(outbox: Path, year: int, suffix: str = ".xlsx") -> Path:
    return outbox / SUMMARY_DIR / f"{year}年政府信息公开年报汇总{suffix}"


ROLLUP_REPORT_SUFFIX = "_上报用.xlsx"


def rollup_report_name(year: int, name: str) -> str:
    """<年度>年<名称>政府信息公开年报汇总_上报用.xlsx: the consolidated figures as a filled report template."""
    return safe_component(f"{year}年{name}政府信息公开年报汇总{ROLLUP_REPORT_SUFFIX}")


def group_summary_folder(outbox: Path, group: tuple[str, ...]) -> Path:
    """outbox/汇总/分组/<组>-<子组>/: the outputs of `run --by-group` for one roster group."""
    return outbox / SUMMARY_DIR / "分组" / safe_component("-".join(group), fallback="未命名分组")


def relative(path: Path, base: Path) -> str:
    """A path as the ledger stores it: relative to `base`, with forward slashes (portable).

    Paths the job builds start with the outbox itself: taken apart as written (no file system calls,
    and a folder of the outbox that is a link to another disk stays inside it); anything else is
    compared with links resolved."""
    path, base = Path(path), Path(base)
    if path.is_absolute() and ".." not in path.parts:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return path.resolve().relative_to(base.resolve()).as_posix()
