"""Time the re-run with one new file as bench/run.py does, again and again, on a folder kept by
`bench/run.py --keep`; with --base, two versions by turns (the machine drifts more than a change makes).

Each trial adds a new unit to the roster (at --position, so that its rows move the lists' rows after
it), brings the outputs up to date with a `run` of the version about to be timed (untimed: the pairs
that version leaves, if any, are then its own), writes the unit's report into the inbox (mtime a minute
back: no stability wait) and times `nianbao run` (wall, CPU, the job's `timings`).

    .venv/bin/python bench/rerun_trial.py --work /tmp/nianbao-bench-10000-xxxx --trials 3
    .venv/bin/python bench/rerun_trial.py --work /tmp/nianbao-bench-10000-xxxx --trials 4 --base HEAD~1

The kept folder is changed (roster, ledger, outputs): use a copy when it matters.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import plan_unit, write_plan
from bench.run import ROOT, _json_out, measured, run_cmd
from bench.watch_trial import add_roster_unit


def trial(work: Path, k: int, position: int, workers: int, source: Path | None) -> dict[str, Any]:
    paths = {"inbox": work / "inbox", "outbox": work / "outbox", "roster": work / "roster.csv", "cwd": work}
    env = {"PYTHONPATH": str(source)} if source is not None else {}
    unit = add_roster_unit(paths["roster"], position)
    cmd = run_cmd(paths, workers)
    subprocess.run(cmd, cwd=work, capture_output=True, env={**os.environ, **env}, check=False)  # up to date
    with tempfile.TemporaryDirectory() as scratch:
        made = write_plan(plan_unit(unit, seed=5151 + k), Path(scratch))
        target = paths["inbox"] / made.file
        target.write_bytes((Path(scratch) / made.file).read_bytes())
    back = time.time() - 60
    os.utime(target, (back, back))
    out, err = work / "rerun-trial.json", work / "rerun-trial.stderr"
    m = measured(cmd, cwd=work, out=out, err=err, env=env)
    m["timings"] = (_json_out(out) or {}).get("timings") or {}
    m["unit"] = unit.name
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="a folder kept by bench/run.py --keep")
    ap.add_argument("--trials", type=int, default=3, help="per version")
    ap.add_argument("--position", type=int, default=50, help="roster row the new unit is put at")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--base", help="a revision to time by turns with this working tree (git worktree)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nianbao-rerun-") as tmp:
        base = Path(tmp) / "base" if args.base else None
        if base is not None:
            subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True)
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(base / "processor")], check=True)
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        try:
            for k in range(args.trials):
                order = ["head"] if base is None else (["base", "head"] if k % 2 == 0 else ["head", "base"])
                for label in order:
                    m = trial(args.work, 2 * k + len(runs[label]), args.position, args.workers,
                              base if label == "base" else None)  # fmt: skip
                    runs[label].append(m)
                    t = m["timings"]
                    print(
                        f"{label} {m['unit']}: {m['seconds']:.2f} s wall, {m['cpu_seconds']:.2f} s CPU, exit {m['rc']}"
                        f" (units {t.get('units', 0):.2f}, summary {t.get('summary', 0):.2f})",
                        flush=True,
                    )
        finally:
            if base is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    for label, ms in runs.items():
        if ms:
            med = statistics.median(m["seconds"] for m in ms)
            print(f"{label}: median {med:.2f} s over {len(ms)} (" + ", ".join(f"{m['seconds']:.2f}" for m in ms) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
