"""The roster: names match across width, brackets and spaces and through aliases; unknown names get suggestions."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.roster import EXAMPLE_ROWS, RosterError, load_roster, normalise, parse_rows, roster_csv, short_name

ROWS = [
    ["单位名称", "单位代码", "所属分组", "别名"],
    ["云溪市教育局", "", "市直部门", "市教育局；教育局"],
    ["云溪市住房和城乡建设局", "11530100MB0000000X", "市直部门", "市住建局"],
    ["西山县城关镇人民政府", "", "西山县/乡镇街道", ""],
    ["云溪市人民政府办公室（市政府研究室）", "", "市直部门", ""],
]


@pytest.fixture()
def roster():
    return parse_rows(ROWS)


def test_normalise__width_brackets_spaces_and_case_do_not_matter():
    assert normalise("云溪市 人民政府办公室（市政府研究室）") == normalise("云溪市人民政府办公室(市政府研究室)")
    assert normalise("云溪市　教育局") == normalise("云溪市教育局")
    assert normalise("ＡＢＣ局〔2025〕") == normalise("abc局(2025)")


def test_match__by_name_variant_alias_and_code(roster):
    assert roster.match("云溪市 教育局").name == "云溪市教育局"
    assert roster.match("市教育局").name == "云溪市教育局"
    assert roster.match("云溪市人民政府办公室(市政府研究室)").name.startswith("云溪市人民政府办公室")
    assert roster.match("写错的名字", "11530100MB0000000X").name == "云溪市住房和城乡建设局"
    assert roster.match("云溪市公安局") is None


def test_match__a_government_by_its_place_with_or_without_人民政府():
    """A township clerk writes 西山县青石乡政府 or 青石乡人民政府 for 西山县青石乡人民政府: the same
    government (named by its place), so it counts as that roster unit, not as a unit outside the roster
    that its corrected report would be added to. Its office, or a place two governments share, is not."""
    roster = parse_rows(
        [
            ["单位名称", "单位代码", "所属分组", "别名"],
            ["西山县青石乡人民政府", "", "西山县/乡镇街道", "青石乡"],
            ["西山县人民政府办公室", "", "西山县", ""],
            ["西山县白沙镇人民政府", "", "西山县/乡镇街道", ""],
            ["北山县白沙镇人民政府", "", "北山县/乡镇街道", "白沙镇"],
            ["南山县白沙镇人民政府", "", "南山县/乡镇街道", "白沙镇政府"],
        ]
    )
    for typed in ("西山县青石乡政府", "青石乡人民政府", "青石乡政府"):
        assert roster.match(typed).name == "西山县青石乡人民政府", typed
    assert roster.match("西山县青石乡") is None  # (a place alone is no government's name: a county's folder)
    assert roster.government_at("青石乡").name == "西山县青石乡人民政府"  # (… as a folder's name, it may be)
    assert roster.match("西山县白沙镇政府").name == "西山县白沙镇人民政府"
    assert roster.match("白沙镇人民政府") is None  # (两个县都叫它白沙镇)
    assert roster.government_at("白沙镇") is None
    both = parse_rows(
        [
            ["单位名称", "单位代码", "所属分组", "别名"],
            ["西山县白沙镇人民政府", "", "西山县", "白沙镇"],
            ["东山县白沙镇人民政府", "", "东山县", ""],
        ]
    )
    assert both.match("白沙镇人民政府") is None  # (the alias does not make 东山县's 白沙镇 西山县's)
    assert both.match("白沙镇").name == "西山县白沙镇人民政府"  # (the alias itself, as the coordinator wrote it)
    assert roster.match("西山县人民政府") is None  # (名册上只有它的办公室)
    assert roster.match("西山县人民政府办公室").name == "西山县人民政府办公室"


def test_group__path_split_on_slashes(roster):
    assert roster.match("西山县城关镇人民政府").group == ("西山县", "乡镇街道")
    assert roster.match("云溪市教育局").group == ("市直部门",)


def test_closest__an_unknown_name_lists_the_nearest_roster_names_first(roster):
    assert roster.closest("城关镇人民政府")[0] == "西山县城关镇人民政府"
    assert roster.closest("云溪市住建局")[0] == "云溪市住房和城乡建设局"
    assert roster.closest("") == []


def test_find_in__a_folder_or_file_name_containing_a_unit_name(roster):
    assert roster.find_in("西山县城关镇人民政府2025年报").name == "西山县城关镇人民政府"
    assert roster.find_in("年报") is None


def test_named_in__names_aliases_and_short_names_only_one_unit_has(roster):
    """What a file name says of whose report it is: a name or alias (4 characters or more), or a short
    name without the leading place that no other unit has (住房和城乡建设局, 城关镇人民政府, 教育局)."""
    named = lambda text: [u.name for u in roster.named_in(text)]  # noqa: E731
    assert named("住房和城乡建设局年报（补充）") == ["云溪市住房和城乡建设局"]
    assert named("城关镇人民政府 2025.xlsx") == ["西山县城关镇人民政府"]
    assert named("市住建局、市教育局合订") == ["云溪市住房和城乡建设局", "云溪市教育局"]
    assert named("教育局年报") == ["云溪市教育局"] and named("2025年报") == []
    education = roster.match("云溪市教育局")
    assert roster.names(education, "教育局年报") and not roster.names(education, "住建局年报")


@given(
    st.lists(
        st.sampled_from(["云溪市", "西山县", "教育局", "财政局", "住建局", "人民政府", "办公室", "年报", "x"]),
        max_size=8,
    )
)
def test_named_in__the_same_units_as_a_scan_of_every_name(parts):
    """named_in looks names up by their first characters; a scan of every name finds the same units."""
    roster = parse_rows(
        [
            ["单位名称", "所属分组", "别名"],
            ["云溪市教育局", "", "市教育局"],
            ["西山县教育局", "西山县", ""],
            ["云溪市财政局", "", ""],
            ["西山县人民政府", "西山县", "县政府"],
            ["云溪市人民政府办公室", "", ""],
        ]
    )
    text = normalise("".join(parts))
    names = {}
    for unit in roster:
        for name in (unit.name, *unit.aliases):
            names.setdefault(normalise(name), set()).add(unit)
    shorts: dict[str, set] = {}
    for key, units in names.items():
        for unit in units:
            if short_name(key) is not None:
                shorts.setdefault(short_name(key), set()).add(unit)
    found = {u for k, us in names.items() if len(k) >= 4 and k in text for u in us}
    found |= {next(iter(us)) for k, us in shorts.items() if len(us) == 1 and len(k) >= 3 and k in text}
    assert set(roster.named_in(text)) == found


def test_load__csv_in_gbk_as_older_excel_saves_it(tmp_path: Path):
    path = tmp_path / "名册.csv"
    path.write_bytes("单位名称,所属分组\r\n云溪市教育局,市直部门\r\n".encode("gbk"))
    assert [u.name for u in load_roster(path)] == ["云溪市教育局"]


def test_load__csv_with_bom_and_xlsx_give_the_same_roster(tmp_path: Path):
    csv_path = tmp_path / "名册.csv"
    csv_path.write_text(roster_csv(ROWS), encoding="utf-8")
    xlsx_path = tmp_path / "名册.xlsx"
    wb = openpyxl.Workbook()
    for row in ROWS:
        wb.active.append(row)
    wb.save(xlsx_path)
    assert load_roster(csv_path).units == load_roster(xlsx_path).units


def test_load__the_example_roster_of_init_is_valid(tmp_path: Path):
    path = tmp_path / "名册.csv"
    path.write_text(roster_csv(EXAMPLE_ROWS), encoding="utf-8")
    assert len(load_roster(path)) == len(EXAMPLE_ROWS) - 1


def test_errors__missing_name_column_duplicate_names_and_missing_file(tmp_path: Path):
    with pytest.raises(RosterError, match="单位名称"):
        parse_rows([["名字"], ["某局"]])
    with pytest.raises(RosterError, match=r"第 3 行.*与第 2 行重复"):
        parse_rows([["单位名称", "别名"], ["云溪市教育局", ""], ["云溪市 教育局", ""]])
    with pytest.raises(RosterError, match="找不到单位名册"):
        load_roster(tmp_path / "没有.csv")


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("青川市交通运输局", "交通运输局"),
        ("沛县教育局", "教育局"),
        ("青川市城市管理局", "城市管理局"),
        ("南岭县城关镇人民政府", "城关镇人民政府"),
        ("市场监督管理局", None),
        ("县政府", None),
        ("青川市", None),
        ("杭州市财政局", "财政局"),
        ("贵州省财政厅", "财政厅"),
        ("甘孜藏族自治州教育局", "教育局"),
        ("湘西州市场监督管理局", "市场监督管理局"),
        ("甘孜藏族自治州市场监督管理局", "市场监督管理局"),
        ("通州区教育局", "教育局"),
    ],
)
def test_short_name__a_name_without_the_place_it_starts_with(name: str, short: str | None):
    assert short_name(name) == short
