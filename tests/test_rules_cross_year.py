"""I1 (carry), I2 (stock, 2021), I3 (roll_forward, 2019): this year's report against last year's."""

from processor.check import check
from processor.findings import render
from tests.submissions import submission


def cross(findings):
    return [(f.rule_id, f.severity, f.cell, f.expected, f.found) for f in findings if f.rule_id.startswith("I")]


def test_carry__carried_equals_last_years_pending__no_warning():
    this = submission(year=2020, values={"s3.r2.c1": 2, "s3.r3_1.c1": 2})
    last = submission(year=2019, values={"s3.r1.c1": 2, "s3.r4.c1": 2})
    assert cross(check(this, previous=last)) == []


def test_carry__differs__warning_per_column_at_this_years_cell():
    this = submission(year=2020, values={"s3.r2.c1": 1, "s3.r3_1.c1": 1})
    last = submission(year=2019, values={"s3.r1.c1": 2, "s3.r4.c1": 2, "s3.r1.c2": 1, "s3.r4.c2": 1})
    findings = [f for f in check(this, previous=last) if f.rule_id == "I1"]
    assert cross(findings) == [("I1", "warning", "D7", "2", "1"), ("I1", "warning", "E7", "1", "0")]
    assert findings[0].message == render(this.spec.rule("I1").message, column="自然人", cell="D7", expected=2, found=1)


def test_carry__2020_report_carries_into_2021_edition():
    this = submission("2021", 2021, values={"s3.r2.c3": 0})
    last = submission("2019", 2020, values={"s3.r1.c3": 4, "s3.r4.c3": 4})
    assert cross(check(this, previous=last)) == [("I1", "warning", "F7", "4", "0")]


def test_carry__previous_not_last_year__not_compared():
    this = submission(year=2020)
    older = submission(year=2018, values={"s3.r1.c1": 2, "s3.r4.c1": 2})
    assert cross(check(this, previous=older)) == []
    assert cross(check(this)) == []


def test_stock__2021_stock_follows_last_year__no_warning():
    this = submission("2021", 2022, values={"s2_1.r2.c1": 3, "s2_1.r2.c2": 1, "s2_1.r2.c3": 12})
    last = submission("2021", 2021, values={"s2_1.r2.c3": 10})
    assert cross(check(this, previous=last)) == []


def test_stock__2021_stock_wrong__warning_with_the_arithmetic():
    this = submission("2021", 2022, values={"s2_1.r2.c1": 3, "s2_1.r2.c2": 1, "s2_1.r2.c3": 15})
    last = submission("2021", 2021, values={"s2_1.r2.c3": 10})
    (f,) = [f for f in check(this, previous=last) if f.rule_id == "I2"]
    assert (f.cell, f.expected, f.found) == ("D6", "12", "15")
    assert "上年现行有效 10 + 本年制发 3 − 本年废止 1" in f.message


def test_stock__previous_of_2019_edition__not_compared():
    this = submission("2021", 2021, values={"s2_1.r1.c3": 5})
    last = submission("2019", 2020, values={"s2_1.r1.c3": 1})
    assert [f for f in check(this, previous=last) if f.rule_id == "I2"] == []


def test_roll_forward__2019_base_is_last_base_plus_change():
    this = submission(year=2020, values={"s2_6.r1.c1": 6, "s2_5.r1.c1": 1})
    last = submission(year=2019, values={"s2_6.r1.c1": 1, "s2_6.r1.c2": 5, "s2_5.r1.c1": 2, "s2_5.r1.c2": -2})
    findings = [f for f in check(this, previous=last) if f.rule_id == "I3"]
    assert cross(findings) == [("I3", "warning", "B10", "0", "1")]
    assert "第二十条第（五）项" in findings[0].message and "行政许可" in findings[0].message
