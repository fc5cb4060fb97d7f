"""Time `watch`'s refresh in one process: a job on a benchmark's kept folder, warmed as `watch` warms
at start, then K new files (resubmissions of random units) processed and refreshed one by one.

    .venv/bin/python bench/refresh.py --work /tmp/nianbao-bench-10000-xxxx --k 5 [--profile]

Prints each refresh's seconds and, with --profile, the top functions of the last one.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import YEAR, build_units, make_unit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", type=Path, required=True, help="a folder kept by bench/run.py --keep")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    from processor.batch import Job
    from processor.config import load_settings
    from processor.inbox import scan
    from processor.watch import _refresh

    settings = load_settings(
        args.work, inbox=args.work / "inbox", outbox=args.work / "outbox", roster=args.work / "roster.csv", year=YEAR
    )
    n = len(list((args.work / "inbox").glob("*"))) or 10000
    units = build_units(max(n, 10000))
    rng = random.Random(args.seed)
    job = Job(settings, mode="watch")
    t = time.perf_counter()
    _refresh(job, [])
    print(f"start (warm) {time.perf_counter() - t:.2f} s")
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(args.k):
            unit = units[rng.randrange(len(units))]
            made = make_unit(unit, Path(scratch), seed=1000 + args.seed * 100 + k)
            shutil.copy(Path(scratch) / made.file, settings.inbox / f"r{args.seed}-{k}-{made.file}")
            candidates, _ = scan(settings.inbox)
            fresh = [c for c in candidates if c.rel.startswith(f"r{args.seed}-{k}-")]
            t0 = time.perf_counter()
            outcomes = job.process(fresh)
            t1 = time.perf_counter()
            prof = cProfile.Profile() if args.profile and k == args.k - 1 else None
            if prof:
                prof.enable()
            _refresh(job, outcomes)
            if prof:
                prof.disable()
            t2 = time.perf_counter()
            print(f"file {k}: process {t1 - t0:.2f} s, refresh {t2 - t1:.2f} s ({outcomes[0].status})")
    job.close()
    if args.profile:
        stats = pstats.Stats(prof).sort_stats("cumulative")
        stats.print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
