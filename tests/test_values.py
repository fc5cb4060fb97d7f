"""The value parser reads numbers as a person would, refuses what is ambiguous, and never raises."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.values import (
    MAX_COUNT,
    label_key,
    number_text,
    parse_number,
    parse_year,
)

FULL_WIDTH = str.maketrans("0123456789,.+-", "０１２３４５６７８９，．＋－")


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("５", "count", 5),
        (" 7 ", "count", 7),
        ("\u30008\u3000", "count", 8),
        ("1,234", "count", 1234),
        ("1，234", "count", 1234),
        ("1 234", "count", 1234),  # (a space between thousands, as some write them)
        ("5件", "count", 5),
        ("6个", "count", 6),
        ("7项", "count", 7),
        ("8次", "count", 8),
        ("0", "count", 0),
        ("3.0", "count", 3),
        ("增5", "change", 5),
        ("减2", "change", -2),
        ("增加3", "change", 3),
        ("减少4项", "change", -4),
        ("+5", "change", 5),
        ("-3", "change", -3),
        ("无", "count", 0),
        ("—", "count", 0),
        ("——", "amount", Decimal(0)),
        ("-", "count", 0),
        ("/", "change", 0),
        ("49.1400", "amount", Decimal("49.14")),
        ("49.14万元", "amount", Decimal("49.14")),
        ("25.1 万", "amount", Decimal("25.1")),
    ],
)
def test_text_a_person_types__reads_as_the_number__with_a_notice(raw: str, kind: str, value: object) -> None:
    parsed = parse_number(raw, kind)
    assert (parsed.value, parsed.rule_id, parsed.normalised) == (value, None, True)
    assert parsed.found == raw and parsed.expected == number_text(parsed.value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (5.0, "count", 5),
        (5, "count", 5),
        (-2.0, "change", -2),
        (49.14, "amount", Decimal("49.14")),
        (1808595.0, "count", 1808595),
    ],
)
def test_numbers__read_without_notice(raw: object, kind: str, value: object) -> None:
    parsed = parse_number(raw, kind)
    assert (parsed.value, parsed.rule_id, parsed.normalised) == (value, None, False)


def test_float_binary_noise__is_not_counted_as_decimals() -> None:
    assert parse_number(0.1 + 0.2, "amount").value == Decimal("0.3")
    assert parse_number(59237.2449, "amount").value == Decimal("59237.2449")


@pytest.mark.parametrize(
    ("raw", "kind", "rule_id"),
    [
        ("五", "count", "value-not-number"),
        ("若干", "count", "value-not-number"),
        ("约5", "count", "value-not-number"),
        ("1,2", "count", "value-not-number"),
        ("2 53", "count", "value-not-number"),  # (253? 2 and 53? a space in a number is not guessed at)
        ("1 2345", "count", "value-not-number"),
        ("5%", "count", "value-not-number"),
        ("增5", "count", "value-not-number"),
        ("251000元", "count", "value-not-number"),
        (-3.0, "count", "value-negative"),
        ("-3", "count", "value-negative"),
        (-1.5, "amount", "value-negative"),
        (3.5, "count", "value-fraction"),
        ("3.5", "change", "value-fraction"),
        (dt.date(2020, 1, 2), "count", "value-date"),
        (dt.datetime(2020, 1, 2, 0, 0), "change", "value-date"),
        (dt.time(1, 2), "count", "value-date"),
        ("#REF!", "count", "value-error"),
        ("#div/0!", "amount", "value-error"),
        (True, "count", "value-bool"),
        ("251000元", "amount", "value-yuan"),
        ("¥251000", "amount", "value-yuan"),
        (49.12345, "amount", "value-decimals"),
        ("0.00001", "amount", "value-decimals"),
        (1e10, "count", "value-too-large"),
        ("-1000000000", "change", "value-too-large"),
        (2e9, "amount", "value-too-large"),
        (float("nan"), "count", "value-not-number"),
        (object(), "count", "value-not-number"),
    ],
)
def test_ambiguous_content__is_refused_with_its_rule(raw: object, kind: str, rule_id: str) -> None:
    parsed = parse_number(raw, kind)
    assert (parsed.value, parsed.rule_id) == (None, rule_id)
    assert parsed.found


def test_amount_in_yuan__says_what_to_type_in_wan_yuan() -> None:
    assert parse_number("251000元", "amount").expected == "25.1（万元）"


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_blank__is_neither_a_value_nor_a_refusal(raw: object) -> None:
    assert parse_number(raw, "count").blank


def test_year__accepts_what_people_type() -> None:
    assert [parse_year(x) for x in (2025, 2025.0, "2025", "２０２５", "2025年", "2025年度", " 2025 ")] == [2025] * 7
    assert [parse_year(x) for x in ("二〇二五", "二○二五年", "二零二五年度")] == [2025] * 3  # (as a 公文 writes it)
    assert [parse_year(x) for x in ("二〇二", "25", None, True, 2025.5, "")] == [None] * 6


def test_label_key__ignores_width_space_and_punctuation_variants() -> None:
    assert label_key("（二）部分公开（区分处理的，只计这一情形，不计其他情形）") == label_key(
        "(二) 部分公开(区分处理的,只计这一情形,不计其他情形)"
    )
    assert label_key("3.危及“三安全一稳定”") == label_key('3.危及"三安全一稳定"')
    assert label_key("1.申请人无正当理由逾期不补正、行政机关") == label_key("1.申请人无正当理由逾期不补正，行政机关")
    assert label_key("2.其他法律行政法规禁止公开") != label_key("2.其他法律行政止公开")


# ---- properties ------------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=MAX_COUNT)
changes = st.integers(min_value=-MAX_COUNT, max_value=MAX_COUNT)
amounts = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False)


def _variants(n: int) -> list[str]:
    plain = str(n)
    grouped = f"{n:,}"
    return [
        plain,
        grouped,
        plain.translate(FULL_WIDTH),
        grouped.translate(FULL_WIDTH),
        f" {plain} ",
        f"{plain}件",
        f"{grouped} 项",
    ]


@given(counts)
def test_any_count_in_any_accepted_notation__parses_back_to_itself(n: int) -> None:
    for text in _variants(n):
        assert parse_number(text, "count").value == n, text
    assert parse_number(float(n), "count").value == n
    assert parse_number(n, "count").value == n


@given(changes)
def test_any_change_in_any_accepted_notation__parses_back_to_itself(n: int) -> None:
    word = f"增{n}" if n >= 0 else f"减{-n}"
    sign = f"+{n}" if n >= 0 else str(n)
    for text in (word, sign, sign.translate(FULL_WIDTH), f"{word}件"):
        assert parse_number(text, "change").value == n, text
    assert parse_number(float(n), "change").value == n


@given(amounts)
def test_any_amount_with_up_to_4_decimals__parses_back_to_itself(d: Decimal) -> None:
    text = format(d, "f")
    for variant in (text, text.translate(FULL_WIDTH), f"{text}万元", f" {text} "):
        assert parse_number(variant, "amount").value == d, variant
    assert parse_number(float(text), "amount").value == d


@given(st.one_of(st.text(), st.none(), st.booleans(), st.floats(), st.integers(), st.decimals(), st.dates()))
def test_anything__never_raises_and_gives_a_value_a_refusal_or_a_blank(raw: object) -> None:
    for kind in ("count", "amount", "change"):
        parsed = parse_number(raw, kind)
        assert (parsed.value is None) != (parsed.rule_id is None) or parsed.blank
        if parsed.value is not None and kind == "count":
            assert isinstance(parsed.value, int) and 0 <= parsed.value <= MAX_COUNT
        if parsed.value is not None and kind == "amount":
            assert isinstance(parsed.value, Decimal) and parsed.value >= 0


@given(st.text())
def test_label_key__never_raises(text: str) -> None:
    assert isinstance(label_key(text), str)
