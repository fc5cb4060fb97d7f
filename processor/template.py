"""Write the fill-in workbook of an edition (xlsxwriter) from its spec and layout.

The same writer produces the blank template, a prefilled template, the feedback workbook (the
agency's values plus highlighted cells) and a filled report of consolidated figures: all of them
are the template with a `Filling` and optional `marks`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from . import __version__
from .atomic import atomic_path
from .layout import (
    INFO,
    META,
    NOTE_FIELDS,
    TABLES,
    Layout,
    Place,
    SheetPlan,
    a1,
    defined_name,
    layout,
    meta_code,
    note_code,
)
from .spec import Spec

FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_COUNT = 999_999_999
SEVERITY_FILL = {"error": "#FFC7CE", "warning": "#FFEB9C", "notice": "#DDEBF7", "explained": "#E2EFDA"}
FIXED_CREATED = dt.datetime(2019, 1, 1)  # templates are reproducible byte for byte


MAX_HEIGHT = 409  # Excel's tallest row, in points


def wrapped_lines(text: str | None, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide (a Chinese character is ~1.8)."""
    if not text:
        return 1
    per_line = max(width / 1.8, 1)
    return sum(max(1, -(-len(part) // int(per_line))) for part in text.split("\n"))


def row_height(lines: int, line_height: float) -> float:
    """Points for a row of `lines` wrapped lines (LibreOffice does not grow the rows of an .xlsx itself),
    a whole number of pixels (0.75 pt), as xlsxwriter stores a height, at most Excel's tallest row."""
    pixels = min(math.ceil((lines * line_height + 3) / 0.75), int(MAX_HEIGHT / 0.75))
    return pixels * 0.75


def _shared_strings_as_text() -> None:
    """Make xlsxwriter write every shared string as text.

    xlsxwriter writes a shared string that starts with "<r>" and ends with "</r>" as raw rich-text
    XML (that is how its write_rich_string stores them). nianbao never writes rich strings, and a
    user's text of that shape (a unit name, a report text) would become markup in sharedStrings.xml
    and shift every later string of the workbook. Applied once, on import; process-local.
    """
    from xlsxwriter import sharedstrings

    cls = sharedstrings.SharedStrings
    preserve = getattr(sharedstrings, "_preserve_whitespace", None)
    if preserve is None or not hasattr(cls, "_write_si") or getattr(cls, "_nianbao_text_only", False):
        return  # another xlsxwriter: tests/test_summary.py's rich-string test says so

    def _write_si(self: Any, string: str) -> None:
        string = self._escape_control_characters(string)
        self._xml_si_element(string, [("xml:space", "preserve")] if preserve(string) else [])

    cls._write_si = _write_si
    cls._nianbao_text_only = True


_shared_strings_as_text()


@dataclass
class Filling:
    """Content to put into a workbook's input cells, keyed by cell code."""

    values: dict[str, int | Decimal | float | None] = field(default_factory=dict)  # numbers
    texts: dict[str, str] = field(default_factory=dict)  # info.*, text.*, note.* cells
    year: int | None = None
    agency: str | None = None
    kind: str = "report"  # report | rollup
    units: int | None = None  # units covered by a roll-up
    covers: tuple[str, ...] | None = None  # … their names (None: not said)


@dataclass(frozen=True)
class Mark:
    """A highlight and a comment on one cell (feedback workbooks)."""

    severity: str
    comment: str


def _formats(wb: Workbook) -> dict[str, Any]:
    base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
    border = {"border": 1, "border_color": "#808080"}

    def fmt(**kw: Any) -> Any:
        return wb.add_format({**base, **kw})

    return {
        "title": fmt(bold=True, font_size=15, align="center"),
        "caption": fmt(bold=True, align="left", bg_color="#EDEDED", **border),
        "header": fmt(bold=True, align="center", text_wrap=True, bg_color="#D9E1F2", **border),
        "corner": fmt(font_size=9, align="center", text_wrap=True, bg_color="#D9E1F2", **border),
        "rowlabel": fmt(align="left", text_wrap=True, bg_color="#F2F2F2", **border),
        "guidance": fmt(font_color="#595959", text_wrap=True, valign="top"),
        "hint": fmt(font_color="#808080", font_size=9, text_wrap=True),
        "check": fmt(font_color="#404040", font_size=9, text_wrap=True),
        "check_value": fmt(font_size=10, align="center", num_format="0;-0;0", bg_color="#F2F2F2", **border),
        "status": fmt(bold=True, font_size=10, align="left", bg_color="#F2F2F2", **border),
        "total": fmt(bold=True, align="right", num_format="#,##0", bg_color="#E7E6E6", **border),
        "total_amount": fmt(bold=True, align="right", num_format="#,##0.0000", bg_color="#E7E6E6", **border),
        "input": {
            "count": {"num_format": "0", "align": "right"},
            "amount": {"num_format": "0.0000", "align": "right"},
            "change": {"num_format": "+0;-0;0", "align": "right"},
            "text": {"num_format": "@", "align": "left", "text_wrap": True},
            "year": {"num_format": "0", "align": "left"},
            "credit_code": {"num_format": "@", "align": "left"},
            "date": {"num_format": "yyyy-mm-dd", "align": "left"},
            "longtext": {"num_format": "@", "align": "left", "valign": "top", "text_wrap": True},
        },
        "_make": lambda props: wb.add_format({**base, **border, "locked": False, **props}),
        "_cache": {},
    }


def _input_format(formats: dict[str, Any], kind: str, severity: str | None, quoted: bool = False) -> Any:
    """An input cell's format: white and unlocked, or a mark's highlight; `quoted` adds Excel's quote
    prefix, which shows text that starts like a formula as text."""
    key = (kind, severity, quoted)
    cache = formats["_cache"]
    if key not in cache:
        props = dict(formats["input"][kind])
        if severity:
            props["bg_color"] = SEVERITY_FILL.get(severity, "#FFFFFF")
            props["border_color"] = "#C00000" if severity == "error" else "#808080"
            props["border"] = 2 if severity == "error" else 1
        if quoted:
            props["quote_prefix"] = True
        cache[key] = formats["_make"](props)
    return cache[key]


def _total_format(formats: dict[str, Any], key: str, severity: str | None) -> Any:
    """A total cell's format (locked, bold), with a mark's highlight in feedback workbooks."""
    if not severity:
        return formats[key]
    cache = formats["_cache"]
    cache_key = ("total", key, severity)
    if cache_key not in cache:
        props = {
            "bold": True,
            "align": "right",
            "num_format": "#,##0.0000" if key == "total_amount" else "#,##0",
            "bg_color": SEVERITY_FILL.get(severity, "#E7E6E6"),
            "border_color": "#C00000" if severity == "error" else "#808080",
            "border": 2 if severity == "error" else 1,
            "locked": True,
        }
        cache[cache_key] = formats["_make"](props)
    return cache[cache_key]


def style_variants(formats: dict[str, Any]) -> dict[tuple[str, str, str | None, bool], Any]:
    """Every format a filled or marked form cell can take: ("input", kind, severity, quoted) and
    ("total", key, severity, False) → format. A pre-rendered workbook registers them all."""
    out = {}
    for severity in (None, *SEVERITY_FILL):
        for kind in formats["input"]:
            for quoted in (False, True):
                out["input", kind, severity, quoted] = _input_format(formats, kind, severity, quoted)
        for key in ("total", "total_amount"):
            out["total", key, severity, False] = _total_format(formats, key, severity)
    return out


def is_formula_like(value: object) -> bool:
    """Text that an office suite would take for a formula: written with a quote prefix to stay text."""
    return isinstance(value, str) and value.startswith(FORMULA_LEADERS)


def sum_formula(places: list[Place]) -> str:
    """SUM over cells of one sheet; a contiguous run in one row or one column becomes a range."""
    cells = sorted({(p.row, p.col) for p in places})
    rows, cols = {r for r, _ in cells}, {c for _, c in cells}
    (r0, c0), (r1, c1) = cells[0], cells[-1]
    if (len(rows) == 1 and c1 - c0 + 1 == len(cells)) or (len(cols) == 1 and r1 - r0 + 1 == len(cells)):
        return f"SUM({a1(r0, c0)}:{a1(r1, c1)})"
    return "SUM(" + ",".join(a1(r, c) for r, c in cells) + ")"


def _total_formula(lay: Layout, code: str) -> str:
    cell = lay.spec.cells[code]
    return "=" + sum_formula([lay.places[p] for p in cell.parts])


def _validation(spec: Spec, kind: str, ref: str) -> dict[str, Any] | None:
    """In-cell validation of an input of `kind` at `ref`: the check follows from the kind, the words from the spec."""
    if kind == "count":
        check: dict[str, Any] = {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": MAX_COUNT}
    elif kind == "amount":  # ≥ 0 with at most 4 decimals (万元)
        check = {"validate": "custom", "value": f"=AND(ISNUMBER({ref}),{ref}>=0,ROUND({ref},4)={ref})"}
    elif kind == "change":
        check = {"validate": "integer", "criteria": "between", "minimum": -MAX_COUNT, "maximum": MAX_COUNT}
    elif kind == "year":
        check = {"validate": "integer", "criteria": "between", "minimum": 2019, "maximum": 2099}
    elif kind == "credit_code":  # a warning only: a clerk may still keep an odd code
        check = {"validate": "length", "criteria": "==", "value": 18, "error_type": "warning"}
    else:
        return None
    words = spec.input_help.get(kind)
    if words is not None:
        check |= {
            "input_title": words.title,
            "input_message": words.prompt,
            "error_title": words.error_title,
            "error_message": words.error,
        }
    return check


COMMENT_OPTIONS = {"x_scale": 3, "y_scale": 2.2, "font_name": "宋体"}  # a mark's comment box


def _write_input(
    ws: Worksheet, formats: dict[str, Any], place: Place, kind: str, value: Any, mark: Mark | None
) -> None:
    severity = mark.severity if mark else None
    fmt = _input_format(formats, kind, severity)
    if place.last_row is not None and (place.last_row, place.last_col) != (place.row, place.col):
        ws.merge_range(place.row, place.col, place.last_row, place.last_col, "", fmt)
    if value is None or value == "":
        ws.write_blank(place.row, place.col, None, fmt)
    elif isinstance(value, str):
        ws.write_string(place.row, place.col, value, _input_format(formats, kind, severity, is_formula_like(value)))
    elif isinstance(value, (dt.date, dt.datetime)):
        ws.write_datetime(place.row, place.col, value, fmt)
    else:
        ws.write_number(place.row, place.col, float(value) if isinstance(value, Decimal) else value, fmt)
    if mark:
        ws.write_comment(place.row, place.col, mark.comment, COMMENT_OPTIONS)


def cached_total(lay: Layout, code: str, values: Mapping[str, Any]) -> float:
    """The value a total formula shows, so a reader that never recalculates sees the right number.

    Text in a part (a refused value written back into a feedback workbook) counts as 0, as SUM does.
    """
    cells = lay.spec.cells
    total = 0.0
    for part in cells[code].parts:
        v = cached_total(lay, part, values) if cells[part].is_total else values.get(part)
        total += float(v) if isinstance(v, (int, float, Decimal)) else 0.0
    return round(total, 4)


def write_workbook(
    path: Path | str,
    spec: Spec,
    fill: Filling | None = None,
    *,
    marks: Mapping[str, Mark] | None = None,
    contact: str | None = None,
    extra: Callable[[Workbook, Layout, dict[str, Any]], Any] | None = None,
    reproducible: bool = False,
    created: dt.datetime | None = None,
    durable: bool = True,
) -> Path:
    """Write the edition's workbook to `path` atomically (durable: see atomic.atomic_path); returns the path.

    `fill` puts values into input cells; `marks` highlights cells (by code) and attaches comments;
    `extra` may add sheets (it runs after the form's sheets are written).
    """
    path = Path(path)
    with atomic_path(path, durable=durable) as tmp:
        # in_memory: parts are assembled in memory instead of one temporary file each (~2× faster for
        # a workbook this size). Only the zip entries' timestamps differ, so the committed blank
        # templates (reproducible) keep the file mode and stay the same bytes.
        render_workbook(
            str(tmp),
            spec,
            fill,
            marks=marks,
            contact=contact,
            extra=extra,
            in_memory=not reproducible,
            created=created or (FIXED_CREATED if reproducible else None),
        )
    return path


def render_workbook(
    target: str | BinaryIO,
    spec: Spec,
    fill: Filling | None = None,
    *,
    marks: Mapping[str, Mark] | None = None,
    contact: str | None = None,
    extra: Callable[[Workbook, Layout, dict[str, Any]], Any] | None = None,
    in_memory: bool = True,
    created: dt.datetime | None = None,
) -> Workbook:
    """Write the edition's workbook to a file name or a binary stream; returns the closed xlsxwriter
    Workbook (its formats know their style ids). `created` None stamps the clock."""
    fill = fill or Filling()
    marks = marks or {}
    lay = layout(spec)
    wb = xlsxwriter.Workbook(
        target,
        {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False, "in_memory": in_memory},
    )
    formats = _formats(wb)
    props = {
        "title": spec.title,
        "subject": doc_subject(fill),
        "author": "nianbao",
        "comments": f"nianbao {__version__}; edition {spec.edition}; template {spec.template_version}",
    }
    if created is not None:  # same content, same bytes
        props["created"] = created
    wb.set_properties(props)
    wb.set_custom_property("nianbao_edition", spec.edition)
    wb.set_custom_property("nianbao_template_version", spec.template_version)
    sheets = {plan.name: wb.add_worksheet(plan.name) for plan in lay.sheets}
    _write_sheets(wb, lay, sheets, formats, fill, marks, contact)
    if extra:
        extra(wb, lay, formats)
    wb.close()
    return wb


def total_key(kind: str) -> str:
    """The format of a total cell of this value kind (amounts keep four decimals)."""
    return "total_amount" if kind == "amount" else "total"


def input_cells(spec: Spec, fill: Filling) -> dict[str, tuple[str, Any]]:
    """Every input cell's value kind and the value written into it, by code: table numbers, basic
    information (agency and year default to the filling's), texts and 情况说明 rows."""
    out: dict[str, tuple[str, Any]] = {
        code: (cell.kind, fill.values.get(code)) for code, cell in spec.cells.items() if not cell.is_total
    }
    texts = dict(fill.texts)
    if fill.agency and not texts.get("info.agency"):
        texts["info.agency"] = fill.agency
    for f in spec.info:
        value: Any = texts.get(f.code)
        if f.code == "info.year" and value in (None, "") and fill.year:
            value = fill.year
        if f.kind == "year" and isinstance(value, str) and value.isdigit():
            value = int(value)
        out[f.code] = (f.kind, value)
    for t in spec.texts:
        out[t.code] = ("longtext", texts.get(t.code))
    for i in range(1, spec.notes.rows + 1):
        for part in NOTE_FIELDS:
            out[note_code(i, part)] = ("text", texts.get(note_code(i, part)))
    return out


def meta_values(spec: Spec, fill: Filling) -> dict[str, str]:
    """The hidden _meta sheet's values, by key."""
    return {
        "product": "nianbao",
        "edition": spec.edition,
        "year": str(fill.year or ""),
        "template_version": spec.template_version,
        "generator_version": __version__,
        "agency": fill.agency or "",
        "kind": fill.kind,
        "units": str(fill.units) if fill.kind == "rollup" and fill.units is not None else str(fill.units or ""),
        "covers": covers_text(fill.covers),
    }


COVERS_LIMIT = 32_000  # characters of one cell (Excel holds 32,767)


def covers_text(names: tuple[str, ...] | None) -> str:
    """The names a roll-up covers as its _meta cell holds them: one a line; empty when they are not
    known or do not fit in a cell (a province's roll-up: it then stands for its whole group)."""
    text = "\n".join(names or ())
    return text if len(text) <= COVERS_LIMIT else ""


def page_header(agency: str | None) -> str:
    """The printed page header: the agency on the left, the sheet name on the right.

    An & of the name is printed as the full-width ＆: a header's & starts a code (&& would print
    one, but xlsxwriter takes the &G of "A&&G" for an image placeholder and drops the header)."""
    return f"&L{(agency or '').replace('&', '＆')}&R&A"


def doc_subject(fill: Filling) -> str:
    """The document subject (file properties): agency, year and the report's name."""
    return f"{fill.agency or ''} {fill.year or ''} 政府信息公开工作年度报告".strip()


def _write_sheets(
    wb: Workbook,
    lay: Layout,
    sheets: dict[str, Worksheet],
    formats: dict[str, Any],
    fill: Filling,
    marks: Mapping[str, Mark],
    contact: str | None,
) -> None:
    spec = lay.spec
    inputs = input_cells(spec, fill)
    # Sheet setup: widths, heights, print, freeze.
    for plan in lay.sheets:
        ws = sheets[plan.name]
        for col, width in plan.widths.items():
            ws.set_column(col, col, width)
        _page_setup(ws, plan, fill.agency)
        if plan.kind != META:
            ws.protect("", {"format_columns": True, "format_rows": True})
    # Fixed labels.
    for lab in lay.labels:
        ws = sheets[lab.sheet]
        text = lab.text.replace("{contact}", contact or "本级政务公开工作机构（见通知）")
        fmt = formats[lab.style]
        if (lab.row, lab.col) != (lab.last_row, lab.last_col):
            ws.merge_range(lab.row, lab.col, lab.last_row, lab.last_col, text, fmt)
        else:
            ws.write_string(lab.row, lab.col, text, fmt)
    # Input cells, totals: numbers of the tables.
    for code, cell in spec.cells.items():
        place = lay.places[code]
        ws = sheets[place.sheet]
        if cell.is_total:
            mark = marks.get(code)
            fmt = _total_format(formats, total_key(cell.kind), mark.severity if mark else None)
            ws.write_formula(place.row, place.col, _total_formula(lay, code), fmt, cached_total(lay, code, fill.values))
            if mark:
                ws.write_comment(place.row, place.col, mark.comment, COMMENT_OPTIONS)
            continue
        _write_input(ws, formats, place, *inputs[code], marks.get(code))
        validation = _validation(spec, cell.kind, place.a1)
        if validation:
            ws.data_validation(place.row, place.col, place.row, place.col, validation)
        wb.define_name(defined_name(code), "=" + place.ref)
    # Basic information, texts, explanations.
    for f in spec.info:
        place = lay.places[f.code]
        _write_input(sheets[place.sheet], formats, place, *inputs[f.code], marks.get(f.code))
        validation = _validation(spec, f.kind, place.a1)
        if validation:
            sheets[place.sheet].data_validation(place.row, place.col, place.row, place.col, validation)
        wb.define_name(defined_name(f.code), "=" + place.ref)
    for t in spec.texts:
        place = lay.places[t.code]
        _write_input(sheets[place.sheet], formats, place, *inputs[t.code], marks.get(t.code))
        sheets[place.sheet].data_validation(
            place.row,
            place.col,
            place.row,
            place.col,
            {"validate": "any", "input_title": t.heading[:32], "input_message": t.guidance[:255]},
        )
        wb.define_name(defined_name(t.code), "=" + place.ref)
    for i in range(1, spec.notes.rows + 1):
        for part in NOTE_FIELDS:
            code = note_code(i, part)
            place = lay.places[code]
            _write_input(sheets[place.sheet], formats, place, *inputs[code], marks.get(code))
            wb.define_name(defined_name(code), "=" + place.ref)
    # Live checks.
    _write_checks(lay, sheets, formats)
    # Metadata.
    for key, value in meta_values(spec, fill).items():
        place = lay.places[meta_code(key)]
        sheets[place.sheet].write_string(place.row, place.col, value)
    sheets[spec.sheet_names[META]].very_hidden()
    sheets[spec.sheet_names[INFO]].activate()


def _page_setup(ws: Worksheet, plan: SheetPlan, header: str | None) -> None:
    """Row heights and print setup of one sheet: A4, table sheets landscape, fit to width, page numbers."""
    for row, height in plan.heights.items():
        ws.set_row(row, height)
    ws.set_paper(9)
    ws.set_landscape() if plan.kind == TABLES else ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.set_header(page_header(header))
    if plan.repeat_rows:
        ws.repeat_rows(*plan.repeat_rows)
    if plan.freeze:
        ws.freeze_panes(*plan.freeze)


def _write_checks(lay: Layout, sheets: dict[str, Worksheet], formats: dict[str, Any]) -> None:
    """Formulas that show live, in any office suite, whether each number rule holds."""
    spec = lay.spec
    red = formats["_make"]({"bg_color": "#FFC7CE", "font_color": "#9C0006", "locked": True})
    for check in lay.checks:
        ws = sheets[check.sheet]
        rule = spec.rules[check.rule]
        if check.column:  # one column of a balance rule: left − right, 0 when it holds
            t, p = rule.params["table"], rule.params
            left = "+".join(lay.places[f"{t}.{r}.{check.column}"].a1 for r in p["left"])
            right = "-".join(lay.places[f"{t}.{r}.{check.column}"].a1 for r in p["right"])
            ws.write_formula(check.row, check.col, f"={left}-{right}", formats["check_value"], 0)
            condition = {"type": "cell", "criteria": "!=", "value": 0, "format": red}
        else:
            conditions = ",".join(_rule_conditions(lay, check.rule, check.sheet))
            ws.write_formula(
                check.row, check.col, f'=IF(AND({conditions}),"✓ 成立","✗ 不成立，请核对")', formats["status"], "✓ 成立"
            )
            condition = {"type": "text", "criteria": "containing", "value": "✗", "format": red}
        ws.conditional_format(check.row, check.col, check.row, check.col, condition)


def _rule_conditions(lay: Layout, rule_id: str, sheet: str) -> list[str]:
    """Excel conditions that hold when a rule holds, for the live status cell."""
    spec = lay.spec
    rule = spec.rules[rule_id]
    if rule.kind == "balance":
        frame = lay.frames[rule.params["table"]]
        table = spec.table(rule.params["table"])
        return [
            f"{a1(frame.check_row, lay.places[f'{table.code}.{table.rows[0].code}.{c.code}'].col)}=0"
            for c in table.columns
        ]
    return [
        f"{lay.places[code].a1}={sum_formula([lay.places[p] for p in cell.parts])}"
        for code, cell in spec.cells.items()
        if cell.rule == rule_id and lay.places[code].sheet == sheet
    ]


def write_template(
    path: Path | str,
    spec: Spec,
    *,
    year: int | None = None,
    agency: str | None = None,
    contact: str | None = None,
    reproducible: bool = False,
) -> Path:
    """The blank (or prefilled with agency and year) template agencies fill."""
    return write_workbook(path, spec, Filling(year=year, agency=agency), contact=contact, reproducible=reproducible)


def blank_template_name(spec: Spec) -> str:
    """File name of an edition's blank template in workbook_templates/."""
    return f"政府信息公开年报模板_{spec.label}.xlsx"


def write_table_sheets(
    wb: Workbook,
    spec: Spec,
    values: Mapping[str, Any],
    *,
    formats: dict[str, Any] | None = None,
    header: str | None = None,
) -> dict[str, Worksheet]:
    """Add the edition's table sheets (二、三、四), filled with `values`, to an open workbook.

    Sheet names, labels, merged ranges, cell positions, defined names and live checks are the
    template's; every input is written as a number (a code missing from `values` is 0, never blank);
    totals are the template's formulas carrying the value computed from `values`. The sheets are not
    protected. Used by the city summary (汇总表); returns the new sheets by name.
    """
    lay = layout(spec)
    formats = formats or _formats(wb)
    plans = [plan for plan in lay.sheets if plan.kind == TABLES]
    sheets = {plan.name: wb.add_worksheet(plan.name) for plan in plans}
    for plan in plans:
        ws = sheets[plan.name]
        for col, width in plan.widths.items():
            ws.set_column(col, col, width)
        _page_setup(ws, plan, header)
    for lab in lay.labels:
        if lab.sheet not in sheets:
            continue
        ws, fmt = sheets[lab.sheet], formats[lab.style]
        if (lab.row, lab.col) != (lab.last_row, lab.last_col):
            ws.merge_range(lab.row, lab.col, lab.last_row, lab.last_col, lab.text, fmt)
        else:
            ws.write_string(lab.row, lab.col, lab.text, fmt)
    for code, cell in spec.cells.items():
        place = lay.places[code]
        ws = sheets[place.sheet]
        if cell.is_total:
            ws.write_formula(
                place.row,
                place.col,
                _total_formula(lay, code),
                formats[total_key(cell.kind)],
                cached_total(lay, code, values),
            )
        else:
            _write_input(ws, formats, place, cell.kind, values.get(code) or 0, None)
            wb.define_name(defined_name(code), "=" + place.ref)
    if all(check.sheet in sheets for check in lay.checks):
        _write_checks(lay, sheets, formats)
    return sheets
