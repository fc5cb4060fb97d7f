"""What calamine does not tell about an .ods: named ranges, and which cells hold formulas or errors.

content.xml is scanned, not parsed (see xlsx.py for why): the table, row and cell start tags are
walked in order, counting repeated rows and columns, so each formula or error cell gets its address.
"""

from __future__ import annotations

import html
import re

from .layout import parse_a1
from .xlsx import Archive, PackageError, Ref, XmlCell, has_dtd, read_part

_TOKEN = re.compile(rb"<(/?)table:(table|table-row|table-cell|covered-table-cell|named-range)(?=[\s/>])([^>]*?)(/?)>")
_ATTR = re.compile(rb"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TEXT = re.compile(rb"<text:p\b[^>]*>(.*?)</text:p>", re.S)
_TAGS = re.compile(rb"<[^>]+>")
_ADDRESS = re.compile(r"^\$?(?:'((?:[^']|'')+)'|([^.']+))\.\$?([A-Za-z]{1,3})\$?(\d{1,7})")
MAX_REPEAT_RECORDED = 1000  # a formula repeated over a million rows is recorded for the first ones only


def _attrs(raw: bytes) -> dict[bytes, str]:
    out = {}
    for k, v1, v2 in _ATTR.findall(raw):
        value = (v1 or v2).decode("utf-8", "replace")
        out[k] = html.unescape(value) if "&" in value else value
    return out


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 1


def parse_address(text: str) -> Ref | None:
    """$基本信息.$B$3 or $'三、依申请公开'.$D$6 (or a range starting there) → Ref."""
    m = _ADDRESS.match(text.strip())
    if not m:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    row, col = parse_a1(m.group(3) + m.group(4))
    return Ref(sheet, row, col)


def _formula(text: str) -> str:
    """of:=SUM([.D6:.I6]) → SUM(D6:I6), as a user would read it in Excel."""
    for prefix in ("of:=", "oooc:=", "="):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.replace("[.", "").replace(":.", ":").replace("[$", "").replace("[", "").replace("]", "")


Cells = dict[str, dict[tuple[int, int], XmlCell]]


def scan_content(zf: Archive, cap: int) -> tuple[dict[str, Ref | None], Cells, dict[str, tuple[int, int]]]:
    """Global named ranges; per sheet the cells holding a formula or an error value (0-based); and per
    sheet how far its content reaches (last row, last column, 0-based; -1 when empty).

    The reach is what calamine will allocate as one dense grid (a value repeated down a million rows,
    or a stray entry far away, costs gigabytes): the reader refuses such a sheet before calamine opens it.
    A cell with a value type, or with any content, counts; empty cells, however repeated, do not.
    """
    xml = read_part(zf, "content.xml", cap)
    if has_dtd(xml):
        raise PackageError("content.xml 含有 DTD 声明，不予读取")
    names: dict[str, Ref | None] = {}
    cells: Cells = {}
    reach: dict[str, tuple[int, int]] = {}
    last_row = last_col = -1
    sheet: str | None = None
    row = row_start = col = 0
    rows_repeated = 1
    for m in _TOKEN.finditer(xml):
        closing, tag, raw, empty = m.group(1), m.group(2), m.group(3), m.group(4)
        if tag == b"table":
            if closing and sheet is not None:
                reach[sheet] = (last_row, last_col)
                sheet = None
            elif not closing and not empty:
                sheet = _attrs(raw).get(b"table:name", "")
                cells.setdefault(sheet, {})
                row, last_row, last_col = 0, -1, -1
            continue
        if sheet is None:
            if tag == b"named-range" and not closing:
                attrs = _attrs(raw)
                address = attrs.get(b"table:cell-range-address", "")
                names[attrs.get(b"table:name", "")] = None if "#REF" in address else parse_address(address)
            continue
        if tag == b"table-row":
            if closing:
                row = row_start + rows_repeated
            else:
                rows_repeated = _int(_attrs(raw).get(b"table:number-rows-repeated"))
                row_start, col = row, 0
                if empty:
                    row = row_start + rows_repeated
            continue
        if tag in (b"table-cell", b"covered-table-cell") and not closing:
            if b"formula" not in raw and b"error" not in raw:
                repeat = _int(_attrs(raw).get(b"table:number-columns-repeated")) if b"repeated" in raw else 1
                if not empty or b"value-type" in raw:
                    last_row, last_col = max(last_row, row_start + rows_repeated - 1), max(last_col, col + repeat - 1)
                col += repeat
                continue
            attrs = _attrs(raw)
            repeat = _int(attrs.get(b"table:number-columns-repeated"))
            last_row, last_col = max(last_row, row_start + rows_repeated - 1), max(last_col, col + repeat - 1)
            formula = attrs.get(b"table:formula")
            error = None
            if attrs.get(b"calcext:value-type") == "error":
                body_end = xml.find(b"</table:table-cell>", m.end())
                text = _TEXT.search(xml, m.end(), body_end if body_end >= 0 else len(xml))
                error = _TAGS.sub(b"", text.group(1)).decode("utf-8", "replace") if text else "#VALUE!"
            cached = b"office:value-type" in raw or error is not None
            record = XmlCell(formula=_formula(formula) if formula else None, cached=cached, error=error)
            if formula or error:
                for r in range(row_start, row_start + min(rows_repeated, MAX_REPEAT_RECORDED)):
                    for c in range(col, col + min(repeat, MAX_REPEAT_RECORDED)):
                        cells[sheet][(r, c)] = record
            col += repeat
    return names, cells, reach
