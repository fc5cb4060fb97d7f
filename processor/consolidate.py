"""Consolidate accepted submissions: per-unit results in, sums per node of the unit tree out (pure)."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from . import __version__
from .findings import Finding, finding
from .kept import Memo
from .layout import INFO, layout
from .roster import GOVERNMENT, group_forms, is_place, normalise, short_name, starts_with_place
from .spec import Spec, get_spec
from .submission import Number, Submission

if TYPE_CHECKING:
    from .similarity import Comparisons

# Unit status, as the 报送情况 sheet and `nianbao status` show it.
ACCEPTED, WARNED, EXPLAINED, REJECTED, MISSING = "accepted", "warning", "explained", "rejected", "missing"
STATUS_LABEL = {ACCEPTED: "已通过", WARNED: "有警告", EXPLAINED: "已说明", REJECTED: "被退回", MISSING: "未报送"}
COUNTED = (ACCEPTED, WARNED, EXPLAINED)  # statuses whose figures enter the sums
COVERED = "covered"  # shown status of a unit a counted roll-up stands for (its own report not summed again)
SHOWN_LABEL = {**STATUS_LABEL, COVERED: "由汇总表涵盖"}  # a status as run, status and the summary show it
CLOSE_NAMES = (
    0.75  # difflib ratio from which an outside unit's name is taken for a roster unit's (outside-roster-twice)
)
ROLLUP = "rollup"  # Submission.kind of a county's (or any group's) consolidated report

Path_ = tuple[str, ...]  # a node of the unit tree: group names below the root, () is the root


class _Report:
    """UnitResult.submission: setting it also sets the unit's `is_rollup`, a plain attribute (read
    ~150,000 times a `watch` refresh at 10,000 units: ~50 ms as a property)."""

    def __get__(self, obj: Any, owner: Any = None) -> Submission | None:
        return None if obj is None else obj.__dict__["_submission"]  # (class access: the field's default)

    def __set__(self, obj: Any, value: Submission | None) -> None:
        obj.__dict__["_submission"] = value
        obj.__dict__["is_rollup"] = value is not None and value.kind == ROLLUP


@dataclass
class UnitResult:
    """One roster unit's standing in a consolidation (the batch job builds these from the ledger)."""

    name: str  # canonical roster name
    group: Path_ = ()  # path in the roster tree below the root, e.g. ("某某县", "乡镇街道")
    code: str | None = None  # roster code, if any
    status: str = MISSING
    # the submission that counts (accepted), or the latest rejected one; setting it sets is_rollup
    submission: Submission | None = _Report()  # type: ignore[assignment]
    findings: list[Finding] = field(default_factory=list)
    file: str | None = None  # original file name of that submission
    received_at: dt.datetime | None = None
    filler: str | None = None  # 填报人
    phone: str | None = None  # 联系电话
    sha256: str | None = None  # of the file as received, for the summary's list of sources
    file_id: int | None = None  # the ledger row of that submission (its submission may be loaded later)
    changed_at: dt.datetime | None = None  # when a file of this unit was last processed (a group's 生成时间)
    listed: bool = True  # a unit of the roster (False: a unit outside it, or a roll-up standing for a group)
    rejected_after: str | None = None  # a file received after the one counted, rejected: its name (a failed correction)
    withdrawn: str | None = None  # its last report was withdrawn (`nianbao withdraw`): which, and why, in words
    other_year: str | None = None  # 未报送, though a file of it came: another year's report, refused (in words)
    aliases: tuple[str, ...] = ()  # other names the roster knows it by (内容雷同 masks them as its own name)
    covers: list[str] | None = None  # a roll-up: the names of the units it sums, as it says them (None: not said)

    @property
    def counted(self) -> bool:
        return self.status in COUNTED and self.submission is not None

    # is_rollup: bool — a group's consolidated report (e.g. a county's summary) standing for the units of
    # that group: its submission's kind is ROLLUP (set with the submission, see _Report)
    is_rollup: bool = field(init=False, repr=False, compare=False, default=False)


@dataclass
class Node:
    """A node of the unit tree with the sums of every counted unit below it."""

    path: Path_  # () is the root (the whole city)
    values: dict[str, Number] = field(default_factory=dict)
    units: int = 0  # counted units below (a county roll-up counts its `units`)
    expected: int = 0  # roster units below
    children: list[Node] = field(default_factory=list)
    members: list[UnitResult] = field(default_factory=list)  # units placed directly at this node, roster order

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else ""

    def walk(self) -> Iterable[Node]:
        """This node and every node below it, parents before children, in roster order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class SummaryData:
    """Everything the summary workbook shows; the batch job fills it from its ledger and roster."""

    spec: Spec  # the edition being consolidated (follows the year)
    year: int
    units: list[UnitResult]  # every roster unit (missing ones too) and every roll-up received, roster order
    title: str = ""  # what the summary covers, as readers name it: 某某市 (the root's name)
    root: Path_ = ()  # the node this summary covers; subtree() sets it for a per-group summary
    previous: dict[str, Submission] | None = None  # last year's accepted submissions by unit name
    previous_ids: dict[str, int] | None = None  # … and their ledger rows (what a group summary's key names)
    # a key of `previous` that is not a unit's name now → the unit it is part of now (merged into it)
    previous_as: dict[str, str] = field(default_factory=dict)
    produced_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    started_at: dt.datetime | None = None  # the year's first ledger change: 生成时间 of a group that has nothing yet
    tool_version: str = __version__
    findings: list[Finding] = field(default_factory=list)  # job-level findings to list in 问题清单 too
    # a group's units that a roll-up outside it stands for (subtree: 甲县/县直部门's units, 甲县's roll-up)
    covered_outside: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The covered whole in words: the title, else the root group's name."""
        return self.title or (self.root[-1] if self.root else "全部单位")


@dataclass(frozen=True)
class Figure:
    """One headline figure of the 概览 sheet."""

    key: str
    label: str
    unit: str  # 件 | 万元
    value: Number
    share: float | None = None  # share of 办理结果总计, for 予以公开 and 部分公开
    codes: tuple[str, ...] = ()  # the cells of the 汇总表 added up into this figure


@dataclass
class Consolidation:
    """The pure result: the tree with sums, who counts, and what was noticed while summing."""

    root: Node
    nodes: dict[Path_, Node]
    counted: list[UnitResult]  # units whose figures are in the sums (roll-ups included)
    covered: dict[str, str]  # unit name → name of the counted roll-up that stands for it
    excluded: dict[str, Finding]  # unit name → why its accepted submission is not summed (edition, year)
    findings: list[Finding]  # what summing noticed: submissions not summed (edition, year), roll-up overlaps
    checks: list[Finding]  # E1–E4 failing on the sums of some node (empty when every total and balance holds)
    similar: list[Finding]  # 内容雷同 warnings (text-similar), by unit
    figures: list[Figure]  # headline figures of the sums
    previous: dict[str, Number] | None  # last year's headline figures (same scope) by Figure.key
    previous_units: int = 0  # the units last year's figures are of (a roll-up counts its units)
    spec: Spec | None = None  # the year's edition (its rules' titles name a unit's first problem in 报送情况)

    def names_counted(self, place: str | None = None) -> tuple[str, ...]:
        """The names of the units in the sums, for a roll-up report to carry, as the level above can know
        them (`_passed_up`; `place`: whose units they are, 西山县). For a counted roll-up: the units of this
        roster it stands for, and the names it says that are none of them (units this roster lacks) with
        its place in front (`_qualified`); else its name."""
        standing: dict[str, list[str]] = {}
        for name, rollup in self.covered.items():
            standing.setdefault(rollup, []).append(name)
        by_name = {u.name: u for u, _ in self.placed}
        names: list[str] = []
        for u in self.counted:
            if not u.is_rollup:
                names.append(_passed_up(u, place))
                continue
            mine = [by_name[n] for n in standing.get(u.name, []) if n in by_name and not by_name[n].is_rollup]
            _, unmatched = _match_names(u.covers or [], mine)
            where = next((p for p in reversed((*u.group, u.name)) if is_place(p)), u.name)  # (西山县)
            passed = [_passed_up(m, place) for m in mine]
            names.extend([*passed, *(_qualified(n, where) for n in unmatched)] or [u.name])
        return tuple(dict.fromkeys(names))

    @cached_property
    def placed(self) -> list[tuple[UnitResult, Node]]:
        """Every unit with the node it is shown under, in tree order (roster order within a node)."""
        return [(u, node) for node in self.root.walk() for u in node.members]


def _passed_up(u: UnitResult, place: str | None) -> str:
    """A unit's name as a roll-up passes it up: its roster name when that starts with a place, else a full
    name the roster also knows it by (an alias: 西山县人民政府办公室 for a county roster's 县政府办公室), else
    its name with the place it is in in front (`_qualified`): its innermost group that is a place (西山县 of
    a city roster's 西山县/县直部门), else `place` (the title: the roster's own units). A bare 县政府办公室
    matches nothing in the city's roster, and a name it cannot match makes the roll-up stand for its whole
    group (named_in)."""
    if starts_with_place(u.name):
        return u.name
    full = next((a for a in u.aliases if starts_with_place(a)), None)
    if full is not None:
        return full
    where = next((p for p in reversed(u.group) if is_place(p)), None) or (place if place and is_place(place) else None)
    return _qualified(u.name, where) if where else u.name


def sum_values(submissions: list[Submission]) -> dict[str, Number]:
    """Cell-by-cell sum of submissions of one edition (totals are sums of recomputed totals)."""
    total: dict[str, Number] = {}
    for sub in submissions:
        for code, value in sub.values.items():
            total[code] = total.get(code, 0) + value
    return total


def vector(values: Mapping[str, Number], codes: tuple[str, ...]) -> list[Number]:
    """The values of `codes`, in that order (0 where absent): one row of numbers."""
    try:
        return list(_getter(codes)(values)) if len(codes) > 1 else [values[codes[0]]]
    except KeyError:  # a light submission keeps only its non-zero values
        return list(map(values.get, codes, itertools.repeat(0)))


@cache
def _getter(codes: tuple[str, ...]) -> operator.itemgetter:
    return operator.itemgetter(*codes)


# ---- roll-ups ---------------------------------------------------------------------------------


def _group_paths(units: Iterable[UnitResult]) -> set[Path_]:
    paths: set[Path_] = set()
    for u in units:
        for i in range(1, len(u.group) + 1):
            paths.add(u.group[:i])
    return paths


def covered_path(unit: UnitResult, groups: set[Path_]) -> Path_ | None:
    """The group a roll-up stands for: the group named like the unit, beside it (group + name) or
    around it (the unit listed inside its own group); None when no roster group has its name."""
    if (*unit.group, unit.name) in groups:
        return (*unit.group, unit.name)
    if unit.group and unit.group[-1] == unit.name:
        return unit.group
    above = "".join(unit.group)  # (a nested group's roll-up is named with the groups above it: 西山县乡镇街道)
    if above and unit.name.startswith(above) and (*unit.group, unit.name[len(above) :]) in groups:
        return (*unit.group, unit.name[len(above) :])
    return None


def place_of(unit: UnitResult, groups: set[Path_]) -> Path_:
    """The node a unit's figures belong to: its group, or for a roll-up the group it stands for."""
    if unit.is_rollup:
        return covered_path(unit, groups) or unit.group
    return unit.group


def _under(path: Path_, top: Path_) -> bool:
    return path[: len(top)] == top


def covering(units: list[UnitResult]) -> dict[str, str]:
    """Unit name → the counted roll-up standing for it, as resolve_rollups decides (the summary shows
    such a unit as 由汇总表涵盖, never as missing or rejected). Needs the units' statuses and is_rollup
    only, not their submissions (`nianbao status`, the run's closing lines)."""
    return _cover(units)[0]


def _cover(
    units: list[UnitResult], groups: set[Path_] | None = None
) -> tuple[dict[str, str], list[tuple[UnitResult, list[UnitResult]]]]:
    """(covered: unit name → roll-up name; each counted roll-up with the units it covers), outer roll-ups first."""
    groups = _group_paths(units) if groups is None else groups
    rollups = [(covered_path(u, groups), u) for u in units if u.status in COUNTED and u.is_rollup]
    rollups = sorted(((p, u) for p, u in rollups if p is not None), key=lambda pu: len(pu[0]))
    covered: dict[str, str] = {}
    inside_of: list[tuple[UnitResult, list[UnitResult], list[str]]] = []
    if not rollups:
        return covered, inside_of
    below: dict[Path_, list[UnitResult]] = {}  # every group → the units placed under it, in order (not a
    for u in units:  # pass over all units per roll-up: a province's ~100 county roll-ups × 10,000 units)
        place = place_of(u, groups)
        for i in range(1, len(place) + 1):
            below.setdefault(place[:i], []).append(u)
    for path, rollup in rollups:
        if rollup.name in covered:
            continue  # nested inside a roll-up already counted
        inside = [u for u in below.get(path, ()) if u is not rollup and u.name not in covered]
        unknown: list[str] = []
        if rollup.covers is not None and not any(u.is_rollup for u in inside):
            inside, unknown = _named(rollup.covers, inside)
        for u in inside:
            covered[u.name] = rollup.name
        inside_of.append((rollup, inside, unknown))
    return covered, inside_of


def _some_names(names: list[str], *, quoted: bool = False) -> str:
    """The first five names (“quoted”), and 等 when there are more."""
    shown = [f"“{n}”" if quoted else n for n in names[:5]]
    return "、".join(shown) + ("等" if len(names) > 5 else "")


SIMILAR_RULE = "text-similar"  # 内容雷同 (similarity.similar_texts): ~13,000 findings at 10,000 units


def alike_names(findings: Iterable[Finding]) -> set[str]:
    """The units 内容雷同 was found of."""
    return {f.agency for f in findings if f.rule_id == SIMILAR_RULE and f.agency}


def alike_units(findings: Iterable[Finding]) -> int:
    """How many units 内容雷同 was found of."""
    return len(alike_names(findings))


def named_in(covers: Iterable[str], inside: list[UnitResult]) -> list[UnitResult]:
    """The units of a roll-up's group that the names it says it sums name (a county's roster may call
    them otherwise: 城关镇 for 西山县城关镇人民政府; names, aliases and their `roster.group_forms` without
    a government's suffix — not its office's: 西山县政府办 is not 西山县人民政府 — are compared).

    Every unit when a name is found for no unit, or for more than one: a unit the city's roster lacks, or
    named past recognition — the roll-up then stands for its whole group, as one that does not say its
    units (summing a unit's own report beside a roll-up that has it would count it twice)."""
    return _named(covers, inside)[0]


def _named(covers: Iterable[str], inside: list[UnitResult]) -> tuple[list[UnitResult], list[str]]:
    """(named_in(covers, inside), the names that name no unit or several: why it is all of them)."""
    chosen, unmatched = _match_names(covers, inside)
    return (inside if unmatched else [u for i, u in enumerate(inside) if i in chosen]), unmatched


def _match_names(covers: Iterable[str], inside: list[UnitResult]) -> tuple[set[int], list[str]]:
    """(the positions of the units of `inside` the names name, the names that name none or several)."""
    index: dict[str, set[int]] = {}
    for i, u in enumerate(inside):
        for name in (u.name, *u.aliases):
            for form in group_forms(normalise(name), GOVERNMENT):
                index.setdefault(form, set()).add(i)
    chosen: set[int] = set()
    unmatched: list[str] = []
    for name in covers:
        hits = [index[form] for form in group_forms(normalise(name), GOVERNMENT) if form in index]
        if hits and len(hits[0]) == 1:
            chosen |= hits[0]
        else:
            unmatched.append(name)
    return chosen, unmatched


def _qualified(name: str, place: str) -> str:
    """A unit's name as a roll-up passes it up: with its county's name in front when it starts with no
    place of its own (教育局, 县教育局, 城市管理局 of 西山县's roster → 西山县教育局, 西山县城市管理局), so that
    the level above can tell it from 北山县's."""
    if normalise(name).startswith(normalise(place)) or starts_with_place(name):
        return name
    rest = name[1:] if name[:1] in "县区市旗" and len(name) > 2 else name  # (县教育局: the county's own)
    return place + rest


def resolve_rollups(
    units: list[UnitResult], spec: Spec | None = None, groups: set[Path_] | None = None
) -> tuple[list[UnitResult], list[Finding], dict[str, str]]:
    """Count every unit once when a group's roll-up and units of that group both arrived.

    Decision: the roll-up wins. A county answers for every disclosure body in its area (层层汇总):
    its roll-up covers all of them, including units the city's roster or inbox lacks and figures the
    county corrected, while the copies its units sent to the city are usually a subset. The units
    under a counted roll-up are therefore not summed again; a `rollup-overlap` warning names the
    units that had arrived too. An outer roll-up also covers a roll-up nested inside it.

    Returns (units to count, findings, covered: unit name → name of the roll-up standing for it).
    `groups`: _group_paths(units), when the caller has it.
    """
    covered, inside_of = _cover(units, groups)
    findings = _covering_findings(spec, inside_of, lambda u: u.counted)
    counted = [u for u in units if u.counted and u.name not in covered]
    return counted, findings, covered


# ---- the tree ---------------------------------------------------------------------------------


def build_tree(units: list[UnitResult], root: Path_ = (), groups: set[Path_] | None = None) -> dict[Path_, Node]:
    """Nodes for the root and every group below it, children in roster order; members placed.
    `groups`: _group_paths(units), when the caller has it."""
    groups = _group_paths(units) if groups is None else groups
    nodes: dict[Path_, Node] = {root: Node(root)}
    for u in units:
        path = place_of(u, groups)
        if not _under(path, root):
            continue
        for depth in range(len(root) + 1, len(path) + 1):
            sub = path[:depth]
            if sub not in nodes:
                nodes[sub] = Node(sub)
                nodes[sub[:-1]].children.append(nodes[sub])
        nodes[path].members.append(u)
        if not u.is_rollup:
            for depth in range(len(root), len(path) + 1):
                nodes[path[:depth]].expected += 1
    return nodes


def _leading_place(key: str) -> str:
    """The place a normalised name starts with (西山县 of 西山县教育局), or its first two characters."""
    rest = short_name(key)
    return key[: len(key) - len(rest)] if rest is not None else key[:2]


def rollup_findings(spec: Spec, units: list[UnitResult]) -> list[Finding]:
    """resolve_rollups' findings (rollup-overlap, rollup-names-unknown) from the units' statuses (`status`:
    its units are listed without their submissions but the roll-ups', which say how many units they sum)."""
    return _covering_findings(spec, _cover(units)[1], lambda u: u.status in COUNTED)


def _covering_findings(
    spec: Spec | None,
    inside_of: list[tuple[UnitResult, list[UnitResult], list[str]]],
    counted: Callable[[UnitResult], bool],
) -> list[Finding]:
    """A counted roll-up whose units' own reports arrived too (`counted`): rollup-overlap, and
    rollup-names-unknown when it stands for its whole group for want of placing a name it says."""
    findings: list[Finding] = []
    for rollup, inside, unknown in inside_of:
        arrived = [u for u in inside if counted(u)]
        if not arrived or rollup.submission is None:
            continue
        spec = spec or rollup.submission.spec
        if unknown:  # (the whole group, for want of knowing which units the names are: said)
            f = finding(
                spec,
                "rollup-names-unknown",
                agency=rollup.name,
                unknown=_some_names(unknown, quoted=True),
                group=rollup.name,  # (the group it stands for, by the name roll-ups are known by: 西山县乡镇街道)
                names=_some_names([u.name for u in arrived]),
            )
            findings.append(f.about(agency=rollup.name, file=rollup.file))
        f = finding(
            spec,
            "rollup-overlap",
            found=rollup.submission.units,
            agency=rollup.name,
            count=len(arrived),
            names=_some_names([u.name for u in arrived]),
        )
        findings.append(f.about(agency=rollup.name, file=rollup.file))
    return findings


def outside_roster(spec: Spec, units: list[UnitResult]) -> list[Finding]:
    """_outside_roster of every counted unit (`status`: what the summary's 问题清单 says of them too; its
    units are listed without their submissions: their statuses say which count)."""
    return _outside_roster(spec, units, [u for u in units if u.status in COUNTED])


def _outside_roster(spec: Spec, units: list[UnitResult], counted: list[UnitResult]) -> list[Finding]:
    """What a coordinator must settle about the reports of units outside the roster summed: one whose name
    is close to a roster unit that is counted too (the same agency twice: a name mistyped, then corrected;
    a unit renamed in the roster), and one without a unit-unknown warning of its own (it fell off the
    roster after it was counted: renamed or removed there)."""
    outside = [u for u in counted if not u.listed and not u.is_rollup]
    if not outside:
        return []
    # roster names by the place they start with: a name is compared with those of its own place only
    # (西山县教育局 is not 东山县教育局's other name), a few dozen at most instead of the whole roster
    at_place: dict[str, dict[str, UnitResult]] = {}
    for u in units:
        if u.listed and not u.is_rollup:
            for name in (u.name, *u.aliases):
                key = normalise(name)
                at_place.setdefault(_leading_place(key), {})[key] = u
    found: list[Finding] = []
    for u in outside:
        key = normalise(u.name)
        listed = at_place.get(_leading_place(key), {})
        close = difflib.get_close_matches(key, listed, n=1, cutoff=CLOSE_NAMES)
        near = listed[close[0]] if close else None
        if near is not None and near.status in COUNTED:
            f = finding(spec, "outside-roster-twice", agency=u.name, expected=near.name, file=u.file, found=near.file)
        elif not any(f.rule_id == "unit-unknown" for f in u.findings):
            hint = f"名册中与它最接近的是“{near.name}”（{SHOWN_LABEL[near.status]}）。" if near else ""
            f = finding(spec, "outside-roster-counted", agency=u.name, file=u.file, near=hint)
        else:
            continue
        found.append(f.about(agency=u.name, file=u.file))
    return found


def _guard(spec: Spec, year: int, units: list[UnitResult]) -> dict[str, Finding]:
    """Counted submissions of another edition or year are not summed (they cannot be added cell by cell)."""
    excluded: dict[str, Finding] = {}
    info_year = layout(spec).places["info.year"]
    for u in units:
        sub = u.submission
        if not u.counted or sub is None:
            continue
        if sub.edition != spec.edition:
            try:
                edition = get_spec(sub.edition).label
            except KeyError:
                edition = f"{sub.edition}年版"
            f = finding(spec, "edition-year-mismatch", found=year, expected=spec.label, edition=edition, file=u.file)
        elif sub.year is not None and sub.year != year:
            f = finding(
                spec,
                "year-mismatch",
                found=sub.year,
                expected=year,
                file=u.file,
                sheet=spec.sheet_names[INFO],
                cell=info_year.a1,
            )
        else:
            continue
        excluded[u.name] = f.about(agency=u.name, file=u.file)
    return excluded


def consolidate(
    data: SummaryData, *, texts: bool = True, comparisons: Comparisons | None = None, sums: Memo[Any] | None = None
) -> Consolidation:
    """Sum every counted unit into every node above it, check the sums, and say what was noticed.

    Pure: no disk, no clock. Only submissions of data.spec's edition and data.year are summed.
    texts=False skips the 内容雷同 comparison (`similar` stays empty): for callers that need only
    the sums, such as the roll-up report (the comparison is most of the cost at 10,000 units).
    `comparisons`: what earlier comparisons found (similarity.Comparisons; the same results, sooner).
    `sums`: the sums of the last consolidation (`watch`): a group whose counted reports are the same
    ledger rows as then is not added up again, nor a sum checked again (the same results, sooner).
    """
    from .similarity import similar_texts  # (imported here: similarity builds on this module)

    spec = data.spec
    codes = tuple(spec.cells)
    groups = _group_paths(data.units)
    units = [u for u in data.units if _under(place_of(u, groups), data.root)]
    own = groups if len(units) == len(data.units) else _group_paths(units)  # (the groups of the units summed)
    excluded = _guard(spec, data.year, units)
    eligible = [u if u.name not in excluded else replace(u, status=REJECTED) for u in units]
    to_count, findings, covered = resolve_rollups(eligible, spec, own)
    if data.covered_outside:
        covered = {**data.covered_outside, **covered}
        to_count = [u for u in to_count if u.name not in data.covered_outside]
    findings = [*excluded.values(), *findings, *_outside_roster(spec, units, to_count)]
    nodes = build_tree(units, data.root, own)
    direct: dict[Path_, list[Number]] = {}
    counts: dict[Path_, int] = {}
    at: dict[Path_, list[UnitResult]] = {}
    for u in to_count:
        at.setdefault(place_of(u, groups), []).append(u)
    for path, members in at.items():
        # (a report's figures never change: its ledger row tells them; without one, added up each time)
        known = sums is not None and all(u.file_id is not None for u in members)
        key = ("direct", spec.edition, path, tuple((u.file_id, u.is_rollup) for u in members)) if known else None
        found = sums.get(key) if sums is not None and key is not None else None
        if found is None:
            found = _direct(members, codes)
            if sums is not None and key is not None:
                sums.put(key, found)
        direct[path], counts[path] = found
    for node in reversed(list(nodes[data.root].walk())):  # children before parents
        acc = direct.get(node.path, [0] * len(codes))
        units_below = counts.get(node.path, 0)
        for child in node.children:
            acc = list(map(operator.add, acc, vector(child.values, codes)))
            units_below += child.units
        node.values = dict(zip(codes, acc, strict=True))
        node.units = units_below
    checks = [f for node in nodes[data.root].walk() for f in _checked(spec, node, node.name or data.name, sums)]
    if sums is not None:
        sums.turn()
    root = nodes[data.root]
    texts_of = [u for u in units if u.counted and not u.is_rollup and u.name not in excluded]
    similar = similar_texts(spec, texts_of, data.previous, comparisons) if texts else []
    previous, previous_units = _previous_figures(data, units)
    return Consolidation(
        root=root,
        nodes=nodes,
        counted=to_count,
        covered=covered,
        excluded=excluded,
        findings=findings,
        checks=checks,
        similar=similar,
        figures=headlines(spec, root.values),
        previous=previous,
        previous_units=previous_units,
        spec=spec,
    )


def _direct(members: list[UnitResult], codes: tuple[str, ...]) -> tuple[list[Number], int]:
    """The sums of the reports counted right at one node, in `codes` order, and how many units they stand for."""
    acc: list[Number] | None = None
    units = 0
    for u in members:
        row = vector(u.submission.values, codes)  # type: ignore[union-attr]
        acc = row if acc is None else list(map(operator.add, acc, row))
        units += u.submission.units if u.is_rollup else 1  # type: ignore[union-attr]
    return acc or [0] * len(codes), units


def _checked(spec: Spec, node: Node, where: str, sums: Memo[Any] | None) -> list[Finding]:
    """check_sums of a node, or what it gave for the same sums last time."""
    if sums is None:
        return check_sums(spec, node.values, where)
    # (the values as the findings print them: Decimal 3.0 and 3 are equal, yet read differently)
    key = ("checks", spec.edition, where, tuple(map(str, node.values.values())))
    return sums.make(key, lambda: check_sums(spec, node.values, where))


# ---- checks on the sums ---------------------------------------------------------------------


def check_sums(spec: Spec, values: Mapping[str, Number], where: str) -> list[Finding]:
    """E1–E4 (every total rule and balance rule of the edition) evaluated on summed values.

    Sums of recomputed totals always satisfy the total rules, and sums of balanced reports balance:
    a finding here means a counted report broke a rule that should have rejected it.
    """
    lay = layout(spec)
    cells = spec.cells
    out: list[Finding] = []
    for code, cell in cells.items():
        if not cell.is_total:
            continue
        expected = sum((values.get(p, 0) for p in cell.parts), start=0)
        found = values.get(code, 0)
        if expected != found:
            place = lay.places[code]
            parts = f"{lay.places[cell.parts[0]].a1}–{lay.places[cell.parts[-1]].a1}"
            f = finding(
                spec,
                cell.rule or "E2",
                sheet=place.sheet,
                cell=place.a1,
                code=code,
                expected=expected,
                found=found,
                row=cell.row.label,
                column=cell.column.label,
                parts=parts,
            )
            out.append(f.about(agency=where))
    for rule in spec.rules_of("balance"):
        p = rule.params
        table = spec.table(p["table"])
        for col in table.columns:
            left = sum((values.get(f"{table.code}.{r}.{col.code}", 0) for r in p["left"]), start=0)
            right = sum((values.get(f"{table.code}.{r}.{col.code}", 0) for r in p["right"]), start=0)
            if left == right:
                continue
            terms = [table.row(r).short or table.row(r).label for r in (*p["left"], *p["right"])]
            first = lay.places[f"{table.code}.{table.rows[0].code}.{col.code}"]
            f = finding(
                spec,
                rule.id,
                sheet=first.sheet,
                cell=first.a1,
                column=col.label,
                left_terms="+".join(terms[: len(p["left"])]),
                right_terms="+".join(terms[len(p["left"]) :]),
                left=left,
                right=right,
                diff=abs(left - right),
                cells="、".join(lay.places[f"{table.code}.{r}.{col.code}"].a1 for r in (*p["left"], *p["right"])),
            )
            out.append(f.about(agency=where))
    return out


# ---- headline figures -----------------------------------------------------------------------

_S3_ROWS = (
    ("new", "r1", "本年新收政府信息公开申请"),
    ("carried", "r2", "上年结转政府信息公开申请"),
    ("handled", "r3_7", "本年度办理结果总计"),
    ("open", "r3_1", "其中：予以公开"),
    ("partial", "r3_2", "其中：部分公开"),
    ("next", "r4", "结转下年度继续办理"),
)


def headlines(spec: Spec, values: Mapping[str, Number]) -> list[Figure]:
    """The figures leadership asks for first, located through the spec (codes and labels), not positions."""

    def v(code: str) -> Number:
        return values.get(code, 0)

    out: list[Figure] = []
    s3 = spec.table("s3")
    total = next(c for c in s3.columns if c.sum_of)
    handled = v(f"s3.r3_7.{total.code}")
    for key, row, label in _S3_ROWS:
        code = f"s3.{row}.{total.code}"
        share = float(v(code)) / float(handled) if key in ("open", "partial") and handled else None
        out.append(Figure(key, label, "件", v(code), share, (code,)))
    s4 = spec.table("s4")
    for key, band, label in (("review", "行政复议", "行政复议"), ("lawsuit", "行政诉讼", "行政诉讼")):
        cols = [c for c in s4.columns if c.bands and c.bands[0] == band]
        totals = tuple(f"s4.r1.{c.code}" for c in cols if c.sum_of)
        corrected = tuple(f"s4.r1.{c.code}" for c in cols if c.label == "结果纠正")
        out.append(Figure(key, f"{label}（总计）", "件", sum((v(c) for c in totals), start=0), codes=totals))
        out.append(
            Figure(f"{key}_corrected", "其中：结果纠正", "件", sum((v(c) for c in corrected), start=0), codes=corrected)
        )
    for t in spec.tables:
        for c in t.columns:
            if c.label.endswith("处理决定数量"):
                for r in t.rows:
                    code = f"{t.code}.{r.code}.{c.code}"
                    out.append(Figure(f"decisions:{r.label}", f"{r.label}处理决定", "件", v(code), codes=(code,)))
    for t in spec.tables:
        for r in t.rows:
            if r.label == "行政事业性收费":
                for c in t.columns:
                    if c.kind == "amount":
                        code = f"{t.code}.{r.code}.{c.code}"
                        out.append(Figure("fees", "行政事业性收费金额", "万元", v(code), codes=(code,)))
    return out


def _previous_figures(data: SummaryData, units: list[UnitResult]) -> tuple[dict[str, Number] | None, int]:
    """Last year's headline figures for the same scope, from last year's accepted submissions, and how
    many units they are of (the overview says so: a ledger that holds only some of last year's reports
    gives a sum of fewer units than this year's).

    Each of last year's reports is read with its own edition (2020 → 2019 format), then figures are
    added by key; a roll-up and its units are counted once, as this year. At the city level
    (root ()), last year's units no longer on the roster are included: they were part of the whole.
    """
    if not data.previous:
        return None, 0
    by_name = {u.name: u for u in units}
    pseudo: list[UnitResult] = []
    for name, sub in data.previous.items():
        unit = by_name.get(data.previous_as.get(name, name))
        if unit is None and data.root:
            continue
        group = unit.group if unit else ()
        pseudo.append(UnitResult(name=name, group=group, status=ACCEPTED, submission=sub))
    if not pseudo:
        return None, 0
    counted, _, _ = resolve_rollups(pseudo, data.spec)
    by_edition: dict[str, list[Submission]] = {}
    for u in counted:
        by_edition.setdefault(u.submission.edition, []).append(u.submission)  # type: ignore[union-attr]
    figures: dict[str, Number] = {}
    for edition, subs in by_edition.items():
        try:
            spec = get_spec(edition)
        except KeyError:
            continue
        for fig in headlines(spec, sum_values(subs)):
            figures[fig.key] = figures.get(fig.key, 0) + fig.value
    return figures, sum(u.submission.units if u.is_rollup else 1 for u in counted)  # type: ignore[union-attr]


# ---- sub-summaries ----------------------------------------------------------------------------


def group_paths(data: SummaryData) -> list[Path_]:
    """Every group below data.root, parents before children (for `run --by-group`)."""
    nodes = build_tree(data.units, data.root)
    return [n.path for n in nodes[data.root].walk() if n.path != data.root]


def subtree(data: SummaryData, path: Path_) -> SummaryData:
    """The SummaryData of one group (its units, its roll-up, last year's reports of its units).

    Produced at the last time one of its units' files was processed (the year's first ledger change
    when none has a file yet): a group's outputs change only with what it covers, so `run --by-group`
    and `watch` rewrite only the groups a new file belongs to."""
    groups = _group_paths(data.units)
    return _part(data, path, [u for u in data.units if _under(place_of(u, groups), path)], covering(data.units))


def subtrees(data: SummaryData) -> list[SummaryData]:
    """subtree(data, path) of every path of group_paths(data), in that order, each unit placed once
    (a province has ~650 groups: placing every unit for each would take seconds)."""
    groups = _group_paths(data.units)
    below: dict[Path_, list[UnitResult]] = {}
    for u in data.units:
        place = place_of(u, groups)
        if _under(place, data.root):
            for depth in range(len(data.root) + 1, len(place) + 1):
                below.setdefault(place[:depth], []).append(u)
    covered = covering(data.units)
    return [_part(data, path, below.get(path, []), covered) for path in group_paths(data)]


def _part(data: SummaryData, path: Path_, units: list[UnitResult], covered: dict[str, str]) -> SummaryData:
    """A group's SummaryData: its units, their last year's reports, those of its units a roll-up outside
    it stands for (`covered`: the whole's); the files no unit could be found for are listed in the whole
    summary only (a county's summary is about its own units)."""
    names = {u.name for u in units}
    outside = {u.name: covered[u.name] for u in units if u.name in covered and covered[u.name] not in names}
    now = data.previous_as.get
    previous = {k: v for k, v in data.previous.items() if now(k, k) in names} if data.previous else None
    previous_ids = {k: v for k, v in data.previous_ids.items() if now(k, k) in names} if data.previous_ids else None
    times = [u.changed_at for u in units if u.changed_at is not None]
    produced = max(times) if times else (data.started_at or data.produced_at)
    return replace(
        data,
        units=units,
        root=path,
        title="".join(path) if path else data.title,  # (甲县乡镇街道: 乙县 has a 乡镇街道 too)
        previous=previous,
        previous_ids=previous_ids,
        produced_at=produced,
        findings=[],
        covered_outside={**data.covered_outside, **outside},
    )
