"""The README's rule list is generated from the specs and must not drift from them."""

import pytest

from processor.docs import README, current_block, main, replace_block, rules_markdown
from processor.spec import load_specs


def test_rules_markdown__lists_every_rule_of_every_edition_once():
    table = rules_markdown()
    ids = {rule_id for spec in load_specs().values() for rule_id in spec.rules}
    listed = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert sorted(listed) == sorted(ids)
    assert "| E1 | 错误（强制性） | 第一项加第二项之和，等于第三项加第四项之和 | 全部 | 勾稽关系（列平衡） |" in table
    assert "| I2 | 警告（核实性） |" in table and "| 2021年版 | 跨年（现行有效件数） |" in table


def test_replace_block__keeps_text_around_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# 标题\n\n<!-- rules:start -->\nPLACEHOLDER\n<!-- rules:end -->\n\n结尾\n", encoding="utf-8")
    assert main([str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# 标题\n") and text.endswith("<!-- rules:end -->\n\n结尾\n") and "PLACEHOLDER" not in text
    assert main(["--check", str(readme)]) == 0


def test_main__no_markers__exit_2(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# 标题\n", encoding="utf-8")
    assert main([str(readme)]) == 2


def test_readme__rule_block_is_up_to_date():
    if not README.exists() or current_block(README.read_text(encoding="utf-8")) is None:
        pytest.skip(
            "README.md has no <!-- rules:start --> / <!-- rules:end --> markers yet; run python -m processor.docs once the lead adds them"
        )
    text = README.read_text(encoding="utf-8")
    assert text == replace_block(text, rules_markdown()), "README rule list is stale: run python -m processor.docs"
