"""T1/T2 (text_required), T3 (text_length), T4 (text_mentions, 2021)."""

from processor.check import Options, check
from processor.findings import render
from tests.submissions import submission


def texts(findings):
    return [(f.rule_id, f.severity, f.cell, f.expected, f.found) for f in findings if f.rule_id.startswith("T")]


def test_text__filled_sections__no_finding():
    assert texts(check(submission("2021", 2021))) == []


def test_text_required__s1_and_s5_blank__two_errors():
    sub = submission(texts={"text.s1": "", "text.s5": "  \n "})
    findings = check(sub)
    assert texts(findings) == [("T1", "error", "A5", None, None), ("T2", "error", "A9", None, None)]
    assert findings[0].message == render(
        sub.spec.rule("T1").message, heading="一、总体情况", sheet="文字部分", cell="A5"
    )


def test_text_length__over_the_spec_limit__notice_with_the_count():
    sub = submission(texts={"text.s1": "字" * 1001})
    assert texts(check(sub)) == [("T3", "notice", "A5", "1000", "1001")]


def test_text_length__whitespace_not_counted():
    sub = submission(texts={"text.s1": "字" * 1000 + "\n \n"})
    assert texts(check(sub)) == []


def test_text_length__option_overrides_the_limit():
    sub = submission(texts={"text.s1": "一二三四五六"})
    assert texts(check(sub, options=Options(text_limit=5))) == [("T3", "notice", "A5", "5", "6")]


def test_text_mentions__2021_without_fee__warning():
    sub = submission("2021", 2021, texts={"text.s6": "无"})
    assert texts(check(sub)) == [("T4", "warning", "A13", None, None)]


def test_text_mentions__spaces_inside_the_word_still_count():
    sub = submission("2021", 2021, texts={"text.s6": "本年度未收取信息 处理费。"})
    assert texts(check(sub)) == []


def test_text_mentions__2019_edition_has_no_such_rule():
    assert texts(check(submission(texts={"text.s6": "无"}))) == []
