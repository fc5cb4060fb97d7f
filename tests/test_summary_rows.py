"""The summary's fast row writer emits exactly what xlsxwriter's own write_number would."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal

import pytest
import xlsxwriter

from processor import summary


def _sheet_xml(path, fast: bool, monkeypatch, fill=None) -> bytes:
    monkeypatch.setattr(summary, "_FAST", fast)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("明细", worksheet_class=summary.RowsSheet)
    (fill or _fill_numbers)(wb, ws)
    wb.close()
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")


def _fill_numbers(wb, ws) -> None:
    fmt_a, fmt_b = wb.add_format({"num_format": "#,##0"}), wb.add_format({"num_format": "0.0000", "bold": True})
    formats = [fmt_a, fmt_b, fmt_a, fmt_b]
    ws.write_string(0, 0, "单位")
    ws.write_numbers(1, 1, [1, Decimal("49.14"), None, 1808595], formats)
    ws.write_numbers(2, 1, [0, Decimal("0.0001"), 7, None], formats)
    ws.write_string(2, 6, "备注")


def test_fast_rows_write_the_same_xml_as_xlsxwriter(tmp_path, monkeypatch):
    fast = _sheet_xml(tmp_path / "fast.xlsx", True, monkeypatch)
    slow = _sheet_xml(tmp_path / "slow.xlsx", False, monkeypatch)
    assert fast == slow
    assert b"1808595" in fast and b"49.14" in fast


def _cells_xml(path, fast: bool, monkeypatch) -> tuple[bytes, bytes]:
    monkeypatch.setattr(summary, "_FAST_CELLS", fast)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("报送情况", worksheet_class=summary.RowsSheet)
    text, when = wb.add_format({"border": 1}), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_string(0, 0, "序号")
    long = "😀" * 20_000  # 40,000 UTF-16 units: cut to Excel's 32,767 as write_string does
    ws.write_cells(
        1,
        [(1, text), ("甲局", text), ("", text), (None, None), ("=1+2", text), (dt.datetime(2026, 1, 15, 9, 30), when)],
    )
    ws.write_cells(2, [(2, text), (Decimal("0.5"), text), (long, text), (None, text), ("乙局", text)])
    ws.write_cells(3, [(None, None), ("丙局", text)])
    wb.close()
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml"), z.read("xl/sharedStrings.xml")


def test_fast_cells_write_the_same_xml_as_xlsxwriter(tmp_path, monkeypatch):
    fast = _cells_xml(tmp_path / "fast.xlsx", True, monkeypatch)
    slow = _cells_xml(tmp_path / "slow.xlsx", False, monkeypatch)
    assert fast == slow
    assert "甲局".encode() in fast[1] and b"=1+2" in fast[1] and b'r="F2"' in fast[0]


def test_fast_cells__a_value_without_its_format__is_refused(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    ws = wb.add_worksheet("报送情况", worksheet_class=summary.RowsSheet)
    with pytest.raises(ValueError):
        ws.write_cells(0, [("甲局", None)])
    ws.write_cells(0, [(None, None), ("", None)])  # blanks without a format: nothing written
    wb.close()


def _fill_rows(wb, ws) -> None:
    """Rows of different widths over several blocks of 16 (spans), a gap, a row with attributes only."""
    fmt = wb.add_format({"num_format": "#,##0"})
    ws.write_string(0, 0, "单位")
    ws.set_row(2, 30)
    for row in range(3, 60):
        if row % 7 == 3:
            continue
        width = 1 + row % 3
        ws.write_numbers(row, width, [row, None, 2 * row][:width], [fmt] * width)
        if row % 5 == 0:
            ws.write_string(row, 9, "备注")
            ws.set_row(row, None, None, {"level": 2})
    ws.write_cells(61, [(1, fmt), ("合计", fmt)])


def test_fast_row_loops_write_the_same_xml_as_xlsxwriter(tmp_path, monkeypatch):
    """RowsSheet visits only the cells a row has; the sheet XML (spans included) stays xlsxwriter's."""
    monkeypatch.setattr(summary, "_FAST_LOOPS", True)
    fast = _sheet_xml(tmp_path / "fast.xlsx", True, monkeypatch, _fill_rows)
    monkeypatch.setattr(summary, "_FAST_LOOPS", False)
    slow = _sheet_xml(tmp_path / "slow.xlsx", True, monkeypatch, _fill_rows)
    assert fast == slow and b'spans="' in fast and b'outlineLevel="2"' in fast
