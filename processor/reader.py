"""Read a submitted workbook into a Submission and the reading findings (file → submission; never raises).

The pipeline, in order: identify the file (fileformat) → open it (book) → identify the edition
(_meta, else the labels) → find and prove every cell (locate) → read basic information, numbers,
texts and explanations, normalising what people type (values) → recompute every total.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from loguru import logger

from .book import Book, BookError, at, is_fatal, open_book
from .fileformat import Limits, size_text, sniff
from .findings import Finding, finding
from .layout import META, NOTE_FIELDS, Place, a1, layout, note_code
from .locate import Located, locate, meta
from .spec import Cell, Spec, Table, load_specs
from .submission import Note, Number, Submission, recompute_totals
from .values import cell_text, date_text, number_text, parse_number, parse_year, shown, whole_number
from .xlsx import XmlCell

__all__ = ["Limits", "ReadResult", "read_workbook"]

PRODUCT = "nianbao"
MAX_TEXT = 32_767  # characters an Excel cell holds
CREDIT_CODE = re.compile(r"[0-9A-Z]{18}")
MIN_FIT = 0.5  # share of labels an edition must find in a workbook without metadata to be recognised


@dataclass
class ReadResult:
    """What reading one file gave: the submission (None when it could not be read as our template)."""

    submission: Submission | None
    findings: list[Finding] = field(default_factory=list)
    spec: Spec | None = None


class _Found:
    """Collects findings of one file, each stamped with the file name."""

    def __init__(self, spec: Spec, file: str) -> None:
        self.spec, self.file, self.items = spec, file, []

    def add(self, rule_id: str, **tokens: Any) -> None:
        self.items.append(finding(self.spec, rule_id, file=self.file, **tokens))

    def at(self, rule_id: str, place: Place, code: str | None = None, **tokens: Any) -> None:
        self.add(rule_id, sheet=place.sheet, cell=place.a1, code=code, **tokens)


def read_workbook(
    source: Path | str | bytes,
    *,
    name: str | None = None,
    limits: Limits | Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read one submitted workbook (a path or its bytes; `name` names it in messages).

    Never modifies the file and never raises for a bad file: every problem becomes a finding.
    """
    limits = Limits.of(limits)
    file = name or (Path(source).name if not isinstance(source, bytes) else "未命名.xlsx")
    generic = next(iter(load_specs().values()))
    try:
        if isinstance(source, bytes):
            data = source
        else:
            with Path(source).open("rb") as fh:  # read-only; a file over the limit is judged by its size
                size = os.fstat(fh.fileno()).st_size
                if size > limits.max_file_bytes:
                    found = _Found(generic, file)
                    found.add(
                        "file-too-large", reason=f"大小为 {size_text(size)}", expected=size_text(limits.max_file_bytes)
                    )
                    return ReadResult(None, found.items, None)
                data = _read_up_to(fh, size, limits.max_file_bytes + 1)
    except OSError as exc:
        found = _Found(generic, file)
        found.add("file-unreadable", reason=f"无法打开文件：{exc.strerror or type(exc).__name__}")
        return ReadResult(None, found.items, None)
    try:
        return _read(data, file, limits)
    except BookError as exc:  # a sheet or part that failed to read late, while the cells were read
        found = _Found(generic, file)
        found.add(exc.rule_id, reason=exc.reason)
        return ReadResult(None, found.items, None)
    except BaseException as exc:  # a last guard: a file we did not foresee is a finding, not a crash
        if is_fatal(exc):
            raise
        logger.opt(exception=exc).warning("unexpected error reading {}", file)
        found = _Found(generic, file)
        found.add("file-unreadable", reason=f"读取时出现意外错误：{type(exc).__name__}")
        return ReadResult(None, found.items, None)


def _read_up_to(fh: BinaryIO, size: int, cap: int) -> bytes:
    """fh.read(cap), without asking for a buffer of `cap` bytes when the file is known to be `size`
    (a file that grew meanwhile is read on, up to `cap`, as before)."""
    data = fh.read(min(size + 1, cap))
    if len(data) <= size or len(data) >= cap:
        return data
    return data + fh.read(cap - len(data))


def _read(data: bytes, file: str, limits: Limits) -> ReadResult:
    specs = load_specs()
    generic = next(iter(specs.values()))
    refused = sniff(data, file, limits)
    if refused.kind is None:
        found = _Found(generic, file)
        found.add(
            refused.rule_id or "file-unreadable", found=refused.found, reason=refused.reason, expected=refused.expected
        )
        return ReadResult(None, found.items, None)
    try:
        book = open_book(data, refused.kind, limits, refused.parts)
    except BookError as exc:
        found = _Found(generic, file)
        found.add(exc.rule_id, reason=exc.reason)
        return ReadResult(None, found.items, None)
    spec, info, reason = identify(book, specs)
    if spec is None:
        found = _Found(generic, file)
        found.add("not-template", reason=reason)
        return _old_format(ReadResult(None, found.items, None), refused.kind)
    if info.get("kind") == "summary":  # our summary workbook (for reading), sent in as if it were a report
        found = _Found(spec, file)
        found.add("summary-not-report", agency=info.get("agency") or "本级")
        return ReadResult(None, found.items, spec)
    return _old_format(read_book(spec, book, file, info), refused.kind)


_LAYOUT_REFUSALS = ("structure-broken", "sheet-missing", "not-template")
XLS_HINT = (
    "本文件是旧版 .xls 格式，不带单元格名称，增删过行列或改过工作表名称后无法可靠找到各项数字："
    "请用 Excel 或 WPS 另存为 .xlsx（Excel 工作簿）后重新提交，或在下发的模板中重新填写。"
)


def _old_format(result: ReadResult, kind: str | None) -> ReadResult:
    """An .xls whose layout could not be followed: its refusals say that saving it as .xlsx may be all it
    takes (an .xlsx carries the template's cell names, which find moved cells; an .xls has none)."""
    if kind != "xls" or not any(f.rule_id in _LAYOUT_REFUSALS for f in result.findings):
        return result
    said = [
        replace(f, message=f"{f.message}{XLS_HINT}") if f.rule_id in _LAYOUT_REFUSALS else f for f in result.findings
    ]
    return replace(result, findings=said)


def identify(book: Book, specs: Mapping[str, Spec]) -> tuple[Spec | None, dict[str, str], str | None]:
    """The edition of a workbook: from its hidden metadata, else the edition whose labels fit best.

    Returns (spec, metadata, None), or (None, metadata, reason in Chinese) for a workbook that is not
    one of our templates.
    """
    any_spec = next(iter(specs.values()))
    meta_sheet = any_spec.sheet_names[META]
    info = meta(book, meta_sheet) if book.has_sheet(meta_sheet) else {}
    labels = "、".join(s.label for s in specs.values())
    if info.get("product") == PRODUCT:
        edition = info.get("edition", "")
        if edition in specs:
            return specs[edition], info, None
        return None, info, f"模板记录的格式为“{edition}”，本系统支持的格式为{labels}"
    fits = {edition: locate(spec, book, survey=True).fit for edition, spec in specs.items()}
    best = max(fits, key=lambda e: fits[e])
    if fits[best] >= MIN_FIT:
        return specs[best], info, None
    table_sheets = list(dict.fromkeys(t.sheet for s in specs.values() for t in s.tables))
    if not any(book.has_sheet(s) for s in table_sheets):
        listed = "”“".join(table_sheets)
        return None, info, f"没有“{listed}”等工作表，也没有模板的版本信息"
    return None, info, f"表格的行列标题与{labels}格式都不一致"


def read_book(spec: Spec, book: Book, file: str, info: Mapping[str, str] | None = None) -> ReadResult:
    """Read an opened workbook of a known edition into a Submission (pure apart from the book's lazy reads)."""
    found = _Found(spec, file)
    info = dict(info) if info is not None else {}
    if info.get("product") == PRODUCT:
        _check_version(spec, info, found)
    located = locate(spec, book)
    for p in located.problems:
        found.add(p.rule_id, sheet=p.sheet, cell=p.cell, expected=p.expected, found=p.found, reason=p.reason)
    if located.broken:
        return ReadResult(None, found.items, spec)
    sub = Submission(edition=spec.edition, file=file, meta=info)
    sub.kind = "rollup" if info.get("kind") == "rollup" else "report"
    units = int(info["units"]) if info.get("units", "").isdigit() else 0
    sub.units = units if units > 0 or (sub.kind == "rollup" and info.get("units") == "0") else 1  # (0: rollup-empty)
    names = [n.strip() for n in info.get("covers", "").split("\n") if n.strip()] if sub.kind == "rollup" else []
    sub.covers = names or None
    template = layout(spec).places
    for code, place in located.places.items():
        if (place.row, place.col) != (template[code].row, template[code].col):
            sub.moved[f"{template[code].sheet}!{template[code].a1}"] = place.a1
    _read_info(spec, book, located, sub, found)
    _read_numbers(spec, book, located, sub, found)
    _read_texts(spec, book, located, sub, found)
    _read_notes(spec, book, located, sub)
    items = [f.about(agency=sub.agency) for f in found.items] if sub.agency else found.items
    return ReadResult(sub, items, spec)


def _check_version(spec: Spec, info: Mapping[str, str], found: _Found) -> None:
    version = info.get("template_version", "")
    if version.isdigit() and spec.template_version.isdigit() and int(version) < int(spec.template_version):
        found.add("template-outdated", found=version, expected=spec.template_version)


# ---- basic information ---------------------------------------------------------------------


def _read_info(spec: Spec, book: Book, located: Located, sub: Submission, found: _Found) -> None:
    """Agency, year, contact and the other 基本信息 fields into sub.texts, sub.agency and sub.year."""
    for f in spec.info:
        place = located.places[f.code]
        raw = book.value(place.sheet, place.row, place.col)
        if f.kind == "year":
            year = parse_year(raw)
            sub.texts[f.code] = str(year) if year is not None else cell_text(raw)
            sub.year = _year(spec, place, raw, year, sub, found)
            continue
        text = date_text(raw) if f.kind == "date" else cell_text(raw)
        sub.texts[f.code] = text
        if f.code == "info.agency":
            sub.agency = text or None
            if not text:
                found.at("agency-missing", place, f.code)
        elif f.code in ("info.filler", "info.phone") and not text:
            found.at("contact-missing", place, f.code, where=f.label)
        elif f.kind == "credit_code" and text and not CREDIT_CODE.fullmatch(text):
            found.at("credit-code-invalid", place, f.code, found=text)


def _year(spec: Spec, place: Place, raw: Any, year: int | None, sub: Submission, found: _Found) -> int | None:
    """The report year (info.year, else the template's), with year-missing / edition-year-mismatch findings."""
    specs = load_specs()
    first = min(s.years[0] for s in specs.values())
    covering = next((s for s in specs.values() if year is not None and s.covers(year)), None)
    if year is None or covering is None:
        text = shown(raw).strip()
        if not text:
            reason = "未填写"
        elif year is None:
            reason = f"填写为“{text}”，无法识别为年度"
        else:
            reason = f"填写为“{text}”，不是可以填报的年度（{first} 年及以后）"
        found.at("year-missing", place, "info.year", found=text or None, reason=reason)
        # a blank cell: the year the template was issued for; what the clerk typed (25) is not overruled by it,
        # which would be the year of the file copied (a report "of 2024" the clerk never wrote)
        meta_year = parse_year(sub.meta.get("year", "")) if not text else None
        year = meta_year if meta_year is not None and any(s.covers(meta_year) for s in specs.values()) else None
    if year is not None and not spec.covers(year):
        other = next((s for s in specs.values() if s.covers(year)), None)
        found.at(
            "edition-year-mismatch",
            place,
            "info.year",
            found=year,
            expected=other.label if other else None,
            edition=spec.label,
        )
    return year


# ---- numbers -------------------------------------------------------------------------------


def _read_numbers(spec: Spec, book: Book, located: Located, sub: Submission, found: _Found) -> None:
    """Every input normalised (blank → 0, refused → 0 with its error), totals recomputed, shown totals kept."""
    values: dict[str, Number] = {}
    uncalculated: list[str] = []
    places = located.places
    sheet, grid, xmls = "", [], {}
    for table, cells in _number_cells(spec):
        blanks: list[str] = []
        inputs = 0
        for code, kind, total, cell in cells:
            place = places[code]
            if place.sheet != sheet:  # a table's cells share a sheet: its values and formulas fetched once
                sheet = place.sheet
                grid = book.grid(sheet)
                xmls = book.xml_cells(sheet)
            raw = at(grid, place.row, place.col)
            xml = xmls.get((place.row, place.col)) if xmls else None
            if total:
                sub.shown_totals[code] = _shown_total(raw, xml, kind)
                if xml is not None and xml.formula is not None and not xml.cached:
                    uncalculated.append(sheet)
                continue
            inputs += 1
            value = whole_number(raw, kind) if xml is None else None  # the common case, cheaply
            if value is None and not (xml is None and raw == ""):
                value = _read_input(cell, place, raw, xml, found)
            if value is None:
                blanks.append(code)
                values[code] = 0
            else:
                values[code] = value
                if value and isinstance(raw, str):  # a number kept as text: the sheet's own SUMs skip it
                    sub.text_numbers.add(code)
        sub.blanks.update(blanks)
        _blank_findings(table, blanks, inputs, located, found)
    for name in dict.fromkeys(uncalculated):
        found.add("total-not-calculated", sheet=name)
    sub.values = recompute_totals(spec, values)


@cache
def _number_cells(spec: Spec) -> tuple[tuple[Table, tuple[tuple[str, str, bool, Cell], ...]], ...]:
    """Each table with its cells in reading order (rows, then columns): (code, kind, is_total, cell)."""
    cells = spec.cells
    out = []
    for table in spec.tables:
        codes = [f"{table.code}.{row.code}.{column.code}" for row in table.rows for column in table.columns]
        out.append((table, tuple((c, cells[c].kind, cells[c].is_total, cells[c]) for c in codes)))
    return tuple(out)


def _read_input(cell: Cell, place: Place, raw: Any, xml: XmlCell | None, found: _Found) -> Number | None:
    """One input cell's number; None when blank. A refused value is 0 and its finding is added."""
    code = cell.code
    if xml is not None and xml.error:
        found.at("value-error", place, code, found=xml.error, where=cell.where)
        return 0
    if xml is not None and xml.formula is not None:
        if not xml.cached:
            found.at("formula-no-value", place, code, where=cell.where, reason=f"={xml.formula}", instead="数字")
            return 0
        if xml.formula.upper().removesuffix("()") in ("TRUE", "FALSE"):  # a logical value as LibreOffice saves it
            found.at("value-bool", place, code, where=cell.where, found=xml.formula.upper().removesuffix("()"))
            return 0
        parsed = parse_number(raw, cell.kind)
        result = number_text(parsed.value) if parsed.value is not None else parsed.found or "（空白）"
        found.at("formula-in-input", place, code, where=cell.where, found=result, reason=f"={xml.formula}")
    else:
        parsed = parse_number(raw, cell.kind)
    if parsed.rule_id:
        found.at(parsed.rule_id, place, code, where=cell.where, found=parsed.found, expected=parsed.expected)
        return 0
    if parsed.value is None:
        return None
    if parsed.normalised:
        found.at("value-normalised", place, code, where=cell.where, found=parsed.found, expected=parsed.expected)
    return parsed.value


def _shown_total(raw: Any, xml: XmlCell | None, kind: str) -> Number | None:
    """What a total cell displayed: its stored or typed number; None when it showed none."""
    if xml is not None and (xml.error or (xml.formula is not None and not xml.cached)):
        return None
    kind = "change" if kind == "count" else kind  # a wrong total may even be negative
    whole = whole_number(raw, kind)
    return whole if whole is not None else parse_number(raw, kind).value


def _blank_findings(table: Table, blanks: list[str], inputs: int, located: Located, found: _Found) -> None:
    if not blanks:
        return
    places = [located.places[c] for c in blanks]
    title = table.caption or table.section
    if len(blanks) == inputs:  # (code: the first blank; the feedback marks every blank cell of its table)
        found.at("table-blank", places[0], blanks[0], where=title)
    else:
        found.at("value-blank", places[0], blanks[0], found=len(blanks), reason=f"“{title}”中的 {compact(places)}")


def compact(places: list[Place]) -> str:
    """Cells of one sheet as a short list of ranges: D6:I6、D8、D10:D12."""
    rows: dict[int, list[int]] = {}
    for p in places:
        rows.setdefault(p.row, []).append(p.col)
    runs: list[tuple[int, int, int, int]] = []  # (first row, last row, first col, last col)
    for r in sorted(rows):
        spans: list[tuple[int, int]] = []
        for c in sorted(set(rows[r])):
            if spans and spans[-1][1] == c - 1:
                spans[-1] = (spans[-1][0], c)
            else:
                spans.append((c, c))
        for c0, c1 in spans:
            last = next((i for i, run in enumerate(runs) if run[1] == r - 1 and run[2:] == (c0, c1)), None)
            if last is not None:
                runs[last] = (runs[last][0], r, c0, c1)
            else:
                runs.append((r, r, c0, c1))
    runs.sort()
    return "、".join(a1(r0, c0) if (r0, c0) == (r1, c1) else f"{a1(r0, c0)}:{a1(r1, c1)}" for r0, r1, c0, c1 in runs)


# ---- texts and explanations ----------------------------------------------------------------


def _read_texts(spec: Spec, book: Book, located: Located, sub: Submission, found: _Found) -> None:
    for t in spec.texts:
        place = located.places[t.code]
        text = cell_text(book.value(place.sheet, place.row, place.col))
        sub.texts[t.code] = text
        xml = None if text else (book.xml_cells(place.sheet) or {}).get((place.row, place.col))
        if xml is not None and xml.formula is not None and not xml.cached:  # (a formula typed, never calculated)
            found.at("formula-no-value", place, t.code, where=t.heading, reason=f"={xml.formula}", instead="文字内容")
        if len(text) > MAX_TEXT:
            found.at("text-too-long", place, t.code, where=t.heading, found=len(text))


def _read_notes(spec: Spec, book: Book, located: Located, sub: Submission) -> None:
    places = located.places
    for i, codes in enumerate(_note_codes(spec), start=1):
        if codes[0] not in places:  # (the 情况说明 sheet was deleted: notes-sheet-missing)
            return
        parts = []
        for code in codes:
            place = places[code]
            parts.append(cell_text(book.value(place.sheet, place.row, place.col)))
        if any(parts):
            sub.notes.append(Note(i, parts[0].upper(), parts[1], parts[2]))


@cache
def _note_codes(spec: Spec) -> tuple[tuple[str, ...], ...]:
    """The codes of each 情况说明 row's fields (rule, cell, text)."""
    return tuple(tuple(note_code(i, part) for part in NOTE_FIELDS) for i in range(1, spec.notes.rows + 1))
