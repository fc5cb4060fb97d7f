"""Intake: lock, hidden and temporary files are never read; a file is read only once it stopped changing."""

from __future__ import annotations

import os
from pathlib import Path

from processor.archive import draft, numbered, safe_component, settle, store
from processor.inbox import Stability, arrival_ns, scan, skip_reason, wait_for_complete


def test_skip_reason__office_wps_libreoffice_locks_hidden_and_temporary_files():
    for name in (
        "~$财政局.xlsx",
        ".~lock.财政局.xlsx#",
        ".hidden.xlsx",
        "下载中.xlsx.crdownload",
        "~WRL0001.tmp",
        "Thumbs.db",
        "desktop.ini",
        "文件.xlsx.part",
        ".nianbao-abc.tmp",
    ):
        assert skip_reason(name), name
    for name in ("财政局.xlsx", "年报(1).xlsx", "旧格式.xls", "说明.pdf"):
        assert skip_reason(name) is None, name


def test_scan__subfolders_included_hidden_folders_and_skipped_files_reported(tmp_path: Path):
    (tmp_path / "西山县").mkdir()
    (tmp_path / ".git").mkdir()
    for rel in ("a.xlsx", "西山县/b.xlsx", "西山县/~$b.xlsx", ".git/c.xlsx"):
        (tmp_path / rel).write_bytes(b"x")
    found, skipped = scan(tmp_path)
    assert sorted(c.rel for c in found) == ["a.xlsx", "西山县/b.xlsx"]
    assert [s.path.name for s in skipped] == ["~$b.xlsx"]


def test_scan__a_folder_or_file_it_cannot_read__is_reported_not_passed_over(tmp_path: Path, monkeypatch):
    """A subfolder without the right to list it, a file whose path is too long for Windows: the unit
    would just show 未报送; now the coordinator is told which and why."""
    (tmp_path / "东湖区").mkdir()
    (tmp_path / "东湖区" / "a.xlsx").write_bytes(b"x")
    (tmp_path / "b.xlsx").write_bytes(b"x")
    real_scandir, real_lstat = os.scandir, Path.lstat

    def scandir(path):
        if Path(path).name == "东湖区":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def lstat(self):
        if self.name == "b.xlsx":
            raise OSError(36, "File name too long", str(self))
        return real_lstat(self)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "lstat", lstat)
    found, skipped = scan(tmp_path)
    assert found == []
    assert {s.path.name: s.reason for s in skipped} == {
        "东湖区": "无法打开的文件夹（没有读写权限（请检查文件或文件夹的权限，或文件是否被其他程序锁定）），其中的文件没有处理",
        "b.xlsx": "无法读取（文件路径过长）",
    }


def test_is_link__a_windows_junction_is_told_by_its_attribute_where_python_cannot_say(monkeypatch):
    """Python 3.11 has no os.path.isjunction, and its os.walk follows junctions out of the inbox."""
    from types import SimpleNamespace

    from processor import inbox

    class Folder:
        def __init__(self, attrs: int, tag: int = 0) -> None:
            self.attrs, self.tag = attrs, tag

        def is_symlink(self) -> bool:
            return False

        def lstat(self):
            return SimpleNamespace(st_file_attributes=self.attrs, st_reparse_tag=self.tag)

    monkeypatch.delattr(os.path, "isjunction", raising=False)
    assert inbox._is_link(Folder(0x400, 0xA0000003))  # type: ignore[arg-type]
    assert not inbox._is_link(Folder(0x10))  # type: ignore[arg-type]  (a plain folder)
    assert not inbox._is_link(Folder(0x400, 0x9000601A))  # type: ignore[arg-type]  (a OneDrive folder: walked)


def test_stability__a_file_is_ready_only_after_size_and_mtime_stay_the_same_for_the_window(tmp_path: Path):
    clock = [0.0]
    tracker = Stability(2.0, clock=lambda: clock[0])
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"12345")
    found, _ = scan(tmp_path)
    assert tracker.update(found)[0] == []
    clock[0] = 1.0
    with open(path, "ab") as fh:  # still being written
        fh.write(b"678")
    found, _ = scan(tmp_path)
    assert tracker.update(found)[0] == []
    clock[0] = 2.5  # 1.5 s since the last change: not yet
    assert tracker.update(scan(tmp_path)[0])[0] == []
    clock[0] = 3.1
    assert [c.name for c in tracker.update(scan(tmp_path)[0])[0]] == ["a.xlsx"]


def test_wait_for_complete__gives_up_on_a_file_that_keeps_growing(tmp_path: Path):
    grow = tmp_path / "copying.xlsx"
    done = tmp_path / "done.xlsx"
    done.write_bytes(b"done")
    grow.write_bytes(b"a")
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        with open(grow, "ab") as fh:
            fh.write(b"a")
        os.utime(grow, ns=(int(clock[0] * 1e9), int(clock[0] * 1e9)))

    complete, waiting, _ = wait_for_complete(tmp_path, 1.0, 5.0, sleep=sleep, clock=lambda: clock[0])
    assert [c.name for c in complete] == ["done.xlsx"]
    assert [c.name for c in waiting] == ["copying.xlsx"]


def test_safe_component__hostile_names_become_harmless_single_components():
    assert safe_component("../../etc/passwd") == "_.._etc_passwd"
    assert safe_component('a<b>c:d"e|f?g*h') == "a_b_c_d_e_f_g_h"
    assert safe_component("CON") == "_CON" and safe_component("com1.xlsx") == "_com1.xlsx"
    assert safe_component("名称. . ") == "名称"
    assert safe_component("\u202egnp.xlsx") == "gnp.xlsx"  # bidi override removed
    assert safe_component("..") == "未命名" and safe_component(None, fallback="未识别单位") == "未识别单位"
    long = safe_component("很长的单位名称" * 30 + ".xlsx")
    assert long.endswith(".xlsx") and len(long) <= 60 and len(long.encode()) <= 180


def test_store__a_clash_gets_a_numbered_name_the_same_content_is_not_stored_twice(tmp_path: Path):
    import hashlib

    def sha(b: bytes) -> str:
        return hashlib.sha256(b).hexdigest()

    first = store(b"one", sha(b"one"), tmp_path, "年报.xlsx")
    second = store(b"two", sha(b"two"), tmp_path, "年报.xlsx")
    again = store(b"two", sha(b"two"), tmp_path, "年报.xlsx")
    assert first.name == "年报.xlsx" and second.name == numbered("年报.xlsx", 2) == "年报 (2).xlsx"
    assert again == second and first.read_bytes() == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["年报 (2).xlsx", "年报.xlsx"]


def test_draft_then_settle__a_copy_written_ahead_gets_the_free_name_or_yields_to_the_same_content(tmp_path: Path):
    """Workers write the archive copy ahead (draft); the job names it (settle) exactly as store() would."""
    import hashlib

    def sha(b: bytes) -> str:
        return hashlib.sha256(b).hexdigest()

    store(b"one", sha(b"one"), tmp_path, "年报.xlsx")
    ahead = draft(b"two", sha(b"two"), tmp_path / "新")  # the folder is made
    assert ahead.parent == tmp_path / "新" and ahead.read_bytes() == b"two"
    moved = draft(b"two", sha(b"two"), tmp_path)
    assert settle(moved, sha(b"two"), tmp_path, "年报.xlsx").name == "年报 (2).xlsx"
    twin = draft(b"two", sha(b"two"), tmp_path)  # e.g. a run interrupted after the copy was named
    assert settle(twin, sha(b"two"), tmp_path, "年报.xlsx").name == "年报 (2).xlsx" and not twin.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["年报 (2).xlsx", "年报.xlsx"]


def test_arrival__the_later_of_last_save_and_creation_or_status_change():
    """报送时间 is when the file was put in the inbox: a copy keeps its last-saved time (mtime) but is
    created anew (Windows, macOS) or gets a new status-change time (Linux)."""
    from types import SimpleNamespace

    saved, copied = 1_700_000_000 * 10**9, 1_700_900_000 * 10**9
    linux = SimpleNamespace(st_mtime_ns=saved, st_ctime_ns=copied)
    windows_312 = SimpleNamespace(st_mtime_ns=saved, st_ctime_ns=saved, st_birthtime_ns=copied)
    macos = SimpleNamespace(st_mtime_ns=saved, st_ctime_ns=saved, st_birthtime=copied / 1e9)
    assert arrival_ns(linux) == arrival_ns(windows_312) == copied
    assert abs(arrival_ns(macos) - copied) < 1000
    # saved in place after it was created: the save is the later
    assert arrival_ns(SimpleNamespace(st_mtime_ns=copied, st_ctime_ns=saved, st_birthtime_ns=saved)) == copied


def test_received_stamp__never_in_the_future_and_now_when_unknown():
    import datetime as dt
    import time

    from processor.ledger import received_stamp

    future = int((time.time() + 86_400) * 1e9)
    for ns in (None, future):
        at = dt.datetime.fromisoformat(received_stamp(ns))
        assert abs(at.timestamp() - time.time()) < 5
    assert dt.datetime.fromisoformat(received_stamp(1_700_000_000 * 10**9)).timestamp() == 1_700_000_000
