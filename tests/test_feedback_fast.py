"""The pre-rendered feedback workbook: for every purpose a user or our reader has, the same workbook as
the one xlsxwriter renders whole (the reference), in a fraction of the time."""

from __future__ import annotations

import shutil
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from processor import feedback
from processor.check import CheckResult, check_workbook
from processor.feedback import SHEET, write_feedback
from processor.findings import Report, finding
from processor.package import Part, new_entry, zip_bytes
from processor.template import write_workbook
from tests.submissions import submission, zeros
from tests.test_feedback import BROKEN_E1, result_of
from tests.workbooks import SOFFICE, fill_template, roundtrip

LONG = "本年度主动公开政府信息，" * 300  # 3,600 characters


def _colour(c: Any) -> Any:
    return (c.type, c.rgb if c.type == "rgb" else c.theme if c.type == "theme" else c.indexed) if c else None


def _side(s: Any) -> Any:
    return (s.style, _colour(s.color)) if s else None


def _cell(c: Any) -> tuple:
    """Everything a user sees of one cell."""
    return (
        c.value,
        c.data_type,
        c.number_format,
        c.quotePrefix,
        (c.fill.fill_type, _colour(c.fill.fgColor)),
        tuple(_side(getattr(c.border, side)) for side in ("left", "right", "top", "bottom")),
        (c.font.name, c.font.sz, c.font.b, c.font.u, _colour(c.font.color)),
        (c.alignment.horizontal, c.alignment.vertical, c.alignment.wrap_text),
        c.protection.locked,
        c.comment.text if c.comment else None,
        (c.hyperlink.location, c.hyperlink.display, c.hyperlink.tooltip) if c.hyperlink else None,
    )


def snapshot(path: Path) -> dict[str, Any]:
    """What a user sees of a workbook, as openpyxl reads it: sheets, cells, names, validations, print setup."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {
        "sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets],
        "active": wb.active.title,
        "names": sorted((name, dn.attr_text) for name, dn in wb.defined_names.items()),
        "subject": wb.properties.subject,
        "title": wb.properties.title,
    }
    for ws in wb.worksheets:
        cells = {c.coordinate: _cell(c) for row in ws.iter_rows() for c in row}
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted(
                (
                    *(str(v.sqref), v.type, v.operator, v.formula1, v.formula2, v.allow_blank, v.errorStyle),
                    *(v.promptTitle, v.prompt, v.errorTitle, v.error, v.showInputMessage, v.showErrorMessage),
                )
                for v in ws.data_validations.dataValidation
            ),
            "conditional": sorted(
                (str(cf.sqref), r.type, r.operator, tuple(r.formula or ()), r.text)
                for cf in ws.conditional_formatting
                for r in cf.rules
            ),
            "protection": (
                *(ws.protection.sheet, ws.protection.formatColumns, ws.protection.formatRows),
                *(ws.protection.objects, ws.protection.scenarios, ws.protection.password),
            ),
            "freeze": ws.freeze_panes,
            "selected": ws.sheet_view.tabSelected,
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "print": (
                ws.page_setup.orientation,
                ws.page_setup.paperSize,
                ws.page_setup.fitToWidth,
                ws.page_setup.fitToHeight,
                ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None,
                ws.print_options.horizontalCentered,
                (ws.page_margins.left, ws.page_margins.right, ws.page_margins.top, ws.page_margins.bottom),
                ws.print_title_rows,
                (ws.oddHeader.left.text, ws.oddHeader.center.text, ws.oddHeader.right.text),
                (ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text),
            ),
        }
    return out


def findings_of(path: Path) -> list[tuple]:
    return [
        (f.rule_id, f.severity, f.sheet, f.cell, f.code, f.found, f.expected)
        for f in check_workbook(path).report.sorted()
    ]


def both(tmp: Path, result: CheckResult) -> tuple[Path, Path]:
    """The fast workbook (which must not have fallen back to the reference path) and the reference."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feedback, "write_workbook", _no_fallback)
        fast = write_feedback(tmp / "fast.xlsx", result)
    reference = write_feedback(tmp / "reference.xlsx", result, engine="xlsxwriter")
    return fast, reference


def _no_fallback(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the fast path fell back to the xlsxwriter path")


def drawings(path: Path) -> dict[str, bytes]:
    """The comment parts: their text, and the VML that places each comment box."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith(("xl/comments", "xl/drawings/"))}


def assert_same(fast: Path, reference: Path) -> None:
    a, b = snapshot(fast), snapshot(reference)
    assert list(a) == list(b)
    for key in b:  # a sheet at a time: a readable difference
        if isinstance(b[key], dict):
            for part in b[key]:
                assert a[key][part] == b[key][part], (key, part)
        else:
            assert a[key] == b[key], key
    assert drawings(fast) == drawings(reference)
    assert findings_of(fast) == findings_of(reference)


# ---- the cases ------------------------------------------------------------------------------------


def mixed() -> CheckResult:
    """Errors, an explained and an open warning, a typed-over total (E4), all on the 2019 edition."""
    this = submission(
        year=2020,
        values={**BROKEN_E1, "s3.r2.c2": 0, "s4.r1.c1": 2},
        shown={"s4.r1.c5": 3},
        notes=[("I1", "D7", "上年数据统计口径调整所致")],
    )
    return result_of(this, submission(year=2019, values={"s3.r4.c1": 2, "s3.r4.c2": 3}))


def refused_and_formula_like() -> CheckResult:
    """Refused values typed as text (one looking like a formula), formula-like texts, control characters."""
    sub = submission(
        values={**zeros("2019"), "s3.r1.c1": 0, "s3.r1.c2": 3, "s2_9.r1.c2": Decimal("1.2345"), "s2_5.r1.c2": -3},
        texts={
            "text.s1": "=1+2",
            "text.s5": '第一行\n第二行\t制表\x01控制_x0041_字符 & <标签> "引号"',
            "text.s6": " 前后有空格 ",
            "info.filler": "+86 张三",
            "info.phone": "-",
        },
        agency="某局 & <办公室>",
    )
    spec = sub.spec
    findings = [
        finding(spec, "value-not-number", sheet="三、依申请公开", cell="D6", code="s3.r1.c1", found="五件"),
        finding(spec, "value-not-number", sheet="三、依申请公开", cell="E6", code="s3.r1.c2", found="=SUM(1)"),
    ]
    return CheckResult("a&b<c>.xlsx", sub, Report(findings), spec)


def long_texts_rollup() -> CheckResult:
    """A county roll-up with long texts, decimals in amounts and notices only (2021 edition)."""
    sub = submission(
        edition="2021",
        year=2025,
        values={**zeros("2021"), "s3.r1.c1": 7, "s3.r4.c1": 7, "s2_8.r1.c1": Decimal("12.5")},
        texts={"text.s1": LONG, "text.s5": "无", "text.s6": "收取信息处理费 0 元。"},
        kind="rollup",
        units=12,
    )
    return result_of(sub)


def no_findings() -> CheckResult:
    sub = submission(
        edition="2021", year=2025, values=zeros("2021"), texts={"text.s1": "正常", "text.s5": "无", "text.s6": "无"}
    )
    return CheckResult("clean.xlsx", sub, Report([]), sub.spec)


CASES = {
    "mixed": mixed,
    "refused-and-formula-like": refused_and_formula_like,
    "long-texts-rollup": long_texts_rollup,
    "no-findings": no_findings,
}


@pytest.mark.parametrize("case", CASES)
def test_fast__same_workbook_as_the_reference(tmp_path, case):
    assert_same(*both(tmp_path, CASES[case]()))


@pytest.fixture(scope="module")
def real_files(tmp_path_factory) -> dict[str, CheckResult]:
    """Files filled the way users do (openpyxl on our template) and read by our reader, both editions."""
    base = tmp_path_factory.mktemp("real")
    books = {
        "2021-broken": fill_template(base / "a.xlsx", values={**zeros(), **BROKEN_E1}),
        "2019-words": fill_template(
            base / "b.xlsx",
            edition="2019",
            year=2020,
            values={**zeros("2019"), "s3.r1.c1": "五件", "s3.r1.c2": "=1+2", "s2_1.r1.c1": "无"},
            texts={"text.s5": '=HYPERLINK("http://x")', "info.agency": "=1+1"},
        ),
        "2021-blank-table": fill_template(base / "c.xlsx", values={"s3.r1.c1": 3}, texts={"text.s6": ""}),
    }
    return {name: check_workbook(path) for name, path in books.items()}


@pytest.mark.parametrize("name", ["2021-broken", "2019-words", "2021-blank-table"])
def test_fast__real_files__same_workbook_as_the_reference(tmp_path, real_files, name):
    result = real_files[name]
    assert result.report.findings and result.submission is not None
    assert_same(*both(tmp_path, result))


def test_fast__results_sheet_first_active_and_linked(tmp_path):
    fast, _ = both(tmp_path, mixed())
    wb = openpyxl.load_workbook(fast)
    assert wb.sheetnames[0] == SHEET and wb.active.title == SHEET
    links = [c.hyperlink.location for row in wb[SHEET].iter_rows(min_row=11) for c in row if c.hyperlink]
    assert links[0] == "'三、依申请公开'!D6"


def test_fast__opened_and_saved_by_libreoffice__same_findings(tmp_path, real_files):
    """LibreOffice opens the pre-rendered workbook, and what it saves reads as the reference does."""
    if not SOFFICE:
        pytest.skip("soffice not installed")
    written, saved = {}, {}
    for name, result in real_files.items():
        (tmp_path / name).mkdir()
        written[name] = both(tmp_path / name, result)
        saved[name] = tuple(Path(shutil.copy(p, tmp_path / f"{name}-{p.name}")) for p in written[name])
    roundtrip([p for pair in saved.values() for p in pair])
    for name, (fast, reference) in saved.items():
        assert findings_of(fast) == findings_of(reference), name
        assert findings_of(fast) == findings_of(written[name][0]), name


@pytest.mark.filterwarnings("ignore:Header string cannot be longer")
def test_fast__header_too_long_for_excel__falls_back_to_the_reference(tmp_path):
    sub = submission(agency="某" * 300)
    result = CheckResult("长.xlsx", sub, Report([]), sub.spec)
    fell_back = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feedback, "write_workbook", lambda *a, **k: fell_back.append(1) or write_workbook(*a, **k))
        fast = write_feedback(tmp_path / "fast.xlsx", result)
    assert fell_back  # the reference path wrote it
    assert_same(fast, write_feedback(tmp_path / "reference.xlsx", result, engine="xlsxwriter"))


@pytest.mark.parametrize("engine", ["fast", "xlsxwriter"])
def test_text_shaped_like_rich_text_markup__stays_text(tmp_path, engine):
    """xlsxwriter writes a string that starts with <r> and ends with </r> into sharedStrings unescaped
    (it takes it for a rich string) unless template tells it not to; the fast path escapes it too."""
    typed = "<r><t>a</t></r></si><si><r><t>b</t></r>"
    sub = submission(texts={"text.s5": typed, "text.s6": "后面的文字"})
    fast = write_feedback(tmp_path / "f.xlsx", result_of(sub), engine=engine)
    ws = openpyxl.load_workbook(fast)["文字部分"]
    assert (ws["A9"].value, ws["A13"].value) == (typed, "后面的文字")
    assert check_workbook(fast).submission.texts["text.s5"] == typed


def test_fast__zip_entries_check_out(tmp_path):
    """Every entry inflates to its declared size and CRC (what Excel and our reader verify)."""
    fast, _ = both(tmp_path, mixed())
    with zipfile.ZipFile(fast) as z:
        assert z.testzip() is None
        assert z.namelist()[0] == "[Content_Types].xml"


def test_part__fixed_runs_and_filled_slots_make_one_deflate_stream(tmp_path):
    text = "<a>" + "x" * 2000 + "<slot/>" + "y" * 10 + "<b/>" + "z" * 3000 + "</a>"
    slot, b = text.index("<slot/>"), text.index("<b/>")
    part = Part("p.xml", text, {"s": (slot, slot + 7), "t": (b, b + 4)})
    path = tmp_path / "p.zip"
    path.write_bytes(zip_bytes([part.fill({"s": "<new>é</new>"}), new_entry("q.xml", "<q/>")]))
    with zipfile.ZipFile(path) as z:
        assert z.read("p.xml").decode() == text.replace("<slot/>", "<new>é</new>")
        assert z.read("q.xml") == b"<q/>"


def test_part__fixed_runs_are_deflated_by_zlib_at_level_9():
    """A skeleton's fixed text is deflated once per process by Python's zlib at level 9, whose bytes do not
    depend on the process: ISA-L's best level reads memory it never wrote (valgrind), so its bytes could
    differ between workers."""
    text = "<a>" + "".join(f"<c r='A{i}'><v>{i * 7}</v></c>" for i in range(300)) + "</a>"
    part = Part("p.xml", text)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert part.fill({}).data == z.compress(text.encode()) + z.flush(zlib.Z_SYNC_FLUSH) + b"\x03\x00"


def test_fast__an_agency_with_an_ampersand__printed_in_the_page_header(tmp_path):
    sub = submission(values=BROKEN_E1, agency="AT&G公司")
    fast, reference = both(tmp_path, result_of(sub))
    for path in (fast, reference):
        assert openpyxl.load_workbook(path)["二、主动公开"].oddHeader.left.text == "AT＆G公司"
