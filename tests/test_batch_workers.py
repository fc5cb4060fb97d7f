"""`--workers 1` and `--workers N` give identical ledgers and summaries."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import time
from pathlib import Path

import openpyxl

from processor.archive import LEDGER_FILE
from tests.test_batch import BROKEN_E1, city, report, run

UNITS = ["云溪市教育局", "云溪市财政局", "云溪市公安局", "西山县人民政府"]


def _ledger(outbox: Path) -> tuple[list[tuple], list[tuple]]:
    """The ledger's content that does not depend on when or where the run happened."""
    con = sqlite3.connect(outbox / LEDGER_FILE)
    files = con.execute(
        "SELECT sha256, original_name, status, unit, agency, year, edition, kind, findings, state"
        " FROM files ORDER BY sha256"
    ).fetchall()
    values = con.execute(
        "SELECT f.sha256, v.code, v.value FROM cell_values v JOIN files f ON f.id = v.file_id ORDER BY 1, 2"
    ).fetchall()
    con.close()
    return files, values


def _sheets(summary: Path) -> dict[str, list[tuple]]:
    """Every value of every sheet but 概览 (which says when it was made); receive times left out."""
    wb = openpyxl.load_workbook(summary)
    return {
        ws.title: [
            tuple(None if isinstance(v, dt.datetime) else v for v in row) for row in ws.iter_rows(values_only=True)
        ]
        for ws in wb.worksheets
        if ws.title != "概览"
    }


def test_one_worker_and_two_workers_give_identical_ledgers_and_summaries(tmp_path):
    source = tmp_path / "files"
    now = time.time()
    for i, name in enumerate(UNITS * 2):  # 8 files: a resubmission for every unit
        broken = {"values": BROKEN_E1} if i == 2 else {}
        report(source / f"{i}-{name}.xlsx", name, seed=i, mtime=now - 20 + i, **broken)
    results = []
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        config = city(folder)
        shutil.copytree(source, folder / "inbox", dirs_exist_ok=True)  # same bytes, same mtimes
        out = run(config, "--workers", str(workers))
        results.append((_ledger(folder / "outbox"), _sheets(Path(out["summary"])), out["units"]))
    (ledger1, sheets1, units1), (ledger2, sheets2, units2) = results
    assert ledger1 == ledger2
    assert sheets1 == sheets2 and len(sheets1) >= 6
    assert units1 == units2
