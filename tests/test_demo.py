"""`nianbao demo`: what the demo says each planted file will give is what the job gives (the README's first command)."""

from __future__ import annotations

from pathlib import Path

from processor.batch import run_batch
from processor.config import load_settings
from processor.demo import YEAR, build, fill_history, fill_inbox

SAID = {"通过": ("accepted",), "有警告": ("warning",), "被退回": ("rejected",), "重复": ("duplicate",)}


def test_demo__every_planted_file_ends_as_the_demo_says(tmp_path: Path):
    demo = build(tmp_path / "demo")
    fill_history(demo)
    run_batch(load_settings(demo.root, year=YEAR - 1))
    fill_inbox(demo)
    result = run_batch(load_settings(demo.root))
    got = {f.rel: f.status for f in result.files}
    for case in demo.cases:
        said = next((SAID[w] for w in SAID if case.expect.startswith(w)), None)
        if said is None:  # (不处理 / 未报送: nothing processed)
            assert case.file not in got, case
            continue
        assert got.get(case.file) in said, (case.file, case.expect, got.get(case.file))
