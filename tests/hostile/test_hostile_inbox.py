"""What the inbox holds besides files: links, folders, unreadable files, files that vanish or change while read."""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

import pytest

import processor.batch
import processor.inbox
from processor.archive import describe_error
from processor.inbox import Changing, read_snapshot
from tests.hostile.generate import agency_of, report, symlinks
from tests.test_batch import city, ledger_rows, outbox_hashes, run, sha

POSIX = os.name == "posix"


def _units(*numbers: int) -> list[tuple[str, str, str]]:
    return [(agency_of(i), "市直部门", "") for i in numbers]


@pytest.mark.skipif(not POSIX, reason="symbolic links need privileges on Windows")
def test_symlinks__are_never_followed_out_of_the_inbox_and_their_targets_never_touched(tmp_path: Path) -> None:
    config = city(tmp_path, units=_units(1, 930, 931))
    inbox = tmp_path / "inbox"
    report(inbox / "本单位.xlsx", agency_of(1), seed=1)
    outside = tmp_path / "外部"
    file_link, dir_link = symlinks(inbox, outside)
    targets = {p: sha(p) for p in outside.rglob("*") if p.is_file()}
    out = run(config)
    assert [f["file"] for f in out["files"]] == ["本单位.xlsx"]
    assert {Path(s["file"]).name: s["reason"] for s in out["skipped"]} == {
        "链接到外部.xlsx": "符号链接（请放入文件本身）",
        "链接到外部文件夹": "指向其他位置的文件夹链接（不处理，请放入文件本身）",
    }
    assert {p: sha(p) for p in outside.rglob("*") if p.is_file()} == targets  # targets read by no one, kept
    assert file_link.is_symlink() and dir_link.is_symlink()  # the links themselves are left alone
    assert not set(targets.values()) & outbox_hashes(tmp_path / "outbox")
    assert len(ledger_rows(tmp_path / "outbox")) == 1


@pytest.mark.skipif(not POSIX, reason="O_NOFOLLOW is POSIX")
def test_a_file_replaced_by_a_link_after_the_scan__is_not_read_through_it(tmp_path: Path) -> None:
    target = report(tmp_path / "外部.xlsx", agency_of(1))
    link = tmp_path / "inbox.xlsx"
    os.symlink(target, link)
    with pytest.raises(OSError) as caught:
        read_snapshot(link)
    assert describe_error(caught.value) == "是符号链接（请放入文件本身）"
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as caught:  # never blocks waiting for a writer
        read_snapshot(fifo)
    assert describe_error(caught.value) == "不是普通文件"


def test_folders__are_walked_and_left_in_place_empty_ones_untouched(tmp_path: Path) -> None:
    config = city(tmp_path, units=_units(1, 2))
    inbox = tmp_path / "inbox"
    report(inbox / "西山县" / "乡镇" / "城关镇.xlsx", agency_of(1), seed=1)
    report(inbox / "东湖区" / "年报.xlsx" / "里面.xlsx", agency_of(2), seed=2)  # a folder named like a file
    (inbox / "空文件夹").mkdir()
    out = run(config)
    assert sorted(f["file"] for f in out["files"]) == ["东湖区/年报.xlsx/里面.xlsx", "西山县/乡镇/城关镇.xlsx"]
    assert all(f["status"] == "accepted" for f in out["files"])
    assert (inbox / "空文件夹").is_dir() and (inbox / "西山县" / "乡镇").is_dir() and (inbox / "东湖区").is_dir()


def test_a_file_without_read_permission__is_reported_kept_and_taken_when_readable(tmp_path: Path, monkeypatch) -> None:
    config = city(tmp_path, units=_units(1, 2), max_wait_seconds=30)
    inbox = tmp_path / "inbox"
    report(inbox / "可读.xlsx", agency_of(1), seed=1)
    locked = report(inbox / "无权限.xlsx", agency_of(2), seed=2)
    simulated = not POSIX or os.geteuid() == 0  # root reads anything: simulate the refusal
    if simulated:
        real = processor.inbox.open_regular

        def refuse(path: Path):
            if Path(path).name == locked.name:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(processor.inbox, "open_regular", refuse)
    else:
        locked.chmod(0)
    started = time.monotonic()
    out = run(config)
    assert time.monotonic() - started < 20, "the job waited for a file that waiting cannot fix"
    by_file = {f["file"]: f for f in out["files"]}
    assert by_file["可读.xlsx"]["status"] == "accepted"
    assert by_file["无权限.xlsx"]["status"] == "error"
    assert by_file["无权限.xlsx"]["note"].startswith("无法读取：没有读写权限")
    assert out["errors"] == 1 and out["waiting"] == []
    assert locked.exists()
    if simulated:
        monkeypatch.undo()
    else:
        locked.chmod(0o644)
    again = run(config)
    assert [(f["file"], f["status"]) for f in again["files"]] == [("无权限.xlsx", "accepted")]


def test_a_file_that_vanishes_while_being_read__is_skipped_and_the_job_goes_on(tmp_path: Path, monkeypatch) -> None:
    config = city(tmp_path, units=_units(1, 2))
    inbox = tmp_path / "inbox"
    report(inbox / "留下.xlsx", agency_of(1), seed=1)
    gone = report(inbox / "消失.xlsx", agency_of(2), seed=2)
    real = processor.batch.read_snapshot

    def vanish(path: Path):
        if Path(path).name == gone.name:
            Path(path).unlink()
        return real(path)

    monkeypatch.setattr(processor.batch, "read_snapshot", vanish)
    out = run(config)
    assert [(f["file"], f["status"]) for f in out["files"]] == [("留下.xlsx", "accepted")]
    assert [row[2] for row in ledger_rows(tmp_path / "outbox")] == ["留下.xlsx"]
    log = (tmp_path / "outbox" / "日志" / "nianbao.log").read_text(encoding="utf-8")
    assert "文件在读取前被移走或删除，已跳过：消失.xlsx" in log


def test_a_file_that_changes_after_being_read__keeps_both_versions_and_counts_the_new_one_next_run(
    tmp_path: Path, monkeypatch
) -> None:
    config = city(tmp_path, units=_units(1))
    inbox = tmp_path / "inbox"
    path = report(inbox / "年报.xlsx", agency_of(1), seed=1, changes={"s2_5.r1.c1": 10})
    first = sha(path)
    newer = report(tmp_path / "newer.xlsx", agency_of(1), seed=1, changes={"s2_5.r1.c1": 20}).read_bytes()
    real = processor.batch.read_snapshot

    def rewrite(p: Path):
        got = real(p)
        Path(p).write_bytes(newer)  # the agency saves again right after the job read the file
        os.utime(p, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        return got

    monkeypatch.setattr(processor.batch, "read_snapshot", rewrite)
    out = run(config)
    assert out["files"][0]["status"] == "accepted"
    assert path.exists() and sha(path) != first  # the new content stays for the next run
    assert first in outbox_hashes(tmp_path / "outbox")
    monkeypatch.undo()
    again = run(config)
    assert [(f["file"], f["status"]) for f in again["files"]] == [("年报.xlsx", "accepted")]
    assert "取代" in again["files"][0]["note"]
    assert not path.exists() and {first, sha(tmp_path / "newer.xlsx")} <= outbox_hashes(tmp_path / "outbox")


def test_a_file_that_changes_while_being_read__is_left_for_the_next_run(tmp_path: Path, monkeypatch) -> None:
    config = city(tmp_path, units=_units(1))
    path = report(tmp_path / "inbox" / "年报.xlsx", agency_of(1), seed=1)

    def changing(p: Path):
        raise Changing(errno.EAGAIN, "文件在读取时被修改", str(p))

    monkeypatch.setattr(processor.batch, "read_snapshot", changing)
    out = run(config)
    assert out["files"] == [] and path.exists() and ledger_rows(tmp_path / "outbox") == []
    log = (tmp_path / "outbox" / "日志" / "nianbao.log").read_text(encoding="utf-8")
    assert "年报.xlsx 在读取时仍在被修改，本次不处理，留待下次运行" in log
    monkeypatch.undo()
    assert [f["status"] for f in run(config)["files"]] == ["accepted"]


def test_read_snapshot__a_file_growing_during_the_read_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "growing.xlsx"
    path.write_bytes(b"x" * 1000)
    real_fstat = os.fstat
    calls = []

    def fstat(fd: int):
        calls.append(fd)
        if len(calls) == 3:  # open, before the read, after it: the writer has appended meanwhile
            with open(path, "ab") as fh:
                fh.write(b"y" * 10)
        return real_fstat(fd)

    monkeypatch.setattr(processor.inbox.os, "fstat", fstat)
    with pytest.raises(Changing):
        read_snapshot(path)


@pytest.mark.skipif(sys.platform != "win32", reason="Windows sharing violations")
def test_busy__a_sharing_violation_means_still_being_written(tmp_path: Path, monkeypatch) -> None:
    def sharing(path: Path):
        raise OSError(errno.EACCES, "used by another process", str(path), 32)  # winerror 32

    monkeypatch.setattr(processor.inbox, "open_regular", sharing)
    assert processor.inbox.busy(tmp_path / "x.xlsx")
