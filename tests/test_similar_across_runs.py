"""内容雷同 across runs: a run compares only the texts that are new since the last run (the near pairs
it left in the outbox), and names exactly what a run over all the files at once names."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

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


@pytest.mark.parametrize("store", ["damaged", "of-other-code", "deleted"])
def test_pairs_left_by_a_run__damaged_of_other_code_or_deleted__the_texts_are_compared_afresh(
    tmp_path, reports, full_joins, store: str
) -> None:
    expected = _all_at_once(tmp_path, reports)
    config = _all_but_the_last(tmp_path, reports)
    path = config.parent / "outbox" / PAIRS_STORE.format(year=YEAR)
    if store == "damaged":
        path.write_bytes(path.read_bytes()[:200])
    elif store == "of-other-code":  # pairs some other version of the code found: not to be trusted
        shutil.copy(path, tmp_path / "kept.npz")
        comparisons = similarity.Comparisons(tmp_path / "kept.npz", _pairs_tag())
        similarity.find_matches({"甲": {"text.s1": _text(0)}, "乙": {"text.s1": _text(1)}}, comparisons=comparisons)
        comparisons.save(path, "another version")
    else:
        path.unlink()
    full_joins.clear()
    _drop(config.parent, reports[-1])
    out = run(config)
    assert len(UNITS) in full_joins  # every text compared again
    assert _sheets(Path(out["summary"])) == expected
    assert similarity._read_store(path, _pairs_tag())  # left again for the next run
