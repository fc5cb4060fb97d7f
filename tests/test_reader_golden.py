"""Readings pinned: workbooks of many shapes (tests/golden_books.py) read and checked exactly as stored.

The expectation in tests/data/reader_golden.json holds every finding (rule, severity, sheet, cell,
code, expected, found, message, explanation), every value and blank, the shown totals, texts, notes
and metadata of each case. It guards the reader's fast paths (issue 7): a speed-up must not change
a single reading. After an intended change (a message reworded, a rule added), regenerate it with

    NIANBAO_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_reader_golden.py

and review the diff of the JSON file like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from processor.check import CheckResult, Options, check_workbook
from processor.submission import Number, Submission
from tests.golden_books import make

GOLDEN = Path(__file__).parent / "data" / "reader_golden.json"
UPDATE = os.environ.get("NIANBAO_UPDATE_GOLDEN") == "1"


def _number(value: Number | None) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"d{value}"


def _numbers(sub: Submission) -> dict[str, str]:
    """Per table: every value (d marks a Decimal), then * for a blank input, then the shown total."""
    out: dict[str, str] = {}
    for code, cell in sub.spec.cells.items():
        table = cell.table.code
        text = _number(sub.values.get(code))
        if code in sub.blanks:
            text += "*"
        if code in sub.shown_totals:
            text += "=" + _number(sub.shown_totals[code])
        out[table] = f"{out[table]} {text}" if table in out else text
    return out


def reading(result: CheckResult) -> dict[str, Any]:
    """What a check of one file gave, as JSON data."""
    sub = result.submission
    findings = [
        [f.rule_id, f.severity, f.sheet, f.cell, f.code, f.expected, f.found, f.message, f.explanation, f.agency]
        for f in result.report.findings
    ]
    out: dict[str, Any] = {"edition": result.spec.edition if result.spec else None, "findings": findings}
    if sub is not None:
        out |= {
            "year": sub.year,
            "agency": sub.agency,
            "kind": sub.kind,
            "units": sub.units,
            "numbers": _numbers(sub),
            "texts": sub.texts,
            "notes": [[n.index, n.rule, n.cell, n.text] for n in sub.notes],
            "meta": sub.meta,
        }
    return out


@pytest.fixture(scope="module")
def readings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    cases = make(tmp_path_factory.mktemp("golden"))
    results: dict[str, CheckResult] = {}
    for name, (data, previous) in cases.items():  # a previous year's case comes before the cases using it
        prev = results[previous].submission if previous else None
        results[name] = check_workbook(data, name=f"{name}.xlsx", options=Options(year=2025), previous=prev)
    got = {name: reading(r) for name, r in results.items()}
    if UPDATE:
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return got


def test_every_case_is_pinned(readings: dict[str, dict[str, Any]]) -> None:
    assert sorted(readings) == sorted(json.loads(GOLDEN.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(json.loads(GOLDEN.read_text(encoding="utf-8"))) if GOLDEN.exists() else [])
def test_reading_is_unchanged(readings: dict[str, dict[str, Any]], name: str) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[name]
    got = json.loads(json.dumps(readings[name], ensure_ascii=False))  # tuples and keys as JSON has them
    assert got == expected
