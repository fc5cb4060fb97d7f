"""Faults around the job: killed at random points, a full disk, two jobs at once on one outbox."""

from __future__ import annotations

import errno
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

import processor.batch
import processor.summary
from processor.archive import LEDGER_FILE, summary_path
from processor.atomic import TEMP_PREFIX
from tests.hostile.generate import YEAR, agency_of, report, write
from tests.hostile.test_hostile_batch import figures
from tests.test_batch import BROKEN_E1, city, outbox_hashes, run, sha

CRASH_STEPS = ("received", "feedback", "archived", "committed")


def many(inbox: Path, n: int) -> dict[str, str]:
    """`n` files (one in ten rejected, one in twenty not a workbook, a few resubmissions); file → sha256."""
    now = time.time() - 1000
    files = []
    for i in range(n):
        unit = agency_of(200 + i % (n - 5))  # the last five are resubmissions of the first units
        path = inbox / f"{i // 50:02d}" / f"单位{i:03d}.xlsx"
        if i % 20 == 7:
            write(path, f"不是工作簿 {i}".encode())
        else:
            report(path, unit, seed=i, changes=BROKEN_E1 if i % 10 == 3 else {"s2_5.r1.c1": i})
        os.utime(path, (now + i, now + i))
        files.append(path)
    return {p.relative_to(inbox).as_posix(): sha(p) for p in files}


def start(config: Path, *args: str, **env: str) -> subprocess.Popen:
    """`nianbao run` in a subprocess; its console output goes to run-<n>.log beside the config."""
    log = config.parent / f"run-{time.monotonic_ns()}.log"
    with open(log, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "processor", "run", "--config", str(config), *args],
            cwd=config.parent,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def console(proc: subprocess.Popen) -> str:
    """What a process started by start() printed on stderr."""
    logs = sorted(Path(proc.args[5]).parent.glob("run-*.log"))  # type: ignore[index]
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)


def ledger_state(outbox: Path) -> tuple[list[str], Counter[str], list[str]]:
    """(sha256 of every original, counts by outcome, units counted) from the ledger.

    Accepted and warning count as one outcome: two files of one unit processed in one run give the
    later a same-batch-duplicate warning, in two runs (a run killed in between) a plain supersession.
    """
    with sqlite3.connect(outbox / LEDGER_FILE) as db:
        rows = db.execute("SELECT sha256, state, status, unit, superseded_by FROM files").fetchall()
    assert all(state == "done" for _, state, _, _, _ in rows), "a file left half-processed"
    originals = [r for r in rows if r[2] != "duplicate"]
    counted_statuses = ("accepted", "warning", "explained")
    counted = sorted(r[3] for r in rows if r[2] in counted_statuses and r[4] is None)
    outcomes = Counter("counted" if r[2] in counted_statuses else r[2] for r in originals)
    return sorted(r[0] for r in originals), outcomes, counted


def test_kill_9_at_random_points_of_a_run_over_200_files__the_next_run_ends_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("HOSTILE_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    units = [(agency_of(200 + i), "市直部门", "") for i in range(195)]
    calm, hit = tmp_path / "calm", tmp_path / "hit"
    inputs = many(calm / "inbox", 200)
    for rel in inputs:
        target = hit / "inbox" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((calm / "inbox" / rel).read_bytes())
        st = (calm / "inbox" / rel).stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    calm_config, hit_config = city(calm, units=units), city(hit, units=units)
    run(calm_config)

    kills = []
    for _ in range(4):  # crash points the job itself reaches (n ≥ 2: each run finishes at least one file)
        step, n = rng.choice(CRASH_STEPS), rng.randint(2, 40)
        kills.append(f"{step}:{n}")
        proc = start(hit_config, NIANBAO_CRASH_AT=f"{step}:{n}")
        assert proc.wait(timeout=120) in (0, 137), (seed, kills, console(proc))
    proc = start(hit_config)  # and a real SIGKILL at a random moment
    time.sleep(rng.uniform(0.5, 2.5))
    proc.send_signal(signal.SIGKILL) if hasattr(signal, "SIGKILL") else proc.kill()
    proc.wait(timeout=60)
    kills.append("SIGKILL")
    final = run(hit_config)
    assert final["errors"] == 0, (seed, kills)

    context = f"seed {seed}, kills {kills}"
    assert set(inputs.values()) <= outbox_hashes(hit / "outbox"), context
    assert [p for p in (hit / "inbox").rglob("*") if p.is_file()] == [], context
    assert not list((hit / "outbox").rglob(f"{TEMP_PREFIX}*")), context
    assert ledger_state(hit / "outbox") == ledger_state(calm / "outbox"), context  # each input exactly once
    assert sorted(ledger_state(hit / "outbox")[0]) == sorted(inputs.values()), context
    assert figures(hit / "outbox", hit / "名册.csv") == figures(calm / "outbox", calm / "名册.csv"), context


@contextmanager
def _disk_full_after(real, target: Path):
    """atomic_path whose write fails as a full disk does, after the temporary file got part of the data."""
    with real(target) as tmp:
        yield tmp
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))


def test_disk_full_while_the_summary_is_written__previous_summary_intact_next_run_succeeds(
    tmp_path: Path, monkeypatch
) -> None:
    config = city(tmp_path, units=[(agency_of(1), "市直部门", ""), (agency_of(2), "市直部门", "")])
    report(tmp_path / "inbox" / "一.xlsx", agency_of(1), seed=1)
    run(config)
    summary = summary_path(tmp_path / "outbox", YEAR)
    before = sha(summary)
    report(tmp_path / "inbox" / "二.xlsx", agency_of(2), seed=2)
    real = processor.summary.atomic_path
    monkeypatch.setattr(processor.summary, "atomic_path", lambda target: _disk_full_after(real, target))
    from typer.testing import CliRunner

    from processor.cli import app

    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 1, result.output  # the files were taken; only the summary is missing
    assert "无法写出汇总表：磁盘已满" in result.stderr and "汇总表：未能生成" in result.stdout
    assert sha(summary) == before, "the previous summary was damaged"
    assert not list((tmp_path / "outbox").rglob(f"{TEMP_PREFIX}*"))
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == []  # the file itself was archived and recorded
    monkeypatch.undo()
    again = run(config)
    assert again["summary"] and sha(summary) != before
    assert again["units"]["accepted"] == 2


def test_disk_full_while_a_file_is_archived__it_stays_in_the_inbox_says_so_and_is_taken_next_run(
    tmp_path: Path, monkeypatch
) -> None:
    config = city(tmp_path, units=[(agency_of(1), "市直部门", ""), (agency_of(2), "市直部门", "")])
    report(tmp_path / "inbox" / "一.xlsx", agency_of(1), seed=1)
    report(tmp_path / "inbox" / "二.xlsx", agency_of(2), seed=2)
    real = processor.batch.archive.draft

    def draft(source, sha256, folder, **kw):  # the copy is written ahead (by a worker), else by store()
        if folder.name == agency_of(1):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, sha256, folder, **kw)

    monkeypatch.setattr(processor.batch.archive, "draft", draft)
    out = run(config)
    by_file = {f["file"]: f for f in out["files"]}
    assert by_file["一.xlsx"]["status"] == "error" and by_file["一.xlsx"]["note"].startswith("磁盘已满")
    assert by_file["二.xlsx"]["status"] == "accepted"
    assert (tmp_path / "inbox" / "一.xlsx").exists()
    monkeypatch.undo()
    again = run(config)
    assert [(f["file"], f["status"]) for f in again["files"]] == [("一.xlsx", "accepted")]
    assert again["units"]["accepted"] == 2


@pytest.mark.parametrize("wait", [0.2, 120])
def test_two_jobs_started_at_once__one_works_the_other_waits_or_says_why_it_stopped(tmp_path: Path, wait: float):
    config = city(tmp_path, units=[(agency_of(200 + i), "市直部门", "") for i in range(25)])
    inputs = many(tmp_path / "inbox", 30)
    procs = [start(config, "--wait", str(wait)) for _ in range(2)]
    codes = sorted(p.wait(timeout=300) for p in procs)
    text = console(procs[0])
    if wait < 1:
        assert codes == [0, 3], text
        assert "另一个 nianbao 任务" in text and "已等待 0.2 秒" in text
    else:
        assert codes == [0, 0], text
        assert "另一个 nianbao 任务" not in text
    shas, statuses, _ = ledger_state(tmp_path / "outbox")
    assert shas == sorted(inputs.values()) and sum(statuses.values()) == 30
    assert [p for p in (tmp_path / "inbox").rglob("*") if p.is_file()] == []
