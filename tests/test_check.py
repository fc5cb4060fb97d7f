"""The check pipeline on real template workbooks: filled through openpyxl, and round-tripped through LibreOffice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from processor.check import CheckResult, Options, check, check_workbook, drop_consequences
from processor.findings import finding
from processor.spec import get_spec
from tests import seed
from tests.submissions import submission, zeros
from tests.workbooks import SOFFICE, fill_template, roundtrip

BROKEN_E1 = {"s3.r1.c1": 5, "s3.r2.c1": 1, "s3.r3_1.c1": 4, "s3.r4.c1": 1}
BALANCED = {"s3.r1.c1": 10, "s3.r1.c2": 5, "s3.r3_1.c1": 10, "s3.r3_1.c2": 5}


def _build(folder: Path) -> dict[str, Path]:
    """One workbook per case, named after what is wrong with it."""
    folder.mkdir(parents=True, exist_ok=True)
    seed_values = {**seed.SECTION2}
    cases = {
        "seed": dict(edition="2019", year=seed.YEAR, agency=seed.AGENCY, values=seed_values, texts=seed.texts()),
        "clean": dict(year=2025, values=BALANCED),
        "e1-broken-natural-persons": dict(year=2025, values=BROKEN_E1),
        "e2-row-total-typed-over": dict(year=2025, values={**BALANCED, "s3.r1.c7": 14}),
        "e3-results-total-typed-over": dict(year=2025, values={**BALANCED, "s3.r3_7.c2": 4}),
        "e4-review-total-typed-over": dict(year=2025, values={"s4.r1.c1": 10, "s4.r1.c2": 1, "s4.r1.c5": 0}),
        # numbers typed as text in 三's first row: an office suite's J6 =SUM(D6:I6) skips them (shows 0)
        "numbers-as-text": dict(year=2025, values={**BALANCED, "s3.r1.c1": "10 ", "s3.r1.c2": "５"}),
        "numbers-as-text-in-results": dict(year=2025, values={**BALANCED, "s3.r3_1.c1": "10 "}),
        "numbers-as-text-and-total-typed-over": dict(
            year=2025, values={**BALANCED, "s3.r1.c1": "10 ", "s3.r1.c2": 5, "s3.r1.c7": 12}
        ),
        "t1-t2-texts-empty": dict(year=2025, texts={"text.s1": None, "text.s5": None}),
        "t3-overview-too-long": dict(year=2025, texts={"text.s1": "本年度工作情况。" * 130}),
        "t4-no-fee-2021": dict(year=2025, texts={"text.s6": "无"}),
        "i1-carried-last-year": dict(year=2024, values={"s3.r1.c1": 3, "s3.r3_1.c1": 1, "s3.r4.c1": 2}),
        "i1-carried-this-year": dict(year=2025, values={"s3.r2.c1": 1, "s3.r3_1.c1": 1}),
        "i1-explained": dict(
            year=2025,
            values={"s3.r2.c1": 1, "s3.r3_1.c1": 1},
            texts={"note.n01.rule": "I1", "note.n01.cell": "D7", "note.n01.text": "上年报告数据有误，已更正"},
        ),
    }
    for kw in cases.values():  # complete reports: every input typed (0 where nothing happened)
        if kw is not cases["seed"]:
            kw["values"] = {**zeros(year=kw["year"]), **kw.get("values", {})}
    return {name: fill_template(folder / f"{name}.xlsx", **kw) for name, kw in cases.items()}


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """The cases as openpyxl leaves them ("openpyxl") and as LibreOffice saves them ("libreoffice")."""
    base = tmp_path_factory.mktemp("check")
    out = {"openpyxl": _build(base / "openpyxl")}
    if SOFFICE:
        saved = base / "libreoffice"
        shutil.copytree(base / "openpyxl", saved)
        out["libreoffice"] = {name: saved / p.name for name, p in out["openpyxl"].items()}
        roundtrip(out["libreoffice"].values())
    return out


@pytest.fixture(params=["openpyxl", "libreoffice"])
def saved_by(request, books) -> dict[str, Path]:
    if request.param not in books:
        pytest.skip("soffice not installed")
    return books[request.param]


def run(path: Path, **kw) -> CheckResult:
    return check_workbook(path, **kw)


def errors(result: CheckResult) -> list[tuple[str, str | None]]:
    return [(f.rule_id, f.cell) for f in result.report.errors]


def test_seed__2019_template__validates_without_error(saved_by):
    result = run(saved_by["seed"])
    assert result.report.status == "accepted", [f.message for f in result.report.errors]
    assert (result.agency, result.submission.year, result.spec.edition) == (seed.AGENCY, 2019, "2019")
    assert [f.rule_id for f in result.report.notices if f.rule_id == "T3"] == ["T3"]  # 1,771 字 > 1,000


def test_clean__no_error_no_warning(saved_by):
    result = run(saved_by["clean"])
    assert result.report.errors == [] and result.report.open_warnings == []


def test_e1__one_broken_column__exactly_one_error_naming_the_column_and_its_cells(saved_by):
    result = run(saved_by["e1-broken-natural-persons"])
    assert errors(result) == [("E1", "D6")]
    (e1,) = result.report.errors
    assert (e1.sheet, e1.expected, e1.found) == ("三、依申请公开", "6", "5")
    assert "自然人列" in e1.message and "D6、D7、D29、D30" in e1.message
    assert (e1.agency, e1.file) == ("测试市测试局", "e1-broken-natural-persons.xlsx")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("e2-row-total-typed-over", [("E2", "J6", "15", "14")]),
        ("e3-results-total-typed-over", [("E3", "E29", "5", "4")]),
        ("e4-review-total-typed-over", [("E4", "E6", "11", "0")]),
    ],
)
def test_totals__typed_over_the_formula__error_at_the_total(saved_by, case, expected):
    result = run(saved_by[case])
    assert [(f.rule_id, f.cell, f.expected, f.found) for f in result.report.errors] == expected


def test_totals__numbers_typed_as_text__a_notice_naming_them_not_an_error_at_the_formula(saved_by):
    """The sheet's own SUM skips a number kept as text; the reader reads it as meant, so the total the
    sheet shows (LibreOffice: 5, without D6) differs only by it. Not an error at J6 (a locked formula the
    clerk cannot correct): a notice there, naming D6 as what to re-type. openpyxl saves no total: nothing."""
    result = run(saved_by["numbers-as-text"])
    assert result.report.status == "accepted" and result.report.errors == []
    assert result.submission.values["s3.r1.c7"] == 15 and result.submission.text_numbers == {"s3.r1.c1", "s3.r1.c2"}
    parts = [f for f in result.report.findings if f.rule_id == "total-text-parts"]
    if result.submission.shown_totals.get("s3.r1.c7") is None:  # (openpyxl: no total was shown)
        assert parts == []
        return
    (f,) = parts
    assert (f.severity, f.sheet, f.cell, f.expected, f.found) == ("notice", "三、依申请公开", "J6", "15", "0")
    assert "D6–E6 的数字是以文本形式填写的" in f.message and "请把 D6–E6 重新输入为纯数字" in f.message


def test_totals__a_number_as_text_in_the_results__one_notice_per_total_that_shows_it_not_the_corner(saved_by):
    """D8 as text: its row's total (J8) and its column's （七）总计 (D29) each show it missing; the corner
    (J29) adds up totals that already say so."""
    result = run(saved_by["numbers-as-text-in-results"])
    assert result.report.errors == []
    cells = sorted(f.cell for f in result.report.findings if f.rule_id == "total-text-parts")
    assert cells == ([] if result.submission.shown_totals.get("s3.r3_1.c7") is None else ["D29", "J8"])


def test_totals__typed_over_besides_numbers_as_text__still_an_error(saved_by):
    result = run(saved_by["numbers-as-text-and-total-typed-over"])
    assert [(f.rule_id, f.cell, f.expected, f.found) for f in result.report.errors] == [("E2", "J6", "15", "12")]
    assert [f for f in result.report.findings if f.rule_id == "total-text-parts"] == []


def test_text_required__one_and_five_empty__two_errors(saved_by):
    assert errors(run(saved_by["t1-t2-texts-empty"])) == [("T1", "A5"), ("T2", "A9")]


def test_text_length__overview_over_limit__notice_only(saved_by):
    result = run(saved_by["t3-overview-too-long"])
    assert result.report.valid
    assert [(f.rule_id, f.found) for f in result.report.pick("T3")] == [("T3", "1040")]
    assert run(saved_by["t3-overview-too-long"], options=Options(text_limit=2000)).report.pick("T3") == []


def test_text_mentions__2021_without_fee__warning_file_accepted(saved_by):
    result = run(saved_by["t4-no-fee-2021"])
    assert result.report.status == "accepted"
    assert [(f.rule_id, f.severity, f.cell) for f in result.report.open_warnings] == [("T4", "warning", "A13")]


def test_year_mismatch__collecting_another_year__error_at_report_year(saved_by):
    result = run(saved_by["clean"], options=Options(year=2026))
    assert [(f.rule_id, f.sheet, f.cell, f.expected, f.found) for f in result.report.errors] == [
        ("year-mismatch", "基本信息", "B5", "2026", "2025")
    ]


def test_carry__last_years_workbook_as_previous__warning_then_explained_in_the_file(saved_by):
    last = run(saved_by["i1-carried-last-year"]).submission
    warned = run(saved_by["i1-carried-this-year"], previous=last)
    assert [(f.rule_id, f.cell, f.expected, f.found) for f in warned.report.open_warnings] == [("I1", "D7", "2", "1")]
    explained = run(saved_by["i1-explained"], previous=last)
    assert [(f.rule_id, f.status_label, f.explanation) for f in explained.report.warnings] == [
        ("I1", "已说明", "上年报告数据有误，已更正")
    ]
    assert explained.report.open_warnings == []


def test_check_workbook__bytes_and_name__same_report(books):
    path = books["openpyxl"]["e1-broken-natural-persons"]
    from_bytes = check_workbook(path.read_bytes(), name=path.name)
    assert from_bytes.report.findings == check_workbook(path).report.findings


def test_check_workbook__never_modifies_the_input(books, tmp_path):
    path = tmp_path / "x.xlsx"
    shutil.copy(books["openpyxl"]["e1-broken-natural-persons"], path)
    before = path.read_bytes()
    check_workbook(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.xlsx"]


def test_check_workbook__not_a_workbook__rejected_without_submission(tmp_path):
    path = tmp_path / "年报.xlsx"
    path.write_text("这不是 Excel 文件", encoding="utf-8")
    result = check_workbook(path)
    assert result.submission is None and result.report.status == "rejected"
    assert all(f.file == "年报.xlsx" for f in result.report.findings)


def test_check_workbook__reader_crash__becomes_a_finding(monkeypatch, tmp_path):
    import processor.reader

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(processor.reader, "read_workbook", boom)
    result = check_workbook(tmp_path / "a.xlsx")
    assert [(f.rule_id, f.file) for f in result.report.findings] == [("file-unreadable", "a.xlsx")]


def test_check_workbook__refused_value__no_e1_echo(tmp_path):
    path = fill_template(tmp_path / "a.xlsx", values={"s3.r1.c1": "五件", "s3.r3_1.c1": 5})
    result = check_workbook(path)
    assert [f.rule_id for f in result.report.errors] == ["value-not-number"]


# ---- pure check() on submissions ------------------------------------------------------------


def test_check__seed_as_submission__no_error():
    sub = submission("2019", 2019, seed.SECTION2_READ, texts=seed.texts(), agency=seed.AGENCY)
    assert [f.rule_id for f in check(sub)] == ["T3"]


def test_check__year_option_matches__no_finding():
    assert check(submission(year=2020), options=Options(year=2020)) == []


def test_drop_consequences__value_refused_in_a_result_row__e1_dropped_other_columns_kept():
    spec = get_spec("2019")
    sub = submission(values={"s3.r1.c1": 5, "s3.r1.c2": 1})
    refused = finding(spec, "value-not-number", code="s3.r3_1.c1", sheet="三、依申请公开", cell="D8")
    kept = drop_consequences(spec, check(sub), [refused])
    assert [(f.rule_id, f.cell) for f in kept] == [("E1", "E6")]


def test_finding__its_kept_hash_never_travels_to_another_process() -> None:
    """A finding keeps its hash once made (the summary's rows are known by their findings); a string's
    hash differs between processes, so a finding pickled by a worker arrives without it."""
    import pickle
    import subprocess
    import sys

    from processor.findings import Finding

    f = Finding("T1", "error", "缺少“一、总体情况”。", sheet="文字部分", cell="A5", agency="云溪市教育局")
    assert hash(f) == hash(f) and "_hash" in f.__dict__
    back = pickle.loads(pickle.dumps(f))
    assert back == f and "_hash" not in back.__dict__ and {back: 1}[f] == 1
    # in another process (its own string hashes), the finding unpickled is found by one made there
    code = (
        "import pickle, sys; from processor.findings import Finding; "
        "f = pickle.loads(sys.stdin.buffer.read()); "
        "g = Finding('T1', 'error', '缺少“一、总体情况”。', sheet='文字部分', cell='A5', agency='云溪市教育局'); "
        "print({g: 1}.get(f))"
    )
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(f), capture_output=True, check=True)
    assert out.stdout.strip() == b"1"


def test_check__last_years_file_with_the_year_typed_25__one_error_at_the_year_not_a_report_of_2024(tmp_path):
    """A clerk copies last year's file and types 25: the year cannot be read (year-missing), and the file
    is not said to be a 2024 report (the template's year): the clerk never wrote 2024."""
    from tests.workbooks import set_cells

    path = set_cells(fill_template(tmp_path / "财政局2025.xlsx", year=2024), {"info.year": "25"})
    rules = [f.rule_id for f in check_workbook(path, options=Options(year=2025)).report.findings]
    assert "year-missing" in rules and "year-mismatch" not in rules


def test_check__a_formula_typed_in_a_text_section__is_said_to_have_no_value_not_to_be_blank(tmp_path):
    """A clerk types =A1&"…" into 一、总体情况 and the file was never calculated (saved by a script): the
    reader says the formula has no saved result and to type the text; "未填写" would not be the reason."""
    import openpyxl

    path = fill_template(tmp_path / "民政局.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["文字部分"]["A5"] = '=A1&"总体情况"'
    wb.save(path)
    findings = check_workbook(path).report.findings
    [said] = [f for f in findings if f.cell == "A5" and f.sheet == "文字部分"]
    assert said.rule_id == "formula-no-value" and said.message.endswith("或直接填写文字内容。")
