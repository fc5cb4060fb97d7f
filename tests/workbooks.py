"""Build test workbooks the way users make them: our generated template, filled through openpyxl,
optionally saved again by LibreOffice (formulas recalculated), like a real office suite would."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from processor.fileformat import entry_data
from processor.layout import layout
from processor.spec import Spec, edition_for_year, get_spec
from processor.template import write_template

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(not SOFFICE, reason="LibreOffice (soffice) not installed")


def spec_of(edition: str | None = None, year: int | None = None) -> Spec:
    return get_spec(edition) if edition else edition_for_year(year or 2025)


def fill_template(
    path: Path,
    *,
    edition: str | None = None,
    year: int = 2025,
    agency: str | None = "测试市测试局",
    values: Mapping[str, Any] | None = None,
    texts: Mapping[str, Any] | None = None,
    defaults: bool = True,
) -> Path:
    """Write our template for `edition`/`year`, then type `values` and `texts` into it by cell code.

    With `defaults`, the required texts (一、五) and the contact fields are filled with plausible
    content, so a test only states what it is about.
    """
    spec = spec_of(edition, year)
    write_template(path, spec, year=year, agency=agency)
    content: dict[str, Any] = {}
    if defaults:
        content.update(
            {
                "info.filler": "张三",
                "info.phone": "0453-3921234",
                "text.s1": "本年度主动公开政府信息 12 条，收到政府信息公开申请 3 件，均已按期办结。",
                "text.s5": "信息公开栏目更新不够及时。下一步将建立月度更新台账，专人负责。",
                "text.s6": "本年度未收取信息处理费。",
            }
        )
    content.update(texts or {})
    content.update(values or {})
    return set_cells(path, content, spec=spec)


def set_cells(path: Path, content: Mapping[str, Any], *, spec: Spec | None = None) -> Path:
    """Type values into an existing workbook by cell code (openpyxl, as a script or a user would)."""
    wb = openpyxl.load_workbook(path)
    spec = spec or get_spec(str(wb["_meta"]["B2"].value))
    places = layout(spec).places
    for code, value in content.items():
        place = places[code]
        wb[place.sheet][place.a1] = value
    wb.save(path)
    return path


FILTERS = {"ods": "ods:calc8", "xls": "xls:MS Excel 97", "xlsx": "xlsx:Calc MS Excel 2007 XML"}


def _save_with_libreoffice(paths: Iterable[Path], fmt: str, target_of: Callable[[Path], Path]) -> list[Path]:
    """Open each workbook in LibreOffice and save it as `fmt` to target_of(path); one soffice call."""
    paths = [Path(p) for p in paths]
    if not SOFFICE:
        raise RuntimeError("soffice not installed")
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / f"profile-{uuid.uuid4().hex}"  # private profile: parallel runs don't collide
        out = Path(tmp) / "out"
        out.mkdir()
        cmd = [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--calc",
            "--convert-to",
            FILTERS.get(fmt, fmt),
            "--outdir",
            str(out),
            *map(str, paths),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300, env={**os.environ, "HOME": tmp})
        made = []
        for p in paths:
            produced = out / f"{p.stem}.{fmt}"
            if not produced.exists():
                raise RuntimeError(f"LibreOffice did not convert {p} to {fmt}")
            target = target_of(p)
            shutil.move(str(produced), str(target))
            made.append(target)
    return made


def roundtrip(paths: Iterable[Path]) -> list[Path]:
    """Open and save each xlsx with LibreOffice (recalculating formulas), in place."""
    return _save_with_libreoffice(paths, "xlsx", lambda p: p)


def read_by_names(path: Path) -> dict[str, Any]:
    """Values of every defined-name cell, read independently of the project's reader (openpyxl)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out: dict[str, Any] = {}
    for name, dn in wb.defined_names.items():
        for sheet, ref in dn.destinations:
            out[name] = wb[sheet][ref.replace("$", "")].value
    return out


def convert(paths: Iterable[Path], fmt: str) -> list[Path]:
    """Save copies of workbooks in another format with LibreOffice (fmt: "ods" or "xls"), beside them.

    One soffice call for all paths; returns the new files (same stem, new suffix). The inputs are kept.
    """
    return _save_with_libreoffice(paths, fmt, lambda p: p.with_suffix(f".{fmt}"))


def zip_difference(a: bytes, b: bytes) -> str:
    """Where two workbooks that should be the same bytes differ, for an assertion's message: the first
    entry whose content differs, or — same content, another deflate stream — the entry, its sizes and
    the first sync-flushed run (package.deflate_run) that differs, with the text it starts at (a run's
    number is approximate where its bytes happen to hold the sync marker). Never raises."""
    if a == b:
        return "the same bytes"
    out = [f"{len(a)} and {len(b)} bytes, first difference at byte {_first_difference(a, b)}"]
    try:
        with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
            if za.namelist() != zb.namelist():
                return f"{out[0]}; other entries: {za.namelist()} / {zb.namelist()}"
            for ia, ib in zip(za.infolist(), zb.infolist(), strict=True):
                if (ia.CRC, ia.file_size, ia.compress_type) != (ib.CRC, ib.file_size, ib.compress_type):
                    text, other = za.read(ia), zb.read(ib)
                    k = _first_difference(text, other)
                    around = slice(max(k - 40, 0), k + 40)
                    out.append(f"{ia.filename}: other content from byte {k}: {text[around]!r} / {other[around]!r}")
                    break
                raw_a, raw_b = bytes(entry_data(memoryview(a), ia)), bytes(entry_data(memoryview(b), ib))
                if raw_a == raw_b:
                    continue
                if ia.compress_type != zipfile.ZIP_DEFLATED:
                    out.append(f"{ia.filename}: other bytes stored (method {ia.compress_type})")
                    break
                text = za.read(ia)
                sync = b"\x00\x00\xff\xff"  # (the end of a sync-flushed run; by chance also inside one, rarely)
                runs_a, runs_b = raw_a.split(sync), raw_b.split(sync)
                r = _first_difference(runs_a, runs_b)
                at = len(zlib.decompressobj(-15).decompress(sync.join(runs_a[:r]) + sync)) if r else 0
                sizes = [len(runs[r]) if r < len(runs) else "-" for runs in (runs_a, runs_b)]
                out.append(
                    f"{ia.filename}: the same content ({ia.file_size} bytes, CRC {ia.CRC:08x}), another deflate"
                    f" stream ({len(raw_a)} / {len(raw_b)} bytes; {len(runs_a)} / {len(runs_b)} sync-flushed runs);"
                    f" run {r} differs ({sizes[0]} / {sizes[1]} bytes), from text byte {at}: {text[at : at + 80]!r}"
                )
                break
    except Exception as exc:  # (a file that is not a sound zip: said, not raised in place of the failure)
        out.append(f"not compared further: {exc!r}")
    return "; ".join(out)


def _first_difference(a: Sequence[Any], b: Sequence[Any]) -> int:
    return next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
