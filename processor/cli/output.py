"""What the commands print goes through here: streams that cannot crash on a character, JSON any consumer decodes."""

from __future__ import annotations

import codecs
import json
import os
import sys
from typing import Any, TextIO


def _encodes_all(stream: TextIO | None) -> bool:
    """Whether `stream` can write every character (a UTF encoding), not only a code page's (GBK, cp437)."""
    encoding = getattr(stream, "encoding", None)
    try:
        return encoding is not None and codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


def safe_streams() -> None:
    """Output redirected to a file or pipe on Chinese Windows is encoded as GBK, which has no "•" or "−":
    a file or unit named with one would end the command with UnicodeEncodeError after its work is done.
    Such a character is written as "?" instead (JSON escapes it: see json_text)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not _encodes_all(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def ascii_json() -> bool:
    """JSON is written with \\uXXXX escapes when stdout cannot write every character: pure ASCII then,
    the same document for any consumer, whatever code page it decodes the output with."""
    return not _encodes_all(sys.stdout)


CJK_CODE_PAGES = (936, 54936, 950, 932, 949)  # GBK, GB18030, Big5, Shift-JIS, Korean


def plain_lines() -> bool:
    """Tables are drawn with ASCII (+ - |) where box-drawing characters would be two columns wide: a
    Windows console whose output code page is a CJK one (Python writes to it in UTF-16 whatever it is, so
    its encoding does not tell), or output in such a code page (redirected on Chinese Windows)."""
    if not _encodes_all(sys.stdout):
        return True
    if os.name == "nt" and sys.stdout is not None and sys.stdout.isatty():
        try:
            import ctypes

            return ctypes.windll.kernel32.GetConsoleOutputCP() in CJK_CODE_PAGES  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            return False
    return False


def json_text(value: Any) -> str:
    """json.dumps(value, indent=2), readable Chinese where stdout takes it (see ascii_json)."""
    return json.dumps(value, ensure_ascii=ascii_json(), indent=2)
