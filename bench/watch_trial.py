"""Time `nianbao watch` as bench/run.py does, again and again, on a folder kept by `bench/run.py --keep`:
each trial adds a new unit to the roster (at --position, so that its rows move the lists' rows after it),
brings the outputs up to date with a `run`, starts `watch`, drops the unit's report into the inbox and
times drop → summary rewritten (bench/run.py's run_watch).

    .venv/bin/python bench/watch_trial.py --work /tmp/nianbao-bench-10000-xxxx --trials 3

The kept folder is changed (roster, ledger, outputs): use a copy when it matters.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import YEAR, build_units, plan_unit, write_plan
from bench.run import run_cmd, run_watch


def add_roster_unit(roster: Path, position: int) -> Any:
    """A unit of the generated province not yet in the roster, put in at row `position` (so that its rows
    move the lists' rows after it); returns it (bench.generate's unit)."""
    rows = list(csv.reader(io.StringIO(roster.read_text(encoding="utf-8-sig"))))
    listed = {r[0] for r in rows[1:]}
    unit = next(u for u in build_units(len(rows) + 400) if u.name not in listed)
    rows.insert(1 + position, [unit.name, unit.code, unit.group, ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    roster.write_text(out.getvalue(), encoding="utf-8-sig")
    return unit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="a folder kept by bench/run.py --keep")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--position", type=int, default=50, help="roster row the new unit is put at")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    work = args.work
    paths = {"inbox": work / "inbox", "outbox": work / "outbox", "roster": work / "roster.csv", "cwd": work}
    summary = work / "outbox" / "汇总" / f"{YEAR}年政府信息公开年报汇总.xlsx"
    env = {**os.environ, "NO_COLOR": "1"}
    for trial in range(args.trials):
        unit = add_roster_unit(paths["roster"], args.position)
        subprocess.run(run_cmd(paths, args.workers), cwd=work, capture_output=True, env=env, check=False)
        with tempfile.TemporaryDirectory() as scratch:
            plan = plan_unit(unit, seed=4242 + trial)
            made = write_plan(plan, Path(scratch))
            res = run_watch(paths, Path(scratch) / made.file, summary, args.workers, lambda line: None)
        if not res.get("ok"):
            print(f"trial {trial}: FAILED {res.get('error')}")
            return 1
        print(
            f"trial {trial} ({unit.name}, {plan.category}): drop → summary {res['seconds']:.2f} s "
            f"(archived after {res['archived_after']} s; watch ready after {res['startup_seconds']} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
