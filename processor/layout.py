"""Decide where every label, input, total and check of a spec lives in a workbook (the one layout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from .spec import Spec, Table

# Sheet kinds, in workbook order.
INSTRUCTIONS, INFO, TABLES, TEXTS, NOTES, META = "instructions", "info", "tables", "texts", "notes", "meta"

TEXT_COLS = 8  # a text answer spans A:H
NOTE_FIELDS = ("rule", "cell", "text")
META_KEYS = (
    *("product", "edition", "year", "template_version", "generator_version", "agency", "kind", "units"),
    "covers",  # a roll-up: the names of the units it sums, one a line (empty: not said)
)


def col_letter(col: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int, absolute: bool = False) -> str:
    """0-based (row, col) → "D5" (or "$D$5")."""
    d = "$" if absolute else ""
    return f"{d}{col_letter(col)}{d}{row + 1}"


def parse_a1(ref: str) -> tuple[int, int]:
    """ "D5" or "$D$5" → 0-based (row, col)."""
    ref = ref.replace("$", "").upper()
    i = next(k for k, ch in enumerate(ref) if ch.isdigit())
    col = 0
    for ch in ref[:i]:
        col = col * 26 + (ord(ch) - 64)
    return int(ref[i:]) - 1, col - 1


def defined_name(code: str) -> str:
    """Cell code → the workbook's defined name for it (info.agency → nb_info_agency)."""
    return "nb_" + code.replace(".", "_")


@dataclass(frozen=True)
class Place:
    """Where one cell of the spec lives."""

    sheet: str
    row: int  # 0-based
    col: int  # 0-based
    last_row: int | None = None  # set when the cell is the top-left of a merged range
    last_col: int | None = None

    @property
    def a1(self) -> str:
        return a1(self.row, self.col)

    @property
    def ref(self) -> str:
        """Absolute reference with the sheet, as a defined name or a hyperlink wants it."""
        return f"'{self.sheet}'!{a1(self.row, self.col, absolute=True)}"


@dataclass(frozen=True)
class Label:
    """Fixed text of the form, possibly spanning a merged range."""

    sheet: str
    row: int
    col: int
    last_row: int
    last_col: int
    text: str
    style: str  # title | caption | header | rowlabel | corner | guidance | hint | check


@dataclass(frozen=True)
class Frame:
    """The rectangle one table occupies."""

    table: str
    sheet: str
    top: int  # first row of the table (caption, or header when no caption)
    header_top: int
    first_data_row: int
    last_row: int
    label_cols: int
    first_value_col: int
    last_col: int
    check_row: int | None = None  # the live balance check row below the data, if any


@dataclass(frozen=True)
class Check:
    """A live check cell: a formula the template writes beside a table (never read back)."""

    sheet: str
    row: int
    col: int
    rule: str
    column: str | None = None  # per-column balance check, else a rule status cell


@dataclass(frozen=True)
class SheetPlan:
    key: str  # sheet kind: instructions | info | tables | texts | notes | meta | a table sheet key
    name: str
    kind: str
    widths: dict[int, float] = field(default_factory=dict)
    repeat_rows: tuple[int, int] | None = None
    freeze: tuple[int, int] | None = None
    heights: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Layout:
    spec: Spec
    sheets: tuple[SheetPlan, ...]
    places: dict[str, Place]  # every input, total, info, text, note and meta cell, by code
    labels: tuple[Label, ...]
    frames: dict[str, Frame]
    checks: tuple[Check, ...]

    def sheet(self, key: str) -> SheetPlan:
        return next(s for s in self.sheets if s.key == key)

    def place(self, code: str) -> Place:
        return self.places[code]

    def code_at(self, sheet: str, row: int, col: int) -> str | None:
        return _reverse(self).get((sheet, row, col))


@cache
def _reverse(layout: Layout) -> dict[tuple[str, int, int], str]:
    return {(p.sheet, p.row, p.col): code for code, p in layout.places.items()}


def note_code(index: int, part: str) -> str:
    """Code of one field of one 情况说明 row (index from 1): note.n01.rule, note.n01.text …"""
    return f"note.n{index:02d}.{part}"


def meta_code(key: str) -> str:
    return f"meta.{key}"


def _table_sheets(spec: Spec) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for t in spec.tables:
        key = next(k for k, v in spec.sheet_names.items() if v == t.sheet)
        seen.setdefault(key, t.sheet)
    return list(seen.items())


def _place_table(t: Table, top: int, labels: list[Label], places: dict[str, Place]) -> Frame:
    """Lay out one table from row `top` at column A; returns its frame."""
    sheet = t.sheet
    label_cols = (max(len(r.groups) for r in t.rows) + 1) if any(r.label for r in t.rows) else 0
    depth = max(len(c.bands) for c in t.columns) + 1
    ncols = label_cols + len(t.columns)
    row = top
    if t.caption:
        labels.append(Label(sheet, row, 0, row, ncols - 1, t.caption, "caption"))
        row += 1
    header_top = row
    if label_cols:
        corner = t.corner or ""
        style = "corner" if len(corner) > 8 else "header"  # the long 勾稽 note is set small
        labels.append(Label(sheet, row, 0, row + depth - 1, label_cols - 1, corner, style))
    # Column headers: bands merge across neighbours sharing the same band path; the label spans down.
    for j, c in enumerate(t.columns):
        col = label_cols + j
        for level, band in enumerate(c.bands):
            prev = t.columns[j - 1] if j else None
            if prev is not None and prev.bands[: level + 1] == c.bands[: level + 1]:
                continue
            span = j
            while span + 1 < len(t.columns) and t.columns[span + 1].bands[: level + 1] == c.bands[: level + 1]:
                span += 1
            labels.append(Label(sheet, row + level, col, row + level, label_cols + span, band, "header"))
        labels.append(Label(sheet, row + len(c.bands), col, row + depth - 1, col, c.label, "header"))
    row += depth
    first_data_row = row
    # Row labels: groups merge down across neighbours sharing the same group path; the label spans right.
    for i, r in enumerate(t.rows):
        if label_cols:
            for level, group in enumerate(r.groups):
                prev_row = t.rows[i - 1] if i else None
                if prev_row is not None and prev_row.groups[: level + 1] == r.groups[: level + 1]:
                    continue
                span = i
                while span + 1 < len(t.rows) and t.rows[span + 1].groups[: level + 1] == r.groups[: level + 1]:
                    span += 1
                labels.append(Label(sheet, row + i, level, first_data_row + span, level, group, "rowlabel"))
            labels.append(Label(sheet, row + i, len(r.groups), row + i, label_cols - 1, r.label, "rowlabel"))
        for j, c in enumerate(t.columns):
            places[f"{t.code}.{r.code}.{c.code}"] = Place(sheet, row + i, label_cols + j)
    last_row = row + len(t.rows) - 1
    return Frame(t.code, sheet, top, header_top, first_data_row, last_row, label_cols, label_cols, ncols - 1)


@cache
def layout(spec: Spec) -> Layout:
    """Place every sheet, label, input cell, total, check and metadata cell of a spec.

    Every workbook the project writes (template, feedback, summary tables) and every workbook
    it reads goes through this function, so the writer and the reader cannot disagree.
    """
    names = spec.sheet_names
    places: dict[str, Place] = {}
    labels: list[Label] = []
    frames: dict[str, Frame] = {}
    checks: list[Check] = []
    sheets: list[SheetPlan] = []

    # 填报说明
    sheet = names[INSTRUCTIONS]
    labels.append(Label(sheet, 0, 0, 0, 0, f"{spec.title} 填报说明", "title"))
    for i, text in enumerate(spec.instructions):
        labels.append(Label(sheet, 2 + i, 0, 2 + i, 0, text, "guidance"))
    sheets.append(SheetPlan(INSTRUCTIONS, sheet, INSTRUCTIONS, widths={0: 110}))

    # 基本信息: label | value | hint
    sheet = names[INFO]
    labels.append(Label(sheet, 0, 0, 0, 2, "基本信息", "title"))
    for i, f in enumerate(spec.info):
        labels.append(Label(sheet, 2 + i, 0, 2 + i, 0, f.label, "rowlabel"))
        places[f.code] = Place(sheet, 2 + i, 1)
        if f.hint:
            labels.append(Label(sheet, 2 + i, 2, 2 + i, 2, f.hint, "hint"))
    row = 3 + len(spec.info)
    labels.append(Label(sheet, row, 0, row, 2, f"报告格式：{spec.label}（{spec.issued_with}）", "hint"))
    sheets.append(SheetPlan(INFO, sheet, INFO, widths={0: 20, 1: 48, 2: 36}))

    # Table sheets: a title row, then the tables stacked with a blank row between them,
    # then a panel of live rule checks.
    for key, sheet in _table_sheets(spec):
        tables = [t for t in spec.tables if t.sheet == sheet]
        row = 2
        sheet_frames = []
        for t in tables:
            frame = _place_table(t, row, labels, places)
            row = frame.last_row + 1
            balance = [r for r in spec.rules_of("balance") if r.params.get("table") == t.code]
            if balance:
                frame = Frame(**{**frame.__dict__, "check_row": row})
                label_end = max(frame.label_cols - 1, 0)
                labels.append(
                    Label(sheet, row, 0, row, label_end, "校验：第一项+第二项−第三项总计−第四项（应为0）", "check")
                )
                for c in t.columns:
                    for rule in balance:
                        checks.append(
                            Check(sheet, row, places[f"{t.code}.{t.rows[0].code}.{c.code}"].col, rule.id, c.code)
                        )
                row += 1
            frames[t.code] = frame
            sheet_frames.append(frame)
            row += 1
        width = max(f.last_col for f in sheet_frames) + 1
        labels.append(Label(sheet, 0, 0, 0, width - 1, tables[0].section, "title"))
        rule_ids = _rules_on_sheet(spec, [t.code for t in tables])
        if rule_ids:
            labels.append(Label(sheet, row, 0, row, width - 1, "勾稽关系校验（实时）", "caption"))
            for k, rule_id in enumerate(rule_ids):
                r = row + 1 + k
                status_col = min(width - 1, 1 if width > 2 else 0)
                labels.append(Label(sheet, r, 0, r, 0, rule_id, "check"))
                checks.append(Check(sheet, r, status_col, rule_id))
                if width - 1 > status_col + 1:
                    labels.append(Label(sheet, r, status_col + 1, r, width - 1, spec.rules[rule_id].title, "check"))
        first = sheet_frames[0]
        widths: dict[int, float] = {}
        for f in sheet_frames:
            for c in range(f.label_cols):
                widths[c] = max(
                    widths.get(c, 0), 44 if c == f.label_cols - 1 else (10 if c == 0 and f.label_cols > 2 else 16)
                )
            for c in range(f.first_value_col, f.last_col + 1):
                widths[c] = max(widths.get(c, 0), 13 if f.label_cols else 10)
        freeze = (first.first_data_row, first.first_value_col) if len(sheet_frames) == 1 else (2, 0)
        repeat = (first.header_top, first.first_data_row - 1) if len(sheet_frames) == 1 else None
        heights: dict[int, float] = {}
        for lab in labels:  # rows tall enough for wrapped labels (about 2 CJK characters per width unit)
            if lab.sheet != sheet or lab.row != lab.last_row or lab.style not in ("rowlabel", "header"):
                continue
            span = sum(widths.get(c, 10) for c in range(lab.col, lab.last_col + 1))
            lines = -(-len(lab.text) * 2 // int(span - 1))
            if lines > 1:
                heights[lab.row] = max(heights.get(lab.row, 15.0), 14.0 * lines + 2)
        sheets.append(SheetPlan(key, sheet, TABLES, widths=widths, repeat_rows=repeat, freeze=freeze, heights=heights))

    # 文字部分: heading, guidance, then one tall merged answer cell per text.
    sheet = names[TEXTS]
    labels.append(Label(sheet, 0, 0, 0, TEXT_COLS - 1, "文字部分（报告第一、五、六部分）", "title"))
    heights: dict[int, float] = {}
    row = 2
    for t in spec.texts:
        labels.append(Label(sheet, row, 0, row, TEXT_COLS - 1, t.heading, "caption"))
        labels.append(Label(sheet, row + 1, 0, row + 1, TEXT_COLS - 1, t.guidance, "guidance"))
        heights[row + 1] = 36
        places[t.code] = Place(sheet, row + 2, 0, row + 2, TEXT_COLS - 1)
        heights[row + 2] = 400
        row += 4
    sheets.append(SheetPlan(TEXTS, sheet, TEXTS, widths={c: 13 for c in range(TEXT_COLS)}, heights=heights))

    # 情况说明: 序号 | 规则编号 | 单元格 | 说明
    sheet = names[NOTES]
    labels.append(Label(sheet, 0, 0, 0, 3, "情况说明（对“警告”类问题的解释）", "title"))
    labels.append(Label(sheet, 1, 0, 1, 3, spec.notes.guidance, "guidance"))
    for j, text in enumerate(("序号", "规则编号", "单元格", f"说明（不少于{spec.notes.min_chars}个字）")):
        labels.append(Label(sheet, 2, j, 2, j, text, "header"))
    for i in range(1, spec.notes.rows + 1):
        labels.append(Label(sheet, 2 + i, 0, 2 + i, 0, str(i), "rowlabel"))
        for j, part in enumerate(NOTE_FIELDS):
            places[note_code(i, part)] = Place(sheet, 2 + i, 1 + j)
    sheets.append(SheetPlan(NOTES, sheet, NOTES, widths={0: 6, 1: 12, 2: 22, 3: 80}, heights={1: 48}, freeze=(3, 0)))

    # _meta (very hidden): key | value
    sheet = names[META]
    for i, key in enumerate(META_KEYS):
        labels.append(Label(sheet, i, 0, i, 0, key, "hint"))
        places[meta_code(key)] = Place(sheet, i, 1)
    sheets.append(SheetPlan(META, sheet, META, widths={0: 20, 1: 30}))

    return Layout(spec, tuple(sheets), places, tuple(labels), frames, tuple(checks))


def _rules_on_sheet(spec: Spec, table_codes: list[str]) -> list[str]:
    """Ids of the within-report number rules (balance and total) touching these tables."""
    ids: list[str] = []
    for rule in spec.rules_of("balance"):
        if rule.params.get("table") in table_codes:
            ids.append(rule.id)
    for cell in spec.cells.values():
        if cell.rule and cell.table.code in table_codes and cell.rule not in ids:
            ids.append(cell.rule)
    return ids
