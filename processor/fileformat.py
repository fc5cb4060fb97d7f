"""Tell what kind of file was submitted (magic bytes and extension) and whether it is within the reading budget."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import PurePath
from typing import Any

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
WORKBOOK_KINDS = ("xlsx", "xls", "xlsb", "ods")  # what the reader can open
RATIO_FLOOR = 1 << 20  # entries smaller than this are never judged by their compression ratio


@dataclass(frozen=True)
class Limits:
    """How much a submitted file may claim before any parser touches it (issue 6 extends this)."""

    max_file_bytes: int = 50 * 2**20
    max_entries: int = 2000
    max_uncompressed_bytes: int = 200 * 2**20
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
    """A zip: check the budget from its central directory, then look at which parts it holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            over = budget(infos, limits)
            if over:
                return over
            names = {i.filename for i in infos}
            mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        return Sniffed(None, "file-unreadable", reason=f"压缩结构已损坏或文件不完整：{type(exc).__name__}")
    if "xl/workbook.xml" in names or _has_part(names, "xl/workbook.xml") or "xl/workbook.bin" in names:
        return Sniffed("xlsb" if "xl/workbook.bin" in names else "xlsx")
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return Sniffed("ods")
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
