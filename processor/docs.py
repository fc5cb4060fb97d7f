"""Generate the README's rule list from the specs, so the documented rules cannot drift from the checked ones."""

from __future__ import annotations

import sys
from pathlib import Path

from .atomic import write_text_atomic
from .findings import SEVERITY_LABEL, SEVERITY_TIER
from .spec import Spec, load_specs

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- rules:start -->", "<!-- rules:end -->"

GENERIC_GROUPS = (  # generic catalogue rules (no kind) grouped by id prefix; first match wins
    (("file-", "not-template"), "文件"),
    (("structure-", "sheet-", "template-", "edition-"), "模板与结构"),
    (("agency-", "year-", "contact-", "credit-code-"), "基本信息"),
    (("explanation-",), "情况说明"),
    (("text-similar",), "文字（雷同）"),
    (("value-", "formula-", "total-", "table-", "text-"), "数值与文字读取"),
    (("rollup-", "unit-", "duplicate-", "superseded", "same-batch-"), "收件与汇总"),
)
KIND_LABEL = {
    "balance": "勾稽关系（列平衡）",
    "total": "合计",
    "carry": "跨年（上年结转）",
    "stock": "跨年（现行有效件数）",
    "roll_forward": "跨年（上一年项目数量）",
    "text_required": "文字（必填）",
    "text_length": "文字（篇幅）",
    "text_mentions": "文字（应提及）",
}


def kind_label(rule_id: str, kind: str | None) -> str:
    """What sort of check a rule is, in words (generic rules by their id's prefix)."""
    if kind is not None:
        return KIND_LABEL.get(kind, kind)
    return next((label for prefixes, label in GENERIC_GROUPS if rule_id.startswith(prefixes)), "通用")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_markdown(specs: dict[str, Spec] | None = None) -> str:
    """A markdown table of every rule of every edition: 编号, 级别, 规则, 适用格式, 类型.

    Edition rules (E1…, I…, T…) come first in id order, then the generic catalogue in its order.
    A rule whose severity, title or kind differs between editions gets one row per variant.
    """
    specs = specs if specs is not None else load_specs()
    rows: dict[tuple[str, str, str, str | None], list[str]] = {}
    for edition, spec in specs.items():
        for rule in spec.rules.values():
            rows.setdefault((rule.id, rule.severity, rule.title, rule.kind), []).append(edition)
    every = list(specs)

    def order(item: tuple[tuple[str, str, str, str | None], list[str]]) -> tuple[int, str, int]:
        (rule_id, _, _, kind), editions = item
        position = next(i for i, r in enumerate(specs[editions[0]].rules) if r == rule_id)
        return (1, "", position) if kind is None else (0, rule_id, 0)

    lines = [
        "| 编号 | 级别 | 规则 | 适用格式 | 类型 |",
        "|---|---|---|---|---|",
    ]
    for (rule_id, severity, title, kind), editions in sorted(rows.items(), key=order):
        level = f"{SEVERITY_LABEL[severity]}（{SEVERITY_TIER[severity]}）"
        scope = "全部" if editions == every else "、".join(f"{e}年版" for e in editions)
        lines.append(f"| {rule_id} | {level} | {_cell(title)} | {scope} | {kind_label(rule_id, kind)} |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """`text` with everything between the rule markers replaced by `block` (ValueError without markers)."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README 中没有 {START} … {END} 标记")
    return text[: start + len(START)] + "\n\n" + block + "\n" + text[end:]


def current_block(text: str) -> str | None:
    """What is between the markers now, or None when there are no markers."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start + len(START) : end]


def main(argv: list[str] | None = None) -> int:
    """`python -m processor.docs [--check] [README]`: rewrite (or, with --check, verify) the rule list.

    Exit 0 when written or up to date, 1 when --check finds it stale, 2 when README has no markers.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    check_only = "--check" in args
    paths = [a for a in args if a != "--check"]
    readme = Path(paths[0]) if paths else README
    text = readme.read_text(encoding="utf-8")
    try:
        updated = replace_block(text, rules_markdown())
    except ValueError as exc:
        print(f"错误：{readme}：{exc}", file=sys.stderr)
        return 2
    if check_only:
        if updated != text:
            print(f"{readme} 中的规则列表已过期，请运行 python -m processor.docs", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        write_text_atomic(readme, updated)
        print(f"已更新 {readme} 中的规则列表。")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
