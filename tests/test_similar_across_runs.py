"""内容雷同 across runs: a run compares only the texts that are new since the last run (the near pairs
it left in the outbox), and names exactly what a run over all the files at once names."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from processor import similarity
from processor.batch import PAIRS_STORE, _pairs_tag
from tests.test_batch import YEAR, city, report, run
from tests.test_batch_workers import _sheets

UNITS = [(f"云溪市第{k}局", "市直部门", "") for k in "一二三四五六"]
_BANK = random.Random(7).sample(  # (no digits: numbers are masked before texts are compared)
    [f"{a}{w}工作按计划推进并完成年度目标" for a in "甲乙丙丁戊己庚辛壬癸" for w in ("公开", "培训", "平台", "解读")],
    40,
)


def _text(k: int) -> str:
    """Ten clauses every unit has and one of its own: each unit's text is near every other's (10/12)."""
    return "，".join([*_BANK[:10], f"另外本单位第{'甲乙丙丁戊己'[k]}类事项已专项整改"]) + "。"


@pytest.fixture
def reports(tmp_path) -> list[Path]:
    """Each unit's report, made once (the same bytes in every folder a test fills)."""
    now = time.time()
    return [
        report(tmp_path / "reports" / f"{k}-{name}.xlsx", name, seed=k, mtime=now - 60 + k, texts={"text.s1": _text(k)})
        for k, (name, _, _) in enumerate(UNITS)
    ]


def _drop(folder: Path, *files: Path) -> None:
    for path in files:
        shutil.copy2(path, folder / "inbox" / path.name)  # (mtimes kept: received in the same order)


@pytest.fixture
def full_joins(monkeypatch) -> list[int]:
    """How many texts each full comparison (similarity._near_pairs) was given."""
    calls: list[int] = []
    real = similarity._near_pairs

    def counted(reps, *args, **kwargs):
        calls.append(len(reps))
        return real(reps, *args, **kwargs)

    monkeypatch.setattr(similarity, "_near_pairs", counted)
    return calls


def _all_at_once(tmp_path: Path, reports: list[Path]) -> dict[str, list[tuple]]:
    folder = tmp_path / "all"
    folder.mkdir()
    config = city(folder, units=UNITS)
    _drop(folder, *reports)
    return _sheets(Path(run(config)["summary"]))


def _all_but_the_last(tmp_path: Path, reports: list[Path]) -> Path:
    folder = tmp_path / "two-runs"
    folder.mkdir()
    config = city(folder, units=UNITS)
    _drop(folder, *reports[:-1])
    run(config)
    return config


def test_a_run_after_one_new_report__compares_only_its_texts__and_names_what_a_fresh_run_names(
    tmp_path, reports, full_joins
) -> None:
    expected = _all_at_once(tmp_path, reports)
    assert sum("内容雷同" in str(row) for row in expected["问题清单"]) == len(UNITS)  # (the test's premise)
    config = _all_but_the_last(tmp_path, reports)
    assert (config.parent / "outbox" / PAIRS_STORE.format(year=YEAR)).exists()
    full_joins.clear()
    _drop(config.parent, reports[-1])
    out = run(config)
    assert full_joins == []  # the new unit's texts compared with the others', not everything again
    assert _sheets(Path(out["summary"])) == expected


@pytest.mark.parametrize("store", ["damaged", "empty", "not-ours", "of-other-code", "deleted", "fifo"])
def test_pairs_left_by_a_run__damaged_empty_not_ours_of_other_code_or_deleted__the_texts_are_compared_afresh(
    tmp_path, reports, full_joins, store: str
) -> None:
    if store == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    expected = _all_at_once(tmp_path, reports)
    config = _all_but_the_last(tmp_path, reports)
    path = config.parent / "outbox" / PAIRS_STORE.format(year=YEAR)
    if store == "damaged":
        path.write_bytes(path.read_bytes()[:200])
    elif store == "empty":  # (a crash right after it was put in place: it is written without fsync)
        path.write_bytes(b"")
    elif store == "not-ours":  # arrays, but not as the store writes them
        with path.open("wb") as fh:
            np.savez(fh, head=np.frombuffer(b"[]", dtype=np.uint8))
    elif store == "of-other-code":  # pairs some other version of the code found: not to be trusted
        shutil.copy(path, tmp_path / "kept.npz")
        comparisons = similarity.Comparisons(tmp_path / "kept.npz", _pairs_tag())
        similarity.find_matches({"甲": {"text.s1": _text(0)}, "乙": {"text.s1": _text(1)}}, comparisons=comparisons)
        comparisons.save(path, "another version")
    elif store == "fifo":  # (not a file: never opened, it would block the run until someone writes to it)
        path.unlink()
        os.mkfifo(path)
    else:
        path.unlink()
    full_joins.clear()
    _drop(config.parent, reports[-1])
    out = run(config)
    assert len(UNITS) in full_joins  # every text compared again
    assert _sheets(Path(out["summary"])) == expected
    assert similarity._read_store(path, _pairs_tag())  # left again for the next run


def _bank_texts(n: int) -> dict[str, dict[str, str]]:
    return {
        f"单位{k}": {"text.s1": _text(k % 6).replace("另外", f"另外{'子丑寅卯辰巳午未申酉'[k % 10]}")} for k in range(n)
    }


@pytest.mark.parametrize("broken", ["a-pair-one-way-only", "an-id-out-of-range", "update-fails"])
def test_stored_pairs_that_do_not_hold_together__are_not_used__the_texts_are_compared_afresh(
    tmp_path, monkeypatch, broken: str
) -> None:
    """A store that reads but whose arrays are not as save() writes them (edited, or written by a bug)
    is not trusted: the comparison is made afresh, with the same findings, rather than failing the summary."""
    path = tmp_path / "pairs.npz"
    texts = _bank_texts(12)
    comparisons = similarity.Comparisons()
    similarity.find_matches(texts, comparisons=comparisons)
    comparisons.save(path, "tag")
    with np.load(path) as stored:
        arrays = dict(stored)
    if broken == "a-pair-one-way-only":
        arrays["0.pair_other"][0] = (arrays["0.pair_other"][0] + 1) % len(arrays["0.sizes"])
    elif broken == "an-id-out-of-range":
        arrays["0.post_ids"][0] = len(arrays["0.sizes"]) + 5
    else:
        monkeypatch.setattr(similarity._CodePairs, "_adopt", lambda self, reps: 1 / 0)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    texts["新单位"] = {"text.s1": _text(3).replace("另外", "此外")}

    def shown(found):
        return [(a.unit, a.count, [(m.other, m.degree, m.score) for m in a.matches]) for a in found]

    again = similarity.find_matches(texts, comparisons=similarity.Comparisons(path, "tag", once=True))
    assert shown(again) == shown(similarity.find_matches(texts)) and again


def test_comparisons_for_one_run__a_second_comparison_of_some_of_the_texts__finds_what_a_fresh_one_finds(tmp_path):
    """A run's Comparisons keeps each text code's pairs packed once compared (only saved from then on);
    a second comparison in the same run (a group's summary, with --by-group) unpacks them: the same
    findings as comparing afresh, and the pairs saved afterwards serve the next run alike."""
    texts = {
        f"单位{k}": {"text.s1": _text(k % 6) + ("" if k < 6 else f"第{k}次补充说明事项已经办结")} for k in range(9)
    }
    some = {unit: by_code for unit, by_code in texts.items() if unit in ("单位1", "单位2", "单位7")}

    def shown(found):
        return [(a.unit, a.count, [(m.other, m.degree, m.score) for m in a.matches]) for a in found]

    once = similarity.Comparisons(once=True)
    first = shown(similarity.find_matches(texts, comparisons=once))
    assert first == shown(similarity.find_matches(texts)) and any(count > 1 for _, count, _ in first)
    assert all(isinstance(state, similarity._Packed) for state in once._codes.values())
    assert shown(similarity.find_matches(some, comparisons=once)) == shown(similarity.find_matches(some))
    once.save(tmp_path / "pairs.npz", "tag")
    later = similarity.Comparisons(tmp_path / "pairs.npz", "tag", once=True)
    assert shown(similarity.find_matches(texts, comparisons=later)) == shown(similarity.find_matches(texts))
