"""The edition specs load, describe the official form, and a malformed spec is a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from processor.spec import SPEC_DIR, SpecError, edition_for_year, get_spec, load_spec_file

S3_ROWS_2019 = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”",
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
    "（六）其他处理",
    "（七）总计",
    "四、结转下年度继续办理",
]
S3_ROWS_2021 = [
    *S3_ROWS_2019[:20],
    "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3.其他",
    *S3_ROWS_2019[21:],
]


def test_both_editions_load_with_their_years():
    assert get_spec("2019").years == (2019, 2020)
    assert edition_for_year(2020).edition == "2019"
    assert edition_for_year(2021).edition == "2021"
    assert edition_for_year(2025).edition == "2021"
    with pytest.raises(KeyError):
        edition_for_year(2018)


@pytest.mark.parametrize(("edition", "rows", "numbers"), [("2019", S3_ROWS_2019, 22), ("2021", S3_ROWS_2021, 10)])
def test_section3_rows_are_the_official_labels_in_order(edition, rows, numbers):
    spec = get_spec(edition)
    s3 = spec.table("s3")
    assert [r.label for r in s3.rows] == rows
    assert [c.label for c in s3.columns] == [
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "总计",
    ]
    assert s3.corner == "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    section2 = [c for c in spec.cells.values() if c.table.code.startswith("s2_")]
    assert len(section2) == numbers  # 2019: 22 numbers, 2021: 10 numbers


def test_section4_is_one_row_of_15_in_three_groups_of_five():
    s4 = get_spec("2021").table("s4")
    assert len(s4.rows) == 1 and len(s4.columns) == 15
    groups = [c.bands[-1] for c in s4.columns]
    assert groups == ["行政复议"] * 5 + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5
    assert [c.label for c in s4.columns[:5]] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def test_value_kinds_of_the_special_cells():
    s19, s21 = get_spec("2019"), get_spec("2021")
    assert s19.cells["s2_9.r1.c2"].kind == "amount"  # 采购总金额（万元）
    assert {s19.cells[f"s2_{t}.r1.c2"].kind for t in (5, 6, 8)} == {"change"}  # 本年增/减
    assert s21.cells["s2_8.r1.c1"].kind == "amount"  # 本年收费金额（单位：万元）
    assert not [c for c in s21.cells.values() if c.kind == "change"]


def test_totals_are_declared_with_their_parts_and_rule():
    spec = get_spec("2021")
    corner = spec.cells["s3.r3_7.c7"]  # （七）总计 × 总计: the column total wins
    assert corner.rule == "E2" and corner.parts == tuple(f"s3.r3_7.c{i}" for i in range(1, 7))
    assert spec.cells["s3.r3_7.c1"].rule == "E3" and len(spec.cells["s3.r3_7.c1"].parts) == 21
    assert spec.cells["s4.r1.c10"].parts == ("s4.r1.c6", "s4.r1.c7", "s4.r1.c8", "s4.r1.c9")


def test_every_rule_of_the_domain_file_is_in_the_spec_with_id_severity_and_message():
    for edition, extra in (("2019", {"I3"}), ("2021", {"I2", "T4"})):
        rules = get_spec(edition).rules
        for rule_id in {"E1", "E2", "E3", "E4", "I1", "T1", "T2", "T3"} | extra:
            rule = rules[rule_id]
            assert rule.severity in ("error", "warning", "notice") and rule.message and rule.title
        assert {r.severity for r in rules.values() if r.id.startswith("E")} == {"error"}


# ---- malformed specs -------------------------------------------------------------------------


def _broken(tmp_path: Path, edit) -> Path:
    """Copy the 2021 spec (and common.yaml) to tmp_path after applying `edit` to its data."""
    shutil.copy(SPEC_DIR / "common.yaml", tmp_path / "common.yaml")
    data = yaml.safe_load((SPEC_DIR / "2021.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "2021.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (lambda d: d.pop("years"), "years", "缺少此项"),
        (lambda d: d["tables"][0]["columns"][0].update(kind="money"), "tables[0].columns[0].kind", "未知的数值类型"),
        (lambda d: d["tables"][4]["columns"][6].update(sum_of=["c1", "c9"]), "tables[4].columns[6].sum_of", "c9"),
        (lambda d: d["tables"][4]["rows"][1].update(code="r1"), "tables[4].rows", "代码重复"),
        (lambda d: d["rules"][0].update(severity="fatal"), "rules[0].severity", "fatal"),
        (lambda d: d["rules"][0].update(left=["r1", "r99"]), "rules[E1].left", "r99"),
        (lambda d: d["tables"][0].update(sheet="nowhere"), "tables[0].sheet", "nowhere"),
    ],
)
def test_malformed_spec_names_file_and_key(tmp_path, edit, key, words):
    path = _broken(tmp_path, edit)
    with pytest.raises(SpecError) as err:
        load_spec_file(path)
    assert err.value.key == key
    assert str(path) in str(err.value) and words in str(err.value)


def test_spec_that_is_not_yaml_is_a_clear_error(tmp_path):
    shutil.copy(SPEC_DIR / "common.yaml", tmp_path / "common.yaml")
    bad = tmp_path / "2021.yaml"
    bad.write_text("edition: '2021'\ntitle: ok\nyears: [2021, 2099\n", encoding="utf-8")
    with pytest.raises(SpecError, match="不是合法的 YAML") as err:
        load_spec_file(bad)
    assert "line 3" in str(err.value) and "^" in str(err.value)  # where, with the line under a caret


def test_a_province_extension_is_a_new_spec_file_not_new_code(tmp_path):
    for name in ("common.yaml", "2021.yaml"):
        shutil.copy(SPEC_DIR / name, tmp_path / name)
    extra = {
        "extends": "2021",
        "edition": "2021-hl",
        "sheets": {"sx": "附表、本省补充"},
        "tables": [
            {
                "code": "sx_1",
                "sheet": "sx",
                "section": "附表：本省补充统计",
                "corner": "项目",
                "columns": [{"code": "c1", "label": "件数"}],
                "rows": [{"code": "r1", "label": "政务公开专区咨询"}],
            }
        ],
    }
    path = tmp_path / "2021-hl.yaml"
    path.write_text(yaml.safe_dump(extra, allow_unicode=True), encoding="utf-8")
    spec = load_spec_file(path)
    assert spec.edition == "2021-hl"
    assert "sx_1.r1.c1" in spec.cells and "s3.r3_7.c7" in spec.cells


def test_pickle__an_edition_travels_as_its_name_a_spec_from_elsewhere_whole(tmp_path: Path):
    """Worker results carry their spec: a registered edition must not cost ~26 KB per file."""
    import pickle

    spec = get_spec("2021")
    data = pickle.dumps(spec)
    assert pickle.loads(data) is spec and len(data) < 200
    other = load_spec_file(SPEC_DIR / "2021.yaml")  # equal, but not the registered object
    copy = pickle.loads(pickle.dumps(other))
    assert copy == other and copy is not spec and copy.cells.keys() == spec.cells.keys()


def test_one_line__a_folded_message_has_no_space_beside_chinese_punctuation():
    from processor.spec import one_line

    assert (
        one_line("请在模板中填写后提交；\n  如果它是表格 （如 .et），\n请另存为")
        == "请在模板中填写后提交；如果它是表格（如 .et），请另存为"
    )
    assert one_line("{a} 加 上年增/减 {b}") == "{a} 加 上年增/减 {b}"  # (between words: kept)
