"""Rule kinds over the text sections: `text_required` (T1/T2), `text_length` (T3), `text_mentions` (T4)."""

from __future__ import annotations

import unicodedata

from ..findings import Finding
from ..spec import Rule
from . import Context


def text_chars(text: str) -> int:
    """Length as a clerk counts 字: every character except spaces and line breaks."""
    return len("".join(text.split()))  # str.split() splits at exactly the characters str.isspace() names


def _text(rule: Rule, ctx: Context) -> tuple[str, str]:
    code = rule.params["text"]
    return code, ctx.submission.texts.get(code) or ""


# What clerks write in a section they did not fill in (besides dashes, slashes and dots alone)
PLACEHOLDERS = frozenset(
    {"无", "暂无", "没有", "略", "同上", "见附件", "详见附件", "另附", "不适用", "空", "待补充", "待填", "xx", "xxx"}
)


def said(text: str) -> str:
    """The characters a text says something with: no spaces, punctuation or symbols (“”, —, /, 。)."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "PS")


def placeholder(text: str) -> bool:
    """Whether a text says nothing: only punctuation or symbols (—, /, ……), or a word of PLACEHOLDERS."""
    core = said(text)
    return core.casefold() in PLACEHOLDERS or not core


def check_required(rule: Rule, ctx: Context) -> list[Finding]:
    """A finding when the text section is empty (blank or whitespace only) or says nothing (placeholder)."""
    code, text = _text(rule, ctx)
    if not text.strip():
        return [ctx.at(rule, code, heading=ctx.spec.text(code).heading, placeholder="")]
    if placeholder(text):
        said = f"（只写了“{text.strip()}”，这不是本部分要求的内容）"
        return [ctx.at(rule, code, heading=ctx.spec.text(code).heading, placeholder=said, found=text.strip())]
    return []


def check_length(rule: Rule, ctx: Context) -> list[Finding]:
    """A finding when the text has more characters than the limit (Options.text_limit overrides the spec)."""
    code, text = _text(rule, ctx)
    limit = ctx.text_limit if ctx.text_limit is not None else int(rule.params["limit"])
    length = text_chars(text)
    if length <= limit:
        return []
    return [ctx.at(rule, code, expected=limit, found=length, heading=ctx.spec.text(code).heading)]


def check_mentions(rule: Rule, ctx: Context) -> list[Finding]:
    """A finding when the text mentions none of the rule's words (spaces inside a word are ignored)."""
    code, text = _text(rule, ctx)
    squeezed = "".join(text.split())
    words = rule.params["words"]
    if any("".join(w.split()) in squeezed for w in words):
        return []
    return [ctx.at(rule, code, heading=ctx.spec.text(code).heading, words="、".join(words))]
