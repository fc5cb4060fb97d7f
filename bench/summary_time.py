"""Time the summary workbook for the units of a finished run (run by bench/run.py in its own process).

Builds what the summary shows from the run's ledger (processor.batch.summary_data, as the job does
at the end of a run), then writes it with processor.summary.write_summary into a scratch folder; the
two are timed apart. Falls back to the older write_year_summary interface (the interim CSV when there
is no workbook writer), and says which writer it timed.

    python bench/summary_time.py --outbox DIR --roster FILE --year 2025 --scratch DIR
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outbox", type=Path, required=True)
    ap.add_argument("--roster", type=Path, required=True)
    ap.add_argument("--year", type=int, required=True)
    ap.add_argument("--scratch", type=Path, required=True)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from processor import archive, batch
    from processor.ledger import Ledger
    from processor.roster import load_roster
    from processor.spec import edition_for_year

    t1 = time.perf_counter()
    spec = edition_for_year(args.year)
    roster = load_roster(args.roster)
    ledger = Ledger(args.outbox / archive.LEDGER_FILE, readonly=True)
    args.scratch.mkdir(parents=True, exist_ok=True)
    has_workbook = importlib.util.find_spec("processor.summary") is not None
    if has_workbook and hasattr(batch, "summary_data"):  # what the job does: data from the ledger, then write
        from processor.summary import write_summary

        data = batch.summary_data(ledger, roster, spec, args.year)
        units = data.units
        t2 = time.perf_counter()
        path = write_summary(archive.summary_path(args.scratch, args.year), data)
    else:  # older interface: units first, then write_year_summary (CSV when there is no workbook writer)
        units, _ = batch.unit_results(ledger, roster, args.year)
        t2 = time.perf_counter()
        path = batch.write_year_summary(ledger, spec, args.year, units, args.scratch)
    t3 = time.perf_counter()
    ledger.close()
    print(
        json.dumps(
            {
                "writer": "processor.summary.write_summary" if has_workbook else "interim CSV (no processor.summary)",
                "units": len(units),
                "counted": sum(1 for u in units if u.counted),
                "import_seconds": round(t1 - t0, 3),
                "load_seconds": round(t2 - t1, 3),
                "write_seconds": round(t3 - t2, 3),
                "path": str(path),
                "bytes": Path(path).stat().st_size,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
