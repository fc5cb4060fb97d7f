"""`nianbao watch`: a file dropped while it runs is processed (polling mode); Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from processor.archive import LEDGER_FILE
from processor.batch import Job
from processor.config import load_settings
from processor.inbox import scan
from processor.watch import watch
from tests.test_batch import city, report
from tests.workbooks import zip_difference


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def done_files(outbox: Path) -> list[str]:
    try:
        with sqlite3.connect(f"file:{outbox / LEDGER_FILE}?mode=ro", uri=True, timeout=1) as db:
            return [r[0] for r in db.execute("SELECT original_name FROM files WHERE state='done' ORDER BY id")]
    except sqlite3.Error:
        return []


@pytest.mark.skipif(os.name == "nt", reason="sending SIGINT to a child process is POSIX-only")
def test_watch__processes_a_file_dropped_while_running_and_stops_cleanly_on_sigint(tmp_path: Path):
    config = city(tmp_path, stable=0.2)
    ready = report(tmp_path / "src" / "教育局.xlsx", "云溪市教育局")
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "watch", "--config", str(config), "--poll", "0.2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        assert wait_for(lambda: (tmp_path / "outbox" / LEDGER_FILE).exists())
        shutil.copyfile(ready, tmp_path / "inbox" / "教育局.xlsx")  # dropped while watch runs
        assert wait_for(lambda: done_files(tmp_path / "outbox") == ["教育局.xlsx"])
        assert wait_for(lambda: not (tmp_path / "inbox" / "教育局.xlsx").exists())
        assert wait_for(lambda: (tmp_path / "outbox" / "汇总" / "2025年政府信息公开年报汇总.xlsx").exists())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "每 0.2 秒扫描" in err and "已通过：教育局.xlsx（云溪市教育局）" in err
    assert "收到停止信号" in err and "已停止监视" in err
    # The lock is released: a run can start right away.
    again = subprocess.run(
        [sys.executable, "-m", "processor", "run", "--config", str(config), "--wait", "0"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert again.returncode == 0


def test_watch__polling_loop_processes_files_and_ends_when_asked(tmp_path: Path):
    config = city(tmp_path, stable=0.1)
    settings = load_settings(config=config, poll_seconds=0.1)
    stop = threading.Event()
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(watch(settings, force_poll=True, stop=stop)))
    thread.start()
    try:
        report(tmp_path / "inbox" / "财政局.xlsx", "云溪市财政局")
        assert wait_for(lambda: done_files(tmp_path / "outbox") == ["财政局.xlsx"])
        report(tmp_path / "inbox" / "公安局.xlsx", "云溪市公安局")
        assert wait_for(lambda: len(done_files(tmp_path / "outbox")) == 2)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert [f.name for f in outcome[0].files] == ["财政局.xlsx", "公安局.xlsx"]
    assert outcome[0].events is False


def test_a_file_that_vanishes_before_it_is_read_is_skipped_without_harm(tmp_path: Path):
    config = city(tmp_path)
    report(tmp_path / "inbox" / "a.xlsx", "云溪市教育局")
    report(tmp_path / "inbox" / "b.xlsx", "云溪市财政局")
    candidates, _ = scan(tmp_path / "inbox")
    (tmp_path / "inbox" / "a.xlsx").unlink()  # taken back by the agency between scan and read
    job = Job(load_settings(config=config))
    try:
        outcomes = job.process(candidates)
    finally:
        job.close()
    assert [(o.name, o.status) for o in outcomes] == [("b.xlsx", "accepted")]
    assert done_files(tmp_path / "outbox") == ["b.xlsx"]


def test_watch__started_on_an_unchanged_outbox_leaves_the_summary_and_finds_copies_among_new_reports(tmp_path: Path):
    """watch keeps the comparison of texts between refreshes (and makes it at start when the summary is
    left as it was): a report copied from one already counted, dropped later, is still flagged."""
    import openpyxl

    from processor.consolidate import COUNTED
    from tests.test_batch import run

    config = city(tmp_path, stable=0.1)
    copied = (
        "，".join(f"本机关今年认真落实第{n}项政务公开重点工作并取得明显成效" for n in "一二三四五六七八九十") + "。"
    )
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", texts={"text.s5": copied})
    summary = Path(run(config)["summary"])
    before = (summary.stat().st_ino, summary.stat().st_mtime_ns)
    settings = load_settings(config=config, poll_seconds=0.1)
    stop = threading.Event()
    cycles: list = []
    thread = threading.Thread(
        target=lambda: watch(settings, force_poll=True, stop=stop, on_cycle=lambda r: cycles.append(r))
    )
    thread.start()
    try:
        report(tmp_path / "inbox" / "财政局.xlsx", "云溪市财政局", texts={"text.s5": copied})
        assert wait_for(lambda: any(r.files for r in cycles))
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert not cycles[0].files and cycles[0].kept  # the start: nothing new, the summary left as it was
    assert [u.name for u in cycles[-1].units if u.status in COUNTED] == ["云溪市教育局", "云溪市财政局"]
    assert (summary.stat().st_ino, summary.stat().st_mtime_ns) != before
    issues = list(openpyxl.load_workbook(summary, read_only=True)["问题清单"].iter_rows(min_row=4, values_only=True))
    flagged = {r[1] for r in issues if r[4].endswith("（text-similar）")}
    assert flagged == {"云溪市教育局", "云溪市财政局"}


def test_watch_start__the_reader_and_feedback_writer_made_ready_without_a_word(tmp_path: Path):
    """watch checks a blank form in memory at start (its first file is then as fast as the next):
    nothing is written anywhere, nothing is logged."""
    from loguru import logger

    from processor import feedback

    config = city(tmp_path)
    job = Job(load_settings(config=config))
    feedback._skeleton.cache_clear()
    before = sorted(p for p in tmp_path.rglob("*"))
    said: list = []
    sink = logger.add(said.append, level="DEBUG")
    try:
        job.warm_intake()
    finally:
        logger.remove(sink)
    assert feedback._skeleton.cache_info().currsize == 1
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert said == []
    job.close()


def watch_until(
    config: Path, poll: float, drop: Callable[[], object], done: Callable[[list], bool], **options: object
) -> list:
    """Run watch (polling) in a thread, call `drop()`, wait until `done(cycles)`, stop; returns the cycles.
    `options`: settings as the command line gives them (e.g. by_group=True)."""
    settings = load_settings(config=config, poll_seconds=poll, **options)
    stop = threading.Event()
    cycles: list = []
    thread = threading.Thread(target=lambda: watch(settings, force_poll=True, stop=stop, on_cycle=cycles.append))
    thread.start()
    try:
        drop()
        assert wait_for(lambda: done(cycles))
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    return cycles


def test_watch__the_summary_it_writes_after_a_new_file_is_known_as_up_to_date_by_the_next_run(tmp_path: Path):
    """After new files, watch writes the summary without first asking whether it is up to date, and
    records what it was made from afterwards: a run right after finds it up to date and leaves it."""
    from processor.consolidate import COUNTED
    from tests.test_batch import run

    config = city(tmp_path, stable=0.1)
    cycles = watch_until(
        config,
        0.1,
        lambda: os.replace(
            report(tmp_path / "staging" / "财政局.xlsx", "云溪市财政局"), tmp_path / "inbox" / "财政局.xlsx"
        ),
        lambda cycles: any(r.files and any(u.status in COUNTED for u in r.units) for r in cycles),
    )
    summary = Path(cycles[-1].summary)
    stamp = summary.stat().st_mtime_ns
    out = run(config)
    assert out["summary_unchanged"] is True and summary.stat().st_mtime_ns == stamp


def test_watch__by_group__a_new_file_rewrites_the_summaries_of_its_groups_only(tmp_path: Path, monkeypatch):
    """With by_group at province scale every refresh rewrote ~650 group summaries (~100 s): now only
    those of the groups the new file is in, besides the whole summary."""
    from processor import summary as summary_mod
    from tests.test_batch import run
    from tests.test_batch_outputs import COUNTY_UNITS

    config = city(tmp_path, stable=0.05, units=COUNTY_UNITS)
    for i, (name, _, _) in enumerate(COUNTY_UNITS[:3]):
        report(tmp_path / "inbox" / f"{i}.xlsx", name, seed=50 + i)
    run(config, "--by-group")
    writes: list[Path] = []
    real = summary_mod.write_summary
    monkeypatch.setattr(summary_mod, "write_summary", lambda path, *a, **k: writes.append(path) or real(path, *a, **k))
    cycles = watch_until(
        config,
        0.05,
        lambda: os.replace(  # (written elsewhere, then moved in whole: a file copied in)
            report(tmp_path / "staging" / "城关镇.xlsx", "西山县城关镇人民政府", seed=60),
            tmp_path / "inbox" / "城关镇.xlsx",
        ),
        lambda cycles: any(r.files for r in cycles),
        by_group=True,
    )
    assert [f.status for r in cycles for f in r.files] == ["accepted"] and cycles[-1].summary is not None
    # (at start the outputs of the run were up to date: nothing written then)
    assert sorted(p.parent.name for p in writes) == ["汇总", "西山县", "西山县-乡镇街道"]


@pytest.mark.parametrize("retry", [None, 0.3])
def test_watch__a_file_that_cannot_leave_the_inbox__is_not_taken_every_cycle_nor_the_summary_rewritten(
    tmp_path: Path, monkeypatch, retry: float | None
):
    """A file archived but not removable from the inbox (open in Excel on Windows, no delete right on
    a share) stays there: it is not hashed and said again every cycle, only after watch.LEFT_RETRY
    seconds (it may have been closed meanwhile: then it leaves); the ledger does not change, nor the summary."""
    from processor import batch
    from processor import summary as summary_mod
    from processor import watch as watch_mod

    monkeypatch.setattr(batch, "_unlink_if_same", lambda cand: False)  # the file stays in the inbox
    if retry is not None:
        monkeypatch.setattr(watch_mod, "LEFT_RETRY", retry)
    writes: list[Path] = []
    real = summary_mod.write_summary
    monkeypatch.setattr(summary_mod, "write_summary", lambda path, *a, **k: writes.append(path) or real(path, *a, **k))
    config = city(tmp_path, stable=0.05)
    since: list[float] = []  # when the file was first taken

    def done(cycles: list) -> bool:  # 1.5 s after the file was taken (~30 cycles of 0.05 s)
        if not since and any(r.files for r in cycles):
            since.append(time.monotonic())
        return bool(since) and time.monotonic() - since[0] > 1.5

    cycles = watch_until(
        config,
        0.05,
        lambda: os.replace(
            report(tmp_path / "staging" / "财政局.xlsx", "云溪市财政局"), tmp_path / "inbox" / "财政局.xlsx"
        ),
        done,
    )
    statuses = [f.status for f in cycles[-1].files]
    assert statuses[0] == "accepted" and set(statuses[1:]) <= {"recovered"}
    if retry is None:
        assert statuses == ["accepted"]  # (~30 cycles of 0.05 s: well within LEFT_RETRY)
    else:
        assert "recovered" in statuses and len(statuses) < 10  # taken again every 0.3 s, not every cycle
    # (the summary of the empty outbox at start, then the one with the file; none for the recoveries)
    assert len(writes) == 2, f"summary written {len(writes)} times for one ledger change"


def test_watch__its_summary_after_rounds_of_files_and_a_roster_edit__is_the_one_a_run_writes_afresh(
    tmp_path: Path, monkeypatch
):
    """What watch keeps from one summary to the next (the units as listed, the texts' comparison and
    closest others, the rendered rows and their deflated blocks, the sums) must give the very summary a
    fresh run writes from the same ledger: byte for byte, after new reports, resubmissions, a rejected
    file, copied texts and a roster reordered with a new alias."""
    from processor import summary
    from tests.test_batch import BROKEN_E1, UNITS, roster_csv, run

    monkeypatch.setattr(summary, "BLOCK", 2)  # (blocks of 2 rows: some kept from one summary to the next)
    units = [
        *UNITS,
        ("云溪市审计局", "市直部门", ""),
        ("云溪市统计局", "市直部门", ""),
        ("西山县城关镇人民政府", "西山县/乡镇街道", "城关镇"),
    ]
    config = city(tmp_path, stable=0.05, units=units)
    inbox = tmp_path / "inbox"
    copied = (
        "，".join(f"本机关今年认真落实第{n}项政务公开重点工作并取得明显成效" for n in "一二三四五六七八九十") + "。"
    )
    nearly = copied.replace("第十项", "第十一项")
    rounds = [
        [("教育局.xlsx", "云溪市教育局", {"texts": {"text.s5": copied}}), ("财政局.xlsx", "云溪市财政局", {})],
        [("审计局.xlsx", "云溪市审计局", {"texts": {"text.s5": copied}, "seed": 2})],
        [
            ("公安局.xlsx", "云溪市公安局", {"values": BROKEN_E1}),
            ("统计局.xlsx", "云溪市统计局", {"texts": {"text.s5": nearly}}),
        ],
        [("教育局（更正）.xlsx", "云溪市教育局", {"seed": 5})],  # a resubmission: its copied text is gone
        "roster",  # units reordered, an alias added (城关镇 → 西山县城关镇)
        [("城关镇.xlsx", "城关镇", {"texts": {"text.s5": nearly}, "seed": 7})],
    ]
    settings = load_settings(config=config, poll_seconds=0.05)
    stop = threading.Event()
    cycles: list = []
    thread = threading.Thread(target=lambda: watch(settings, force_poll=True, stop=stop, on_cycle=cycles.append))
    thread.start()
    try:
        assert wait_for(lambda: len(cycles) >= 1)
        expected = 0
        for step in rounds:
            if step == "roster":
                seen = len(cycles)
                rows = [["单位名称", "单位代码", "所属分组", "别名"], *[[n, "", g, a] for n, g, a in reversed(units)]]
                rows[1][3] = "城关镇"
                (tmp_path / "名册.csv").write_text(roster_csv(rows), encoding="utf-8")
                assert wait_for(lambda seen=seen: len(cycles) > seen)
                continue
            for name, agency, kw in step:  # (written elsewhere, then moved in whole: a file copied in)
                os.replace(report(tmp_path / "staging" / name, agency, **kw), inbox / name)
            expected += len(step)
            assert wait_for(lambda expected=expected: len(cycles[-1].files) == expected)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    summary = Path(cycles[-1].summary)
    kept = summary.read_bytes()
    summary.unlink()
    run(config)  # nothing new: the summary written afresh from the ledger
    assert summary.read_bytes() == kept, zip_difference(kept, summary.read_bytes())


def test_watch_roster__one_that_cannot_be_read_for_a_moment__keeps_the_one_in_use_said_once(tmp_path: Path):
    """Excel saves by replacing the file; a share goes away for a moment; an edit is half done: watch
    went on with the roster it had (it used to stop), says so once, and reads it again once it changes."""
    from loguru import logger

    config = city(tmp_path)
    job = Job(load_settings(config=config), mode="watch")
    roster = tmp_path / "名册.csv"
    good = roster.read_text(encoding="utf-8")
    said: list = []
    sink = logger.add(lambda m: said.append(m.record["message"]), level="WARNING")
    try:
        roster.write_text("单位代码,所属分组\n,市直部门\n", encoding="utf-8")  # (no 单位名称 column)
        assert job.reload_roster() is False and job.reload_roster() is False
        roster.unlink()
        assert job.reload_roster() is False and job.reload_roster() is False
        assert len(job.roster) == 4
        assert len(said) == 2 and all("继续使用原来的名册" in m for m in said)
        assert "没有“单位名称”列" in said[0]
        roster.write_text(good + "云溪市民政局,,市直部门,\n", encoding="utf-8")
        assert job.reload_roster() is True and len(job.roster) == 5
    finally:
        logger.remove(sink)
        job.close()


def test_watch__a_group_summary_held_open__is_written_once_it_is_closed(tmp_path: Path, monkeypatch):
    """A run cannot write it while watch holds the outbox: watch tries again after watch.LEFT_RETRY."""
    from processor import summary as summary_mod
    from processor import watch as watch_mod
    from processor.atomic import FileInUse
    from tests.test_batch_outputs import COUNTY_UNITS

    config = city(tmp_path, stable=0.05, units=COUNTY_UNITS)
    monkeypatch.setattr(watch_mod, "LEFT_RETRY", 0.3)
    real, refused = summary_mod.write_summary, []

    def held(path, *a, **k):
        if Path(path).parent.name == "西山县" and len(refused) < 2:  # (closed after two tries)
            refused.append(path)
            raise FileInUse(Path(path))
        return real(path, *a, **k)

    monkeypatch.setattr(summary_mod, "write_summary", held)
    cycles = watch_until(
        config,
        0.05,
        lambda: os.replace(
            report(tmp_path / "staging" / "城关镇.xlsx", "西山县城关镇人民政府", seed=60),
            tmp_path / "inbox" / "城关镇.xlsx",
        ),
        lambda cycles: any(r.failed_outputs for r in cycles) and not cycles[-1].failed_outputs,
        by_group=True,
    )
    assert len(refused) == 2 and "西山县" in {p.parent.name for p in cycles[-1].group_summaries}
