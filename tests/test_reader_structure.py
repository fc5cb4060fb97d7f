"""A structure changed by the user is read correctly with a notice, or refused naming what changed — never misread."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook.workbook import Workbook

from processor.layout import layout
from processor.reader import ReadResult, read_workbook
from processor.spec import get_spec
from tests.workbooks import SOFFICE, fill_template, needs_soffice, roundtrip

S2019, S2021 = get_spec("2019"), get_spec("2021")
S3 = "三、依申请公开"
SAVED_BY = ["openpyxl", pytest.param("libreoffice", marks=needs_soffice)]
_REF = re.compile(r"^(?P<sheet>'[^']+'|[^!]+)!\$(?P<col>[A-Z]+)\$(?P<row>\d+)$")


def full(edition: str) -> dict[str, int]:
    """Every input of an edition with a distinct value, so a cell read at a wrong address shows."""
    spec = get_spec(edition)
    inputs = [c for c, cell in spec.cells.items() if not cell.is_total]
    return {c: i % 97 + 1 for i, c in enumerate(inputs)}


def _names_on(wb: Workbook, sheet: str) -> list[tuple[str, re.Match[str]]]:
    out = []
    for name, dn in wb.defined_names.items():
        m = _REF.match(dn.attr_text or "")
        if m and m["sheet"].strip("'") == sheet:
            out.append((name, m))
    return out


def insert_row_like_excel(wb: Workbook, sheet: str, row: int) -> None:
    """Insert a row above 1-based `row` the way Excel does: cells, merged ranges and defined names move."""
    ws = wb[sheet]
    ws.insert_rows(row)
    for cr in list(ws.merged_cells.ranges):
        if cr.min_row >= row:
            cr.shift(row_shift=1)
        elif cr.max_row >= row:
            cr.expand(down=1)
    for name, m in _names_on(wb, sheet):
        r = int(m["row"])
        if r >= row:
            wb.defined_names[name].attr_text = f"{m['sheet']}!${m['col']}${r + 1}"


def insert_column_like_excel(wb: Workbook, sheet: str, col: int) -> None:
    """Insert a column left of 1-based `col` the way Excel does: cells, merged ranges and names move."""
    ws = wb[sheet]
    ws.insert_cols(col)
    for cr in list(ws.merged_cells.ranges):
        if cr.min_col >= col:
            cr.shift(col_shift=1)
        elif cr.max_col >= col:
            cr.expand(right=1)
    for name, m in _names_on(wb, sheet):
        c = column_index_from_string(m["col"])
        if c >= col:
            wb.defined_names[name].attr_text = f"{m['sheet']}!${get_column_letter(c + 1)}${m['row']}"


def rename_sheet_like_excel(wb: Workbook, old: str, new: str) -> None:
    """Rename a sheet; Excel rewrites every defined name that points at it."""
    wb[old].title = new
    for name, m in _names_on(wb, old):
        wb.defined_names[name].attr_text = f"'{new}'!${m['col']}${m['row']}"


def delete_sheet_like_excel(wb: Workbook, sheet: str) -> None:
    """Delete a sheet; Excel turns the names that pointed at it into #REF!."""
    for name, m in _names_on(wb, sheet):
        wb.defined_names[name].attr_text = f"#REF!${m['col']}${m['row']}"
    wb.remove(wb[sheet])


def drop_names(wb: Workbook) -> None:
    for name in list(wb.defined_names):
        del wb.defined_names[name]


def _edited(path: Path, *edits: Callable[[Workbook], None]) -> Path:
    wb = openpyxl.load_workbook(path)
    for edit in edits:
        edit(wb)
    wb.save(path)
    return path


def _s3_row(code: str) -> int:
    """1-based sheet row of a 2019 三 cell."""
    return layout(S2019).places[code].row + 1


def _build(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)

    def fill(name: str, edition: str = "2019", **kw: object) -> Path:
        year = 2019 if edition == "2019" else 2025
        return fill_template(folder / f"{name}.xlsx", edition=edition, year=year, values=full(edition), **kw)  # type: ignore[arg-type]

    label_cell = f"C{_s3_row('s3.r3_3_2.c1')}"
    return {
        "intact": fill("intact"),
        "no-names": _edited(fill("no-names"), drop_names),
        "copied-2021": _edited(fill("copied-2021", "2021"), drop_names, lambda wb: wb.remove(wb["_meta"])),
        "renamed": _edited(fill("renamed"), lambda wb: rename_sheet_like_excel(wb, S3, "依申请公开情况")),
        "deleted": _edited(fill("deleted"), lambda wb: delete_sheet_like_excel(wb, "四、复议诉讼")),
        "row-inserted": _edited(
            fill("row-inserted"), lambda wb: insert_row_like_excel(wb, S3, _s3_row("s3.r3_3_1.c1"))
        ),
        "column-inserted": _edited(fill("column-inserted"), lambda wb: insert_column_like_excel(wb, "四、复议诉讼", 3)),
        "row-inserted-names-stale": _edited(
            fill("row-inserted-names-stale"), lambda wb: wb[S3].insert_rows(_s3_row("s3.r3_3_1.c1"))
        ),
        "label-edited": _edited(
            fill("label-edited"), lambda wb: wb[S3].__setitem__(label_cell, "2.其他法律行政止公开")
        ),
    }


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    base = tmp_path_factory.mktemp("structure")
    out = {"openpyxl": _build(base / "openpyxl")}
    if SOFFICE:
        shutil.copytree(base / "openpyxl", base / "libreoffice")
        out["libreoffice"] = {n: base / "libreoffice" / p.name for n, p in out["openpyxl"].items()}
        roundtrip(out["libreoffice"].values())
    return out


_cache: dict[Path, ReadResult] = {}


def read(books: dict[str, dict[str, Path]], saved_by: str, case: str) -> ReadResult:
    path = books[saved_by][case]
    if path not in _cache:
        _cache[path] = read_workbook(path)
    return _cache[path]


def structural(result: ReadResult) -> list[tuple[str, str | None]]:
    kinds = ("structure-changed", "structure-broken", "sheet-missing", "not-template")
    return [(f.rule_id, f.sheet) for f in result.findings if f.rule_id in kinds]


def inputs(result: ReadResult, edition: str = "2019") -> dict[str, int]:
    assert result.submission is not None
    return {c: result.submission.values[c] for c in full(edition)}


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_intact_template__reads_every_number_without_structure_notice(books, saved_by: str) -> None:
    result = read(books, saved_by, "intact")
    assert inputs(result) == full("2019") and structural(result) == []


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_defined_names_gone__cells_read_at_the_layout_after_checking_labels(books, saved_by: str) -> None:
    result = read(books, saved_by, "no-names")
    assert inputs(result) == full("2019") and structural(result) == []


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_copied_workbook_without_metadata__edition_recognised_from_labels(books, saved_by: str) -> None:
    result = read(books, saved_by, "copied-2021")
    assert result.spec is S2021
    assert inputs(result, "2021") == full("2021")
    assert result.submission is not None and result.submission.year == 2025


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_renamed_sheet__read_through_its_names_with_a_notice(books, saved_by: str) -> None:
    result = read(books, saved_by, "renamed")
    assert inputs(result) == full("2019")
    assert structural(result) == [("structure-changed", "依申请公开情况")]
    assert "工作表名称已由“三、依申请公开”改为“依申请公开情况”" in result.findings[0].message


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_deleted_sheet__is_refused_naming_the_sheet(books, saved_by: str) -> None:
    result = read(books, saved_by, "deleted")
    assert result.submission is None and result.spec is S2019
    assert structural(result) == [("sheet-missing", "四、复议诉讼")]
    assert result.findings[0].severity == "error" and "缺少“四、复议诉讼”工作表" in result.findings[0].message


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_row_inserted_as_excel_does__read_at_the_moved_cells_with_a_notice(books, saved_by: str) -> None:
    result = read(books, saved_by, "row-inserted")
    assert inputs(result) == full("2019")  # above the new row, below it, and the row after the total
    assert structural(result) == [("structure-changed", S3)]
    row = _s3_row("s3.r3_3_1.c1")
    assert f"原 D{row} 的内容现位于 D{row + 1}" in result.findings[0].message
    sub = result.submission
    assert sub is not None and sub.values["s3.r3_7.c1"] == sum(sub.values[p] for p in S2019.cells["s3.r3_7.c1"].parts)
    blank = [f for f in result.findings if f.rule_id in ("value-blank", "table-blank")]
    assert blank == []  # the inserted row is not taken for blank inputs


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_column_inserted_as_excel_does__read_at_the_moved_cells_with_a_notice(books, saved_by: str) -> None:
    result = read(books, saved_by, "column-inserted")
    assert inputs(result) == full("2019")
    assert structural(result) == [("structure-changed", "四、复议诉讼")]
    assert "原 C6 的内容现位于 D6" in result.findings[0].message


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_row_inserted_but_names_left_behind__is_refused_never_misread(books, saved_by: str) -> None:
    result = read(books, saved_by, "row-inserted-names-stale")
    assert result.submission is None
    assert structural(result) == [("structure-broken", S3)]
    f = result.findings[0]
    row = _s3_row("s3.r3_3_1.c1")
    assert (f.severity, f.cell, f.expected, f.found) == ("error", f"C{row}", "1.属于国家秘密", "（空白）")
    assert f"“{S3}”工作表 C{row} 应为“1.属于国家秘密”，实际为“（空白）”" in f.message


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_edited_label__is_refused_naming_cell_expected_and_found(books, saved_by: str) -> None:
    result = read(books, saved_by, "label-edited")
    assert result.submission is None
    (f,) = [f for f in result.findings if f.rule_id == "structure-broken"]
    assert (f.cell, f.expected, f.found) == (
        f"C{_s3_row('s3.r3_3_2.c1')}",
        "2.其他法律行政法规禁止公开",
        "2.其他法律行政止公开",
    )


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_row_inserted__findings_give_the_template_cell_and_where_it_is_in_the_file(tmp_path, saved_by: str) -> None:
    """A clerk inserted a row in 三、依申请公开 and typed 五件 below it: every finding names the cell as the
    template and the feedback workbook have it (one frame for the rules, the reader and the feedback's
    marks), and says where that cell is in the clerk's own file, so the message is right in both."""
    from processor.check import check_workbook

    path = fill_template(tmp_path / "报告.xlsx", edition="2019", year=2019, values=full("2019"))
    home = layout(S2019).places["s3.r4.c1"]  # (四、结转下年度继续办理, below the row inserted)
    moved = f"{home.a1[0]}{home.row + 2}"

    def typo(wb: Workbook) -> None:
        wb[S3][moved] = "五件"

    _edited(path, lambda wb: insert_row_like_excel(wb, S3, _s3_row("s3.r3_3_1.c1")), typo)
    if saved_by == "libreoffice":
        roundtrip([path])
    result = check_workbook(path)
    [typed] = [f for f in result.report.findings if f.rule_id == "value-not-number"]
    assert typed.cell == home.a1
    assert home.a1 in typed.message and f"原文件中 {home.a1} 为 {moved}" in typed.message
    [e1] = [f for f in result.report.findings if f.rule_id == "E1" and f.cell == "E6"]  # (column D's: dropped)
    assert f"E{home.row + 1} 为 E{home.row + 2}" in e1.message and "原文件中 E27 为 E28" in e1.message
    assert not any("原文件中 D6 为" in f.message for f in result.report.findings)  # (cells above it did not move)


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_the_情况说明_sheet_deleted__the_report_is_read_with_a_notice_not_refused(tmp_path, saved_by: str) -> None:
    """A clerk tidies the workbook by deleting the empty 情况说明 sheet: nothing to read is lost, so the report
    is read and checked as usual; a notice says warnings cannot be explained in this file."""
    path = fill_template(tmp_path / "报告.xlsx", edition="2021", year=2025, values=full("2021"))
    _edited(path, lambda wb: delete_sheet_like_excel(wb, "情况说明"))
    if saved_by == "libreoffice":
        roundtrip([path])
    result = read_workbook(path)
    assert [(f.rule_id, f.severity, f.sheet) for f in result.findings if "sheet" in f.rule_id] == [
        ("notes-sheet-missing", "notice", "情况说明")
    ]
    assert inputs(result, "2021") == full("2021") and result.submission.notes == []


@needs_soffice
def test_an_xls_with_a_row_inserted__is_refused_saying_that_saving_it_as_xlsx_may_be_all_it_takes(tmp_path) -> None:
    """The same workbook reads as .xlsx (its cell names find the moved cells) but not as .xls (our .xls reader
    has no names): the refusal says to save it as .xlsx, not only to fill in the template again."""
    from processor.reader import XLS_HINT
    from tests.workbooks import convert

    path = fill_template(tmp_path / "报告.xlsx", edition="2019", year=2019, values=full("2019"))
    _edited(path, lambda wb: insert_row_like_excel(wb, S3, _s3_row("s3.r3_3_1.c1")))
    [xls] = convert([path], "xls")
    refused = [f for f in read_workbook(xls).findings if f.severity == "error"]
    assert refused and all(f.message.endswith(XLS_HINT) for f in refused)
    assert read_workbook(path).submission is not None  # (as .xlsx it reads)
