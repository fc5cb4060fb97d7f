"""Findings as data: one record per problem, built from the spec's rule catalogue, and the report of a file."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .spec import Rule, Spec

ERROR, WARNING, NOTICE = "error", "warning", "notice"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, NOTICE: 2}
SEVERITY_LABEL = {ERROR: "错误", WARNING: "警告", NOTICE: "提示"}
SEVERITY_TIER = {ERROR: "强制性", WARNING: "核实性", NOTICE: "提示性"}
UNKNOWN = "未知"


@dataclass(frozen=True)
class Finding:
    """One problem found in one submission; feeds console, --json, feedback, summary and log alike."""

    rule_id: str
    severity: str  # error | warning | notice
    message: str  # the Chinese sentence a clerk reads: where → what → why → how to fix
    sheet: str | None = None
    cell: str | None = None  # A1 address on `sheet`
    code: str | None = None  # spec cell code (s3.r1.c1, info.agency, text.s1 …) when about one cell
    expected: str | None = None
    found: str | None = None
    agency: str | None = None
    file: str | None = None
    explanation: str | None = None  # the agency's 情况说明 that lets a warning stand (已说明)

    @property
    def explained(self) -> bool:
        return self.explanation is not None

    @property
    def is_open(self) -> bool:
        """Errors and unexplained warnings need action; notices and explained warnings do not."""
        return self.severity == ERROR or (self.severity == WARNING and not self.explained)

    @property
    def status_label(self) -> str:
        return "已说明" if self.explained else SEVERITY_LABEL[self.severity]

    @property
    def location(self) -> str:
        """sheet!cell as a user types it, or the sheet alone, or empty."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    def __hash__(self) -> int:
        """The hash of its fields, kept once made: a summary's list rows are known by their findings
        (~20,000 at 10,000 units, hashed again at every `watch` refresh)."""
        known = self.__dict__.get("_hash")
        if known is None:
            known = hash(tuple(self.__dict__[name] for name in _FIELDS))
            object.__setattr__(self, "_hash", known)
        return known

    def __getstate__(self) -> dict[str, Any]:
        """Its fields without the kept hash (a string's hash differs from process to process)."""
        return {name: self.__dict__[name] for name in _FIELDS}

    def as_dict(self) -> dict[str, Any]:
        """Every field by name, in order (what the ledger stores). Flat: no deep copy as asdict makes."""
        return {name: getattr(self, name) for name in _FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The --json shape: rule, severity, sheet, cell, expected, found, message (+ context)."""
        d = self.as_dict()
        d["rule"] = d.pop("rule_id")
        d["status"] = "explained" if self.explained else ("open" if self.is_open else "info")
        return d

    def about(self, *, agency: str | None = None, file: str | None = None) -> Finding:
        return replace(
            self, agency=agency if agency is not None else self.agency, file=file if file is not None else self.file
        )


_FIELDS = tuple(f.name for f in fields(Finding))


class _Tokens(dict):
    def __missing__(self, key: str) -> str:
        return UNKNOWN


def render(template: str, **tokens: Any) -> str:
    """Fill a message template; a token the caller did not give renders as 未知 instead of raising."""
    values = _Tokens({k: _text(v) for k, v in tokens.items() if v is not None})
    return template.format_map(values)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def make_finding(
    rule: Rule,
    *,
    sheet: str | None = None,
    cell: str | None = None,
    code: str | None = None,
    expected: Any = None,
    found: Any = None,
    **tokens: Any,
) -> Finding:
    """Build a finding from a catalogue rule; every keyword is also available to the message template."""
    message = render(rule.message, sheet=sheet, cell=cell, expected=expected, found=found, **tokens)
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        message=message,
        sheet=sheet,
        cell=cell,
        code=code,
        expected=None if expected is None else _text(expected),
        found=None if found is None else _text(found),
        file=tokens.get("file"),
    )


def finding(spec: Spec, rule_id: str, **kwargs: Any) -> Finding:
    """make_finding for a rule named by id in the spec (generic catalogue or edition rules)."""
    return make_finding(spec.rule(rule_id), **kwargs)


def findings_packed(findings: Iterable[Finding]) -> str:
    """Findings packed into a short text (kept in the ledger with the outputs): the field names once, then
    each finding's values in that order, as JSON lines deflated and base64-encoded. Made a finding at a
    time: ~13,000 内容雷同 findings of a province never stand as one JSON text (~6 MB) at a run's end."""
    pack = zlib.compressobj(6)
    parts = [pack.compress(json.dumps(list(_FIELDS), ensure_ascii=False).encode())]
    for f in findings:
        parts.append(
            pack.compress(b"\n" + json.dumps([getattr(f, name) for name in _FIELDS], ensure_ascii=False).encode())
        )
    parts.append(pack.flush())
    return base64.b64encode(b"".join(parts)).decode("ascii")


def findings_unpacked(text: Any) -> list[Finding]:
    """What findings_packed made (a field this version does not know, written by a newer one, left out);
    [] for anything else. The rows of a record an earlier version kept ({"fields": […], "rows": […]}) too."""
    if isinstance(text, dict) and isinstance(text.get("fields"), list) and isinstance(text.get("rows"), list):
        names, lines = text["fields"], [json.dumps(row) for row in text["rows"]]
    else:
        try:
            head, *lines = zlib.decompress(base64.b64decode(text, validate=True)).decode().split("\n")
            names = json.loads(head)
        except (TypeError, ValueError, zlib.error):
            return []
    known = [i for i, name in enumerate(names) if name in _FIELDS]
    out = []
    for line in lines:
        try:
            row = json.loads(line)
            out.append(Finding(**{names[i]: row[i] for i in known}))
        except (TypeError, IndexError, ValueError):  # (a row that is not one: left out)
            continue
    return out


def rule_title(rule_id: str, spec: Spec | None) -> str:
    """A rule's title in the edition's catalogue (不是数字), or its id when the catalogue has none."""
    rule = spec.rules.get(rule_id) if spec is not None else None
    return rule.title if rule is not None else rule_id


def in_brief(f: Finding, spec: Spec | None) -> str:
    """A finding in a few words, where and what (二、主动公开!B14 不是数字): whom to call about what."""
    return " ".join(filter(None, [f.location, rule_title(f.rule_id, spec)]))


def first_open(findings: Iterable[Finding], severity: str) -> Finding | None:
    """The first open finding of a severity, in the order 问题清单 lists them (sort_key)."""
    return min((f for f in findings if f.severity == severity and f.is_open), key=sort_key, default=None)


def sort_key(f: Finding) -> tuple[Any, ...]:
    return (SEVERITY_ORDER.get(f.severity, 9), f.sheet or "", len(f.cell or ""), f.cell or "", f.rule_id)


@dataclass
class Report:
    """Everything found in one file, and the verdict."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def open_warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING and not f.explained]

    @property
    def notices(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == NOTICE]

    @property
    def valid(self) -> bool:
        """No error: the workbook is accepted (possibly with warnings)."""
        return not self.errors

    @property
    def status(self) -> str:
        return "accepted" if self.valid else "rejected"

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=sort_key)

    def pick(self, *rule_ids: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id in rule_ids]
