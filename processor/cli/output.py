"""What the commands print goes through here: streams that cannot crash on a character, JSON any consumer decodes."""

from __future__ import annotations

import codecs
import json
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


def plain_lines() -> bool:
    """Tables are drawn with ASCII (+ - |) when stdout is a code page's: a Chinese Windows console (GBK)
    shows box-drawing characters two columns wide, so a table of them falls apart."""
    return not _encodes_all(sys.stdout)


def json_text(value: Any) -> str:
    """json.dumps(value, indent=2), readable Chinese where stdout takes it (see ascii_json)."""
    return json.dumps(value, ensure_ascii=ascii_json(), indent=2)
