"""Whatever file arrives, reading answers with findings, never an exception: formats, damage, passwords, budgets."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import processor.book
from processor.fileformat import OLE2, Limits
from processor.reader import read_workbook
from tests.workbooks import fill_template, set_cells

VALUES = {"s3.r1.c1": 3, "s3.r1.c2": "增5", "s2_9.r1.c2": 49.14}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_template(tmp_path_factory.mktemp("files") / "某局.xlsx", edition="2019", year=2019, values=VALUES)


def only(data: bytes, name: str, limits: Limits | None = None) -> tuple[str, str | None, str]:
    """The single finding reading these bytes gives: (rule id, found, message)."""
    result = read_workbook(data, name=name, limits=limits)
    assert result.submission is None
    (f,) = result.findings
    assert f.file == name and f.severity == "error"
    return f.rule_id, f.found, f.message


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_empty_file__says_it_is_empty() -> None:
    assert only(b"", "空.xlsx")[0] == "file-empty"


def test_wps_et_file__asks_to_save_as_xlsx() -> None:
    rule, found, message = only(OLE2 + b"\0" * 600, "某局年报.et")
    assert (rule, found) == ("file-format", "WPS 表格文件（.et）")
    assert "另存为" in message and ".xlsx" in message and "某局年报.et" in message


@pytest.mark.parametrize(
    ("data", "name", "what"),
    [
        (
            _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
            "年报.xlsx",
            "Word 文档（.docx）",
        ),
        (b"%PDF-1.7\n%\xe2\xe3", "年报.xlsx", "PDF 文件"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "年报.png", "图片（PNG）"),
        (OLE2 + b"\0" * 64 + "WordDocument".encode("utf-16-le"), "年报.doc", "Word 文档（.doc）"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "年报.xls", "HTML"),
        ("单位,数量\n某局,5\n".encode(), "年报.csv", "文本文件"),
        (b"Rar!\x1a\x07\x00", "年报.rar", "RAR 压缩包"),
    ],
)
def test_other_kinds_of_file__are_named_in_the_refusal(data: bytes, name: str, what: str) -> None:
    rule, found, _ = only(data, name)
    assert rule == "file-format" and found is not None and what in found


def test_zipped_workbook__is_refused_as_a_zip(template: Path) -> None:
    rule, found, _ = only(_zip({"某局.xlsx": template.read_bytes()}), "某局.zip")
    assert rule == "file-format" and found is not None and found.startswith("ZIP 压缩包")


def test_truncated_workbook__is_unreadable(template: Path) -> None:
    data = template.read_bytes()
    rule, _, message = only(data[: len(data) // 2], "某局.xlsx")
    assert rule == "file-unreadable" and "某局.xlsx" in message


def test_password_protected_workbook__asks_to_remove_the_password() -> None:
    # An encrypted .xlsx is an OLE2 container holding EncryptionInfo and EncryptedPackage streams.
    data = (
        OLE2 + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 50 + "EncryptedPackage".encode("utf-16-le")
    )
    rule, _, message = only(data, "某局.xlsx")
    assert rule == "file-encrypted" and "密码" in message


def test_file_over_the_size_limit__is_not_read(template: Path) -> None:
    limits = Limits(max_file_bytes=1000)
    rule, _, message = only(template.read_bytes(), "某局.xlsx", limits)
    assert rule == "file-too-large" and "超出允许的上限（1000 字节）" in message
    from_path = read_workbook(template, limits=limits)
    assert [f.rule_id for f in from_path.findings] == ["file-too-large"]


def test_zip_declaring_too_much__is_refused_before_parsing(template: Path) -> None:
    rule, _, message = only(template.read_bytes(), "某局.xlsx", Limits(max_uncompressed_bytes=10_000))
    assert rule == "file-too-large" and "解压后共" in message
    rule, _, message = only(template.read_bytes(), "某局.xlsx", Limits(max_entries=3))
    assert rule == "file-too-large" and "个压缩条目" in message
    bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (4 << 20)})
    rule, _, message = only(bomb, "bomb.xlsx")
    assert rule == "file-too-large" and "压缩比" in message


def test_limits_from_the_config_mapping__are_applied(template: Path) -> None:
    result = read_workbook(template.read_bytes(), name="某局.xlsx", limits={"max_file_bytes": 1000, "unknown": 1})
    assert [f.rule_id for f in result.findings] == ["file-too-large"]


def test_missing_file__is_a_finding_not_an_exception(tmp_path: Path) -> None:
    result = read_workbook(tmp_path / "不存在.xlsx")
    assert [(f.rule_id, f.file) for f in result.findings] == [("file-unreadable", "不存在.xlsx")]


def test_xlsm_extension__reads_like_xlsx(template: Path) -> None:
    result = read_workbook(template.read_bytes(), name="某局.xlsm")
    assert result.submission is not None and result.submission.values["s3.r1.c1"] == 3


def test_workbook_calamine_refuses__is_read_by_openpyxl_the_same(template: Path, monkeypatch) -> None:
    expected = read_workbook(template)

    def refuse(*_args: object, **_kw: object) -> None:
        raise RuntimeError("calamine refused")

    monkeypatch.setattr(processor.book.CalamineWorkbook, "from_filelike", refuse)
    result = read_workbook(template)
    assert result.submission is not None and expected.submission is not None
    assert result.submission.values == expected.submission.values
    assert result.submission.texts == expected.submission.texts
    assert [(f.rule_id, f.cell) for f in result.findings] == [(f.rule_id, f.cell) for f in expected.findings]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_bytes__never_raise(template: Path, data: st.DataObject) -> None:
    original = bytearray(template.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    result = read_workbook(bytes(original[:cut] if data.draw(st.booleans()) else original), name="坏.xlsx")
    assert result.submission is not None or result.findings
    assert all(f.file == "坏.xlsx" for f in result.findings)


def _variant(template: Path, folder: Path, name: str, content: dict[str, object], **meta: str) -> Path:
    """A copy of the filled template with cells typed (and _meta keys changed), as a user or script would."""
    import shutil

    import openpyxl

    from processor.layout import layout
    from processor.spec import get_spec

    path = Path(shutil.copy(template, folder / name))
    set_cells(path, content)
    if meta:
        wb = openpyxl.load_workbook(path)
        for key, value in meta.items():
            wb["_meta"][layout(get_spec("2019")).places[f"meta.{key}"].a1] = value
        wb.save(path)
    return path


def test_year_before_any_edition__is_refused_saying_why(template: Path, tmp_path: Path) -> None:
    result = read_workbook(_variant(template, tmp_path, "a.xlsx", {"info.year": 2018}))
    (f,) = [f for f in result.findings if f.rule_id == "year-missing"]
    assert "填写为“2018”，不是可以填报的年度（2019 年及以后）" in f.message and f.severity == "error"


def test_county_rollup__kind_and_units_from_the_template(template: Path, tmp_path: Path) -> None:
    sub = read_workbook(_variant(template, tmp_path, "b.xlsx", {}, kind="rollup", units="17")).submission
    assert sub is not None and (sub.kind, sub.units) == ("rollup", 17)
    sub = read_workbook(template).submission
    assert sub is not None and (sub.kind, sub.units) == ("report", 1)


def test_text_longer_than_a_cell_holds__is_refused(template: Path) -> None:
    # No office suite writes more than 32,767 characters into a cell; a program can. Read from grids.
    from processor.book import open_book
    from processor.layout import layout
    from processor.reader import read_book
    from processor.spec import get_spec

    book = open_book(template.read_bytes(), "xlsx", Limits())
    place = layout(get_spec("2019")).places["text.s1"]
    book.grid(place.sheet)[place.row][place.col] = "字" * 32_768
    result = read_book(get_spec("2019"), book, "某局.xlsx")
    (f,) = [f for f in result.findings if f.rule_id == "text-too-long"]
    assert (f.found, f.code, f.severity) == ("32768", "text.s1", "error")


def test_stray_entry_far_right__does_not_blow_up_the_reading(template: Path, tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(template)
    wb["三、依申请公开"]["XFD5000"] = "误输入"
    wb.save(tmp_path / "far.xlsx")
    result = read_workbook(tmp_path / "far.xlsx")
    assert result.submission is not None and result.submission.values["s3.r1.c1"] == 3


def test_summary_workbook_sent_as_a_report__is_refused_saying_what_to_send(template: Path, tmp_path: Path) -> None:
    result = read_workbook(_variant(template, tmp_path, "d.xlsx", {}, kind="summary", agency="某某县"))
    assert result.submission is None
    assert [f.rule_id for f in result.findings] == ["summary-not-report"]
    assert "“某某县”的汇总工作簿" in result.findings[0].message
