"""What calamine does not tell about an .xls before it is too late: how far each sheet's cells reach.

calamine builds a sheet as one dense grid from A1 to its farthest cell, so a single stray entry at
IV65536 costs 16 million cells (about 1 GB) before any row limit applies. This module walks the
OLE2 container and the BIFF records of the Workbook stream (record headers and the row/column of
cell records only; nothing is decoded or executed) to find each sheet's farthest cell first.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
_BOF, _EOF, _BOUNDSHEET, _FILEPASS = 0x0809, 0x000A, 0x0085, 0x002F
# Cell records holding a value: FORMULA, NUMBER, LABEL, BOOLERR, RK, LABELSST, RSTRING (row, col at 0 and 2).
_CELLS = {0x0006, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6}
_MULRK = 0x00BD  # row, first col, …, last col in the last 2 bytes
_DIMENSIONS = 0x0200  # the sheet's used range as declared: calamine reserves rows × columns cells from it
_SST = 0x00FC  # shared strings: calamine reserves as many strings as the record's unique count says


class XlsError(ValueError):
    """The container or the record stream is malformed."""


@dataclass(frozen=True)
class Extent:
    """How far a sheet's cells reach (0-based last row and column; -1 when it has none)."""

    rows: int = -1
    cols: int = -1
    name: str | None = None  # the sheet's name (BIFF8; None for older files, whose names use a code page)


def _u16(b: bytes, at: int) -> int:
    return struct.unpack_from("<H", b, at)[0]


def _u32(b: bytes, at: int) -> int:
    return struct.unpack_from("<I", b, at)[0]


def _stream(data: bytes, names: tuple[str, ...]) -> bytes:
    """The first stream named in `names` of an OLE2 compound file."""
    if not data.startswith(OLE2) or len(data) < 512:
        raise XlsError("not an OLE2 file")
    size = 1 << _u16(data, 0x1E)
    mini_size = 1 << _u16(data, 0x20)
    if size not in (512, 4096) or mini_size != 64:
        raise XlsError("sector size")
    count = (len(data) - size) // size + 1  # sectors the file can hold (a bound for every chain)
    # calamine reserves memory from these header counts before reading anything: a damaged one
    # (or a directory entry's length below) asking for terabytes aborts the whole process.
    for at in (0x28, 0x2C, 0x40, 0x48):  # directory, FAT, mini FAT and DIFAT sector counts
        if _u32(data, at) > count:
            raise XlsError("header count beyond the file")

    def sector(i: int) -> bytes:
        at = (i + 1) * size
        if at >= len(data):
            raise XlsError("sector out of range")
        return data[at : at + size]

    difat = [_u32(data, 0x4C + 4 * i) for i in range(109)]
    nxt, hops = _u32(data, 0x44), 0
    while nxt not in (_FREE, _END):
        hops += 1
        if hops > count:
            raise XlsError("DIFAT loop")
        block = sector(nxt)
        difat += [_u32(block, 4 * i) for i in range(size // 4 - 1)]
        nxt = _u32(block, size - 4)
    fat: list[int] = []
    for s in difat[: _u32(data, 0x2C)]:
        if s in (_FREE, _END):
            break
        block = sector(s)
        fat += struct.unpack_from(f"<{size // 4}I", block)

    def chain(start: int, table: list[int], read: Callable[[int], bytes]) -> bytes:
        """The sectors of a chain, joined; each sector at most once (a cycle would read forever)."""
        out, i, seen = [], start, set()
        while i not in (_FREE, _END):
            if i >= len(table) or i in seen:
                raise XlsError("broken chain")
            seen.add(i)
            out.append(read(i))
            i = table[i]
        return b"".join(out)

    directory = chain(_u32(data, 0x30), fat, sector)
    entries = []
    for at in range(0, len(directory) - 127, 128):
        n = _u16(directory, at + 64)
        name = directory[at : at + max(0, n - 2)].decode("utf-16-le", "replace")
        kind = directory[at + 66]
        length = _u32(directory, at + 120) if size == 512 else struct.unpack_from("<Q", directory, at + 120)[0]
        if kind in (1, 2, 5) and length > len(data):  # storage, stream, root (whose length is the mini stream's)
            raise XlsError("stream longer than the file")
        entries.append((name, kind, _u32(directory, at + 116), length))
    if not entries:
        raise XlsError("no directory")
    wanted = next((e for n in names for e in entries if e[0] == n and e[1] == 2), None)
    if wanted is None:
        raise XlsError("no workbook stream")
    _, _, start, length = wanted
    if length >= _u32(data, 0x38):  # a regular stream
        return chain(start, fat, sector)[:length]
    minifat: list[int] = []
    if _u32(data, 0x3C) not in (_FREE, _END):
        raw = chain(_u32(data, 0x3C), fat, sector)
        minifat = list(struct.unpack_from(f"<{len(raw) // 4}I", raw))
    root = chain(entries[0][2], fat, sector)

    def mini(i: int) -> bytes:
        return root[i * mini_size : (i + 1) * mini_size]

    return chain(start, minifat, mini)[:length]


def extents(data: bytes) -> tuple[list[Extent], bool]:
    """Each sheet's farthest cell (or the farther end of its declared DIMENSIONS, from which calamine
    reserves memory: a damaged one asking for 263 GB aborts the process), in the workbook's sheet
    order (as calamine lists the sheets), and whether the workbook is encrypted (a FILEPASS record:
    then the cell records are not readable). Raises XlsError."""
    wb = _stream(data, ("Workbook", "Book"))
    order: dict[int, int] = {}  # BOF offset of a sheet → its position
    names: list[str | None] = []
    found: dict[int, Extent] = {}
    at, current, rows, cols, biff8 = 0, None, -1, -1, False
    while at + 4 <= len(wb):
        rtype, size = _u16(wb, at), _u16(wb, at + 2)
        body = wb[at + 4 : at + 4 + size]
        if rtype == _BOF:
            current, rows, cols = order.get(at), -1, -1
            biff8 = biff8 or (at == 0 and size >= 2 and _u16(body, 0) == 0x0600)
        elif rtype == _FILEPASS and current is None:
            return [], True
        elif rtype == _BOUNDSHEET and len(body) >= 4:
            order[_u32(body, 0)] = len(order)
            names.append(_sheet_name(body) if biff8 else None)
        elif current is not None and size >= 4 and (rtype in _CELLS or rtype == _MULRK):
            rows = max(rows, _u16(body, 0))
            last = _u16(body, size - 2) if rtype == _MULRK and size >= 6 else _u16(body, 2)
            cols = max(cols, last)
        elif current is not None and rtype == _DIMENSIONS and size >= 8:  # last row/col + 1 (exclusive)
            if size >= 12:  # BIFF8: rwMic, rwMac (32-bit), colMic, colMac
                r0, r1, c0, c1 = _u32(body, 0), _u32(body, 4), _u16(body, 8), _u16(body, 10)
            else:  # BIFF5: 16-bit rows
                r0, r1, c0, c1 = _u16(body, 0), _u16(body, 2), _u16(body, 4), _u16(body, 6)
            if r1 >= 1 and c1 >= 1 and (r0 > r1 - 1 or c0 > c1 - 1):  # calamine's rows × cols would wrap
                raise XlsError("DIMENSIONS start after its end")
            rows, cols = max(rows, r1 - 1), max(cols, c1 - 1)
        elif rtype == _SST and current is None and size >= 8 and _u32(body, 4) > len(wb) // 3:
            raise XlsError("SST count beyond the stream")  # calamine reserves that many strings
        elif rtype == _EOF and current is not None:
            found[current] = Extent(rows, cols)
            current = None
        at += 4 + size
    extents = [found.get(i, Extent()) for i in range(len(order))]
    return [Extent(e.rows, e.cols, names[i]) for i, e in enumerate(extents)], False


def _sheet_name(body: bytes) -> str | None:
    """The name in a BIFF8 BOUNDSHEET record (a ShortXLUnicodeString at offset 6)."""
    if len(body) < 8:
        return None
    n, wide = body[6], body[7] & 1
    raw = body[8 : 8 + n * (2 if wide else 1)]
    return raw.decode("utf-16-le" if wide else "latin-1", "replace")
