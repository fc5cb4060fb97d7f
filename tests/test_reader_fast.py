"""The reader's shortcuts (issue 7) give what the plain way gives: the stored copy calamine opens, totals
recomputed in a precomputed order, characters counted without a loop. (The scans: test_reader_xml.py;
whole readings: test_reader_golden.py.)"""

from __future__ import annotations

import io
import random
import zipfile
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

from processor.fileformat import Limits, inflate, sniff
from processor.rules.text import text_chars
from processor.spec import get_spec
from processor.stored import plain_entries, stored_zip
from processor.submission import Number, recompute_totals
from tests.hostile.generate import agency_of, report_bytes, rezip


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return report_bytes(tmp_path_factory.mktemp("fast"), agency_of(1), seed=1)


def _infos(data: bytes) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.infolist()


def test_stored_copy__holds_every_entry_as_checked_and_calamine_reads_it_alike(clean: bytes) -> None:
    inflated = inflate(clean, _infos(clean), Limits())
    assert inflated.plain is not None
    copy = stored_zip(inflated.plain, inflated.parts)
    with zipfile.ZipFile(io.BytesIO(copy)) as zf, zipfile.ZipFile(io.BytesIO(clean)) as original:
        assert zf.testzip() is None  # every CRC right
        assert [i.filename for i in zf.infolist()] == original.namelist()
        assert all(zf.read(n) == original.read(n) for n in original.namelist())
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    ours, theirs = CalamineWorkbook.from_filelike(io.BytesIO(copy)), CalamineWorkbook.from_filelike(io.BytesIO(clean))
    assert ours.sheet_names == theirs.sheet_names
    for name in theirs.sheet_names:
        assert ours.get_sheet_by_name(name).to_python() == theirs.get_sheet_by_name(name).to_python()


def test_only_plain_packages_are_copied(clean: bytes) -> None:
    def plain(data: bytes) -> bool:
        sniffed = sniff(data, "a.xlsx", Limits())
        assert sniffed.kind == "xlsx" and sniffed.parts is not None
        return sniffed.parts.plain is not None

    assert plain(clean)
    assert not plain(rezip(clean, add={"xl/media/image1.png": b"\x89PNG...."}))  # an entry not kept
    assert not plain(rezip(clean, add={"xl/附件.xml": b"<a/>"}))  # a name calamine might decode otherwise
    junk = b"JUNK" + clean  # a prefix: zipfile copes, another reader might not
    assert plain_entries(_infos(junk), inflate(junk, _infos(junk), Limits()).parts) is None


def _recompute_slowly(spec_edition: str, values: dict[str, Number]) -> dict[str, Number]:
    """recompute_totals as first written: recursive, in cell order (the reference)."""
    spec = get_spec(spec_edition)
    cells = spec.cells
    out = {code: v for code, v in values.items() if not cells[code].is_total} if values else {}

    def total(code: str) -> Number:
        if code in out:
            return out[code]
        if not cells[code].is_total:
            out[code] = 0
            return 0
        out[code] = sum((total(p) for p in cells[code].parts), start=0)
        return out[code]

    for code, cell in cells.items():
        total(code) if cell.is_total else out.setdefault(code, 0)
    return out


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_totals__the_same_values_types_and_order_as_the_reference(edition: str) -> None:
    spec, rng = get_spec(edition), random.Random(edition)
    codes = list(spec.cells)
    for trial in range(60):
        every_input = trial % 2 == 0  # the reader's case (the fast path), and partial ones
        values: dict[str, Number] = {}
        for code in rng.sample(codes, len(codes)):
            if (every_input and not spec.cells[code].is_total) or rng.random() < 0.3:
                values[code] = rng.choice(
                    [rng.randint(-5, 99), Decimal(rng.randint(0, 10**6)) / 10 ** rng.randint(0, 4)]
                )
        got, want = recompute_totals(spec, values), _recompute_slowly(edition, values)
        assert list(got.items()) == list(want.items())
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_unknown_code__still_raises() -> None:
    with pytest.raises(KeyError):
        recompute_totals(get_spec("2021"), {"s9.r1.c1": 1})


def test_characters_counted__every_one_but_whitespace() -> None:
    text = "".join(chr(i) for i in range(0x3100)) + "\u3000\u2028\u00a0\x1c\x85 本年度"
    assert text_chars(text) == sum(1 for ch in text if not ch.isspace())


def test_plain_entries_need_entries_in_order(clean: bytes) -> None:
    infos = _infos(clean)
    parts = inflate(clean, infos, Limits()).parts
    assert plain_entries(infos, parts) is not None
    assert plain_entries(list(reversed(infos)), parts) is None
    assert plain_entries(infos + infos[:1], parts) is None  # a name twice


def test_plain_entries__a_name_zipfile_had_to_clean__is_not_copied(clean: bytes) -> None:
    # zipfile cuts a name at a NUL: calamine must then read the submitted bytes, not a renamed copy
    infos = _infos(clean)
    parts = inflate(clean, infos, Limits()).parts
    infos[0].orig_filename = infos[0].filename + "\0junk"
    assert plain_entries(infos, parts) is None
