"""The roster: every unit expected to report, its group in the unit tree, and the names it may go by."""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

# Column headers a coordinator may use (first match wins), Chinese first.
NAME_HEADERS = ("单位名称", "单位", "名称", "name")
CODE_HEADERS = ("单位代码", "统一社会信用代码", "代码", "code")
GROUP_HEADERS = ("所属分组", "分组", "上级", "上级或分组", "所属", "group", "parent")
ALIAS_HEADERS = ("别名", "其他名称", "aliases", "alias")

GROUP_SEPARATORS = re.compile(r"\s*[/／>＞\\]\s*")
ALIAS_SEPARATORS = re.compile(r"[;；、,，|｜\n]+")
_BRACKETS = str.maketrans({"〔": "(", "〕": ")", "【": "(", "】": ")", "[": "(", "]": ")", "{": "(", "}": ")"})
_DROP = re.compile(r"[\s\u200b-\u200f\u202a-\u202e\u2060\ufeff·•・]+")
# a name's leading place: 青川市 of 青川市交通运输局, 沛县 of 沛县教育局, 甘孜藏族自治州, 湘西州 of
# 湘西州市场监督管理局 (but 杭州市, 贵州省, 通州区: not 杭州, 贵州, 通州)
_PLACE = re.compile(r"^.+?(?:[省市县区盟旗]|州(?![省县区]|市(?!场)))")
NAMED = 4  # characters a name or alias needs to be looked for inside other text (a file or folder name) …
SHORT = 3  # … and a short name, which only one unit has (财政局 of 云溪市财政局)


class RosterError(ValueError):
    """The roster file cannot be used; the message (Chinese) names the file, the row and the fix."""


@lru_cache(maxsize=1 << 16)  # pure; a province's roster and its files' names go through it again and again
def normalise(name: str) -> str:
    """The form names are compared in: full/half width, bracket styles, spaces and case do not matter."""
    text = unicodedata.normalize("NFKC", name or "")  # full-width letters, digits, （） → half width
    text = text.translate(_BRACKETS)
    return _DROP.sub("", text).casefold()


GOVERNMENT_SUFFIXES = ("人民政府办公室", "人民政府办公厅", "人民政府", "政府办公室", "政府办", "政府")
GOVERNMENT = ("人民政府", "政府")  # a government is named by its place: 城关镇人民政府 is 城关镇 (not so its office)


def group_forms(key: str, suffixes: tuple[str, ...] = GOVERNMENT_SUFFIXES) -> list[str]:
    """A roll-up's normalised name and the forms a group may be called by: without a government's suffix,
    then without the places it starts with, one after another (青川市甲县人民政府 → 青川市甲县 → 甲县).
    With `suffixes` GOVERNMENT: the forms a unit's name is known by (its office is not the government)."""
    forms = [key]
    for suffix in suffixes:
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            forms.append(key[: -len(suffix)])
            break
    for form in list(forms):
        rest = short_name(form)
        while rest is not None and rest not in forms:
            forms.append(rest)
            rest = short_name(rest)
    return [form for form in forms if form not in suffixes]


def _place_of(key: str) -> str:
    """A normalised government name without its suffix (西山县青石乡 of 西山县青石乡人民政府); other names as
    they are."""
    for suffix in GOVERNMENT:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


GENERIC_PLACES = (
    "城市",
    "城区",
    "市区",
    "社区",
    "园区",
    "开发区",
    "新区",
    "景区",
    "片区",
    "辖区",
)  # every county has one


def starts_with_place(name: str) -> bool:
    """The name starts with a proper place (西山县教育局), not a word every county's names have (城市管理局,
    经济开发区管委会, 社区服务中心), nor is only a place."""
    place = _PLACE.match(name)
    return place is not None and place.end() < len(name) and not name[: place.end()].endswith(GENERIC_PLACES)


def is_place(name: str) -> bool:
    """The name is a place and nothing more (西山县, 甲区)."""
    place = _PLACE.match(name)
    return place is not None and place.end() == len(name) and not name.endswith(GENERIC_PLACES)


def short_name(name: str) -> str | None:
    """A name without the place it starts with (交通运输局 of 青川市交通运输局), or None when it starts
    with none or little is left (two characters at least)."""
    place = _PLACE.match(name)
    return name[place.end() :] if place and len(name) - place.end() >= 2 else None


@dataclass(frozen=True)
class Unit:
    """One expected reporting unit."""

    name: str  # canonical name, as the roster spells it
    code: str | None = None
    group: tuple[str, ...] = ()  # path below the root, e.g. ("西山县", "乡镇街道")
    aliases: tuple[str, ...] = ()


@dataclass
class Roster:
    """The units, with a lookup by normalised name, alias and code."""

    units: list[Unit] = field(default_factory=list)
    source: Path | None = None

    def __post_init__(self) -> None:
        self._by_key: dict[str, Unit] = {}
        self._by_code: dict[str, Unit] = {}
        for unit in self.units:
            for name in (unit.name, *unit.aliases):
                self._by_key.setdefault(normalise(name), unit)
            if unit.code:
                self._by_code.setdefault(normalise(unit.code), unit)

    @cached_property
    def _file_names(self) -> tuple[dict[Unit, set[str]], dict[Unit, str], dict[str, list[tuple[str, Unit]]]]:
        """Each unit's names as a file name may carry them (its names, aliases and short names: 交通运输局 of
        青川市交通运输局), the place each unit's name starts with, and the names looked for inside a text
        (names and aliases of NAMED characters, short names of SHORT that only one unit has) by their first
        SHORT characters. Built when first asked (a run that reads no file needs none of it: ~70 ms at 10,000)."""
        short: dict[str, set[Unit]] = {}
        names: dict[Unit, set[str]] = {}
        places: dict[Unit, str] = {}
        for key, unit in self._by_key.items():
            names.setdefault(unit, set()).add(key)
            rest = short_name(key)
            if rest is not None:
                short.setdefault(rest, set()).add(unit)
                if key == normalise(unit.name):
                    places[unit] = key[: -len(rest)]
        for key, units in short.items():
            for unit in units:
                names[unit].add(key)
        known = [(k, u) for k, u in self._by_key.items() if len(k) >= NAMED]
        known += [(k, next(iter(us))) for k, us in short.items() if len(us) == 1 and len(k) >= SHORT]
        heads: dict[str, list[tuple[str, Unit]]] = {}
        for key, unit in known:
            heads.setdefault(key[:SHORT], []).append((key, unit))
        return names, places, heads

    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self):
        return iter(self.units)

    def match(self, name: str | None, code: str | None = None) -> Unit | None:
        """The unit a name (or a code) denotes, or None when the roster does not know it."""
        if code and normalise(code) in self._by_code:
            return self._by_code[normalise(code)]
        if not name:
            return None
        key = normalise(name)
        found = self._by_key.get(key)
        if found is None and _place_of(key) != key:  # (a government's name: 西山县青石乡政府, 青石乡人民政府)
            found = self._by_place.get(_place_of(key))
        return found

    def place_in(self, unit: Unit, text: str | None) -> bool:
        """Whether a text (a file name) carries a place `unit`, a government, alone is known by (白沙镇 in
        白沙镇年报: Roster.names knows only names, aliases and short names)."""
        key = normalise(text or "")
        return any(place in key for place in self._places_of.get(unit, ()))

    @cached_property
    def _places_of(self) -> dict[Unit, list[str]]:
        out: dict[Unit, list[str]] = {}
        for place, unit in self._by_place.items():
            if unit is not None and len(place) >= SHORT:
                out.setdefault(unit, []).append(place)
        return out

    def government_at(self, place: str | None) -> Unit | None:
        """The government unit a place names alone (a folder called 白沙镇), when only one is called so."""
        return self._by_place.get(_place_of(normalise(place or "")))

    @cached_property
    def _by_place(self) -> dict[str, Unit | None]:
        """Each government unit by the places it is named by: its name's and its aliases' without the
        government suffix, and those without the places they start with (西山县青石乡 and 青石乡 of
        西山县青石乡人民政府), so that 西山县青石乡政府 and 青石乡人民政府 are that unit too; None for a place
        two units are called by (东山县's 白沙镇 and 西山县's, even where one has 白沙镇 for an alias)."""
        out: dict[str, Unit | None] = {}
        for unit in self.units:
            if _place_of(normalise(unit.name)) == normalise(unit.name):
                continue  # (not a government: its office, a bureau)
            for name in (unit.name, *unit.aliases):
                place: str | None = _place_of(normalise(name))
                while place is not None and len(place) >= 2:
                    out[place] = unit if out.get(place, unit) == unit else None
                    place = short_name(place)
        return out

    @cached_property
    def _groups(self) -> dict[str, set[tuple[str, ...]]]:
        """Every group path by its normalised name, and by the names of its path's last groups run together
        (西山县乡镇街道, 云溪市西山县乡镇街道 for 云溪市/西山县/乡镇街道)."""
        out: dict[str, set[tuple[str, ...]]] = {}
        for unit in self.units:
            for i in range(1, len(unit.group) + 1):
                path = unit.group[:i]
                for k in range(len(path)):
                    out.setdefault(normalise("".join(path[k:])), set()).add(path)
        return out

    def is_group(self, name: str | None) -> bool:
        """Whether a name (a folder's) is a roster group's, or its path's names run together (also a name
        two groups share), or one a group is called by (`group_named`: 西山县政府)."""
        return normalise(name or "") in self._groups or self.group_named(name) is not None

    def group_named(self, name: str | None) -> tuple[str, ...] | None:
        """The roster group a roll-up stands for. None when none or ambiguous. Tried in turn:

        - a group called `name`, or its path's names run together (甲县乡镇街道);
        - the same without a government's suffix or the places it starts with (`group_forms`: 甲县人民政府,
          青川市甲县, 青川市甲县人民政府 → 甲县): a county names itself in full, as its seal reads;
        - the group whose name begins the name of a unit in it (西山县政务服务中心 in group 西山县).
        """
        key = normalise(name or "")
        if not key:
            return None
        for form in group_forms(key):
            named = self._groups.get(form)
            if named:
                return next(iter(named)) if len(named) == 1 else None
        unit = self.match(name)
        if unit is not None and unit.group and key.startswith(normalise(unit.group[-1])):
            return unit.group
        return None

    def find_in(self, text: str | None) -> Unit | None:
        """The unit whose name or alias occurs in a text (a folder or file name), longest first."""
        key = normalise(text or "")
        if not key:
            return None
        if key in self._by_key:
            return self._by_key[key]
        hits = [(k, u) for k, u in self._in(key) if k in self._by_key]
        return max(hits, key=lambda ku: len(ku[0]))[1] if hits else None

    def named_in(self, text: str | None) -> list[Unit]:
        """Every unit a text (a file name) names by its name or an alias (NAMED characters or more), or a
        short name of its own (交通运输局 of 青川市交通运输局, where no other unit is called so; SHORT
        characters or more), longest name first."""
        return list(dict.fromkeys(unit for _, unit in self._longest_first(text)))

    def speaks_for(self, text: str | None, unit: Unit) -> Unit | None:
        """Another unit a file name says the file is of, when it names none of `unit`'s names: by its name
        or alias, or by its short name where both units are of one place (a 西山县 unit's file called
        教育局 may be 西山县's own 教育局, not on the roster, rather than 云溪市教育局)."""
        if self.names(unit, text):
            return None
        places = self._file_names[1]
        for name, other in self._longest_first(text):
            if other != unit and (name in self._by_key or places.get(other) == places.get(unit)):
                return other
        return None

    def names(self, unit: Unit, text: str | None) -> bool:
        """Whether a text (a file name) carries any name of `unit`: its name, an alias, a short name
        (also one other units share: 教育局 in 教育局年报.xlsx does not speak against 青川市教育局)."""
        key = normalise(text or "")
        return any(name in key for name in self._file_names[0].get(unit, ()))

    def _longest_first(self, text: str | None) -> list[tuple[str, Unit]]:
        """_in of a text (normalised here), its longest names first."""
        return sorted(self._in(normalise(text or "")), key=lambda ku: -len(ku[0]))

    def _in(self, key: str) -> list[tuple[str, Unit]]:
        """(name, unit) of every name looked for (NAMED, SHORT) that occurs in `key` (normalised), by their
        first characters: one lookup per position, not one scan per roster name (~2 ms at 10,000 units)."""
        heads = self._file_names[2]
        found = []
        for i in range(len(key) - SHORT + 1):
            for name, unit in heads.get(key[i : i + SHORT], ()):
                if key.startswith(name, i):
                    found.append((name, unit))
        return found

    def closest(self, name: str | None, n: int = 3) -> list[str]:
        """Canonical names of the roster units closest to `name` (for an “unknown unit” message)."""
        return _closest(name, ((k, unit.name) for k, unit in self._by_key.items()), n)

    def closest_groups(self, name: str | None, n: int = 3) -> list[str]:
        """Names of the roster groups closest to `name` (for a roll-up no group is found for)."""
        return _closest(name, ((k, "/".join(p)) for k, paths in self._groups.items() for p in sorted(paths)), n)


def _closest(name: str | None, known: Iterable[tuple[str, str]], n: int) -> list[str]:
    """The names (second of each pair) whose keys are closest to `name`, best first."""
    key = normalise(name or "")
    if not key:
        return []
    scored: dict[str, float] = {}
    for k, shown in known:
        ratio = difflib.SequenceMatcher(None, key, k).ratio()
        if k in key or key in k:
            ratio = max(ratio, 0.6 + 0.4 * min(len(k), len(key)) / max(len(k), len(key)))
        if ratio >= 0.4:
            scored[shown] = max(scored.get(shown, 0.0), ratio)
    return [shown for shown, _ in sorted(scored.items(), key=lambda kv: -kv[1])[:n]]


def load_roster(path: Path) -> Roster:
    """Read a roster from a .csv (UTF-8 or GBK, as Excel saves it) or an .xlsx (first sheet)."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"找不到单位名册“{path}”。请检查路径，或运行 nianbao init 生成示例名册。")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    else:
        raise RosterError(f"单位名册“{path}”应为 .csv 或 .xlsx 文件。")
    return parse_rows(rows, path)


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise RosterError(f"单位名册“{path}”的编码无法识别。请用 Excel 另存为“CSV UTF-8”。")
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(path: Path) -> list[list[str]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise RosterError(f"单位名册“{path}”无法打开（{exc}）。请确认它是 Excel 工作簿。") from exc
    try:
        ws = wb.worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    cleaned = [normalise(h) for h in header]
    for name in names:
        if normalise(name) in cleaned:
            return cleaned.index(normalise(name))
    return None


def parse_rows(rows: list[list[str]], source: Path | None = None) -> Roster:
    """Roster from table rows: a header row naming the columns, then one unit per row."""
    where = f"单位名册“{source}”" if source else "单位名册"
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise RosterError(f"{where}是空的。第一行应为表头（单位名称、单位代码、所属分组、别名），之后每行一个单位。")
    header = [str(c) for c in rows[0]]
    name_col = _column(header, NAME_HEADERS)
    if name_col is None:
        raise RosterError(f"{where}的第一行没有“单位名称”列。第一行应为表头：单位名称、单位代码、所属分组、别名。")
    code_col, group_col, alias_col = (_column(header, h) for h in (CODE_HEADERS, GROUP_HEADERS, ALIAS_HEADERS))

    def cell(row: list[str], col: int | None) -> str:
        return str(row[col]).strip() if col is not None and col < len(row) and row[col] is not None else ""

    units: list[Unit] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        name = cell(row, name_col)
        if not name:
            raise RosterError(f"{where}第 {number} 行没有填写单位名称。请补上或删除该行。")
        aliases = tuple(a.strip() for a in ALIAS_SEPARATORS.split(cell(row, alias_col)) if a.strip())
        for n in (name, *aliases):
            key = normalise(n)
            if key in seen:
                raise RosterError(
                    f"{where}第 {number} 行的名称“{n}”与第 {seen[key]} 行重复（忽略全半角、括号和空格后相同）。"
                    "每个名称只能对应一个单位，请删除重复的行或别名。"
                )
            seen[key] = number
        group = tuple(g for g in GROUP_SEPARATORS.split(cell(row, group_col)) if g)
        units.append(Unit(name=name, code=cell(row, code_col) or None, group=group, aliases=aliases))
    return Roster(units, source)


EXAMPLE_ROWS = [
    ["单位名称", "单位代码", "所属分组", "别名"],
    ["某某市人民政府办公室", "", "市直部门", "市政府办公室；市政府办"],
    ["某某市教育局", "", "市直部门", "市教育局"],
    ["某某市财政局", "", "市直部门", "市财政局"],
    ["某某县人民政府", "", "某某县", "县政府"],
    ["某某县教育局", "", "某某县/县直部门", ""],
    ["某某县城关镇人民政府", "", "某某县/乡镇街道", "城关镇政府"],
]


def roster_json(roster: Roster) -> str:
    """The units as JSON (kept with a year in the ledger: the roster that year was collected with)."""
    return json.dumps([[u.name, u.code, list(u.group), list(u.aliases)] for u in roster.units], ensure_ascii=False)


def roster_from_json(text: str, source: Path | None = None) -> Roster:
    """What roster_json made (ValueError or TypeError when it is not that)."""
    return Roster([Unit(n, c, tuple(g), tuple(a)) for n, c, g, a in json.loads(text)], source)


def roster_csv(rows: list[list[str]]) -> str:
    """CSV text of roster rows (written with a BOM so that Excel opens it as UTF-8)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return "\ufeff" + out.getvalue()
