"""Two versions of nianbao on one corpus, run by turns: what a change does to the cold run.

This machine's speed drifts by ±15 % from one run to the next (the same commit gave 66–68 s, and a
pair of runs 61 and 72 s), more than most changes make; runs of the two versions back to back, in
turns, show the change. `bench/run.py` stays the measurement of record; this is for deciding.

    python bench/ab.py --base a604f05 [--n 3000] [--rounds 3] [--workers 2]

The base revision is checked out with `git worktree` into a temporary folder and run with PYTHONPATH
pointing at it (same interpreter, same dependencies); the other version is this working tree. Each
round runs both cold (`nianbao run --json` on a fresh copy of the corpus of N files, no ledger),
alternating which goes first, and prints wall and CPU seconds and the job's own `timings`; then the
medians and the difference.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import generate
from bench.run import ROOT, _json_out, measured, prepare, run_cmd

SHOWN = ("files", "files.archive", "files.ledger", "summary", "units")  # the job's timings printed per run


def run_once(label: str, corpus: Any, work: Path, workers: int, source: Path | None) -> dict[str, Any]:
    """One cold run of the version at `source` (None: this working tree) in a fresh folder."""
    folder = work / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = prepare(corpus, folder, None)
    env = {"PYTHONPATH": str(source)} if source is not None else None
    out, err = folder / "run.json", folder / "run.stderr"
    m = measured(run_cmd(paths, workers), cwd=folder, out=out, err=err, env=env)
    data = _json_out(out) or {}
    m["timings"] = data.get("timings") or {}
    if m["rc"] != 0:
        raise SystemExit(f"{label}: exit {m['rc']}: {err.read_text(encoding='utf-8', errors='replace')[-400:]}")
    shutil.rmtree(folder, ignore_errors=True)
    return m


def line(label: str, m: dict[str, Any]) -> str:
    shown = ", ".join(f"{k} {m['timings'].get(k, 0):.2f}" for k in SHOWN)
    memory = f"{m.get('tree_rss_mb', 0):.0f} MB RSS, {m.get('tree_pss_mb', 0):.0f} MB PSS, {m.get('max_single_mb', 0):.0f} MB largest"
    return f"  {label:<5} {m['seconds']:7.2f} s wall  {m['cpu_seconds']:7.2f} s CPU  {memory}  ({shown})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the revision to compare with (e.g. HEAD~1, a commit)")
    ap.add_argument("--n", type=int, default=3000, help="workbooks in the corpus (generated and cached once)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    corpus = generate(args.n, log=lambda *a: print(*a, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="nianbao-ab-") as tmp:
        work, base = Path(tmp), Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True)
        # (compiled now, so that the base's first run does not pay for it)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(base / "processor")], check=True)
        try:
            runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
            for r in range(args.rounds):
                order = ("base", "head") if r % 2 == 0 else ("head", "base")
                print(f"round {r + 1}:")
                for label in order:
                    m = run_once(label, corpus, work, args.workers, base if label == "base" else None)
                    runs[label].append(m)
                    print(line(label, m), flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"medians over {args.rounds} rounds, N = {args.n} ({args.base} → working tree):")
    for key, name in (("seconds", "wall"), ("cpu_seconds", "CPU")):
        a = statistics.median(m[key] for m in runs["base"])
        b = statistics.median(m[key] for m in runs["head"])
        print(f"  {name:<5} {a:7.2f} → {b:7.2f} s  ({b - a:+.2f} s, {100 * (b - a) / a:+.1f} %)")
    for key in ("tree_rss_mb", "tree_pss_mb", "max_single_mb"):  # (peak memory of the run's process tree)
        a = statistics.median(m.get(key, 0) for m in runs["base"])
        b = statistics.median(m.get(key, 0) for m in runs["head"])
        print(f"  {key:<13} {a:7.1f} → {b:7.1f} MB  ({b - a:+.1f} MB)")
    for key in SHOWN:
        a = statistics.median(m["timings"].get(key, 0) for m in runs["base"])
        b = statistics.median(m["timings"].get(key, 0) for m in runs["head"])
        print(f"  {key:<7} {a:7.2f} → {b:7.2f} s  ({b - a:+.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
