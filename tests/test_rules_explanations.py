"""情况说明: a long enough explanation turns a warning into 已说明; the rows themselves get notices."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.check import apply_explanations, check, check_workbook
from processor.findings import Report, finding
from processor.layout import layout
from processor.rules.explanations import parse_note_cells
from processor.spec import get_spec
from tests.submissions import submission
from tests.workbooks import fill_template, needs_soffice, roundtrip, set_cells

REASON = "上年统计口径有误，已与上级核实"


def explained(*notes, year=2020, this_values=None):
    this = submission(
        year=year,
        values=this_values or {"s3.r2.c1": 1, "s3.r2.c2": 1, "s3.r3_1.c1": 1, "s3.r3_1.c2": 1},
        notes=list(notes),
    )
    last = submission(year=year - 1, values={"s3.r1.c1": 3, "s3.r4.c1": 3, "s3.r1.c2": 2, "s3.r4.c2": 2})
    return apply_explanations(this, check(this, previous=last))


def status(findings):
    return [(f.rule_id, f.cell, f.status_label) for f in Report(findings).sorted()]


def test_explanation__rule_and_cell__only_that_warning_explained():
    findings = explained(("I1", "D7", REASON))
    assert status(findings) == [("I1", "D7", "已说明"), ("I1", "E7", "警告")]
    assert next(f for f in findings if f.cell == "D7").explanation == REASON
    assert [f.severity for f in findings] == ["warning", "warning"]  # severity stays


def test_explanation__rule_without_cell__every_warning_of_the_rule():
    assert status(explained(("i1", "", REASON))) == [("I1", "D7", "已说明"), ("I1", "E7", "已说明")]


def test_explanation__cell_typed_with_sheet_and_dollars__matches():
    assert status(explained(("I1", "三、依申请公开!$E$7", REASON)))[1] == ("I1", "E7", "已说明")


def test_explanation__too_short__warning_stays_open_and_a_notice_names_the_row():
    findings = explained(("I1", "D7", "核实无误"))
    spec = get_spec("2019")
    assert status(findings) == [("I1", "D7", "警告"), ("I1", "E7", "警告"), ("explanation-short", "D4", "提示")]
    short = findings[-1]
    assert (
        short.message
        == finding(spec, "explanation-short", sheet="情况说明", cell="D4", found="I1 D7", expected=6, why="").message
    )


@pytest.mark.parametrize("text", ["无无无无无无", "未 收 费 。 。 。", "。。。。。。。", "同上同上同上"])
def test_explanation__that_says_nothing__is_too_short(text):
    """Punctuation does not count, nor a text of one or two characters over and over."""
    findings = explained(("I1", "D7", text))
    assert status(findings)[0] == ("I1", "D7", "警告") and findings[-1].rule_id == "explanation-short"
    assert "（标点不算；翻来覆去一两个字，如“无无无无无无”，也不算说明）" in findings[-1].message  # (they counted 6)


def test_explanation__names_no_current_warning__unmatched_notice():
    findings = explained(("I2", "F7", REASON))
    assert status(findings)[-1] == ("explanation-unmatched", "B4", "提示")


def test_explanation__names_the_rule_at_a_cell_without_it__the_notice_says_where_its_warnings_are():
    findings = explained(("I1", "F7", REASON))
    notice = findings[-1]
    assert (notice.rule_id, notice.cell) == ("explanation-wrong-cell", "B4")
    assert "三、依申请公开!D7、三、依申请公开!E7" in notice.message and "可以删除" not in notice.message


@pytest.mark.parametrize(
    "rule, cell",
    [
        ("Ｉ１", "Ｄ７"),  # full width
        ("I1", "三、依申请公开 D7"),  # a space for the !
        ("I1", "三、依申请公开：$D$7"),
        ("I1", "D7单元格"),
        ("i1", "单元格d7"),
        ("I1 本年“上年结转”应等于上年“结转下年度”", "D7"),  # the feedback's 规则 column copied
        ("【警告 I1】本年“上年结转”……", "D7"),  # a cell comment copied
        ("I1", "D7 单元格"),
        ("I1", "D7（合计）"),
        ("I1", "D7、E7"),
        ("I1", "三、依申请公开!D7:E7"),
        ("本年“上年结转”等于上年报告的“结转下年度继续办理”", "D7"),  # the rule's title alone, as 规则 shows it
        ("本年上年结转等于上年报告的结转下年度继续办理", "D7"),  # … typed without its quotes
        ("全表空白", "D7"),  # a rule of no name of ours: the cell says which warning
    ],
)
def test_explanation__rule_and_cell_as_clerks_write_them__match(rule, cell):
    assert status(explained((rule, cell, REASON)))[0] == ("I1", "D7", "已说明")


def test_explanation__a_rule_not_recognised_and_no_cell__says_so_and_which_codes_to_copy():
    """Not "there is no such warning, delete the row": the clerk's words were not understood."""
    findings = explained(("table blank", "", REASON))
    assert status(findings)[:2] == [("I1", "D7", "警告"), ("I1", "E7", "警告")]
    [told] = [f for f in findings if f.rule_id == "explanation-rule-unknown"]
    assert (told.sheet, told.cell) == ("情况说明", "B4")
    assert told.message.startswith(
        "“情况说明”工作表 B4 写的规则“table blank”无法识别，这条说明没有对应到任何警告（本文件待说明的警告：I1）"
    )
    assert "请照抄反馈工作簿“校验结果”中该警告“规则”一栏的编号" in told.message


def test_explanation__of_a_cross_year_rule_without_last_years_report__is_not_called_unmatched():
    """`nianbao validate` of one file cannot check I1: the clerk's explanation is not said to be needless."""
    this = submission(year=2020, values={"s3.r2.c1": 1, "s3.r3_1.c1": 1}, notes=[("I1", "D7", REASON)])
    assert apply_explanations(this, check(this), last_year=False) == []
    assert [f.rule_id for f in apply_explanations(this, check(this))] == ["explanation-unmatched"]


_SHEETS = st.sampled_from(["三、依申请公开", "二、主动公开", "四、复议诉讼", "文字部分"])
_COLS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=2)


@given(sheet=_SHEETS, col=_COLS, row=st.integers(1, 99_999), style=st.integers(0, 5), dollars=st.booleans())
def test_parse_note_cell__every_way_of_writing_an_address__gives_the_sheet_and_the_cell(
    sheet, col, row, style, dollars
):
    ref = f"${col}${row}" if dollars else f"{col}{row}"
    typed = [ref, f"{sheet}!{ref}", f"'{sheet}'!{ref}", f"{sheet} {ref}", f"{sheet}！{ref}", f"{ref}单元格"][style]
    wide = typed.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}) if style == 0 else typed
    expected_sheet = sheet if style in (1, 2, 3, 4) else None
    for text in {typed, wide}:
        assert parse_note_cells(text) == (expected_sheet, (f"{col.upper()}{row}",))


@given(st.text(max_size=30))
def test_parse_note_cell__never_raises(typed):
    sheet, cells = parse_note_cells(typed)
    assert (sheet is None or isinstance(sheet, str)) and (cells or not typed.strip())


def test_explanation__for_an_error__cannot_explain_it():
    findings = explained(("E1", "", REASON), this_values={"s3.r1.c1": 1})
    assert [(f.rule_id, f.status_label) for f in findings if f.rule_id.startswith(("E1", "explanation"))] == [
        ("E1", "错误"),
        ("explanation-for-error", "提示"),
    ]


def test_explanation__text_without_rule_or_cell__incomplete_notice():
    findings = explained(("", "", REASON))
    assert status(findings)[-1] == ("explanation-incomplete", "B4", "提示")


def test_explanation__prefilled_row_left_empty_after_fix__ignored():
    this = submission(year=2020, notes=[("I1", "D7", "")])
    assert apply_explanations(this, check(this)) == []


def test_explanation__second_row__numbered_by_its_row():
    findings = explained(("I1", "D7", REASON), ("I1", "E7", "太短"))
    assert status(findings)[-1] == ("explanation-short", "D5", "提示")


def test_explanation__prefilled_row_without_text__warning_open_no_notice():
    findings = explained(("I1", "D7", ""))
    assert status(findings) == [("I1", "D7", "警告"), ("I1", "E7", "警告")]


def test_explanation__rule_typed_in_lower_case__notice_spells_it_as_the_catalogue():
    findings = explained(("table-blank", "B5", "确实没有"))
    assert findings[-1].rule_id == "explanation-unmatched" and "“table-blank B5”" in findings[-1].message


def _zeros_but_s4(spec):
    return {c: 0 for c, cell in spec.cells.items() if cell.kind and not cell.is_total and not c.startswith("s4.")}


@pytest.mark.parametrize("saved_by", ["openpyxl", pytest.param("libreoffice", marks=needs_soffice)])
def test_explanation__naming_any_marked_blank_cell_of_a_blank_table__explains_it(tmp_path, saved_by):
    """The feedback colours every blank cell of a blank table; the clerk may name whichever they saw marked."""
    spec = get_spec("2021")
    places = layout(spec).places
    s4 = [c for c, cell in spec.cells.items() if c.startswith("s4.") and not cell.is_total]
    path = fill_template(tmp_path / "四空白.xlsx", year=2025, values=_zeros_but_s4(spec))
    last = places[s4[-1]]
    set_cells(
        path, {"note.n01.rule": "table-blank", "note.n01.cell": f"{last.sheet}!{last.a1}", "note.n01.text": REASON}
    )
    if saved_by == "libreoffice":
        path = roundtrip([path])[0]
    findings = check_workbook(path).report.findings
    blank = [f for f in findings if f.rule_id == "table-blank"]
    assert [(f.code, f.status_label) for f in blank] == [(s4[0], "已说明")]
    assert not [f for f in findings if f.rule_id.startswith("explanation-")]


def test_explanation__cell_of_no_marked_place__is_said_to_be_the_wrong_cell(tmp_path):
    spec = get_spec("2021")
    path = fill_template(tmp_path / "四空白.xlsx", year=2025, values=_zeros_but_s4(spec))
    set_cells(path, {"note.n01.rule": "table-blank", "note.n01.cell": "三、依申请公开!D7", "note.n01.text": REASON})
    findings = check_workbook(path).report.findings
    assert [f.status_label for f in findings if f.rule_id == "table-blank"] == ["警告"]
    [notice] = [f for f in findings if f.rule_id.startswith("explanation-")]
    assert notice.rule_id == "explanation-wrong-cell" and "四、复议诉讼!" in notice.message


@pytest.mark.parametrize(
    "typed, parsed",
    [
        ("D7、D8", (None, ("D7", "D8"))),
        ("d7,d8和D9", (None, ("D7", "D8", "D9"))),
        ("三、依申请公开!D7:D9", ("三、依申请公开", ("D7", "D8", "D9"))),
        ("Sheet1!D7", ("Sheet1", ("D7",))),  # (a sheet name ending in a digit is not an address)
        ("第3行", (None, ("第3行",))),  # (not an address: kept, so it is reported)
        ("A1:Z999", (None, ("A1", "Z999"))),  # (a range too large to mean: its ends)
    ],
)
def test_parse_note_cells__several_cells_and_ranges(typed, parsed):
    assert parse_note_cells(typed) == parsed


def test_explanation__a_cell_alone_explains_the_warning_at_that_cell_not_any_marked_one(tmp_path):
    """三 and 四 share D6: with 四 left blank, "D6" alone is about the clerk's 三!D6, not 四's blank D6."""
    spec = get_spec("2021")
    path = fill_template(tmp_path / "四空白.xlsx", year=2025, values=_zeros_but_s4(spec))
    set_cells(path, {"note.n01.cell": "D6", "note.n01.text": REASON})
    findings = check_workbook(path).report.findings
    assert [f.status_label for f in findings if f.rule_id == "table-blank"] == ["警告"]


def test_explanation__for_an_error_at_another_cell__is_still_told_errors_cannot_be_explained():
    findings = explained(("E1", "Z99", REASON), this_values={"s3.r1.c1": 1})
    assert findings[-1].rule_id == "explanation-for-error"


def test_explanation__a_cell_as_the_clerk_sees_it_in_a_file_with_rows_inserted__names_the_warning():
    """The warning said “…D7…（原文件中 D7 为 D9）”; the clerk writes D9, the cell in their own file."""
    this = submission(
        year=2020,
        values={"s3.r2.c1": 1, "s3.r2.c2": 1, "s3.r3_1.c1": 1, "s3.r3_1.c2": 1},
        notes=[("I1", "D9", REASON)],
    )
    this.moved = {"三、依申请公开!D7": "D9", "三、依申请公开!E7": "E9"}
    last = submission(year=2019, values={"s3.r1.c1": 3, "s3.r4.c1": 3, "s3.r1.c2": 2, "s3.r4.c2": 2})
    assert status(apply_explanations(this, check(this, previous=last))) == [
        ("I1", "D7", "已说明"),
        ("I1", "E7", "警告"),
    ]
