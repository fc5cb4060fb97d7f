"""Tell what kind of file was submitted (magic bytes and extension) and whether it is within the reading budget."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import PurePath
from typing import Any

from .stored import plain_entries

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
WORKBOOK_KINDS = ("xlsx", "xls", "xlsb", "ods")  # what the reader can open
RATIO_FLOOR = 1 << 20  # entries smaller than this are never judged by their compression ratio


@dataclass(frozen=True)
class Limits:
    """How much a submitted file may claim before any parser touches it (issue 6 extends this)."""

    max_file_bytes: int = 50 * 2**20
    max_entries: int = 2000
    max_uncompressed_bytes: int = (
        100 * 2**20
    )  # peak memory of a read is up to about 3× this (README, “Memory” under Hostile files)
    max_ratio: float = 200.0

    @classmethod
    def of(cls, value: Limits | Mapping[str, Any] | None) -> Limits:
        """Limits from None (defaults), a Limits, or a mapping of its fields (e.g. from the config file)."""
        if value is None:
            return cls()
        if isinstance(value, Limits):
            return value
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(value).items() if k in known})


@dataclass(frozen=True)
class Sniffed:
    """What a file is: a workbook kind we can open, or a refusal (catalogue rule id and its tokens)."""

    kind: str | None  # xlsx (also .xlsm) | xls | xlsb | ods, None when refused
    rule_id: str | None = None
    found: str | None = None
    reason: str | None = None
    expected: str | None = None
    parts: Inflated | None = None  # a zip's entries, inflated once and checked (see inflate)


def size_text(n: int) -> str:
    """A byte count as a clerk reads it: 1.5 MB, 320 KB, 900 字节."""
    if n >= 2**20:
        return f"{n / 2**20:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def sniff(data: bytes, name: str, limits: Limits) -> Sniffed:
    """Identify a submitted file by its first bytes, and by its extension where the bytes are ambiguous.

    Pure: looks at the bytes only (a zip's central directory, an OLE2 file's stream names).
    """
    ext = PurePath(name).suffix.lower()
    if not data:
        return Sniffed(None, "file-empty")
    if len(data) > limits.max_file_bytes:
        return Sniffed(
            None, "file-too-large", reason=f"大小为 {size_text(len(data))}", expected=size_text(limits.max_file_bytes)
        )
    if ext in (".et", ".ett"):
        return Sniffed(None, "file-format", found="WPS 表格文件（.et）")
    if ext in (".wps", ".wpt"):
        return Sniffed(None, "file-format", found="WPS 文字文件（.wps）")
    if data.startswith(OLE2):
        return _sniff_ole2(data, ext)
    if data.startswith(ZIP):
        return _sniff_zip(data, limits)
    head = data[:2048]
    for magic, what in (
        (b"%PDF", "PDF 文件"),
        (b"\x89PNG", "图片（PNG）"),
        (b"\xff\xd8\xff", "图片（JPG）"),
        (b"GIF8", "图片（GIF）"),
        (b"BM", "图片（BMP）"),
        (b"Rar!", "RAR 压缩包"),
        (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
        (b"{\\rtf", "RTF 文档"),
    ):
        if head.startswith(magic):
            return Sniffed(None, "file-format", found=what)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<table")) or b"<html" in text:
        return Sniffed(None, "file-format", found="网页文件（HTML，常见于从网页系统导出的“表格”）")
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:8192]:
        return Sniffed(None, "file-format", found="Excel 2003 XML 表格")
    if ext in (".csv", ".txt") or _looks_like_text(head):
        return Sniffed(None, "file-format", found=f"文本文件（{ext or '无扩展名'}）")
    return Sniffed(None, "file-format", found=f"无法识别的文件（扩展名 {ext or '无'}）")


def _looks_like_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError:
            continue
        return all(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return False


def _sniff_ole2(data: bytes, ext: str) -> Sniffed:
    """An OLE2 compound file: an encrypted .xlsx, a real .xls, or a Word/PowerPoint file."""
    if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
        return Sniffed(None, "file-encrypted")
    if _utf16("Workbook") in data or _utf16("Book") in data:
        return Sniffed("xls")
    if _utf16("WordDocument") in data:
        return Sniffed(None, "file-format", found="Word 文档（.doc）")
    if _utf16("PowerPoint Document") in data:
        return Sniffed(None, "file-format", found="PowerPoint 演示文稿（.ppt）")
    return Sniffed(None, "file-format", found=f"无法识别的 OLE 复合文档（扩展名 {ext or '无'}）")


def _sniff_zip(data: bytes, limits: Limits) -> Sniffed:
    """A zip: check the budget from its central directory, look at which parts it holds, and for a
    workbook inflate every part once, checking it against the directory (see `inflate`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            over = budget(infos, limits)
            if over:
                return over
            names = {i.filename for i in infos}
            mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
            ods = mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet")
            if ods and "META-INF/manifest.xml" in names and b"encryption-data" in zf.read("META-INF/manifest.xml"):
                return Sniffed(None, "file-encrypted")  # an .ods saved with a password: its parts are ciphertext
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError):
        return Sniffed(None, "file-unreadable", reason=DAMAGED)
    if "xl/workbook.xml" in names or _has_part(names, "xl/workbook.xml") or "xl/workbook.bin" in names:
        return _inflated("xlsb" if "xl/workbook.bin" in names else "xlsx", data, infos, limits)
    if ods:
        return _inflated("ods", data, infos, limits)
    if "META-INF/manifest.xml" in names and b"opendocument.text" in mimetype:
        return Sniffed(None, "file-format", found="ODF 文字文档（.odt）")
    if any(n.startswith("word/") for n in names):
        return Sniffed(None, "file-format", found="Word 文档（.docx）")
    if any(n.startswith("ppt/") for n in names):
        return Sniffed(None, "file-format", found="PowerPoint 演示文稿（.pptx）")
    if "OFD.xml" in names:
        return Sniffed(None, "file-format", found="OFD 版式文件")
    return Sniffed(None, "file-format", found="ZIP 压缩包（不是 Excel 工作簿；请直接提交工作簿文件，不要压缩）")


def _has_part(names: set[str], part: str) -> bool:
    return any(n.lower() == part for n in names)


def budget(infos: list[zipfile.ZipInfo], limits: Limits) -> Sniffed | None:
    """A file-too-large refusal when a zip's central directory declares more than the limits allow."""
    if len(infos) > limits.max_entries:
        return Sniffed(
            None, "file-too-large", reason=f"包含 {len(infos)} 个压缩条目", expected=f"{limits.max_entries} 个条目"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        return Sniffed(
            None,
            "file-too-large",
            reason=f"解压后共 {size_text(total)}",
            expected=size_text(limits.max_uncompressed_bytes),
        )
    for i in infos:
        if i.file_size > RATIO_FLOOR and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            return Sniffed(
                None,
                "file-too-large",
                reason=f"其中“{i.filename}”的压缩比为 {i.file_size / max(i.compress_size, 1):.0f} 倍（疑似压缩炸弹）",
                expected=f"{limits.max_ratio:.0f} 倍",
            )
    return None


DAMAGED = "压缩结构已损坏或文件不完整"
KEPT_PARTS = (".xml", ".rels")  # parts the reader's own scans read; the others are checked, then dropped
KEPT_BYTES = 4 * 2**20  # a larger part is checked, then read again from the zip if ever needed
_STEP = 1 << 20  # bytes inflated at a time
_OVERLAP = len(b"<!DOCTYPE") - 1  # bytes of the previous chunk searched again: a declaration split in two


class ZipRefused(ValueError):
    """A zip entry that must not be handed to any parser; carries the refusal."""

    def __init__(self, refusal: Sniffed) -> None:
        super().__init__(refusal.reason or refusal.rule_id)
        self.refusal = refusal


def _inflated(kind: str, data: bytes, infos: list[zipfile.ZipInfo], limits: Limits) -> Sniffed:
    try:
        return Sniffed(kind, parts=inflate(data, infos, limits))
    except ZipRefused as exc:
        return exc.refusal


@dataclass(frozen=True)
class Inflated:
    """A zip whose every entry was inflated and checked (size, CRC, method, no DTD declared): its XML
    parts by name, and every entry's name. Only `inflate` makes one: xlsx.Parts trusts its parts."""

    parts: Mapping[str, bytes]  # the parts the reader's own scans read (KEPT_PARTS up to KEPT_BYTES)
    names: frozenset[str]  # every entry of the central directory
    plain: tuple[tuple[str, int], ...] | None = None  # (name, CRC) of each entry when copyable (stored.py)


def inflate(data: bytes, infos: list[zipfile.ZipInfo], limits: Limits) -> Inflated:
    """Inflate every entry of a zip once, checking it against its central directory entry; returns the
    XML parts by name. Raises ZipRefused.

    The budget (`budget`) trusts the sizes the directory declares. calamine (the Rust zip crate) does
    not: it inflates an entry until its deflate stream ends, so a directory that understates an entry
    (a "lying" bomb: 300 MB of spaces declared as 4 KB) would make it inflate without bound. Here each
    entry is inflated from its raw bytes, a step at a time, and the file is refused as soon as an entry
    yields more than it declared, or its CRC, method or local header is wrong. Memory stays within the
    declared sizes, which the budget has bounded; a filled template costs about 0.3 ms.
    """
    view = memoryview(data)
    parts: dict[str, bytes] = {}
    for info in infos:
        if info.flag_bits & 0x1:
            raise ZipRefused(Sniffed(None, "file-encrypted"))
        try:
            raw = entry_data(view, info)
        except ValueError:
            raise ZipRefused(Sniffed(None, "file-unreadable", reason=DAMAGED)) from None
        keep = info.filename.lower().endswith(KEPT_PARTS) and info.file_size <= KEPT_BYTES
        body = _entry(info, raw, keep)
        if keep:
            parts[info.filename] = body
    return Inflated(parts, frozenset(i.filename for i in infos), plain_entries(infos, parts))


def entry_data(view: memoryview, info: zipfile.ZipInfo) -> memoryview:
    """An entry's bytes as stored in the zip `view` (after its local header); ValueError where its local
    header is not there or its bytes are cut short."""
    at = info.header_offset
    if view[at : at + 4] != b"PK\x03\x04":
        raise ValueError(f"{info.filename}: no local header at {at}")
    name_len, extra_len = struct.unpack_from("<HH", view, at + 26)
    start = at + 30 + name_len + extra_len
    raw = view[start : start + info.compress_size]
    if len(raw) != info.compress_size:
        raise ValueError(f"{info.filename}: cut short")
    return raw


def _dtd(name: str, head: bytes) -> None:
    """Refuse a part declaring a DTD: the door to entity-expansion (billion laughs) and external entities.

    Office suites never write one, and text content escapes "<", so the raw markup is a declaration.
    Old OpenOffice versions wrote a DOCTYPE (an external DTD, no entities) into the manifest, which
    no parser reads (only a byte search for encryption): there only entity declarations are refused.
    Both declarations start with "<!", and "!" is rare in a part: most parts are passed by one memchr.
    """
    if b"!" not in head:
        return
    doctype = b"<!DOCTYPE" in head and name != "META-INF/manifest.xml"
    if doctype or b"<!ENTITY" in head:
        raise ZipRefused(
            Sniffed(None, "file-unreadable", reason=f"“{name}”含有 DTD 声明（可能是 XML 实体攻击），不予读取")
        )


def _entry(info: zipfile.ZipInfo, raw: memoryview, keep: bool) -> bytes:
    """One entry's content (b"" unless `keep`), checked for size, CRC and a method Excel writes."""
    declared = info.file_size
    if info.compress_type == zipfile.ZIP_STORED:
        chunks = [bytes(raw)] if keep else []
        size, crc = len(raw), zlib.crc32(raw)
        for at in range(0, len(raw), _STEP):  # the whole part, as the deflated case below
            _dtd(info.filename, bytes(raw[max(at - _OVERLAP, 0) : at + _STEP]))
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        chunks, size, crc, tail, seam = [], 0, 0, raw, b""
        try:
            while not inflater.eof:
                out = inflater.decompress(tail, _STEP)
                _dtd(info.filename, seam + out)  # every chunk: a DTD may follow megabytes of comment
                seam = out[-_OVERLAP:]
                size += len(out)
                if size > declared:
                    raise ZipRefused(
                        Sniffed(
                            None,
                            "file-unreadable",
                            reason=f"压缩条目“{info.filename}”解压后的实际大小超过其声明的大小（文件已损坏或被改造，疑似压缩炸弹）",
                        )
                    )
                crc = zlib.crc32(out, crc)
                if keep:
                    chunks.append(out)
                tail = inflater.unconsumed_tail
                if not out and not tail:
                    break
        except zlib.error as exc:
            raise ZipRefused(Sniffed(None, "file-unreadable", reason=DAMAGED)) from exc
    else:
        raise ZipRefused(
            Sniffed(None, "file-unreadable", reason=f"压缩条目“{info.filename}”使用了 Excel 不使用的压缩方式")
        )
    if size != declared or crc != info.CRC:
        raise ZipRefused(Sniffed(None, "file-unreadable", reason=DAMAGED))
    return b"".join(chunks)
