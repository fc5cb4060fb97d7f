"""The naive baseline: the script a coordinator writes to add up a folder of filled templates.

For each workbook: `openpyxl.load_workbook(path, data_only=True)` — the full (not read-only) mode,
which is what tutorials and most people's scripts use — then add every number cell of the template
(fixed addresses, here taken from processor.layout as a coordinator would copy them from the
template) into a running total per cell. No validation, no ledger, no routing, no output workbook:
it does strictly less than `nianbao run`, so it is a generous baseline.

    python bench/baseline.py --inbox DIR [--sample K] [--json]

With --sample K it reads K files spread evenly over the sorted folder and extrapolates the time to
all files (said so in the output).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import openpyxl

from processor.layout import layout
from processor.spec import get_spec


def number_cells(edition: str = "2021") -> list[tuple[str, str, str]]:
    """(code, sheet, A1) of every number of the edition's tables, inputs and totals."""
    spec = get_spec(edition)
    places = layout(spec).places
    return [(code, places[code].sheet, places[code].a1) for code in spec.cells]


def add_up(paths: list[Path], cells: list[tuple[str, str, str]]) -> tuple[dict[str, float], int, int]:
    """What the coordinator's script does: load each workbook, add every number cell. (sums, read, failed)"""
    sums = {code: 0.0 for code, _, _ in cells}
    read = failed = 0
    for path in paths:
        try:
            wb = openpyxl.load_workbook(path, data_only=True)
        except Exception:  # the naive script skips what it cannot open (and says nothing)
            failed += 1
            continue
        for code, sheet, ref in cells:
            value = wb[sheet][ref].value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sums[code] += value
        wb.close()
        read += 1
    return sums, read, failed


def sample(paths: list[Path], k: int) -> list[Path]:
    """K paths spread evenly over the list."""
    if k >= len(paths):
        return paths
    step = len(paths) / k
    return [paths[int(i * step)] for i in range(k)]


def run(inbox: Path, k: int | None = None) -> dict:
    started = time.perf_counter()
    paths = sorted(p for p in Path(inbox).iterdir() if p.suffix.lower() == ".xlsx" and not p.name.startswith("~$"))
    chosen = sample(paths, k) if k else paths
    cells = number_cells()
    t0 = time.perf_counter()
    sums, read, failed = add_up(chosen, cells)
    loop = time.perf_counter() - t0
    total = time.perf_counter() - started
    extrapolated = len(chosen) < len(paths)
    per_file = loop / max(1, len(chosen))
    return {
        "files": len(paths),
        "measured_files": len(chosen),
        "read": read,
        "failed": failed,
        "extrapolated": extrapolated,
        "seconds_measured": round(total, 3),
        "ms_per_file": round(per_file * 1000, 3),
        # Whole folder: setup (imports excluded) plus the per-file loop scaled to every file.
        "seconds": round((total - loop) + per_file * len(paths), 3) if extrapolated else round(total, 3),
        "grand_total": round(sum(sums.values()), 4),
        "cells": len(cells),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="naive openpyxl baseline: load each workbook, add up its numbers")
    ap.add_argument("--inbox", type=Path, required=True)
    ap.add_argument("--sample", type=int, default=None, help="read only K files and extrapolate")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.inbox, args.sample)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        what = "extrapolated from " + str(result["measured_files"]) if result["extrapolated"] else "measured"
        print(
            f"{result['files']} files, {result['seconds']:.1f} s ({what}), {result['ms_per_file']:.1f} ms/file, "
            f"{result['failed']} unreadable"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
