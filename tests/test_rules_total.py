"""E2/E3/E4 (total): a total the workbook shows must equal the sum of its parts."""

from processor.check import check
from processor.findings import render
from tests.submissions import submission


def totals(findings):
    return [(f.rule_id, f.cell, f.expected, f.found) for f in findings if f.rule_id in ("E2", "E3", "E4")]


def test_total__shown_totals_match__no_finding():
    sub = submission(values={"s3.r1.c1": 2, "s3.r1.c2": 3, "s3.r3_1.c1": 2, "s3.r3_1.c2": 3, "s4.r1.c1": 1})
    assert totals(check(sub)) == []


def test_total__row_total_of_3_wrong__E2_at_the_total_cell():
    sub = submission(values={"s3.r1.c1": 10, "s3.r1.c2": 5, "s3.r3_1.c1": 10, "s3.r3_1.c2": 5}, shown={"s3.r1.c7": 14})
    findings = [f for f in check(sub) if f.rule_id == "E2"]
    assert totals(findings) == [("E2", "J6", "15", "14")]
    assert findings[0].message == render(
        sub.spec.rule("E2").message,
        sheet="三、依申请公开",
        cell="J6",
        row="一、本年新收政府信息公开申请数量",
        column="总计",
        expected=15,
        found=14,
        parts="D6–I6",
    )


def test_total__column_total_of_results_wrong__E3_names_the_result_rows():
    sub = submission(values={"s3.r1.c1": 1, "s3.r3_3_1.c1": 1}, shown={"s3.r3_7.c1": 0})
    (f,) = [f for f in check(sub) if f.rule_id == "E3"]
    assert (f.cell, f.expected, f.found) == ("D27", "1", "0")
    assert "（七）总计·自然人" in f.message and "D8–D26" in f.message


def test_total__each_group_of_4_checked_separately__E4_names_the_group():
    sub = submission(values={"s4.r1.c11": 5}, shown={"s4.r1.c15": 0})
    (f,) = [f for f in check(sub) if f.rule_id == "E4"]
    assert (f.sheet, f.cell, f.expected, f.found) == ("四、复议诉讼", "O6", "5", "0")
    assert "复议后起诉·总计" in f.message and "K6–N6" in f.message


def test_total__no_shown_value__not_a_finding():
    sub = submission(values={"s4.r1.c1": 5}, shown={"s4.r1.c5": None})
    assert totals(check(sub)) == []


def test_total__every_total_of_the_real_2023_county_case():
    # 复议 总计 printed 0 against 10 + 1, 复议后起诉 总计 0 against 5 (annual-report-format.md §7).
    sub = submission(
        "2021", 2023, values={"s4.r1.c1": 10, "s4.r1.c2": 1, "s4.r1.c11": 5}, shown={"s4.r1.c5": 0, "s4.r1.c15": 0}
    )
    assert totals(check(sub)) == [("E4", "E6", "11", "0"), ("E4", "O6", "5", "0")]


def test_total__corner_sums_a_typed_over_part_correctly__only_the_part_reported():
    sub = submission(values={"s3.r1.c2": 5, "s3.r3_1.c2": 5}, shown={"s3.r3_7.c2": 4, "s3.r3_7.c7": 4})
    assert totals(check(sub)) == [("E3", "E27", "5", "4")]


def test_total__corner_wrong_on_its_own__reported_too():
    sub = submission(values={"s3.r1.c2": 5, "s3.r3_1.c2": 5}, shown={"s3.r3_7.c2": 4, "s3.r3_7.c7": 9})
    assert totals(check(sub)) == [("E2", "J27", "5", "9"), ("E3", "E27", "5", "4")]
