"""Logging (loguru): one Chinese line per file on the console, a rotating log file under the outbox."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loguru import logger

from .archive import LOG_DIR

LOG_FILE = "nianbao.log"
PROGRESS_FROM = 20  # show a progress bar when a run has at least this many files (on a terminal)

_console_write: Callable[[str], Any] | None = None  # set while a progress bar owns the terminal


def _console_sink(message: Any) -> None:
    text = str(message).rstrip("\n")
    if _console_write is not None:
        _console_write(text)
    else:
        print(text, file=sys.stderr, flush=True)


def setup_logging(outbox: Path | None, *, console: bool = True, verbose: bool = False) -> Path | None:
    """Route log lines: human lines to stderr, everything (with time and level) to outbox/日志/nianbao.log.

    Returns the log file's path. The file rotates at 5 MB and keeps the last 10 files.
    """
    logger.remove()
    if console:
        # A format function: loguru then adds no traceback; the console gets the human line only.
        logger.add(_console_sink, level="DEBUG" if verbose else "INFO", format=lambda r: "{message}\n", colorize=False)
    if outbox is None:
        return None
    path = Path(outbox) / LOG_DIR / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    logger.add(
        path,
        level="DEBUG",
        format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {message}",
        rotation="5 MB",
        retention=10,
        encoding="utf-8",
        enqueue=False,
        backtrace=False,
        diagnose=False,  # tracebacks without variable values (they may hold agencies' data)
    )
    return path


@contextmanager
def progress(total: int, label: str = "处理文件") -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal for long runs; yields `advance()`. Log lines print above the bar."""
    global _console_write
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True, highlight=False)
    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True
    )
    task = bar.add_task(label, total=total)
    _console_write = lambda text: console.print(text, markup=False, highlight=False)  # noqa: E731
    try:
        with bar:
            yield lambda: bar.advance(task)
    finally:
        _console_write = None
