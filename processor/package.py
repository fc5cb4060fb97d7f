"""Write xlsx packages fast: patch a pre-rendered one (parts split at slots, fixed runs deflated once,
zipped per file), and zip a workbook's parts on several threads (ThreadedZip)."""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

LEVEL = 6  # text filled in per file (zipfile's default, as xlsxwriter writes)
MIN_RUN = 512  # a fixed run shorter than this is deflated with the text around it: a separate run costs ~10 bytes
_END = b"\x03\x00"  # an empty final deflate block: closes a stream of sync-flushed runs
_DOS_DATE = 1 << 5 | 1  # 1980-01-01 00:00, the stamp xlsxwriter gives every entry
_MODE = 0o600 << 16  # -rw-------, as xlsxwriter's entries


try:  # ISA-L's deflate (python-isal): 4–7× faster than zlib's at a like ratio; zlib where it is missing
    from isal import isal_zlib as _deflater

    def _level(level: int) -> int:
        """ISA-L's level (0–2) for a zlib level: 1 → 1 (already smaller than zlib's 1), 2–9 → 2. Never its
        level 3: it reads memory it never wrote (valgrind: icf_body_lazyhash1_fillgreedy_greedy, on the
        buffer python-isal mallocs), so the same text could deflate to other bytes in another process."""
        return 0 if level <= 0 else 1 if level == 1 else 2

    _crc32 = _deflater.crc32  # (~5× zlib's)
    crc32_combine: Callable[[int, int, int], int] | None = _deflater.crc32_combine

except ImportError:  # pragma: no cover - a dependency; an installation without its wheel still works
    _deflater = zlib  # type: ignore[assignment]

    def _level(level: int) -> int:
        return level

    _crc32 = zlib.crc32
    crc32_combine = None  # (Python's zlib has none: runs are not kept, see Deflated)


def compress(data: bytes, level: int = LEVEL) -> bytes:
    """zlib.compress(data, level): the zlib format (header, Adler-32), by ISA-L where it is installed
    (level 6 → its level 2: ~4× faster than zlib's 6, ~10 % larger). zlib.decompress reads it."""
    return _deflater.compress(data, _level(level))


def decompress(data: bytes) -> bytes:
    """zlib.decompress(data), by ISA-L where it is installed (~1.5× faster)."""
    return _deflater.decompress(data)


def deflate_run(data: bytes, level: int = LEVEL) -> bytes:
    """Raw deflate ending on a byte boundary with no final block, so that runs can be concatenated.
    Levels 7–9 by Python's zlib: for text deflated once per process (a skeleton's fixed runs: ~5 ms),
    smaller than ISA-L's best and always the same bytes (see _level)."""
    deflater, own_level = (zlib, level) if level >= 7 else (_deflater, _level(level))
    z = deflater.compressobj(own_level, deflater.DEFLATED, -15)
    return z.compress(data) + z.flush(deflater.Z_SYNC_FLUSH)


@dataclass(frozen=True)
class Deflated:
    """A run of a part deflated already (deflate_run), with the CRC and size of its text: ThreadedZip
    puts it in as it is (a part written again with most of its runs as they were deflates only the
    others). Where crc32_combine is None, none can be used."""

    data: bytes
    crc: int
    size: int


@dataclass(frozen=True)
class Block:
    """A block of a part's text that ThreadedZip deflates as a run of its own, handed to `keep` once deflated (so
    that the next archive can take it as it is: Deflated). The archive's bytes depend only on where
    the runs are, not on which of them were deflated before."""

    text: bytes
    keep: Callable[[Deflated], None] | None = None


def deflate_block(text: bytes, level: int = LEVEL) -> Deflated:
    """A block of a part's text deflated as a run of its own, as ThreadedZip deflates a Block."""
    return Deflated(deflate_run(text, level), _crc32(text), len(text))


# a ThreadedZip mark → what to put in its place (pieces of text, runs deflated before, blocks to deflate)
Splices = dict[bytes, Callable[[], Iterator[bytes | Deflated | Block]]]


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
                crc, size = _crc32(raw, crc), size + len(raw)
                pending.clear()

        for piece in self.pieces:
            if isinstance(piece, _Run):
                flush()
                chunks.append(piece.deflated)
                crc, size = _crc32(piece.raw, crc), size + len(piece.raw)
            else:
                pending.append(values.get(piece.key, piece.default) if isinstance(piece, Slot) else piece)
        flush()
        chunks.append(_END)
        return Entry(self.name, b"".join(chunks), crc, size)


def new_entry(name: str, text: str) -> Entry:
    """A part made per file, deflated whole."""
    raw = text.encode()
    return Entry(name, deflate_run(raw) + _END, _crc32(raw), len(raw))


def zip_bytes(entries: Iterable[Entry]) -> bytes:
    """A zip archive of the entries, in order (no zip64: a workbook's parts are far below 4 GB)."""
    out = bytearray()
    directory = bytearray()
    count = 0
    for e in entries:
        local, central = _headers(e.name.encode(), e.crc, len(e.data), e.size, len(out), e.method)
        directory += central
        out += local + e.data
        count += 1
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)


def _headers(name: bytes, crc: int, stored: int, size: int, offset: int, method: int = 8) -> tuple[bytes, bytes]:
    """An entry's local header (written before its data at `offset`) and its central directory record."""
    common = struct.pack("<HHHHIIIH", 0, method, 0, _DOS_DATE, crc, stored, size, len(name))
    local = struct.pack("<IH", 0x04034B50, 20) + common + struct.pack("<H", 0) + name
    central = (
        struct.pack("<IHH", 0x02014B50, 0x0314, 20) + common + struct.pack("<HHHHII", 0, 0, 0, 0, _MODE, offset) + name
    )
    return local, central


_MARK = re.compile(rb"<!--nianbao-[0-9a-z-]{1,48}-->")  # a ThreadedZip splice mark …
_MARK_MAX = 64  # … shorter than this (12 + 48 + 3 bytes)
CHUNK = 4 << 20  # bytes of a part deflated at a time by ThreadedZip (a sync flush every 4 MiB costs nothing)


class ThreadedZip:
    """The little of zipfile.ZipFile that xlsxwriter's Workbook.close uses (write, writestr, close,
    compression), deflating the parts on `threads` threads (zlib lets go of the GIL while it works).

    A part is deflated in chunks of CHUNK bytes ending on a sync flush (deflate_run), so the chunks
    concatenate into the part's stream; the CRC runs over them in order meanwhile, and at most two
    chunks per thread wait, so memory stays bounded; each part is appended to the file once deflated.
    The 10,000-unit summary's ~120 MB of XML deflate in about half the time.
    """

    def __init__(
        self, file: str | os.PathLike[str], mode: str = "w", compression: int = zipfile.ZIP_DEFLATED, **_: Any
    ) -> None:
        self.level, self.threads = LEVEL, 2
        self.filename = os.fspath(file)
        self.compression = compression
        self._pool = ThreadPoolExecutor(self.threads)
        self._waiting: deque[Future[bytes]] = deque()
        self._directory = bytearray()  # the central directory, an entry at a time
        self._count = 0
        with open(self.filename, "wb"):  # (each part is appended when deflated: no handle held between)
            pass
        # mark → what to put in its place: a part's text that was not written into its file
        self.splices: Splices = {}

    def __enter__(self) -> ThreadedZip:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._pool.shutdown(cancel_futures=True)

    def write(self, filename: str | os.PathLike[str], arcname: str | None = None, **_: Any) -> None:
        """(compress_type, compresslevel: every part is deflated at `level`)"""
        with open(filename, "rb") as fh:  # read now: the caller removes the file when this returns
            blocks = iter(lambda: fh.read(CHUNK), b"")
            self._add(arcname or os.fspath(filename), self._spliced(blocks) if self.splices else blocks)

    def writestr(self, name: str | zipfile.ZipInfo, data: bytes | str, **_: Any) -> None:
        raw = data.encode() if isinstance(data, str) else data
        blocks = _chunks(raw)
        self._add(
            name.filename if isinstance(name, zipfile.ZipInfo) else name,
            self._spliced(blocks) if self.splices else blocks,
        )

    def _spliced(self, blocks: Iterator[bytes]) -> Iterator[bytes | Deflated | Block]:
        """The blocks of a part with each mark of `splices` replaced by what it stands for (a mark
        may fall across two blocks)."""
        carry = b""
        for block in blocks:
            text, at = carry + block, 0
            for found in _MARK.finditer(text):
                fill = self.splices.pop(found.group(), None)
                if fill is None:  # (a comment that only looks like a mark)
                    continue
                yield text[at : found.start()]
                for piece in fill():
                    if isinstance(piece, (Deflated, Block)):  # a run of its own
                        yield piece
                        continue
                    for k in range(0, len(piece), CHUNK):
                        yield piece[k : k + CHUNK]
                at = found.end()
            keep = max(at, len(text) - _MARK_MAX + 1)  # (the beginning of a mark the next block ends)
            yield text[at:keep]
            carry = text[keep:]
        yield carry

    def _add(self, name: str, pieces: Iterator[bytes | Deflated | Block]) -> None:
        crc = size = 0
        futures: list[Future[bytes]] = []
        chunk = bytearray()

        def deflate(text: bytes, keep: Callable[[bytes], None] | None = None) -> None:
            while len(self._waiting) >= 2 * self.threads:
                self._waiting.popleft().result()
            futures.append(self._pool.submit(deflate_run, text, self.level))
            self._waiting.append(futures[-1])
            if keep is not None:  # (called on the thread that deflated it)
                futures[-1].add_done_callback(lambda f: None if f.exception() else keep(f.result()))

        for piece in pieces:  # (pieces of any size, deflated CHUNK bytes at a time)
            if not isinstance(piece, (Deflated, Block)):
                crc, size = _crc32(piece, crc), size + len(piece)
                chunk += piece
                if len(chunk) >= CHUNK:
                    deflate(bytes(chunk))
                    chunk.clear()
                continue
            if chunk:  # (a run of its own follows)
                deflate(bytes(chunk))
                chunk.clear()
            if isinstance(piece, Deflated):
                assert crc32_combine is not None, "a Deflated run without crc32_combine"
                crc, size = crc32_combine(crc, piece.crc, piece.size), size + piece.size
                done: Future[bytes] = Future()
                done.set_result(piece.data)
                futures.append(done)
                continue
            text, keep = piece.text, piece.keep
            if keep is None:
                crc, size = _crc32(text, crc), size + len(text)
                deflate(text)
                continue
            own = _crc32(text)
            crc = crc32_combine(crc, own, len(text)) if crc32_combine is not None else _crc32(text, crc)
            size += len(text)
            deflate(text, lambda data, keep=keep, own=own, n=len(text): keep(Deflated(data, own, n)))
        if chunk:
            deflate(bytes(chunk))
        deflated = [f.result() for f in futures]
        self._waiting.clear()
        with open(self.filename, "ab") as fh:
            local, central = _headers(name.encode(), crc, sum(map(len, deflated)) + len(_END), size, fh.tell())
            fh.write(local)
            for data in deflated:
                fh.write(data)
            fh.write(_END)
        self._directory += central
        self._count += 1

    def close(self) -> None:
        """Write the central directory: the archive is complete."""
        try:
            if self.splices:  # a part's text whose mark never came: the archive would lack it
                raise RuntimeError(f"ThreadedZip: {len(self.splices)} marks not found in the parts written")
            with open(self.filename, "ab") as fh:
                end = struct.pack(
                    "<IHHHHIIH", 0x06054B50, 0, 0, self._count, self._count, len(self._directory), fh.tell(), 0
                )
                fh.write(self._directory + end)
        finally:
            self._pool.shutdown(cancel_futures=True)


def _chunks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield view[start : start + CHUNK].tobytes()
