"""The summary's fast row writer emits exactly what xlsxwriter's own write_number would."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
import zlib
from decimal import Decimal

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.xmlwriter import XMLwriter

from processor import package, summary
from processor.skeleton import xml_text
from tests.workbooks import zip_difference


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


def _cells_xml(path, fast: bool, monkeypatch) -> bytes:
    """The fast rows, or xlsxwriter's own writing them with in-line strings (its constant_memory mode)."""
    monkeypatch.setattr(summary, "_FAST_CELLS", fast)
    options = {"strings_to_formulas": False, "strings_to_numbers": False, "constant_memory": not fast}
    wb = xlsxwriter.Workbook(str(path), options)
    ws = wb.add_worksheet("报送情况", worksheet_class=summary.RowsSheet)
    text, when = wb.add_format({"border": 1}), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    long = "😀" * 20_000  # 40,000 UTF-16 units: cut to Excel's 32,767 as write_string does
    ws.write_cells(
        1,
        [(1, text), ("甲局", text), ("", text), (None, None), ("=1+2", text), (dt.datetime(2026, 1, 15, 9, 30), when)],
    )
    ws.write_cells(2, [(2, text), (Decimal("0.5"), text), (long, text), (None, text), (" 乙局\x07_x0041_<&>", text)])
    # (column F again, with another format: a cell's start is made per column and format)
    ws.write_cells(
        3, [(None, None), ("丙局", text), ("丁局\u3000", text), ("戊\n", text), ("\t己", text), ("庚", text)]
    )
    wb.close()
    with zipfile.ZipFile(path) as z:  # (constant_memory writes rows without their spans)
        return re.sub(rb' spans="[0-9:]+"', b"", z.read("xl/worksheets/sheet1.xml"))


def test_fast_cells_write_the_same_xml_as_xlsxwriter(tmp_path, monkeypatch):
    """Strings in line, as xlsxwriter's constant_memory mode writes them: escaped the same way."""
    fast = _cells_xml(tmp_path / "fast.xlsx", True, monkeypatch)
    slow = _cells_xml(tmp_path / "slow.xlsx", False, monkeypatch)
    assert fast == slow
    assert "甲局".encode() in fast and b"=1+2" in fast and b'r="F2"' in fast and b't="inlineStr"' in fast


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


# ---- the rows kept between summaries (watch) and the zip written on two threads -------------


def _changed(data, rng, round_: int):
    """The city after a round of what a watch sees: reports received, replaced, withdrawn, a name
    like a formula, findings added and cleared (units keep their ledger row id as file_id)."""
    import dataclasses

    from processor.consolidate import ACCEPTED, MISSING, WARNED
    from processor.findings import Finding
    from tests.test_consolidate import SPEC, prose, submission

    units = list(data.units)
    for k in rng.sample(range(len(units)), 6):
        u = units[k]
        roll = rng.random()
        if roll < 0.3 or u.submission is None:  # a new report (a new ledger row)
            texts = {"text.s1": prose(rng, 12), "text.s5": "=" + prose(rng, 3), "text.s6": "本年度未收取信息处理费。"}
            sub = (
                submission(u.name, dict(units[(k + 1) % len(units)].submission.values), texts=texts)
                if units[(k + 1) % len(units)].submission
                else None
            )
            if sub is None:
                continue
            if rng.random() < 0.5:  # a total typed wrong: the sums break a rule (a check finding)
                total = next(code for code, cell in SPEC.cells.items() if cell.is_total)
                sub.values[total] += 1
            warn = Finding("text-short", "warning", f"第 {round_} 轮：文字过短。", sheet="文字部分", cell="A5")
            units[k] = dataclasses.replace(
                u,
                status=WARNED,
                submission=sub,
                file=f"{u.name}-{round_}.xlsx",
                file_id=1000 * round_ + k,
                findings=[warn],
            )
        elif roll < 0.5:  # withdrawn: missing again
            units[k] = dataclasses.replace(u, status=MISSING, submission=None, file=None, file_id=None, findings=[])
        else:  # its warning explained, or its group renamed
            units[k] = dataclasses.replace(u, status=ACCEPTED, findings=[], group=("市直部门",))
    return dataclasses.replace(data, units=units)


def test_summary_written_with_the_rows_and_sums_of_the_last__is_the_same_bytes_as_one_written_afresh(
    tmp_path, monkeypatch
):
    """watch keeps the rendered rows and their deflated blocks (RowCache) and the sums from one summary
    to the next; round after round of changes, the workbook is byte for byte the one written without
    them, and reads back right."""
    import dataclasses
    import random

    import openpyxl

    from tests.test_consolidate import synthetic

    rng = random.Random(5)
    data = synthetic(60)
    data = dataclasses.replace(data, units=[dataclasses.replace(u, file_id=k) for k, u in enumerate(data.units)])
    from processor.kept import Memo

    monkeypatch.setattr(summary, "BLOCK", 7)  # (a block per 7 rows: some change, most do not)
    rows, sums = summary.RowCache(), Memo()
    checked = reused = 0
    for round_ in range(6):
        con = summary.summarize(data, None, sums)  # (the sums too: kept by the ledger rows they add up)
        checked += len(con.checks)
        before = [block for blocks in rows._blocks.values() for _, block in blocks.values()]
        kept = summary.write_summary(tmp_path / f"kept{round_}.xlsx", data, con, rows=rows)
        after = {id(block) for blocks in rows._blocks.values() for _, block in blocks.values()}
        reused += sum(id(block) in after for block in before)
        fresh = summary.write_summary(tmp_path / f"fresh{round_}.xlsx", data)
        assert kept.read_bytes() == fresh.read_bytes(), (round_, zip_difference(kept.read_bytes(), fresh.read_bytes()))
        data = _changed(data, rng, round_ + 1)
    assert checked  # (some rounds had sums that break a rule)
    assert reused or package.crc32_combine is None  # (blocks deflated for one summary put in the next as they were)
    wb = openpyxl.load_workbook(kept, read_only=True)
    listed = [r for r in wb["报送情况"].iter_rows(min_row=4, values_only=True) if r[0] is not None]
    assert [r[0] for r in listed] == list(range(1, len(data.units) + 1))  # 序号 filled in, in order
    texts = list(wb["各单位文字部分"].iter_rows(min_row=4, values_only=True))
    assert any(isinstance(r[4], str) and r[4].startswith("=") for r in texts)  # a formula-like text stays text
    assert sum(len(memo) for memo in rows._sheets.values()) > len(data.units)  # (after a summary: its own rows kept)


def test_threaded_zip__parts_over_several_chunks_and_spliced_parts_read_back_whole(tmp_path, monkeypatch):
    """ThreadedZip deflates parts in chunks on two threads; the archive is a zip any reader takes,
    and each mark in a part, wherever it falls (across two blocks read, far into a big part), is
    replaced by what it stands for."""
    from processor import package

    monkeypatch.setattr(package, "CHUNK", 1 << 12)
    big = "".join(f"<row r='{k}'><c><v>{k * 7919 % 10007}</v></c></row>" for k in range(5000)).encode()
    archive = package.ThreadedZip(tmp_path / "a.zip")
    marks = [f"<!--nianbao-rows-{k}-ab-->".encode() for k in range(3)]
    for k, mark in enumerate(marks):
        archive.splices[mark] = lambda k=k: iter([b"<body %d>" % k, big[:3000], big[3000:]])
    # the first mark across the first two blocks (4,096 bytes), the others far into the part
    sheet = (
        b"<sheetData>" + b"x" * 4080 + marks[0] + big + marks[1] + b"<!-- a comment -->" + marks[2] + b"</sheetData>"
    )
    (tmp_path / "sheet.xml").write_bytes(sheet)
    (tmp_path / "big.xml").write_bytes(big)
    archive.write(tmp_path / "sheet.xml", "xl/worksheets/sheet1.xml")
    archive.write(tmp_path / "big.xml", "xl/big.xml")
    archive.writestr("empty.xml", b"")
    archive.writestr(zipfile.ZipInfo("text.xml"), "文字")
    archive.close()
    expected = sheet
    for k, mark in enumerate(marks):
        expected = expected.replace(mark, b"<body %d>" % k + big)
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert z.testzip() is None
        assert z.namelist() == ["xl/worksheets/sheet1.xml", "xl/big.xml", "empty.xml", "text.xml"]
        assert z.read("xl/worksheets/sheet1.xml") == expected
        assert z.read("xl/big.xml") == big and z.read("empty.xml") == b"" and z.read("text.xml") == "文字".encode()


def test_threaded_zip__a_mark_cut_anywhere_by_the_blocks_read__is_still_found(tmp_path, monkeypatch):
    from processor import package

    monkeypatch.setattr(package, "CHUNK", 1 << 12)
    mark = b"<!--nianbao-rows-7-7f3a9c2e10-->"
    for cut in range(len(mark) + 1):  # the first block ends `cut` bytes into the mark
        archive = package.ThreadedZip(tmp_path / f"{cut}.zip")
        archive.splices[mark] = lambda: iter([b"<row/>"])
        (tmp_path / "sheet.xml").write_bytes(b"<" * (4096 - cut) + mark + b"</sheetData>")
        archive.write(tmp_path / "sheet.xml", "sheet.xml")
        archive.close()
        with zipfile.ZipFile(tmp_path / f"{cut}.zip") as z:
            assert z.read("sheet.xml") == b"<" * (4096 - cut) + b"<row/></sheetData>", cut


def test_threaded_zip__a_mark_never_written__fails_instead_of_losing_rows(tmp_path):
    from processor import package

    archive = package.ThreadedZip(tmp_path / "a.zip")
    archive.splices[b"<!--nianbao-rows-0-ab-->"] = lambda: iter([b"<row/>"])
    archive.writestr("sheet.xml", b"<sheetData></sheetData>")
    with pytest.raises(RuntimeError):
        archive.close()


def test_watch__sleeps_until_the_first_waiting_file_is_due() -> None:
    from processor.watch import _pause

    assert _pause(2.0, None) == 2.0  # nothing waits: the poll interval
    assert _pause(2.0, 0.7) == pytest.approx(0.71)  # a file waits: until its window is over
    assert _pause(0.5, 3.0) == 0.5
    assert _pause(2.0, 0.0) == 0.25  # over, yet not stable (still open): look again soon


def test_rows_rendered_at_a_watch_start__serve_its_first_summary(tmp_path, monkeypatch):
    """warm_rows renders the rows as write_summary would, and deflates their blocks, without a workbook
    (watch started on outputs left as they were): the next summary renders and deflates none of them
    again and is the same bytes."""
    import dataclasses

    from tests.test_consolidate import synthetic

    data = synthetic(40)
    data = dataclasses.replace(data, units=[dataclasses.replace(u, file_id=k) for k, u in enumerate(data.units)])
    con = summary.summarize(data)
    rows = summary.RowCache()
    summary.warm_rows(data, con, rows)
    rendered, deflated = [], []
    real = summary.RowsSheet._render_row
    monkeypatch.setattr(summary.RowsSheet, "_render_row", lambda self, *a: rendered.append(1) or real(self, *a))

    class Counted(summary.Block):
        def __init__(self, *args, **kwargs) -> None:
            deflated.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(summary, "Block", Counted)
    kept = summary.write_summary(tmp_path / "kept.xlsx", data, con, rows=rows)
    assert not rendered
    if summary.crc32_combine is not None:  # (blocks are kept only where runs deflated before can be put in)
        assert not deflated
    monkeypatch.setattr(summary.RowsSheet, "_render_row", real)
    fresh = summary.write_summary(tmp_path / "fresh.xlsx", data).read_bytes()
    assert kept.read_bytes() == fresh, zip_difference(kept.read_bytes(), fresh)


_PIECES = [
    "a",
    "年",
    " ",
    "_x",
    "_x0041_",
    "_x00ff_",
    "_xFFFE",
    "_",
    "0",
    "F",
    "&",
    "<",
    ">",
    '"',
    "'",
    "\t",
    "\n",
    "\r",
]


@given(st.lists(st.sampled_from([*_PIECES, "\x00", "\x1f", "\ufffe", "\uffff"])).map("".join))
@settings(max_examples=400)
def test_xml_text__escapes_any_text_as_xlsxwriter_does(text: str) -> None:
    """Inline strings (RowsSheet) and the skeleton's strings are escaped as xlsxwriter escapes a
    string it writes: control characters as _xHHHH_ (and text shaped like one escaped), & < > as entities."""
    assert xml_text(text) == XMLwriter()._escape_data(XMLwriter._escape_control_characters(text))


def test_memo__keeps_what_the_last_round_asked_for_and_forgets_the_rest() -> None:
    from processor.kept import Memo

    memo: Memo[str] = Memo()
    memo.put("a", "A")
    memo.put("b", "B")
    memo.turn()  # round 1 asked for a and b
    assert memo.get("a") == "A"  # round 2 asks for a only …
    assert memo.make("c", lambda: "C") == "C"
    assert memo.make("c", lambda: "other") == "C"  # (made once)
    memo.turn()
    assert (memo.get("b"), memo.get("a"), memo.get("c"), len(memo)) == (None, "A", "C", 2)  # … b is forgotten
    memo.turn()
    memo.turn()  # a round that asked for nothing forgets everything
    assert len(memo) == 0 and memo.get("a") is None


def test_zip_difference__names_the_entry_and_the_run_deflated_otherwise():
    """The message the byte-for-byte tests give if a workbook's bytes ever differ: which entry, whether
    its content is the same, and which sync-flushed run of its deflate stream differs."""
    text = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i * 37 % 101) for i in range(1, 400))

    def book(last_level: int, last: bytes = text) -> bytes:
        half = len(text) // 2
        data = package.deflate_run(text[:half], 1) + package.deflate_run(last[half:], last_level) + b"\x03\x00"
        return package.zip_bytes(
            [package.new_entry("a.xml", "<a/>"), package.Entry("b.xml", data, zlib.crc32(last), len(last))]
        )

    same = book(1)
    assert zip_difference(same, book(1)) == "the same bytes"
    message = zip_difference(same, book(9))
    assert "b.xml: the same content" in message and "run 1 differs" in message
    assert f"from text byte {len(text) // 2}" in message
    changed = text.replace(b'r="A300"', b'r="B300"')
    assert "b.xml: other content from byte" in zip_difference(same, book(1, changed))


def test_zip_difference__a_file_that_is_not_a_sound_zip__is_said_not_raised():
    good = package.zip_bytes([package.new_entry("a.xml", "<a>" + "x" * 500 + "</a>")])
    central = good.index(b"PK\x01\x02")  # (the central directory's CRC: zipfile checks the content against it)
    bad_crc = good[: central + 16] + b"\x00\x00\x00\x00" + good[central + 20 :]
    for other in (good[: len(good) // 2], b"", bad_crc):
        assert "bytes, first difference at byte" in zip_difference(good, other)
        assert "bytes, first difference at byte" in zip_difference(other, good)


def test_summary_without_a_row_cache__lets_go_of_each_list_sheets_rows_before_the_next_is_made(tmp_path, monkeypatch):
    """`run` keeps no rows: each list sheet's rows are deflated as soon as the sheet is written, so that
    the four sheets' rows (~75 MB at 10,000 units) are never held together (issue 7's peak of memory);
    the workbook is the same bytes as one written by a `watch` that keeps them."""
    from concurrent.futures import Future

    from tests.test_consolidate import synthetic

    if package.crc32_combine is None:
        pytest.skip("without ISA-L's crc32_combine, deflated runs cannot be put in")
    monkeypatch.setattr(summary, "BLOCK", 7)
    data = synthetic(40)
    held: list[list[str]] = []
    sealed: list[summary.RowsSheet] = []
    real_status, real_seal = summary._write_status, summary.RowsSheet.seal
    monkeypatch.setattr(summary.RowsSheet, "seal", lambda ws, deflate: (sealed.append(ws), real_seal(ws, deflate)))

    def status_after_detail(ws, *args):
        assert [s.name for s in sealed] == [summary.DETAIL]
        body = sealed[0].__dict__["_body"]
        held.append([type(item).__name__ for item, _ in body.values() if not isinstance(item, Future)])
        assert any(isinstance(item, Future) for item, _ in body.values())
        return real_status(ws, *args)

    monkeypatch.setattr(summary, "_write_status", status_after_detail)
    fresh = summary.write_summary(tmp_path / "fresh.xlsx", data)
    assert held and not [name for name in held[0] if name != "object"]  # only the sealed rows' placeholders
    monkeypatch.setattr(summary, "_write_status", real_status)
    kept = summary.write_summary(tmp_path / "kept.xlsx", data, rows=summary.RowCache())
    assert kept.read_bytes() == fresh.read_bytes(), zip_difference(kept.read_bytes(), fresh.read_bytes())
