"""Write the summary workbook of a city (or of one group) with xlsxwriter, atomically, print-ready.

Sheets: 概览 · 二、主动公开 / 三、依申请公开 / 四、复议诉讼 (the 汇总表: the template's own table
sheets holding the sums) · 分单位明细 · 报送情况 · 问题清单 · 各单位文字部分 · 图表. Everything
shown is computed by consolidate() (pure); this module only lays it out. User strings are always
written as text (strings_to_formulas off; text starting like a formula gets Excel's quote prefix).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

try:  # what xlsxwriter's write_string does to an over-long string (RowsSheet.write_cells)
    from xlsxwriter.worksheet import _utf16_len, _utf16_truncate
except ImportError:  # pragma: no cover - another xlsxwriter: write_cells falls back to write()
    _utf16_len = _utf16_truncate = None  # type: ignore[assignment]

from .atomic import atomic_path
from .consolidate import (
    ACCEPTED,
    COUNTED,
    COVERED,
    EXPLAINED,
    MISSING,
    REJECTED,
    SHOWN_LABEL,
    STATUS_LABEL,
    WARNED,
    Consolidation,
    Node,
    SummaryData,
    UnitResult,
    alike_names,
    alike_units,
    consolidate,
    vector,
)
from .findings import ERROR, SEVERITY_LABEL, SEVERITY_ORDER, WARNING, Finding, first_open, in_brief, rule_title
from .kept import Memo
from .layout import META, META_KEYS, Layout, layout, meta_code
from .package import Block, Deflated, Splices, ThreadedZip, crc32_combine, deflate_block
from .skeleton import xml_text
from .spec import Cell, Spec
from .submission import Number, Submission
from .template import FORMULA_LEADERS, Filling, row_height, wrapped_lines, write_table_sheets, write_workbook

if TYPE_CHECKING:
    from .similarity import Comparisons

OVERVIEW, DETAIL, STATUS, ISSUES, TEXTS, CHARTS = "概览", "分单位明细", "报送情况", "问题清单", "各单位文字部分", "图表"
MAX_TEXT = 32767  # characters an Excel cell holds
EXCLUDED = "excluded"  # display status of an accepted report that cannot be summed (edition, year)
DISPLAY_LABEL = {**SHOWN_LABEL, EXCLUDED: "未计入"}
DISPLAY_ORDER = {MISSING: 0, REJECTED: 1, EXCLUDED: 2, WARNED: 3, EXPLAINED: 4, ACCEPTED: 5, COVERED: 6}
STATUS_FILL = {
    MISSING: "#F8CBAD",
    REJECTED: "#FFC7CE",
    EXCLUDED: "#FFC7CE",
    WARNED: "#FFEB9C",
    EXPLAINED: "#E2EFDA",
    ACCEPTED: "#C6EFCE",
    COVERED: "#DDEBF7",
}
CHART_COLOR = {
    MISSING: "#C00000",
    REJECTED: "#FF7C80",
    EXCLUDED: "#F4B183",
    WARNED: "#FFC000",
    EXPLAINED: "#A9D08E",
    ACCEPTED: "#70AD47",
    COVERED: "#5B9BD5",
}
TOP_UNITS = 10

_BASE = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
_BORDER = {"border": 1, "border_color": "#BFBFBF"}
STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "left"},
    "subtitle": {"font_color": "#595959", "align": "left"},
    "caption": {"bold": True, "font_size": 12, "font_color": "#1F3864", "bottom": 2, "bottom_color": "#1F3864"},
    "header": {**_BORDER, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#D9E1F2"},
    "text": {**_BORDER, "align": "left"},
    "wrap": {**_BORDER, "align": "left", "valign": "top", "text_wrap": True},
    "label": {**_BORDER, "align": "left", "bg_color": "#F2F2F2"},
    "indent": {**_BORDER, "align": "left", "bg_color": "#F2F2F2", "indent": 2},
    "int": {**_BORDER, "num_format": "#,##0"},
    "amount": {**_BORDER, "num_format": "#,##0.0000"},
    "pct": {**_BORDER, "num_format": "0.0%"},
    "change": {**_BORDER, "num_format": "+#,##0;-#,##0;0"},
    "change_amount": {**_BORDER, "num_format": "+#,##0.0000;-#,##0.0000;0"},
    "change_pct": {**_BORDER, "num_format": "+0.0%;-0.0%;0.0%"},
    "dash": {**_BORDER, "align": "center", "font_color": "#808080"},
    "datetime": {**_BORDER, "num_format": "yyyy-mm-dd hh:mm", "align": "left"},
    "big": {**_BORDER, "bold": True, "font_size": 14, "align": "center", "num_format": "#,##0"},
    "note": {"font_color": "#595959", "text_wrap": True, "valign": "top"},
    "ok": {"font_color": "#006100", "bold": True, "text_wrap": True, "valign": "top"},
    "bad": {"font_color": "#9C0006", "bold": True, "text_wrap": True, "valign": "top"},
    "muted": {**_BORDER, "font_color": "#808080", "italic": True},
    "subtotal": {**_BORDER, "bold": True, "bg_color": "#EDEDED"},
    "total": {**_BORDER, "bold": True, "bg_color": "#D9D9D9"},
    "warn": {**_BORDER, "align": "left", "valign": "top", "text_wrap": True, "bg_color": "#FFEB9C"},
}
NUMBER_STYLE = {"count": "int", "change": "change", "amount": "amount"}
ISSUE_FILL = {"error": "#FFC7CE", "warning": "#FFEB9C", "notice": "#DDEBF7"}  # 问题清单: 严重程度 by severity


class _Styles:
    """Formats made once per (style, variant) and reused: never one format object per cell."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._made: dict[tuple[Any, ...], Format] = {}
        # Every style the list sheets use, numbered in a fixed order: a style's number (xf index, in
        # each cell's XML) does not depend on which statuses and severities the data happen to have,
        # so the rows a RowCache keeps stay valid from one summary to the next.
        for name in STYLES:
            self(name)._get_xf_index()
        for fill in (*STATUS_FILL.values(), *ISSUE_FILL.values()):
            self("text", bg_color=fill)._get_xf_index()
        self("muted", border=0)._get_xf_index()
        self.stable = max(fmt._get_xf_index() for fmt in self._made.values())  # RowsSheet.stable_styles

    def __call__(self, name: str, *, quoted: bool = False, **extra: Any) -> Format:
        key = (name, quoted, tuple(sorted(extra.items()))) if extra else (name, quoted)
        if key not in self._made:
            props = {**_BASE, **STYLES[name], **extra}
            if quoted:
                props["quote_prefix"] = True
            self._made[key] = self.wb.add_format(props)
        return self._made[key]


def _text(ws: Worksheet, row: int, col: int, value: Any, styles: _Styles, style: str, **extra: Any) -> None:
    """Write a user string as text: never a formula; a leading = + - @ shows as typed (quote prefix)."""
    s, fmt = _as_text(value, styles, style, **extra)
    if s is None:
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, s, fmt)


def _as_text(value: Any, styles: _Styles, style: str, **extra: Any) -> tuple[str | None, Format]:
    """A user string as _text writes it (None for blank) with its format, for RowsSheet.write_cells."""
    if value is None or value == "":
        return None, styles(style, **extra)
    s = str(value)[:MAX_TEXT]
    return s, styles(style, quoted=s.startswith(FORMULA_LEADERS), **extra)


def _num(value: Number) -> float | int:
    return value if isinstance(value, int) else float(value)


LINE_HEIGHT = 13.5  # points per line of 10-point 宋体


def _fit(lines: int) -> float | None:
    """The height of a row tall enough for its wrapped text (LibreOffice does not grow rows of an
    .xlsx by itself); None for one line (the default)."""
    return row_height(lines, LINE_HEIGHT) if lines > 1 else None


# ---- a worksheet that writes 10,000 rows × 200 numbers fast ------------------------------------


class _Run:
    """A whole run of cells of one row, already rendered as sheet XML."""

    __slots__ = ("xml",)

    def __init__(self, xml: str) -> None:
        self.xml = xml


_FAST = all(hasattr(Worksheet, name) for name in ("_write_cell", "_check_dimensions"))  # write_numbers
_FAST_CELLS = _FAST and _utf16_len is not None and hasattr(Worksheet, "_convert_date_time")  # write_cells


_COLUMN = [xl_col_to_name(col) for col in range(256)]  # column letters of the list sheets (write_cells)
_FAST_LOOPS = all(
    hasattr(Worksheet, n) for n in ("_write_rows", "_write_row", "_write_empty_row", "_xml_end_tag")
) and all(
    hasattr(Worksheet(), n)
    for n in (
        *("row_info", "default_row_height", "original_row_height"),
        *("xls_rowmax", "xls_colmax", "constant_memory", "dim_rowmin", "dim_rowmax", "dim_colmin", "dim_colmax"),
    )
)  # (row_info, heights in pixels: xlsxwriter ≥ 3.2.3; 3.2.0–3.2.2 kept heights in points, in row_sizes; _claim)
_ROW = "\x00"  # stands for the row number in a rendered row (never in XML: control characters are escaped)
_SERIAL = "\x01"  # stands for the row's 序号
_ROW_B, _SERIAL_B = _ROW.encode(), _SERIAL.encode()


@dataclass
class Row:
    """One row of a list sheet, as RowsSheet.write_row takes it."""

    cells: Sequence[tuple[Any, Format | None]]  # from column A: (value, format); see RowsSheet.write_cells
    numbers: tuple[int, Sequence[Number | None], Sequence[Format]] | None = None  # (first column, values, formats)
    height: float | None = None  # points; None: the sheet's default
    level: int = 0  # outline level
    fmt: Format | None = None  # the row's own format (its empty cells')


class RowCache:
    """The rows of the summary's list sheets as rendered XML, kept from one summary to the next (`watch`).

    A row is known by what it shows (its cells' values and styles, its height and outline level; a
    unit's row in 分单位明细 by the unit, its standing and the ledger row of its report), whatever
    its row number and 序号: at 10,000 units a summary that differs by one unit renders a few rows
    instead of ~60,000. Rows the last summary did not show are forgotten. The workbook is the same
    bytes with or without it (tests/test_summary_rows.py).
    """

    def __init__(self) -> None:
        self._sheets: dict[str, Memo[_Rendered]] = {}
        self._blocks: dict[str, Blocks] = {}  # each sheet's blocks of rows as the last summary deflated them …
        self._blocks_now: dict[str, Blocks] = {}  # … and as this one does

    def sheet(self, name: str) -> Memo[_Rendered]:
        return self._sheets.setdefault(name, Memo())

    def blocks(self, name: str) -> tuple[Blocks, Blocks] | None:
        """A sheet's blocks of rows deflated by the last summary and by this one (see RowsSheet._body_chunks);
        None where a run deflated before cannot be put in (Python's zlib alone: no crc32_combine)."""
        if crc32_combine is None:
            return None
        return self._blocks.get(name, {}), self._blocks_now.setdefault(name, {})

    def written(self) -> None:
        """A summary was written: the rows and blocks it did not show are forgotten."""
        for rows in self._sheets.values():
            rows.turn()
        self._blocks, self._blocks_now = self._blocks_now, {}


_SEALED = object()  # stands for a row of a block that RowsSheet.seal deflated (the block is in its first row)
BLOCK = 500  # rows of a list sheet deflated as a run of their own (its bytes kept by RowCache while unchanged)
# first row → (what the block is made of: its rows' numbers, their rendered rows and 序号; the block deflated)
Blocks = dict[int, tuple[tuple[Any, ...], Deflated]]


@dataclass(frozen=True)
class _Rendered:
    """A row's XML (UTF-8: a province's rows weigh ~120 MB, half what they would as str) with _ROW
    for its row number (and _SERIAL for its 序号), its last column and outline level."""

    xml: bytes
    last: int
    level: int


class RowsSheet(Worksheet):
    """An xlsxwriter worksheet that takes a whole row in one call: write_row() for the rows of a
    list, write_numbers() for a run of numbers, write_cells() for a row of mixed cells. Strings are
    written in line, as xlsxwriter's constant_memory mode writes them: no shared-string table to
    build, and a row's XML does not depend on the other rows.

    xlsxwriter spends ~4 µs per cell; the 分单位明细 sheet of a province (10,000 units × 200
    numbers) would take 9 s. A row is rendered to XML once; write_row's rows are written out whole
    by _write_rows, and with a RowCache (`rows`) a row rendered for the last summary is reused.
    Where xlsxwriter's internals differ from what this relies on, it falls back to its own methods.
    """

    rows: Memo[_Rendered] | None = None  # rows of the last summary (RowCache.sheet), when kept
    blocks: tuple[Blocks, Blocks] | None = None  # blocks of rows of the last summary and this one (RowCache.blocks)
    stable_styles = 0  # formats numbered up to this xf index are numbered alike in every summary
    splices: Splices | None = None  # (ThreadedZip's) see _write_rows

    def write_row(
        self, row: int, content: Row | Callable[[], Row], *, key: Hashable | None = None, serial: int | None = None
    ) -> None:
        """Write a list row: `content`, or what it returns when the row is not known by `key` (a
        key must tell apart everything the content depends on). `serial`: the 序号, shown in column
        A with the format of the content's first cell (its value is not used). Without a key, a Row
        is known by its own values and styles."""
        if not (_FAST_CELLS and _FAST_LOOPS and isinstance(getattr(self, "table", None), dict)):
            self._write_row_slowly(row, content() if callable(content) else content, serial)
            return
        if self.rows is None:  # nothing kept: rendered as it is written (a province's rows weigh ~130 MB)
            made = content() if callable(content) else content
            last, level = self._register(made, serial is not None)
            self._claim(row, last)
            self.__dict__.setdefault("_body", {})[row] = (made, serial)
            self.outline_row_level = max(self.outline_row_level, level)
            return
        else:
            if key is None and isinstance(content, Row):
                key = self._key(content, serial is not None)
            found = self.rows.get(key) if key is not None else None
            if found is None:
                made = content() if callable(content) else content
                found = self._render_row(made, serial is not None)
                if key is not None and self._stable(made):
                    self.rows.put(key, found)
        self._claim(row, found.last)
        self.__dict__.setdefault("_body", {})[row] = (found, serial)  # (its XML is made as it is written)
        if found.level > self.outline_row_level:
            self.outline_row_level = found.level

    def _claim(self, row: int, last: int) -> None:
        """_check_dimensions(row, 0) and (row, last) as one: a list row from column A to `last`."""
        if row < 0 or row >= self.xls_rowmax or last >= self.xls_colmax or self.constant_memory:
            if self._check_dimensions(row, 0) or self._check_dimensions(row, last):
                raise IndexError(f"row {row} columns A–{last} are outside the worksheet")
            return
        if self.dim_rowmin is None or row < self.dim_rowmin:
            self.dim_rowmin = row
        if self.dim_rowmax is None or row > self.dim_rowmax:
            self.dim_rowmax = row
        if self.dim_colmin is None or self.dim_colmin > 0:
            self.dim_colmin = 0
        if self.dim_colmax is None or last > self.dim_colmax:
            self.dim_colmax = last

    def _register(self, row: Row, serial: bool) -> tuple[int, int]:
        """Number the formats of `row` now (xlsxwriter numbers them before it writes the sheets) and
        say its last column and outline level, as _render_row will render it."""
        if any(fmt is None and value not in (None, "") for value, fmt in row.cells):
            raise ValueError("write_row: every value needs its format")
        last = 0
        for col, (value, fmt) in enumerate(row.cells):
            if fmt is not None:
                fmt._get_xf_index()
            if fmt is not None or value not in (None, "") or (serial and col == 0):
                last = col
        if row.numbers is not None:
            col, values, formats = row.numbers
            self._templates(col, formats)
            last = max(last, col + len(values) - 1)
        if row.fmt is not None:
            row.fmt._get_xf_index()
        return last, min(max(row.level, 0), 7)

    def _key(self, row: Row, serial: bool) -> Hashable:
        cells = [(value, fmt._get_xf_index() if fmt is not None else None) for value, fmt in row.cells]
        if serial and cells:
            cells[0] = (None, cells[0][1])
        numbers = None
        if row.numbers is not None:
            col, values, formats = row.numbers
            numbers = (self._templates(col, formats)[1], tuple(values))
        fmt = row.fmt._get_xf_index() if row.fmt is not None else None
        return (tuple(cells), numbers, row.height, row.level, fmt)

    def _stable(self, row: Row) -> bool:
        """Whether every format of `row` is numbered alike in every summary (else it is not kept)."""
        formats = [fmt for _, fmt in row.cells if fmt is not None]
        if row.numbers is not None:
            formats.extend(row.numbers[2])
        if row.fmt is not None:
            formats.append(row.fmt)
        return all(fmt._get_xf_index() <= self.stable_styles for fmt in formats)

    def _render_row(self, row: Row, serial: bool) -> _Rendered:
        cells = list(row.cells)
        parts = [self._row_tag(row)]
        first = ""
        if serial and cells:
            fmt = cells[0][1]
            xf = fmt._get_xf_index() if fmt is not None else 0
            first = f'<c r="A{_ROW}"' + (f' s="{xf}"' if xf else "") + f"><v>{_SERIAL}</v></c>"
            cells = cells[1:]
        xml, _, last = self._render(cells, 1 if first else 0)
        parts += [first, xml]
        if not xml:
            last = 0
        if row.numbers is not None:
            col, values, formats = row.numbers
            numbers, last = self._render_numbers(col, values, formats), max(last, col + len(values) - 1)
            parts.append(numbers)
        parts.append("</row>")
        return _Rendered("".join(parts).encode(), last, min(max(row.level, 0), 7))

    def _row_tag(self, row: Row) -> str:
        """The <row> element's start tag as xlsxwriter's _write_row writes it (without spans: optional)."""
        attrs = [f'<row r="{_ROW}"']
        if row.fmt is not None:
            xf = row.fmt._get_xf_index()
            attrs.append((f' s="{xf}"' if xf else "") + ' customFormat="1"')
        pixels = int(row.height * 4.0 / 3.0 + 0.5) if row.height is not None else self.default_row_height
        custom = pixels != self.original_row_height or pixels != self.default_row_height
        if custom:
            attrs.append(f' ht="{pixels * 0.75:.16g}"')
        if custom:
            attrs.append(' customHeight="1"')
        level = min(max(row.level, 0), 7)
        if level:
            attrs.append(f' outlineLevel="{level}"')
        return "".join(attrs) + ">"

    def _write_row_slowly(self, row: int, content: Row, serial: int | None) -> None:
        """write_row through xlsxwriter's own methods (another xlsxwriter)."""
        cells = list(content.cells)
        if serial is not None and cells:
            cells[0] = (serial, cells[0][1])
        pixels = content.height
        if content.height is not None or content.level or content.fmt is not None:
            self.set_row(row, pixels, content.fmt, {"level": content.level} if content.level else None)
        self.write_cells(row, cells)
        if content.numbers is not None:
            self.write_numbers(row, *content.numbers)

    def write_numbers(self, row: int, col: int, values: Sequence[Number | None], formats: Sequence[Format]) -> None:
        if not values:
            return
        if not (_FAST and isinstance(getattr(self, "table", None), dict)):
            for k, v in enumerate(values):
                if v is not None:
                    self.write_number(row, col + k, _num(v), formats[k])
            return
        if self.rows is None:
            xml = self._render_numbers(col, values, formats)
        else:  # (a group's subtotals, the same until one of its reports changes; int 10**17 and 1e17 differ)
            key = ("numbers", col, self._templates(col, formats)[1], tuple(values), tuple(map(type, values)))
            xml = self.rows.make(key, lambda: self._render_numbers(col, values, formats))  # type: ignore[arg-type,return-value]
        self._put(row, xml, col, col + len(values) - 1)

    def _render_numbers(self, col: int, values: Sequence[Number | None], formats: Sequence[Format]) -> str:
        leads, _ = self._templates(col, formats)
        return "".join(
            [
                f"{lead}{v if type(v) is int else format(float(v), '.16G')}</v></c>"
                for lead, v in zip(leads, values, strict=True)
                if v is not None
            ]
        )

    def write_cells(self, row: int, cells: Sequence[tuple[Any, Format | None]]) -> None:
        """A whole row from column A in one call: each (value, format) as write() would write it
        (numbers, strings, datetimes; None or "" a blank, nothing without a format). A value always
        comes with its format (a row's or column's format is not looked up)."""
        if any(fmt is None and value not in (None, "") for value, fmt in cells):
            raise ValueError("write_cells: every value needs its format")
        if not (_FAST_CELLS and isinstance(getattr(self, "table", None), dict)):
            for col, (value, fmt) in enumerate(cells):
                if value is None or value == "":
                    self.write_blank(row, col, None, fmt)
                elif isinstance(value, str):
                    self.write_string(row, col, value, fmt)
                elif isinstance(value, dt.datetime):
                    self.write_datetime(row, col, value, fmt)
                else:
                    self.write_number(row, col, _num(value), fmt)
            return
        xml, first, last = self._render(cells, 0)
        if xml:
            self._put(row, xml, first, last)

    def _render(self, cells: Sequence[tuple[Any, Format | None]], start: int) -> tuple[str, int, int]:
        """The XML of `cells` (the first in column `start`) with _ROW for the row number, and the
        first and last columns that have a cell ("" when none has)."""
        parts: list[str] = []
        first = last = -1  # columns that get a cell (xlsxwriter's spans and dimensions follow them)
        heads: dict[tuple[int, int], str] = self.__dict__.setdefault("_heads", {})  # (column, xf) → '<c r=… s=…'
        half = self.xls_strmax // 2
        for col, (value, fmt) in enumerate(cells, start=start):
            if fmt is None:
                if value is None or value == "":
                    continue
                raise ValueError("write_cells: every value needs its format")
            xf = fmt._get_xf_index()
            head = heads.get((col, xf))
            if head is None:
                letters = _COLUMN[col] if col < len(_COLUMN) else xl_col_to_name(col)
                head = heads[(col, xf)] = f'<c r="{letters}{_ROW}"' + (f' s="{xf}"' if xf else "")
            if value is None or value == "":
                parts.append(head + "/>")
            elif isinstance(value, str):
                if len(value) > half and _utf16_len(value) > self.xls_strmax:
                    value = _utf16_truncate(value, self.xls_strmax)
                text = xml_text(value)
                edged = text[:1].isspace() or text[-1:].isspace()  # (xlsxwriter's test: ^\s|\s$)
                space = ' xml:space="preserve"' if edged else ""
                parts.append(f'{head} t="inlineStr"><is><t{space}>{text}</t></is></c>')
            else:
                if isinstance(value, dt.datetime):
                    value = self._convert_date_time(value)
                number = value if type(value) is int else format(float(value), ".16G")
                parts.append(f"{head}><v>{number}</v></c>")
            if first < 0:
                first = col
            last = col
        return ("".join(parts), first, last) if first >= 0 else ("", 0, 0)

    def _put(self, row: int, xml: str, first: int, last: int) -> None:
        """Place a rendered run of cells in `row` (emitted whole by _write_cell)."""
        if self._check_dimensions(row, first) or self._check_dimensions(row, last):
            raise IndexError(f"row {row} columns {first}–{last} are outside the worksheet")
        self.table[row][first] = _Run(xml.replace(_ROW, str(row + 1)))
        if last != first:
            self.table[row][last] = _Run("")

    def _templates(self, col: int, formats: Sequence[Format]) -> tuple[list[str], str]:
        """Each cell's XML up to its value, with _ROW for the row number, per (first column, formats),
        and a string that tells them apart (part of a row's key)."""
        made: dict[tuple[int, int], tuple[list[str], str, Sequence[Format]]] = self.__dict__.setdefault(
            "_run_templates", {}
        )
        key = (col, id(formats))
        if key not in made:
            tails = [f'" s="{fmt._get_xf_index()}"><v>' for fmt in formats]
            leads = [f'<c r="{xl_col_to_name(col + k)}{_ROW}{tail}' for k, tail in enumerate(tails)]
            made[key] = (leads, f"{col}:{''.join(tails)}", formats)  # keeps `formats` alive: its id stays unique
        leads, sig, _ = made[key]
        return leads, sig

    def _write_rows(self) -> None:
        """xlsxwriter's _write_rows (same XML), visiting the cells each row has instead of every column
        of the sheet (分单位明细 has 10,000 rows × 205 columns, ~4 million lookups for ~20,000 cells),
        and writing the rows of write_row as they were rendered, many at a time."""
        body: dict[int, tuple[_Rendered | Row, int | None]] = self.__dict__.get("_body", {})
        if not (_FAST_LOOPS and isinstance(getattr(self, "table", None), dict)) or self.comments:
            if body:
                raise RuntimeError("write_row's rows need xlsxwriter's internals this relies on")
            super()._write_rows()
            return
        table, row_info, lo, hi = self.table, self.row_info, self.dim_colmin, self.dim_colmax
        self._set_spans()
        for batch, row_num in self._in_order():
            self._write_body(batch)
            if row_num is None:
                continue
            cols = table.get(row_num)
            span = self.row_spans.get(row_num // 16)
            if not cols:  # a row with attributes only
                self._write_empty_row(row_num, span, row_info[row_num])
                continue
            if row_num in row_info:
                self._write_row(row_num, span, row_info[row_num])
            else:
                self._write_row(row_num, span)
            for col_num in sorted(cols):
                if lo <= col_num <= hi:
                    self._write_cell(row_num, col_num, cols[col_num])
            self._xml_end_tag("row")

    def _in_order(self) -> Iterator[tuple[list[int], int | None]]:
        """The sheet's rows as _write_rows writes them: each run of write_row's rows (maybe none) with
        the row of cells or attributes that follows it (None after the last run)."""
        body = self.__dict__.get("_body", {})
        table, row_info = self.table, self.row_info
        batch: list[int] = []  # write_row's rows next in line
        if self.dim_rowmin is None:  # (nothing written)
            yield batch, None
            return
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            if row_num in body:
                batch.append(row_num)
            elif table.get(row_num) or row_num in row_info:
                yield batch, row_num
                batch = []
        yield batch, None

    def deflate_ahead(self, deflate: Callable[[Block], None]) -> None:
        """Hand `deflate` each block of write_row's rows that writing the sheet would deflate anew, as
        it would cut them (warm_rows: its RowCache then holds them as a written summary leaves them)."""
        if self.splices is None or self.blocks is None or not _FAST_LOOPS:
            return
        for batch, _ in self._in_order():
            for piece in self._body_chunks(batch) if batch else ():
                if isinstance(piece, Block) and piece.keep is not None:
                    deflate(piece)

    def seal(self, deflate: Callable[[bytes], Future[Deflated]]) -> None:
        """A summary without a RowCache: render write_row's rows now and have `deflate` deflate them,
        block by block as _body_chunks cuts them, letting go of their Rows. At 10,000 units the four
        list sheets' Rows weigh ~75 MB held together until the workbook is closed; so each sheet's
        are gone before the next sheet's are made (the main process's peak of memory: issue 7). The
        workbook's bytes are the same (each block is a run of its own either way)."""
        body: dict[int, tuple[_Rendered | Row | Future[Deflated], int | None]] = self.__dict__.get("_body", {})
        if not body or self.rows is not None or self.splices is None or crc32_combine is None or not _FAST_LOOPS:
            return
        for batch, _ in self._in_order():
            for start in range(0, len(batch), BLOCK):
                numbers = batch[start : start + BLOCK]
                text = self._block_text(numbers, [body[row] for row in numbers])  # type: ignore[misc]
                body[numbers[0]] = (deflate(text), len(numbers))  # (the block, and how many rows it holds)
                for row in numbers[1:]:
                    body[row] = (_SEALED, None)

    def _write_body(self, rows: list[int]) -> None:
        """Write these rows of write_row's. Zipped by ThreadedZip (`splices`), the sheet gets a mark
        and the zip the rows' bytes in its place: no text file of ~120 MB written and read back."""
        if not rows:
            return
        chunks = self._body_chunks(list(rows))
        rows.clear()
        if self.splices is None:
            for chunk in chunks:
                self.fh.write(chunk.decode())
            return
        mark = f"<!--nianbao-rows-{len(self.splices)}-{id(self):x}-->"  # (package._MARK)
        self.splices[mark.encode()] = lambda: chunks
        self.fh.write(mark)

    def _body_chunks(self, rows: list[int]) -> Iterator[bytes | Block | Deflated]:
        """The XML of write_row's `rows`, BLOCK rows at a time, row numbers and 序号 filled in (each
        row let go once written). Zipped by ThreadedZip (`splices`), each block is deflated as a run
        of its own; with a RowCache, a block whose rows are those of the last summary's block in the
        same place (the same rendered rows, row numbers and 序号) is that block as it was deflated:
        at 10,000 units a summary that differs by one unit deflates a few blocks instead of ~120 MB."""
        body: dict[int, tuple[_Rendered | Row, int | None]] = self.__dict__["_body"]
        blocks = self.blocks if self.splices is not None else None
        last, now = blocks if blocks is not None else ({}, {})
        for start in range(0, len(rows), BLOCK):
            numbers = rows[start : start + BLOCK]
            entries = [body.pop(row) for row in numbers]
            if isinstance(entries[0][0], Future):  # (sealed: deflated already, cut the same way)
                if entries[0][1] != len(numbers) or any(item is not _SEALED for item, _ in entries[1:]):
                    raise RuntimeError(f"summary: the rows of “{self.name}” changed after they were sealed")
                yield entries[0][0].result()
                continue
            if self.splices is None:
                yield self._block_text(numbers, entries)
                continue
            if blocks is None or any(isinstance(item, Row) for item, _ in entries):  # (a Row: not kept)
                yield Block(self._block_text(numbers, entries))
                continue
            made_of = (tuple(numbers), tuple(entries))  # (rendered rows compare by identity first: fast)
            known = last.get(numbers[0])
            if known is not None and known[0] == made_of:
                now[numbers[0]] = known
                yield known[1]
            else:
                yield Block(
                    self._block_text(numbers, entries),
                    lambda deflated, first=numbers[0], made_of=made_of: now.__setitem__(first, (made_of, deflated)),
                )

    def _block_text(self, rows: list[int], entries: list[tuple[_Rendered | Row, int | None]]) -> bytes:
        out = []
        for row, (item, serial) in zip(rows, entries, strict=True):
            found = self._render_row(item, serial is not None) if isinstance(item, Row) else item
            xml = found.xml.replace(_ROW_B, b"%d" % (row + 1))
            out.append(xml if serial is None else xml.replace(_SERIAL_B, b"%d" % serial, 1))
        return b"".join(out)

    def _set_spans(self) -> None:
        """xlsxwriter's _calculate_spans for a sheet without comments, from the rows that have cells
        of their own (write_row's rows have none: a province's lists would be 40,000 rows visited)."""
        spans: dict[int, tuple[int, int]] = {}  # block of 16 rows → its first and last columns (1-based)
        lo, hi = self.dim_colmin, self.dim_colmax
        for row_num in sorted(r for r in self.table if self.dim_rowmin <= r <= self.dim_rowmax):
            cols = [c for c in self.table[row_num] if lo <= c <= hi]
            if cols:
                block, first, last = row_num // 16, min(cols) + 1, max(cols) + 1
                if block in spans:
                    low, high = spans[block]
                    first, last = min(first, low), max(last, high)
                spans[block] = (first, last)
        self.row_spans = {block: f"{low}:{high}" for block, (low, high) in spans.items()}

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        if isinstance(cell, _Run):
            if cell.xml:
                self.fh.write(cell.xml)
            return
        super()._write_cell(row, col, cell)


# ---- what each unit looks like in the views ---------------------------------------------------


class Standing(NamedTuple):
    """A unit's status as the summary shows it, and why. (A tuple: part of the key of ~20,000 list
    rows, hashed in C.)"""

    key: str  # a status, or covered / excluded
    note: str

    @property
    def label(self) -> str:
        return DISPLAY_LABEL[self.key]


def standing(unit: UnitResult, con: Consolidation) -> Standing:
    if unit.name in con.excluded:
        return Standing(EXCLUDED, f"未计入合计：{con.excluded[unit.name].message}")
    if unit.name in con.covered:
        base = "" if unit.status == MISSING else f"本单位报告{STATUS_LABEL.get(unit.status, '')}；"
        return Standing(COVERED, f"{base}已含于“{con.covered[unit.name]}”的汇总表，不单独计入合计")
    later = f"其后提交的“{unit.rejected_after}”被退回，仍按此前通过的报告计入" if unit.rejected_after else ""
    alike = "汇总时发现文字部分内容雷同（见“各单位文字部分”）" if unit.name in _alike(con) and unit.counted else ""
    said = _said_of_outside(con).get(unit.name) if not unit.listed else None
    if said and unit.status == ACCEPTED:  # (outside the roster, a warning of summing: 有警告, as status shows it)
        return Standing(WARNED, "；".join(filter(None, [f"{said}（见问题清单）", alike])))
    if unit.is_rollup and unit.counted:
        n = unit.submission.units  # type: ignore[union-attr]
        said = "汇总时发现问题（见问题清单）" if unit.name in _warned_in_summing(con) else ""
        key = WARNED if said and unit.status == ACCEPTED else unit.status  # (as status shows it)
        parts = [f"汇总表，涵盖 {n} 个单位，按一份报送计入", said, later, alike]
        return Standing(key, "；".join(filter(None, parts)))
    notes = {MISSING: "未收到报告，不计入合计", REJECTED: "报告有错误被退回，不计入合计"}
    error, warning = first_open(unit.findings, ERROR), first_open(unit.findings, WARNING)
    if error is not None:  # (the first to see to, as status says it: whom to call about what)
        notes[REJECTED] += f"；首个错误：{in_brief(error, con.spec)}"
    if warning is not None:
        notes[WARNED] = f"首个警告：{in_brief(warning, con.spec)}"
    if unit.other_year:
        notes[MISSING] = f"{unit.other_year}，不计入合计"
    if unit.withdrawn:  # (its last report was withdrawn by the coordinator: said, with why)
        notes = {
            MISSING: f"{unit.withdrawn}，不计入合计",
            **{k: f"{unit.withdrawn}，按此前的报告计入" for k in COUNTED},
        }
    return Standing(unit.status, "；".join(filter(None, [later or notes.get(unit.status, ""), alike])))


def _alike(con: Consolidation) -> set[str]:
    """The units 内容雷同 was found of (made once per consolidation)."""
    made = con.__dict__.get("_alike")
    if made is None:
        made = con.__dict__["_alike"] = alike_names(con.similar)
    return made


def _said_of_outside(con: Consolidation) -> dict[str, str]:
    """The units outside the roster that summing warned about (outside-roster-*), with the few words
    报送情况 says of each (the rule's message in full is in 问题清单)."""
    made = con.__dict__.get("_outside")
    if made is None:
        titles = {
            "outside-roster-twice": "名册以外的单位，可能与名册单位重复计入",
            "outside-roster-counted": "名册以外的单位计入了汇总",
        }
        made = con.__dict__["_outside"] = {
            f.agency: titles[f.rule_id] for f in con.findings if f.rule_id in titles and f.agency
        }
    return made


def _warned_in_summing(con: Consolidation) -> set[str]:
    """The units summing left an open warning about (a roll-up's rollup-overlap …): 有警告, as status shows them."""
    made = con.__dict__.get("_warned_in_summing")
    if made is None:
        made = con.__dict__["_warned_in_summing"] = {
            f.agency for f in con.findings if f.severity == WARNING and f.is_open and f.agency
        }
    return made


def _standings(con: Consolidation) -> dict[int, Standing]:
    """standing() of every unit placed, by id(unit): made once per consolidation (three sheets ask)."""
    made = con.__dict__.get("_standings")
    if made is None:
        made = con.__dict__["_standings"] = {id(u): standing(u, con) for u, _ in con.placed}
    return made


def _tally(unit: UnitResult) -> tuple[int, int, int]:
    """A unit's errors, open warnings and explained warnings (报送情况), counted once per findings list
    (kept with the unit: `watch` lists the same UnitResult while its ledger rows stay as they were)."""
    known = unit.__dict__.get("_tally")
    if known is None or known[0] is not unit.findings:
        errors = warnings = explained = 0
        for f in unit.findings:
            if f.severity == "error":
                errors += 1
            elif f.severity == "warning":
                if f.explained:
                    explained += 1
                else:
                    warnings += 1
        known = unit.__dict__["_tally"] = (unit.findings, (errors, warnings, explained))
    return known[1]


def _group_text(node: Node, root: Node) -> str:
    return " / ".join(node.path[len(root.path) :]) or "（本级）"


def _contact(unit: UnitResult, key: str) -> str | None:
    value = getattr(unit, key)
    if value:
        return value
    if unit.submission is not None:
        return unit.submission.texts.get(f"info.{key}") or None
    return None


# ---- the workbook -----------------------------------------------------------------------------


ZIP_LEVEL = 1  # deflate level of the summary's parts: ~3× faster than zlib's default 6, file ~25 % larger


@contextmanager
def _zip_writer(path: Path, level: int) -> Iterator[Splices | None]:
    """Make xlsxwriter zip the workbook at `path` with package.ThreadedZip (parts deflated at `level`
    on two threads) while this block runs: it has no option for it, its ZipFile is looked up in
    xlsxwriter.workbook when the workbook is closed. Process-local. Yields ThreadedZip's splices
    (see RowsSheet._write_rows), or None where xlsxwriter is not as this expects."""
    import xlsxwriter.workbook as xw

    original = xw.ZipFile
    if not (isinstance(original, type) and issubclass(original, zipfile.ZipFile)):  # xlsxwriter changed
        yield None
        return
    splices: Splices = {}

    def zip_file(file: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(file, (str, os.PathLike)) and Path(file) == path):  # not ours: xlsxwriter's own way
            return original(file, *args, compresslevel=level, **kwargs)
        archive = ThreadedZip(file, *args, **kwargs)
        archive.level, archive.splices = level, splices
        return archive

    xw.ZipFile = zip_file
    try:
        yield splices
    finally:
        xw.ZipFile = original


def write_summary(
    path: Path | str, data: SummaryData, con: Consolidation | None = None, rows: RowCache | None = None
) -> Path:
    """Consolidate `data` (unless `con`, from summarize(data), is given) and write the summary
    workbook to `path` atomically; returns the path. `rows`: the rows of the last summary (RowCache;
    the same bytes, faster when most rows are as they were).

    A reader never sees a half-written file, and a crash leaves the previous summary in place.
    """
    with gc_paused():
        written = _write(Path(path), data, con or consolidate(data), rows)
    if rows is not None:
        rows.written()
    return written


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a summary is made: millions of small objects that it
    would only rescan, over and over (reference counting frees them as always)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def summarize(
    data: SummaryData, comparisons: Comparisons | None = None, sums: Memo[Any] | None = None
) -> Consolidation:
    """consolidate(data) as write_summary does it: for a caller that also needs the sums (the roll-up
    report), so that the 内容雷同 comparison and the sums are made once. `comparisons`, `sums`: see consolidate."""
    with gc_paused():
        return consolidate(data, comparisons=comparisons, sums=sums)


def _write(path: Path, data: SummaryData, con: Consolidation, rows: RowCache | None = None) -> Path:
    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    with atomic_path(path) as tmp:
        with _zip_writer(tmp, ZIP_LEVEL) as splices, xlsxwriter.Workbook(str(tmp), options) as wb:
            wb.set_properties(
                {
                    "title": f"{data.name} {data.year} 年度政府信息公开工作年度报告汇总",
                    "subject": f"{data.spec.title} 汇总",
                    "author": "nianbao",
                    "comments": f"nianbao {data.tool_version}; edition {data.spec.edition}; summary",
                    "created": data.produced_at,
                }
            )
            wb.set_custom_property("nianbao_edition", data.spec.edition)
            wb.set_custom_property("nianbao_kind", "summary")
            styles = _Styles(wb)
            overview = wb.add_worksheet(OVERVIEW)
            tables = write_table_sheets(wb, data.spec, con.root.values, header=f"{data.name} {data.year} 年度汇总")
            _subtitle_tables(tables, layout(data.spec), data, con, styles)
            _write_lists(wb, data, con, styles, rows, splices)
            charts = _write_charts(wb, wb.add_worksheet(CHARTS), data, con, styles)
            _write_overview(wb, overview, data, con, styles, charts)
            _write_meta(wb, data, con)
            overview.activate()
        if splices:  # (xlsxwriter zipped it without ThreadedZip: the list sheets would lack their rows)
            raise RuntimeError(f"summary: {len(splices)} list-sheet parts were not written")
    return path


def _write_lists(
    wb: Workbook,
    data: SummaryData,
    con: Consolidation,
    styles: _Styles,
    rows: RowCache | None,
    splices: Splices | None,
) -> None:
    """The list sheets: 分单位明细, 报送情况, 问题清单, 各单位文字部分."""

    def rows_sheet(name: str) -> RowsSheet:
        ws = wb.add_worksheet(name, worksheet_class=RowsSheet)
        ws.rows = rows.sheet(name) if rows is not None else None
        ws.blocks = rows.blocks(name) if rows is not None else None
        ws.stable_styles = styles.stable
        ws.splices = splices
        return ws

    # (without a RowCache, each sheet's rows are deflated as soon as it is written: RowsSheet.seal)
    with _few_at_a_time() if rows is None else nullcontext(None) as submit:
        for write, name in (
            (_write_detail, DETAIL),
            (_write_status, STATUS),
            (_write_issues, ISSUES),
            (_write_texts, TEXTS),
        ):
            ws = rows_sheet(name)
            write(ws, data, con, styles)
            if submit is not None:
                ws.seal(lambda text: submit(deflate_block, text, ZIP_LEVEL))


def warm_rows(data: SummaryData, con: Consolidation, rows: RowCache) -> None:
    """Render the list sheets' rows into `rows` as write_summary would, and deflate their blocks as it
    would, without writing a workbook: `watch` started on a summary left as it was, so that its first
    refresh is as fast as the next (at 10,000 units ~130 MB of rows not deflated again then)."""
    with gc_paused(), _few_at_a_time() as submit:
        wb = xlsxwriter.Workbook(os.devnull)  # (never closed: nothing is written)
        _write_lists(wb, data, con, _Styles(wb), rows, {})

        def deflate(block: Block) -> None:
            keep, text = block.keep, block.text
            submit(lambda: keep(deflate_block(text, ZIP_LEVEL)))  # type: ignore[misc]

        for ws in wb.worksheets():
            if isinstance(ws, RowsSheet):
                ws.deflate_ahead(deflate)
    rows.written()


@contextmanager
def _few_at_a_time(ahead: int = 4) -> Iterator[Callable[..., Future[Any]]]:
    """submit(fn, *args) on two threads (zlib lets go of the GIL), waiting for the oldest while `ahead`
    are unfinished: a few blocks' text held at a time. Every one is done, its error raised, by the end."""
    with ThreadPoolExecutor(2) as pool:
        waiting: deque[Future[Any]] = deque()

        def submit(fn: Callable[..., Any], *args: Any) -> Future[Any]:
            while len(waiting) >= ahead:
                waiting.popleft().result()
            waiting.append(pool.submit(fn, *args))
            return waiting[-1]

        yield submit
        for future in waiting:
            future.result()


def _page(ws: Worksheet, data: SummaryData, *, landscape: bool, fit_width: bool = True) -> None:
    ws.set_paper(9)
    ws.set_landscape() if landscape else ws.set_portrait()
    if fit_width:
        ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_header(f"&L{data.name.replace('&', '&&')} {data.year} 年度汇总&R&A")
    ws.set_footer("&C第 &P 页，共 &N 页")


def _sheet_title(ws: Worksheet, row: int, last_col: int, text: str, styles: _Styles, style: str = "title") -> None:
    s = text[:MAX_TEXT]
    fmt = styles(style, quoted=s.startswith(FORMULA_LEADERS))
    if last_col > 0:
        ws.merge_range(row, 0, row, last_col, s, fmt)
    else:
        ws.write_string(row, 0, s, fmt)


def _subtitle_tables(
    tables: dict[str, Worksheet], lay: Layout, data: SummaryData, con: Consolidation, styles: _Styles
) -> None:
    root = con.root
    text = (
        f"{data.name} {data.year} 年度汇总：计入 {root.units} 个单位（应报 {root.expected} 个）。"
        "各数均为各单位报告之和，合计由系统重新计算。"
    )
    for name, ws in tables.items():
        width = max(f.last_col for f in lay.frames.values() if f.sheet == name)
        _sheet_title(ws, 1, width, text, styles, "subtitle")


# ---- 概览 -------------------------------------------------------------------------------------


def _not_counted(con: Consolidation) -> dict[str, list[str]]:
    """The units whose figures are not in the sums, by why (被退回, 未报送), in tree order; those a
    roll-up stands for are not among them."""
    out: dict[str, list[str]] = {REJECTED: [], MISSING: [], "rollups": []}
    for u, _ in con.placed:
        if u.is_rollup:
            if u.status == REJECTED:  # (a county's roll-up refused: named apart, it is not one unit)
                out["rollups"].append(u.name)
        elif u.status in out and u.name not in con.covered:
            out[u.status].append(u.name)
    return out


def _counts(con: Consolidation, left_out: dict[str, list[str]]) -> dict[str, int]:
    """概览's boxes; `left_out`: _not_counted(con), which 概览 also lists by name."""
    counts = dict.fromkeys(("submitted", "flagged", "covered"), 0)
    shown = _standings(con)
    for u, _ in con.placed:
        if u.is_rollup:  # (counted as the units it sums, as 计入汇总 counts it; 有警告 as 报送情况 shows it)
            if u.counted and u.name not in con.covered and shown[id(u)].key in (WARNED, EXPLAINED):
                counts["flagged"] += u.submission.units  # type: ignore[union-attr]
            continue
        status, covered = u.status, u.name in con.covered
        counts["submitted"] += status != MISSING or covered  # (reported through its county's roll-up)
        counts["covered"] += covered
        if not covered:  # (as 报送情况 shows it: a unit outside the roster summing warned about is 有警告)
            counts["flagged"] += shown[id(u)].key in (WARNED, EXPLAINED) and u.counted
    return {
        "expected": con.root.expected,
        "submitted": counts["submitted"],
        "counted": con.root.units,
        "flagged": counts["flagged"],
        "rejected": len(left_out[REJECTED]),
        "missing": len(left_out[MISSING]),
        "covered": counts["covered"],
        "rollups": sum(1 for u in con.counted if u.is_rollup),
        "excluded": len(con.excluded),
    }


def _sums_shown(node: Node, codes: tuple[str, ...]) -> list[Number | None]:
    """A subtotal's figures; none when nothing is counted under it (0s would read as reported zeros)."""
    return vector(node.values, codes) if node.units else [None] * len(codes)


_TOP_NOTE = "；县区汇总表所含单位不单列"


def _shown_name(unit: UnitResult) -> str:
    """A unit's name in the lists: a roll-up's marked as such (西山县（汇总表）)."""
    return f"{unit.name}（汇总表）" if unit.is_rollup else unit.name


def _some(names: list[str], shown: int = 12) -> str:
    """Names for one line: the first `shown`, then how many more."""
    more = f"等 {len(names)} 个" if len(names) > shown else ""
    return "、".join(names[:shown]) + more


def _fingerprint(con: Consolidation) -> str:
    digest = hashlib.sha256()
    for u in sorted(con.counted, key=lambda u: u.name):
        digest.update(f"{u.name}\0{u.sha256 or ''}\n".encode())
    return digest.hexdigest()


def _write_overview(
    wb: Workbook, ws: Worksheet, data: SummaryData, con: Consolidation, styles: _Styles, charts: dict[str, ChartData]
) -> None:
    spec = data.spec
    lay = layout(spec)
    last = 5
    ws.set_column(0, 0, 30)
    ws.set_column(1, last, 13)
    _page(ws, data, landscape=False)
    ws.hide_gridlines(2)
    _sheet_title(ws, 0, last, f"{data.name} {data.year} 年度政府信息公开工作年度报告汇总", styles)
    ws.set_row(0, 30)
    _sheet_title(
        ws,
        1,
        last,
        f"报告格式：{spec.label}（{spec.issued_with}）　生成时间：{data.produced_at:%Y-%m-%d %H:%M}　"
        f"生成工具：nianbao {data.tool_version}",
        styles,
        "subtitle",
    )
    ws.write_string(2, 0, "汇总范围", styles("label"))
    name = data.name[:MAX_TEXT]
    ws.merge_range(2, 1, 2, 2, name, styles("text", quoted=name.startswith(FORMULA_LEADERS)))
    ws.write_string(2, 3, "报告年度", styles("label"))
    ws.merge_range(2, 4, 2, 5, "", styles("text", num_format="0"))
    ws.write_number(2, 4, data.year, styles("text", num_format="0"))

    row = 4
    left_out = _not_counted(con)
    c = _counts(con, left_out)
    _sheet_title(ws, row, last, "一、报送情况", styles, "caption")
    row += 1
    heads = ("应报单位", "已报送", "计入汇总", "其中有警告或已说明", "被退回", "未报送")
    keys = ("expected", "submitted", "counted", "flagged", "rejected", "missing")
    for k, head in enumerate(heads):
        ws.write_string(row, k, head, styles("header"))
    ws.set_row(row, 28)
    for k, key in enumerate(keys):
        color = {"rejected": "#9C0006", "missing": "#9C0006"}.get(key) if c[key] else None
        ws.write_number(row + 1, k, c[key], styles("big", **({"font_color": color} if color else {})))
    ws.set_row(row + 1, 26)
    row += 2
    if any(left_out.values()):  # (a leader asks who first; the list is on another sheet)
        said = [
            f"{label}：{_some(names)}"
            for label, names in (
                (f"未报送 {len(left_out[MISSING])} 个", left_out[MISSING]),
                (f"被退回 {len(left_out[REJECTED])} 个", left_out[REJECTED]),
                (f"县区汇总表被退回 {len(left_out['rollups'])} 份", left_out["rollups"]),
            )
            if names
        ]
        text = "；".join(said) + f"。详见“{STATUS}”表（排在最前）。"
        _sheet_title(ws, row, last, text, styles, "bad")
        ws.set_row(row, 15 * (1 + len(text) // 44))  # (~44 characters a line across the six columns)
        row += 1
    notes = []
    if c["rollups"]:
        notes.append(
            f"其中县区汇总表 {c['rollups']} 份，按汇总表计入，涵盖 {c['covered']} 个名单内单位（计为已报送），"
            "这些单位单独报送的报告不重复计入。"
        )
    if c["excluded"]:
        notes.append(f"另有 {c['excluded']} 份已通过的报告因格式版本或年度不符未计入，见“问题清单”。")
    copied = alike_units(con.similar)
    if copied:  # (found in summing, after each unit's own check: not in the boxes above, which are per file)
        notes.append(
            f"汇总时发现 {copied} 个单位的文字部分与本单位上年或其他单位内容雷同（不影响计入），"
            f"见“{ISSUES}”和“{TEXTS}”表；上面“有警告”只计各单位文件本身的警告。"
        )
    notes.append("“计入汇总”按单位数计（县区汇总表按其涵盖的单位数计）；未报送、被退回的单位不计入合计，也不按 0 计。")
    for note in notes:
        _sheet_title(ws, row, last, note, styles, "note")
        ws.set_row(row, 28)
        row += 1

    row += 1
    _sheet_title(ws, row, last, "二、主要数据", styles, "caption")
    row += 1
    has_last = con.previous is not None
    for k, head in enumerate(("项目", f"{data.year}年", "占办理结果总计", f"{data.year - 1}年", "增减", "增减幅度")):
        ws.write_string(row, k, head, styles("header"))
    row += 1
    for fig in con.figures:
        indent = fig.label.startswith("其中")
        ws.write_string(row, 0, f"{fig.label}（{fig.unit}）", styles("indent" if indent else "label"))
        style = "amount" if fig.unit == "万元" else "int"
        refs = "+".join(lay.places[code].ref for code in fig.codes)
        if refs:
            ws.write_formula(row, 1, f"={refs}", styles(style), _num(fig.value))
        else:
            ws.write_number(row, 1, _num(fig.value), styles(style))
        if fig.share is not None:
            ws.write_number(row, 2, fig.share, styles("pct"))
        else:
            ws.write_blank(row, 2, None, styles("dash"))
        before = con.previous.get(fig.key) if con.previous else None
        if before is None:
            for col in (3, 4, 5):
                ws.write_string(row, col, "—", styles("dash"))
        else:
            ws.write_number(row, 3, _num(before), styles(style))
            change = fig.value - before
            ws.write_number(row, 4, _num(change), styles("change_amount" if fig.unit == "万元" else "change"))
            if before:
                ws.write_number(row, 5, float(change) / float(before), styles("change_pct"))
            else:
                ws.write_string(row, 5, "—", styles("dash"))
        row += 1
    if not has_last:
        _sheet_title(ws, row, last, "上年数据：台账中没有上年已通过的报告，不作比较。", styles, "note")
        row += 1
    else:
        now, before = con.root.units, con.previous_units
        scope = "统计范围相同" if before == now else "两年计入的单位数不同，增减含单位数变化的影响，仅供参考"
        _sheet_title(
            ws,
            row,
            last,
            f"上年数据为台账中上年已通过的 {before} 个单位的报告之和（本年计入 {now} 个单位；{scope}；"
            "县区汇总表与其所含单位不重复计算）。",
            styles,
            "note" if before == now else "bad",  # (a leader reads +433 % first: the caveat must be seen)
        )
        ws.set_row(row, 28 if before == now else 42)
        row += 1

    row += 1
    _sheet_title(ws, row, last, "三、勾稽关系", styles, "caption")
    row += 1
    rules = "、".join(
        sorted({cell.rule for cell in spec.cells.values() if cell.rule} | {r.id for r in spec.rules_of("balance")})
    )
    if not con.checks:
        text = f"✓ 汇总数据的各项勾稽关系（{rules}）全部成立：每个合计都由各单位数据重新计算，未采用文件中自带的合计。"
        _sheet_title(ws, row, last, text, styles, "ok")
    else:
        text = f"✗ 有 {len(con.checks)} 处勾稽关系在汇总数据上不成立（说明有报告本应被退回），详见“问题清单”。"
        _sheet_title(ws, row, last, text, styles, "bad")
    ws.set_row(row, 30)
    row += 2
    _sheet_title(ws, row, last, "四、图示", styles, "caption")
    row += 1
    ws.insert_chart(row, 0, _chart(wb, charts["status"], 300, 250, title_size=11), {"x_offset": 2, "y_offset": 4})
    ws.insert_chart(row, 2, _chart(wb, charts["results"], 372, 250, title_size=11), {"x_offset": 0, "y_offset": 4})
    row += 14
    _sheet_title(ws, row, last, "五、数据来源与工作表说明", styles, "caption")
    row += 1
    files = sum(1 for u in con.counted if u.file)
    lines = [
        f"计入汇总的报告文件 {files} 份，各文件的名称、报送时间和校验值见“{STATUS}”表。",
        f"数据指纹（全部计入文件 SHA-256 的摘要）：{_fingerprint(con)[:32]}",
        "汇总表（二、主动公开 / 三、依申请公开 / 四、复议诉讼）：格式与填报模板一致。",
        f"{DETAIL}：每个单位一行、每个数一列，分组小计和合计，可筛选、可折叠。",
        f"{STATUS}：全部名单内单位的报送状态，未报送和被退回的排在最前。",
        f"{ISSUES}：各单位未解决的问题，以及汇总时发现的重复报送、内容雷同。",
        f"{TEXTS}：各单位报告的第一、五、六部分，标出雷同内容。",
    ]
    for line in lines:
        _sheet_title(ws, row, last, line, styles, "note")
        row += 1
    ws.print_area(0, 0, row, last)


# ---- 分单位明细 -------------------------------------------------------------------------------


def _level1(cell: Cell) -> str:
    t, r, c = cell.table, cell.row, cell.column
    parts = [t.section.split("、")[0]]
    if t.caption:
        parts.append(t.caption)
    path = [*r.groups, r.label] if r.label else list(c.bands)
    parts.extend(p for p in path if p)
    return " · ".join(parts)


def _write_detail(ws: RowsSheet, data: SummaryData, con: Consolidation, styles: _Styles) -> None:
    spec = data.spec
    cells = list(spec.cells.values())
    codes = tuple(spec.cells)
    first = 5  # first number column
    last = first + len(cells) - 1
    heads = ("序号", "单位", "所属分组", "行类型", "状态")
    _page(ws, data, landscape=True, fit_width=False)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 18)
    ws.set_column(3, 3, 7)
    ws.set_column(4, 4, 12)
    ws.set_column(first, last, 10)
    _sheet_title(ws, 0, 4, f"分单位明细：{data.name} {data.year} 年度各单位填报数据", styles)
    _sheet_title(
        ws,
        1,
        4,
        "未报送、被退回的单位只列状态，不计入小计和合计；县区汇总表所含单位的报告不重复计入。"
        "可按“行类型”筛选只看单位或小计；左侧分级按钮可折叠到各分组小计。",
        styles,
        "note",
    )
    ws.set_row(1, 40)
    ws.merge_range(2, 0, 2, 4, "单位", styles("header"))
    for k, head in enumerate(heads):
        ws.write_string(3, k, head, styles("header"))
    k = 0
    while k < len(cells):
        text = _level1(cells[k])
        end = k
        while end + 1 < len(cells) and _level1(cells[end + 1]) == text:
            end += 1
        if end > k:
            ws.merge_range(2, first + k, 2, first + end, text, styles("header"))
        else:
            ws.write_string(2, first + k, text, styles("header"))
        k = end + 1
    for k, cell in enumerate(cells):
        ws.write_string(3, first + k, cell.column.label, styles("header"))
    ws.set_row(2, 54)
    ws.set_row(3, 30)
    number_styles = [NUMBER_STYLE.get(cell.kind, "int") for cell in cells]
    unit_fmts = [styles(s) for s in number_styles]
    sub_fmts = [styles(s, bold=True, bg_color="#EDEDED") for s in number_styles]
    total_fmts = [styles(s, bold=True, bg_color="#D9D9D9") for s in number_styles]
    counted = {id(u) for u in con.counted}
    stand = _standings(con)
    root = con.root
    row = 4
    serial = 0

    def unit_row(unit: UnitResult, group: str, st: Standing, level: int, sums: bool) -> Row:
        name = _shown_name(unit)
        cells = [
            (None, styles("text")),  # 序号
            _as_text(name, styles, "text"),
            _as_text(group, styles, "text"),
            ("单位", styles("text")),
            (st.label, styles("text", bg_color=STATUS_FILL.get(st.key, "#FFFFFF"))),
        ]
        if sums:
            return Row(cells, numbers=(first, vector(unit.submission.values, codes), unit_fmts), level=level)  # type: ignore[union-attr]
        muted = styles("muted", border=0)
        return Row([*cells, _as_text(st.note, styles, "muted", border=0)], level=level, fmt=muted)

    def node_rows(node: Node, depth: int) -> None:
        nonlocal row, serial
        group = _group_text(node, root)
        level = min(depth + 1, 7)
        for unit in node.members:
            serial += 1
            st = stand[id(unit)]
            sums = id(unit) in counted
            # what the row shows: the unit, its place and standing, and (summed) its report's figures,
            # known by the report's ledger row (without one, the row is rendered each time)
            key = (unit.name, unit.is_rollup, group, st, level, sums, unit.file_id if sums else None)
            known = key if unit.file_id is not None or not sums else None
            ws.write_row(row, lambda: unit_row(unit, group, st, level, sums), key=known, serial=serial)  # noqa: B023
            row += 1
        for child in node.children:
            node_rows(child, depth + 1)
        if node is root:
            return
        ws.set_row(row, None, None, {"level": min(depth, 7)})
        ws.write_blank(row, 0, None, styles("subtotal"))
        _text(ws, row, 1, f"小计：{_group_text(node, root)}", styles, "subtotal")
        _text(ws, row, 2, _group_text(node, root), styles, "subtotal")
        ws.write_string(row, 3, "小计", styles("subtotal"))
        ws.write_string(row, 4, f"计入 {node.units} / 应报 {node.expected}", styles("subtotal"))
        ws.write_numbers(row, first, _sums_shown(node, codes), sub_fmts)
        row += 1

    node_rows(root, 0)
    ws.write_blank(row, 0, None, styles("total"))
    _text(ws, row, 1, f"合计：{data.name}", styles, "total")
    ws.write_blank(row, 2, None, styles("total"))
    ws.write_string(row, 3, "合计", styles("total"))
    ws.write_string(row, 4, f"计入 {root.units} / 应报 {root.expected}", styles("total"))
    ws.write_numbers(row, first, _sums_shown(root, codes), total_fmts)
    ws.autofilter(3, 0, row, last)
    ws.freeze_panes(4, 2)
    ws.repeat_rows(2, 3)
    # (each printed page says whose row it is and its 状态: a missing unit's row has no numbers)
    ws.repeat_columns(0, 4)
    ws.set_print_scale(60)
    ws.outline_settings(True, True, True, False)  # (the buttons on the 小计 rows: below their units)


# ---- 报送情况 ---------------------------------------------------------------------------------


def _list_frame(
    ws: Worksheet,
    data: SummaryData,
    styles: _Styles,
    heads: Sequence[str],
    widths: Sequence[float],
    title: str,
    note: str,
) -> int:
    """Frame of a list sheet: column widths, A4 landscape, title, note, header row (row 3); returns the last column."""
    for k, w in enumerate(widths):
        ws.set_column(k, k, w)
    _page(ws, data, landscape=True)
    last = len(heads) - 1
    _sheet_title(ws, 0, last, title, styles)
    _sheet_title(ws, 1, last, note, styles, "note")
    for k, head in enumerate(heads):
        ws.write_string(2, k, head, styles("header"))
    return last


def _list_end(ws: Worksheet, row: int, last: int, empty: str, styles: _Styles) -> None:
    """Close a list sheet whose rows end before `row`: a line saying it is empty when it is, a filter
    over its rows, the header frozen and repeated on every printed page."""
    if row == 3:
        ws.merge_range(3, 0, 3, last, empty, styles("text"))
        row += 1
    ws.autofilter(2, 0, row - 1, last)
    ws.freeze_panes(3, 2)
    ws.repeat_rows(2, 2)


def _write_status(ws: RowsSheet, data: SummaryData, con: Consolidation, styles: _Styles) -> None:
    heads = (
        "序号",
        "单位",
        "所属分组",
        "状态",
        "说明",
        "文件",
        "报送时间",
        "错误",
        "警告",
        "已说明",
        "填报人",
        "联系电话",
        "文件 SHA-256",
    )
    widths = (6, 30, 18, 12, 44, 30, 16, 6, 6, 7, 10, 15, 20)
    last = _list_frame(
        ws,
        data,
        styles,
        heads,
        widths,
        f"报送情况：{data.name} {data.year} 年度（应报 {con.root.expected} 个单位）",
        "未报送、被退回的单位排在最前；“错误”“警告”为该单位当前报告中尚未解决的问题数（警告含汇总时发现的内容雷同等），详见“问题清单”。",
    )
    stand = _standings(con)
    rows = sorted(
        ((stand[id(u)], k, u, node) for k, (u, node) in enumerate(con.placed)),
        key=lambda t: (DISPLAY_ORDER.get(t[0].key, 9), t[1]),
    )

    def status_row(shows: tuple[Any, ...]) -> Row:
        name, group, st, file, received, errors, warnings, explained, filler, phone, sha256 = shows
        cells = [
            (None, styles("text")),  # 序号
            _as_text(name, styles, "text"),
            _as_text(group, styles, "text"),
            (st.label, styles("text", bg_color=STATUS_FILL.get(st.key, "#FFFFFF"))),
            _as_text(st.note, styles, "wrap"),
            _as_text(file, styles, "text"),
            (received, styles("datetime") if received else styles("text")),
            (errors, styles("int")),
            (warnings, styles("int")),
            (explained, styles("int")),
            _as_text(filler, styles, "text"),
            _as_text(phone, styles, "text"),
            _as_text(sha256, styles, "text"),
        ]
        return Row(cells, height=_fit(wrapped_lines(st.note, widths[4])))

    # warnings the consolidation found (内容雷同, a roll-up's overlap) count with the unit's own, as 问题清单 lists them
    found = Counter(f.agency for f in (*con.similar, *con.findings) if f.severity == "warning" and not f.explained)
    row = 3
    for serial, (st, _, unit, node) in enumerate(rows, start=1):
        errors, warnings, explained = _tally(unit)
        shows = (  # everything the row shows (its key)
            unit.name,
            _group_text(node, con.root),
            st,
            unit.file,
            unit.received_at.replace(tzinfo=None) if unit.received_at else None,
            errors,
            warnings + found[unit.name],
            explained,
            _contact(unit, "filler"),
            _contact(unit, "phone"),
            unit.sha256,
        )
        ws.write_row(row, lambda: status_row(shows), key=shows, serial=serial)  # noqa: B023
        row += 1
    ws.autofilter(2, 0, max(row - 1, 2), last)
    ws.freeze_panes(3, 2)
    ws.repeat_rows(2, 2)
    ws.print_area(0, 0, max(row - 1, 2), last - 1)  # the SHA-256 column is for the screen, not for paper


# ---- 问题清单 ---------------------------------------------------------------------------------


def rule_words(rule_id: str, spec: Spec) -> str:
    """A rule as 问题清单 names it: its title, with its id to look it up by (不是数字（value-not-number）)."""
    title = rule_title(rule_id, spec)
    return f"{title}（{rule_id}）" if title != rule_id else rule_id


def _write_issues(ws: RowsSheet, data: SummaryData, con: Consolidation, styles: _Styles) -> None:
    heads = ("序号", "单位", "所属分组", "严重程度", "规则", "位置（在该单位的报告中）", "问题及处理办法", "文件")
    widths = (6, 26, 16, 9, 24, 20, 80, 26)
    last = _list_frame(
        ws,
        data,
        styles,
        heads,
        widths,
        f"问题清单：{data.name} {data.year} 年度",
        "各单位报告中尚未解决的错误和警告（已说明的警告和提示不列），以及汇总时发现的问题；按单位排列，与“报送情况”同序，"
        "可按“严重程度”筛选。“位置”指该单位报告文件中的单元格，不是本汇总表的。",
    )
    order = con.placed
    position = {u.name: k for k, (u, _) in enumerate(order)}
    group_of = {u.name: _group_text(node, con.root) for u, node in order}
    # (finding, unit, file): a unit's own findings are listed as its (f.about(…), without making them)
    files = {u.name: u.file for u, _ in order}  # (内容雷同 is of the unit's counted report)
    issues = [(f, f.agency, f.file) for f in (*data.findings, *con.findings, *con.checks)]
    issues.extend((f, f.agency, f.file or files.get(f.agency or "")) for f in con.similar)
    for unit, _ in order:
        issues.extend((f, unit.name, f.file or unit.file) for f in unit.findings if f.is_open)
    issues.sort(key=lambda i: (position.get(i[1] or "", -1), SEVERITY_ORDER.get(i[0].severity, 9), i[0].rule_id))

    def issue_row(f: Finding, agency: str | None, file: str | None, group: str) -> Row:
        fill = ISSUE_FILL.get(f.severity, ISSUE_FILL["notice"])
        cells = [
            (None, styles("text")),  # 序号
            _as_text(agency or ("（未能识别单位）" if file else "（汇总）"), styles, "text"),
            _as_text(group, styles, "text"),
            (SEVERITY_LABEL.get(f.severity, f.severity), styles("text", bg_color=fill)),
            _as_text(rule_words(f.rule_id, data.spec), styles, "text"),
            _as_text(f.location, styles, "text"),
            _as_text(f.message, styles, "wrap"),
            _as_text(file, styles, "text"),
        ]
        return Row(cells, height=_fit(wrapped_lines(f.message, widths[6])))

    row = 3
    for serial, (f, agency, file) in enumerate(issues, start=1):
        group = group_of.get(agency or "", "")
        ws.write_row(row, lambda: issue_row(f, agency, file, group), key=(f, agency, file, group), serial=serial)  # noqa: B023
        row += 1
    _list_end(ws, row, last, "没有尚未解决的问题。", styles)


# ---- 各单位文字部分 ---------------------------------------------------------------------------


def _write_texts(ws: RowsSheet, data: SummaryData, con: Consolidation, styles: _Styles) -> None:
    spec = data.spec
    texts = list(spec.texts)
    heads = ("序号", "单位", "所属分组", *(t.heading for t in texts), "内容雷同提示")
    widths = (6, 20, 14, *(90 if k == 0 else 50 if k == 1 else 32 for k in range(len(texts))), 36)
    last = _list_frame(
        ws,
        data,
        styles,
        heads,
        widths,
        f"各单位文字部分：{data.name} {data.year} 年度",
        "各单位报告的第一、五、六部分，供审阅。黄色底纹：与本单位上年或其他单位同一部分内容雷同（完全相同、除数字外相同或高度相似）。",
    )
    similar: dict[str, list[Finding]] = {}
    for f in con.similar:
        similar.setdefault(f.agency or "", []).append(f)

    def texts_row(name: str, group: str, sub: Submission, flagged: frozenset[str | None], notes: str) -> Row:
        cells = [
            (None, styles("wrap")),  # 序号
            _as_text(name, styles, "wrap"),
            _as_text(group, styles, "wrap"),
            *(_as_text(sub.texts.get(t.code), styles, "warn" if t.code in flagged else "wrap") for t in texts),
            _as_text(notes, styles, "warn" if notes else "wrap"),
        ]
        wrapped = [(sub.texts.get(t.code), widths[3 + k]) for k, t in enumerate(texts)] + [(notes, widths[last])]
        return Row(cells, height=_fit(max(wrapped_lines(text, w) for text, w in wrapped)))

    row = 3
    serial = 0
    for unit, node in con.placed:
        sub = unit.submission
        if sub is None or unit.status not in COUNTED or unit.name in con.excluded:
            continue
        serial += 1
        flagged = frozenset(f.code for f in similar.get(unit.name, []))
        notes = "\n".join(f.message for f in similar.get(unit.name, []))
        group = _group_text(node, con.root)
        name = _shown_name(unit)  # (a county's roll-up: the county's own report, 一、五、六 of its whole area)
        # the texts are those of the report's ledger row (without one, the row is rendered each time)
        key = (name, group, unit.file_id, flagged, notes) if unit.file_id is not None else None
        ws.write_row(row, lambda: texts_row(name, group, sub, flagged, notes), key=key, serial=serial)  # noqa: B023
        row += 1
    _list_end(ws, row, last, "没有计入汇总的单位报告。", styles)


# ---- 图表 -------------------------------------------------------------------------------------


def _short(label: str) -> str:
    """（二）部分公开（区分处理的，只计这一情形，不计其他情形） → （二）部分公开."""
    if label.startswith("（") and "）" in label:
        close = label.index("）") + 1
        return label[:close] + label[close:].split("（")[0]
    return label.split("（")[0] or label


def _result_groups(spec: Spec, values: dict[str, Number]) -> list[tuple[str, Number]]:
    """The rows of 三's result total, grouped as the official table groups them: （一）…（六）."""
    s3 = spec.table("s3")
    total_col = next(c for c in s3.columns if c.sum_of)
    total_row = next(r for r in s3.rows if r.sum_of)
    groups: dict[str, Number] = {}
    for code in total_row.sum_of:
        r = s3.row(code)
        key = r.groups[1] if len(r.groups) > 1 else _short(r.label)
        groups[key] = groups.get(key, 0) + values.get(f"s3.{r.code}.{total_col.code}", 0)
    return list(groups.items())


@dataclass(frozen=True)
class ChartData:
    """One chart's data block on the 图表 sheet."""

    title: str
    kind: str  # column | bar | pie
    first: int  # first data row (0-based) on the 图表 sheet; labels in column A, values in column B
    last: int
    colors: tuple[str, ...] = ()  # per point (pie)


_FONT = {"name": "宋体", "size": 10}


def _chart(wb: Workbook, block: ChartData, width: int, height: int, *, title_size: int = 12) -> Any:
    """A native chart over a data block of the 图表 sheet (never a picture)."""
    chart = wb.add_chart({"type": block.kind})
    series: dict[str, Any] = {
        "name": block.title,
        "categories": [CHARTS, block.first, 0, block.last, 0],
        "values": [CHARTS, block.first, 1, block.last, 1],
        "data_labels": {"value": True, "font": _FONT},
    }
    if block.kind == "pie":
        series["points"] = [{"fill": {"color": c}, "border": {"color": "#FFFFFF"}} for c in block.colors]
        series["data_labels"] = {"value": True, "leader_lines": True, "position": "best_fit", "font": _FONT}
    else:
        series["fill"] = {"color": "#4472C4"}
        series["gap"] = 60
    chart.add_series(series)
    chart.set_title({"name": block.title, "name_font": {**_FONT, "size": title_size, "bold": True}})
    chart.set_legend({"position": "right", "font": _FONT} if block.kind == "pie" else {"none": True})
    grid = {"visible": True, "line": {"color": "#D9D9D9"}}
    if block.kind == "bar":
        chart.set_y_axis({"reverse": True, "num_font": _FONT})
        chart.set_x_axis({"num_font": _FONT, "major_gridlines": grid})
    elif block.kind == "column":
        chart.set_x_axis({"num_font": _FONT})
        chart.set_y_axis({"num_font": _FONT, "major_gridlines": grid})
    chart.set_size({"width": width, "height": height})
    return chart


def _write_charts(
    wb: Workbook, ws: Worksheet, data: SummaryData, con: Consolidation, styles: _Styles
) -> dict[str, ChartData]:
    """The 图表 sheet: four data blocks, each with its chart; returns the blocks by key."""
    spec = data.spec
    values = con.root.values
    _page(ws, data, landscape=True)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 3)
    _sheet_title(ws, 0, 10, f"图表：{data.name} {data.year} 年度", styles)
    s3 = spec.table("s3")
    new = f"s3.r1.{next(c for c in s3.columns if c.sum_of).code}"
    applicants = [(c.label, values.get(f"s3.r1.{c.code}", 0)) for c in s3.columns if not c.sum_of]
    # (units only: a county's roll-up is the sum of many, not one to rank beside them)
    units = [u for u in con.counted if not u.is_rollup]
    ranked = sorted(units, key=lambda u: -u.submission.values.get(new, 0))[:TOP_UNITS]  # type: ignore[union-attr]
    top = [(u.name, u.submission.values.get(new, 0)) for u in ranked]  # type: ignore[union-attr]
    status_counts: dict[str, int] = {}
    stand = _standings(con)
    for u, _ in con.placed:
        if not u.is_rollup:
            key = stand[id(u)].key
            status_counts[key] = status_counts.get(key, 0) + 1
    keys = sorted(status_counts, key=lambda k: DISPLAY_ORDER[k])
    blocks = [
        ("applicants", "按申请人类型分：本年新收申请（件）", "申请人类型", applicants, "column", ()),
        ("results", "本年度办理结果（件）", "办理结果", _result_groups(spec, values), "bar", ()),
        (
            "top",
            f"本年新收申请最多的 {len(top)} 个单位（件{_TOP_NOTE if len(units) < len(con.counted) else ''}）",
            "单位",
            top,
            "bar",
            (),
        ),
        (
            "status",
            "报送情况（个单位）",
            "状态",
            [(DISPLAY_LABEL[k], status_counts[k]) for k in keys],
            "pie",
            tuple(CHART_COLOR[k] for k in keys),
        ),
    ]
    out: dict[str, ChartData] = {}
    row = 2
    breaks: list[int] = []
    for key, title, head, items, kind, colors in blocks:
        ws.merge_range(row, 0, row, 1, title, styles("caption"))
        ws.write_string(row + 1, 0, head, styles("header"))
        ws.write_string(row + 1, 1, "数量", styles("header"))
        first = row + 2
        for k, (label, value) in enumerate(items):
            _text(ws, first + k, 0, label, styles, "text")
            ws.write_number(first + k, 1, _num(value), styles("int"))
        if not items:
            ws.write_string(first, 0, "（无）", styles("muted"))
        block = out[key] = ChartData(title, kind, first, first + max(len(items), 1) - 1, colors)
        ws.insert_chart(row, 3, _chart(wb, block, 640, 300), {"x_offset": 10, "y_offset": 5})
        row = max(block.last + 2, row + 17)
        breaks.append(row)
    ws.set_h_pagebreaks(breaks[1:-1:2])  # two charts to a page
    return out


# ---- metadata ----------------------------------------------------------------------------------


def _write_meta(wb: Workbook, data: SummaryData, con: Consolidation) -> None:
    """The template's hidden metadata, saying what this workbook is: a summary (kind "summary") of
    data.name, counting con.root.units units. It is not a report: a reader that finds it in an inbox
    can tell the sender to submit the roll-up report (write_rollup_report) instead."""
    lay = layout(data.spec)
    ws = wb.add_worksheet(data.spec.sheet_names[META])
    meta = {
        "product": "nianbao",
        "edition": data.spec.edition,
        "year": str(data.year),
        "template_version": data.spec.template_version,
        "generator_version": data.tool_version,
        "agency": data.name,
        "kind": "summary",
        "units": str(con.root.units),
        "covers": "",
    }
    for key in META_KEYS:
        place = lay.places[meta_code(key)]
        ws.write_string(place.row, 0, key)
        ws.write_string(place.row, place.col, meta[key])
    ws.very_hidden()


# ---- a filled report of the sums ----------------------------------------------------------------


def write_rollup_report(
    path: Path | str,
    spec: Spec,
    year: int,
    agency: str,
    node: Node,
    *,
    texts: dict[str, str] | None = None,
    created: dt.datetime | None = None,
    covers: tuple[str, ...] | None = None,
) -> Path:
    """The report template of `spec`, every number filled with the node's sums, marked as a roll-up
    of node.units units (`covers`: their names, which the city reads to know which of its roster's
    units the roll-up stands for): the county submits it upward (after writing its texts), the city
    publishes its own tables from it. Written atomically."""
    values = {code: node.values.get(code, 0) for code, cell in spec.cells.items() if not cell.is_total}
    fill = Filling(
        values=values, texts=dict(texts or {}), year=year, agency=agency, kind="rollup", units=node.units, covers=covers
    )
    return write_workbook(path, spec, fill, created=created)
