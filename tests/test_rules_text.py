"""T1/T2 (text_required), T3 (text_length), T4 (text_mentions, 2021)."""

import pytest

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
        sub.spec.rule("T1").message, heading="一、总体情况", sheet="文字部分", cell="A5", placeholder=""
    )
    assert findings[0].message == "“一、总体情况”未填写。请在“文字部分”工作表 A5 填写本年度工作概述。"


@pytest.mark.parametrize("typed", ["无", " 暂无。", "—", "——", "/", "……", "略", "见附件", "XX"])
def test_text_required__a_placeholder_says_nothing__the_same_error_quoting_it(typed):
    """A clerk types 无 or — into a section the report must fill: not taken for the section's content."""
    sub = submission("2021", 2021, texts={"text.s5": typed})
    [t2] = [f for f in check(sub) if f.rule_id == "T2"]
    assert (t2.severity, t2.cell, t2.found) == ("error", "A9", typed.strip())
    assert t2.message.startswith(
        f"“五、存在的主要问题及改进情况”未填写（只写了“{typed.strip()}”，这不是本部分要求的内容）。"
    )


@pytest.mark.parametrize("typed", ["无重大问题，下一步将加强培训。", "见附件1：本年度工作存在三方面问题", "No"])
def test_text_required__a_short_real_text__is_filled(typed):
    sub = submission("2021", 2021, texts={"text.s5": typed})
    assert not [f for f in check(sub) if f.rule_id == "T2"]


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
