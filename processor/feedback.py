"""The feedback workbook: the agency's report rebuilt from our template, flagged cells marked, a 校验结果 sheet first."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

from loguru import logger
from xlsxwriter.workbook import Workbook

from .check import CheckResult
from .findings import ERROR, WARNING, Finding, Report
from .layout import Layout, layout, note_code, parse_a1
from .rules import marked_cells
from .rules.explanations import named_by_rows
from .skeleton import SheetCell, SheetContent, Skeleton, Unsupported
from .spec import Spec
from .template import SEVERITY_FILL, Filling, Mark, row_height, wrapped_lines, write_workbook

SHEET = "校验结果"
COMMENT_LIMIT = 2000  # characters kept in one cell comment (all findings are on the 校验结果 sheet anyway)
_MARK_RANK = {ERROR: 0, WARNING: 1, "explained": 2, "notice": 3}
LINE_HEIGHT = 14.5  # points per line of 11-point 宋体 (the 校验结果 sheet)
_COLUMNS = (("序号", 6), ("状态", 8), ("规则", 22), ("位置", 24), ("应为", 10), ("实际", 10), ("问题及处理办法", 90))
_GUIDE = (
    "说明：点击“位置”可跳到对应单元格；单元格底色：红色为错误（必须改正），黄色为警告（核实后改正，或在“情况说明”表中写明原因），"
    "绿色为已说明，蓝色为提示。鼠标停在标色单元格上可看到具体问题。改正后直接保存本工作簿并重新提交即可，本表不会被读取。"
)
LINK_TIP = "跳到此单元格"


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
    spec, cells = sub.spec, sub.spec.cells
    refused = _refused(spec, result.report.findings)
    values: dict[str, object] = {
        code: value
        for code, value in sub.values.items()
        if code in cells and not cells[code].is_total and code not in sub.blanks and code not in refused
    }
    values.update(refused)
    texts = {k: v for k, v in sub.texts.items() if k.startswith(("info.", "text."))}
    used: set[int] = set()
    for note in sub.notes:
        if 1 <= note.index <= spec.notes.rows:
            texts[note_code(note.index, "rule")] = note.rule
            texts[note_code(note.index, "cell")] = note.cell
            texts[note_code(note.index, "text")] = note.text
            if note.rule or note.cell or note.text:
                used.add(note.index)
    free = (i for i in range(1, spec.notes.rows + 1) if i not in used)
    found = result.report.sorted()
    by_rows = named_by_rows(sub, found)  # (a row the clerk wrote their own way names it too: Ｉ１, D7单元格 …)
    named: set[tuple[str, str | None]] = set()
    for i, f in enumerate(found):
        if f.severity != WARNING or f.explained or i in by_rows or (f.rule_id.upper(), f.cell) in named:
            continue
        if not _explainable(spec, f):  # (settled by the coordinator)
            continue
        index = next(free, None)
        if index is None:
            break
        texts[note_code(index, "rule")] = f.rule_id
        texts[note_code(index, "cell")] = f.cell or ""
        named.add((f.rule_id.upper(), f.cell))
    covers = tuple(sub.covers) if sub.covers is not None else None  # (a roll-up returned keeps saying its units)
    return Filling(
        values=values, texts=texts, year=sub.year, agency=sub.agency, kind=sub.kind, units=sub.units, covers=covers
    )


def marks(result: CheckResult) -> dict[str, Mark]:
    """One mark per flagged cell: the most severe status colours it, the comment holds every message."""
    if result.submission is None:
        return {}
    spec = result.submission.spec
    places = layout(spec).places
    hits: dict[str, list[Finding]] = {}
    blanks = result.submission.blanks
    for f in result.report.sorted():
        for code in marked_cells(f, spec, blanks):
            if code in places and not code.startswith("meta."):
                hits.setdefault(code, []).append(f)
    out = {}
    for code, found in hits.items():
        severity = min((_mark_severity(f) for f in found), key=_MARK_RANK.__getitem__)
        comment = "\n\n".join(_comment_line(f) + _as_rebuilt(spec, code, f) for f in found)
        if len(comment) > COMMENT_LIMIT:
            comment = comment[: COMMENT_LIMIT - 20] + f"……（其余见“{SHEET}”工作表）"
        out[code] = Mark(severity, comment)
    return out


def _as_rebuilt(spec: Spec, code: str, f: Finding) -> str:
    """What the feedback workbook shows in a total cell a total rule flagged: not the number the agency's
    file has (the comment says 请改正 J6), but the template's formula, which adds up the parts as typed."""
    rule = spec.rules.get(f.rule_id)
    if code != f.code or rule is None or rule.kind != "total" or not spec.cells[code].is_total:
        return ""
    return (
        f"\n（本反馈工作簿中 {f.cell} 已恢复为合计公式，显示的是各项之和 {f.expected}；报送的文件中为 {f.found}。"
        f"合计不必手工填写：如 {f.found} 才是正确的合计，请补正参与合计的各项。）"
    )


def _comment_line(f: Finding) -> str:
    line = f"【{f.status_label} {f.rule_id}】{f.message}"
    return line + (f"\n（情况说明：{f.explanation}）" if f.explanation else "")


def verdict(result: CheckResult) -> str:
    """The one-line outcome a clerk reads first."""
    report = result.report
    decided = _decided(result)
    if decided:
        return decided
    if result.submission is None or not report.valid:
        return "退回，请改正后重新提交"
    if report.open_warnings:
        spec = result.submission.spec
        explainable = [f for f in report.open_warnings if _explainable(spec, f)]
        if not explainable:  # (only warnings the coordinator settles: unit-name-mismatch and the like)
            return f"通过（有 {len(report.open_warnings)} 个警告，由汇总单位核实）"
        return f"通过（有 {len(explainable)} 个警告待核实：数据无误的，请在“情况说明”表中写明原因）"
    return "通过"


def _decided(result: CheckResult) -> str | None:
    """The outcome a rule decides whatever else was found (its `verdict` in the spec, e.g. withdrawn)."""
    rules = result.spec.rules if result.spec else {}
    for f in result.report.findings:
        rule = rules.get(f.rule_id)
        if rule is not None and "verdict" in rule.params:
            return str(rule.params["verdict"])
    return None


def _explainable(spec: Spec, f: Finding) -> bool:
    """Whether a 情况说明 row can settle a warning (not one of the rules marked `explainable: false`)."""
    rule = spec.rules.get(f.rule_id)
    return rule is None or rule.params.get("explainable") is not False


def counts_line(result: CheckResult) -> str:
    r = result.report
    explained = len(r.warnings) - len(r.open_warnings)
    return f"错误 {len(r.errors)} 个，警告 {len(r.open_warnings)} 个，已说明 {explained} 个，提示 {len(r.notices)} 个"


def results_sheet(result: CheckResult, lay: Layout) -> SheetContent:
    """The 校验结果 sheet's content: the outcome, a guide, then one row per finding with a link to its cell."""
    last_col = len(_COLUMNS) - 1
    sheet = SheetContent()

    def line(row: int, value: str, style: str) -> None:  # text across the whole width
        sheet.merges.append((row, 0, row, last_col, style))
        sheet.cells.append(SheetCell(row, 0, value, style))

    line(0, "校验结果", "title")
    sub = result.submission
    lines = [
        ("文件", result.file),
        ("单位", (sub.agency if sub else None) or "（未填写）"),
        ("报告年度", str(sub.year) if sub and sub.year else "（未填写）"),
        ("格式", lay.spec.label),
        ("结论", verdict(result)),
        ("统计", counts_line(result)),
    ]
    for i, (key, value) in enumerate(lines, start=1):
        style = "strong" if key == "结论" else "plain"
        sheet.cells.append(SheetCell(i, 0, key, "strong"))
        sheet.merges.append((i, 1, i, last_col, style))
        sheet.cells.append(SheetCell(i, 1, value, style))
    row = len(lines) + 1
    line(row, _GUIDE, "plain")
    sheet.heights[row] = 48
    row += 2
    sheet.cells += [SheetCell(row, col, name, "header") for col, (name, _) in enumerate(_COLUMNS)]
    sheet.freeze = row + 1
    sheet_names = {plan.name for plan in lay.sheets}
    for n, f in enumerate(result.report.sorted(), start=1):
        row += 1
        rule = lay.spec.rules.get(f.rule_id)
        link = None
        home = lay.places.get(f.code) if f.code else None
        if home is not None:  # (the cell as this workbook has it: a sheet the clerk renamed has its name again)
            link = f"'{home.sheet}'!{home.a1}"
        elif f.sheet in sheet_names:
            link = f"'{f.sheet}'!{f.cell if f.cell and _is_a1(f.cell) else 'A1'}"
        message = f.message + (f"\n情况说明：{f.explanation}" if f.explanation else "")
        texts = [f"{f.rule_id} {rule.title}" if rule else f.rule_id, f.location, f.expected or "", f.found or ""]
        sheet.cells += [
            SheetCell(row, 0, n, "cell"),
            SheetCell(row, 1, f.status_label, f"status-{_mark_severity(f)}"),
            SheetCell(row, 2, texts[0], "cell"),
            SheetCell(row, 3, texts[1], "link" if link else "cell", link, LINK_TIP if link else None),
            SheetCell(row, 4, texts[2], "cell"),
            SheetCell(row, 5, texts[3], "cell"),
            SheetCell(row, 6, message, "cell"),
        ]
        lines = max(wrapped_lines(t, width) for t, (_, width) in zip([*texts, message], _COLUMNS[2:], strict=True))
        if lines > 1:  # tall enough to read every line: an office suite does not grow the row itself
            sheet.heights[row] = row_height(lines, LINE_HEIGHT)
    if not result.report.findings:
        line(row + 1, "未发现问题。", "plain")
    return sheet


def results_formats(wb: Workbook) -> dict[str, Any]:
    """The 校验结果 sheet's formats by style name."""
    base = {"font_name": "宋体", "font_size": 11, "valign": "top", "text_wrap": True}
    styles: dict[str, dict[str, Any]] = {
        "title": {**base, "bold": True, "font_size": 15},
        "plain": base,
        "strong": {**base, "bold": True},
        "header": {**base, "bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center"},
        "cell": {**base, "border": 1},
        "link": {**base, "border": 1, "font_color": "#0563C1", "underline": 1},
    }
    for key, colour in SEVERITY_FILL.items():
        styles[f"status-{key}"] = {**base, "border": 1, "bold": True, "align": "center", "bg_color": colour}
    return {name: wb.add_format(props) for name, props in styles.items()}


def _front_sheet(sheet: SheetContent) -> Callable[[Workbook, Layout, dict[str, Any]], dict[str, Any]]:
    """The `extra` callback of write_workbook: adds 校验结果 as the first, active sheet; returns its formats."""

    def add(wb: Workbook, lay: Layout, _: dict[str, Any]) -> dict[str, Any]:
        ws = wb.add_worksheet(SHEET)
        # Move the new sheet to the front; xlsxwriter orders sheets by this list and their `index`.
        sheets = wb.worksheets_objs
        sheets.insert(0, sheets.pop())
        for i, each in enumerate(sheets):
            each.index = i
            each.selected = 0
        ws.activate()
        ws.set_first_sheet()
        formats = results_formats(wb)
        _draw(ws, sheet, formats)
        return formats

    return add


def _draw(ws: Any, sheet: SheetContent, formats: dict[str, Any]) -> None:
    """The 校验结果 sheet through xlsxwriter (the reference the pre-rendered workbook is checked against)."""
    for col, (_, width) in enumerate(_COLUMNS):
        ws.set_column(col, col, width)
    ws.set_paper(9)  # A4 landscape, every column on one page width
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    for first_row, first_col, last_row, last_col, style in sheet.merges:
        ws.merge_range(first_row, first_col, last_row, last_col, "", formats[style])
    for row, height in sheet.heights.items():
        ws.set_row(row, height)
    for c in sheet.cells:
        if c.link:
            ws.write_url(c.row, c.col, f"internal:{c.link}", formats[c.style], string=c.value, tip=c.tip)
        elif isinstance(c.value, str):
            ws.write_string(c.row, c.col, c.value, formats[c.style])
        else:
            ws.write_number(c.row, c.col, c.value, formats[c.style])
    ws.freeze_panes(sheet.freeze, 0)
    ws.protect("", {"format_columns": True, "format_rows": True})


def _is_a1(ref: str) -> bool:
    try:
        r, c = parse_a1(ref)
    except (StopIteration, ValueError):
        return False
    return r >= 0 and c >= 0


def write_feedback(
    path: Path, result: CheckResult, *, engine: Literal["fast", "xlsxwriter"] = "fast", durable: bool = True
) -> Path:
    """Write the feedback workbook for a checked file to `path` (atomically); returns the path.

    Built from our own template (protection, validation and formulas intact) with the agency's
    values, never from their file, which is not touched. Raises ValueError when the file could
    not be read at all (nothing to rebuild). `engine` "fast" fills a workbook pre-rendered once per
    edition; "xlsxwriter" renders the whole workbook (the reference, and the fallback for values
    the fast path does not handle). durable=False: the caller fsyncs it later (atomic.atomic_path).
    """
    if result.submission is None:
        raise ValueError(f"文件“{result.file}”未能读取，无法生成反馈工作簿。")
    spec = result.submission.spec
    fill, cell_marks, sheet = filling(result), marks(result), results_sheet(result, layout(spec))
    if engine == "fast":
        skeleton = _skeleton(spec)
        try:
            if skeleton is not None:
                return skeleton.write(path, fill, cell_marks, sheet, durable=durable)
        except Unsupported:
            pass
    elif engine != "xlsxwriter":
        raise ValueError(f"unknown engine {engine!r}")
    return write_workbook(path, spec, fill, marks=cell_marks, extra=_front_sheet(sheet), durable=durable)


@cache
def _skeleton(spec: Spec) -> Skeleton | None:
    """The feedback workbook of an edition rendered once per process, with an empty 校验结果 sheet in front;
    None when it cannot be built (e.g. an edition whose form the patcher does not know): the
    xlsxwriter path then writes every feedback workbook, slower but the same."""
    empty = CheckResult(file="", submission=None, report=Report([]), spec=spec)
    try:
        return Skeleton.build(spec, _front_sheet(results_sheet(empty, layout(spec))))
    except (Unsupported, ValueError, KeyError) as exc:
        logger.warning("反馈工作簿的快速生成不可用（{}），改用逐个生成，结果相同。", exc)
        return None
