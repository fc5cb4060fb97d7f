"""Write outputs atomically: to a temporary file beside the target, then rename it into place."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".nianbao-"
TEMP_SUFFIX = ".tmp"
WINDOWS = os.name == "nt"  # (a name the tests can set: os.name itself decides what pathlib.Path makes)
RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)  # seconds between tries of a rename Windows refused (1.55 s in all)


class FileInUse(PermissionError):
    """A file that cannot be replaced because another program holds it (Excel or WPS has it open, on
    Windows); the message (Chinese) names it and says what to do."""

    def __init__(self, target: Path) -> None:
        super().__init__(
            f"“{target}”正被其他程序（如 Excel、WPS）打开或设为只读，无法替换。请关闭该文件（或取消只读）后再运行一次"
        )
        self.target = target


def replace(tmp: Path, target: Path, *, held: Path | None = None) -> None:
    """os.replace(tmp, target). On Windows a rename over a file another program holds is refused: an
    antivirus or the search indexer lets go within moments, so it is tried again for ~1.5 s; a file open
    in Excel does not, which becomes FileInUse naming it (`held`: the file to name when it is `tmp`,
    renamed away)."""
    for pause in (*RETRIES, None):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if not WINDOWS:
                raise
            if pause is None:
                raise FileInUse(Path(held or target)) from None
            time.sleep(pause)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)


def new_temp_file(folder: Path) -> tuple[int, Path]:
    """A new empty temporary file in `folder`, created exclusively and open (fd, path): like
    tempfile.mkstemp, but with the permissions of any new file (0666 less the umask). mkstemp's 0600
    would leave the summary, feedback and archived copies unreadable to the others sharing the outbox."""
    for _ in range(100):
        path = Path(folder) / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            return os.open(path, _CREATE, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {folder}")


@contextmanager
def atomic_path(target: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success fsync it and rename it over `target`.

    A crash or an exception leaves `target` as it was (the previous version, or absent) and no
    half-written file under its name. os.replace is atomic on one volume on Windows and POSIX.
    durable=False leaves out the fsync: for a file the caller makes durable later, with others
    (archive.make_durable), before anything refers to it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temp_file(target.parent)
    os.close(fd)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: Path, text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))
