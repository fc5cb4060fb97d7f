"""A checked package again as a zip of stored (uncompressed) entries, for calamine to open.

fileformat.inflate has already inflated every entry of a submitted .xlsx and checked it against the
zip directory (size, CRC, method): handing calamine the same parts stored saves it inflating them a
second time (a fifth of its work on a filled template). Only plain packages, as office suites write
them, are copied: every entry kept by inflate, names unique and ASCII, local headers in directory
order from the first byte, so calamine reads the very entries, names and bytes it would have read
from the file itself. Anything else is opened from the submitted bytes, as before.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from itertools import pairwise

from .package import Entry, zip_bytes

PLAIN_BYTES = 4 * 2**20  # a larger package is opened from the submitted bytes: the copy costs at most this


def plain_entries(infos: list[zipfile.ZipInfo], parts: Mapping[str, bytes]) -> tuple[tuple[str, int], ...] | None:
    """(name, CRC) of every entry, in order, when the package may be copied stored; None otherwise."""
    names = [i.filename for i in infos]
    if len(parts) != len(names) or len(set(names)) != len(names) or not infos or infos[0].header_offset != 0:
        return None
    if sum(i.file_size for i in infos) > PLAIN_BYTES or not all(n.isascii() and n in parts for n in names):
        return None
    if any(i.orig_filename != i.filename for i in infos):
        return None  # zipfile cleaned the name (cut at a NUL, \ made /): calamine must see the raw one
    if any(b.header_offset <= a.header_offset + a.compress_size for a, b in pairwise(infos)):
        return None  # entries out of order or overlapping
    return tuple((i.filename, i.CRC) for i in infos)


def stored_zip(entries: tuple[tuple[str, int], ...], parts: Mapping[str, bytes]) -> bytes:
    """A zip holding `entries` (name, CRC), in order, stored, with their bytes from `parts`."""
    return zip_bytes(Entry(name, parts[name], crc, len(parts[name]), method=0) for name, crc in entries)
