"""The benchmark's workbook generator (bench/generate.py): distinct units, a loadable roster, and
workbooks that hold what the generator says they hold (E1 holds unless the unit was made to break it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from bench.generate import APPLICANTS, build_units, plan_unit, write_plan, write_roster
from processor.layout import layout
from processor.roster import load_roster
from processor.spec import get_spec

SPEC = get_spec("2021")
PLACES = layout(SPEC).places
LEFT, RIGHT = ("r1", "r2"), ("r3_7", "r4")


def test_units_are_distinct_and_the_roster_loads(tmp_path: Path) -> None:
    units = build_units(600)
    assert len(units) == 600
    names = [u.name for u in units] + [u.alias for u in units if u.alias]
    assert len(set(names)) == len(names)
    assert {u.level for u in units} == {"province", "city", "county", "county_gov", "town"}
    write_roster(tmp_path / "roster.csv", units)
    roster = load_roster(tmp_path / "roster.csv")
    assert len(roster) == 600
    town = next(u for u in units if u.level == "town")
    assert roster.match(town.alias).name == town.name
    assert roster.match(units[0].name).group == ("省直部门",)
    assert len(town.code) == 18


def test_plans_are_deterministic_and_mostly_consistent() -> None:
    units = build_units(300)
    plans = [plan_unit(u) for u in units]
    again = plan_unit(units[7])
    assert (again.values, again.content, again.file) == (plans[7].values, plans[7].content, plans[7].file)
    categories = Counter(p.category for p in plans)
    assert categories["ok"] > 0.8 * len(plans)
    assert categories["e1"] and categories["t4"]
    assert len({p.content["text.s1"] for p in plans}) == len(plans)  # no two units write the same text
    for p in plans:
        assert 250 <= len(p.content["text.s1"]) <= 1700
        if p.category != "t4":
            assert "信息处理费" in p.content["text.s6"]
        elif "explained" not in p.flags:
            assert "信息处理费" not in p.content["text.s6"]


def _column_sums(ws_values: dict[str, object], col: str) -> tuple[float, float]:
    def num(row: str) -> float:
        v = ws_values[f"s3.{row}.{col}"]
        return float(v) if isinstance(v, (int, float)) else 0.0

    return sum(num(r) for r in LEFT), sum(num(r) for r in RIGHT)


@pytest.mark.parametrize("category", ["ok", "e1"])
def test_written_workbook_holds_the_plan(tmp_path: Path, category: str) -> None:
    units = build_units(200)
    plan = next(p for p in map(plan_unit, units) if p.category == category and not p.nocache)
    made = write_plan(plan, tmp_path)
    assert made.bytes > 10_000
    wb = openpyxl.load_workbook(tmp_path / made.file, data_only=True)
    read = {code: wb[PLACES[code].sheet][PLACES[code].a1].value for code in SPEC.cells}
    assert wb[PLACES["info.agency"].sheet][PLACES["info.agency"].a1].value == plan.agency
    balanced = [_column_sums(read, c) for c, _ in APPLICANTS]
    if category == "ok":
        assert all(abs(a - b) < 1e-9 for a, b in balanced)
    else:
        assert any(abs(a - b) > 0.5 for a, b in balanced)
