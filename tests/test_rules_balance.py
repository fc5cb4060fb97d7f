"""E1 (balance): per column of 三, 第一项 + 第二项 = 第三项总计 + 第四项."""

from processor.check import check
from processor.findings import render
from processor.rules import Context, cells_of
from processor.rules.balance import check as balance
from processor.spec import get_spec
from tests.submissions import submission

E1 = get_spec("2019").rule("E1")


def e1(sub):
    return balance(E1 if sub.edition == "2019" else get_spec(sub.edition).rule("E1"), Context(sub))


def test_balance__every_column_balanced__no_finding():
    sub = submission(
        values={"s3.r1.c1": 5, "s3.r2.c1": 1, "s3.r3_1.c1": 4, "s3.r4.c1": 2, "s3.r1.c4": 3, "s3.r3_6.c4": 3}
    )
    assert e1(sub) == []


def test_balance__one_column_broken__one_error_at_its_first_operand_naming_all_operands():
    sub = submission(values={"s3.r1.c1": 5, "s3.r2.c1": 1, "s3.r3_1.c1": 4, "s3.r4.c1": 1})
    findings = e1(sub)
    assert [(f.rule_id, f.severity, f.sheet, f.cell, f.expected, f.found) for f in findings] == [
        ("E1", "error", "三、依申请公开", "D6", "6", "5")
    ]
    assert findings[0].message == render(
        E1.message,
        column="自然人",
        left_terms="第一项(5)+第二项(1)",
        left=6,
        right_terms="第三项总计(4)+第四项(1)",
        right=5,
        diff=1,
        cells="D6、D7、D27、D28",
    )
    assert "无法判断哪一项填错" in findings[0].message


def test_balance__broken_column__total_column_not_reported_twice():
    sub = submission(values={"s3.r1.c3": 2})
    assert [(f.rule_id, f.cell) for f in check(sub) if f.rule_id == "E1"] == [("E1", "F6")]


def test_balance__uses_recomputed_total_not_the_shown_one():
    sub = submission(values={"s3.r1.c2": 3, "s3.r3_2.c2": 3}, shown={"s3.r3_7.c2": 0})
    assert e1(sub) == []


def test_balance__right_side_larger__diff_is_positive():
    sub = submission(values={"s3.r4.c6": 2})
    (f,) = e1(sub)
    assert "相差2" in f.message and f.expected == "0" and f.found == "2"


def test_balance__2021_edition_other_processing_rows_count():
    sub = submission("2021", 2021, values={"s3.r1.c1": 3, "s3.r3_6_1.c1": 1, "s3.r3_6_2.c1": 1, "s3.r3_6_3.c1": 1})
    assert e1(sub) == []


def test_balance__cells_of_finding__all_operands_of_the_column():
    (f,) = e1(submission(values={"s3.r1.c1": 1}))
    assert cells_of(f, get_spec("2019")) == ["s3.r1.c1", "s3.r2.c1", "s3.r3_7.c1", "s3.r4.c1"]
