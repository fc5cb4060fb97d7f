"""Per-file cost of each way of reading our workbooks, on a sample of the cached corpus (one process).

Tells what is achievable: the 20 s target for 10,000 files on 2 cores leaves 4 ms of CPU per file
for everything (reading, checking, ledger, routing, summary). Stages, each over the same K files:

    hash            read the bytes and SHA-256 them (what the ledger needs to skip unchanged files)
    zip-inflate     zipfile: open and inflate workbook.xml, sharedStrings and the 7 sheets a reader needs
    calamine-4      python-calamine: open and to_python() the 4 sheets 二、三、四、文字部分
    calamine-7      python-calamine: the 7 sheets a full reader needs (基本信息 … 情况说明, _meta)
    openpyxl-ro     openpyxl read_only=True, data_only=True, iterate the 7 sheets
    openpyxl        openpyxl full load (data_only=True): the naive baseline's cost per file
    sniff           processor.fileformat.sniff: the zip directory, every entry inflated and checked
    open            sniff, then processor.book.open_book and every sheet's values (calamine)
    reader          processor.reader.read_workbook (when it exists)
    check           processor.check.check_workbook: read + all rules (when it exists)

    python bench/probe.py --n 500 [--k 300] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.baseline import sample
from bench.generate import EDITION, generate
from processor.layout import META, layout
from processor.spec import get_spec

SPEC = get_spec(EDITION)
LAYOUT = layout(SPEC)
TABLE_SHEETS = [p.name for p in LAYOUT.sheets if p.kind == "tables"]
TEXT_SHEET = next(p.name for p in LAYOUT.sheets if p.kind == "texts")
READ_SHEETS = [p.name for p in LAYOUT.sheets if p.kind not in ("instructions",)]  # 7 sheets
assert META in {p.kind for p in LAYOUT.sheets}


def _hash(path: Path) -> None:
    hashlib.sha256(path.read_bytes()).hexdigest()


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        for name in names:
            if name.startswith("xl/worksheets/sheet") or name in ("xl/workbook.xml", "xl/sharedStrings.xml"):
                zf.read(name)


def _calamine(sheets: list[str]) -> Callable[[Path], None]:
    from python_calamine import CalamineWorkbook

    def run(path: Path) -> None:
        wb = CalamineWorkbook.from_path(str(path))
        for name in sheets:
            wb.get_sheet_by_name(name).to_python()
        wb.close()

    return run


def _openpyxl_ro(path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for name in READ_SHEETS:
        for _ in wb[name].iter_rows(values_only=True):
            pass
    wb.close()


def _openpyxl_full(path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True)
    wb.close()


def _sniff(path: Path) -> Any:
    from processor.fileformat import Limits, sniff

    return sniff(path.read_bytes(), path.name, Limits())


def _open(path: Path) -> None:
    from processor.book import open_book
    from processor.fileformat import Limits, sniff

    data = path.read_bytes()
    sniffed = sniff(data, path.name, Limits())
    book = open_book(data, sniffed.kind, Limits(), sniffed.parts)
    for name in book.sheet_names:
        if name in READ_SHEETS:
            book.grid(name)


def stages() -> dict[str, Callable[[Path], Any] | None]:
    out: dict[str, Callable[[Path], Any] | None] = {
        "hash": _hash,
        "zip-inflate": _zip,
        "calamine-4": _calamine([*TABLE_SHEETS, TEXT_SHEET]),
        "calamine-7": _calamine(READ_SHEETS),
        "openpyxl-ro": _openpyxl_ro,
        "openpyxl": _openpyxl_full,
        "sniff": _sniff,
        "open": _open,
        "reader": None,
        "check": None,
    }
    if importlib.util.find_spec("processor.reader") is not None:
        try:
            from processor.reader import read_workbook

            out["reader"] = lambda p: read_workbook(p)
        except ImportError:
            pass
    try:
        from processor.check import Options, check_workbook

        if out["reader"] is not None:
            out["check"] = lambda p: check_workbook(p, options=Options(year=2025))
    except ImportError:
        pass
    return out


def measure(paths: list[Path], only: list[str] | None = None, log=print) -> dict[str, dict[str, float] | None]:
    """ms per file (wall and CPU) of each stage over the same files; None for a stage that is missing."""
    for p in paths:  # warm the page cache: every stage then reads from memory, like the others
        p.read_bytes()
    results: dict[str, dict[str, float] | None] = {}
    for name, fn in stages().items():
        if only and name not in only:
            continue
        if fn is None:
            results[name] = None
            log(f"  {name:12s} not available (module missing)")
            continue
        fn(paths[0])  # imports and caches outside the timing
        wall, cpu = time.perf_counter(), time.process_time()
        for p in paths:
            fn(p)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        results[name] = {"ms_wall": round(wall / len(paths) * 1000, 3), "ms_cpu": round(cpu / len(paths) * 1000, 3)}
        log(f"  {name:12s} {results[name]['ms_wall']:8.2f} ms/file wall, {results[name]['ms_cpu']:8.2f} ms CPU")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="per-file cost of each way of reading the corpus")
    ap.add_argument("--n", type=int, default=500, help="corpus size (generated if not cached)")
    ap.add_argument("--k", type=int, default=300, help="files measured")
    ap.add_argument("--only", nargs="*", help="stages to run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    corpus = generate(args.n)
    paths = sample(sorted(corpus.inbox.iterdir()), args.k)
    print(f"{len(paths)} files of {corpus.inbox}:")
    results = measure(paths, args.only)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
