"""Each hostile, broken or strange file alone: read and checked, it gives the expected findings, never an exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.check import Options, check_workbook
from processor.findings import ERROR
from tests.hostile.generate import CASES, REJECTED, SOFFICE_CASES, YEAR, Case, make_cases
from tests.workbooks import SOFFICE, needs_soffice

CJK = re.compile(r"[\u4e00-\u9fff]")
FILE_RULES = ("file-", "not-template")  # rules whose message names the file itself


def _by_name(corpus: tuple[Path, list[Case]]) -> dict[str, Case]:
    return {c.name: c for c in corpus[1]}


@pytest.mark.parametrize("name", list(CASES))
def test_case__gives_its_findings_and_never_raises(corpus, name: str) -> None:
    if name in SOFFICE_CASES and not SOFFICE:
        pytest.skip("LibreOffice (soffice) not installed")
    case = _by_name(corpus)[name]
    result = check_workbook(case.path, options=Options(year=YEAR))
    rules = {f.rule_id for f in result.report.findings}
    assert set(case.rules) - {"unit-unknown"} <= rules, (case.about, sorted(rules))
    assert all(f.file == case.path.name for f in result.report.findings)
    for f in result.report.findings:  # Chinese, every token filled in (a missing one renders 未知)
        assert CJK.search(f.message) and "未知" not in f.message.replace(case.path.name, ""), f.message
    assert not any("意外错误" in f.message for f in result.report.findings), "the reader's last guard was reached"
    if case.status == REJECTED:
        assert result.report.errors, case.about
        for f in result.report.errors:
            if f.rule_id.startswith(FILE_RULES):
                assert f"“{case.path.name}”" in f.message
    else:
        assert not result.report.errors, [f.message for f in result.report.errors]
        assert result.submission is not None and result.submission.agency == case.agency


def test_accepted_strange_files__read_the_same_figures_as_the_clean_report(corpus) -> None:
    """.xls, .ods, .xlsm, a renamed/hidden/reordered sheet, inserted rows: the figures are those typed."""
    from tests.test_batch import values

    seeds = {"xls": 11, "ods": 12, "xlsm_macros": 13, "sheet_renamed": 19, "sheet_hidden": 20}
    seeds |= {"sheets_reordered": 21, "rows_inserted": 22, "columns_inserted": 23, "hundreds_of_sheets": 17}
    seeds |= {"million_rows_far_cell": 14, "million_rows_dimension": 15, "million_rows_filled": 16}
    cases = _by_name(corpus)
    for name, seed in seeds.items():
        if name not in cases:
            continue  # a LibreOffice case without soffice
        sub = check_workbook(cases[name].path, options=Options(year=YEAR)).submission
        assert sub is not None, name
        typed = {code: v for code, v in values(seed).items()}
        assert {code: float(sub.values[code]) for code in typed} == {c: float(v) for c, v in typed.items()}, name


def test_bombs_and_sprawl__are_refused_before_they_cost_memory(tmp_path: Path) -> None:
    """Peak memory of this process grows by well under the 300 MB the bombs would inflate to."""
    resource = pytest.importorskip("resource")  # POSIX only
    names = ["bomb_ratio", "bomb_lying", "bomb_declared", "bomb_entries", "entities_workbook", "entities_strings"]
    names += [n for n in ("xls_far_cell", "ods_far_columns", "ods_million_rows") if SOFFICE]
    cases = make_cases(tmp_path, names)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for case in cases:
        result = check_workbook(case.path, options=Options(year=YEAR))
        assert [f.rule_id for f in result.report.findings if f.severity == ERROR] == list(case.rules[:1]), case.name
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 150, f"reading the bombs raised the peak by {grown_mb:.0f} MB"


def test_parts_not_kept_in_memory__are_read_from_the_zip_the_same(corpus, monkeypatch) -> None:
    import processor.fileformat
    from processor.reader import read_workbook

    case = _by_name(corpus)["external_formula"]
    expected = read_workbook(case.path)
    monkeypatch.setattr(processor.fileformat, "KEPT_BYTES", 0)  # as if every part were large
    got = read_workbook(case.path)
    assert got.submission is not None and expected.submission is not None
    assert got.submission.values == expected.submission.values
    assert [(f.rule_id, f.cell) for f in got.findings] == [(f.rule_id, f.cell) for f in expected.findings]


def test_openpyxl_is_never_used_without_defusedxml(corpus, monkeypatch) -> None:
    import openpyxl

    import processor.book
    from processor.reader import read_workbook

    def refuse(*_args: object, **_kw: object) -> None:
        raise RuntimeError("calamine refused")

    monkeypatch.setattr(processor.book.CalamineWorkbook, "from_filelike", refuse)  # the openpyxl fallback
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)  # as with OPENPYXL_DEFUSEDXML=False
    result = read_workbook(_by_name(corpus)["xlsm_macros"].path)
    assert [f.rule_id for f in result.findings] == ["file-unreadable"]
    assert "XML 防护" in result.findings[0].message


@needs_soffice
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_xls_and_ods__never_raise(corpus, data: st.DataObject) -> None:
    """Bytes flipped or cut in an .xls (our OLE2/BIFF walk runs before calamine) or an .ods."""
    from processor.reader import read_workbook

    case = _by_name(corpus)[data.draw(st.sampled_from(["xls", "ods"]))]
    raw = bytearray(case.path.read_bytes())
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    result = read_workbook(bytes(raw), name=case.path.name)
    assert result.submission is not None or any(f.severity == ERROR for f in result.findings)
    assert not any("意外错误" in f.message for f in result.findings), [f.message for f in result.findings]
