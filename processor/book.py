"""A submitted workbook opened for reading: sheet names, cell values, defined names and formula cells."""

from __future__ import annotations

import io
import os
import struct
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from python_calamine import CalamineWorkbook, PasswordError

from . import ods, xls, xlsx
from .fileformat import DAMAGED, Inflated, Limits, ZipRefused, budget, inflate
from .stored import stored_zip
from .xlsx import PackageError, Ref, XmlCell

Grid = list[list[Any]]
MAX_ROWS = 1000  # rows of a sheet read (the template's longest sheet has under 40)
MAX_COLS = 256  # a sheet used beyond this column (a stray entry at XFD1) is read through openpyxl, capped
FAR_ROWS = 10_000  # an .ods/.xls sheet whose content reaches this row (or MAX_COLS) is refused before calamine
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
        return at(self.grid(sheet), row, col)

    def xml_cells(self, sheet: str) -> Mapping[tuple[int, int], XmlCell]:
        """Every formula or error cell of a sheet by 0-based (row, col); raises BookError."""
        if sheet not in self._cells:
            try:
                self._cells[sheet] = self._load_cells(sheet) if sheet in self.sheet_names else {}
            except PackageError as exc:
                raise BookError("file-unreadable", str(exc)) from exc
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                raise BookError("file-unreadable", DAMAGED) from exc
        return self._cells[sheet]


def at(grid: Grid, row: int, col: int) -> Any:
    """Book.value on a grid already fetched: the value shown, "" when empty or outside it."""
    if 0 <= row < len(grid):
        line = grid[row]
        if 0 <= col < len(line):
            v = line[col]
            return "" if v is None else v
    return ""


def _no_cells(_sheet: str) -> dict[tuple[int, int], XmlCell]:
    return {}


def open_book(data: bytes, kind: str, limits: Limits, parts: Inflated | None = None) -> Book:
    """Open a workbook's bytes with calamine (openpyxl as the fallback for .xlsx); raises BookError.

    `parts` is the zip as fileformat.sniff inflated and checked it; without it a zip is checked
    here, so no parser ever sees a zip whose entries inflate beyond what they declare. A plain .xlsx
    reaches calamine as those checked parts, stored (stored.py), so they are not inflated twice.
    Reads nothing but the bytes given; the submitted file is never touched.
    """
    cap = limits.max_uncompressed_bytes
    names: dict[str, Ref | None] = {}
    load_cells: Callable[[str], dict[tuple[int, int], XmlCell]] = _no_cells
    sprawls: Callable[[str], bool] = lambda _sheet: False  # noqa: E731
    formulas_known = kind in ("xlsx", "ods")
    inflated = (parts if parts is not None else _checked_parts(data, limits)) if kind in ZIP_KINDS else None
    zf = xlsx.Parts(inflated, data) if inflated is not None else None
    try:
        if kind == "xlsx" and zf is not None:
            package = xlsx.open_package(zf, cap)
            names, load_cells, sprawls = package.names, package.cells, package.sprawls
        elif kind == "ods" and zf is not None:
            if b"encryption-data" in xlsx.read_part(zf, "META-INF/manifest.xml", cap):
                raise BookError("file-encrypted")
            names, scanned, reach = ods.scan_content(zf, cap)
            load_cells = lambda sheet: scanned.get(sheet, {})  # noqa: E731
            _refuse_far(reach.items())  # calamine parses every sheet of an .ods when it opens it
    except PackageError as exc:
        raise BookError("file-unreadable", str(exc)) from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise BookError("file-unreadable", DAMAGED) from exc
    if kind == "xls":  # calamine parses every sheet of an .xls when it opens it
        _refuse_far(_xls_reach(data))
    try:
        source = data
        if kind == "xlsx" and inflated is not None and inflated.plain:
            source = stored_zip(inflated.plain, inflated.parts)
        with quiet_panics():
            wb = CalamineWorkbook.from_filelike(io.BytesIO(source))
        sheet_names = list(wb.sheet_names)

        def load_grid(sheet: str) -> Grid:
            if sprawls(sheet):  # a stray entry far away: calamine would build the whole range in memory
                return _openpyxl_grid(data, sheet)
            with quiet_panics():
                try:
                    ws = wb.get_sheet_by_name(sheet)
                except BaseException as exc:  # one odd cell (a logical value of 2) makes calamine refuse the sheet
                    if kind != "xlsx" or is_fatal(exc):
                        raise
                    ws = None  # openpyxl reads it, and the cell is judged by itself
                last_col = ws.end[1] if ws is not None and ws.end is not None else -1
                if ws is not None and last_col < MAX_COLS:  # calamine cannot cap columns
                    return ws.to_python(skip_empty_area=False, nrows=MAX_ROWS)
            if ws is None or kind == "xlsx":
                return _openpyxl_grid(data, sheet)
            raise BookError(
                "file-unreadable",
                f"工作表“{sheet}”的内容延伸到第 {last_col + 1} 列，远超模板范围；请删除表格以外多余的内容后重新保存",
            )

        return Book(kind, sheet_names, names, formulas_known, "calamine", load_grid, load_cells)
    except PasswordError as exc:
        raise BookError("file-encrypted") from exc
    except BaseException as exc:  # calamine raises several types for malformed content, and may panic
        if is_fatal(exc):
            raise
        if kind != "xlsx":
            raise BookError("file-unreadable", f"工作簿内容无法解析（{_short(exc)}）") from exc
        return _open_with_openpyxl(data, names, load_cells, exc)


ZIP_KINDS = ("xlsx", "xlsb", "ods")


@contextmanager
def quiet_panics() -> Iterator[None]:
    """Silence the standard error stream (file descriptor 2) around a call into calamine.

    A damaged file can make calamine panic: pyo3 turns the panic into PanicException (which the
    reader maps to file-unreadable), but Rust's panic hook first prints "thread panicked at …" and,
    with RUST_BACKTRACE set, a backtrace straight to fd 2, where a clerk would take it for a crash.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (a GUI, a service): nothing to hide
        yield
        return
    try:
        os.dup2(_devnull(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@cache
def _devnull() -> int:
    """A descriptor of the null device, opened once per process (and kept, like stdin/stdout)."""
    return os.open(os.devnull, os.O_WRONLY)


def _refuse_far(reach: Iterable[tuple[str, tuple[int, int]]]) -> None:
    """BookError for an .ods/.xls sheet reaching FAR_ROWS or MAX_COLS: calamine would build it as one
    dense grid (a stray entry at IV65536 costs about 1 GB), and there is no capped reader to fall back on."""
    for sheet, (rows, cols) in reach:
        if rows >= FAR_ROWS or cols >= MAX_COLS:
            raise BookError(
                "file-unreadable",
                f"工作表“{sheet}”中有内容远在表格之外（延伸到第 {rows + 1} 行、第 {cols + 1} 列），"
                "为避免耗尽内存未予读取；请删除表格以外多余的内容",
            )


def _xls_reach(data: bytes) -> list[tuple[str, tuple[int, int]]]:
    """(sheet name, (last row, last col)) of each sheet of an .xls, from its records; BookError when unreadable."""
    try:
        found, encrypted = xls.extents(data)
    except (xls.XlsError, struct.error, IndexError, ValueError) as exc:
        raise BookError("file-unreadable", "文件内部结构已损坏") from exc
    if encrypted:
        raise BookError("file-encrypted")
    return [(e.name or f"第 {i + 1} 张", (e.rows, e.cols)) for i, e in enumerate(found)]


def _checked_parts(data: bytes, limits: Limits) -> Inflated:
    """The XML parts of a zip, refused (BookError) when its directory is over budget or lies."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise BookError("file-unreadable", DAMAGED) from exc
    try:
        over = budget(infos, limits)
        if over is not None:
            raise ZipRefused(over)
        return inflate(data, infos, limits)
    except ZipRefused as exc:
        raise BookError(exc.refusal.rule_id or "file-unreadable", exc.refusal.reason or "") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _openpyxl() -> Any:
    """openpyxl (imported here: the common path never pays for it), only while it parses through
    defusedxml; it does so when defusedxml is installed, unless OPENPYXL_DEFUSEDXML=False is set."""
    import openpyxl
    from openpyxl.worksheet import _reader
    from openpyxl.xml import functions

    parsers = (functions.fromstring, functions.iterparse, _reader.iterparse)
    if not openpyxl.DEFUSEDXML or not all(p.__module__.startswith("defusedxml") for p in parsers):
        raise BookError("file-unreadable", "备用的读取方式未启用 XML 防护（defusedxml），为安全起见未予读取")
    return openpyxl


def _openpyxl_grid(data: bytes, sheet: str) -> Grid:
    """One sheet's values through openpyxl read-only, capped at MAX_ROWS × CAPPED_COLS."""
    openpyxl = _openpyxl()

    with warnings.catch_warnings():  # openpyxl warns (in English, on the console) about what it repairs
        warnings.simplefilter("ignore")
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
    openpyxl = _openpyxl()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
        sheet_names = list(wb.sheetnames)
        wb.close()
    except BaseException as exc:
        if is_fatal(exc):
            raise
        raise BookError("file-unreadable", f"工作簿内容无法解析（{_short(first)}）") from exc
    return Book("xlsx", sheet_names, names, True, "openpyxl", lambda s: _openpyxl_grid(data, s), load_cells)
