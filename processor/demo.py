"""The demo city 云溪市: a roster, last year's reports and this year's inbox with every kind of case."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic
from .config import CONFIG_FILE
from .roster import roster_csv
from .spec import Spec, edition_for_year
from .template import Filling, write_workbook

MARKER = ".nianbao-demo"  # only a folder carrying this marker is ever wiped and rebuilt
CITY = "云溪市"
YEAR = 2025

# name, group, aliases
UNITS: list[tuple[str, str, str]] = [
    ("云溪市人民政府办公室", "市直部门", "市政府办公室"),
    ("云溪市教育局", "市直部门", "市教育局"),
    ("云溪市公安局", "市直部门", "市公安局"),
    ("云溪市财政局", "市直部门", "市财政局"),
    ("云溪市自然资源局", "市直部门", "市自然资源局"),
    ("云溪市生态环境局", "市直部门", "市生态环境局"),
    ("云溪市住房和城乡建设局", "市直部门", "市住建局"),
    ("云溪市卫生健康委员会", "市直部门", "市卫健委"),
    ("云溪市市场监督管理局", "市直部门", "市市场监管局"),
    ("云溪市东湖区人民政府", "东湖区", "东湖区政府"),
    ("西山县人民政府", "西山县", "西山县政府"),
    ("西山县教育局", "西山县/县直部门", ""),
    ("西山县城关镇人民政府", "西山县/乡镇街道", ""),
]


@dataclass
class Case:
    """One planted file and what the job should make of it (printed by the demo)."""

    file: str  # path inside the inbox
    unit: str
    expect: str  # Chinese: what a coordinator should see


@dataclass
class Demo:
    root: Path
    inbox: Path
    outbox: Path
    roster: Path
    config: Path
    history: list[Case] = field(default_factory=list)  # last year's reports
    cases: list[Case] = field(default_factory=list)  # this year's inbox


def _s3_columns() -> list[str]:
    return ["c1", "c2", "c3", "c4", "c5", "c6"]


def report_values(rng: random.Random, carried_in: dict[str, int], stock_in: dict[str, int]) -> dict[str, Any]:
    """Plausible, internally consistent figures of one 2021-edition report."""
    v: dict[str, Any] = {}
    for row in ("r1", "r2"):
        issued, repealed = rng.randint(0, 6), rng.randint(0, 2)
        last = stock_in.get(row, rng.randint(5, 30))
        v[f"s2_1.{row}.c1"], v[f"s2_1.{row}.c2"] = issued, min(repealed, last)
        v[f"s2_1.{row}.c3"] = last + issued - min(repealed, last)
    v["s2_5.r1.c1"] = rng.randint(20, 400)
    v["s2_6.r1.c1"] = rng.randint(0, 120)
    v["s2_6.r2.c1"] = rng.randint(0, 15)
    v["s2_8.r1.c1"] = Decimal(rng.randint(0, 500)) / 100
    for col in _s3_columns():
        new = rng.randint(0, 12) if col == "c1" else rng.randint(0, 3)
        old = carried_in.get(col, 0)
        carry = rng.randint(0, min(2, new + old))
        done = new + old - carry
        opened = rng.randint(0, done)
        partly = rng.randint(0, done - opened)
        v[f"s3.r1.{col}"], v[f"s3.r2.{col}"] = new, old
        v[f"s3.r3_1.{col}"], v[f"s3.r3_2.{col}"] = opened, partly
        v[f"s3.r3_5_1.{col}"] = done - opened - partly  # 本机关不掌握相关政府信息
        v[f"s3.r4.{col}"] = carry
    for col in ("c1", "c2", "c3", "c4", "c6", "c7", "c8", "c9", "c11", "c12", "c13", "c14"):
        v[f"s4.r1.{col}"] = rng.choice([0, 0, 0, 1])
    return v


def carried_out(values: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """(结转下年度 per column of 三, 现行有效件数 per row of 二) of a report: next year's starting point."""
    carry = {col: values[f"s3.r4.{col}"] for col in _s3_columns()}
    stock = {row: values[f"s2_1.{row}.c3"] for row in ("r1", "r2")}
    return carry, stock


def texts(unit: str, *, fee: bool = True) -> dict[str, str]:
    return {
        "info.filler": random.Random(unit).choice(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆"]),
        "info.phone": f"0871-{random.Random(unit + 'p').randint(6000000, 6999999)}",
        "text.s1": f"本年度，{unit}认真贯彻落实《中华人民共和国政府信息公开条例》，主动公开政府信息，"
        "依法办理政府信息公开申请，各项工作有序推进。",
        "text.s5": "部分栏目信息更新不够及时。下一步将建立信息发布台账，明确专人负责，按月检查更新情况。",
        "text.s6": "本年度未收取信息处理费。" if fee else "无。",
    }


def write_report(path: Path, spec: Spec, year: int, agency: str, values: dict[str, Any], text: dict[str, str]) -> Path:
    """Our template for the year, filled as an agency's clerk leaves it after saving in Excel or WPS.

    Like an office suite, the writer stores each total formula's result with it, so the file reads
    without the notice a script-filled (never recalculated) workbook gets.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    zeros = {code: 0 for code, cell in spec.cells.items() if not cell.is_total}  # a clerk types 0, not blank
    filled = {**zeros, **values}
    return write_workbook(path, spec, Filling(values=filled, texts=dict(text), year=year, agency=agency))


def _prepare(root: Path) -> None:
    """An empty demo folder with its marker. An earlier one is emptied, its marker removed last: a file
    that cannot be removed (open in Excel on Windows) stops it with the folder still known as a demo's."""
    if root.exists():
        if not (root / MARKER).exists():
            raise FileExistsError(
                f"文件夹“{root}”已存在，且不是 nianbao 演示文件夹。为避免误删，请换一个位置或先手动移走它。"
            )
        for child in root.iterdir():
            if child.name == MARKER:
                continue
            try:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            except OSError as exc:
                where = getattr(exc, "filename", None) or child
                raise OSError(
                    f"无法清空旧的演示文件夹：“{where}”删不掉（可能正在 Excel、WPS 中打开）。请关闭后再运行"
                ) from exc
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("nianbao demo folder: rebuilt by `nianbao demo`\n", encoding="utf-8")


def build(root: Path, year: int = YEAR) -> Demo:
    """Create root/ with the roster, nianbao.toml and last year's inbox (process that first)."""
    root = Path(root).resolve()
    _prepare(root)
    demo = Demo(root, root / "inbox", root / "outbox", root / "名册.csv", root / CONFIG_FILE)
    demo.inbox.mkdir()
    rows = [["单位名称", "单位代码", "所属分组", "别名"]] + [[n, "", g, a] for n, g, a in UNITS]
    write_text_atomic(demo.roster, roster_csv(rows))
    write_text_atomic(
        demo.config,
        f'# 演示用配置（nianbao demo 生成）\ninbox = "inbox"\noutbox = "outbox"\nroster = "名册.csv"\n'
        f'year = {year}\ntitle = "{CITY}"\nstable_seconds = 0.5\nworkers = 1\n',
    )
    return demo


def _last_year_state(year: int) -> dict[str, tuple[dict[str, int], dict[str, int], dict[str, Any]]]:
    """Every unit's report of the year before, and what it carries into this year."""
    state = {}
    for i, (name, _, _) in enumerate(UNITS):
        rng = random.Random(f"{name}-{year - 1}-{i}")
        values = report_values(rng, {}, {})
        state[name] = (*carried_out(values), values)
    return state


HISTORY_UNITS = ("云溪市人民政府办公室", "云溪市教育局", "云溪市公安局", "云溪市财政局", "西山县人民政府")


def fill_history(demo: Demo, year: int = YEAR) -> None:
    """Last year's accepted reports of a few units (the cross-year checks compare with them)."""
    spec = edition_for_year(year - 1)
    state = _last_year_state(year)
    for name in HISTORY_UNITS:
        file = f"{name}_{year - 1}年报.xlsx"
        write_report(demo.inbox / file, spec, year - 1, name, state[name][2], texts(name))
        demo.history.append(Case(file, name, f"{year - 1} 年度报告，作为本年度跨年核对的依据"))


def fill_inbox(demo: Demo, year: int = YEAR) -> None:
    """This year's inbox: clean, warned, rejected, duplicate, unknown name, unreadable, a lock file; one unit missing."""
    spec = edition_for_year(year)
    state = _last_year_state(year)
    inbox = demo.inbox

    def make(
        file: str,
        unit: str,
        expect: str,
        *,
        agency: str | None = None,
        fee: bool = True,
        report_year: int | None = None,
        tweak: Callable[[dict[str, Any]], None] | None = None,
    ) -> Path:
        carry, stock, _ = state[unit]
        values = report_values(random.Random(f"{unit}-{year}"), carry if unit in HISTORY_UNITS else {}, stock)
        if tweak:
            tweak(values)
        path = write_report(inbox / file, spec, report_year or year, agency or unit, values, texts(unit, fee=fee))
        demo.cases.append(Case(file, unit, expect))
        return path

    def carry_mismatch(v: dict[str, Any]) -> None:  # 上年结转 2 more than last year's 结转下年度
        v["s3.r2.c1"] += 2
        v["s3.r3_5_1.c1"] += 2

    def imbalance(v: dict[str, Any]) -> None:  # 3 more new requests than the results account for
        v["s3.r1.c1"] += 3

    def words(v: dict[str, Any]) -> None:
        v["s2_6.r1.c1"] = "五件"

    make("云溪市人民政府办公室2025年报.xlsx", "云溪市人民政府办公室", "通过")
    make(
        "教育局年报（定稿）.xlsx",
        "云溪市教育局",
        "通过（单位名称写成“云溪市　教育局”，忽略空格后仍能对上名册）",
        agency="云溪市　教育局",
    )
    make("云溪市公安局.xlsx", "云溪市公安局", "有警告：第六部分未说明信息处理费（T4）", fee=False)
    make(
        "财政局政府信息公开年报.xlsx",
        "云溪市财政局",
        "有警告：本年“上年结转”与去年报告的“结转下年度”不一致（I1）",
        tweak=carry_mismatch,
    )
    make("自然资源局.xlsx", "云溪市自然资源局", "被退回：第三部分收支不平衡（E1）", tweak=imbalance)
    make("生态环境局年报.xlsx", "云溪市生态环境局", "被退回：数量填成了文字“五件”", tweak=words)
    make("住建局.xlsx", "云溪市住房和城乡建设局", "通过")
    market = make("市场监管局年报.xlsx", "云溪市市场监督管理局", "通过")
    shutil.copyfile(market, inbox / "市场监管局年报 - 副本.xlsx")
    demo.cases.append(
        Case("市场监管局年报 - 副本.xlsx", "云溪市市场监督管理局", "重复：与“市场监管局年报.xlsx”内容相同，不重复计入")
    )
    make("东湖区/东湖区政府年报.xlsx", "云溪市东湖区人民政府", "通过（放在子文件夹中）")
    make("西山县/西山县人民政府.xlsx", "西山县人民政府", "通过（放在子文件夹中）")
    make(
        "西山县/西山县教育局.xlsx",
        "西山县教育局",
        f"被退回：交来的是 {year - 1} 年度的报告（年度不符）",
        report_year=year - 1,
    )
    make(
        "西山县/西山县城关镇人民政府.xlsx",
        "西山县城关镇人民政府",
        "有警告：单位名称错写成“西山县城官镇人民政府”，不在名册中；已按文件名识别",
        agency="西山县城官镇人民政府",
    )
    (inbox / "新建 Microsoft Excel 工作表.xlsx").write_bytes(b"PK\x03\x04 this is not a complete workbook")
    demo.cases.append(Case("新建 Microsoft Excel 工作表.xlsx", "（未知）", "被退回：文件已损坏，无法识别单位"))
    lock = inbox / "~$财政局政府信息公开年报.xlsx"
    lock.write_bytes(b"\x0bWPS lock file")
    demo.cases.append(Case(lock.name, "—", "不处理：Office/WPS 的锁定文件，留在收件文件夹"))
    demo.cases.append(Case("—", "云溪市卫生健康委员会", "未报送"))
