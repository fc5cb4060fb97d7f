"""Reading our template as agencies fill it: values, normalisations, refusals, formulas, blanks, identity.

Every case is our generated template filled through openpyxl; the same files are then saved by
LibreOffice (one soffice call for all), and some converted to .ods and .xls, and must read the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from processor.findings import Finding
from processor.layout import layout
from processor.reader import ReadResult, read_workbook
from processor.spec import get_spec
from tests import seed
from tests.workbooks import SOFFICE, convert, fill_template, needs_soffice, roundtrip

S2019, S2021 = get_spec("2019"), get_spec("2021")
SAVED_BY = ["openpyxl", pytest.param("libreoffice", marks=needs_soffice)]

NORMALISED = {  # what a person typed → what is read, with a value-normalised notice each
    "s3.r1.c1": ("５", 5),
    "s3.r1.c2": (" 7 ", 7),
    "s3.r1.c3": ("1,234", 1234),
    "s3.r1.c4": ("5件", 5),
    "s3.r1.c5": ("0", 0),
    "s3.r1.c6": ("无", 0),
    "s3.r2.c1": ("—", 0),
    "s3.r2.c2": ("/", 0),
    "s2_6.r1.c2": ("增5", 5),
    "s2_6.r2.c2": ("减2", -2),
    "s2_5.r1.c2": ("+5", 5),
    "s2_5.r2.c2": ("-3", -3),
    "s2_9.r1.c2": ("49.14万元", Decimal("49.14")),
}
REFUSED = {  # what cannot be read unambiguously → the rule that refuses it (the value counts as 0)
    "s3.r1.c1": ("五", "value-not-number"),
    "s3.r1.c2": ("若干", "value-not-number"),
    "s3.r1.c3": (-3, "value-negative"),
    "s3.r1.c4": (3.5, "value-fraction"),
    "s3.r1.c5": (dt.datetime(2020, 1, 2), "value-date"),
    "s3.r1.c6": ("#REF!", "value-error"),
    "s3.r2.c1": (True, "value-bool"),
    "s3.r2.c2": (1e10, "value-too-large"),
    "s2_9.r1.c2": ("251000元", "value-yuan"),
}


def _full(spec_edition: str) -> dict[str, int]:
    """Every input of an edition with a distinct small value, so a misread shows."""
    spec = get_spec(spec_edition)
    inputs = [c for c, cell in spec.cells.items() if not cell.is_total]
    return {c: (i * 7) % 23 + (1 if spec.cells[c].kind != "change" else -5) for i, c in enumerate(inputs)}


def _edit_meta(path: Path, **meta: str) -> Path:
    wb = openpyxl.load_workbook(path)
    places = layout(S2019).places
    for key, value in meta.items():
        wb["_meta"][places[f"meta.{key}"].a1] = value
    wb.save(path)
    return path


def _build(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)

    def fill(name: str, **kw: object) -> Path:
        return fill_template(folder / f"{name}.xlsx", **kw)  # type: ignore[arg-type]

    made = {
        "seed": fill(
            "seed", edition="2019", year=seed.YEAR, agency=seed.AGENCY, values=seed.SECTION2, texts=seed.texts()
        ),
        "full": fill("full", edition="2019", year=2019, values=_full("2019")),
        "normalised": fill("normalised", edition="2019", year=2019, values={c: v for c, (v, _) in NORMALISED.items()}),
        "refused": fill("refused", edition="2019", year=2019, values={c: v for c, (v, _) in REFUSED.items()}),
        "refused-2021": fill("refused-2021", edition="2021", year=2025, values={"s2_8.r1.c1": 1.23456}),
        "formula-input": fill("formula-input", edition="2021", year=2025, values={"s3.r1.c1": "=2+3", "s3.r1.c2": 1}),
        "total-typed": fill("total-typed", edition="2021", year=2025, values={"s3.r1.c1": 5, "s3.r1.c7": 99}),
        "info-missing": fill(
            "info-missing",
            edition="2019",
            year=2019,
            agency=None,
            texts={"info.year": None, "info.filler": None, "info.phone": " "},
        ),
        "info-typed": fill(
            "info-typed",
            edition="2021",
            year=2025,
            agency="  测试市（测试）局 ",
            texts={"info.year": "2025年", "info.credit_code": "12345", "info.date": dt.datetime(2026, 1, 20)},
        ),
        "notes": fill(
            "notes",
            edition="2021",
            year=2025,
            texts={"note.n02.rule": "i1", "note.n02.cell": "D7", "note.n02.text": "上年报告数据有误，已更正"},
        ),
        "edition-mismatch": fill("edition-mismatch", edition="2021", year=2020),
        "outdated": _edit_meta(fill("outdated", edition="2019", year=2019), template_version="0"),
        "unknown-edition": _edit_meta(fill("unknown-edition", edition="2019", year=2019), edition="2031"),
    }
    plain = openpyxl.Workbook()
    plain.active["A1"] = "单位名称"
    plain.active["B1"] = "某局"
    plain.save(folder / "not-template.xlsx")
    made["not-template"] = folder / "not-template.xlsx"
    return made


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Each case as openpyxl leaves it, as LibreOffice saves it, and converted to .ods and .xls."""
    base = tmp_path_factory.mktemp("reader")
    out = {"openpyxl": _build(base / "openpyxl")}
    if SOFFICE:
        saved = base / "libreoffice"
        shutil.copytree(base / "openpyxl", saved)
        out["libreoffice"] = {name: saved / p.name for name, p in out["openpyxl"].items()}
        roundtrip(out["libreoffice"].values())
        other = base / "other"
        other.mkdir()
        picked = {
            n: shutil.copy(out["openpyxl"][n], other / f"{n}.xlsx") for n in ("seed", "full", "normalised", "refused")
        }
        for fmt in ("ods", "xls"):
            made = convert([Path(p) for p in picked.values()], fmt)
            out[fmt] = dict(zip(picked, made, strict=True))
    out["hashes"] = {
        f"{v}/{n}": hashlib.sha256(p.read_bytes()).hexdigest() for v, d in out.items() for n, p in d.items()
    }  # type: ignore[misc]
    return out


_cache: dict[Path, ReadResult] = {}


def read(books: dict[str, dict[str, Path]], saved_by: str, case: str) -> ReadResult:
    path = books[saved_by][case]
    if path not in _cache:
        _cache[path] = read_workbook(path)
    return _cache[path]


def at(code: str, spec=S2019) -> str:
    return layout(spec).places[code].a1


def ids(findings: list[Finding], *rule_ids: str) -> list[tuple[str, str | None]]:
    return [(f.rule_id, f.code) for f in findings if not rule_ids or f.rule_id in rule_ids]


# ---- the seed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "saved_by", [*SAVED_BY, pytest.param("ods", marks=needs_soffice), pytest.param("xls", marks=needs_soffice)]
)
def test_seed_report__reads_back_exactly(books, saved_by: str) -> None:
    result = read(books, saved_by, "seed")
    sub = result.submission
    assert sub is not None and result.spec is S2019
    assert {c: sub.values[c] for c in seed.SECTION2_READ} == seed.SECTION2_READ
    assert isinstance(sub.values["s2_9.r1.c2"], Decimal) and isinstance(sub.values["s2_6.r1.c2"], int)
    assert (sub.agency, sub.year, sub.edition, sub.kind, sub.units) == (seed.AGENCY, 2019, "2019", "report", 1)
    assert {k: sub.texts[k] for k in seed.texts()} == seed.texts()
    # 三 and 四 were left blank, as printed in the seed: every total is 0, and each table is flagged.
    assert all(sub.values[c] == 0 for c in S2019.cells if c.startswith(("s3.", "s4.")))
    assert ids(result.findings, "table-blank") == [("table-blank", "s3.r1.c1"), ("table-blank", "s4.r1.c1")]
    assert {f.sheet for f in result.findings if f.rule_id == "table-blank"} == {"三、依申请公开", "四、复议诉讼"}
    assert ids(result.findings, "value-normalised") == [("value-normalised", "s2_6.r1.c2")]
    assert all(f.file == f"seed.{books[saved_by]['seed'].suffix[1:]}" for f in result.findings)
    assert all(f.agency == seed.AGENCY for f in result.findings)


@pytest.mark.parametrize(
    "saved_by", [*SAVED_BY, pytest.param("ods", marks=needs_soffice), pytest.param("xls", marks=needs_soffice)]
)
def test_complete_report__every_number_read_at_its_place(books, saved_by: str) -> None:
    result = read(books, saved_by, "full")
    sub = result.submission
    assert sub is not None
    assert {c: sub.values[c] for c in _full("2019")} == _full("2019")
    assert not sub.blanks
    assert [f for f in result.findings if f.severity != "notice"] == []
    cell = S2019.cells["s3.r1.c7"]
    assert sub.values["s3.r1.c7"] == sum(sub.values[p] for p in cell.parts)


# ---- normalisations and refusals --------------------------------------------------------------


@pytest.mark.parametrize(
    "saved_by", [*SAVED_BY, pytest.param("ods", marks=needs_soffice), pytest.param("xls", marks=needs_soffice)]
)
def test_what_people_type__is_read_as_the_number_with_a_notice(books, saved_by: str) -> None:
    result = read(books, saved_by, "normalised")
    sub = result.submission
    assert sub is not None
    assert {c: sub.values[c] for c in NORMALISED} == {c: v for c, (_, v) in NORMALISED.items()}
    notices = {f.code: f for f in result.findings if f.rule_id == "value-normalised"}
    assert set(notices) == set(NORMALISED)
    f = notices["s2_6.r1.c2"]
    assert (f.severity, f.sheet, f.cell, f.found, f.expected) == (
        "notice",
        "二、主动公开",
        at("s2_6.r1.c2"),
        "增5",
        "5",
    )
    assert "填写为“增5”，已读取为 5" in f.message


@pytest.mark.parametrize("saved_by", [*SAVED_BY, pytest.param("ods", marks=needs_soffice)])
def test_what_cannot_be_read_unambiguously__is_refused_and_counts_as_0(books, saved_by: str) -> None:
    result = read(books, saved_by, "refused")
    sub = result.submission
    assert sub is not None
    errors = {f.code: f.rule_id for f in result.findings if f.severity == "error"}
    assert errors == {c: rule for c, (_, rule) in REFUSED.items()}
    assert all(sub.values[c] == 0 for c in REFUSED) and not set(REFUSED) & sub.blanks
    yuan = next(f for f in result.findings if f.rule_id == "value-yuan")
    assert (yuan.found, yuan.expected, yuan.cell) == ("251000元", "25.1（万元）", at("s2_9.r1.c2"))
    date = next(f for f in result.findings if f.rule_id == "value-date")
    assert date.found == "2020-01-02"


def test_xls__refuses_what_it_can_see(books) -> None:
    """In .xls the error value and the formula are invisible (calamine shows them blank); the rest is refused."""
    if "xls" not in books:
        pytest.skip("soffice not installed")
    result = read(books, "xls", "refused")
    errors = {f.code: f.rule_id for f in result.findings if f.severity == "error"}
    assert errors == {c: rule for c, (_, rule) in REFUSED.items() if c not in ("s3.r1.c6", "s3.r2.c1")}


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_more_than_4_decimals_in_an_amount__is_refused(books, saved_by: str) -> None:
    result = read(books, saved_by, "refused-2021")
    assert ids(result.findings, "value-decimals") == [("value-decimals", "s2_8.r1.c1")]
    assert result.submission is not None and result.submission.values["s2_8.r1.c1"] == 0


# ---- formulas and totals ----------------------------------------------------------------------


def test_formula_without_a_stored_result__is_an_error_not_a_silent_0(books) -> None:
    result = read(books, "openpyxl", "formula-input")
    (f,) = [f for f in result.findings if f.code == "s3.r1.c1"]
    assert (f.rule_id, f.severity, f.cell) == ("formula-no-value", "error", "D6")
    assert "“=2+3”" in f.message
    # openpyxl stores no result for the template's own total formulas either: recomputed, and said so.
    assert {f.sheet for f in result.findings if f.rule_id == "total-not-calculated"} == {
        "三、依申请公开",
        "四、复议诉讼",
    }
    assert result.submission is not None and result.submission.shown_totals["s3.r1.c7"] is None
    assert result.submission.values["s3.r1.c7"] == 1


@needs_soffice
def test_formula_in_an_input__is_read_for_its_result_with_a_notice(books) -> None:
    result = read(books, "libreoffice", "formula-input")
    (f,) = [f for f in result.findings if f.code == "s3.r1.c1"]
    assert (f.rule_id, f.found) == ("formula-in-input", "5")
    assert "=2+3" in f.message
    sub = result.submission
    assert sub is not None and sub.values["s3.r1.c1"] == 5 and sub.values["s3.r1.c7"] == 6
    assert sub.shown_totals["s3.r1.c7"] == 6  # LibreOffice calculated the total; it shows the same
    assert not ids(result.findings, "total-not-calculated")


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_total_typed_over__is_recomputed_and_what_it_showed_is_kept(books, saved_by: str) -> None:
    sub = read(books, saved_by, "total-typed").submission
    assert sub is not None
    assert (sub.values["s3.r1.c7"], sub.shown_totals["s3.r1.c7"]) == (5, 99)
    assert sub.values["s3.r3_7.c1"] == 0 and sub.values["s4.r1.c5"] == 0


# ---- blanks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_blank_inputs__count_as_0_with_one_notice_per_table(books, saved_by: str) -> None:
    result = read(books, saved_by, "normalised")
    sub = result.submission
    assert sub is not None
    (s3,) = [f for f in result.findings if f.rule_id == "value-blank" and f.sheet == "三、依申请公开"]
    s3_inputs = [c for c, cell in S2019.cells.items() if c.startswith("s3.") and not cell.is_total]
    assert s3.found == str(len(s3_inputs) - 8) and s3.severity == "notice"
    assert "F7:I7、D8:I26、D28:I28" in s3.message
    assert sub.values["s3.r2.c3"] == 0 and "s3.r2.c3" in sub.blanks
    blank_tables = [f.message for f in result.findings if f.rule_id == "table-blank"]
    assert any("第二十条第（一）项" in m for m in blank_tables) and any("四、政府信息公开" in m for m in blank_tables)


# ---- basic information and identity -----------------------------------------------------------


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_missing_agency_and_year__are_errors_naming_the_cell(books, saved_by: str) -> None:
    result = read(books, saved_by, "info-missing")
    sub = result.submission
    assert sub is not None and sub.agency is None
    assert sub.year == 2019  # the template's own year stands in; the error still asks for it
    by_rule = {f.rule_id: f for f in result.findings}
    assert (by_rule["agency-missing"].cell, by_rule["agency-missing"].severity) == ("B3", "error")
    assert by_rule["year-missing"].cell == "B5" and "未填写" in by_rule["year-missing"].message
    contacts = [f for f in result.findings if f.rule_id == "contact-missing"]
    assert [(f.cell, f.severity) for f in contacts] == [("B6", "notice"), ("B7", "notice")]
    assert "“填报人”未填写" in contacts[0].message


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_info_as_typed__is_normalised(books, saved_by: str) -> None:
    result = read(books, saved_by, "info-typed")
    sub = result.submission
    assert sub is not None
    assert (sub.agency, sub.year, sub.texts["info.year"]) == ("测试市（测试）局", 2025, "2025")
    assert sub.texts["info.date"] == "2026-01-20" and sub.texts["info.phone"] == "0453-3921234"
    (f,) = [f for f in result.findings if f.rule_id == "credit-code-invalid"]
    assert (f.severity, f.found, f.cell) == ("warning", "12345", "B4")


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_explanation_rows__are_read_with_rule_upper_cased(books, saved_by: str) -> None:
    sub = read(books, saved_by, "notes").submission
    assert sub is not None
    assert [(n.index, n.rule, n.cell, n.text) for n in sub.notes] == [(2, "I1", "D7", "上年报告数据有误，已更正")]


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_2021_edition_with_a_2020_report_year__is_an_error(books, saved_by: str) -> None:
    result = read(books, saved_by, "edition-mismatch")
    (f,) = [f for f in result.findings if f.rule_id == "edition-year-mismatch"]
    assert (f.severity, f.found, f.expected) == ("error", "2020", "2019年版")
    assert "文件使用的是2021年版格式" in f.message
    assert result.submission is not None and result.submission.year == 2020


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_older_template_version__is_read_with_a_notice(books, saved_by: str) -> None:
    result = read(books, saved_by, "outdated")
    assert ids(result.findings, "template-outdated") == [("template-outdated", None)]
    assert result.submission is not None


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_workbook_that_is_not_ours__is_refused_plainly(books, saved_by: str) -> None:
    result = read(books, saved_by, "not-template")
    assert result.submission is None and result.spec is None
    (f,) = result.findings
    assert f.rule_id == "not-template" and f.file == "not-template.xlsx"
    assert "三、依申请公开" in f.message


@pytest.mark.parametrize("saved_by", SAVED_BY)
def test_template_of_an_unknown_edition__is_refused_saying_which(books, saved_by: str) -> None:
    result = read(books, saved_by, "unknown-edition")
    assert result.submission is None
    assert [f.rule_id for f in result.findings] == ["not-template"]
    assert "2031" in result.findings[0].message


# ---- nothing is lost --------------------------------------------------------------------------


def test_reading__never_changes_a_file(books) -> None:
    for variant, cases in books.items():
        if variant == "hashes":
            continue
        for name, path in cases.items():
            read(books, variant, name)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == books["hashes"][f"{variant}/{name}"], path


def test_bytes_and_path__read_the_same(books) -> None:
    path = books["openpyxl"]["seed"]
    from_bytes = read_workbook(path.read_bytes(), name="某局年报.xlsx")
    assert (
        from_bytes.submission is not None
        and from_bytes.submission.values == read(books, "openpyxl", "seed").submission.values
    )  # type: ignore[union-attr]
    assert {f.file for f in from_bytes.findings} == {"某局年报.xlsx"}


@needs_soffice
@pytest.mark.parametrize(
    "case", ["seed", "full", "normalised", "refused", "total-typed", "info-missing", "info-typed", "notes"]
)
def test_saved_by_libreoffice__reads_the_same_as_typed(books, case: str) -> None:
    typed, saved = read(books, "openpyxl", case), read(books, "libreoffice", case)
    assert typed.submission is not None and saved.submission is not None
    for attr in ("values", "blanks", "texts", "notes", "agency", "year", "edition"):
        assert getattr(saved.submission, attr) == getattr(typed.submission, attr), attr
    calculated = {"total-not-calculated"}  # openpyxl stores no formula results; LibreOffice does
    assert [(f.rule_id, f.cell, f.found) for f in saved.findings if f.rule_id not in calculated] == [
        (f.rule_id, f.cell, f.found) for f in typed.findings if f.rule_id not in calculated
    ]


@needs_soffice
@pytest.mark.parametrize("fmt", ["ods", "xls"])
@pytest.mark.parametrize("case", ["seed", "full", "normalised"])
def test_ods_and_xls__read_the_same_as_xlsx(books, fmt: str, case: str) -> None:
    xlsx, other = read(books, "libreoffice", case), read(books, fmt, case)
    assert xlsx.submission is not None and other.submission is not None
    for attr in ("values", "blanks", "texts", "notes", "agency", "year", "edition"):
        assert getattr(other.submission, attr) == getattr(xlsx.submission, attr), attr
    assert [(f.rule_id, f.cell) for f in other.findings] == [(f.rule_id, f.cell) for f in xlsx.findings]
