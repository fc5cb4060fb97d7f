"""The package scans find formulas, errors and defined names however a suite writes them."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.layout import Place
from processor.ods import parse_address
from processor.reader import compact
from processor.xlsx import PackageError, Ref, XmlCell, open_package, parse_ref, scan_sheet, shift_formula

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet(rows: str, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = NS.replace("xmlns=", f"xmlns:{prefix}=") if prefix else NS
    return f"<{p}worksheet {ns}><{p}sheetData>{rows}</{p}sheetData></{p}worksheet>".encode()


def test_formula_with_and_without_stored_result__and_error_values() -> None:
    xml = sheet(
        '<row r="6"><c r="D6"><f>2+3</f><v>5</v></c><c r="E6"><f>1/0</f><v/></c><c r="F6" t="e"><v>#REF!</v></c>'
        '<c r="G6" t="e"><f>A1/0</f><v>#DIV/0!</v></c><c r="H6" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
        '<c r="I6"><v>7</v></c><c r="J6" t="s"><v>0</v></c></row>'
    )
    assert scan_sheet(xml) == {
        (5, 3): XmlCell("2+3", True),
        (5, 4): XmlCell("1/0", False),
        (5, 5): XmlCell(error="#REF!"),
        (5, 6): XmlCell("A1/0", True, "#DIV/0!"),
        (5, 7): XmlCell('"a"&"b"', True),
    }


def test_shared_formula__children_get_the_anchor_text_shifted() -> None:
    xml = sheet(
        '<row r="6"><c r="J6"><f t="shared" ref="J6:J8" si="0">SUM(D6:I6)</f><v>3</v></c></row>'
        '<row r="7"><c r="J7"><f t="shared" si="0"/><v>4</v></c></row>'
        '<row r="8"><c r="J8"><f t="shared" si="0"/></c></row>'
    )
    cells = scan_sheet(xml)
    assert cells[(6, 9)] == XmlCell("SUM(D7:I7)", True)
    assert cells[(7, 9)] == XmlCell("SUM(D8:I8)", False)


def test_cells_without_addresses__are_counted_in_order() -> None:
    xml = sheet('<row r="2"><c><v>1</v></c><c><f>1+1</f><v>2</v></c></row><row><c t="e"><v>#N/A</v></c></row>')
    assert scan_sheet(xml) == {(1, 1): XmlCell("1+1", True), (2, 0): XmlCell(error="#N/A")}


def test_prefixed_elements__are_scanned_too() -> None:
    xml = sheet('<x:row r="1"><x:c r="B1"><x:f>1+1</x:f><x:v>2</x:v></x:c></x:row>', prefix="x")
    assert scan_sheet(xml) == {(0, 1): XmlCell("1+1", True)}


def test_formula_text_in_conditional_formats__is_not_a_cell() -> None:
    xml = sheet('<row r="1"><c r="A1"><v>1</v></c></row>').replace(
        b"</worksheet>",
        b"<conditionalFormatting><cfRule><formula>A1&lt;&gt;0</formula></cfRule></conditionalFormatting></worksheet>",
    )
    assert scan_sheet(xml) == {}


def test_shift_formula__moves_relative_references_only() -> None:
    assert shift_formula('SUM(D6:I6)+$A$1+A$2+"B3"+LOG10(B4)', 2, 1) == 'SUM(E8:J8)+$A$1+B$2+"B3"+LOG10(C6)'


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("'三、依申请公开'!$D$6", Ref("三、依申请公开", 5, 3)),
        ("基本信息!$B$3", Ref("基本信息", 2, 1)),
        ("'O''Brien'!$A$1:$A$1", Ref("O'Brien", 0, 0)),
        ("#REF!$A$6", None),
        ("'四、复议诉讼'!#REF!", None),
        ("[1]Sheet1!$A$1", None),
        ("SUM(A1:A2)", None),
    ],
)
def test_defined_name_targets(text: str, ref: Ref | None) -> None:
    assert parse_ref(text) == ref


def test_ods_addresses() -> None:
    assert parse_address("$基本信息.$B$3") == Ref("基本信息", 2, 1)
    assert parse_address("$'三、依申请公开'.$D$6:.$D$6") == Ref("三、依申请公开", 5, 3)
    assert parse_address("garbage") is None


def _package(workbook: bytes) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            "<Relationship Id='rId1' Type='worksheet' Target='/xl/worksheets/sheet1.xml'/></Relationships>",
        )
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/worksheets/sheet1.xml", sheet('<row r="1"><c r="A1"><f>1</f><v>1</v></c></row>'))
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


def test_package__sheets_and_workbook_scope_names() -> None:
    zf = _package(
        f'<workbook {NS} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="三、依申请公开" sheetId="1" r:id="rId1"/></sheets><definedNames>'
        '<definedName name="nb_s3_r1_c1">&apos;三、依申请公开&apos;!$D$6</definedName>'
        '<definedName name="nb_s3_r1_c2" localSheetId="0">\'三、依申请公开\'!$E$6</definedName>'
        '<definedName name="_xlnm.Print_Titles" localSheetId="0">\'三、依申请公开\'!$3:$5</definedName>'
        "</definedNames></workbook>".encode()
    )
    package = open_package(zf, 1 << 20)
    assert package.sheets == {"三、依申请公开": "xl/worksheets/sheet1.xml"}
    assert package.names == {"nb_s3_r1_c1": Ref("三、依申请公开", 5, 3)}
    assert package.cells("三、依申请公开") == {(0, 0): XmlCell("1", True)}


def test_package_declaring_a_dtd__is_refused() -> None:
    zf = _package(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><workbook>&a;</workbook>')
    with pytest.raises(PackageError):
        open_package(zf, 1 << 20)


def test_compact__lists_blank_cells_as_short_ranges() -> None:
    cells = [Place("s", r, c) for r in range(5, 8) for c in range(3, 9)] + [Place("s", 9, 3), Place("s", 9, 5)]
    assert compact(cells) == "D6:I8、D10、F10"


@given(st.binary(max_size=400))
def test_scan__never_raises_on_any_bytes(data: bytes) -> None:
    scan_sheet(b"<sheetData>" + data + b"</sheetData>")


# ---- the plain-cell pass reads exactly what the general walk reads ---------------------------------

_PLAIN_ATTRS = ["", ' s="14"', ' t="str"', ' s="3" t="b"', ' t="n"', ' s="7" t="str"']
_ODD_ATTRS = [' t="e"', ' cm="1"', '  s="1"', ' t="str" s="1"']
_PLAIN_FORMULAS = [
    "<f>SUM(D6:I6)</f>",
    "<f></f>",
    "<f/>",
    '<f t="shared" ref="J6:J9" si="0">SUM(D6:I6)</f>',
    '<f t="shared" si="0"/>',
    '<f t="shared" si="1"/>',
    '<f aca="false">"a"&amp;"b"</f>',
]
_ODD_FORMULAS = ['<f ref="a>b">1</f>', "<f>1</f><f>2</f>", "<x:f>1</x:f>", "<f>1</x:f>"]
_PLAIN_VALUES = ["", "<v>6</v>", "<v></v>", "<v/>", "<v />", "<v>0</v>"]
_ODD_VALUES = ["<v>#REF!</v>", "<is><t>x</t></is>", "<v>1</v><v>2</v>"]


@st.composite
def _formula_cells(draw: st.DrawFn) -> bytes:
    """A row of cells, mostly written as office suites write them, sometimes oddly (an odd share)."""
    odd = draw(st.sampled_from([0.0, 0.05, 0.3]))

    def pick(plain: list[str], strange: list[str]) -> str:
        return draw(st.sampled_from(strange if draw(st.floats(0, 1)) < odd else plain))

    cells = []
    for _ in range(draw(st.integers(0, 6))):
        row, col = draw(st.integers(1, 30)), draw(st.sampled_from(["A", "D", "J", "AB", "XFD"]))
        address = pick([f' r="{col}{row}"'], ["", f' r="{col.lower()}{row}"', f" r='{col}{row}'", f' r="{col}0"'])
        body = (pick(_PLAIN_FORMULAS, _ODD_FORMULAS) if draw(st.booleans()) else "") + pick(_PLAIN_VALUES, _ODD_VALUES)
        attrs = pick(_PLAIN_ATTRS, _ODD_ATTRS)
        cells.append(f"<c{address}{attrs}>{body}</c>" if body else f"<c{address}{attrs}/>")
    return sheet(f'<row r="1">{"".join(cells)}</row>')


@given(_formula_cells())
def test_plain_cells__read_as_the_general_walk_reads_them(xml: bytes) -> None:
    assert scan_sheet(xml) == scan_sheet(xml, plain=False)


def test_a_dtd_after_megabytes_of_comment_in_a_large_part__is_refused(tmp_path) -> None:
    # parts over 4 MB are not kept in memory: their DTD check must still see every inflated chunk
    import os

    from processor.check import check_workbook
    from tests.hostile.generate import agency_of, billion_laughs, part, report_bytes, rezip

    data = report_bytes(tmp_path, agency_of(930), seed=130)
    bad = billion_laughs(part(data, "xl/sharedStrings.xml"))
    padding = os.urandom(3 * 2**20).hex().encode()  # 6 MB that does not compress: no zip-bomb verdict
    bad = bad.replace(b"?><!DOCTYPE", b"?><!--" + padding + b"--><!DOCTYPE", 1)
    result = check_workbook(rezip(data, replace={"xl/sharedStrings.xml": bad}), name="大文件实体.xlsx")
    assert result.submission is None
    [f] = result.report.findings
    assert f.rule_id == "file-unreadable" and "DTD" in f.message
