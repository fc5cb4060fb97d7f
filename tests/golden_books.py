"""Workbooks of many shapes, made in code, whose readings are pinned in tests/data/reader_golden.json.

Each case is (bytes, previous-year case or None): our template filled through openpyxl (totals as
formulas without stored results) or as Excel saves it (stored results), edited the ways users and
programs edit it: rows and columns inserted, sheets renamed or deleted, names dropped, labels typed
over, numbers typed as text, formulas and error values in input cells, explanations, wrong years.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl.workbook.workbook import Workbook

from processor.spec import get_spec
from processor.template import Filling, write_workbook
from tests.hostile.generate import TEXTS, agency_of, report_bytes, with_cells
from tests.test_batch import values
from tests.test_reader_structure import (
    S3,
    _edited,
    _s3_row,
    delete_sheet_like_excel,
    drop_names,
    full,
    insert_column_like_excel,
    insert_row_like_excel,
    rename_sheet_like_excel,
)
from tests.workbooks import fill_template

Case = tuple[bytes, str | None]  # the workbook's bytes, and the case read as its previous year (or None)

TEXT_NUMBERS: dict[str, Any] = {  # 2021 三: what clerks type into number cells
    "s3.r1.c1": "５件",
    "s3.r1.c2": "1,234",
    "s3.r1.c3": "无",
    "s3.r1.c4": "五件",
    "s3.r1.c5": 2.5,
    "s3.r1.c6": -3,
    "s3.r2.c1": " 7 ",
    "s3.r2.c2": "—",
    "s3.r2.c3": "#N/A",
    "s3.r2.c4": True,
    "s2_8.r1.c1": "12.5万元",
}
CHANGES_2019: dict[str, Any] = {  # 2019 二: changes, amounts and their refusals
    "s2_5.r1.c2": "增5",
    "s2_5.r2.c2": "减2",
    "s2_6.r1.c2": "+3",
    "s2_6.r2.c2": -4,
    "s2_8.r1.c2": "减+1",
    "s2_9.r1.c2": "¥1200",
    "s2_9.r1.c1": 3,
}
XML_CELLS: dict[str, tuple[bytes, str | None]] = {  # 2021 inputs as other programs write them
    "s3.r1.c1": (b"<f>1+2</f><v>3</v>", None),
    "s3.r1.c2": (b"<v>#DIV/0!</v>", "e"),
    "s3.r1.c3": (b"<f>SUM(A1:A2)</f><v></v>", None),
    "s3.r1.c4": (b"<f>TRUE()</f><v>1</v>", "b"),
    "s3.r1.c5": (b'<f t="shared" ref="H6:I6" si="0">D6*2</f><v>4</v>', None),
    "s3.r1.c6": (b'<f t="shared" si="0"/><v>6</v>', None),
    "s3.r2.c1": ("<is><t>８</t></is>".encode(), "inlineStr"),
    "s3.r2.c2": (b"<f>A1</f><v>#REF!</v>", "e"),
    "s3.r3_7.c1": (b"<v>999</v>", None),  # a total typed over
    "s3.r1.c7": (b"<f>SUM(D6:I6)</f><v>1</v>", None),  # a total with a wrong stored result
    "text.s1": ("<is><t>内联的文字</t></is>".encode(), "inlineStr"),
}
LONG = "本年度主动公开政府信息，" * 400


def _fill(folder: Path, name: str, edition: str, **kw: Any) -> Path:
    year = 2019 if edition == "2019" else 2025
    kw.setdefault("values", full(edition))
    return fill_template(folder / f"{name}.xlsx", edition=edition, year=year, **kw)


def _structure(folder: Path) -> dict[str, Case]:
    """The 2019 template (and a 2021 copy) with the structure changes of test_reader_structure."""
    label_cell = f"C{_s3_row('s3.r3_3_2.c1')}"
    edits: dict[str, tuple[str, list[Callable[[Workbook], None]]]] = {
        "2019-intact": ("2019", []),
        "2019-no-names": ("2019", [drop_names]),
        "2021-copied-no-meta": ("2021", [drop_names, lambda wb: wb.remove(wb["_meta"])]),
        "2019-renamed": ("2019", [lambda wb: rename_sheet_like_excel(wb, S3, "依申请公开情况")]),
        "2019-deleted": ("2019", [lambda wb: delete_sheet_like_excel(wb, "四、复议诉讼")]),
        "2019-row-inserted": ("2019", [lambda wb: insert_row_like_excel(wb, S3, _s3_row("s3.r3_3_1.c1"))]),
        "2019-column-inserted": ("2019", [lambda wb: insert_column_like_excel(wb, "四、复议诉讼", 3)]),
        "2019-names-stale": ("2019", [lambda wb: wb[S3].insert_rows(_s3_row("s3.r3_3_1.c1"))]),
        "2019-label-edited": ("2019", [lambda wb: wb[S3].__setitem__(label_cell, "2.其他法律行政止公开")]),
        "2019-renamed-no-names": ("2019", [drop_names, lambda wb: setattr(wb[S3], "title", "依申请")]),
    }
    return {name: (_edited(_fill(folder, name, ed), *fns).read_bytes(), None) for name, (ed, fns) in edits.items()}


def _typed(folder: Path) -> dict[str, Case]:
    """Numbers, years and contact fields as clerks type them (openpyxl-saved: totals not calculated)."""
    return {
        "2021-text-numbers": (_fill(folder, "tn", "2021", values={**full("2021"), **TEXT_NUMBERS}).read_bytes(), None),
        "2019-changes": (_fill(folder, "ch", "2019", values={**full("2019"), **CHANGES_2019}).read_bytes(), None),
        "2021-blank": (_fill(folder, "bl", "2021", values={"s3.r1.c1": 4}, defaults=False).read_bytes(), None),
        "2021-info": (
            _fill(
                folder,
                "info",
                "2021",
                agency=None,
                texts={"info.year": "二〇二五", "info.credit_code": "123", "info.phone": "", "info.date": 45000},
            ).read_bytes(),
            None,
        ),
    }


def _saved(folder: Path) -> dict[str, Case]:
    """Reports as Excel saves them (stored results), with content cases and previous years."""
    agency = agency_of(7)
    notes = {
        "note.n01.rule": "e1",
        "note.n01.cell": "三、依申请公开!$d$6",
        "note.n01.text": "本年新收申请中有两件为上年度结转，已在说明中列明，特此说明情况。",
        "note.n02.rule": "T4",
        "note.n02.text": "短",
        "note.n03.rule": "I2",
        "note.n03.text": "上年度的数据口径与本年不同，经核实本年数据无误，特此说明。",
        "note.n04.text": "没有规则编号的说明文字，长度足够但是没有指向任何问题。",
    }
    return {
        "2021-clean": (report_bytes(folder, agency, seed=1), None),
        "2021-last-year": (report_bytes(folder, agency, seed=2, year=2024), None),
        "2021-cross-year": (report_bytes(folder, agency, seed=3), "2021-last-year"),
        "2021-explained": (
            report_bytes(folder, agency, seed=4, changes={"s3.r1.c1": 9}, texts={"text.s6": "无", **notes}),
            "2021-last-year",
        ),
        "2021-long-text": (report_bytes(folder, agency, seed=5, texts={"text.s1": LONG, "text.s5": " "}), None),
        "2021-year-2024": (report_bytes(folder, agency_of(8), seed=6, year=2024), None),
        "2021-xml-cells": (with_cells(report_bytes(folder, agency_of(9), seed=7), XML_CELLS), None),
        "2019-last-year": (report_bytes(folder, agency, edition="2019", year=2019), None),
        "2019-roll-forward": (
            report_bytes(folder, agency, edition="2019", year=2020, changes={"s2_5.r1.c1": 5, "s2_8.r1.c2": 2}),
            "2019-last-year",
        ),
    }


def _summaries(folder: Path) -> dict[str, Case]:
    """A county's roll-up, and our summary workbook sent in as if it were a report."""
    out: dict[str, Case] = {}
    for kind in ("rollup", "summary"):
        path = folder / f"{kind}.xlsx"
        agency = agency_of(10)
        texts = {**TEXTS, "info.agency": agency, "info.year": "2025"}
        filling = Filling(values=values(11), texts=texts, year=2025, agency=agency, kind=kind, units=5)
        write_workbook(path, get_spec("2021"), filling)
        out[f"2021-{kind}"] = (path.read_bytes(), None)
    return out


def make(folder: Path) -> dict[str, Case]:
    """Every case, by name, written under `folder` (and read back as bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        **_structure(folder / "structure"),
        **_typed(folder / "typed"),
        **_saved(folder / "saved"),
        **_summaries(folder),
    }
