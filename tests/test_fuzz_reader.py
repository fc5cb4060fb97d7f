"""Property tests: valid template workbooks mutated (zip entries, XML, cell values) are read correctly or
refused cleanly with findings — reading never raises, whatever the bytes."""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.findings import ERROR
from processor.reader import ReadResult, read_workbook
from processor.spec import get_spec
from tests.hostile.generate import EDITION, agency_of, part, place, report, rezip, with_cells, zip_entries

NAME = "变异.xlsx"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # a few seconds; FUZZ_EXAMPLES=2000 for a longer hunt
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
INPUTS = sorted(c for c, cell in get_spec(EDITION).cells.items() if not cell.is_total and c.startswith(("s3.", "s4.")))


class _Base(bytes):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "<a clean 2021 report>"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A clean 2021 report as Excel saves it (totals with stored results)."""
    return _Base(report(tmp_path_factory.mktemp("fuzz") / "base.xlsx", agency_of(1), seed=1).read_bytes())


def clean(result: ReadResult) -> None:
    """What every reading must give: findings stamped with the file, a refusal explained by an error."""
    assert all(f.file == NAME and f.message for f in result.findings)
    assert not any("意外错误" in f.message for f in result.findings), [f.message for f in result.findings]
    if result.submission is None:
        assert any(f.severity == ERROR for f in result.findings)


# ---- zip entries ---------------------------------------------------------------------------------


@st.composite
def zip_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    entries = zip_entries(data)
    names = [i.filename for i, _ in entries]
    kind = draw(st.sampled_from(["drop", "duplicate", "rename", "stored", "truncate", "swap", "garbage"]))
    target = draw(st.sampled_from(names))
    body = dict((i.filename, b) for i, b in entries)[target]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info, content in entries:
            name = info.filename
            if name == target:
                if kind == "drop":
                    continue
                if kind == "rename":
                    name = draw(st.sampled_from(["xl/Workbook.xml", "/" + name, name + ".bak", "xl/worksheets/x.xml"]))
                if kind == "truncate":
                    content = content[: draw(st.integers(0, max(0, len(content) - 1)))]
                if kind == "garbage":
                    content = draw(st.binary(max_size=200))
                if kind == "swap":
                    content = dict((i.filename, b) for i, b in entries)[draw(st.sampled_from(names))]
            method = zipfile.ZIP_STORED if kind == "stored" and name == target else zipfile.ZIP_DEFLATED
            out.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0)), content, compress_type=method)
        if kind == "duplicate":  # a second entry of the same name (zipfile warns, and writes it)
            twin = draw(st.sampled_from([b"", body[: len(body) // 2], body + b" "]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.writestr(zipfile.ZipInfo(target, date_time=(2025, 1, 1, 0, 0, 0)), twin)
    return buf.getvalue()


@FUZZ
@given(st.data())
def test_zip_entries_dropped_renamed_truncated_or_duplicated__never_raise(base: bytes, data: st.DataObject) -> None:
    clean(read_workbook(data.draw(zip_mutation(base)), name=NAME))


# ---- XML ---------------------------------------------------------------------------------------

PARTS = [
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "[Content_Types].xml",
    "xl/sharedStrings.xml",
    "xl/styles.xml",
]
SNIPPETS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&lol;",
    b"&#0;",
    b"&#xD800;",
    b"]]>",
    b"<![CDATA[",
    b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b"</sheetData>",
    b"<sheetData>",
    b'<c r="XFD1048576"><v>1</v></c>',
    b'<c r="D6" t="e"><v>#REF!</v></c>',
    b'<definedName name="nb_s3_r1_c1">#REF!</definedName>',
    b'<definedName name="nb_s3_r1_c1">[1]Sheet1!$A$1</definedName>',
    b'r="A0"',
    b'r="ZZZZ99999999"',
    "中文\u202e\x00".encode(),
    b"\xff\xfe",
]


@st.composite
def xml_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    sheets = [n for n in (i.filename for i, _ in zip_entries(data)) if n.startswith("xl/worksheets/")]
    name = draw(st.sampled_from(PARTS + sheets))
    xml = part(data, name)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(xml)))
        how = draw(st.sampled_from(["insert", "delete", "replace_attr"]))
        if how == "insert":
            xml = xml[:at] + draw(st.sampled_from(SNIPPETS) | st.binary(max_size=20)) + xml[at:]
        elif how == "delete":
            xml = xml[:at] + xml[at + draw(st.integers(1, 200)) :]
        else:
            attrs = list(re.finditer(rb'(\w+)="([^"]*)"', xml))
            if attrs:
                m = draw(st.sampled_from(attrs))
                value = draw(st.text(max_size=12)).encode("utf-8", "surrogatepass")
                xml = xml[: m.start(2)] + value.replace(b'"', b"") + xml[m.end(2) :]
    return rezip(data, replace={name: xml})


@FUZZ
@given(st.data())
def test_xml_parts_damaged__never_raise(base: bytes, data: st.DataObject) -> None:
    clean(read_workbook(data.draw(xml_mutation(base)), name=NAME))


# ---- cell values -------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(0, 999_999_999),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1e309", "-1e309", "NaN", "INF", "0x10", "1_000", " 5 ", "", "1e-400", "٣"]),
)


@st.composite
def cell_body(draw: st.DrawFn) -> tuple[bytes, str | None, object]:
    """(XML body, cell type, what was written) of a cell as some program might write it."""
    kind = draw(st.sampled_from(["number", "inline", "bool", "error", "formula", "formula-no-value", "empty"]))
    if kind == "number":
        value = draw(NUMBERS)
        return f"<v>{value}</v>".encode(), None, value
    if kind == "inline":
        text = draw(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
        return f"<is><t>{escape(text)}</t></is>".encode("utf-8", "surrogatepass"), "inlineStr", text
    if kind == "bool":
        value = draw(st.sampled_from(["0", "1", "TRUE", "2"]))
        return f"<v>{value}</v>".encode(), "b", value
    if kind == "error":
        value = draw(st.sampled_from(["#REF!", "#DIV/0!", "#N/A", "#NAME?", "#VALUE!", "#NULL!", "#NUM!", "x"]))
        return f"<v>{value}</v>".encode(), "e", value
    if kind == "formula":
        value = draw(st.integers(0, 1000))
        return f"<f>[1]Sheet1!A1+{value}</f><v>{value}</v>".encode(), None, value
    if kind == "formula-no-value":
        return b"<f>SUM(A1:A2)</f><v></v>", None, None
    return b"", None, None


@FUZZ
@given(st.data())
def test_cell_values_of_any_kind__are_read_as_typed_or_refused_at_that_cell(base: bytes, data: st.DataObject) -> None:
    code = data.draw(st.sampled_from(INPUTS))
    body, ctype, written = data.draw(cell_body())
    result = read_workbook(with_cells(base, {code: (body, ctype)}), name=NAME)
    clean(result)
    sub = result.submission
    assert sub is not None, [f.message for f in result.findings]  # one odd cell never loses the whole file
    sheet, ref = place(code)
    at_cell = [f for f in result.findings if f.sheet == sheet and f.cell == ref]
    errors = [f for f in at_cell if f.severity == ERROR]
    if isinstance(written, int) and not isinstance(written, bool) and 0 <= written <= 999_999_999:
        if ctype is None:  # a whole number in range is read exactly (a formula's stored result too)
            assert sub.values[code] == written and not errors, [f.message for f in at_cell]
    elif errors:
        assert sub.values[code] == 0  # a refused value counts as 0, never as something else
    else:  # accepted: a blank, or a value normalised with a notice
        value = sub.values[code]
        assert isinstance(value, (int, Decimal)) and value >= 0


def test_fuzz_base_is_read_cleanly(base: bytes) -> None:
    result = read_workbook(base, name=NAME)
    assert result.submission is not None and not result.findings


def test_a_mutated_file_on_disk_is_never_modified(base: bytes, tmp_path: Path) -> None:
    path = tmp_path / NAME
    path.write_bytes(base[: len(base) // 3])
    before = path.stat()
    clean(read_workbook(path))
    assert path.read_bytes() == base[: len(base) // 3] and path.stat().st_mtime_ns == before.st_mtime_ns
