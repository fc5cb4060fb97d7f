"""The generated template looks like the official tables, is fillable only where it should be, and computes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from processor.layout import defined_name, layout
from processor.spec import get_spec, load_specs
from processor.template import blank_template_name, write_template
from tests.test_spec import S3_ROWS_2019, S3_ROWS_2021
from tests.workbooks import SOFFICE, fill_template, needs_soffice, read_by_names, roundtrip

EDITIONS = ["2019", "2021"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=EDITIONS)
def generated(request, tmp_path_factory):
    spec = get_spec(request.param)
    path = tmp_path_factory.mktemp(f"tpl{spec.edition}") / "t.xlsx"
    write_template(path, spec, year=spec.years[0], agency="绥芬河市住房和城乡建设局")
    return spec, path, openpyxl.load_workbook(path)


def _merged_text(ws, row: int, col: int) -> tuple[str | None, str | None]:
    """(text at the top-left of the merged range covering row/col (1-based), that range)."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return ws.cell(rng.min_row, rng.min_col).value, rng.coord
    return ws.cell(row, col).value, None


def test_every_label_of_the_layout_is_written_where_the_layout_puts_it(generated):
    spec, _, wb = generated
    for lab in layout(spec).labels:
        if lab.sheet == spec.sheet_names["instructions"]:
            continue  # instructions carry the {contact} placeholder
        assert wb[lab.sheet].cell(lab.row + 1, lab.col + 1).value == lab.text, (lab.sheet, lab.row, lab.col)


def test_section3_looks_like_the_official_table(generated):
    spec, _, wb = generated
    ws = wb[spec.sheet_names["s3"]]
    expected_rows = S3_ROWS_2019 if spec.edition == "2019" else S3_ROWS_2021
    # corner note spans the three label columns and the three header rows
    assert _merged_text(ws, 3, 1) == (spec.table("s3").corner, "A3:C5")
    assert _merged_text(ws, 3, 4) == ("申请人情况", "D3:J3")
    assert _merged_text(ws, 4, 4) == ("自然人", "D4:D5")
    assert _merged_text(ws, 4, 5) == ("法人或其他组织", "E4:I4")
    assert [ws.cell(5, c).value for c in range(5, 10)] == [
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
    ]
    assert _merged_text(ws, 4, 10) == ("总计", "J4:J5")
    # row labels: the most specific label of each data row, in official order
    found = []
    for r in range(6, 6 + len(expected_rows)):
        texts = [_merged_text(ws, r, c) for c in (1, 2, 3)]
        found.append(next(t for t, rng in reversed(texts) if t and (rng is None or rng.endswith(f"C{r}"))))
    assert found == expected_rows
    # the spanning group labels
    assert _merged_text(ws, 8, 1)[0] == "三、本年度办理结果"
    assert _merged_text(ws, 10, 2) == ("（三）不予公开", "B10:B17")
    if spec.edition == "2021":
        assert _merged_text(ws, 26, 2) == ("（六）其他处理", "B26:B28")


def test_section2_blocks_carry_caption_header_and_rows(generated):
    spec, _, wb = generated
    ws = wb[spec.sheet_names["s2"]]
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    for t in (t for t in spec.tables if t.code.startswith("s2_")):
        frame = layout(spec).frames[t.code]
        assert ws.cell(frame.top + 1, 1).value == t.caption  # 第二十条第（X）项
        assert ws.cell(frame.header_top + 1, 1).value == "信息内容"
        header = [ws.cell(frame.header_top + 1, 2 + j).value for j in range(len(t.columns))]
        assert header == [c.label for c in t.columns]
        assert [ws.cell(frame.first_data_row + 1 + i, 1).value for i in range(len(t.rows))] == [r.label for r in t.rows]
    assert "第二十条第（九）项" in cells if spec.edition == "2019" else "第二十条第（九）项" not in cells


def test_section4_header_bands(generated):
    spec, _, wb = generated
    ws = wb[spec.sheet_names["s4"]]
    assert _merged_text(ws, 3, 1) == ("行政复议", "A3:E3")
    assert _merged_text(ws, 3, 6) == ("行政诉讼", "F3:O3")
    assert _merged_text(ws, 4, 6) == ("未经复议直接起诉", "F4:J4")
    assert _merged_text(ws, 4, 11) == ("复议后起诉", "K4:O4")
    assert _merged_text(ws, 4, 1) == ("结果维持", "A4:A5")
    assert [ws.cell(5, c).value for c in range(11, 16)] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def test_every_input_cell_has_its_defined_name(generated):
    spec, _, wb = generated
    lay = layout(spec)
    names = {name: dn for name, dn in wb.defined_names.items()}
    inputs = [code for code, cell in spec.cells.items() if not cell.is_total]
    inputs += [f.code for f in spec.info] + [t.code for t in spec.texts]
    inputs += [code for code in lay.places if code.startswith("note.")]
    for code in inputs:
        dn = names[defined_name(code)]
        [(sheet, ref)] = list(dn.destinations)
        assert (sheet, ref.replace("$", "")) == (lay.places[code].sheet, lay.places[code].a1)
    totals = [code for code, cell in spec.cells.items() if cell.is_total]
    assert not [c for c in totals if defined_name(c) in names]  # totals are computed, not entered


def test_only_input_cells_are_unlocked_and_every_sheet_is_protected(generated):
    spec, _, wb = generated
    lay = layout(spec)
    for plan in lay.sheets:
        ws = wb[plan.name]
        if plan.kind == "meta":
            assert ws.sheet_state == "veryHidden"
            continue
        assert ws.protection.sheet, plan.name
        assert not ws.protection.password  # a guard-rail, not security: no password
        unlocked = {(c.row - 1, c.column - 1) for row in ws.iter_rows() for c in row if c.protection.locked is False}
        totals = {c for c, cell in spec.cells.items() if cell.is_total}
        expected = {
            (r, c)
            for code, p in lay.places.items()
            if p.sheet == plan.name and not code.startswith("meta.") and code not in totals
            for r in range(p.row, (p.last_row or p.row) + 1)
            for c in range(p.col, (p.last_col or p.col) + 1)
        }
        assert unlocked == expected, plan.name


def test_totals_are_locked_formulas(generated):
    spec, _, wb = generated
    lay = layout(spec)
    ws = wb[spec.sheet_names["s3"]]
    total = lay.places["s3.r1.c7"]
    assert ws[total.a1].value == "=SUM(D6:I6)"
    assert ws[total.a1].protection.locked
    assert ws[lay.places["s3.r3_7.c1"].a1].value.startswith("=SUM(D8:D")
    s4 = wb[spec.sheet_names["s4"]]
    assert s4[lay.places["s4.r1.c15"].a1].value == "=SUM(K6:N6)"


def test_in_cell_validation_in_chinese(generated):
    spec, _, wb = generated
    lay = layout(spec)
    by_cell = {}
    for sheet in wb.worksheets:
        for dv in sheet.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                by_cell[(sheet.title, rng.coord)] = dv
    count = by_cell[(spec.sheet_names["s3"], lay.places["s3.r1.c1"].a1)]
    assert (count.type, count.operator or "between", count.formula1) == ("whole", "between", "0")
    assert "不小于0的整数" in count.error and count.showErrorMessage
    amount_code = "s2_9.r1.c2" if spec.edition == "2019" else "s2_8.r1.c1"
    amount = by_cell[(spec.sheet_names["s2"], lay.places[amount_code].a1)]
    assert amount.type == "custom" and "ROUND" in amount.formula1 and "万元" in amount.prompt
    if spec.edition == "2019":
        change = by_cell[(spec.sheet_names["s2"], lay.places["s2_6.r1.c2"].a1)]
        assert change.type == "whole" and change.formula1.startswith("-") and "负数" in change.prompt


def test_prints_on_a4_landscape_fit_to_width_with_repeated_headers(generated):
    spec, _, wb = generated
    ws = wb[spec.sheet_names["s3"]]
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)  # 1 is the default
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$3:$5"
    assert ws.freeze_panes == "D6"


def test_hidden_metadata_says_what_the_workbook_is(generated):
    spec, _, wb = generated
    meta = {r[0].value: r[1].value for r in wb["_meta"].iter_rows()}
    assert meta["product"] == "nianbao" and meta["edition"] == spec.edition
    assert meta["year"] == str(spec.years[0]) and meta["template_version"] == spec.template_version
    assert meta["agency"] == "绥芬河市住房和城乡建设局" and meta["kind"] == "report"
    info = wb[spec.sheet_names["info"]]
    assert info[layout(spec).places["info.agency"].a1].value == "绥芬河市住房和城乡建设局"
    assert info[layout(spec).places["info.year"].a1].value == spec.years[0]


def test_instructions_name_who_to_ask(tmp_path):
    path = write_template(tmp_path / "t.xlsx", get_spec("2021"), year=2025, contact="市政务公开办 张三 0453-3921234")
    ws = openpyxl.load_workbook(path)["填报说明"]
    assert any("市政务公开办 张三 0453-3921234" in (c.value or "") for c in ws["A"])


def test_committed_blank_templates_match_the_generator(tmp_path):
    for spec in load_specs().values():
        name = blank_template_name(spec)
        fresh = write_template(tmp_path / name, spec, reproducible=True)
        committed = REPO / "workbook_templates" / name
        assert committed.exists(), f"{committed} missing: run `make templates`"
        with zipfile.ZipFile(fresh) as a, zipfile.ZipFile(committed) as b:
            assert sorted(a.namelist()) == sorted(b.namelist())
            stale = [n for n in a.namelist() if a.read(n) != b.read(n)]
        assert not stale, f"workbook_templates/{name} is stale ({stale}): run `make templates`"


def test_seed_report_entered_into_2019_template_reads_back_unchanged(tmp_path):
    from tests import seed

    path = fill_template(
        tmp_path / "seed.xlsx", edition="2019", year=2019, agency=seed.AGENCY, values=seed.SECTION2, texts=seed.texts()
    )
    got = read_by_names(path)
    for code, value in seed.SECTION2.items():
        assert got[defined_name(code)] == value
    for code, text in seed.texts().items():
        assert got[defined_name(code)] == text


# ---- with LibreOffice: what an office suite really saves -------------------------------------


@needs_soffice
@pytest.mark.soffice
def test_formulas_and_live_checks_compute_after_libreoffice_recalculation(tmp_path):
    spec = get_spec("2021")
    lay = layout(spec)
    good = {"s3.r1.c1": 5, "s3.r2.c1": 1, "s3.r3_1.c1": 4, "s3.r4.c1": 2, "s3.r1.c2": 3, "s3.r3_6_3.c2": 3}
    good |= {"s4.r1.c1": 10, "s4.r1.c2": 1, "s4.r1.c13": 5}
    broken = {**good, "s3.r4.c1": 1}  # 自然人: 5 + 1 ≠ 4 + 1
    paths = [
        fill_template(tmp_path / "good.xlsx", values=good),
        fill_template(tmp_path / "broken.xlsx", values=broken),
        write_template(tmp_path / "blank.xlsx", spec),
    ]
    roundtrip(paths)
    wb = openpyxl.load_workbook(paths[0], data_only=True)
    s3, s4 = wb[spec.sheet_names["s3"]], wb[spec.sheet_names["s4"]]
    assert s3[lay.places["s3.r1.c7"].a1].value == 8
    assert s3[lay.places["s3.r3_7.c1"].a1].value == 4
    assert s3[lay.places["s3.r3_7.c7"].a1].value == 7
    assert s4[lay.places["s4.r1.c5"].a1].value == 11 and s4[lay.places["s4.r1.c15"].a1].value == 5
    frame = lay.frames["s3"]
    assert [s3.cell(frame.check_row + 1, 4 + j).value for j in range(7)] == [0] * 7
    statuses = [c for c in lay.checks if c.column is None and c.sheet == spec.sheet_names["s3"]]
    assert all(s3.cell(c.row + 1, c.col + 1).value == "✓ 成立" for c in statuses)

    wb = openpyxl.load_workbook(paths[1], data_only=True)
    s3 = wb[spec.sheet_names["s3"]]
    assert s3.cell(frame.check_row + 1, 4).value == 1  # 自然人 column off by one
    e1 = next(c for c in statuses if c.rule == "E1")
    assert s3.cell(e1.row + 1, e1.col + 1).value.startswith("✗")
    # the blank template survives a LibreOffice round trip intact: names, protection, hidden metadata
    wb = openpyxl.load_workbook(paths[2])
    assert defined_name("s3.r1.c1") in wb.defined_names
    assert wb["_meta"].sheet_state in ("hidden", "veryHidden")  # LibreOffice saves very hidden as hidden
    assert wb[spec.sheet_names["s3"]].protection.sheet


@needs_soffice
@pytest.mark.soffice
def test_template_opens_in_libreoffice_and_converts_to_pdf(tmp_path):
    import subprocess

    path = write_template(tmp_path / "t.xlsx", get_spec("2019"), year=2019)
    profile = (tmp_path / "profile").as_uri()
    result = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        timeout=180,
    )
    assert result.returncode == 0 and (tmp_path / "t.pdf").stat().st_size > 10_000
