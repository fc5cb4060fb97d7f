"""The check pipeline: rules over a submission (pure), and read → rules → explanations for a workbook."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loguru import logger

from .findings import ERROR, Finding, Report, finding
from .layout import layout
from .rules import Context, cells_of, run_rule
from .rules.explanations import apply as _apply_explanations
from .spec import Spec, load_specs
from .submission import Submission, input_cells


@dataclass
class Options:
    """Choices of the coordinator running the check (CLI flags, batch settings)."""

    year: int | None = None  # the report year being collected; a file of another year → year-mismatch
    text_limit: int | None = None  # overrides the T3 limit (default from the spec)


@dataclass
class CheckResult:
    """Everything known about one checked file: the submission read (if any), its report and edition."""

    file: str
    submission: Submission | None
    report: Report
    spec: Spec | None

    @property
    def agency(self) -> str | None:
        return self.submission.agency if self.submission else None

    def to_dict(self) -> dict[str, Any]:
        """The --json object of one file (documented in the README, “JSON 输出格式”)."""
        sub, report = self.submission, self.report
        return {
            "file": self.file,
            "agency": self.agency,
            "edition": self.spec.edition if self.spec else (sub.edition if sub else None),
            "year": sub.year if sub else None,
            "status": report.status,
            "counts": {
                "error": len(report.errors),
                "warning": len(report.open_warnings),
                "explained": len(report.warnings) - len(report.open_warnings),
                "notice": len(report.notices),
            },
            "findings": [_finding_dict(f) for f in report.sorted()],
        }


_FINDING_KEYS = ("rule", "severity", "status", "sheet", "cell", "code", "expected", "found", "message", "explanation")


def _finding_dict(f: Finding) -> dict[str, Any]:
    """Finding.to_dict in a reading order, without agency and file (stated once per file)."""
    d = f.to_dict()
    return {key: d[key] for key in _FINDING_KEYS}


def check(
    submission: Submission, *, previous: Submission | None = None, options: Options | None = None
) -> list[Finding]:
    """Every rule of the submission's edition over it; pure (no disk, no clock).

    `previous` is the same agency's report of the year before: the cross-year rules (I1–I3) run
    only when it is given and really is last year's. Findings come in spec order; Report sorts.
    """
    options = options or Options()
    spec = submission.spec
    findings = year_mismatch(submission, options)
    ctx = Context(submission, previous, options.text_limit)
    for rule in spec.rules.values():
        if rule.kind:
            findings += run_rule(rule, ctx)
    return findings


def year_mismatch(submission: Submission, options: Options) -> list[Finding]:
    """A report of another year than the one being collected is an error at 报告年度."""
    if options.year is None or submission.year is None or submission.year == options.year:
        return []
    how = "how_later" if submission.year > options.year else "how_earlier"
    return [year_finding(submission.spec, submission.year, options.year, how)]


def year_finding(spec: Spec, found: int, expected: int, how: str) -> Finding:
    """year-mismatch at 报告年度, with what to do said by the rule's parameter `how` (how_earlier: a late
    report, how_later: next year's, how_same: the very report counted for its year)."""
    place = layout(spec).places["info.year"]
    words = spec.rule("year-mismatch").params[how].format(found=found, expected=expected)
    return finding(
        spec,
        "year-mismatch",
        sheet=place.sheet,
        cell=place.a1,
        code="info.year",
        expected=expected,
        found=found,
        how=words,
    )


def apply_explanations(submission: Submission, findings: list[Finding], *, last_year: bool = True) -> list[Finding]:
    """Warnings named by a long enough 情况说明 row become 已说明; notices about the rows are added.
    `last_year`: the cross-year rules were checked against last year's report (see rules.explanations)."""
    return _apply_explanations(submission, findings, last_year=last_year)


def drop_consequences(spec: Spec, findings: list[Finding], reading: list[Finding]) -> list[Finding]:
    """Remove rule findings that only restate a value the reader refused (counted as 0).

    E.g. a 「五件」 in 一、本年新收 is an error of its own; the E1 imbalance it causes is not news.
    """
    refused = {f.code for f in reading if f.severity == ERROR and f.code in spec.cells}
    texts = {f.code for f in reading if f.severity == ERROR and f.code and f.code.startswith("text.")}
    if not refused and not texts:
        return findings
    kept = []
    for f in findings:
        if f.code in texts:  # (a text the reader could not read: "未填写" would restate it)
            continue
        involved = set().union(*(input_cells(spec, c) for c in cells_of(f, spec))) if f.code else set()
        if not involved & refused:
            kept.append(f)
    return kept


_REF = re.compile(r"(?<![A-Za-z0-9$])([A-Z]{1,3}[0-9]{1,6})(?![0-9])")  # an A1 address in a message


def where_moved(sub: Submission, findings: list[Finding], read: list[Finding]) -> list[Finding]:
    """Findings of a file whose rows or columns were added or deleted (sub.moved), told in both frames:
    their cells as the template (and the feedback workbook, built from it) has them, and a closing
    sentence giving where those cells are in the file itself. The reader's own findings (`read`), made
    at the cells where it found them, are first put in the template's frame like the rules' ones."""
    if not sub.moved:
        return findings
    places = layout(sub.spec).places
    read_ids = {id(f) for f in read}
    by_sheet = sub.moved_by_sheet()
    out = []
    for f in findings:
        moved = by_sheet.get(f.sheet or "", {})
        if not moved or f.rule_id == "structure-changed":
            out.append(f)
            continue
        if id(f) in read_ids and f.code in places and moved.get(places[f.code].a1) == f.cell:
            home = places[f.code].a1  # (found at f.cell in the file: said at the template's cell)
            said = re.sub(rf"(?<![A-Za-z0-9$]){f.cell}(?![0-9])", home, f.message)
            f = replace(f, cell=home, message=said)
        refs = [r for r in dict.fromkeys([*_REF.findall(f.message), *([f.cell] if f.cell else [])]) if r in moved]
        if refs:
            there = "、".join(f"{r} 为 {moved[r]}" for r in refs)
            f = replace(
                f,
                message=f"{f.message}（此表增删过行列：以上单元格按标准模板即反馈工作簿中的位置，原文件中 {there}。）",
            )
        out.append(f)
    return out


def check_workbook(
    source: Path | bytes,
    *,
    name: str | None = None,
    previous: Submission | Callable[[Submission], Submission | None] | None = None,
    options: Options | None = None,
    limits: Any = None,
) -> CheckResult:
    """Read and check one workbook: read → identity/year → rules → explanations (never raises on a bad file).

    `previous` is last year's report of the same agency, or a function that finds it from the
    submission just read (the batch only knows the unit after reading; the file is read once).
    Every finding is stamped with the agency and the file name. The input is never modified.
    """
    from .reader import ReadResult, read_workbook

    file = name or (Path(source).name if not isinstance(source, bytes) else "未命名.xlsx")
    try:
        read = read_workbook(source, name=file, limits=limits)
    except Exception as exc:  # a reader bug must not stop a batch: the file becomes a finding
        logger.exception("读取文件“{}”时出现内部错误", file)
        reason = f"读取时出现内部错误 {type(exc).__name__}，请把此文件发给技术支持"
        any_spec = next(iter(load_specs().values()))
        read = ReadResult(
            submission=None, findings=[finding(any_spec, "file-unreadable", file=file, reason=reason)], spec=None
        )
    findings = list(read.findings)
    sub = read.submission
    if sub is not None:
        if callable(previous):
            previous = previous(sub)
        findings += drop_consequences(sub.spec, check(sub, previous=previous, options=options), read.findings)
        if sub.kind == "rollup" and sub.units == 0:  # sent up, it would stand for its units as 0s
            findings.append(finding(sub.spec, "rollup-empty", file=file, agency=sub.agency or "本级"))
        findings = apply_explanations(sub, findings, last_year=previous is not None)
        findings = where_moved(sub, findings, read.findings)
    agency = sub.agency if sub is not None else None
    stamped = [f.about(agency=agency, file=file) for f in findings]
    return CheckResult(file=file, submission=sub, report=Report(stamped), spec=read.spec)
