"""One batch over every hostile file mixed with good ones: the job finishes (exit 0) in bounded memory, each
bad file is kept with a finding a clerk understands, and the good ones are consolidated exactly as without them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from processor.archive import LEDGER_FILE, LOG_DIR
from processor.batch import summary_data
from processor.consolidate import consolidate
from processor.ledger import Ledger
from processor.roster import load_roster
from processor.spec import get_spec
from tests.hostile.generate import EDITION, YEAR, Case, good_reports, roster_rows
from tests.test_batch import city, outbox_hashes, run, sha

MEMORY_BOUND_MB = 600
CJK = re.compile(r"[\u4e00-\u9fff]")
WINDOWS_ILLEGAL = re.compile(r'[<>:"\\|?*\x00-\x1f]')
RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM\d|LPT\d)(\..*)?$", re.I)

# Measures the peak memory of the job, run as a grandchild: RUSAGE_CHILDREN of this small wrapper
# covers only the job and its workers, not LibreOffice or anything else this test process started.
WRAPPER = """
import json, resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    p = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
kb = kb / 1024 if sys.platform == "darwin" else kb
print(json.dumps({"rc": p.returncode, "maxrss_kb": kb, "stderr": p.stderr.decode("utf-8", "replace")}))
"""


def workplace(root: Path, corpus: Path, cases: list[Case], good: list[Case], **settings: Any) -> Path:
    """inbox/ with the cases (subfolders kept) and the good reports, a roster of every readable unit."""
    inbox = root / "inbox"
    for c in [*cases, *good]:
        rel = c.path.relative_to(c.path.parent if c in good else corpus)
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(c.path, inbox / rel)
    units = [(row[0], row[2], row[3]) for row in roster_rows([*good, *cases])[1:]]
    return city(root, units=units, **settings)


def run_measured(config: Path) -> tuple[int, dict[str, Any], str, float | None]:
    """`python -m processor run --json` in a subprocess: (exit code, JSON, stderr, peak RSS in MB or None)."""
    cmd = [sys.executable, "-m", "processor", "run", "--config", str(config), "--json"]
    out = config.parent / "run.json"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    try:
        import resource  # noqa: F401  (POSIX only)
    except ImportError:
        proc = subprocess.run(cmd, capture_output=True, cwd=config.parent, env=env, timeout=600)
        return proc.returncode, json.loads(proc.stdout), proc.stderr.decode("utf-8", "replace"), None
    wrapped = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *cmd], capture_output=True, cwd=config.parent, env=env, timeout=600
    )
    report = json.loads(wrapped.stdout)
    data = json.loads(out.read_text(encoding="utf-8")) if report["rc"] == 0 else {}
    return report["rc"], data, report["stderr"], report["maxrss_kb"] / 1024


def figures(outbox: Path, roster: Path) -> dict[str, Any]:
    """What the summary consolidates, from the ledger: the sums of every node, and each counted unit's figures."""
    spec = get_spec(EDITION)
    with Ledger(outbox / LEDGER_FILE, readonly=True) as ledger:
        con = consolidate(summary_data(ledger, load_roster(roster), spec, YEAR))
    return {
        "sums": {node.path: dict(node.values) for node in con.root.walk() if node.units},
        "units": {u.name: dict(u.submission.values) for u in con.counted if u.submission is not None},
        "figures": [(f.key, f.value) for f in con.figures],
    }


def inside(path: str | None, outbox: Path) -> Path:
    assert path, "no path"
    p = Path(path).resolve()
    assert p.is_relative_to(outbox.resolve()), f"{p} is outside the outbox"
    assert p.is_file()
    return p.relative_to(outbox.resolve())


def windows_safe(rel: Path) -> None:
    """Every component a valid Windows name, short enough for Windows' 260-character paths."""
    assert len(str(rel)) <= 180, f"{rel} is {len(str(rel))} characters long"
    for part in rel.parts:
        assert not WINDOWS_ILLEGAL.search(part), part
        assert not RESERVED.match(part) and part == part.rstrip(". ") and not part.startswith("."), part
        assert len(part) <= 70 and len(part.encode()) <= 255, part


def test_hostile_batch__bad_files_are_kept_with_clear_findings_and_the_good_ones_sum_as_without_them(
    corpus, tmp_path: Path
) -> None:
    folder, cases = corpus
    good = good_reports(tmp_path / "good", 6)
    mixed = workplace(tmp_path / "mixed", folder, cases, good, workers=2)
    baseline = workplace(tmp_path / "baseline", folder, [c for c in cases if c.counted], good)
    inputs = {p: sha(p) for p in (tmp_path / "mixed" / "inbox").rglob("*") if p.is_file()}
    assert len(inputs) == len(cases) + len(good)

    rc, out, stderr, peak_mb = run_measured(mixed)
    assert rc == 0, stderr
    assert "Traceback" not in stderr, stderr
    outbox = tmp_path / "mixed" / "outbox"

    # Nothing lost: every input is archived under the outbox and the inbox holds no file any more.
    assert set(inputs.values()) <= outbox_hashes(outbox)
    assert [p for p in (tmp_path / "mixed" / "inbox").rglob("*") if p.is_file()] == []

    # Every file got its answer.
    by_file = {f["file"]: f for f in out["files"]}
    assert out["errors"] == 0 and not any(f["status"] == "error" for f in out["files"])
    for case in [*cases, *good]:
        rel = case.path.name if case in good else case.path.relative_to(folder).as_posix()
        f = by_file[rel]
        rules = {x["rule"] for x in f["findings"]}
        assert f["status"] == case.status, (case.name, case.about, f["status"], sorted(rules))
        assert set(case.rules) <= rules, (case.name, sorted(rules))
        windows_safe(inside(f["archive"], outbox))
        if f["findings"]:
            windows_safe(inside(f["feedback"], outbox))
        for x in f["findings"]:
            assert x["file"] == case.path.name and CJK.search(x["message"]), x
            assert "意外错误" not in x["message"] and "Traceback" not in x["message"]
        if case.status == "rejected":
            first = next(x for x in f["findings"] if x["severity"] == "error")
            assert first["message"] in stderr  # the console line names the file and its first error
            assert f"被退回：{rel}" in stderr

    # Same name in two folders: both archived, neither overwritten.
    same = [by_file[r]["archive"] for r in ("东湖区/年报.xlsx", "西山县/年报.xlsx")]
    assert len(set(same)) == 2 and {Path(p).name for p in same} == {"年报.xlsx", "年报 (2).xlsx"}

    # No formula from a submitted name ever reaches an output workbook.
    for book in outbox.rglob("*.xlsx"):
        if "归档" in book.parts:
            continue
        with zipfile.ZipFile(book) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/"):
                    formulas = re.findall(rb"<f>([^<]*)</f>", zf.read(name))
                    assert not [f for f in formulas if b"HYPERLINK" in f or b"cmd" in f], (book, name)

    # The good ones are consolidated exactly as in a batch without the bad ones.
    assert run(baseline)["errors"] == 0
    expected = figures(tmp_path / "baseline" / "outbox", tmp_path / "baseline" / "名册.csv")
    got = figures(outbox, tmp_path / "mixed" / "名册.csv")
    assert got == expected
    assert len(got["units"]) == len(good) + sum(1 for c in cases if c.counted)

    # Bounded memory: the bombs were refused before they cost any.
    log = (outbox / LOG_DIR / "nianbao.log").read_text(encoding="utf-8")
    assert "unexpected error" not in log
    if peak_mb is not None:
        print(f"peak RSS of the hostile batch: {peak_mb:.0f} MB")
        assert peak_mb < MEMORY_BOUND_MB, f"peak RSS {peak_mb:.0f} MB"
    else:
        pytest.skip("peak memory is measured on POSIX only")
