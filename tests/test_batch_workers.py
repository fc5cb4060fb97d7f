"""`--workers 1` and `--workers N` give identical ledgers and summaries; workers that die."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path

import openpyxl

from processor.archive import LEDGER_FILE
from tests.test_batch import BROKEN_E1, city, report, run

UNITS = ["云溪市教育局", "云溪市财政局", "云溪市公安局", "西山县人民政府"]


_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")  # e.g. the receive time a `superseded` notice names


def _ledger(outbox: Path) -> tuple[list[tuple], list[tuple]]:
    """The ledger's content that does not depend on when or where the run happened (two runs a few
    seconds apart can fall on either side of a minute)."""
    con = sqlite3.connect(outbox / LEDGER_FILE)
    files = [
        (*row[:8], _MINUTE.sub("<time>", row[8] or ""), row[9])
        for row in con.execute(
            "SELECT sha256, original_name, status, unit, agency, year, edition, kind, findings, state"
            " FROM files ORDER BY sha256"
        )
    ]
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
            tuple(
                None if isinstance(v, dt.datetime) else _MINUTE.sub("<time>", v) if isinstance(v, str) else v
                for v in row
            )
            for row in ws.iter_rows(values_only=True)
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


def test_ordered__a_file_retried_after_an_interruption_is_checked_with_nothing_else_in_flight():
    """If it brings the worker pool down again, no other file is charged an attempt; and the files
    held for the workers stay within the window and the byte budget."""
    from concurrent.futures import Future

    from processor.batch import Task, _ordered

    submitted: list[int] = []
    consumed: list[int] = []
    in_flight: dict[int, int] = {}  # file id → files submitted and not yet taken when it was submitted

    class Pool:
        generation = 0

        def submit(self, fn, item):
            in_flight[item.file_id] = len(submitted) - len(consumed)
            submitted.append(item.file_id)
            done: Future = Future()
            done.set_result(fn(item))
            return done

    tasks = [Task(k, "f.xlsx", "f.xlsx", (), "x", b"x" * 10, 2025, attempts=2 if k == 5 else 1) for k in range(10)]
    for result in _ordered(iter(tasks), lambda t: t.file_id, Pool(), window=4):
        consumed.append(result)
    assert consumed == list(range(10))  # in order
    assert in_flight[5] == 0 and in_flight[6] == 0  # the retried file alone, nothing beside it
    assert max(in_flight.values()) == 3  # the window
    submitted.clear(), consumed.clear(), in_flight.clear()
    for result in _ordered(iter(tasks[:5]), lambda t: t.file_id, Pool(), window=100, max_bytes=25):
        consumed.append(result)
    assert consumed == list(range(5)) and max(in_flight.values()) == 2  # 3 × 10 bytes reach the budget


def test_ordered__a_worker_killed_by_one_file__each_file_in_flight_checked_again_alone_only_that_one_blamed():
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from processor.batch import Task, _ordered

    class Pool:
        """Workers that run their queue in order up to the result asked for; file 6 kills them."""

        def __init__(self):
            self.queue: list[tuple[Future, Task]] = []
            self.generation = self.probed = 0
            self.runs: list[tuple[int, bool]] = []  # (file id, nothing else was queued when it ran)
            self.broken: set[int] = set()

        def submit(self, fn, item):
            pool = self

            class Lazy(Future):
                def result(self, timeout=None):
                    pool.run(self)
                    return super().result(timeout)

                def exception(self, timeout=None):
                    pool.run(self)
                    return super().exception(timeout)

            future = Lazy()
            self.queue.append((future, item))
            return future

        def run(self, upto):
            for k, (future, item) in enumerate(self.queue):
                if upto.done():
                    return
                if future.done():
                    continue
                self.runs.append((item.file_id, sum(not f.done() for f, _ in self.queue) == 1))
                if item.file_id == 6:
                    for other, lost in self.queue[k:]:
                        other.set_exception(BrokenProcessPool("a worker died"))
                        self.broken.add(lost.file_id)
                    return
                future.set_result(("checked", item.file_id))

        def renew(self):
            self.queue, self.generation = [], self.generation + 1

        def probe(self):
            self.probed += 1

    pool = Pool()
    tasks = [Task(k, f"{k}.xlsx", f"{k}.xlsx", (), "x", b"x", 2025) for k in range(10)]
    results = list(_ordered(iter(tasks), lambda t: t, pool, window=5))
    assert [r if isinstance(r, tuple) else r.task.file_id for r in results] == [
        *[("checked", k) for k in range(6)],
        6,
        *[("checked", k) for k in range(7, 10)],
    ]
    crashed = results[6].result.report.sorted()
    assert [f.rule_id for f in crashed] == ["file-unreadable"] and "检查程序异常退出" in crashed[0].message
    first_break = pool.runs.index((6, False))
    assert len(pool.broken) > 1  # the files in flight with it …
    assert all((k, True) in pool.runs[first_break + 1 :] for k in pool.broken)  # … checked again, each alone
    assert pool.generation == 2 and pool.probed == 1  # the pool it broke, and the one it broke alone


def _checked_unless_3(task):
    """A worker's job in the tests below: file 3 kills the process checking it."""
    if task.file_id == 3:
        os._exit(139)
    time.sleep(0.02)
    return task.file_id


def _cannot_start():
    raise OSError("the ledger cannot be opened")


def test_ordered__real_workers__a_worker_killed_while_the_job_is_busy_between_files__only_that_file_blamed():
    """The worker dies while the main process archives and commits (no result being waited for):
    the next file handed out finds the pool broken; the job goes on, and blames file 3 alone."""
    from processor.batch import Task, Workers, _ordered

    tasks = [Task(k, f"{k}.xlsx", f"{k}.xlsx", (), "x", b"x", 2025) for k in range(10)]
    workers = Workers(2, (), initializer=None)
    got = []
    try:
        for result in _ordered(iter(tasks), _checked_unless_3, workers, window=4):
            got.append(result if isinstance(result, int) else ("unread", result.task.file_id))
            time.sleep(0.2)  # (the job archives and commits meanwhile)
    finally:
        workers.renew()
    assert got == [0, 1, 2, ("unread", 3), 4, 5, 6, 7, 8, 9]


def test_ordered__workers_that_cannot_start_at_all__the_job_stops_with_a_reason_and_blames_no_file():
    import pytest

    from processor.batch import Task, Workers, _ordered

    tasks = [Task(k, f"{k}.xlsx", f"{k}.xlsx", (), "x", b"x", 2025, attempts=2) for k in range(3)]
    workers = Workers(1, (), initializer=_cannot_start)
    got = []
    try:
        with pytest.raises(RuntimeError, match="检查文件的工作进程无法运行"):
            for result in _ordered(iter(tasks), _checked_unless_3, workers, window=4):
                got.append(result)
    finally:
        workers.renew()
    assert got == []
