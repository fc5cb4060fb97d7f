"""Patch a pre-rendered xlsx package: parts split at slots, their fixed runs deflated once, zipped per file."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

LEVEL = 6  # text filled in per file (zipfile's default, as xlsxwriter writes)
MIN_RUN = 512  # a fixed run shorter than this is deflated with the text around it: a separate run costs ~10 bytes
_END = b"\x03\x00"  # an empty final deflate block: closes a stream of sync-flushed runs
_DOS_DATE = 1 << 5 | 1  # 1980-01-01 00:00, the stamp xlsxwriter gives every entry
_MODE = 0o600 << 16  # -rw-------, as xlsxwriter's entries


def deflate_run(data: bytes, level: int = LEVEL) -> bytes:
    """Raw deflate ending on a byte boundary with no final block, so that runs can be concatenated."""
    z = zlib.compressobj(level, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)


@dataclass(frozen=True)
class Entry:
    """One zip entry: its bytes as stored in the archive (deflated unless method is 0)."""

    name: str
    data: bytes
    crc: int
    size: int  # uncompressed
    method: int = 8  # zipfile.ZIP_DEFLATED; 0: stored


@dataclass(frozen=True)
class _Run:
    """Fixed text of a part, deflated once."""

    raw: bytes
    deflated: bytes


@dataclass(frozen=True)
class Slot:
    """A span of a part whose text is replaced per file (`default`: the skeleton's own text)."""

    key: Hashable
    default: str


class Part:
    """One XML part of a skeleton, split at slots."""

    def __init__(self, name: str, text: str, slots: Mapping[Hashable, tuple[int, int]] | None = None) -> None:
        self.name = name
        self.pieces: list[str | _Run | Slot] = []
        at = 0
        for key, (start, end) in sorted((slots or {}).items(), key=lambda item: item[1]):
            if start < at:
                raise ValueError(f"{name}: slot {key!r} overlaps the previous one")
            self._fixed(text[at:start])
            self.pieces.append(Slot(key, text[start:end]))
            at = end
        self._fixed(text[at:])
        self._entry: Entry | None = None
        if not slots:  # a part no file changes: deflated once
            self._entry = self.fill({})

    def _fixed(self, text: str) -> None:
        raw = text.encode()
        self.pieces.append(_Run(raw, deflate_run(raw, 9)) if len(raw) >= MIN_RUN else text)

    @property
    def slots(self) -> list[Slot]:
        return [p for p in self.pieces if isinstance(p, Slot)]

    def fill(self, values: Mapping[Hashable, str]) -> Entry:
        """The part with each slot's text from `values` (the skeleton's where a key is missing)."""
        if self._entry is not None:
            return self._entry
        chunks: list[bytes] = []
        crc = size = 0
        pending: list[str] = []

        def flush() -> None:
            nonlocal crc, size
            if pending:
                raw = "".join(pending).encode()
                chunks.append(deflate_run(raw))
                crc, size = zlib.crc32(raw, crc), size + len(raw)
                pending.clear()

        for piece in self.pieces:
            if isinstance(piece, _Run):
                flush()
                chunks.append(piece.deflated)
                crc, size = zlib.crc32(piece.raw, crc), size + len(piece.raw)
            else:
                pending.append(values.get(piece.key, piece.default) if isinstance(piece, Slot) else piece)
        flush()
        chunks.append(_END)
        return Entry(self.name, b"".join(chunks), crc, size)


def new_entry(name: str, text: str) -> Entry:
    """A part made per file, deflated whole."""
    raw = text.encode()
    return Entry(name, deflate_run(raw) + _END, zlib.crc32(raw), len(raw))


def zip_bytes(entries: Iterable[Entry]) -> bytes:
    """A zip archive of the entries, in order (no zip64: a workbook's parts are far below 4 GB)."""
    out = bytearray()
    directory = bytearray()
    count = 0
    for e in entries:
        name = e.name.encode()
        common = struct.pack("<HHHHIIIH", 0, e.method, 0, _DOS_DATE, e.crc, len(e.data), e.size, len(name))
        directory += struct.pack("<IHH", 0x02014B50, 0x0314, 20) + common
        directory += struct.pack("<HHHHII", 0, 0, 0, 0, _MODE, len(out)) + name
        out += struct.pack("<IH", 0x04034B50, 20) + common + struct.pack("<H", 0) + name + e.data
        count += 1
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)
