"""Read one cell's content as a person would: numbers of each value kind, years, dates, texts and labels (pure)."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

Number = int | Decimal

MAX_COUNT = 999_999_999  # counts and changes (a city's 处理决定数量 reaches the millions)
MAX_AMOUNT = Decimal(1_000_000_000)  # 万元
AMOUNT_DECIMALS = 4
EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)
# Marks published reports use for "none" in a number cell; read as 0 (with a notice).
ZERO_MARKS = frozenset({"无", "没有", "暂无", "-", "/", "\\"})
UNITS = ("件", "个", "项", "次", "条")
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "﹣": "-"})
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_UNIT = re.compile(r"\(?(?:" + "|".join(UNITS) + r")\)?$")
_WAN = re.compile(r"\(?万元?\)?$")
_YUAN = re.compile(r"\(?元\)?$")
_CHANGE_WORD = re.compile(r"^(增加|增|新增|减少|减)")


@dataclass(frozen=True)
class Parsed:
    """The reading of one number cell.

    `value` is None when the cell is blank or its content was refused (`rule_id` names the refusal,
    a catalogue id such as value-not-number). `normalised` is true when text a person typed (「５件」,
    「增5」,「无」) was read as a number, which deserves a value-normalised notice.
    """

    value: Number | None
    rule_id: str | None = None
    normalised: bool = False
    found: str = ""  # the content as the user sees it, for messages
    expected: str | None = None  # what we read (normalised), or should have been typed (value-yuan), or the bound

    @property
    def blank(self) -> bool:
        return self.value is None and self.rule_id is None


def shown(raw: Any) -> str:
    """A cell's content as a user sees it in the sheet: 5 not 5.0, dates as 2020-01-02, TRUE/FALSE."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        if math.isfinite(raw) and raw.is_integer() and abs(raw) < 1e16:
            return str(int(raw))
        return repr(raw)
    if isinstance(raw, Decimal):
        return number_text(raw)
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(sep=" ")
    if isinstance(raw, (dt.date, dt.time)):
        return raw.isoformat()
    return str(raw)


def number_text(value: Number) -> str:
    """A number as we print it: no exponent, no trailing zeros (Decimal('49.1400') → 49.14)."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text or "0"
    return str(value)


def squeeze(text: str) -> str:
    """NFKC (full-width digits and signs become ASCII) and drop every kind of space."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def parse_number(raw: Any, kind: str) -> Parsed:
    """Read a number cell of a value kind (count | amount | change); never raises.

    Accepts what people type: full-width digits, spaces, thousands separators, a trailing 件/个/项/次/条,
    numbers stored as text, 「增5」「减2」「+5」 for a change, 「万元」 after an amount, and 「无」「—」「-」「/」
    for zero. Refuses Chinese numerals and words, negative counts, fractions of a count, dates, logical
    values, error values, amounts in 元, more than 4 decimals and absurdly large numbers.
    """
    whole = whole_number(raw, kind)
    if whole is not None:
        return Parsed(whole)
    try:
        parsed = _parse(raw, kind)
    except Exception:  # a guard: an unforeseen object is "not a number", never a crash
        return Parsed(None, "value-not-number", found=_safe_shown(raw))
    if parsed.rule_id or parsed.normalised:
        return replace(parsed, found=parsed.found or _safe_shown(raw))
    return parsed


def whole_number(raw: Any, kind: str) -> int | None:
    """parse_number's common case, cheaply: a whole number typed as a number, in range for its kind.

    None when the cell needs parse_number (anything else: blank, text, fraction, amount …).
    """
    if type(raw) is float and raw.is_integer() and kind != "amount" and -MAX_COUNT <= raw <= MAX_COUNT:
        if raw >= 0 or kind == "change":
            return int(raw)
    return None


def _safe_shown(raw: Any) -> str:
    try:
        return shown(raw)
    except Exception:
        return type(raw).__name__


def _parse(raw: Any, kind: str) -> Parsed:
    found = ""  # filled in by parse_number when a message needs it
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Parsed(None, found="")
    if isinstance(raw, bool):
        return Parsed(None, "value-bool", found=found)
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)):
        return Parsed(None, "value-date", found=found)
    if isinstance(raw, int):
        return _check(Decimal(raw), kind, found, normalised=False)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return Parsed(None, "value-not-number", found=found)
        return _check(_from_float(raw), kind, found, normalised=False)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            return Parsed(None, "value-not-number", found=found)
        return _check(raw, kind, found, normalised=False)
    if isinstance(raw, str):
        return _parse_text(raw, kind, raw)
    return Parsed(None, "value-not-number", found=found)


def _decimals(number: Decimal) -> int:
    """Digits after the point once trailing zeros are dropped (49.1400 → 2)."""
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _from_float(value: float) -> Decimal:
    """The decimal a person typed, without binary noise (49.14 stays 49.14; 0.1+0.2 becomes 0.3)."""
    exact = Decimal(repr(value))
    if _decimals(exact) > AMOUNT_DECIMALS:
        rounded = round(exact, AMOUNT_DECIMALS)
        if abs(float(rounded) - value) <= 1e-9 * max(1.0, abs(value)):
            return rounded
    return exact


_SPACED = re.compile(r"\d+(?:\s+\d+)+")  # digits with spaces between them (2 53, 1 234)
_SPACE_GROUPED = re.compile(r"\d{1,3}(?:\s\d{3})+")  # … as thousands groups: 1 234, 12 345 678


def _parse_text(raw: str, kind: str, found: str) -> Parsed:
    spaced = _SPACED.findall(unicodedata.normalize("NFKC", raw))
    if any(not _SPACE_GROUPED.fullmatch(run) for run in spaced):  # (2 53: 253, or 2 and 53? not a guess)
        return Parsed(None, "value-not-number", found=found)
    text = squeeze(raw).translate(_DASHES)
    upper = text.upper()
    if upper in EXCEL_ERRORS:
        return Parsed(None, "value-error", found=upper)
    if text in ZERO_MARKS or text.replace("-", "") == "":
        return _check(Decimal(0), kind, found, normalised=True)
    sign = ""
    if kind == "change":
        word = _CHANGE_WORD.match(text)
        if word:
            sign = "-" if word.group(1).startswith("减") else ""
            text = text[word.end() :]
            if text[:1] in "+-":
                return Parsed(None, "value-not-number", found=found)
    if kind == "amount":
        if text.startswith("¥"):
            text = text[1:]
            if not _WAN.search(text):
                return _yuan(text, found)
        if _WAN.search(text):
            text = _WAN.sub("", text)
        elif _YUAN.search(text):
            return _yuan(_YUAN.sub("", text), found)
    else:
        text = _UNIT.sub("", text)
    number = _to_decimal(text)
    if number is None:
        return Parsed(None, "value-not-number", found=found)
    if sign:
        number = -number
    return _check(number, kind, found, normalised=True)


def _to_decimal(text: str) -> Decimal | None:
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN.fullmatch(text):
        return None
    if text.endswith("."):
        text = text[:-1]
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _yuan(text: str, found: str) -> Parsed:
    number = _to_decimal(text)
    if number is None:
        return Parsed(None, "value-not-number", found=found)
    return Parsed(None, "value-yuan", found=found, expected=f"{number_text(number / 10000)}（万元）")


def _check(number: Decimal, kind: str, found: str, *, normalised: bool) -> Parsed:
    """Apply a value kind's constraints to a number read from the cell."""
    if kind == "amount":
        if number < 0:
            return Parsed(None, "value-negative", found=found)
        if number > MAX_AMOUNT:
            return Parsed(None, "value-too-large", found=found, expected=f"{MAX_AMOUNT}（万元）")
        if _decimals(number) > AMOUNT_DECIMALS:
            return Parsed(None, "value-decimals", found=found)
        value: Number = number.normalize() if _decimals(number) else Decimal(int(number))
    else:
        if number != number.to_integral_value():
            return Parsed(None, "value-fraction", found=found)
        if kind == "count" and number < 0:
            return Parsed(None, "value-negative", found=found)
        if abs(number) > MAX_COUNT:
            return Parsed(None, "value-too-large", found=found, expected=MAX_COUNT)
        value = int(number)
    return Parsed(value, normalised=normalised, found=found, expected=number_text(value))


# ---- years, texts, labels ------------------------------------------------------------------


_HAN_DIGITS = str.maketrans("〇零○ＯO一二三四五六七八九", "00000123456789")  # 二〇二五 (○ and letter O for 〇 too)


def parse_year(raw: Any) -> int | None:
    """A report year typed as 2025, 2025.0, 「２０２５」, 「二〇二五」 or 「2025年」/「2025年度」; None when it is not one."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, float):
        raw = int(raw) if math.isfinite(raw) and raw.is_integer() else None
    if isinstance(raw, int):
        return raw if 1900 <= raw <= 2999 else None
    if isinstance(raw, str):
        text = squeeze(raw).removesuffix("年度").removesuffix("年").translate(_HAN_DIGITS)
        if re.fullmatch(r"\d{4}", text):
            return int(text)
    return None


def cell_text(raw: Any) -> str:
    """A text cell (agency name, phone, answer) as a stripped string; numbers without a spurious .0."""
    if raw is None:
        return ""
    if isinstance(raw, (dt.date, dt.time)):
        return shown(raw)
    return shown(raw).strip()


def date_text(raw: Any) -> str:
    """A date cell as an ISO date; an Excel serial number typed into a general cell is converted too."""
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 20000 <= raw <= 80000:
        return (dt.date(1899, 12, 30) + dt.timedelta(days=int(raw))).isoformat()
    return cell_text(raw)


_LABEL_PUNCT = str.maketrans({"、": ",", "“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "–": "-", "−": "-"})


def label_key(raw: Any) -> str:
    """A label as compared with the spec: NFKC, no whitespace, punctuation variants unified."""
    return squeeze(cell_text(raw)).translate(_LABEL_PUNCT)
