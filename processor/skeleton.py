"""A form workbook rendered once per edition by xlsxwriter, then filled per file by patching its XML parts.

xlsxwriter stays the single writer of the layout: the skeleton is `template.render_workbook` with an
empty filling, every style a filled or marked cell can take registered, and a front sheet drawn from
empty content. Per file only the slots change: the input, total and _meta cells, the page headers,
the front sheet's rows, merged ranges and links, the new shared strings, the document subject and
date, and the comments (their parts drawn by xlsxwriter's own comment and VML writers).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

from xlsxwriter.comments import Comments
from xlsxwriter.vml import Vml
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from .atomic import atomic_path
from .layout import Layout, Place, a1, layout, meta_code
from .package import Entry, Part, new_entry, zip_bytes
from .spec import Spec
from .template import (
    COMMENT_OPTIONS,
    FIXED_CREATED,
    Filling,
    Mark,
    cached_total,
    doc_subject,
    input_cells,
    is_formula_like,
    meta_values,
    page_header,
    render_workbook,
    style_variants,
    total_key,
)

_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"[^>]*?(?:/>|>.*?</c>)')
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_STRING_MAX = 32767  # UTF-16 units in a cell
_HEADER_MAX = 255  # UTF-16 units in a page header
_SST = "xl/sharedStrings.xml"
_CORE = "docProps/core.xml"
_TYPES = "[Content_Types].xml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"


class Unsupported(Exception):
    """A value the skeleton does not write the way xlsxwriter would: render the whole workbook instead."""


@dataclass(frozen=True)
class SheetCell:
    """One written cell of a front sheet; `link` is an internal target such as 'sheet'!A1."""

    row: int
    col: int
    value: str | int
    style: str
    link: str | None = None
    tip: str | None = None


@dataclass
class SheetContent:
    """A front sheet's content: cells, merged ranges (with the style of their cells), row heights, frozen rows."""

    cells: list[SheetCell] = field(default_factory=list)
    merges: list[tuple[int, int, int, int, str]] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)
    freeze: int = 0


_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")  # text that reads like an escape is escaped itself
# a character anything xml_text changes starts with (one class, scanned ~4× faster than the three
# alternatives; a text with a "_" that starts no _xHHHH_ only takes the longer way to the same result)
_TO_ESCAPE = re.compile(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text as xlsxwriter writes it into an element: XML-escaped, control characters as _xHHHH_."""
    if not _TO_ESCAPE.search(text):  # most text (a province's summary escapes ~500,000 strings)
        return text
    text = _ESCAPED.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(text: str) -> str:
    """Text escaped for an XML attribute value in double quotes."""
    return (
        text.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "&#xA;")
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _style(xf: int) -> str:
    return f' s="{xf}"' if xf else ""


class _Strings:
    """The shared strings of one file: the skeleton's, then the file's own appended."""

    def __init__(self, known: Mapping[str, int]) -> None:
        self.known = known
        self.new: dict[str, int] = {}
        self.refs = 0

    def index(self, text: str) -> int:
        if len(text) > _STRING_MAX // 2 and _utf16_len(text) > _STRING_MAX:
            raise Unsupported("string longer than a cell holds")
        self.refs += 1
        found = self.known.get(text)
        if found is None:
            found = self.new.setdefault(text, len(self.known) + len(self.new))
        return found

    def items(self) -> str:
        out = []
        for text in self.new:
            escaped = xml_text(text)
            space = ' xml:space="preserve"' if re.search(r"^\s|\s$", escaped) else ""
            out.append(f"<si><t{space}>{escaped}</t></si>")
        return "".join(out)


def _span(text: str, pattern: str) -> tuple[int, int]:
    found = re.search(pattern, text)
    if not found:
        raise ValueError(f"skeleton: {pattern!r} not found")
    return found.span()


def _merged(place: Place) -> Iterator[tuple[int, int]]:
    for row in range(place.row, (place.last_row if place.last_row is not None else place.row) + 1):
        for col in range(place.col, (place.last_col if place.last_col is not None else place.col) + 1):
            yield row, col


def _form_slots(name: str, text: str, refs: set[str]) -> dict[Any, tuple[int, int]]:
    """A form sheet's slots: its input, total and _meta cells by reference, its page header and the
    place of a comments drawing."""
    spans: dict[Any, tuple[int, int]] = {m[1]: m.span() for m in _CELL.finditer(text) if m[1] in refs}
    if set(spans) != refs:
        raise ValueError(f"skeleton: cells {sorted(refs - set(spans))} not found in {name}")
    spans["header"] = _span(text, r"<oddHeader>.*?</oddHeader>")
    end = text.rindex("</worksheet>")
    if re.search(r"<(legacyDrawingHF|picture|oleObjects|controls|webPublishItems|tableParts|extLst)\b", text):
        raise ValueError(f"skeleton: {name} has elements that must follow a comments drawing")
    spans["legacy"] = (end, end)
    return spans


def _front_slots(text: str) -> dict[Any, tuple[int, int]]:
    """The front sheet's slots: its dimension, rows, and merged ranges with the links after them."""
    return {
        "dimension": _span(text, r'<dimension ref="[^"]*"/>'),
        "data": _span(text, r"<sheetData>.*</sheetData>"),
        "merges": (text.index("<mergeCells"), text.index("<pageMargins")),
    }


def _package_slots(texts: Mapping[str, str]) -> dict[str, dict[Any, tuple[int, int]]]:
    """Slots of the shared strings (counts, new strings), document properties and content types."""
    strings, core, types = texts[_SST], texts[_CORE], texts[_TYPES]
    return {
        _SST: {"head": _span(strings, r"<sst [^>]*>"), "tail": (strings.rindex("</sst>"),) * 2},
        _CORE: {
            "subject": _span(core, r"<dc:subject>.*?</dc:subject>"),
            "created": _span(core, r"<dcterms:created [^>]*>[^<]*</dcterms:created>"),
            "modified": _span(core, r"<dcterms:modified [^>]*>[^<]*</dcterms:modified>"),
        },
        _TYPES: {"tail": (types.rindex("</Types>"),) * 2},
    }


@dataclass
class Skeleton:
    """An edition's feedback workbook rendered once, its parts split at the slots a file fills."""

    lay: Layout
    parts: dict[str, Part]  # in zip order
    sheet_parts: dict[str, str]  # sheet name → part name, in workbook order (the front sheet first)
    front: str  # the front sheet's part
    styles: dict[tuple[str, str, str | None, bool], int]  # style_variants keys → style id
    front_styles: dict[str, int]
    strings: dict[str, int]
    string_refs: int  # string cells outside the slots
    cells: dict[str, tuple[str, str, tuple[str, ...]]]  # code → part, cell, the rest of its merged range
    formulas: dict[str, str]  # total code → its <f> element

    @classmethod
    def build(cls, spec: Spec, front: Callable[[Workbook, Layout, dict[str, Any]], dict[str, Any]]) -> Skeleton:
        """Render the edition's workbook with an empty filling; `front` adds the front sheet (drawn from
        empty content) and returns its formats by style name."""
        lay = layout(spec)
        ids: dict[str, Any] = {}

        def extra(wb: Workbook, lay: Layout, formats: dict[str, Any]) -> None:
            front_formats = front(wb, lay, formats)
            # An id is given at first use; unused variants get theirs here so that styles.xml has them all.
            ids["form"] = {key: fmt._get_xf_index() for key, fmt in style_variants(formats).items()}
            ids["front"] = {key: fmt._get_xf_index() for key, fmt in front_formats.items()}

        buf = BytesIO()
        wb = render_workbook(buf, spec, Filling(), extra=extra, created=FIXED_CREATED)
        with zipfile.ZipFile(buf) as z:
            texts = {name: z.read(name).decode() for name in z.namelist()}
        sheet_parts = {ws.name: f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(wb.worksheets(), start=1)}
        front_part, *form_parts = sheet_parts.values()
        refs: dict[str, set[str]] = {name: set() for name in form_parts}
        for place in lay.places.values():
            refs[sheet_parts[place.sheet]].update(a1(r, c) for r, c in _merged(place))
        slots = {name: _form_slots(name, texts[name], refs[name]) for name in form_parts}
        slots[front_part] = _front_slots(texts[front_part])
        slots |= _package_slots(texts)
        parts = {name: Part(name, text, slots.get(name)) for name, text in texts.items()}
        replaced = sum(slot.default.count('t="s"') for name in sheet_parts.values() for slot in parts[name].slots)
        cells = {
            code: (sheet_parts[place.sheet], place.a1, tuple(a1(r, c) for r, c in _merged(place))[1:])
            for code, place in lay.places.items()
        }
        formulas = {}
        for code, cell in spec.cells.items():
            if cell.is_total:
                name, ref, _ = cells[code]
                default = next(s.default for s in parts[name].slots if s.key == ref)
                formulas[code] = _span_text(default, r"<f>.*?</f>")
        return cls(
            lay=lay,
            parts=parts,
            sheet_parts=sheet_parts,
            front=front_part,
            styles=ids["form"],
            front_styles=ids["front"],
            strings={text: i for i, text in enumerate(wb.str_table.string_array)},
            string_refs=wb.str_table.count - replaced,
            cells=cells,
            formulas=formulas,
        )

    def write(
        self, path: Path, fill: Filling, marks: Mapping[str, Mark], front: SheetContent, *, durable: bool = True
    ) -> Path:
        """Write the workbook filled with `fill`, `marks` highlighted and commented, `front` in front, atomically
        (durable: see atomic.atomic_path)."""
        strings = _Strings(self.strings)
        values: dict[str, dict[Any, str]] = {name: {} for name in self.parts}
        self._form(values, fill, marks, strings)
        values[self.front] = self._front(front, strings)
        entries = self._comments(values, marks)
        values[_SST] = {
            "head": self.parts[_SST].slots[0].default.split(" count=")[0]
            + f' count="{self.string_refs + strings.refs}" uniqueCount="{len(self.strings) + len(strings.new)}">',
            "tail": strings.items(),
        }
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        values[_CORE] = {
            "subject": f"<dc:subject>{xml_text(doc_subject(fill))}</dc:subject>",
            "created": f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>',
            "modified": f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>',
        }
        data = zip_bytes([part.fill(values[name]) for name, part in self.parts.items()] + entries)
        with atomic_path(path, durable=durable) as tmp:
            tmp.write_bytes(data)
        return Path(path)

    def _form(
        self, values: dict[str, dict[Any, str]], fill: Filling, marks: Mapping[str, Mark], strings: _Strings
    ) -> None:
        lay, styles = self.lay, self.styles
        for code, (kind, value) in input_cells(lay.spec, fill).items():
            name, ref, others = self.cells[code]
            mark = marks.get(code)
            severity = mark.severity if mark else None
            out = values[name]
            style = _style(styles["input", kind, severity, False])
            for other in others:
                out[other] = f'<c r="{other}"{style}/>'
            if value is None or value == "":
                out[ref] = f'<c r="{ref}"{style}/>'
            elif isinstance(value, str):
                quoted = _style(styles["input", kind, severity, is_formula_like(value)])
                out[ref] = f'<c r="{ref}"{quoted} t="s"><v>{strings.index(value)}</v></c>'
            elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                number = float(value) if isinstance(value, Decimal) else value
                if not math.isfinite(number):
                    raise Unsupported("not a finite number")
                out[ref] = f'<c r="{ref}"{style}><v>{number:.16G}</v></c>'
            else:
                raise Unsupported(f"value of type {type(value).__name__}")
        for code, formula in self.formulas.items():
            name, ref, _ = self.cells[code]
            mark = marks.get(code)
            style = _style(
                styles["total", total_key(lay.spec.cells[code].kind), mark.severity if mark else None, False]
            )
            values[name][ref] = f'<c r="{ref}"{style}>{formula}<v>{cached_total(lay, code, fill.values)}</v></c>'
        for key, value in meta_values(lay.spec, fill).items():
            name, ref, _ = self.cells[meta_code(key)]
            values[name][ref] = f'<c r="{ref}" t="s"><v>{strings.index(value)}</v></c>'
        header = page_header(fill.agency)
        if "&[Picture]" in header or _utf16_len(header) > _HEADER_MAX:
            raise Unsupported("page header xlsxwriter would change or drop")
        for name in list(self.sheet_parts.values())[1:]:
            values[name]["header"] = f"<oddHeader>{xml_text(header)}</oddHeader>"

    def _front(self, sheet: SheetContent, strings: _Strings) -> dict[str, str]:
        """The front sheet's dimension, rows, merged ranges and links, as xlsxwriter writes them."""
        grid: dict[int, dict[int, str]] = {}
        for first_row, first_col, last_row, last_col, style in sheet.merges:
            for row in range(first_row, last_row + 1):
                for col in range(first_col, last_col + 1):
                    grid.setdefault(row, {})[col] = f'<c r="{a1(row, col)}"{_style(self.front_styles[style])}/>'
        links = {}
        for c in sheet.cells:
            ref, style = a1(c.row, c.col), _style(self.front_styles[c.style])
            if isinstance(c.value, str):
                grid.setdefault(c.row, {})[c.col] = f'<c r="{ref}"{style} t="s"><v>{strings.index(c.value)}</v></c>'
            else:
                grid.setdefault(c.row, {})[c.col] = f'<c r="{ref}"{style}><v>{c.value:.16G}</v></c>'
            if c.link:
                tip = f' tooltip="{xml_attr(c.tip)}"' if c.tip else ""
                display = xml_attr(str(c.value))
                links[c.row, c.col] = f'<hyperlink ref="{ref}" location="{xml_attr(c.link)}"{tip} display="{display}"/>'
        spans: dict[int, tuple[int, int]] = {}  # xlsxwriter's: the columns used in each block of 16 rows
        for row, cols in grid.items():
            first, last = spans.get(row // 16, (min(cols), max(cols)))
            spans[row // 16] = (min(first, *cols), max(last, *cols))
        rows = []
        for row in sorted(grid):
            first, last = spans[row // 16]
            height = f' ht="{sheet.heights[row]:.16g}" customHeight="1"' if row in sheet.heights else ""
            cells = "".join(grid[row][col] for col in sorted(grid[row]))
            rows.append(f'<row r="{row + 1}" spans="{first + 1}:{last + 1}"{height}>{cells}</row>')
        left, right = min(first for first, _ in spans.values()), max(last for _, last in spans.values())
        merges = "".join(f'<mergeCell ref="{a1(r0, c0)}:{a1(r1, c1)}"/>' for r0, c0, r1, c1, _ in sheet.merges)
        return {
            "dimension": f'<dimension ref="{a1(min(grid), left)}:{a1(max(grid), right)}"/>',
            "data": f"<sheetData>{''.join(rows)}</sheetData>",
            "merges": (f'<mergeCells count="{len(sheet.merges)}">{merges}</mergeCells>' if sheet.merges else "")
            + (f"<hyperlinks>{''.join(links[key] for key in sorted(links))}</hyperlinks>" if links else ""),
        }

    def _comments(self, values: dict[str, dict[Any, str]], marks: Mapping[str, Mark]) -> list[Entry]:
        """Comment and VML parts of the marked cells, numbered as xlsxwriter numbers them."""
        by_sheet: dict[str, list[tuple[int, int, str]]] = {}
        for code, mark in marks.items():
            place = self.lay.places[code]
            by_sheet.setdefault(place.sheet, []).append((place.row, place.col, mark.comment))
        plans = {plan.name: plan for plan in self.lay.sheets}
        entries: list[Entry] = []
        types: list[str] = []
        data_id, shape_id, n = 1, 1024, 0
        for sheet, part in self.sheet_parts.items():
            if sheet not in by_sheet:
                continue
            n += 1
            ws = Worksheet()  # the sheet's geometry places each comment box
            for col, width in plans[sheet].widths.items():
                ws.set_column(col, col, width)
            for row, height in plans[sheet].heights.items():
                ws.set_row(row, height)
            for row, col, text in by_sheet[sheet]:
                ws.write_comment(row, col, text, COMMENT_OPTIONS)
            count = ws._prepare_vml_objects(data_id, shape_id, n, n)
            data_id, shape_id = data_id + (1024 + count) // 1024, shape_id + 1024 * ((1024 + count) // 1024)
            vml, comments = Vml(), Comments()
            vml._set_filehandle(vml_text := StringIO())
            vml._assemble_xml_file(ws.vml_data_id, ws.vml_shape_id, ws.comments_list, ws.buttons_list)
            comments._set_filehandle(comments_text := StringIO())
            comments._assemble_xml_file(ws.comments_list)
            rels = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{_REL}/vmlDrawing" Target="../drawings/vmlDrawing{n}.vml"/>'
                f'<Relationship Id="rId2" Type="{_REL}/comments" Target="../comments{n}.xml"/></Relationships>'
            )
            folder, file = part.rsplit("/", 1)
            entries += [
                new_entry(f"xl/drawings/vmlDrawing{n}.vml", vml_text.getvalue()),
                new_entry(f"xl/comments{n}.xml", comments_text.getvalue()),
                new_entry(f"{folder}/_rels/{file}.rels", rels),
            ]
            values[part]["legacy"] = '<legacyDrawing r:id="rId1"/>'
            types.append(f'<Override PartName="/xl/comments{n}.xml" ContentType="{_COMMENTS_TYPE}"/>')
        if types:
            values[_TYPES]["tail"] = f'<Default Extension="vml" ContentType="{_VML_TYPE}"/>' + "".join(types)
        return entries


def _span_text(text: str, pattern: str) -> str:
    start, end = _span(text, pattern)
    return text[start:end]
