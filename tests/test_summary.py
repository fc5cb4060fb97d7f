"""The summary workbook: 汇总表 = the sum of the accepted unit files, per-group subtotals, statuses,
roll-ups counted once, charts, text-safety, atomic writes — checked on the written .xlsx."""

from __future__ import annotations

import random
import shutil
import time
import zipfile
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from processor import summary as summary_module
from processor.consolidate import (
    ACCEPTED,
    MISSING,
    REJECTED,
    WARNED,
    SummaryData,
    UnitResult,
    consolidate,
    subtree,
)
from processor.findings import finding
from processor.layout import defined_name, layout
from processor.spec import Spec, get_spec
from processor.submission import Submission, recompute_totals
from processor.summary import write_rollup_report, write_summary
from tests.test_consolidate import SPEC, YEAR, balanced_inputs, prose, synthetic
from tests.workbooks import fill_template, needs_soffice, read_by_names, roundtrip, zip_difference

ROSTER = [  # name, group, status (市教育局 sent nothing; 甲县河口乡 was rejected)
    ("市发展改革委", ("市直部门",), ACCEPTED),
    ("=1+2", ("市直部门",), ACCEPTED),  # a formula-like name must stay text
    ("市教育局", ("市直部门",), MISSING),
    ("甲县教育局", ("甲县", "县直部门"), WARNED),
    ("甲县城关镇", ("甲县", "乡镇街道"), ACCEPTED),
    ("甲县河口乡", ("甲县", "乡镇街道"), REJECTED),
    ("乙县财政局", ("乙县", "县直部门"), ACCEPTED),
]
COPIED = (
    "本单位政务公开工作仍存在栏目更新不及时的问题，下一步将建立台账，明确专人负责，按月检查更新情况，确保信息准确完整。"
)


@dataclass
class City:
    data: SummaryData
    files: dict[str, Path]  # unit name → its filled workbook
    path: Path  # the summary


def _inputs_from_file(spec: Spec, path: Path) -> dict[str, Any]:
    """Input values of a filled workbook, read with openpyxl through the defined names (not our reader)."""
    named = read_by_names(path)
    out: dict[str, Any] = {}
    for code, cell in spec.cells.items():
        if not cell.is_total:
            value = named[defined_name(code)] or 0
            out[code] = Decimal(str(value)) if cell.kind == "amount" else value
    return out


def _expected_sums(spec: Spec, files: list[Path]) -> dict[str, float]:
    """Cell-by-cell sum over unit files, totals added up from their parts here in the test."""
    inputs = [_inputs_from_file(spec, f) for f in files]

    def value(values: dict[str, Any], code: str) -> float:
        cell = spec.cells[code]
        return sum(value(values, p) for p in cell.parts) if cell.is_total else float(values[code])

    return {code: sum(value(v, code) for v in inputs) for code in spec.cells}


def _summary_tables(spec: Spec, path: Path) -> dict[str, float]:
    """What the summary's table sheets show at the template's positions (cached values of totals)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    places = layout(spec).places
    return {code: float(wb[places[code].sheet][places[code].a1].value) for code in spec.cells}


def _rows(path: Path, sheet: str, first: int = 1) -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(path, data_only=True)
    return [r for r in wb[sheet].iter_rows(min_row=first, values_only=True)]


def _build_city(folder: Path) -> City:
    rng = random.Random(21)
    units, files = [], {}
    for k, (name, group, status) in enumerate(ROSTER):
        if status == MISSING:
            units.append(UnitResult(name=name, group=group, status=status))
            continue
        texts = {"text.s1": prose(rng, 20), "text.s5": COPIED if k in (0, 3) else prose(rng, 8), "text.s6": "无。"}
        path = fill_template(
            folder / f"unit{k}.xlsx",
            year=YEAR,
            agency=name,
            values=balanced_inputs(SPEC, rng),
            texts={**texts, "info.phone": "+86 453 3921234"},
        )
        files[name] = path
        sub = Submission(
            edition=SPEC.edition,
            year=YEAR,
            agency=name,
            values=recompute_totals(SPEC, _inputs_from_file(SPEC, path)),
            texts={**texts, "info.filler": "张三", "info.phone": "+86 453 3921234"},
            file=path.name,
        )
        found = {  # (what the unit's own check found: 报送情况's 说明 names the first)
            REJECTED: [finding(SPEC, "value-not-number", sheet="二、主动公开", cell="B14", found="十二")],
            WARNED: [finding(SPEC, "I1", sheet="三、依申请公开", cell="D7", found=1, expected=2, column="自然人")],
        }.get(status, [])
        units.append(
            UnitResult(
                name=name, group=group, status=status, submission=sub, file=path.name, sha256="0" * 64, findings=found
            )
        )
    data = SummaryData(spec=SPEC, year=YEAR, units=units, title="某某市")
    return City(data, files, write_summary(folder / "汇总.xlsx", data))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return _build_city(tmp_path_factory.mktemp("city"))


def _counted_files(city: City) -> list[Path]:
    return [city.files[name] for name, _, status in ROSTER if status in (ACCEPTED, WARNED)]


# ---- 汇总表 -------------------------------------------------------------------------------------


def test_summary_tables__equal_the_cell_by_cell_sum_of_the_accepted_unit_files(city: City) -> None:
    expected = _expected_sums(SPEC, _counted_files(city))
    shown = _summary_tables(SPEC, city.path)
    assert shown == pytest.approx(expected)
    assert shown["s3.r1.c7"] > 0
    wb = openpyxl.load_workbook(city.path)
    assert wb.sheetnames[:4] == ["概览", "二、主动公开", "三、依申请公开", "四、复议诉讼"]
    template = openpyxl.load_workbook(Path("workbook_templates") / "政府信息公开年报模板_2021年版.xlsx")
    for sheet in ("二、主动公开", "三、依申请公开", "四、复议诉讼"):  # the official layout: same labels, same places
        labels = {c.coordinate: c.value for row in template[sheet].iter_rows() for c in row if isinstance(c.value, str)}
        ours = {c.coordinate: c.value for row in wb[sheet].iter_rows() for c in row if isinstance(c.value, str)}
        assert {k: v for k, v in labels.items() if not v.startswith("=")} == {
            k: v for k, v in ours.items() if k in labels and not v.startswith("=")
        }
        merged = {str(r) for r in wb[sheet].merged_cells.ranges}
        official = {str(r) for r in template[sheet].merged_cells.ranges}
        assert official <= merged and all(r.startswith("A2:") for r in merged - official)  # + our subtitle row


def test_summary_tables__hold_every_consistency_rule(city: City) -> None:
    con = consolidate(city.data)
    assert con.checks == []
    overview = [r[0] for r in _rows(city.path, "概览") if r[0]]
    assert any(str(v).startswith("✓ 汇总数据的各项勾稽关系（E1、E2、E3、E4）全部成立") for v in overview)


# ---- 分单位明细 and 报送情况 ------------------------------------------------------------------------


def test_detail__subtotals_add_up_to_the_grand_total_and_units_to_their_subtotal(city: City) -> None:
    rows = _rows(city.path, "分单位明细", first=5)
    numbers = slice(5, None)
    total = next(r for r in rows if r[3] == "合计")
    top = [r for r in rows if r[3] == "小计" and " / " not in r[2]]
    assert [r[2] for r in top] == ["市直部门", "甲县", "乙县"]
    for k, value in enumerate(total[numbers]):
        assert sum(r[numbers][k] for r in top) == pytest.approx(value)
    town = next(r for r in rows if r[3] == "小计" and r[2] == "甲县 / 乡镇街道")
    members = [r for r in rows if r[3] == "单位" and r[2] == "甲县 / 乡镇街道" and isinstance(r[5], int)]
    assert [r[1] for r in members] == ["甲县城关镇"]  # 甲县河口乡 was rejected: listed, not summed
    assert town[numbers] == pytest.approx(members[0][numbers])
    expected = _expected_sums(SPEC, _counted_files(city))
    top_header, header = _rows(city.path, "分单位明细", first=3)[:2]
    merged = [next(v for v in reversed(top_header[: k + 1]) if v) for k in range(len(top_header))]  # merged: fill
    col = next(k for k in range(5, len(header)) if header[k] == "总计" and "一、本年新收" in merged[k])
    assert total[col] == expected["s3.r1.c7"]


def test_detail__the_outline_buttons_sit_on_the_subtotal_rows_below_their_units(city: City) -> None:
    import zipfile

    with zipfile.ZipFile(city.path) as z:
        names = {n for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
        xml = next(z.read(n).decode() for n in names if 'outlineLevel="2"' in z.read(n).decode())
    assert "<outlinePr" in xml and 'summaryBelow="0"' not in xml  # (Excel's default: the summary row below)


def test_missing_unit__is_listed_first_and_not_counted(city: City) -> None:
    status = _rows(city.path, "报送情况", first=4)
    assert [(r[1], r[3]) for r in status[:2]] == [("市教育局", "未报送"), ("甲县河口乡", "被退回")]
    assert status[0][4] == "未收到报告，不计入合计"
    # a rejected unit's 说明 names its first error, where and what, as `status` does: whom to call about what
    assert status[1][4] == "报告有错误被退回，不计入合计；首个错误：二、主动公开!B14 不是数字"
    [warned] = [r for r in status if r[3] == "有警告"]
    alike = "汇总时发现文字部分内容雷同（见“各单位文字部分”）"  # (甲县教育局 and 市发展改革委 share a 五)
    assert warned[4] == f"首个警告：三、依申请公开!D7 本年“上年结转”等于上年报告的“结转下年度继续办理”；{alike}"
    assert next(r[4] for r in status if r[1] == "市发展改革委") == alike  # (已通过: why its 警告 is not 0)
    assert {r[1] for r in status} == {name for name, _, _ in ROSTER}
    detail = _rows(city.path, "分单位明细", first=5)
    missing = next(r for r in detail if r[1] == "市教育局")
    assert missing[4] == "未报送" and missing[5] == "未收到报告，不计入合计"
    assert all(v is None for v in missing[6:])  # shown as missing, not as zeros
    overview = _rows(city.path, "概览")
    counts = next(overview[k + 1] for k, r in enumerate(overview) if r[0] == "应报单位")
    assert counts[:6] == (7, 6, 5, 1, 1, 1)


def test_formula_like_unit_names__stay_text(city: City) -> None:
    wb = openpyxl.load_workbook(city.path)
    for sheet, col in (("报送情况", "B"), ("分单位明细", "B"), ("各单位文字部分", "B")):
        cell = next(c for c in wb[sheet][col] if c.value == "=1+2")
        assert cell.data_type == "s" and cell.quotePrefix
    phone = next(c for c in wb["报送情况"]["L"] if c.value == "+86 453 3921234")
    assert phone.data_type == "s"


def test_markup_like_names_and_texts__stay_text_and_shift_nothing(tmp_path: Path) -> None:
    # xlsxwriter writes a shared string shaped "<r>…</r>" as raw rich-text XML unless told otherwise
    markup = "<r><t>a</t></r></si><si><r><t>b</t></r>"
    data = synthetic(12)
    counted = [u for u in data.units if u.submission is not None and u.status != REJECTED]
    counted[0].name = markup
    counted[1].submission.texts["text.s5"] = markup
    path = write_summary(tmp_path / "汇总.xlsx", data)
    names = [r[1] for r in _rows(path, "报送情况", first=4)]
    assert {u.name for u in data.units} == set(names)  # every other name where it belongs
    texts = {r[1]: r[4] for r in _rows(path, "各单位文字部分", first=4)}
    assert texts[counted[1].name] == markup and texts[counted[2].name] == counted[2].submission.texts["text.s5"]


# ---- the other sheets ---------------------------------------------------------------------------


def test_issues_and_texts__show_open_findings_and_copied_texts(city: City) -> None:
    issues = _rows(city.path, "问题清单", first=4)
    similar = [r for r in issues if r[4] == "文字内容雷同（text-similar）"]
    assert {r[1] for r in similar} == {"市发展改革委", "甲县教育局"}
    assert all(r[3] == "警告" and r[5] == "文字部分!A9" for r in similar)
    assert all(r[7] == city.files[r[1]].name for r in similar)  # (the report it is about, as for any other)
    assert next(r[4] for r in _rows(city.path, "问题清单", first=3)) == "规则"
    assert "“甲县教育局”的同一部分完全相同" in next(r[6] for r in similar if r[1] == "市发展改革委")
    texts = _rows(city.path, "各单位文字部分", first=4)
    assert [r[1] for r in texts] == ["市发展改革委", "=1+2", "甲县教育局", "甲县城关镇", "乙县财政局"]
    assert texts[0][4] == COPIED and "完全相同" in texts[0][6] and texts[1][6] is None
    # 报送情况 counts a unit's 内容雷同 warning with its own ones (as 问题清单 lists them both)
    issues_of = lambda unit: sum(1 for r in issues if r[1] == unit and r[3] == "警告")  # noqa: E731
    status = {r[1]: r for r in _rows(city.path, "报送情况", first=4)}
    assert all(status[u][8] == issues_of(u) for u in ("市发展改革委", "甲县教育局"))
    # 概览 says how many units' texts are alike, which its boxes (per file) do not count
    assert any("汇总时发现 2 个单位的文字部分" in str(r[0]) for r in _rows(city.path, "概览"))


def test_overview__headlines_with_last_year_and_change(tmp_path: Path) -> None:
    data = synthetic(30)
    data.previous = {
        u.name: Submission(edition="2021", year=YEAR - 1, agency=u.name, values=recompute_totals(SPEC, {"s3.r1.c1": 2}))
        for u in data.units
    }
    path = write_summary(tmp_path / "s.xlsx", data)
    rows = {r[0]: r for r in _rows(path, "概览") if r[0]}
    new = rows["本年新收政府信息公开申请（件）"]
    this_year = consolidate(data).root.values["s3.r1.c7"]
    assert new[1:6] == (this_year, None, 60, this_year - 60, pytest.approx((this_year - 60) / 60))
    assert rows["其中：予以公开（件）"][2] == pytest.approx(
        consolidate(data).root.values["s3.r3_1.c7"] / consolidate(data).root.values["s3.r3_7.c7"]
    )
    assert rows["行政事业性收费金额（万元）"][3] == 0
    counted = consolidate(data).root.units
    [note] = [r[0] for r in _rows(path, "概览") if r[0] and str(r[0]).startswith("上年数据为")]
    assert note.startswith(f"上年数据为台账中上年已通过的 30 个单位的报告之和（本年计入 {counted} 个单位；")
    assert ("两年计入的单位数不同" in note) == (counted != 30)


def test_overview__last_year_of_fewer_units__says_how_many_and_that_the_change_is_not_like_for_like(
    tmp_path: Path,
) -> None:
    """A ledger with only some of last year's reports (the first year with nianbao): the sum of 1 unit
    against this year's 30 would read as a 1000 % rise; the note says how many units each year counts."""
    data = synthetic(30)
    first = data.units[0]
    data.previous = {first.name: Submission(edition="2021", year=YEAR - 1, agency=first.name, values={})}
    path = write_summary(tmp_path / "s.xlsx", data)
    [note] = [r[0] for r in _rows(path, "概览") if r[0] and str(r[0]).startswith("上年数据为")]
    assert (
        "上年已通过的 1 个单位的报告之和" in note and "两年计入的单位数不同，增减含单位数变化的影响，仅供参考" in note
    )


# ---- roll-ups -----------------------------------------------------------------------------------


def test_rollup_report__is_the_template_filled_with_the_node_sums(city: City, tmp_path: Path) -> None:
    county = consolidate(subtree(city.data, ("甲县",))).root
    path = write_rollup_report(tmp_path / "甲县汇总.xlsx", SPEC, YEAR, "甲县", county)
    assert _inputs_from_file(SPEC, path) == pytest.approx(
        {c: v for c, v in county.values.items() if not SPEC.cells[c].is_total}
    )
    meta = {r[0]: r[1] for r in _rows(path, "_meta")}
    assert (meta["kind"], meta["units"], meta["agency"], meta["year"]) == ("rollup", "2", "甲县", "2025")
    assert read_by_names(path)[defined_name("info.agency")] == "甲县"


def test_county_rollup_and_its_units__are_counted_once(city: City, tmp_path: Path) -> None:
    county = consolidate(subtree(city.data, ("甲县",))).root
    report = write_rollup_report(tmp_path / "甲县汇总.xlsx", SPEC, YEAR, "甲县", county)
    rollup = Submission(
        edition=SPEC.edition,
        year=YEAR,
        agency="甲县",
        values=recompute_totals(SPEC, _inputs_from_file(SPEC, report)),
        file=report.name,
        kind="rollup",
        units=county.units,
    )
    data = SummaryData(
        spec=SPEC,
        year=YEAR,
        units=[
            *city.data.units,
            UnitResult(name="甲县新设局", group=("甲县", "县直部门")),  # (sent nothing itself: the roll-up has it)
            UnitResult(name="甲县", group=(), status=ACCEPTED, submission=rollup, file=report.name),
        ],
        title="某某市",
    )
    path = write_summary(tmp_path / "汇总.xlsx", data)
    assert _summary_tables(SPEC, path) == pytest.approx(_expected_sums(SPEC, _counted_files(city)))
    issues = _rows(path, "问题清单", first=4)
    overlap = next(r for r in issues if r[4].endswith("（rollup-overlap）"))
    assert overlap[1] == "甲县" and "甲县教育局、甲县城关镇" in overlap[6]
    status = {r[1]: r for r in _rows(path, "报送情况", first=4)}
    assert status["甲县城关镇"][3] == "由汇总表涵盖" and "已含于“甲县”的汇总表" in status["甲县城关镇"][4]
    # 概览's boxes add up: a unit its county's roll-up stands for has reported (through it)
    overview = _rows(path, "概览")
    expected, submitted, _, _, _, missing = next(overview[k + 1] for k, r in enumerate(overview) if r[0] == "应报单位")[
        :6
    ]
    assert expected == submitted + missing
    # the county's own texts (一、五、六 of its whole area) are listed, marked as a roll-up's …
    texts = {r[1]: r for r in _rows(path, "各单位文字部分", first=4) if r[1]}
    assert "甲县（汇总表）" in texts
    # … but a county's total is not ranked beside single units
    assert not [r for r in _rows(path, "图表") if any(isinstance(c, str) and c.startswith("甲县（汇总表）") for c in r)]


def test_rollup_report__is_read_by_the_checker_as_a_rollup_of_its_units(city: City, tmp_path: Path) -> None:
    from processor.check import check_workbook

    county = consolidate(subtree(city.data, ("甲县",))).root
    texts = {
        "text.s1": "甲县本年度政府信息公开工作总体情况良好，各单位按期报送。",
        "text.s5": "部分乡镇栏目更新不及时，将建立台账。",
    }
    path = write_rollup_report(tmp_path / "甲县汇总.xlsx", SPEC, YEAR, "甲县", county, texts=texts)
    result = check_workbook(path)
    assert result.report.errors == []
    sub = result.submission
    assert (sub.kind, sub.units, sub.agency, sub.year) == ("rollup", 2, "甲县", YEAR)
    assert sub.values == pytest.approx(county.values)


def test_summary_itself__says_it_is_a_summary_not_a_report(city: City) -> None:
    meta = {r[0]: r[1] for r in _rows(city.path, "_meta")}
    assert (meta["kind"], meta["agency"], meta["units"]) == ("summary", "某某市", "5")


def test_summary_of_the_2019_edition__sums_signed_changes_and_amounts(tmp_path: Path) -> None:
    old = get_spec("2019")
    rng = random.Random(8)
    subs = [
        Submission(
            edition="2019", year=2020, agency=f"单位{k}", values=recompute_totals(old, balanced_inputs(old, rng))
        )
        for k in range(3)
    ]
    units = [UnitResult(name=s.agency, group=("市直部门",), status=ACCEPTED, submission=s) for s in subs]
    path = write_summary(tmp_path / "2020.xlsx", SummaryData(spec=old, year=2020, units=units, title="某某市"))
    expected = {c: float(sum(s.values[c] for s in subs)) for c in old.cells}
    assert _summary_tables(old, path) == pytest.approx(expected)


def test_group_summary__covers_one_county(city: City, tmp_path: Path) -> None:
    path = write_summary(tmp_path / "甲县.xlsx", subtree(city.data, ("甲县",)))
    files = [city.files["甲县教育局"], city.files["甲县城关镇"]]
    assert _summary_tables(SPEC, path) == pytest.approx(_expected_sums(SPEC, files))
    assert _rows(path, "概览")[0][0] == "甲县 2025 年度政府信息公开工作年度报告汇总"


# ---- the file -----------------------------------------------------------------------------------


def _charts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(n for n in z.namelist() if n.startswith("xl/charts/chart") and n.endswith(".xml"))


@needs_soffice
def test_summary__opens_in_libreoffice_with_its_charts_and_text(city: City, tmp_path: Path) -> None:
    assert len(_charts(city.path)) == 6  # 图表: four; 概览: two of them again
    copy = shutil.copy(city.path, tmp_path / "汇总.xlsx")
    roundtrip([Path(copy)])  # LibreOffice opens, recalculates and saves it
    assert len(_charts(Path(copy))) == 6
    with zipfile.ZipFile(copy) as z:
        chart_xml = "".join(z.read(n).decode() for n in _charts(Path(copy)))
    assert "barChart" in chart_xml and "pieChart" in chart_xml
    assert _summary_tables(SPEC, Path(copy)) == pytest.approx(_expected_sums(SPEC, _counted_files(city)))
    names = [r[1] for r in _rows(Path(copy), "报送情况", first=4)]
    assert "=1+2" in names  # still the text, not 3


def test_failed_write__leaves_the_previous_summary_intact(
    city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Path(shutil.copy(city.path, tmp_path / "汇总.xlsx"))
    before = target.read_bytes()

    def crash(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(summary_module, "_write_texts", crash)
    with pytest.raises(RuntimeError):
        write_summary(target, city.data)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["汇总.xlsx"]


def test_summary_of_10000_units__is_written_in_under_10_seconds(tmp_path: Path, monkeypatch) -> None:
    from processor import package

    monkeypatch.setattr(package, "CHUNK", 1 << 20)  # the zip reads each sheet in several blocks
    data = synthetic(10_000)
    start = time.process_time()  # CPU time: other processes on a busy test machine do not count
    path = write_summary(tmp_path / "province.xlsx", data)
    elapsed = time.process_time() - start
    assert elapsed < 10, f"{elapsed:.1f} s"
    wb = openpyxl.load_workbook(path, read_only=True)
    detail = wb["分单位明细"]
    assert detail.max_row > 10_000
    nodes = len(consolidate(data, texts=False).nodes)  # (the root's row is the 合计)
    with zipfile.ZipFile(path) as z:  # every row there (4 header rows, the units, subtotals, 合计)
        sheet = z.read("xl/worksheets/sheet5.xml")
    assert sheet.count(b"<row ") == detail.max_row == 4 + len(data.units) + nodes
    assert b"<!--" not in sheet and data.units[-1].name.encode() in sheet


def test_same_data__gives_the_same_workbook_byte_for_byte(city: City, tmp_path: Path) -> None:
    first = write_summary(tmp_path / "a.xlsx", city.data).read_bytes()
    again = write_summary(tmp_path / "b.xlsx", city.data).read_bytes()
    assert again == first, zip_difference(first, again)


def test_detail__a_group_with_nothing_counted__has_no_zero_subtotals_and_pages_repeat_the_status(
    city: City, tmp_path: Path
) -> None:
    data = replace(city.data, units=[*city.data.units, UnitResult(name="丙县财政局", group=("丙县",))])
    path = write_summary(tmp_path / "汇总.xlsx", data)
    detail = _rows(path, "分单位明细", first=5)
    subtotal = next(r for r in detail if r[1] == "小计：丙县")
    assert subtotal[4] == "计入 0 / 应报 1" and all(v is None for v in subtotal[5:])  # (not 0s: nothing reported)
    counted = next(r for r in detail if r[1] == "小计：乙县")
    assert any(v for v in counted[5:])
    assert openpyxl.load_workbook(path)["分单位明细"].print_title_cols == "$A:$E"  # (序号 … 状态 on every page)
