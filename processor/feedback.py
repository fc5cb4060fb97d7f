"""The feedback workbook: the agency's report rebuilt from our template, flagged cells marked, a 校验结果 sheet first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsxwriter.workbook import Workbook

from .check import CheckResult
from .findings import ERROR, WARNING, Finding
from .layout import Layout, layout, note_code, parse_a1
from .rules import cells_of
from .rules.explanations import parse_note_cell
from .spec import Spec
from .template import SEVERITY_FILL, Filling, Mark, write_workbook

SHEET = "校验结果"
FEEDBACK_SUFFIX = "_反馈"
COMMENT_LIMIT = 2000  # characters kept in one cell comment (all findings are on the 校验结果 sheet anyway)
_MARK_RANK = {ERROR: 0, WARNING: 1, "explained": 2, "notice": 3}
_COLUMNS = (("序号", 6), ("状态", 8), ("规则", 22), ("位置", 24), ("应为", 10), ("实际", 10), ("问题及处理办法", 90))


def feedback_name(file: str) -> str:
    """File name of the feedback workbook for an input file: 某局年报.xlsx → 某局年报_反馈.xlsx."""
    return f"{Path(file).stem}{FEEDBACK_SUFFIX}.xlsx"


def _mark_severity(f: Finding) -> str:
    return "explained" if f.explained else f.severity


def _refused(spec: Spec, findings: list[Finding]) -> dict[str, str]:
    """Number cells whose value the reader could not accept → what the agency typed.

    They are written back as typed (highlighted, the comment says why), never blank: a blank would
    read as 0, so resubmitting the feedback unchanged would pass without the value being fixed.
    """
    generic = {rule_id for rule_id, rule in spec.rules.items() if rule.kind is None}
    return {
        f.code: f.found or "" for f in findings if f.severity == ERROR and f.rule_id in generic and f.code in spec.cells
    }


def filling(result: CheckResult) -> Filling:
    """The agency's own input as read: numbers (not totals or blanks; refused ones as typed), texts, 情况说明 rows.

    Open warnings no 情况说明 row names yet are prefilled (rule id and cell) into free rows, so the
    clerk only types the reason.
    """
    sub = result.submission
    if sub is None:
        raise ValueError(f"文件“{result.file}”未能读取，无法生成反馈工作簿。")
    spec = sub.spec
    refused = _refused(spec, result.report.findings)
    values: dict[str, object] = {
        code: value
        for code, value in sub.values.items()
        if code in spec.cells and not spec.cells[code].is_total and code not in sub.blanks and code not in refused
    }
    values.update(refused)
    texts = {k: v for k, v in sub.texts.items() if k.startswith(("info.", "text."))}
    used: set[int] = set()
    named: set[tuple[str, str | None]] = set()
    for note in sub.notes:
        if 1 <= note.index <= spec.notes.rows:
            texts[note_code(note.index, "rule")] = note.rule
            texts[note_code(note.index, "cell")] = note.cell
            texts[note_code(note.index, "text")] = note.text
            if note.rule or note.cell or note.text:
                used.add(note.index)
            named.add((note.rule.strip().upper(), parse_note_cell(note.cell)[1]))
    free = (i for i in range(1, spec.notes.rows + 1) if i not in used)
    for f in result.report.sorted():
        if f.severity != WARNING or f.explained or (f.rule_id.upper(), f.cell) in named:
            continue
        index = next(free, None)
        if index is None:
            break
        texts[note_code(index, "rule")] = f.rule_id
        texts[note_code(index, "cell")] = f.cell or ""
        named.add((f.rule_id.upper(), f.cell))
    return Filling(values=values, texts=texts, year=sub.year, agency=sub.agency, kind=sub.kind, units=sub.units)


def marks(result: CheckResult) -> dict[str, Mark]:
    """One mark per flagged cell: the most severe status colours it, the comment holds every message."""
    if result.submission is None:
        return {}
    spec = result.submission.spec
    places = layout(spec).places
    hits: dict[str, list[Finding]] = {}
    for f in result.report.sorted():
        for code in cells_of(f, spec):
            if code in places and not code.startswith("meta."):
                hits.setdefault(code, []).append(f)
    out = {}
    for code, found in hits.items():
        severity = min((_mark_severity(f) for f in found), key=_MARK_RANK.__getitem__)
        comment = "\n\n".join(_comment_line(f) for f in found)
        if len(comment) > COMMENT_LIMIT:
            comment = comment[: COMMENT_LIMIT - 20] + f"……（其余见“{SHEET}”工作表）"
        out[code] = Mark(severity, comment)
    return out


def _comment_line(f: Finding) -> str:
    line = f"【{f.status_label} {f.rule_id}】{f.message}"
    return line + (f"\n（情况说明：{f.explanation}）" if f.explanation else "")


def verdict(result: CheckResult) -> str:
    """The one-line outcome a clerk reads first."""
    report = result.report
    if result.submission is None or not report.valid:
        return "退回，请改正后重新提交"
    if report.open_warnings:
        return f"通过（有 {len(report.open_warnings)} 个警告待核实：数据无误的，请在“情况说明”表中写明原因）"
    return "通过"


def counts_line(result: CheckResult) -> str:
    r = result.report
    explained = len(r.warnings) - len(r.open_warnings)
    return f"错误 {len(r.errors)} 个，警告 {len(r.open_warnings)} 个，已说明 {explained} 个，提示 {len(r.notices)} 个"


def _results_sheet(result: CheckResult) -> Any:
    """The `extra` callback of write_workbook: adds 校验结果 as the first, active sheet."""

    def add(wb: Workbook, lay: Layout, formats: dict[str, Any]) -> None:
        ws = wb.add_worksheet(SHEET)
        # Move the new sheet to the front; xlsxwriter orders sheets by this list and their `index`.
        sheets = wb.worksheets_objs
        sheets.insert(0, sheets.pop())
        for i, sheet in enumerate(sheets):
            sheet.index = i
            sheet.selected = 0
        ws.activate()
        ws.set_first_sheet()
        _fill_results(wb, ws, lay, result)

    return add


def _fill_results(wb: Workbook, ws: Any, lay: Layout, result: CheckResult) -> None:
    base = {"font_name": "宋体", "font_size": 11, "valign": "top", "text_wrap": True}
    title = wb.add_format({**base, "bold": True, "font_size": 15})
    plain = wb.add_format(base)
    strong = wb.add_format({**base, "bold": True})
    header = wb.add_format({**base, "bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center"})
    cell = wb.add_format({**base, "border": 1})
    link = wb.add_format({**base, "border": 1, "font_color": "#0563C1", "underline": 1})
    status = {
        key: wb.add_format({**base, "border": 1, "bold": True, "align": "center", "bg_color": colour})
        for key, colour in SEVERITY_FILL.items()
    }
    last_col = len(_COLUMNS) - 1
    for col, (_, width) in enumerate(_COLUMNS):
        ws.set_column(col, col, width)
    ws.set_paper(9)  # A4 landscape, every column on one page width
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    sub = result.submission
    ws.merge_range(0, 0, 0, last_col, "校验结果", title)
    lines = [
        ("文件", result.file),
        ("单位", (sub.agency if sub else None) or "（未填写）"),
        ("报告年度", str(sub.year) if sub and sub.year else "（未填写）"),
        ("格式", lay.spec.label),
        ("结论", verdict(result)),
        ("统计", counts_line(result)),
    ]
    for i, (key, value) in enumerate(lines, start=1):
        ws.write_string(i, 0, key, strong)
        ws.merge_range(i, 1, i, last_col, "", strong if key == "结论" else plain)
        ws.write_string(i, 1, value, strong if key == "结论" else plain)
    guide = (
        "说明：点击“位置”可跳到对应单元格；单元格底色：红色为错误（必须改正），黄色为警告（核实后改正，或在“情况说明”表中写明原因），"
        "绿色为已说明，蓝色为提示。鼠标停在标色单元格上可看到具体问题。改正后直接保存本工作簿并重新提交即可，本表不会被读取。"
    )
    row = len(lines) + 1
    ws.merge_range(row, 0, row, last_col, "", plain)
    ws.write_string(row, 0, guide, plain)
    ws.set_row(row, 48)
    row += 2
    for col, (name, _) in enumerate(_COLUMNS):
        ws.write_string(row, col, name, header)
    ws.freeze_panes(row + 1, 0)
    sheet_names = {plan.name for plan in lay.sheets}
    for n, f in enumerate(result.report.sorted(), start=1):
        row += 1
        ws.write_number(row, 0, n, cell)
        ws.write_string(row, 1, f.status_label, status.get(_mark_severity(f), cell))
        rule = lay.spec.rules.get(f.rule_id)
        ws.write_string(row, 2, f"{f.rule_id} {rule.title}" if rule else f.rule_id, cell)
        if f.sheet in sheet_names:
            target = f.cell if f.cell and _is_a1(f.cell) else "A1"
            ws.write_url(row, 3, f"internal:'{f.sheet}'!{target}", link, string=f.location, tip="跳到此单元格")
        else:
            ws.write_string(row, 3, f.location, cell)
        ws.write_string(row, 4, f.expected or "", cell)
        ws.write_string(row, 5, f.found or "", cell)
        message = f.message + (f"\n情况说明：{f.explanation}" if f.explanation else "")
        ws.write_string(row, 6, message, cell)
    if not result.report.findings:
        ws.merge_range(row + 1, 0, row + 1, last_col, "", plain)
        ws.write_string(row + 1, 0, "未发现问题。", plain)
    ws.protect("", {"format_columns": True, "format_rows": True})


def _is_a1(ref: str) -> bool:
    try:
        r, c = parse_a1(ref)
    except (StopIteration, ValueError):
        return False
    return r >= 0 and c >= 0


def write_feedback(path: Path, result: CheckResult) -> Path:
    """Write the feedback workbook for a checked file to `path` (atomically); returns the path.

    Built from our own template (protection, validation and formulas intact) with the agency's
    values, never from their file, which is not touched. Raises ValueError when the file could
    not be read at all (nothing to rebuild).
    """
    if result.submission is None:
        raise ValueError(f"文件“{result.file}”未能读取，无法生成反馈工作簿。")
    spec = result.submission.spec
    return write_workbook(path, spec, filling(result), marks=marks(result), extra=_results_sheet(result))
