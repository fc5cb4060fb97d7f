"""Measure what an incremental 内容雷同 would cost (issue 7, phase 5): one new text against all the others.

Reads the counted units' texts from a finished run's ledger, then for each text part: the full exact
comparison (processor.similarity.find_matches, what every summary does today); an inverted index of
all clauses (clause → texts that have it), built once; and one text compared with every other text
through it (its common clauses with each by np.bincount over its clauses' texts, then Jaccard) —
what a new or replaced report would cost once the index is kept. Checks the one-text pass against
Jaccard computed pair by pair.

    python bench/similar_incremental.py --outbox DIR [--year 2025]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from processor import archive, similarity
from processor.ledger import COUNTED_STATUSES, Ledger


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outbox", type=Path, required=True)
    ap.add_argument("--year", type=int, default=2025)
    args = ap.parse_args(argv)
    with Ledger(args.outbox / archive.LEDGER_FILE, readonly=True) as ledger:
        ids = [
            row.id for row in ledger.files(args.year) if row.status in COUNTED_STATUSES and row.superseded_by is None
        ]
        subs = ledger.submissions(ids, light=True)
    texts = {str(i): {k: v for k, v in s.texts.items() if k.startswith("text.")} for i, s in subs.items()}
    t0 = time.perf_counter()
    similarity.find_matches(texts)
    print(f"{len(texts)} units: full exact comparison (find_matches) {time.perf_counter() - t0:.2f} s")
    codes = sorted({c for t in texts.values() for c in t})
    for code in codes:
        units = [u for u, t in texts.items() if len(similarity.prepare(t.get(code) or "").norm) >= 50]
        reps = [similarity.prepare(texts[u][code]) for u in units]
        if len(reps) < 2:
            continue
        t0 = time.perf_counter()
        number: dict[str, int] = {}
        postings: dict[int, list[int]] = defaultdict(list)
        for k, rep in enumerate(reps):
            for clause in rep.clauses:
                postings[number.setdefault(clause, len(number))].append(k)
        arrays = {c: np.array(v, dtype=np.int64) for c, v in postings.items()}
        sizes = np.array([len(r.clauses) for r in reps], dtype=np.int64)
        built = time.perf_counter() - t0
        seconds, checked = 0.0, 0
        for k in range(0, len(reps), max(1, len(reps) // 200)):  # ~200 texts, each as if it were the new one
            t0 = time.perf_counter()
            mine = [arrays[number[c]] for c in reps[k].clauses]
            common = np.bincount(np.concatenate(mine), minlength=len(reps)) if mine else np.zeros(len(reps))
            score = common / (len(reps[k].clauses) + sizes - common)
            near = set(np.nonzero(score >= 0.8)[0].tolist()) - {k}
            seconds += time.perf_counter() - t0
            x = reps[k].clauses
            assert near == {j for j, r in enumerate(reps) if j != k and similarity.jaccard(x, r.clauses) >= 0.8}
            checked += 1
        print(
            f"{code}: {len(reps)} texts; clause index built in {built:.2f} s; one text against all the others "
            f"{1000 * seconds / checked:.2f} ms ({checked} texts, checked pair by pair)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
