"""Measure the mechanics of an incremental summary on a written summary workbook (issue 7, phase 4).

Splits the five largest parts into one piece per row (<row …>) or shared string (<si>), deflates
each piece on its own (raw deflate, sync flush), then assembles every part again from the pieces:
concatenation plus the part's CRC-32 combined from the pieces' CRCs by zero extension
(crc(A‖B) = crc(B) ⊕ crc(0^|B|, crc(A)) ⊕ crc(0^|B|)). Prints the cost of deflating the pieces once,
their size against the whole part deflated at once, and the cost of the assembly; checks that the
assembled stream inflates to the part and that the CRC is right. Then the simpler alternative (phase 5):
each row of the worksheets kept as a template without its row number, rendered at a new position by
bytes.replace, the part joined and deflated whole.

    python bench/pieces.py PATH/TO/2025年政府信息公开年报汇总.xlsx
"""

from __future__ import annotations

import argparse
import re
import time
import zipfile
import zlib
from itertools import pairwise

_ZEROS = memoryview(bytes(1 << 20))
_PIECE = re.compile(rb"<row |<si>")


def _zeros_crc(n: int, crc: int) -> int:
    while n > 0:
        k = min(n, len(_ZEROS))
        crc = zlib.crc32(_ZEROS[:k], crc)
        n -= k
    return crc


def _pieces(data: bytes) -> list[tuple[bytes, int, int]]:
    """(deflated piece, CRC-32, length) of each row or shared string of a part, and of what is between."""
    cuts = [0, *(m.start() for m in _PIECE.finditer(data)), len(data)]
    out = []
    for a, b in pairwise(cuts):
        if b > a:
            chunk = data[a:b]
            co = zlib.compressobj(1, zlib.DEFLATED, -15)
            out.append((co.compress(chunk) + co.flush(zlib.Z_SYNC_FLUSH), zlib.crc32(chunk), len(chunk)))
    return out


def _assemble(pieces: list[tuple[bytes, int, int]]) -> tuple[bytes, int, int]:
    crc = total = 0
    for _, piece_crc, n in pieces:
        crc = piece_crc ^ _zeros_crc(n, crc) ^ _zeros_crc(n, 0)
        total += n
    return b"".join([p for p, _, _ in pieces] + [b"\x03\x00"]), crc, total  # 03 00: an empty final block


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("summary", help="a summary workbook written by nianbao")
    args = ap.parse_args(argv)
    with zipfile.ZipFile(args.summary) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    big = sorted(parts, key=lambda n: -len(parts[n]))[:5]
    cached = {}
    for name in big:
        t0 = time.perf_counter()
        cached[name] = _pieces(parts[name])
        seconds = time.perf_counter() - t0
        size = sum(len(p) for p, _, _ in cached[name])
        whole = len(zlib.compress(parts[name], 1))
        print(
            f"{name}: {len(parts[name]) / 1e6:.1f} MB in {len(cached[name])} pieces, deflated once in {seconds:.2f} s; "
            f"{size / 1e6:.2f} MB as pieces against {whole / 1e6:.2f} MB deflated whole"
        )
    t0 = time.perf_counter()
    assembled = {name: _assemble(pieces) for name, pieces in cached.items()}
    seconds = time.perf_counter() - t0
    for name, (stream, crc, total) in assembled.items():
        assert total == len(parts[name]) and crc == zlib.crc32(parts[name]), name
        assert zlib.decompress(stream, -15) == parts[name], name
    print(f"assembling the {len(big)} parts from their pieces (join + CRC): {seconds:.2f} s; streams and CRCs checked")
    _templates({name: parts[name] for name in big if name.startswith("xl/worksheets/")})
    return 0


_ROW_NUMBER = re.compile(rb'(<row r="|<c r="[A-Z]{1,3})([0-9]+)"')


def _templates(sheets: dict[str, bytes]) -> None:
    """The other way to reuse rendered rows: each row kept as a template with its row number left
    out (a NUL where it stood), rendered at its new position by bytes.replace, the part joined and
    deflated whole. Measured: rendering every row of the sheets one row lower (an insertion at the top)."""
    for name, data in sheets.items():
        cuts = [m.start() for m in re.finditer(rb"<row ", data)]
        if not cuts:
            continue
        end = data.rindex(b"</row>") + len(b"</row>")
        head, tail = data[: cuts[0]], data[end:]
        rows = [data[a:b] for a, b in pairwise([*cuts, end])]
        t0 = time.perf_counter()
        templates = [_ROW_NUMBER.sub(rb"\1" + b'\0"', row) for row in rows]
        made = time.perf_counter() - t0
        first = int(re.match(rb'<row r="([0-9]+)"', rows[0]).group(1))  # type: ignore[union-attr]
        t0 = time.perf_counter()
        body = [t.replace(b"\x00", str(first + 1 + k).encode()) for k, t in enumerate(templates)]
        xml = b"".join([head, *body, tail])
        crc = zlib.crc32(xml)
        co = zlib.compressobj(1, zlib.DEFLATED, -15)
        stream = co.compress(xml) + co.flush()
        seconds = time.perf_counter() - t0
        assert crc and len(stream) < len(xml)
        print(
            f"{name}: {len(rows)} rows as templates (made once in {made:.2f} s); rendered one row lower, "
            f"joined, CRC and deflated whole in {seconds:.2f} s ({len(stream) / 1e6:.2f} MB)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
