"""What calamine does not tell about an .xlsx/.xlsm: defined names, sheet parts, and which cells hold formulas or errors.

No XML parser runs over a submitted part: the few elements needed (sheet, definedName, Relationship,
and the cells of sheetData holding a formula or an error) are found by a byte-level scan. Entities are
never expanded (only the five predefined ones and numeric references are decoded) and a part that
declares a DTD is refused, so entity attacks have nothing to work with; and the scan of a filled
template takes a fraction of a millisecond, where parsing workbook.xml alone took 0.7 ms.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import Any, NamedTuple, TypeVar

from .fileformat import Inflated
from .layout import col_letter, parse_a1

T = TypeVar("T")
CACHED_BYTES = 64 * 1024  # parts up to this size are remembered by content (a template's are 1–20 KB)


def by_content(fn: Callable[..., T]) -> Callable[..., T]:
    """Memoise a pure function of (…, part bytes) for small parts only: files made from one template
    share most of their package parts byte for byte, and a large hostile part is never kept."""
    cached = lru_cache(maxsize=64)(fn)

    @wraps(fn)
    def call(*args: Any) -> T:
        return cached(*args) if len(args[-1]) <= CACHED_BYTES else fn(*args)

    return call


class PackageError(Exception):
    """The package cannot be read (a part is missing, malformed or larger than the budget)."""


class Ref(NamedTuple):
    """Where a defined name points: a single cell (0-based). A tuple: compared in C, 270 per file."""

    sheet: str
    row: int
    col: int


class XmlCell(NamedTuple):
    """A cell whose content calamine hides: a formula (with or without a stored result) or an error value."""

    formula: str | None = None  # formula text without the leading "="
    cached: bool = True  # the file stores the formula's result
    error: str | None = None  # "#REF!" … when the cell holds an error value (typed or a formula's result)


@dataclass
class Package:
    """The parts of an .xlsx the reader needs besides values."""

    sheets: dict[str, str]  # sheet name → part path (xl/worksheets/sheet3.xml)
    names: dict[str, Ref | None]  # workbook-scope defined name → target (None when #REF! or not one cell)
    zf: Archive
    cap: int  # most bytes read from one part
    _xml: dict[str, bytes] = field(default_factory=dict)

    def xml(self, sheet: str) -> bytes:
        """A sheet part's bytes (empty when the part is missing), inflated once."""
        if sheet not in self._xml:
            part = self.sheets.get(sheet)
            self._xml[sheet] = _part(self.zf, part, self.cap) if part is not None else b""
        return self._xml[sheet]

    def cells(self, sheet: str) -> dict[tuple[int, int], XmlCell]:
        """Formula and error cells of a sheet, by 0-based (row, col); empty when the part is missing."""
        return scan_sheet(self.xml(sheet))

    def sprawls(self, sheet: str) -> bool:
        """True when a cell lies beyond column ZZ or row 999: calamine would build the whole range in memory
        (one stray entry at ZZ9999 is 7 million cells); such a sheet is read through openpyxl, capped."""
        return _FAR.search(self.xml(sheet)) is not None


class Parts:
    """A package's parts already inflated (and checked against the zip directory by fileformat.inflate),
    looked up like a ZipFile by the functions below; a part not kept (a large one) is read from `data`,
    through a ZipFile opened only then."""

    def __init__(self, inflated: Inflated, data: bytes | None = None) -> None:
        self._parts = inflated.parts
        self._data = data
        self._zip: zipfile.ZipFile | None = None
        self.NameToInfo: Container[str] = inflated.names if data is not None else inflated.parts

    def open(self, name: str) -> io.BufferedIOBase:
        if name in self._parts or self._data is None:
            return io.BytesIO(self._parts[name])
        if self._zip is None:
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
        return self._zip.open(name)

    def kept(self, name: str) -> bytes | None:
        """A part's bytes as inflated and checked already; None for a part not kept (read it through open)."""
        return self._parts.get(name)

    def checked(self, name: str) -> bool:
        """True when the part was inflated and refused for a DTD by fileformat.inflate already."""
        return name in self._parts and name != "META-INF/manifest.xml"


Archive = zipfile.ZipFile | Parts


def _entry_name(zf: Archive, part: str) -> str:
    name = next((n for n in (part, part.lstrip("/")) if n in zf.NameToInfo), None)
    if name is None:
        raise PackageError(f"缺少 {part}")
    return name


def read_part(zf: Archive, part: str, cap: int) -> bytes:
    """One part's bytes, never more than `cap` (a lying central directory cannot make us inflate more)."""
    name = _entry_name(zf, part)
    data = zf.kept(name) if isinstance(zf, Parts) else None
    if data is not None:
        if len(data) > cap:
            raise PackageError(f"{part} 解压后超过上限")
        return data
    try:
        with zf.open(name) as fh:
            data = fh.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise PackageError(f"“{part}”已损坏") from exc
    if len(data) > cap:
        raise PackageError(f"{part} 解压后超过上限")
    return data


_ATTR = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*?)/?>")
_DEFINED = re.compile(r"<(?:\w+:)?definedName\b([^>]*)>([^<]*)<")
_NAME = re.compile(r"""\bname\s*=\s*["']([^"']*)["']""")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*?)/?>")


def _attrs(raw: bytes) -> dict[bytes, str]:
    """Attributes of a start tag by local name (r:id → id), entity references decoded."""
    return {k.split(b":")[-1]: _text(v1 if v1 or not v2 else v2) for k, v1, v2 in _ATTR.findall(raw)}


def _text(raw: bytes | None) -> str:
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace")
    return html.unescape(text) if "&" in text else text


def _part(zf: Archive, part: str, cap: int) -> bytes:
    data = read_part(zf, part, cap)
    if isinstance(zf, Parts) and zf.checked(_entry_name(zf, part)):
        return data  # refused for a DTD by fileformat.inflate already
    if has_dtd(data):
        raise PackageError(f"{part} 含有 DTD 声明，不予读取")
    return data


def has_dtd(xml: bytes) -> bool:
    """A DTD or entity declaration anywhere in a part (a prolog may hide it after a long comment).

    Parts written by office suites never declare one, and text content escapes "<", so the raw
    markup can only be a declaration: such a part is refused, never parsed.
    """
    return b"<!" in xml and (b"<!DOCTYPE" in xml or b"<!ENTITY" in xml)  # one search where there is neither


def _rels(zf: Archive, part: str, cap: int) -> dict[str, str]:
    """Relationship id → target part path, for the .rels of `part` (missing .rels → empty)."""
    folder, base = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", base + ".rels")
    if rels_part not in zf.NameToInfo:
        return {}
    return dict(_targets(folder, _part(zf, rels_part, cap)))


@by_content
def _targets(folder: str, xml: bytes) -> dict[str, str]:
    """The relationships of a .rels part (files from one template share them: parsed once)."""
    out = {}
    for m in _RELATIONSHIP.finditer(xml):
        attrs = _attrs(m.group(1))
        target = attrs.get(b"Target", "")
        if attrs.get(b"TargetMode") == "External" or not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[attrs.get(b"Id", "")] = path
    return out


def open_package(zf: Archive, cap: int) -> Package:
    """Read workbook.xml (sheet names, defined names) and map each sheet to its part."""
    root_rels = _rels(zf, "", cap)
    wb_part = next((p for p in root_rels.values() if p.lower().endswith("workbook.xml")), "xl/workbook.xml")
    xml = _part(zf, wb_part, cap)
    rels = _rels(zf, wb_part, cap)
    sheets: dict[str, str] = {}
    for name, rid in _sheet_entries(xml):
        if name is not None and rid in rels:
            sheets[name] = rels[rid]
    return Package(sheets=sheets, names=defined_names(xml), zf=zf, cap=cap)


@by_content
def _sheet_entries(xml: bytes) -> tuple[tuple[str | None, str | None], ...]:
    """(name, relationship id) of each <sheet> of workbook.xml, in order (parsed once per template)."""
    out = []
    for m in _SHEET.finditer(xml):
        attrs = _attrs(m.group(1))
        out.append((attrs.get(b"name"), attrs.get(b"id")))
    return tuple(out)


def defined_names(xml: bytes) -> dict[str, Ref | None]:
    """Workbook-scope defined names of workbook.xml → their single-cell targets (None when not one)."""
    lo, hi = xml.find(b"definedNames"), xml.rfind(b"definedNames")
    if lo < 0 or hi <= lo:
        return {}
    return dict(_names_of(xml[lo:hi]))  # files from one template share the section: parse it once


@by_content
def _names_of(raw: bytes) -> dict[str, Ref | None]:
    section = raw.decode("utf-8", "replace")
    if "&" in section:
        section = html.unescape(section)  # names cannot contain quotes or brackets; targets are plain text
    names: dict[str, Ref | None] = {}
    for m in _DEFINED.finditer(section):
        head = m.group(1)
        name = _NAME.search(head)
        if name is None or "localSheetId" in head or name.group(1).startswith("_xlnm"):
            continue  # sheet-scoped copies (a copied sheet) and print areas are not our contract
        names[name.group(1)] = parse_ref(m.group(2))
    return names


_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?[A-Za-z]{1,3}\$?\d{1,7})?$")


@lru_cache(maxsize=8192)
def parse_ref(text: str) -> Ref | None:
    """'三、依申请公开'!$D$6 (or 基本信息!$B$3) → Ref; #REF!, ranges elsewhere or external refs → None."""
    m = _REF.match(text.strip())
    if not m or "#REF!" in text:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    if sheet.startswith("["):
        return None  # another workbook
    row, col = parse_a1(m.group(3) + m.group(4))
    return Ref(sheet, row, col)


# ---- sheet scan ------------------------------------------------------------------------------

_FAR = re.compile(rb"""r=["'](?:[A-Z]{3}|[A-Z]{1,2}\d{4})""")  # a cell address beyond column ZZ or row 999
_ERROR_MARK = re.compile(rb"""\st\s*=\s*["']e["']""")
_START = re.compile(rb"<((?:\w+:)?)c\b([^>]*?)(/?)>")
_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?row\b([^>]*?)/?>|<((?:\w+:)?)c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_F = re.compile(rb"<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_V = re.compile(rb"<(?:\w+:)?v\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_IS = re.compile(rb"<(?:\w+:)?is\b")

Shared = dict[str, tuple[str, int, int]]


def scan_sheet(xml: bytes, *, plain: bool = True) -> dict[tuple[int, int], XmlCell]:
    """Cells of a sheet part that hold a formula or an error value, by 0-based (row, col).

    Shared formulas (`<f t="shared" si="0"/>`) are resolved to their anchor's text, shifted to the cell.
    A formula with an empty or missing `<v>` has no stored result (a file written by a program and
    never opened in an office suite). Only the cells around a formula or error mark are looked at,
    unless a cell lacks its `r` address (then every cell is walked to count positions). Plain cells,
    as office suites write them, are read in one regex pass (`plain=False` walks them; tests compare).
    """
    lo, hi = xml.find(b"sheetData"), xml.rfind(b"sheetData")
    out: dict[tuple[int, int], XmlCell] = {}
    if lo < 0 or hi <= lo:
        return out
    prefix = xml[xml.rfind(b"<", 0, lo) + 1 : lo]  # b"" or a namespace prefix such as b"x:"
    starts = [m.start() for m in _formula_mark(prefix).finditer(xml, lo, hi)]
    if xml.find(b'"e"', lo, hi) >= 0 or xml.find(b"'e'", lo, hi) >= 0:
        starts = sorted({*starts, *(m.start() for m in _ERROR_MARK.finditer(xml, lo, hi))})
    elif not starts:
        return out  # neither a formula nor an error value
    elif plain and not prefix:
        fast = _scan_plain(xml, lo, hi, starts)
        if fast is not None:
            return fast
    shared: Shared = {}
    seen: set[int] = set()
    for at in starts:
        start = xml.rfind(b"<", lo, at)
        tag = _START.match(xml, start) if start >= 0 else None
        if tag is None or start in seen:
            continue
        seen.add(start)
        attrs = _attrs(tag.group(2))
        if b"r" not in attrs:
            return _scan_all(xml[lo:hi])
        try:
            row, col = parse_a1(attrs[b"r"])
        except (ValueError, StopIteration):
            return _scan_all(xml[lo:hi])
        body = b""
        if not tag.group(3):
            end = xml.find(b"</" + tag.group(1) + b"c>", tag.end())
            body = xml[tag.end() : end if end >= 0 else hi]
        _cell(attrs, body, row, col, shared, out)
    return out


# A formula cell as office suites and our template write it: <c r="J6" s="14" t="str"><f>…</f><v>…</v></c>,
# as its start tag (ending where the formula starts) and its content from the formula to the cell's end.
_PLAIN_TAG = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?: s="[0-9]{1,6}")?(?: t="([A-Za-z]{1,9})")?>')
_PLAIN_BODY = re.compile(rb'<f((?: [A-Za-z]{1,9}="[^"<>]*")*)(?:/>|>([^<]*)</f>)(?:(<v>)([^<]*)</v>|(<v ?/>))?</c>')


def _scan_plain(xml: bytes, lo: int, hi: int, starts: list[int]) -> dict[tuple[int, int], XmlCell] | None:
    """scan_sheet's result when every formula mark opens the content of a plain cell, else None.

    Only called without error values and namespace prefixes. Each mark is read where the general walk
    reads it (the cell tag is the last "<" before it), as the walk would read a cell of that form.
    """
    out: dict[tuple[int, int], XmlCell] = {}
    shared: Shared = {}
    for at in starts:
        start = xml.rfind(b"<", lo, at)
        tag = _PLAIN_TAG.fullmatch(xml, start, at) if start >= 0 else None
        body = _PLAIN_BODY.match(xml, at, hi) if tag is not None else None
        if tag is None or body is None:
            return None
        letters, digits, ctype = tag.groups()
        fattrs, ftext, opened, value, closed = body.groups(b"")
        row, col = int(digits) - 1, _column(letters)
        cached = bool(value) or (ctype == b"str" and bool(opened or closed))
        if fattrs:
            out[(row, col)] = XmlCell(_shared(_attrs(fattrs), _text(ftext), row, col, shared), cached)
        elif len(ftext) <= 64:  # files of one template share their formulas: one XmlCell each
            out[(row, col)] = _plain_formula(ftext, cached)
        else:
            out[(row, col)] = XmlCell(_text(ftext), cached)
    return out


@lru_cache(maxsize=4096)
def _plain_formula(ftext: bytes, cached: bool) -> XmlCell:
    return XmlCell(_text(ftext), cached)


@lru_cache(maxsize=1024)
def _column(letters: bytes) -> int:
    return parse_a1(letters.decode() + "1")[1]


@lru_cache(maxsize=16)
def _formula_mark(prefix: bytes) -> re.Pattern[bytes]:
    return re.compile(b"<" + re.escape(prefix) + rb"f[\s>/]")


def _scan_all(xml: bytes) -> dict[tuple[int, int], XmlCell]:
    """The slow path: walk every row and cell, counting positions where `r` attributes are missing."""
    out: dict[tuple[int, int], XmlCell] = {}
    shared: Shared = {}
    row, col = -1, -1
    for m in _ROW_OR_CELL.finditer(xml):
        if m.group(1) is not None:  # <row …>
            r = _attrs(m.group(1)).get(b"r", "")
            row, col = (int(r) - 1 if r.isdigit() else row + 1), -1
            continue
        attrs = _attrs(m.group(3) or b"")
        try:
            row, col = parse_a1(attrs[b"r"])
        except (KeyError, ValueError, StopIteration):
            col += 1
        _cell(attrs, m.group(4) or b"", row, col, shared, out)
    return out


def _cell(
    attrs: dict[bytes, str], body: bytes, row: int, col: int, shared: Shared, out: dict[tuple[int, int], XmlCell]
) -> None:
    """Record one cell in `out` when it holds a formula or an error value."""
    ctype = attrs.get(b"t", "n")
    if b"<" not in body and ctype != "e":
        return
    f = _F.search(body)
    v = _V.search(body)
    value = _text(v.group(1)) if v else ""
    error = value if ctype == "e" and value else None
    if f is None:
        if error:
            out[(row, col)] = XmlCell(error=error)
        return
    text = _shared(_attrs(f.group(1) or b""), _text(f.group(2)), row, col, shared)
    has_value = bool(v and v.group(1)) or (ctype == "str" and v is not None) or bool(_IS.search(body))
    out[(row, col)] = XmlCell(formula=text, cached=has_value, error=error)


def _shared(fattrs: dict[bytes, str], text: str, row: int, col: int, shared: Shared) -> str:
    """A formula's text: a shared formula's anchor is recorded, and its followers read it shifted."""
    si = fattrs.get(b"si")
    if fattrs.get(b"t") == "shared" and si is not None:
        if text:
            shared[si] = (text, row, col)
        elif si in shared:
            anchor, r0, c0 = shared[si]
            text = shift_formula(anchor, row - r0, col - c0)
    return text


_A1_IN_FORMULA = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d{1,7})(?![\w(])")


def shift_formula(formula: str, drow: int, dcol: int) -> str:
    """A shared formula's text as it reads in a cell (drow, dcol) away from its anchor (relative refs move)."""

    def move(m: re.Match[str]) -> str:
        try:
            r, c = parse_a1(m.group(2) + m.group(4))
        except (ValueError, StopIteration):
            return m.group(0)
        r = r if m.group(3) else r + drow
        c = c if m.group(1) else c + dcol
        if r < 0 or c < 0:
            return m.group(0)
        return f"{m.group(1)}{col_letter(c)}{m.group(3)}{r + 1}"

    parts = formula.split('"')
    parts[::2] = [_A1_IN_FORMULA.sub(move, p) for p in parts[::2]]  # never touch text inside quotes
    return '"'.join(parts)
