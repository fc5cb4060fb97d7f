"""A submitted workbook opened for reading: sheet names, cell values, defined names and formula cells."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineWorkbook, PasswordError

from . import ods, xlsx
from .fileformat import Limits
from .xlsx import PackageError, Ref, XmlCell

Grid = list[list[Any]]
MAX_ROWS = 1000  # rows of a sheet read (the template's longest sheet has under 40)
MAX_COLS = 256  # a sheet used beyond this column (a stray entry at XFD1) is read through openpyxl, capped
CAPPED_COLS = 64  # columns read on that path (the widest table has 15 numbers)


def is_fatal(exc: BaseException) -> bool:
    """Exceptions that must never be turned into findings (calamine's Rust panics, by contrast, must be)."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError))


class BookError(Exception):
    """The workbook cannot be opened; carries the catalogue rule id and the reason in Chinese."""

    def __init__(self, rule_id: str, reason: str = "") -> None:
        super().__init__(reason)
        self.rule_id, self.reason = rule_id, reason


@dataclass
class Book:
    """Values by 0-based (sheet, row, col) as an office suite shows them, plus what calamine cannot tell.

    `names` holds workbook-scope defined names (empty for .xls/.xlsb, whose names are not read).
    `formulas_known` is false for formats whose formula cells are not scanned (.xls, .xlsb): there a
    formula's stored result is read like a typed value and error values read as blank.
    """

    kind: str  # xlsx | xls | xlsb | ods
    sheet_names: list[str]
    names: dict[str, Ref | None]
    formulas_known: bool
    engine: str  # calamine | openpyxl
    _load_grid: Callable[[str], Grid]
    _load_cells: Callable[[str], dict[tuple[int, int], XmlCell]]
    _grids: dict[str, Grid] = field(default_factory=dict)
    _cells: dict[str, dict[tuple[int, int], XmlCell]] = field(default_factory=dict)

    def has_sheet(self, sheet: str) -> bool:
        return sheet in self.sheet_names

    def grid(self, sheet: str) -> Grid:
        """A sheet's values from A1 (rows of equal length); raises BookError when the sheet cannot be read."""
        if sheet not in self._grids:
            try:
                self._grids[sheet] = self._load_grid(sheet) if sheet in self.sheet_names else []
            except BaseException as exc:  # calamine panics (pyo3 PanicException) on some damaged files
                if is_fatal(exc):
                    raise
                raise BookError("file-unreadable", f"工作表“{sheet}”无法解析（{_short(exc)}）") from exc
        return self._grids[sheet]

    def value(self, sheet: str, row: int, col: int) -> Any:
        """The value shown in a cell ("" when empty, outside the used area, or the sheet is absent)."""
        grid = self.grid(sheet)
        if 0 <= row < len(grid):
            line = grid[row]
            if 0 <= col < len(line):
                v = line[col]
                return "" if v is None else v
        return ""

    def xml_cell(self, sheet: str, row: int, col: int) -> XmlCell | None:
        """The formula or error a cell holds, when the format lets us know; raises BookError."""
        if sheet not in self._cells:
            try:
                self._cells[sheet] = self._load_cells(sheet) if sheet in self.sheet_names else {}
            except PackageError as exc:
                raise BookError("file-unreadable", str(exc)) from exc
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                raise BookError("file-unreadable", f"压缩内容已损坏：{type(exc).__name__}") from exc
        return self._cells[sheet].get((row, col))


def _no_cells(_sheet: str) -> dict[tuple[int, int], XmlCell]:
    return {}


def open_book(data: bytes, kind: str, limits: Limits) -> Book:
    """Open a workbook's bytes with calamine (openpyxl as the fallback for .xlsx); raises BookError.

    Reads nothing but the bytes given; the submitted file is never touched.
    """
    cap = limits.max_uncompressed_bytes
    names: dict[str, Ref | None] = {}
    load_cells: Callable[[str], dict[tuple[int, int], XmlCell]] = _no_cells
    sprawls: Callable[[str], bool] = lambda _sheet: False  # noqa: E731
    formulas_known = kind in ("xlsx", "ods")
    zf = zipfile.ZipFile(io.BytesIO(data)) if kind in ("xlsx", "xlsb", "ods") else None
    try:
        if kind == "xlsx" and zf is not None:
            package = xlsx.open_package(zf, cap)
            names, load_cells, sprawls = package.names, package.cells, package.sprawls
        elif kind == "ods" and zf is not None:
            if b"encryption-data" in xlsx.read_part(zf, "META-INF/manifest.xml", cap):
                raise BookError("file-encrypted")
            names, scanned = ods.scan_content(zf, cap)
            load_cells = lambda sheet: scanned.get(sheet, {})  # noqa: E731
    except PackageError as exc:
        raise BookError("file-unreadable", str(exc)) from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise BookError("file-unreadable", f"压缩内容已损坏：{type(exc).__name__}") from exc
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet_names = list(wb.sheet_names)

        def load_grid(sheet: str) -> Grid:
            if sprawls(sheet):  # a stray entry far away: calamine would build the whole range in memory
                return _openpyxl_grid(data, sheet)
            ws = wb.get_sheet_by_name(sheet)
            if ws.end is not None and ws.end[1] >= MAX_COLS:  # calamine cannot cap columns
                if kind == "xlsx":
                    return _openpyxl_grid(data, sheet)
                raise BookError(
                    "file-unreadable",
                    f"工作表“{sheet}”的内容延伸到第 {ws.end[1] + 1} 列，远超模板范围；请删除表格以外多余的内容后重新保存",
                )
            return ws.to_python(skip_empty_area=False, nrows=MAX_ROWS)

        return Book(kind, sheet_names, names, formulas_known, "calamine", load_grid, load_cells)
    except PasswordError as exc:
        raise BookError("file-encrypted") from exc
    except BaseException as exc:  # calamine raises several types for malformed content, and may panic
        if is_fatal(exc):
            raise
        if kind != "xlsx":
            raise BookError("file-unreadable", f"工作簿内容无法解析（{_short(exc)}）") from exc
        return _open_with_openpyxl(data, names, load_cells, exc)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _openpyxl_grid(data: bytes, sheet: str) -> Grid:
    """One sheet's values through openpyxl read-only, capped at MAX_ROWS × CAPPED_COLS."""
    import openpyxl  # imported here: the common path never pays for it

    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    try:
        ws = wb[sheet]
        rows = ws.iter_rows(min_row=1, max_row=MAX_ROWS, min_col=1, max_col=CAPPED_COLS, values_only=True)
        return [["" if v is None else v for v in row] for row in rows]
    finally:
        wb.close()


def _open_with_openpyxl(
    data: bytes,
    names: dict[str, Ref | None],
    load_cells: Callable[[str], dict[tuple[int, int], XmlCell]],
    first: BaseException,
) -> Book:
    """The fallback for an .xlsx calamine refuses: openpyxl (defusedxml-protected), values only."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
        sheet_names = list(wb.sheetnames)
        wb.close()
    except BaseException as exc:
        if is_fatal(exc):
            raise
        raise BookError("file-unreadable", f"工作簿内容无法解析（{_short(first)}）") from exc
    return Book("xlsx", sheet_names, names, True, "openpyxl", lambda s: _openpyxl_grid(data, s), load_cells)
