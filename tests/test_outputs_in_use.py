"""Outputs another program holds (Excel or WPS on Windows) or cannot write: tried again for a moment, then
named with what to do, in Chinese, never as a traceback; the demo folder stays known as a demo's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from processor import atomic, demo
from processor.archive import describe_error
from processor.cli import app
from tests.submissions import zeros
from tests.workbooks import fill_template


def _refused(times: int):
    """os.replace refused `times` times (PermissionError, as Windows refuses a rename over a held file)."""
    calls: list[tuple[Path, Path]] = []
    real = atomic.os.replace

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) <= times:
            raise PermissionError(13, "Access is denied", str(src))
        real(src, dst)

    return replace, calls


def test_replace__on_windows_a_held_file_is_tried_again_then_named(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(atomic, "WINDOWS", True)
    monkeypatch.setattr(atomic.time, "sleep", lambda s: None)
    target = tmp_path / "汇总.xlsx"
    replace, calls = _refused(2)  # (an antivirus that lets go)
    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic.write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new" and len(calls) == 3
    replace, calls = _refused(99)  # (open in Excel)
    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(atomic.FileInUse) as caught:
        atomic.write_bytes_atomic(target, b"newer")
    assert len(calls) == len(atomic.RETRIES) + 1 and target.read_bytes() == b"new"
    assert (
        describe_error(caught.value)
        == f"“{target}”正被其他程序（如 Excel、WPS）打开或设为只读，无法替换。请关闭该文件（或取消只读）后再运行一次"
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(atomic.TEMP_PREFIX)]  # (no draft left)


def test_replace__elsewhere_a_refusal_is_a_permission_and_not_retried(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(atomic, "WINDOWS", False)
    replace, calls = _refused(99)
    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(PermissionError) as caught:
        atomic.write_bytes_atomic(tmp_path / "x", b"")
    assert len(calls) == 1 and not isinstance(caught.value, atomic.FileInUse)


def test_command_line__a_file_it_cannot_write__one_chinese_line_naming_it_not_a_traceback(tmp_path: Path):
    blocker = tmp_path / "输出"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "processor", "template", "--year", "2025", "-o", str(blocker / "模板.xlsx")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"错误：“{blocker}") and done.stderr.count("\n") == 1


def test_validate__a_feedback_workbook_it_cannot_write__said_and_the_report_still_printed(monkeypatch, tmp_path):
    from processor.cli import validate as validate_cli

    def held(path, result):
        raise atomic.FileInUse(path)

    monkeypatch.setattr(validate_cli, "write_feedback", held)
    bad = fill_template(tmp_path / "住建局.xlsx", values={**zeros(), "s3.r1.c1": 5, "s3.r3_1.c1": 4})
    (tmp_path / "反馈").mkdir()
    result = CliRunner().invoke(app, ["validate", str(bad), "--feedback", str(tmp_path / "反馈")])
    assert result.exit_code == 1
    assert (
        "无法写出“住建局.xlsx”的反馈工作簿" in result.output
        and "请关闭该文件（或取消只读）后再运行一次" in result.output
    )
    assert "退回" in result.output  # (the report itself)


def test_demo__a_file_of_the_last_demo_that_cannot_be_removed__stops_it_still_a_demo_folder(monkeypatch, tmp_path):
    root = tmp_path / "demo"
    demo._prepare(root)
    (root / "outbox").mkdir()
    (root / "outbox" / "汇总.xlsx").write_bytes(b"open in Excel")

    def held(path, *a, **k):
        raise PermissionError(13, "Access is denied", str(Path(path) / "汇总.xlsx"))

    monkeypatch.setattr(demo.shutil, "rmtree", held)
    with pytest.raises(OSError, match="删不掉（可能正在 Excel、WPS 中打开）"):
        demo._prepare(root)
    assert (root / demo.MARKER).exists()  # (the next `make demo` may still empty it)
    monkeypatch.undo()
    demo._prepare(root)
    assert [p.name for p in root.iterdir()] == [demo.MARKER]
