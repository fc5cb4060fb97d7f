"""The feedback workbook: our template with the agency's values, flagged cells, a 校验结果 sheet; correct it and resubmit."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from processor.archive import feedback_name
from processor.check import CheckResult, apply_explanations, check, check_workbook
from processor.feedback import SHEET, write_feedback
from processor.findings import Report, finding
from processor.layout import layout
from processor.spec import get_spec
from processor.template import SEVERITY_FILL
from tests import seed
from tests.submissions import submission, zeros
from tests.workbooks import SOFFICE, fill_template, roundtrip, set_cells

BROKEN_E1 = {"s3.r1.c1": 5, "s3.r2.c1": 1, "s3.r3_1.c1": 4, "s3.r4.c1": 1}
E1_CELLS = ("D6", "D7", "D27", "D28")  # 2019 edition
E1_CELLS_2021 = ("D6", "D7", "D29", "D30")  # three （六） rows push （七）总计 down


def fill(sheet, ref: str) -> str:
    return sheet[ref].fill.fgColor.rgb[-6:]


def colour(severity: str) -> str:
    return SEVERITY_FILL[severity].lstrip("#")


def result_of(sub, previous=None) -> CheckResult:
    findings = apply_explanations(sub, check(sub, previous=previous))
    return CheckResult(file="某局年报.xlsx", submission=sub, report=Report(findings), spec=sub.spec)


# ---- built from submissions (no reader) -----------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[CheckResult, openpyxl.Workbook]:
    """E1 broken in 自然人, an E4 typed-over total, one explained and one open I1 warning."""
    this = submission(
        year=2020,
        values={**BROKEN_E1, "s3.r2.c2": 0, "s4.r1.c1": 2},
        shown={"s4.r1.c5": 3},
        notes=[("I1", "D7", "上年数据统计口径调整所致")],
    )
    last = submission(year=2019, values={"s3.r4.c1": 2, "s3.r4.c2": 3})
    result = result_of(this, last)
    path = write_feedback(tmp_path_factory.mktemp("fb") / feedback_name(result.file), result)
    return result, openpyxl.load_workbook(path)


def test_feedback__results_sheet_first_and_active(mixed):
    _, wb = mixed
    assert wb.sheetnames[0] == SHEET and wb.active.title == SHEET
    assert wb.sheetnames[1:] == [p.name for p in layout(get_spec("2019")).sheets]


def test_feedback__results_sheet_header_verdict_and_counts(mixed):
    _, wb = mixed
    ws = wb[SHEET]
    header = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(2, 8)}
    assert header["文件"] == "某局年报.xlsx" and header["单位"] == "测试市测试局"
    assert header["结论"] == "退回，请改正后重新提交"
    assert header["统计"] == "错误 2 个，警告 1 个，已说明 1 个，提示 0 个"


def test_feedback__results_sheet_lists_every_finding_with_a_link_to_its_cell(mixed):
    result, wb = mixed
    ws = wb[SHEET]
    rows = [r for r in ws.iter_rows(min_row=11) if r[0].value]
    assert [(r[1].value, r[2].value.split()[0], r[3].value) for r in rows] == [
        ("错误", "E1", "三、依申请公开!D6"),
        ("错误", "E4", "四、复议诉讼!E6"),
        ("已说明", "I1", "三、依申请公开!D7"),
        ("警告", "I1", "三、依申请公开!E7"),
    ]
    assert [r[3].hyperlink.location for r in rows] == [
        "'三、依申请公开'!D6",
        "'四、复议诉讼'!E6",
        "'三、依申请公开'!D7",
        "'三、依申请公开'!E7",
    ]
    assert rows[0][6].value == result.report.sorted()[0].message
    assert "上年数据统计口径调整所致" in rows[2][6].value


def test_feedback__every_operand_of_a_broken_balance_is_highlighted_with_its_message(mixed):
    result, wb = mixed
    ws = wb["三、依申请公开"]
    e1 = result.report.pick("E1")[0]
    for ref in E1_CELLS:
        assert fill(ws, ref) == colour("error"), ref
        assert e1.message in ws[ref].comment.text
    assert fill(ws, "F6") != colour("error")


def test_feedback__the_most_severe_status_colours_a_cell_hit_twice(mixed):
    _, wb = mixed
    ws = wb["三、依申请公开"]
    assert fill(ws, "D7") == colour("error")  # E1 operand and explained I1
    assert "【已说明 I1】" in ws["D7"].comment.text and "【错误 E1】" in ws["D7"].comment.text
    assert fill(ws, "E7") == colour("warning")


def test_feedback__total_cell_highlighted_and_formula_kept(mixed):
    _, wb = mixed
    ws = wb["四、复议诉讼"]
    assert fill(ws, "E6") == colour("error") and ws["E6"].value == "=SUM(A6:D6)" and ws["E6"].comment


def test_feedback__a_flagged_total_says_the_feedback_shows_the_formulas_sum_not_the_number_typed(mixed):
    """The comment's "请改正 E6" is about the agency's file: in the feedback workbook E6 is the template's
    formula again, showing the parts' sum. The comment says so, and that a typed total is not needed."""
    _, wb = mixed
    comment = wb["四、复议诉讼"]["E6"].comment.text
    assert "本反馈工作簿中 E6 已恢复为合计公式，显示的是各项之和" in comment
    assert "合计不必手工填写" in comment


def test_feedback__agency_values_written_back_totals_stay_formulas(mixed):
    _, wb = mixed
    ws = wb["三、依申请公开"]
    assert [ws[r].value for r in ("D6", "D7", "D8", "D28")] == [5, 1, 4, 1]
    assert ws["D27"].value == "=SUM(D8:D26)"
    assert ws.protection.sheet


def test_feedback__open_warning_prefilled_in_a_free_explanation_row(mixed):
    _, wb = mixed
    ws = wb["情况说明"]
    assert [tuple(c.value for c in row[1:4]) for row in ws.iter_rows(min_row=4, max_row=6)] == [
        ("I1", "D7", "上年数据统计口径调整所致"),
        ("I1", "E7", None),
        (None, None, None),
    ]


def test_feedback__no_row_prefilled_for_a_warning_no_explanation_settles(tmp_path):
    """unit-unknown, unit-name-mismatch and same-batch-duplicate are found by the batch after the file's
    情况说明 rows were applied and are settled by the coordinator (`explainable: false` in common.yaml)."""
    sub = submission(year=2020, values={"s3.r2.c1": 1, "s3.r3_1.c1": 1})
    last = submission(year=2019, values={})
    result = result_of(sub, last)
    spec, place = sub.spec, layout(sub.spec).places["info.agency"]
    batch = [
        finding(spec, rule, sheet=place.sheet, cell=place.a1, code="info.agency", found="甲", expected="乙")
        for rule in ("unit-unknown", "unit-name-mismatch", "same-batch-duplicate")
    ]
    result.report = Report([*result.report.findings, *batch])
    ws = openpyxl.load_workbook(write_feedback(tmp_path / "fb.xlsx", result))["情况说明"]
    assert [tuple(c.value for c in row[1:3]) for row in ws.iter_rows(min_row=4, max_row=5)] == [
        ("I1", "D7"),  # (the cross-year warning only)
        (None, None),
    ]


def test_feedback__the_link_of_a_finding_in_a_sheet_the_clerk_renamed__goes_to_this_workbooks_cell(tmp_path):
    """The finding names the clerk's sheet (依申请公开!F6); the feedback workbook is the template again."""
    sub = submission(values=BROKEN_E1)
    result = result_of(sub)
    result.report = Report([replace(f, sheet="依申请公开") for f in result.report.findings])
    ws = openpyxl.load_workbook(write_feedback(tmp_path / "fb.xlsx", result))[SHEET]
    [row] = [r for r in ws.iter_rows(min_row=10) if r[2].value and str(r[2].value).startswith("E1")]
    assert row[3].value.startswith("依申请公开!") and row[3].hyperlink.location == "'三、依申请公开'!D6"


def test_feedback__refused_value_written_back_as_typed_and_marked(tmp_path):
    sub = submission(values={"s3.r1.c1": 0})
    spec = sub.spec
    refused = finding(spec, "value-not-number", sheet="三、依申请公开", cell="D6", code="s3.r1.c1", found="五件")
    result = CheckResult("a.xlsx", sub, Report([refused]), spec)
    path = write_feedback(tmp_path / "a_反馈.xlsx", result)
    ws = openpyxl.load_workbook(path)["三、依申请公开"]
    assert ws["D6"].value == "五件" and fill(ws, "D6") == colour("error") and "五件" in ws["D6"].comment.text
    # resubmitting the feedback without fixing the value is refused again, not read as 0
    again = check_workbook(path)
    assert ("value-not-number", "D6") in [(f.rule_id, f.cell) for f in again.report.errors]


def test_feedback__every_blank_cell_of_a_table_is_marked_with_its_notice(tmp_path):
    """value-blank lists a table's blank cells (D6:E6、D8); each of them is coloured, not only the first."""
    path = fill_template(
        tmp_path / "空白.xlsx", values={**zeros(), "s3.r1.c1": None, "s3.r1.c2": None, "s3.r3_1.c1": None}
    )
    result = check_workbook(path)
    [blank] = [f for f in result.report.findings if f.rule_id == "value-blank"]
    assert (blank.cell, blank.code) == ("D6", "s3.r1.c1")
    ws = openpyxl.load_workbook(write_feedback(tmp_path / "空白_反馈.xlsx", result))["三、依申请公开"]
    assert all(fill(ws, ref) == colour("notice") and "已按 0 计" in ws[ref].comment.text for ref in ("D6", "E6", "D8"))
    assert ws["F6"].comment is None  # (a cell typed in)


def test_feedback__user_text_starting_with_equals_stays_text(tmp_path):
    sub = submission(texts={"text.s6": '=HYPERLINK("http://x")'}, agency="=1+1")
    result = result_of(sub)
    wb = openpyxl.load_workbook(write_feedback(tmp_path / "f.xlsx", result))
    assert wb["文字部分"]["A13"].value == '=HYPERLINK("http://x")' and wb["文字部分"]["A13"].data_type == "s"
    assert wb[SHEET]["B3"].value == "=1+1" and wb[SHEET]["B3"].data_type == "s"


def test_feedback__unreadable_file__refused(tmp_path):
    result = CheckResult("坏文件.xlsx", None, Report([]), None)
    with pytest.raises(ValueError, match=r"坏文件\.xlsx"):
        write_feedback(tmp_path / "x.xlsx", result)


def test_feedback_name__keeps_the_stem():
    assert feedback_name("绥芬河市住建局.xlsx") == "绥芬河市住建局_反馈.xlsx"


def test_feedback_name__a_feedback_workbook_sent_back__is_not_called_反馈_反馈():
    assert feedback_name("住建局_反馈.xlsx") == "住建局_反馈.xlsx"
    assert feedback_name("住建局_反馈 (2).xlsx") == "住建局_反馈.xlsx"


def test_feedback_name__a_long_name_is_shortened_before_反馈_which_stays():
    name = feedback_name("西山县青石乡人民政府关于报送" + "二〇二五年度政府信息公开工作年度报告的函" * 8 + ".xlsx")
    assert name.endswith("_反馈.xlsx") and name.startswith("西山县青石乡人民政府关于报送")
    assert len(name) <= 60 and len(name.encode("utf-8")) <= 180  # (archive.MAX_CHARS, MAX_BYTES)


# ---- real workbooks: check → feedback → correct → check again --------------------------------


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> dict[str, Path]:
    """A broken-E1 file, its feedback, the feedback corrected with openpyxl, and LibreOffice-saved copies."""
    base = tmp_path_factory.mktemp("cycle")
    broken = fill_template(base / "住建局.xlsx", values={**zeros(), **BROKEN_E1})
    feedback = write_feedback(base / feedback_name(broken.name), check_workbook(broken))
    corrected = shutil.copy(feedback, base / "住建局_改正.xlsx")
    set_cells(Path(corrected), {"s3.r1.c1": 4})
    seed_file = fill_template(
        base / "seed.xlsx", edition="2019", year=seed.YEAR, agency=seed.AGENCY, values=seed.SECTION2, texts=seed.texts()
    )
    seed_feedback = write_feedback(base / "seed_反馈.xlsx", check_workbook(seed_file))
    books = {
        "broken": broken,
        "feedback": feedback,
        "corrected": Path(corrected),
        "seed": seed_file,
        "seed-feedback": seed_feedback,
    }
    if SOFFICE:
        lo = base / "lo"
        lo.mkdir()
        for name in ("feedback", "corrected"):
            books[f"{name}-lo"] = Path(shutil.copy(books[name], lo / books[name].name))
        roundtrip([books["feedback-lo"], books["corrected-lo"]])
    return books


def lo(cycle, name):
    if f"{name}-lo" not in cycle:
        pytest.skip("soffice not installed")
    return cycle[f"{name}-lo"]


def test_cycle__feedback_of_broken_e1_highlights_the_column(cycle):
    ws = openpyxl.load_workbook(cycle["feedback"])["三、依申请公开"]
    assert [fill(ws, ref) for ref in E1_CELLS_2021] == [colour("error")] * 4
    assert all("自然人列" in ws[ref].comment.text for ref in E1_CELLS_2021)


def test_cycle__feedback_resubmitted_unchanged__same_error(cycle):
    result = check_workbook(cycle["feedback"])
    assert [(f.rule_id, f.cell) for f in result.report.errors] == [("E1", "D6")]


def test_cycle__corrected_in_the_feedback_workbook__validates_clean(cycle):
    result = check_workbook(cycle["corrected"])
    assert result.report.errors == [] and result.report.open_warnings == []


def test_cycle__feedback_saved_by_libreoffice__same_error(cycle):
    result = check_workbook(lo(cycle, "feedback"))
    assert [(f.rule_id, f.cell) for f in result.report.errors] == [("E1", "D6")]


def test_cycle__corrected_and_saved_by_libreoffice__validates_clean(cycle):
    result = check_workbook(lo(cycle, "corrected"))
    assert result.report.errors == [] and result.report.open_warnings == []


def test_cycle__seed_feedback_keeps_every_value(cycle):
    original = check_workbook(cycle["seed"]).submission
    again = check_workbook(cycle["seed-feedback"]).submission
    assert again.values == original.values and again.texts == original.texts
    assert (again.agency, again.year) == (seed.AGENCY, seed.YEAR)


def test_results_sheet__a_finding_that_wraps_gets_a_row_tall_enough_to_read(tmp_path: Path) -> None:
    # LibreOffice does not grow the rows of an .xlsx by itself: a message over several lines would be cut
    result = result_of(submission(values=BROKEN_E1))
    for engine in ("fast", "xlsxwriter"):
        ws = openpyxl.load_workbook(write_feedback(tmp_path / f"{engine}.xlsx", result, engine=engine))["校验结果"]
        rows = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 5 + 2).value and ws.cell(r, 1).value != "序号"]
        long = [r for r in rows if len(str(ws.cell(r, 7).value)) > 100]
        assert long and all(ws.row_dimensions[r].height >= 2 * 14.5 for r in long), engine
