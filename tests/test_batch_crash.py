"""A job killed at any moment, followed by a new run: nothing lost, nothing counted twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processor.archive import LEDGER_FILE
from processor.atomic import TEMP_PREFIX
from tests.test_batch import BROKEN_E1, city, ledger_rows, outbox_hashes, report, run, sha

UNITS = ["云溪市教育局", "云溪市财政局", "云溪市公安局", "西山县人民政府"]


def inbox_of(tmp_path: Path, n_extra: int = 0) -> dict[str, str]:
    """Four reports (one rejected) plus `n_extra` resubmissions; returns file → sha256."""
    inbox = tmp_path / "inbox"
    now = time.time()
    files = [
        report(inbox / "教育局.xlsx", UNITS[0], values={"s2_5.r1.c1": 11}, mtime=now - 50),
        report(inbox / "财政局.xlsx", UNITS[1], values={"s2_5.r1.c1": 12}, mtime=now - 40),
        report(inbox / "公安局.xlsx", UNITS[2], values=BROKEN_E1, mtime=now - 30),
        report(inbox / "西山县" / "县政府.xlsx", UNITS[3], values={"s2_5.r1.c1": 14}, mtime=now - 20),
    ]
    for i in range(n_extra):
        unit = UNITS[i % 2]
        files.append(
            report(inbox / f"更正{i}.xlsx", unit, seed=i + 1, values={"s2_5.r1.c1": 100 + i}, mtime=now - 10 + i)
        )
    return {p.name: sha(p) for p in files}


def start(config: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "processor", "run", "--config", str(config)],
        cwd=config.parent,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def assert_complete(tmp_path: Path, inputs: dict[str, str], counted: int) -> None:
    """The state a finished job must leave, however many times it was interrupted."""
    outbox = tmp_path / "outbox"
    assert set(inputs.values()) <= outbox_hashes(outbox), "an input is missing from the outbox"
    assert [p for p in (tmp_path / "inbox").rglob("*") if p.is_file()] == []
    assert not list(outbox.rglob(f"{TEMP_PREFIX}*")), "temporary files left behind"
    with sqlite3.connect(outbox / LEDGER_FILE) as db:
        rows = db.execute("SELECT sha256, state, status, unit, superseded_by FROM files").fetchall()
    assert all(state == "done" for _, state, _, _, _ in rows)
    originals = [r for r in rows if r[2] != "duplicate"]
    assert sorted(r[0] for r in originals) == sorted(inputs.values()), "a file recorded twice or not at all"
    live = [r[3] for r in rows if r[2] in ("accepted", "warning", "explained") and r[4] is None]
    assert sorted(live) == sorted(set(live)) and len(live) == counted, "a unit counted twice"


@pytest.mark.parametrize("step", ["received", "feedback", "archived", "committed"])
def test_crash_at_each_step_of_a_file__the_next_run_completes_without_loss_or_double_count(tmp_path: Path, step):
    config = city(tmp_path)
    inputs = inbox_of(tmp_path)
    crashed = start(config, NIANBAO_CRASH_AT=f"{step}:2")  # dies while taking the second file
    assert crashed.wait(timeout=60) == 137
    out = run(config)
    assert_complete(tmp_path, inputs, counted=3)
    assert out["units"]["accepted"] + out["units"]["warning"] == 3 and out["units"]["rejected"] == 1


def test_kill_9_in_the_middle_of_a_run__the_next_run_loses_nothing_and_counts_nothing_twice(tmp_path: Path):
    config = city(tmp_path)
    inputs = inbox_of(tmp_path, n_extra=6)
    proc = start(config)
    ledger = tmp_path / "outbox" / LEDGER_FILE
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as db:
                done = db.execute("SELECT count(*) FROM files WHERE state='done'").fetchone()[0]
        except sqlite3.Error:
            done = 0
        if done >= 3:
            break
        time.sleep(0.01)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL) if hasattr(signal, "SIGKILL") else proc.kill()
    proc.wait(timeout=30)
    assert 3 <= done < len(inputs), "the run was not stopped in the middle"
    run(config)
    assert_complete(tmp_path, inputs, counted=3)
    second = run(config)
    assert second["received"] == 0


def test_a_job_killed_four_times_on_the_same_file__the_file_is_still_checked_and_counted(tmp_path: Path):
    """Power cuts or a killed service are not the file's fault: a retried file is checked in a process
    of its own, so the job dying meanwhile says nothing against it."""
    config = city(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", UNITS[0])
    for _ in range(4):
        assert start(config, NIANBAO_CRASH_AT="received:1").wait(timeout=60) == 137
    out = run(config)
    assert [(f["file"], f["status"]) for f in out["files"]] == [("教育局.xlsx", "accepted")]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_that_crashes_the_checker__returned_unread_the_other_files_counted(
    tmp_path: Path, monkeypatch, workers: int
):
    """In worker processes (2), the job goes on and rejects the file in the same run; checked in the
    job's own process (1), the job dies once and the next run finds the file out."""
    config = city(tmp_path, workers=workers)
    inputs = inbox_of(tmp_path, n_extra=2)
    report(tmp_path / "inbox" / "毒文件.xlsx", UNITS[3], values={"s2_5.r1.c1": 15})
    if workers == 1:
        assert start(config, NIANBAO_CRASH_EXAMINING="毒文件.xlsx").wait(timeout=60) != 0
    monkeypatch.setenv("NIANBAO_CRASH_EXAMINING", "毒文件.xlsx")
    out = run(config)
    by_file = {f["file"]: f for f in out["files"]}
    poison = by_file.pop("毒文件.xlsx")
    assert poison["status"] == "rejected" and [x["rule"] for x in poison["findings"]] == ["file-unreadable"]
    assert "检查该文件时检查程序异常退出" in poison["findings"][0]["message"]
    assert "/归档/2025年度/被退回/" in poison["archive"]
    counted = {row[2] for row in ledger_rows(tmp_path / "outbox") if row[4] in ("accepted", "warning")}
    assert counted == {"教育局.xlsx", "财政局.xlsx", "县政府.xlsx", "更正0.xlsx", "更正1.xlsx"}
    assert out["units"]["accepted"] + out["units"]["warning"] == 3 and out["units"]["rejected"] == 1
    assert set(inputs.values()) <= outbox_hashes(tmp_path / "outbox")
    assert [p for p in (tmp_path / "inbox").rglob("*") if p.is_file()] == []


def test_a_file_the_job_keeps_dying_on_is_returned_unread_instead_of_blocking_the_job(tmp_path: Path):
    """The last resort, for a job that dies whatever isolates the check (MAX_ATTEMPTS interruptions)."""
    from processor.batch import MAX_ATTEMPTS

    config = city(tmp_path)
    report(tmp_path / "inbox" / "毒文件.xlsx", UNITS[0])
    assert start(config, NIANBAO_CRASH_AT="received:1").wait(timeout=60) == 137
    with sqlite3.connect(tmp_path / "outbox" / LEDGER_FILE) as db:  # … and MAX_ATTEMPTS - 1 times more
        db.execute("UPDATE files SET attempts=?", (MAX_ATTEMPTS,))
    out = run(config)
    f = out["files"][0]
    assert f["status"] == "rejected" and [x["rule"] for x in f["findings"]] == ["file-unreadable"]
    assert f"已中断 {MAX_ATTEMPTS} 次" in f["findings"][0]["message"]
    assert "/归档/2025年度/被退回/" in f["archive"]


def test_temporary_files__looked_for_at_a_start_unless_the_last_job_ended_leaving_none(tmp_path: Path):
    """A province's outbox has ~14,000 folders: a job that ends tidy says so (a mark in the outbox),
    and the next start does not walk them all; after a job that died or stopped early, it does."""
    from processor.batch import TIDY_MARK, Job
    from processor.config import load_settings
    from processor.inbox import scan

    config = city(tmp_path)
    inbox_of(tmp_path)
    outbox = tmp_path / "outbox"
    run(config)  # (a new outbox: nothing said the last job ended tidy; this one says it did …)
    assert (outbox / TIDY_MARK).read_text() == "1"
    run(config)  # (… two in a row: the next start need not look)
    assert (outbox / TIDY_MARK).read_text() == "2"
    job = Job(load_settings(config=config))
    assert not (outbox / TIDY_MARK).exists()  # (a job that dies from here on leaves no mark)
    job.close()
    assert (outbox / TIDY_MARK).read_text() == "2"

    # a job that dies (no mark) leaves a draft: the next start removes it
    (outbox / TIDY_MARK).unlink()
    draft = outbox / "归档" / "云溪市教育局" / f"{TEMP_PREFIX}draft.tmp"
    draft.parent.mkdir(parents=True, exist_ok=True)
    draft.write_bytes(b"half")
    run(config)
    assert not draft.exists() and (outbox / TIDY_MARK).read_text() == "1"

    # a job stopped before it finished its files leaves no mark either
    report(tmp_path / "inbox" / "新.xlsx", UNITS[0], seed=9, values={"s2_5.r1.c1": 99})
    job = Job(load_settings(config=config))
    job.process(scan(tmp_path / "inbox")[0], stop=lambda: True)
    job.close()
    assert not (outbox / TIDY_MARK).exists()


def test_batches_of_two_files__the_same_ledger_as_one_batch_for_all(tmp_path: Path, monkeypatch):
    """Files are committed to the ledger a batch at a time (one transaction each, after their copies
    are durable). With a batch every 2 files (resubmissions of a unit falling in different batches),
    the ledger and the counted units are those of one batch for all."""

    def ledger_rows(folder: Path) -> list[tuple]:
        with sqlite3.connect(folder / "outbox" / LEDGER_FILE) as db:
            rows = db.execute(
                "SELECT original_name, state, status, unit, superseded_by IS NOT NULL FROM files ORDER BY original_name"
            ).fetchall()
        return rows

    results = {}
    for every in ("2", "1000"):
        folder = tmp_path / every
        folder.mkdir()
        config = city(folder)
        inputs = inbox_of(folder, n_extra=6)
        monkeypatch.setenv("NIANBAO_COMMIT_EVERY", every)
        out = run(config)
        assert_complete(folder, inputs, counted=3)
        results[every] = (ledger_rows(folder), out["units"])
    assert results["2"] == results["1000"]


def test_a_draft_written_after_a_start_that_found_no_mark__is_removed_by_a_later_start(tmp_path: Path):
    """A job killed (out of memory, kill -9, a service restarted) leaves its workers running a file or
    two longer: a draft may arrive after the next job's start cleaned the outbox. That job leaves no
    tidy mark, so the start after it looks again (a helper's counterexample)."""
    from processor.batch import TIDY_MARK, Job
    from processor.config import load_settings

    config = city(tmp_path)
    inbox_of(tmp_path)
    outbox = tmp_path / "outbox"
    run(config)
    run(config)
    (outbox / TIDY_MARK).unlink()  # the last job was killed
    job = Job(load_settings(config=config))  # looks: nothing there yet
    late = outbox / "归档" / "2025年度" / "已通过" / "云溪市教育局" / f"{TEMP_PREFIX}a1b2c3d4e5f6.tmp"
    late.parent.mkdir(parents=True, exist_ok=True)
    late.write_bytes(b"the orphaned worker's archive draft")  # arrives now
    job.close()
    assert (outbox / TIDY_MARK).read_text() == "1"  # (one tidy job since the one killed: the next looks)
    run(config)
    assert not late.exists()


@pytest.mark.skipif(os.name == "nt", reason="a process group's Ctrl-C is sent differently on Windows")
def test_ctrl_c_in_a_terminal__reaches_the_workers_too__the_job_still_stops_cleanly(tmp_path: Path):
    """A terminal sends Ctrl-C to the whole process group, workers included: they leave it to the
    main process, which stops between files (exit 0); the next run finishes the rest."""
    config = city(tmp_path, workers=2)
    for i in range(40):
        report(tmp_path / "inbox" / f"f{i}.xlsx", UNITS[i % 3], seed=i, values={"s2_5.r1.c1": 100 + i})
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "run", "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )
    ledger = tmp_path / "outbox" / LEDGER_FILE
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as db:
                if db.execute("SELECT count(*) FROM files WHERE state='received'").fetchone()[0] >= 4:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    out = run(config)
    assert [p for p in (tmp_path / "inbox").rglob("*") if p.is_file()] == []
    assert not list((tmp_path / "outbox").rglob(f"{TEMP_PREFIX}*"))
    assert out["units"]["accepted"] + out["units"]["warning"] == 3
