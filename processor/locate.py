"""Find where each cell of the form is in a submitted workbook, and prove it by the labels around it.

A cell is found by its defined name when the workbook still has it (Excel moves names when rows or
columns are inserted, and follows a renamed sheet), otherwise at its layout position, shifted like
its named neighbours. Every position is then proved by the labels the layout puts beside it: the
row's label must be on the same row, the column's header above the same column. A position that
cannot be proved is never read (structure-broken).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from .book import Book, at
from .layout import INFO, NOTES, TEXTS, Label, Place, a1, defined_name, layout
from .spec import Spec
from .values import cell_text, label_key
from .xlsx import Ref

ROW, COL = "row", "col"  # an anchor label shares the cell's row, or its column


@dataclass(frozen=True)
class Anchor:
    """A fixed label that proves a cell's position: it must move with the cell's row (or column)."""

    row: int
    col: int
    text: str
    key: str
    axis: str


@dataclass(frozen=True)
class Region:
    """Cells verified together: one table, the basic information, the texts, or the explanations."""

    key: str
    title: str
    sheet: str  # the layout's sheet name
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    regions: tuple[Region, ...]
    anchors: dict[str, tuple[Anchor, ...]]
    homes: dict[str, Ref]  # defined name → where the template puts it
    spots: tuple[tuple[str, tuple[tuple[int, int, str, str], ...]], ...]  # anchor labels at home by sheet, sorted
    places: dict[str, Place]  # every cell at home, region by region (what an intact workbook gives)


@dataclass(frozen=True)
class Problem:
    """What locating found: a structure change it could follow, or one it could not."""

    rule_id: str  # structure-changed | structure-broken | sheet-missing | notes-sheet-missing
    sheet: str
    cell: str | None = None
    expected: str | None = None
    found: str | None = None
    reason: str | None = None


@dataclass
class Located:
    """Where every cell of the form was found, and what was noticed on the way."""

    places: dict[str, Place] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    checked: int = 0  # anchors compared
    matched: int = 0  # anchors that matched

    @property
    def broken(self) -> bool:
        return any(p.rule_id not in ("structure-changed", "notes-sheet-missing") for p in self.problems)

    @property
    def fit(self) -> float:
        """Share of the labels found where the layout expects them (1.0 for an intact template)."""
        return self.matched / self.checked if self.checked else 0.0


@cache
def plan(spec: Spec) -> Plan:
    """The regions of an edition and the anchor labels of each cell (computed once per spec)."""
    lay = layout(spec)
    at: dict[tuple[str, int, int], Label] = {
        (lab.sheet, lab.row, lab.col): lab
        for lab in lay.labels
        if lab.style in ("rowlabel", "header", "caption", "corner") and lab.text
    }

    def anchor(sheet: str, row: int, col: int, axis: str) -> list[Anchor]:
        lab = at.get((sheet, row, col))
        return [Anchor(row, col, lab.text, label_key(lab.text), axis)] if lab else []

    anchors: dict[str, tuple[Anchor, ...]] = {}
    regions: list[Region] = []
    info_sheet = spec.sheet_names[INFO]
    for f in spec.info:
        p = lay.places[f.code]
        anchors[f.code] = tuple(anchor(info_sheet, p.row, 0, ROW))
    regions.append(Region(INFO, info_sheet, info_sheet, tuple(f.code for f in spec.info)))
    for t in spec.tables:
        frame = lay.frames[t.code]
        codes = []
        for r in t.rows:
            for c in t.columns:
                code = f"{t.code}.{r.code}.{c.code}"
                p = lay.places[code]
                own = anchor(t.sheet, p.row, len(r.groups), ROW) if frame.label_cols else []
                header = anchor(t.sheet, frame.header_top + len(c.bands), p.col, COL)
                anchors[code] = (*own, *header)
                codes.append(code)
        regions.append(Region(t.code, t.caption or t.section, t.sheet, tuple(codes)))
    texts_sheet = spec.sheet_names[TEXTS]
    for t in spec.texts:
        p = lay.places[t.code]
        anchors[t.code] = tuple(anchor(texts_sheet, p.row - 2, 0, COL))
    regions.append(Region(TEXTS, texts_sheet, texts_sheet, tuple(t.code for t in spec.texts)))
    notes_sheet = spec.sheet_names[NOTES]
    note_codes = []
    for code, p in lay.places.items():
        if code.startswith("note."):
            anchors[code] = (*anchor(notes_sheet, p.row, 0, ROW), *anchor(notes_sheet, 2, p.col, COL))
            note_codes.append(code)
    regions.append(Region(NOTES, notes_sheet, notes_sheet, tuple(note_codes)))
    homes = {
        defined_name(code): Ref(lay.places[code].sheet, lay.places[code].row, lay.places[code].col)
        for region in regions
        for code in region.codes
    }
    sheet_of = {code: region.sheet for region in regions for code in region.codes}
    spots = {(sheet_of[code], a.row, a.col, a.text, a.key) for code, items in anchors.items() for a in items}
    by_sheet: dict[str, list[tuple[int, int, str, str]]] = {}
    for sheet, row, col, text, key in sorted(spots):
        by_sheet.setdefault(sheet, []).append((row, col, text, key))
    places = {code: lay.places[code] for region in regions for code in region.codes}
    return Plan(tuple(regions), anchors, homes, tuple((s, tuple(items)) for s, items in by_sheet.items()), places)


def _unique(items: list[int]) -> list[int]:
    return list(dict.fromkeys(items))


def locate(spec: Spec, book: Book, *, survey: bool = False) -> Located:
    """Find and prove the position of every cell of `spec` in `book` (pure; reads values only).

    Problems are reported once per sheet: a renamed sheet or moved cells (structure-changed, read
    anyway), a label that is not where it must be (structure-broken) or a sheet that is gone
    (sheet-missing); the places of a broken or missing sheet are left out. With `survey`, every
    cell is tried (to measure how well an edition fits a workbook without metadata).
    """
    lay = layout(spec)
    the_plan = plan(spec)
    if not survey and _intact(the_plan, book):
        return Located(places=dict(the_plan.places))
    out = Located()
    labels: dict[tuple[str, int, int], str] = {}

    def key_at(sheet: str, row: int, col: int) -> str:
        k = (sheet, row, col)
        if k not in labels:
            labels[k] = label_key(book.value(sheet, row, col)) if row >= 0 and col >= 0 else ""
        return labels[k]

    renamed: dict[str, str] = {}  # actual sheet → reason
    moved: dict[str, str] = {}
    failed: set[str] = set()
    for region in the_plan.regions:
        named = _named(region, book)
        sheets = Counter(p.sheet for p in named.values())
        if sheets:
            sheet = sheets.most_common(1)[0][0]
        elif book.has_sheet(region.sheet):
            sheet = region.sheet
        else:
            if region.sheet not in failed:
                failed.add(region.sheet)
                # (情况说明 deleted with nothing to explain: the rest can be read; no row can explain a warning)
                out.problems.append(
                    Problem("notes-sheet-missing" if region.key == NOTES else "sheet-missing", region.sheet)
                )
            continue
        if sheet in failed and not survey:
            continue
        if sheet != region.sheet:
            renamed.setdefault(sheet, f"工作表名称已由“{region.sheet}”改为“{sheet}”")
        row_shift: dict[int, int] = {}
        col_shift: dict[int, int] = {}
        for code, p in named.items():
            if p.sheet == sheet:
                home = lay.places[code]
                row_shift.setdefault(home.row, p.row - home.row)
                col_shift.setdefault(home.col, p.col - home.col)
        all_dr = _unique([*row_shift.values(), 0])
        all_dc = _unique([*col_shift.values(), 0])
        for code in region.codes:
            home = lay.places[code]
            anchors = the_plan.anchors.get(code, ())
            p = named.get(code)
            if p is not None and p.sheet == sheet:
                candidates = [(p.row - home.row, p.col - home.col)]
            else:
                drs = [row_shift[home.row]] if home.row in row_shift else _nearest(row_shift, home.row)
                dcs = [col_shift[home.col]] if home.col in col_shift else _nearest(col_shift, home.col)
                candidates = [(dr, dc) for dr in drs for dc in dcs]
            best: tuple[int, tuple[int, int], tuple[Anchor, int, int] | None] | None = None
            for dr, dc in candidates:
                misses, miss = _prove(anchors, dr, dc, all_dr, all_dc, sheet, key_at)
                if best is None or misses < best[0]:
                    best = (misses, (dr, dc), miss)
                if not misses:
                    break
            assert best is not None
            misses, (dr, dc), miss = best
            out.checked += len(anchors)
            out.matched += len(anchors) - misses
            if miss is not None:
                if sheet not in failed:
                    failed.add(sheet)
                    anchor, row, col = miss
                    found = cell_text(book.value(sheet, row, col)) or "（空白）"
                    out.problems.append(
                        Problem("structure-broken", sheet, cell=a1(row, col), expected=anchor.text, found=found)
                    )
                if not survey:
                    break
                continue
            out.places[code] = Place(sheet, home.row + dr, home.col + dc)
            if (dr, dc) != (0, 0):
                moved.setdefault(sheet, f"行或列有增删，如原 {home.a1} 的内容现位于 {a1(home.row + dr, home.col + dc)}")
    for sheet in dict.fromkeys([*renamed, *moved]):
        if sheet not in failed:
            reason = "；".join(r for r in (renamed.get(sheet), moved.get(sheet)) if r)
            out.problems.append(Problem("structure-changed", sheet, reason=reason))
    if failed:  # a broken sheet's cells are not read at all
        out.places = {code: p for code, p in out.places.items() if p.sheet not in failed}
    return out


def _intact(the_plan: Plan, book: Book) -> bool:
    """The common case, checked fast: every sheet there, names (if any) and labels all at home."""
    names = book.names
    if names:  # a name that is there must point home (Ref is a tuple: compared in C)
        homes = the_plan.homes
        if list(map(names.get, homes, homes.values())) != list(homes.values()):
            return False
    if not all(book.has_sheet(r.sheet) for r in the_plan.regions):
        return False
    for sheet, spots in the_plan.spots:
        grid = book.grid(sheet)
        for row, col, text, key in spots:
            found = at(grid, row, col)
            if found != text and label_key(found) != key:
                return False
    return True


def _named(region: Region, book: Book) -> dict[str, Place]:
    """Cells of a region whose defined name still points at a cell of an existing sheet."""
    named = {}
    for code in region.codes:
        ref = book.names.get(defined_name(code))
        if ref is not None and book.has_sheet(ref.sheet):
            named[code] = Place(ref.sheet, ref.row, ref.col)
    return named


def _nearest(shifts: dict[int, int], row: int) -> list[int]:
    """Shifts to try for a cell without a name: its neighbours' (above, then below), then none."""
    above = [shifts[r] for r in sorted(shifts) if r < row][-1:]
    below = [shifts[r] for r in sorted(shifts) if r > row][:1]
    return _unique([*above, *below, 0])


def _prove(
    anchors: tuple[Anchor, ...],
    dr: int,
    dc: int,
    all_dr: list[int],
    all_dc: list[int],
    sheet: str,
    key_at: Callable[[str, int, int], str],
) -> tuple[int, tuple[Anchor, int, int] | None]:
    """How many anchors are missing for a cell shifted by (dr, dc), and the first one with where it was due."""
    misses, first = 0, None
    for anchor in anchors:
        if anchor.axis == ROW:  # same row as the cell; its column may or may not have moved
            spots = [(anchor.row + dr, anchor.col + b) for b in _unique([dc, 0, *all_dc])]
        else:  # same column as the cell; the header may or may not have moved with the row
            spots = [(anchor.row + a, anchor.col + dc) for a in _unique([dr, 0, *all_dr])]
        if not any(key_at(sheet, r, c) == anchor.key for r, c in spots):
            misses += 1
            first = first or (anchor, *spots[0])
    return misses, first


def meta(book: Book, sheet: str) -> dict[str, str]:
    """The template's hidden key/value metadata (column A key, column B value), as strings."""
    out: dict[str, str] = {}
    for line in book.grid(sheet)[:50]:
        if len(line) >= 2 and isinstance(line[0], str) and line[0].strip():
            out[line[0].strip()] = cell_text(line[1])
    return out
