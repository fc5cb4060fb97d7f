"""Find 内容雷同: a unit's text identical or nearly identical to its own last year's or another unit's.

Texts are compared clause by clause. A text is normalised (no whitespace, every number
replaced by #, so updating the figures of last year's text does not make it new), cut into clauses
at sentence and comma punctuation, and seen as the set of its clauses; two texts are alike when the
Jaccard similarity of their clause sets reaches the rule's threshold. Identical texts are grouped by
exact equality first; near-duplicates are found with prefix filtering (clauses ordered rarest
first, only the first |x| − ⌈t·|x|⌉ + 1 clauses of each text indexed), which is exact for the
threshold and touches only texts that share a rare clause; the candidates are filtered and verified
with numpy, so that a province's texts written from one model (~10,000 texts, ~270,000 near pairs)
are compared exactly in ~2.5 s. A rule's scan_limit (0 by default: none) can bound the candidates
verified per text beyond that scale; the summary then says how many texts were cut short
(text-similar-partial). Up to exact_up_to distinct texts of a part (a city) every pair is found.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import zipfile
from array import array
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .findings import Finding, finding
from .inbox import open_regular
from .kept import Memo
from .layout import layout
from .roster import short_name
from .spec import Spec

if TYPE_CHECKING:
    from .consolidate import UnitResult
    from .submission import Submission

_NUMBER = re.compile(r"\d+(?:[.．]\d+)?[%％]?")  # \d includes full-width digits
MIN_CLAUSE = 4  # shorter clauses (一是、同时) carry no authorship
_CLAUSE = re.compile(rf"[^。．！？；：，,;:!?\n]{{{MIN_CLAUSE},}}")  # a clause between punctuation marks
SCAN_LIMIT = 0  # default of the rule's scan_limit: candidates verified per text at most (0: all)
EXACT_UP_TO = 2000  # default of the rule's exact_up_to: distinct texts of a part compared without the limit
NAMED = 3  # other units named in one finding
STORE_VERSION = 1  # of the pairs store (Comparisons.save)

IDENTICAL, DIGITS, SIMILAR = "identical", "digits", "similar"


class Prepared:
    """A text as compared: `norm` without whitespace, `masked` with every number replaced by #, and
    the set of its clauses, cut when first asked for (most texts of a `watch` refresh were compared
    before and are only grouped by `masked`)."""

    __slots__ = ("_clauses", "masked", "norm")

    def __init__(self, norm: str, masked: str, clauses: frozenset[str] | None = None) -> None:
        self.norm, self.masked, self._clauses = norm, masked, clauses

    @property
    def clauses(self) -> frozenset[str]:
        if self._clauses is None:
            # Interned: equal clauses of different texts are one object (set intersections compare identity).
            self._clauses = frozenset(map(sys.intern, _CLAUSE.findall(self.masked)))
        return self._clauses


class Match(NamedTuple):
    """Text `code` of `unit` is like the same text of `other` (None: the unit's own last year). (A
    tuple: hashed and compared in C, ~40,000 a `watch` refresh as the keys of its findings.)"""

    unit: str
    code: str
    other: str | None
    degree: str  # identical | digits | similar
    score: float  # Jaccard similarity of the clause sets (1.0 for identical and digits)

    @property
    def rank(self) -> tuple[int, float]:
        return _RANK[self.degree], -self.score


@dataclass
class Alike:
    """All that one text (unit, code) is alike: the closest matches, best first, and how many in all."""

    unit: str
    code: str
    own: bool  # compared with the unit's own text of last year (else with other units' texts)
    matches: list[Match]
    count: int
    ordered: bool = field(default=True, compare=False, repr=False)  # matches as find_matches orders them already


_RANK = {IDENTICAL: 0, DIGITS: 1, SIMILAR: 2}


def prepare(text: str) -> Prepared:
    norm = "".join(text.split())  # str.split() knows every Unicode space, U+3000 included
    return Prepared(norm, _NUMBER.sub("#", norm))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def compare(a: Prepared, b: Prepared, threshold: float) -> tuple[str, float] | None:
    """How alike two prepared texts are, or None below the threshold."""
    if a.norm == b.norm:
        return IDENTICAL, 1.0
    if a.masked == b.masked:
        return DIGITS, 1.0
    score = jaccard(a.clauses, b.clauses)
    return (SIMILAR, score) if score >= threshold else None


class Pairs(NamedTuple):
    """Near pairs as three arrays: texts i[k] and j[k] are alike with score[k] (~293,000 pairs in the
    bench's texts: ~7 MB so, ~45 MB as Python tuples, at the summary's peak of memory)."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray

    @classmethod
    def none(cls) -> Pairs:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def tolist(self) -> list[tuple[int, int, float]]:
        return list(zip(self.i.tolist(), self.j.tolist(), self.score.tolist(), strict=True))


def _near_pairs(reps: list[Prepared], threshold: float, limit: int = SCAN_LIMIT) -> tuple[Pairs, set[int]]:
    """Pairs (i, j, score) of texts whose clause sets have Jaccard ≥ threshold, and the texts whose
    candidates were cut at `limit` (0: no limit; then every such pair is found).

    All-pairs with prefix filtering: clauses are ordered rarest first; texts are visited from the
    smallest clause set up, each probing the index with its first |x| − ⌈t·|x|⌉ + 1 clauses and
    adding its first |x| − ⌈2t/(1+t)·|x|⌉ + 1 to it; two texts with Jaccard ≥ t must meet there.
    The visiting order is known in advance, so the index is built whole, with numpy (each clause's
    texts in that order, as one array) and a text looks only at the texts before it: for each clause
    it probes, as many as were indexed before it (a count kept as the visit goes on). Candidates are
    the distinct texts met, from the first one large enough (the size filter, by position); then the
    signature bound (_signatures) and a verification counting common clauses, also with numpy: at 10,000
    texts written from one sentence bank, ~270,000 pairs in ~1.1 s (~1.5 s with Python dicts for the
    index; ~4 s in Python loops). `limit` cuts each probed clause's texts to its first `limit`.
    """
    n_texts = len(reps)
    cut: set[int] = set()
    lens = np.fromiter((len(p.clauses) for p in reps), dtype=np.int64, count=n_texts)
    if not lens.any():
        return Pairs.none(), cut
    distinct = sorted(set(chain.from_iterable(p.clauses for p in reps)))  # (ids in clause order: not by hash)
    ids = dict(zip(distinct, range(len(distinct)), strict=True))
    clause = np.fromiter(
        map(ids.__getitem__, chain.from_iterable(p.clauses for p in reps)), dtype=np.int64, count=int(lens.sum())
    )
    df = np.bincount(clause, minlength=len(ids))
    # ranks: rarest first (ties by the clause); clauses no other text has are left out (-1): they never meet
    multi = np.flatnonzero(df > 1)
    by_rank = multi[np.lexsort((multi, df[multi]))]
    rank_of = np.full(len(ids), -1, dtype=np.int64)
    rank_of[by_rank] = np.arange(len(by_rank), dtype=np.int64)
    order = np.argsort(lens, kind="stable")  # position → text
    position = np.empty(n_texts, dtype=np.int64)
    position[order] = np.arange(n_texts, dtype=np.int64)
    ranks = rank_of[clause]
    shared = ranks >= 0
    owner = np.repeat(position, lens)[shared]  # the position of each shared clause's text
    ranks = ranks[shared]
    del clause, shared  # (a province's texts: ~440,000 clauses; held arrays are the peak of the summary)
    flat = ranks[np.lexsort((ranks, owner))]  # each position's shared clauses, rarest first
    shared_n = np.bincount(owner, minlength=n_texts)
    del ranks, owner
    starts = np.zeros(n_texts + 1, dtype=np.int64)
    np.cumsum(shared_n, out=starts[1:])
    size = lens[order]
    fsize = size.astype(np.float64)
    # (- 1e-9: a product that floats above a whole number, e.g. 2·0.8/1.8 × 63 = 56.000…01, would make
    # ceil one too big and the prefix one clause too short, losing pairs)
    once = size - shared_n  # clauses of its own: the rarest, first in its prefix
    probe = size - np.ceil(threshold * fsize - 1e-9).astype(np.int64) + 1 - once
    keep = size - np.ceil(2 * threshold / (1 + threshold) * fsize - 1e-9).astype(np.int64) + 1 - once
    live = (size >= 2) & (probe > 0)  # else its whole probing prefix is its own: no text can reach the threshold
    probe = np.where(live, np.minimum(probe, shared_n), 0)
    keep = np.where(live, np.clip(keep, 0, shared_n), 0)
    # the index: each rank's positions (those whose first `keep` clauses it is among), ascending
    indexed = np.arange(flat.size, dtype=np.int64) - np.repeat(starts[:-1], shared_n) < np.repeat(keep, shared_n)
    index_rank, index_pos = flat[indexed], np.repeat(np.arange(n_texts, dtype=np.int64), shared_n)[indexed]
    postings = index_pos[np.lexsort((index_pos, index_rank))]
    del indexed, index_pos
    if not postings.size:
        return Pairs.none(), cut
    post_start = np.zeros(len(by_rank) + 1, dtype=np.int64)
    np.cumsum(np.bincount(index_rank, minlength=len(by_rank)), out=post_start[1:])
    low, high = _signatures(flat, starts, shared_n)
    before = np.zeros(len(by_rank), dtype=np.int64)  # each rank's positions indexed before the one visited
    met = np.zeros(n_texts, dtype=bool)
    member = np.zeros(len(by_rank), dtype=np.int64)  # 1 for the clauses of the text being verified
    least_common = threshold / (1 + threshold)  # J ≥ t needs |x ∩ y| ≥ t/(1+t)·(|x| + |y|)
    first = np.searchsorted(fsize, threshold * fsize - 1e-9, side="left").tolist()  # size filter: y ≥ t·x
    hits: list[tuple[np.ndarray, int, np.ndarray]] = []
    begin, probes, keeps = starts.tolist(), probe.tolist(), keep.tolist()
    for pos in range(n_texts):
        a = begin[pos]
        if probes[pos]:
            probed = flat[a : a + probes[pos]]
            k = before[probed]
            if limit and (k > limit).any():
                k = np.minimum(k, limit)
                cut.add(int(order[pos]))
            total = int(k.sum())
            lo = first[pos]
            if total and lo < pos:
                offsets = np.zeros(len(k), dtype=np.int64)
                np.cumsum(k[:-1], out=offsets[1:])
                reached = postings[np.repeat(post_start[probed] - offsets, k) + np.arange(total)]
                if total * 8 < pos - lo:  # few met among many texts: sorted (a scan would cost O(texts))
                    cand = np.unique(reached[reached >= lo])
                else:  # distinct, ascending, large enough
                    met[reached] = True
                    cand = np.flatnonzero(met[lo:pos]) + lo
                    met[reached] = False
                n = int(size[pos])
                missing = np.bitwise_count(low[pos] & ~low[cand]).astype(np.int64) + np.bitwise_count(
                    high[pos] & ~high[cand]
                )
                # the signature bound (len(shared) − missing ≥ common clauses), as floats
                found = cand[shared_n[pos] - missing >= least_common * (n + size[cand]) - 1e-9]
                if found.size:
                    own = flat[a : begin[pos + 1]]
                    member[own] = 1
                    lengths = starts[found + 1] - starts[found]  # ≥ 1: a candidate indexes a shared clause
                    offsets = np.zeros(len(found), dtype=np.int64)
                    np.cumsum(lengths[:-1], out=offsets[1:])
                    gather = np.repeat(starts[found] - offsets, lengths) + np.arange(int(lengths.sum()))
                    common = np.add.reduceat(member[flat[gather]], offsets)
                    member[own] = 0
                    score = common / (n + size[found] - common)
                    hit = score >= threshold
                    if hit.any():
                        hits.append((found[hit], pos, score[hit]))
        if keeps[pos]:
            before[flat[a : a + keeps[pos]]] += 1
    if not hits:
        return Pairs.none(), cut
    found = np.concatenate([f for f, _, _ in hits])
    at = np.repeat(np.array([pos for _, pos, _ in hits], dtype=np.int64), [len(f) for f, _, _ in hits])
    return Pairs(order[found], order[at], np.concatenate([sc for _, _, sc in hits])), cut


SIGNATURE_BITS = 128


def _digest(masked: str) -> bytes:
    """A masked text as the pairs store knows it (16 bytes of BLAKE2b)."""
    return hashlib.blake2b(masked.encode(), digest_size=16).digest()


def _signatures(flat: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each position's signature, as its low and high 64 bits: a bit per shared clause, given by its rank
    (mod SIGNATURE_BITS; its ranks are flat[starts[p]:starts[p + 1]]). A bit set in x's signature and not
    in y's stands for at least one clause of x that y lacks, distinct bits for distinct clauses, so
    |x ∩ y| ≤ (x's shared clauses) − popcount(sig_x & ~sig_y): an exact bound, no pair is lost."""
    bit = (flat % SIGNATURE_BITS).astype(np.uint64)
    one = np.uint64(1)
    low_bits = np.where(bit < 64, one << np.minimum(bit, np.uint64(63)), np.uint64(0))
    high_bits = np.where(bit >= 64, one << (np.maximum(bit, np.uint64(64)) - np.uint64(64)), np.uint64(0))
    low = np.zeros(len(counts), dtype=np.uint64)
    high = np.zeros(len(counts), dtype=np.uint64)
    some = counts > 0
    if flat.size:
        low[some] = np.bitwise_or.reduceat(low_bits, starts[:-1][some])
        high[some] = np.bitwise_or.reduceat(high_bits, starts[:-1][some])
    return low, high


def _copies(items: list[tuple[str, Prepared]], code: str, a: int, members: list[int]) -> list[Match]:
    """Matches of item a with the first few others of its group of equal texts (numbers masked):
    identical, or identical but for the numbers."""
    out = []
    for b in members[: NAMED + 1]:
        if b != a:
            degree = IDENTICAL if items[a][1].norm == items[b][1].norm else DIGITS
            out.append(Match(items[a][0], code, items[b][0], degree, 1.0))
    return out[:NAMED]


class Comparisons:
    """What the exact comparison found so far, kept for a caller that compares again and again (`watch`).

    An exact pair depends on nothing but its two texts, so a text seen before need not be compared
    again: each call compares only the new distinct texts (each with every text, through an index of
    which texts have which clause: its common clauses with all of them by np.bincount, ~1 ms) and
    drops the texts that are gone, with their pairs. The results are the same as comparing everything
    again (tests/test_consolidate.py compares them after random changes). At 10,000 units a `watch`
    refresh takes ~1.3 s less for ~55 MB kept (prepared texts are not kept: 0.5 s more, 37 MB less).
    """

    def __init__(self, store: Path | None = None, tag: str = "", *, once: bool = False) -> None:
        """`store`: pairs that save() wrote with the same `tag` (another process: a `run` before this one),
        read when first needed; a store that is missing, of another tag or unreadable is left alone (the
        texts are compared afresh). `once`: for one comparison (a run), then save(): only the pairs are
        kept, not the texts prepared, the findings or the closest others (~40 MB less at 10,000 units)."""
        self._codes: dict[tuple[str, float], _CodePairs | _Packed] = {}
        self._store = (store, tag) if store is not None else None
        self._once = once
        self._prepared: Memo[tuple[str, str]] = Memo()  # text → (norm, masked): 0.25 s a refresh at 10,000 units
        self._said: Memo[Finding] = Memo()  # the findings made of what was found: 0.16 s
        self._closest: dict[tuple[str, float], _Found] = {}  # each text code's closest others (closest())

    def prepare(self, text: str) -> Prepared:
        """prepare(text), from an earlier call when the text was seen then (its clauses are cut anew when
        asked for: kept, they would weigh ~3× as much)."""
        if self._once:
            return prepare(text)
        known = self._prepared.get(text)
        if known is None:
            p = prepare(text)
            known = self._prepared.put(text, (p.norm, p.masked))
        return Prepared(*known)

    def compared(self) -> None:
        """A comparison is over: the texts it did not see are forgotten."""
        self._prepared.turn()

    def finding(self, key: Hashable, make: Callable[[], Finding]) -> Finding:
        """make(), or the finding an earlier call made for the same `key`."""
        return make() if self._once else self._said.make(key, make)

    def said(self) -> None:
        """The findings are made: those not made this time are forgotten."""
        self._said.turn()

    def closest(
        self, code: str, threshold: float, items: list[tuple[str, Prepared]], groups: list[list[int]], near: Neighbours
    ) -> list[Closest]:
        """_closest(…) of every group, made again only for the groups whose closest others may have
        changed since the last call: a group whose units changed (or that is new or gone) and every
        group that is or was its neighbour; all of them when units changed order among themselves (a
        roster reordered: ties between equally close others go by unit order). Each of the others has
        the same neighbours, the same units first and as many units as then (their order among
        themselves is kept: a unit added or removed elsewhere does not change it), so what it found
        then is still what it finds. At 10,000 units a `watch` refresh makes a few groups' instead of
        ~30,000 (~0.2 s)."""
        if self._once:
            return _closest(code, items, groups, near, range(len(groups)))
        key = (code, threshold)
        last = self._closest.get(key)
        masked = [items[g[0]][1].masked for g in groups]
        order = [unit for unit, _ in items]
        units = [(order[g[0]],) if len(g) == 1 else tuple([order[a] for a in g]) for g in groups]
        index = {m: k for k, m in enumerate(masked)}
        if last is not None:  # units in another order among themselves (roster reordered): ties break otherwise
            now_set, then_set = set(order), set(last.order)
            if [u for u in order if u in then_set] != [u for u in last.order if u in now_set]:
                last = None
        if last is None:
            dirty: Iterable[int] = range(len(groups))
        else:
            changed = [m for m, names in zip(masked, units, strict=True) if last.units.get(m) != names]
            changed += [m for m in last.units if m not in index]
            if len(changed) > len(groups) // 4:  # mostly changed: all made again
                dirty = range(len(groups))
            else:
                marked: set[int] = set()
                start = near.start
                for m in changed:
                    k = index.get(m)
                    if k is not None:
                        marked.add(k)
                        marked.update(near.other[start[k] : start[k + 1]].tolist())
                    j = last.index.get(m)
                    if j is not None:  # its neighbours then (a text gone leaves them)
                        for other in last.near.other[last.near.start[j] : last.near.start[j + 1]].tolist():
                            if (k := index.get(last.masked[other])) is not None:
                                marked.add(k)
                dirty = sorted(marked)
        out = _closest(code, items, groups, near, dirty)
        if last is not None and not isinstance(dirty, range):
            made = set(dirty)
            out = [out[k] if k in made else last.found[m] for k, m in enumerate(masked)]
        self._closest[key] = _Found(
            masked, index, near, dict(zip(masked, units, strict=True)), dict(zip(masked, out, strict=True)), order
        )
        return out

    def pairs(self, code: str, threshold: float, reps: list[Prepared]) -> list[tuple[int, int, float]]:
        """_near_pairs(reps, threshold, 0), from what earlier calls found."""
        return self.neighbours(code, threshold, reps).pairs()

    def neighbours(self, code: str, threshold: float, reps: list[Prepared]) -> Neighbours:
        """The pairs of pairs() as each text's neighbours."""
        if self._store is not None:
            path, tag = self._store
            self._store = None
            try:
                self._codes.update(_read_store(path, tag))
            except Exception:  # (a cache: whatever is wrong with it, the texts are compared afresh, saved anew)
                pass
        key = (code, threshold)
        state = self._codes.get(key)
        if isinstance(state, _Packed):  # (a second comparison of these texts by a `once` Comparisons: none today)
            state = _CodePairs.restore(threshold, state.arrays())
        if state is not None and state.restored is not None:
            try:
                return self._update(key, state, reps)
            except Exception:  # restored pairs that do not hold together: compared afresh
                state = None
        return self._update(key, state if state is not None else _CodePairs(threshold), reps)

    def _update(self, key: tuple[str, float], state: _CodePairs, reps: list[Prepared]) -> Neighbours:
        self._codes[key] = state
        try:
            near = state.update(reps)
        except BaseException:  # half updated: its new texts would never be compared; start afresh next time
            self._codes.pop(key, None)
            raise
        if self._once:  # (only saved from now on: its flat arrays, not the texts and lists it is made of)
            self._codes[key] = _Packed(state.arrays())
        return near

    def save(self, path: Path, tag: str) -> None:
        """Write the near pairs found so far to `path` (numpy arrays, no pickle) for load() in another
        process (Comparisons(store=…)): a `run` after one new report compares that report's texts instead
        of all (at 10,000 units ~1.5 s less). `tag` names what the pairs depend on besides the texts (the code that finds them)."""
        keys = [key for key, state in self._codes.items() if state.ready]
        arrays: dict[str, np.ndarray] = {}
        for k, key in enumerate(keys):
            arrays.update({f"{k}.{name}": a for name, a in self._codes[key].arrays().items()})
        head = {"version": STORE_VERSION, "tag": tag, "codes": [list(key) for key in keys]}
        arrays["head"] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
        with path.open("wb") as fh:
            np.savez(fh, **arrays)

    def clear(self) -> None:
        """Forget everything (a run, once its pairs are saved: not held while the summary is written)."""
        self._codes.clear()
        self._prepared, self._said = Memo(), Memo()
        self._closest.clear()


class _Packed:
    """A text code's pairs as _CodePairs.arrays() gave them, kept by a Comparisons made for one comparison
    (`once`) until save(): at 10,000 units ~14 MB of flat arrays where the _CodePairs, with the masked
    texts it is keyed by, held ~30 MB through the comparison of the next text code and the save. (Compared
    again by the same Comparisons, it is unpacked: no run does so today, group summaries compare without one.)"""

    ready = True

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self._arrays = arrays

    def arrays(self) -> dict[str, np.ndarray]:
        return self._arrays


def _read_store(path: Path, tag: str) -> dict[tuple[str, float], _CodePairs]:
    """The pairs Comparisons.save wrote to `path` with `tag` (none: no such file, another tag or version)."""
    try:
        fh = open_regular(path)  # (not a FIFO's writer waited for; OSError for anything but a regular file)
    except FileNotFoundError:
        return {}
    with fh:
        size = os.fstat(fh.fileno()).st_size
        with zipfile.ZipFile(fh) as z:  # as np.savez writes it: stored, not deflated (memory ≤ the file's size)
            if any(i.compress_type != zipfile.ZIP_STORED or i.file_size > size for i in z.infolist()):
                return {}
        fh.seek(0)
        out = {}
        with np.load(fh, allow_pickle=False) as store:
            head = json.loads(store["head"].tobytes())
            if head.get("version") != STORE_VERSION or head.get("tag") != tag:
                return {}
            for k, (code, threshold) in enumerate(head["codes"]):
                arrays = {name: store[f"{k}.{name}"] for name in _CodePairs.STORED}
                out[(code, float(threshold))] = _CodePairs.restore(float(threshold), arrays)
    return out


def _check_restored(n: int, a: Mapping[str, np.ndarray]) -> None:
    """ValueError unless the arrays hold together as arrays() makes them (ids in range, each text's
    clauses posted once, each pair both ways, once): what update() relies on; pairs themselves are trusted."""
    ints = ("sizes", "post_count", "post_ids", "pair_count", "pair_other")
    if any(a[k].ndim != 1 or a[k].dtype.kind not in "iu" for k in ints) or a["pair_score"].dtype != np.float64:
        raise ValueError("inconsistent pairs store")
    if a["digests"].shape != (n, 16) or len(a["sizes"]) != n or len(a["pair_count"]) != n:
        raise ValueError("inconsistent pairs store")
    if (a["post_count"] <= 0).any() or int(a["post_count"].sum()) != len(a["post_ids"]):
        raise ValueError("inconsistent pairs store")
    pairs = int(a["pair_count"].sum())
    if (a["pair_count"] < 0).any() or pairs != len(a["pair_other"]) or pairs != len(a["pair_score"]):
        raise ValueError("inconsistent pairs store")
    post, other = a["post_ids"].astype(np.int64), a["pair_other"].astype(np.int64)
    if ((post < 0) | (post >= n)).any() or ((other < 0) | (other >= n)).any():
        raise ValueError("inconsistent pairs store")
    if not np.array_equal(np.bincount(post, minlength=n), a["sizes"]):
        raise ValueError("inconsistent pairs store")
    source = np.repeat(np.arange(n, dtype=np.int64), a["pair_count"].astype(np.int64))
    there, back = np.sort(source * n + other), np.sort(other * n + source)  # each pair both ways, once
    if (source == other).any() or not np.array_equal(there, back) or (there.size and (np.diff(there) == 0).any()):
        raise ValueError("inconsistent pairs store")


@dataclass(frozen=True)
class _Found:
    """What Comparisons.closest found for one text code: the groups (by their masked text) in order,
    their neighbours, their units and their closest others."""

    masked: list[str]
    index: dict[str, int]
    near: Neighbours
    units: dict[str, tuple[str, ...]]
    found: dict[str, Closest]
    order: list[str]  # the units in item order


@dataclass(frozen=True)
class Neighbours:
    """Near pairs as each text's neighbours: those of text i are other[start[i]:start[i + 1]], with
    their scores (each pair is there twice, once for each of its texts)."""

    start: np.ndarray
    other: np.ndarray
    score: np.ndarray

    @classmethod
    def of(cls, source: np.ndarray, other: np.ndarray, score: np.ndarray, n: int) -> Neighbours:
        """From (source, other, score) entries in any order, both directions of every pair present."""
        order = np.argsort(source, kind="stable")
        start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(source, minlength=n), out=start[1:])
        return cls(start, other[order], score[order])

    @classmethod
    def of_pairs(cls, pairs: Pairs, n: int) -> Neighbours:
        i, j, score = pairs
        return cls.of(np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([score, score]), n)

    def pairs(self) -> list[tuple[int, int, float]]:
        """Each pair once, as (i, j, score) with i < j."""
        source = np.repeat(np.arange(len(self.start) - 1), np.diff(self.start))
        keep = self.other > source
        return list(zip(source[keep].tolist(), self.other[keep].tolist(), self.score[keep].tolist(), strict=True))


class _CodePairs:
    """The exact near pairs among the distinct texts of one text code, kept up to date (Comparisons).
    Compact: ~270,000 pairs and ~450,000 postings in typed arrays, not in dicts of Python ints."""

    STORED = ("digests", "sizes", "clauses", "post_count", "post_ids", "pair_count", "pair_other", "pair_score")

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._reset()

    def _reset(self) -> None:
        self.ids: dict[str, int] = {}  # masked text → id
        self.sizes = array("q")  # clause count by id
        self.alive = np.zeros(0, dtype=bool)
        self.postings: dict[str, array[int]] = defaultdict(lambda: array("q"))  # clause → ids (dead ones too)
        self.others: dict[int, array[int]] = {}  # id → the ids it pairs with …
        self.scores: dict[int, array[float]] = {}  # … and the scores, in the same order
        self.restored: dict[bytes, int] | None = None  # (restore) digest of a masked text → id, until update()
        self.ready = False  # holds the pairs of the texts of an update (else: nothing to save)

    def update(self, reps: list[Prepared]) -> Neighbours:
        self.ready = False
        if self.restored is not None:
            self._adopt(reps)
        index = {r.masked: k for k, r in enumerate(reps)}
        for masked in [m for m in self.ids if m not in index]:
            self._drop(self.ids.pop(masked))
        new = [r for r in reps if r.masked not in self.ids]
        if self._afresh(len(new), len(reps)):  # the first call, or mostly changed
            self._reset()  # one full join, then index it all
            self._add(reps)  # (ids 0…n-1: the positions in `reps`)
            near = Neighbours.of_pairs(_near_pairs(reps, self.threshold, 0)[0], len(reps))
            self._put_pairs(near.start, near.other, near.score)
            self.ready = True
            return near  # (as the lists below would make it again: ids are the positions)
        else:
            self._add(new)
            sizes = np.frombuffer(self.sizes, dtype=np.int64)
            for r in new:
                self._compare(self.ids[r.masked], r, sizes)
        position = np.zeros(len(self.sizes), dtype=np.int64)  # id → its text's place in `reps`
        position[np.fromiter(map(self.ids.__getitem__, index), dtype=np.int64, count=len(index))] = np.fromiter(
            index.values(), dtype=np.int64, count=len(index)
        )
        self.ready = True
        ids = list(self.others)
        if not ids:
            return Neighbours.of(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), len(reps))
        counts = np.array([len(self.others[a]) for a in ids], dtype=np.int64)
        source = np.repeat(position[np.array(ids, dtype=np.int64)], counts)
        other = position[np.concatenate([np.frombuffer(self.others[a], dtype=np.int64) for a in ids])]
        score = np.concatenate([np.frombuffer(self.scores[a], dtype=np.float64) for a in ids])
        return Neighbours.of(source, other, score, len(reps))

    def _afresh(self, new: int, texts: int) -> bool:
        """Whether `texts` texts, `new` of them unknown, are joined in full rather than added one by one:
        mostly new, or mostly dead ids kept."""
        return new > texts // 4 or len(self.sizes) > 2 * texts

    def _adopt(self, reps: list[Prepared]) -> None:
        """The first update after restore(): the texts known by their digest take back their ids, those
        gone since are dropped (with their pairs); the others are new."""
        restored, self.restored = self.restored or {}, None
        for r in reps:
            known = restored.pop(_digest(r.masked), None)
            if known is not None:
                self.ids[r.masked] = known
        if self._afresh(len(reps) - len(self.ids), len(reps)):
            self._reset()  # (update joins them all afresh: the pairs of those gone need not be dropped one by one)
            return
        for gone in restored.values():
            self._drop(gone)

    def arrays(self) -> dict[str, np.ndarray]:
        """The living texts (by the digest of their masked text), their postings and pairs, renumbered
        0…n-1, as flat arrays (see restore)."""
        living = sorted(self.ids.values())
        renum = np.full(len(self.sizes), -1, dtype=np.int64)
        renum[np.array(living, dtype=np.int64)] = np.arange(len(living), dtype=np.int64)
        by_id = {i: m for m, i in self.ids.items()}
        digests = np.frombuffer(b"".join(_digest(by_id[i]) for i in living), dtype=np.uint8).reshape(-1, 16)
        sizes = np.frombuffer(self.sizes, dtype=np.int64)[np.array(living, dtype=np.int64)]
        clauses, counts, ids = [], [], []
        for clause, posted in self.postings.items():
            alive = renum[np.frombuffer(posted, dtype=np.int64)]
            alive = alive[alive >= 0]
            if alive.size:
                clauses.append(clause)
                counts.append(alive.size)
                ids.append(alive)
        others = [self.others.get(i, array("q")) for i in living]
        scores = [self.scores.get(i, array("d")) for i in living]
        return {
            "digests": digests,
            "sizes": sizes.astype(np.int64),
            "clauses": np.frombuffer("\n".join(clauses).encode(), dtype=np.uint8),  # (never in a clause)
            "post_count": np.array(counts, dtype=np.int64),
            "post_ids": np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
            "pair_count": np.array([len(o) for o in others], dtype=np.int64),
            "pair_other": renum[np.frombuffer(b"".join(map(bytes, others)), dtype=np.int64)],
            "pair_score": np.frombuffer(b"".join(map(bytes, scores)), dtype=np.float64).copy(),
        }

    @classmethod
    def restore(cls, threshold: float, a: Mapping[str, np.ndarray]) -> _CodePairs:
        """The pairs arrays() gave; its texts are known by digest until the next update."""
        self = cls(threshold)
        n = len(a["digests"])
        _check_restored(n, a)
        counts = a["post_count"]
        clauses = a["clauses"].tobytes().decode().split("\n") if len(counts) else []
        if len(clauses) != len(counts) or len(set(clauses)) != len(clauses):
            raise ValueError("inconsistent pairs store")
        self.sizes = array("q", a["sizes"].astype(np.int64).tobytes())
        self.alive = np.ones(n, dtype=bool)
        posted = a["post_ids"].astype(np.int64).tobytes()
        start = 0
        for clause, end in zip(clauses, np.cumsum(counts).tolist(), strict=True):
            self.postings[clause] = array("q", posted[8 * start : 8 * end])
            start = end
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(a["pair_count"], out=starts[1:])
        self._put_pairs(starts, a["pair_other"], a["pair_score"])
        raw = a["digests"].astype(np.uint8).tobytes()
        self.restored = {raw[16 * i : 16 * i + 16]: i for i in range(n)}
        return self

    def _put_pairs(self, start: np.ndarray, other: np.ndarray, score: np.ndarray) -> None:
        """Each id's pairs from flat arrays (those of id i: other[start[i]:start[i + 1]], with their scores),
        as _link would have made them one by one (~270,000 pairs: 0.05 s instead of 0.3 s)."""
        others, scores = other.astype(np.int64).tobytes(), score.astype(np.float64).tobytes()
        bounds = start.tolist()
        for i in np.flatnonzero(np.diff(start)).tolist():
            begin, end = 8 * bounds[i], 8 * bounds[i + 1]
            self.others[i], self.scores[i] = array("q", others[begin:end]), array("d", scores[begin:end])

    def _link(self, a: int, b: int, score: float) -> None:
        for x, y in ((a, b), (b, a)):
            if x not in self.others:
                self.others[x], self.scores[x] = array("q"), array("d")
            self.others[x].append(y)
            self.scores[x].append(score)

    def _drop(self, gone: int) -> None:
        self.alive[gone] = False
        for other in self.others.pop(gone, ()):
            k = self.others[other].index(gone)
            del self.others[other][k], self.scores[other][k]
        self.scores.pop(gone, None)

    def _add(self, reps: list[Prepared]) -> None:
        start = len(self.sizes)
        for k, r in enumerate(reps):
            self.ids[r.masked] = start + k
            self.sizes.append(len(r.clauses))
            for clause in r.clauses:
                self.postings[clause].append(start + k)
        self.alive = np.concatenate([self.alive, np.ones(len(reps), dtype=bool)])

    def _compare(self, a: int, rep: Prepared, sizes: np.ndarray) -> None:
        """Pairs of text `a` with every living text not yet paired with it (texts of under 2 clauses never pair)."""
        n = len(rep.clauses)
        if n < 2:
            return
        ids = np.concatenate([np.frombuffer(self.postings[c], dtype=np.int64) for c in rep.clauses])
        common = np.bincount(ids, minlength=len(sizes))
        score = common / (n + sizes - common)
        hit = (score >= self.threshold) & (common > 0) & self.alive & (sizes >= 2)  # (as _near_pairs, even at 0)
        hit[a] = False
        hit[np.frombuffer(self.others.get(a, array("q")), dtype=np.int64)] = False  # (another new text found it)
        for b, sc in zip(np.nonzero(hit)[0].tolist(), score[hit].tolist(), strict=True):
            self._link(a, b, sc)


def find_matches(
    texts: Mapping[str, Mapping[str, str]],
    previous: Mapping[str, Mapping[str, str]] | None = None,
    *,
    threshold: float = 0.8,
    min_chars: int = 50,
    scan_limit: int = SCAN_LIMIT,
    exact_up_to: int = EXACT_UP_TO,
    cut: dict[str, int] | None = None,
    comparisons: Comparisons | None = None,
) -> list[Alike]:
    """Every (unit, text code) alike the same text of other units, or the unit's own text of last year.

    `texts` and `previous` map unit name → {text code: text}; results follow the order of `texts`.
    Texts shorter than `min_chars` (without whitespace) are not compared: a short「无」or a
    one-line fee statement may legitimately be the same everywhere. Work and output stay linear in
    the number of texts even when thousands are identical (each names a few, counts the rest).
    Each text is verified against `scan_limit` candidates at most (0: all) where a text code has more
    than `exact_up_to` distinct texts; `cut`, when given, gets per text code the number of units whose
    texts were cut short. `comparisons`: what earlier calls found (Comparisons; the same results).
    """
    codes = list(dict.fromkeys(code for by_code in texts.values() for code in by_code))
    found: list[Alike] = []
    own: dict[tuple[str, str], Alike] = {}
    for code in codes:  # one text code at a time: only its prepared texts are held
        of_code = [(unit, by_code[code]) for unit, by_code in texts.items() if code in by_code]
        last = {unit: old[code] for unit, old in (previous or {}).items() if old.get(code)}
        alikes, owns, short = _match_code(
            code, of_code, last, threshold, min_chars, scan_limit, exact_up_to, comparisons
        )
        if cut is not None and short:
            cut[code] = short
        found.extend(alikes)
        own.update(((a.unit, a.code), a) for a in owns)
    if comparisons is not None:
        comparisons.compared()
    order = {unit: k for k, unit in enumerate(texts)}
    code_order = {code: k for k, code in enumerate(codes)}
    out = sorted(found, key=lambda a: (order[a.unit], code_order[a.code]))
    for alike in out:
        if not alike.ordered:
            alike.matches = _closest_named(alike.matches, order)
    for unit, by_code in texts.items():
        for code in by_code:
            if (unit, code) in own:
                out.append(own[(unit, code)])
    return out


def _closest_named(matches: list[Match], order: Mapping[str, int]) -> list[Match]:
    """The NAMED matches a finding names: best first, then in unit order (`order`)."""
    return sorted(matches, key=lambda m: (*m.rank, order.get(m.other or "", 0)))[:NAMED]


def _match_code(
    code: str,
    texts: list[tuple[str, str]],
    previous: Mapping[str, str],
    threshold: float,
    min_chars: int,
    scan_limit: int,
    exact_up_to: int,
    comparisons: Comparisons | None = None,
) -> tuple[list[Alike], list[Alike], int]:
    """Texts of one code alike each other's (first list) or their unit's own of last year (second
    list), and how many units' texts were compared with only `scan_limit` candidates."""
    found: dict[str, Alike] = {}

    def add(unit: str, others: list[Match], count: int, ordered: bool = False) -> None:
        alike = found.setdefault(unit, Alike(unit, code, False, [], 0))
        alike.ordered = ordered and not alike.matches  # (a second list: to be ordered with the first)
        alike.matches.extend(others)
        alike.count += count

    own: list[Alike] = []
    items: list[tuple[str, Prepared]] = []
    prepared = comparisons.prepare if comparisons is not None else prepare
    for unit, text in texts:
        p = prepared(text or "")
        if len(p.norm) < min_chars:
            continue
        last = previous.get(unit)
        if last:
            old = prepare(last)
            alike = compare(p, old, threshold) if len(old.norm) >= min_chars else None
            if alike:
                own.append(Alike(unit, code, True, [Match(unit, code, None, *alike)], 1))
        items.append((unit, p))
    clusters: dict[str, list[int]] = defaultdict(list)  # masked text → its items
    for k, (_, p) in enumerate(items):
        clusters[p.masked].append(k)
    for members in clusters.values():
        if len(members) > 1:
            for a in members:
                add(items[a][0], _copies(items, code, a, members), len(members) - 1)
    groups = list(clusters.values())  # the distinct texts (all numbers masked), each with its items
    limit = 0 if len(groups) <= exact_up_to else scan_limit
    reps = [items[members[0]][1] for members in groups]
    if comparisons is not None and not limit:
        near, cut = comparisons.neighbours(code, threshold, reps), set()
        similar = comparisons.closest(code, threshold, items, groups, near)
    else:
        pairs, cut = _near_pairs(reps, threshold, limit)
        near = Neighbours.of_pairs(pairs, len(reps))
        similar = _closest(code, items, groups, near, range(len(groups)))
    for entries in similar:
        for unit, matches, count in entries:
            add(unit, matches, count, ordered=True)  # (_closest: best score first, then unit order; NAMED at most)
    short = sum(len(groups[i]) for i in cut)
    return list(found.values()), own, short


Closest = list[tuple[str, list[Match], int]]  # a group's units, each with its closest others and their count


def _closest(
    code: str, items: list[tuple[str, Prepared]], groups: list[list[int]], near: Neighbours, which: Iterable[int]
) -> list[Closest]:
    """For each group of equal texts in `which` (others: []), its units with the closest texts of
    other groups, as find_matches orders them (best score, then unit order) among each neighbour's
    first NAMED units, and how many units those neighbours have in all. (A province's texts written
    from one model: ~270,000 pairs, ~60 per text.)"""
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    firsts = np.full((len(groups), NAMED), len(items), dtype=np.int64)  # (len(items): no such unit)
    for k, members in enumerate(groups):
        firsts[k, : min(len(members), NAMED)] = members[:NAMED]
    start = near.start.tolist()
    out: list[Closest] = [[] for _ in groups]
    for k in which:
        if start[k] == start[k + 1]:
            continue
        others, scores = near.other[start[k] : start[k + 1]], near.score[start[k] : start[k + 1]]
        count = int(sizes[others].sum())
        units, unit_scores = firsts[others].ravel(), np.repeat(scores, NAMED)
        real = units < len(items)
        units, unit_scores = units[real], unit_scores[real]
        best = np.lexsort((units, -unit_scores))[:NAMED]
        named = [
            (items[b][0], score) for b, score in zip(units[best].tolist(), unit_scores[best].tolist(), strict=True)
        ]
        for a in groups[k]:
            unit = items[a][0]
            out[k].append((unit, [Match(unit, code, other, SIMILAR, score) for other, score in named], count))
    return out


def _degree(m: Match) -> str:
    if m.degree == IDENTICAL:
        return "完全相同"
    if m.degree == DIGITS:
        return "除数字外完全相同"
    return f"高度相似（相似度 {m.score:.0%}）"


def similar_texts(
    spec: Spec,
    units: list[UnitResult],
    previous: Mapping[str, Submission] | None = None,
    comparisons: Comparisons | None = None,
) -> list[Finding]:
    """text-similar warnings on the texts 一、五、六: one per text alike other units', one per text
    alike the unit's own of last year. `comparisons`: see Comparisons (same findings)."""
    params = spec.rule("text-similar").params
    threshold, min_chars = float(params.get("threshold", 0.8)), int(params.get("min_chars", 50))
    limit, exact = int(params.get("scan_limit", SCAN_LIMIT)), int(params.get("exact_up_to", EXACT_UP_TO))
    codes = [t.code for t in spec.texts]
    aliases = {u.name: u.aliases for u in units}
    texts = {u.name: _own_texts(u.submission, codes, u.name, u.aliases) for u in units if u.submission is not None}
    last = {name: _own_texts(sub, codes, name, aliases.get(name, ())) for name, sub in (previous or {}).items()}
    cut: dict[str, int] = {}
    alikes = find_matches(
        texts,
        last,
        threshold=threshold,
        min_chars=min_chars,
        scan_limit=limit,
        exact_up_to=exact,
        cut=cut,
        comparisons=comparisons,
    )
    raw = {u.name: {c: u.submission.texts.get(c, "") for c in codes} for u in units if u.submission is not None}
    alikes = _copied_as_is(alikes, raw, texts, codes, threshold, min_chars)
    partial = [
        finding(spec, "text-similar-partial", code=code, where=spec.text(code).heading, found=n, expected=limit)
        for code, n in cut.items()
    ]
    if comparisons is None:
        return [*_findings(spec, alikes, threshold), *partial]
    # (the same spec each time: a Comparisons serves one job)
    said = [
        comparisons.finding(
            (a.unit, a.code, a.own, tuple(a.matches), a.count, threshold),
            lambda a=a: _findings(spec, [a], threshold)[0],  # type: ignore[misc]
        )
        for a in alikes
    ]
    comparisons.said()
    return [*said, *partial]


OWN = "〔本单位〕"  # what a unit's own name becomes in its texts before they are compared


def _copied_as_is(
    alikes: list[Alike],
    raw: Mapping[str, Mapping[str, str]],
    masked: Mapping[str, Mapping[str, str]],
    codes: list[str],
    threshold: float,
    min_chars: int,
) -> list[Alike]:
    """`alikes` with the texts that are the same as typed (`raw`: the strings _own_texts was given) but were
    not found alike: another unit's report sent with only the name in 基本信息 changed. Its texts still say
    the other unit's name, which is masked in that unit's texts only (_own_texts), so the two differ by a
    clause or two when compared. Such a pair is IDENTICAL; counted already when the masked texts were alike
    (≥ threshold), else added."""

    # Only a text whose unit's names were masked can differ from its copy once masked; the copy is that
    # text as typed (a file sent on with only 单位名称 changed), found by its string: no text made again.
    wanted = {
        (code, text)
        for unit, by_code in raw.items()
        for code in codes
        if (text := by_code.get(code) or "") is not masked[unit].get(code) and len(text) >= min_chars
    }
    if not wanted:
        return alikes
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for unit, by_code in raw.items():
        for code in codes:
            if (code, by_code.get(code) or "") in wanted:
                groups[(code, by_code[code])].append(unit)
    copies = [(code, members) for (code, _), members in groups.items() if len(members) > 1]
    if not copies:
        return alikes
    found = {(a.unit, a.code): a for a in alikes if not a.own}
    order = {unit: k for k, unit in enumerate(raw)}
    for code, members in copies:
        for unit in members:
            others = [o for o in members if o != unit and masked[unit].get(code) != masked[o].get(code)]
            if not others:
                continue  # (the same once masked too: found as IDENTICAL already)
            alike = found.get((unit, code))
            if alike is None:
                alike = found[(unit, code)] = Alike(unit, code, False, [], 0)
            mine = prepare(masked[unit][code])
            for other in others:
                alike.count += compare(mine, prepare(masked[other][code]), threshold) is None  # (else counted)
                alike.matches = [m for m in alike.matches if m.other != other]
                alike.matches.append(Match(unit, code, other, IDENTICAL, 1.0))
            alike.matches = _closest_named(alike.matches, order)
    code_order = {code: k for k, code in enumerate(codes)}
    own = [a for a in alikes if a.own]
    return sorted(found.values(), key=lambda a: (order.get(a.unit, 0), code_order.get(a.code, 0))) + own


def _own_texts(sub: Submission, codes: list[str], unit: str, aliases: tuple[str, ...] = ()) -> dict[str, str]:
    """A submission's texts with the unit's own names (the roster's and its aliases, the one written, each
    also without its leading place: 财政局 of 青川市财政局) as OWN: a text copied from another unit with the
    names swapped is the same text, which is what 内容雷同 is about."""
    names = {unit, sub.agency or "", *aliases}
    names |= {short for n in list(names) if (short := short_name(n)) is not None and len(short) >= 3}
    names = sorted((n for n in names if len(n) >= 3), key=lambda n: (-len(n), n))  # (longest first; then fixed)
    out = {}
    for code in codes:
        text = sub.texts.get(code, "")
        for name in names:
            if name in text:
                text = text.replace(name, OWN)
        out[code] = text
    return out


def _findings(spec: Spec, alikes: list[Alike], threshold: float) -> list[Finding]:
    """One text-similar warning per Alike, naming the closest few and counting the rest."""
    lay = layout(spec)
    out: list[Finding] = []
    for alike in alikes:
        best = alike.matches[0]
        if alike.own:
            other, degree = "本单位上年报告的同一部分", _degree(best)
        elif alike.count == 1:
            other, degree = f"“{best.other}”的同一部分", _degree(best)
        else:
            names = "、".join(f"“{m.other}”（{_degree(m)}）" for m in alike.matches)
            more = f"等 {alike.count} 个单位" if alike.count > len(alike.matches) else f"共 {alike.count} 个单位"
            other, degree = f"{names}{more}的同一部分", "内容雷同"
        place = lay.places[alike.code]
        f = finding(
            spec,
            "text-similar",
            sheet=place.sheet,
            cell=place.a1,
            code=alike.code,
            found=f"{best.score:.0%}",
            expected=f"{threshold:.0%}",
            where=spec.text(alike.code).heading,
            other=other,
            degree=degree,
        )
        out.append(f.about(agency=alike.unit))
    return out
