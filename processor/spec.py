"""Load the declarative edition specs (processor/specs/*.yaml) into typed, validated records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_DIR = Path(__file__).parent / "specs"
COMMON_FILE = "common.yaml"

VALUE_KINDS = ("count", "amount", "change")
INFO_KINDS = ("text", "credit_code", "year", "date")
SEVERITIES = ("error", "warning", "notice")
RULE_KINDS = (
    "balance",
    "total",
    "carry",
    "stock",
    "roll_forward",
    "text_required",
    "text_length",
    "text_mentions",
)
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class SpecError(ValueError):
    """A spec file is malformed; the message names the file and the key."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"规格文件 {path} 的 {key}：{problem}")


@dataclass(frozen=True)
class Column:
    code: str
    label: str
    kind: str = "count"
    bands: tuple[str, ...] = ()
    sum_of: tuple[str, ...] = ()
    rule: str | None = None


@dataclass(frozen=True)
class Row:
    code: str
    label: str
    groups: tuple[str, ...] = ()
    short: str | None = None
    sum_of: tuple[str, ...] = ()
    rule: str | None = None


@dataclass(frozen=True)
class Table:
    code: str
    sheet: str  # the sheet's display name
    section: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    caption: str | None = None
    corner: str | None = None

    def column(self, code: str) -> Column:
        return next(c for c in self.columns if c.code == code)

    def row(self, code: str) -> Row:
        return next(r for r in self.rows if r.code == code)

    @property
    def title(self) -> str:
        """How a user names this table: its caption, or its section heading."""
        return f"{self.section} {self.caption}" if self.caption else self.section


@dataclass(frozen=True)
class Cell:
    """One number of the form: an input, or a total computed from its parts."""

    code: str
    table: Table
    row: Row
    column: Column
    kind: str
    parts: tuple[str, ...] = ()  # codes summed into this cell when it is a total
    rule: str | None = None  # the rule that checks a total

    @property
    def is_total(self) -> bool:
        return bool(self.parts)

    @property
    def where(self) -> str:
        """Position in words, as a clerk reads the printed table.

        e.g. 第二十条第（一）项 · 规章 · 本年制发件数; （三）不予公开 1.属于国家秘密 · 自然人;
        行政复议 · 总计 (a column label used by several groups is qualified by its group).
        """
        row = self.row.label
        if self.row.groups and row[:1].isdigit():
            row = f"{self.row.groups[-1]} {row}"
        column = self.column.label
        if self.column.bands and sum(c.label == column for c in self.table.columns) > 1:
            column = f"{self.column.bands[-1]} · {column}"
        return " · ".join(bit for bit in (self.table.caption, row, column) if bit)


@dataclass(frozen=True)
class TextField:
    code: str
    heading: str
    guidance: str


@dataclass(frozen=True)
class InfoField:
    code: str
    label: str
    kind: str
    hint: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    message: str
    kind: str | None = None  # None for the generic catalogue (checked in code)
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class InputHelp:
    """What an input cell of one value kind says while a clerk types (title ≤ 32, texts ≤ 255 chars)."""

    title: str
    prompt: str
    error_title: str
    error: str


@dataclass(frozen=True)
class Notes:
    rows: int
    min_chars: int
    guidance: str


@dataclass(frozen=True)
class Spec:
    edition: str
    title: str
    issued_with: str
    years: tuple[int, int]
    template_version: str
    sheet_names: dict[str, str]
    tables: tuple[Table, ...]
    texts: tuple[TextField, ...]
    info: tuple[InfoField, ...]
    notes: Notes
    instructions: tuple[str, ...]
    rules: dict[str, Rule]
    source: str
    input_help: dict[str, InputHelp] = field(default_factory=dict, hash=False, compare=False)

    @property
    def cells(self) -> dict[str, Cell]:
        return _cells(self)

    def table(self, code: str) -> Table:
        return next(t for t in self.tables if t.code == code)

    def text(self, code: str) -> TextField:
        return next(t for t in self.texts if t.code == code)

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def with_params(self, rule_id: str, **params: Any) -> Spec:
        """This edition with some of a rule's parameters set otherwise (a job's setting, e.g. the
        text-similar scan_limit from nianbao.toml); the same edition in every other respect."""
        rule = self.rules[rule_id]
        return replace(self, rules={**self.rules, rule_id: replace(rule, params={**rule.params, **params})})

    def rules_of(self, kind: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == kind]

    def covers(self, year: int) -> bool:
        return self.years[0] <= year <= self.years[1]

    @property
    def label(self) -> str:
        """The edition as a user names it, e.g. 2019年版."""
        return f"{self.edition}年版"

    def __hash__(self) -> int:
        return hash((self.edition, self.source))

    def __reduce_ex__(self, protocol: Any) -> Any:
        """A registered edition pickles as its name (every worker result carried ~26 KB of form)."""
        if load_specs().get(self.edition) is self:
            return get_spec, (self.edition,)
        return object.__reduce_ex__(self, protocol)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spec) and (self.edition, self.source) == (other.edition, other.source)


def cell_code(table: str, row: str, column: str) -> str:
    return f"{table}.{row}.{column}"


@cache
def _cells(spec: Spec) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    for t in spec.tables:
        for r in t.rows:
            for c in t.columns:
                # A column total wins where a total row crosses a total column (the corner cell).
                if c.sum_of:
                    parts, rule = tuple(cell_code(t.code, r.code, p) for p in c.sum_of), c.rule
                elif r.sum_of:
                    parts, rule = tuple(cell_code(t.code, p, c.code) for p in r.sum_of), r.rule
                else:
                    parts, rule = (), None
                code = cell_code(t.code, r.code, c.code)
                cells[code] = Cell(code, t, r, c, c.kind, parts, rule)
    return cells


# ---- loading and checking ------------------------------------------------------------------


class _Reader:
    """Reads keys out of one YAML mapping, raising SpecError that names file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(self.path, key, problem)

    def get(self, data: Any, key: str, where: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if not isinstance(data, dict):
            raise self.fail(where, "应为映射（key: value）")
        if key not in data:
            if default is ...:
                raise self.fail(f"{where}.{key}" if where else key, "缺少此项")
            return default
        value = data[key]
        if not isinstance(value, kind):
            raise self.fail(f"{where}.{key}" if where else key, f"类型应为 {kind}，实际为 {type(value).__name__}")
        return value

    def code(self, data: Any, where: str) -> str:
        code = self.get(data, "code", where, str)
        if not _CODE.match(code.replace(".", "_")):
            raise self.fail(f"{where}.code", f"代码“{code}”只能含小写字母、数字、下划线和点")
        return code


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: ~7× faster


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(path, "(文件)", f"无法读取：{exc}") from exc
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as fast:
        try:  # the pure-Python parser says where, with the line and a caret under the place
            yaml.safe_load(text)
            exc = fast
        except yaml.YAMLError as slow:
            exc = slow
        raise SpecError(path, "(文件)", f"不是合法的 YAML：{exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(path, "(文件)", "顶层应为映射")
    return data


def _parse_table(rd: _Reader, raw: Any, where: str, sheet_names: dict[str, str]) -> Table:
    code = rd.code(raw, where)
    sheet_key = rd.get(raw, "sheet", where, str)
    if sheet_key not in sheet_names:
        raise rd.fail(f"{where}.sheet", f"未在 sheets 中声明的工作表“{sheet_key}”")
    columns = []
    for j, c in enumerate(rd.get(raw, "columns", where, list)):
        w = f"{where}.columns[{j}]"
        kind = rd.get(c, "kind", w, str, "count")
        if kind not in VALUE_KINDS:
            raise rd.fail(f"{w}.kind", f"未知的数值类型“{kind}”，应为 {VALUE_KINDS} 之一")
        columns.append(
            Column(
                code=rd.code(c, w),
                label=rd.get(c, "label", w, str),
                kind=kind,
                bands=tuple(rd.get(c, "bands", w, list, [])),
                sum_of=tuple(rd.get(c, "sum_of", w, list, [])),
                rule=rd.get(c, "rule", w, str, None),
            )
        )
    rows = []
    for i, r in enumerate(rd.get(raw, "rows", where, list)):
        w = f"{where}.rows[{i}]"
        rows.append(
            Row(
                code=rd.code(r, w),
                label=rd.get(r, "label", w, str),
                groups=tuple(rd.get(r, "groups", w, list, [])),
                short=rd.get(r, "short", w, str, None),
                sum_of=tuple(rd.get(r, "sum_of", w, list, [])),
                rule=rd.get(r, "rule", w, str, None),
            )
        )
    if not columns or not rows:
        raise rd.fail(where, "表格至少要有一行一列")
    for kind_name, items in (("columns", columns), ("rows", rows)):
        codes = [x.code for x in items]
        if len(set(codes)) != len(codes):
            raise rd.fail(f"{where}.{kind_name}", "代码重复")
        for k, x in enumerate(items):
            missing = [p for p in x.sum_of if p not in codes]
            if missing:
                raise rd.fail(f"{where}.{kind_name}[{k}].sum_of", f"引用了不存在的代码 {missing}")
            if x.sum_of and not x.rule:
                raise rd.fail(f"{where}.{kind_name}[{k}].rule", "合计必须指明校验它的规则编号")
    return Table(
        code=code,
        sheet=sheet_names[sheet_key],
        section=rd.get(raw, "section", where, str),
        columns=tuple(columns),
        rows=tuple(rows),
        caption=rd.get(raw, "caption", where, str, None),
        corner=rd.get(raw, "corner", where, str, None),
    )


def _parse_rule(rd: _Reader, raw: Any, where: str, generic: bool) -> Rule:
    rule_id = rd.get(raw, "id", where, str)
    severity = rd.get(raw, "severity", where, str)
    if severity not in SEVERITIES:
        raise rd.fail(f"{where}.severity", f"应为 {SEVERITIES} 之一，实际为“{severity}”")
    kind = None if generic else rd.get(raw, "kind", where, str)
    if kind is not None and kind not in RULE_KINDS:
        raise rd.fail(f"{where}.kind", f"未知的规则类型“{kind}”，应为 {RULE_KINDS} 之一")
    known = {"id", "severity", "title", "message", "kind"}
    return Rule(
        id=rule_id,
        severity=severity,
        title=rd.get(raw, "title", where, str),
        message=one_line(rd.get(raw, "message", where, str)),
        kind=kind,
        params={k: v for k, v in raw.items() if k not in known},
    )


_PUNCT = "\u3000-\u303f\uff00-\uffef"  # CJK and full-width punctuation: （）；，。、
_GAP = re.compile(rf"(?<=[{_PUNCT}]) (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) (?=[{_PUNCT}])")


def one_line(text: str) -> str:
    """A message as one line: its whitespace runs (a folded YAML scalar's line breaks) one space, and none
    beside Chinese punctuation (“提交；如果”, not “提交； 如果”); a space between words is kept (“加 上年增/减”)."""
    return tidy(" ".join(text.split()))


def tidy(text: str) -> str:
    """No space beside Chinese punctuation (a folded YAML scalar joins its lines with one); line breaks kept."""
    return _GAP.sub("", text)


def _check_rule_refs(rd: _Reader, spec: Spec) -> None:
    """Every table, row, column and text a rule names must exist."""
    tables = {t.code: t for t in spec.tables}
    texts = {t.code for t in spec.texts}
    for rule in spec.rules.values():
        p, where = rule.params, f"rules[{rule.id}]"
        for key in ("table", *(["tables"] if "tables" in p else [])):
            names = p.get(key)
            for name in [names] if isinstance(names, str) else names or []:
                if name not in tables:
                    raise rd.fail(f"{where}.{key}", f"引用了不存在的表格“{name}”")
        table = tables.get(p.get("table", ""))
        if table is not None:
            rows = {r.code for r in table.rows}
            cols = {c.code for c in table.columns}
            for key in ("left", "right", "this", "last"):
                for name in [p[key]] if isinstance(p.get(key), str) else p.get(key, []):
                    if name not in rows:
                        raise rd.fail(f"{where}.{key}", f"表格 {table.code} 没有行“{name}”")
            for key in ("stock", "plus", "minus", "base", "change"):
                if key in p and p[key] not in cols:
                    raise rd.fail(f"{where}.{key}", f"表格 {table.code} 没有列“{p[key]}”")
        if rule.kind and rule.kind.startswith("text_") and p.get("text") not in texts:
            raise rd.fail(f"{where}.text", f"引用了不存在的文字部分“{p.get('text')}”")
    for cell in spec.cells.values():
        if cell.rule and cell.rule not in spec.rules:
            raise rd.fail(f"tables[{cell.table.code}]", f"合计引用了不存在的规则“{cell.rule}”")


def load_spec_file(path: Path) -> Spec:
    """Load one edition spec (merged with common.yaml beside it) and check it thoroughly."""
    path = Path(path)
    common_path = path.parent / COMMON_FILE
    common, data = _load_yaml(common_path), _load_yaml(path)
    rc, rd = _Reader(common_path), _Reader(path)

    if "extends" in data:  # a province's extra tables or rules on top of an edition
        base = _load_yaml(path.parent / f"{rd.get(data, 'extends', '', str)}.yaml")
        for key in ("tables", "rules", "texts"):
            base[key] = list(base.get(key, [])) + list(data.get(key, []))
        base["sheets"] = {**base.get("sheets", {}), **data.get("sheets", {})}
        for key in ("edition", "title", "template_version"):
            if key in data:
                base[key] = data[key]
        data = base

    sheet_names = {**rc.get(common, "sheets", "", dict), **rd.get(data, "sheets", "", dict)}
    for key, name in sheet_names.items():
        if not isinstance(name, str) or not name or len(name) > 31 or re.search(r"[\[\]:*?/\\]", name):
            raise rd.fail(f"sheets.{key}", f"工作表名“{name}”不合法（1–31 个字符，不含 []:*?/\\）")
    years = rd.get(data, "years", "", list)
    if len(years) != 2 or not all(isinstance(y, int) for y in years) or years[0] > years[1]:
        raise rd.fail("years", "应为 [首年, 末年]")
    tables = tuple(
        _parse_table(rd, t, f"tables[{i}]", sheet_names) for i, t in enumerate(rd.get(data, "tables", "", list))
    )
    if len({t.code for t in tables}) != len(tables):
        raise rd.fail("tables", "表格代码重复")
    texts = tuple(
        TextField(
            rd.code(t, f"texts[{i}]"),
            rd.get(t, "heading", f"texts[{i}]", str),
            tidy(rd.get(t, "guidance", f"texts[{i}]", str)),
        )
        for i, t in enumerate(rd.get(data, "texts", "", list))
    )
    info = []
    for i, f in enumerate(rc.get(common, "info", "", list)):
        kind = rc.get(f, "kind", f"info[{i}]", str)
        if kind not in INFO_KINDS:
            raise rc.fail(f"info[{i}].kind", f"应为 {INFO_KINDS} 之一")
        info.append(
            InfoField(
                rc.code(f, f"info[{i}]"),
                rc.get(f, "label", f"info[{i}]", str),
                kind,
                rc.get(f, "hint", f"info[{i}]", str, ""),
            )
        )
    raw_notes = rc.get(common, "notes", "", dict)
    notes = Notes(
        rc.get(raw_notes, "rows", "notes", int),
        rc.get(raw_notes, "min_chars", "notes", int),
        tidy(rc.get(raw_notes, "guidance", "notes", str)),
    )
    input_help = {}
    for kind, raw in rc.get(common, "input_help", "", dict).items():
        w = f"input_help.{kind}"
        if kind not in (*VALUE_KINDS, *INFO_KINDS):
            raise rc.fail(w, f"未知的数值类型“{kind}”")
        words = [rc.get(raw, key, w, str) for key in ("title", "prompt", "error_title", "error")]
        if len(words[0]) > 32 or len(words[2]) > 32 or len(words[1]) > 255 or len(words[3]) > 255:
            raise rc.fail(w, "标题不能超过32个字符，提示和出错说明不能超过255个字符（Excel 的限制）")
        input_help[kind] = InputHelp(*words)
    rules: dict[str, Rule] = {}
    for src, rdr, generic in ((common, rc, True), (data, rd, False)):
        for i, r in enumerate(rdr.get(src, "rules", "", list)):
            rule = _parse_rule(rdr, r, f"rules[{i}]", generic)
            if rule.id in rules:
                raise rdr.fail(f"rules[{i}].id", f"规则编号“{rule.id}”重复")
            rules[rule.id] = rule
    spec = Spec(
        edition=str(rd.get(data, "edition", "", (str, int))),
        title=rd.get(data, "title", "", str),
        issued_with=rd.get(data, "issued_with", "", str, ""),
        years=(years[0], years[1]),
        template_version=str(rd.get(data, "template_version", "", (str, int))),
        sheet_names=sheet_names,
        tables=tables,
        texts=texts,
        info=tuple(info),
        notes=notes,
        instructions=tuple(rc.get(common, "instructions", "", list)),
        rules=rules,
        source=str(path),
        input_help=input_help,
    )
    _check_rule_refs(rd, spec)
    return spec


@cache
def load_specs(spec_dir: Path = SPEC_DIR) -> dict[str, Spec]:
    """Every edition spec in spec_dir, keyed by edition ("2019", "2021", …)."""
    specs: dict[str, Spec] = {}
    for path in sorted(Path(spec_dir).glob("*.yaml")):
        if path.name == COMMON_FILE:
            continue
        spec = load_spec_file(path)
        specs[spec.edition] = spec
    return specs


def get_spec(edition: str) -> Spec:
    specs = load_specs()
    if edition not in specs:
        raise KeyError(f"没有“{edition}”版格式（现有：{'、'.join(specs)}）")
    return specs[edition]


def edition_for_year(year: int) -> Spec:
    """The edition that covers a report year (≤2020 → 2019, ≥2021 → 2021)."""
    for spec in load_specs().values():
        if spec.covers(year):
            return spec
    raise KeyError(f"{year} 年没有对应的报告格式")
