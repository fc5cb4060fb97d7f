"""Generate N distinct, realistic filled workbooks of the 2021 edition (report year 2025), once, and cache them.

Layout of the cache (bench/cache/<N>/, git-ignored):

    inbox-master/   N workbooks, one per roster unit (the inbox of the cold run; never modified)
    late/           one more workbook: a roster unit handed in late (the one-new-file re-run)
    watch/          one more: another late unit, dropped into the inbox while `nianbao watch` runs
    roster.csv      N + 2 units: 单位名称,单位代码,所属分组,别名 (UTF-8 with BOM, as Excel saves it)
    expected.csv    per file: what the generator put in (category) and the status it should get
    manifest.json   N, seed, generator and template versions, counts, sizes, generation time

The units form a fictional province (东川省): provincial departments, then per city its departments
and per county (or district) its government, departments and townships. Magnitudes follow the unit
type (a township has a handful of applications; a city 公安局 has hundreds of thousands of 行政处罚
decisions) and the department. Most units are consistent; a few percent break E1 or leave 五 empty
(errors), leave the 信息处理费 out of 六 (warning), type text such as 「12件」 into number cells, or write
their name differently from the roster. Most files are written by processor.template.write_workbook
(the template filled in, formulas carrying their cached results as an office suite saves them); about
1 % are re-saved by an openpyxl script (formulas without cached values).

    python bench/generate.py --n 500 [--workers 2] [--force]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import processor
from bench import texts as tx
from processor import atomic as _atomic
from processor.spec import get_spec
from processor.template import Filling, write_workbook

GENERATOR_VERSION = "2"
EDITION, YEAR = "2021", 2025
SEED = 20250101
BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "cache"
PROVINCE = "东川"
PROVINCE_CODE = "47"  # not a real province code


# The cache needs no durability: skip the fsync of every atomic write (it dominated generation time).
if hasattr(_atomic, "_fsync"):
    _atomic._fsync = lambda path: None


# ---- the fictional province ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dept:
    name: str
    short: str  # how people abbreviate it (aliases)
    permits: float  # median 行政许可 decisions at city level
    penalties: float  # median 行政处罚 decisions at city level
    fees: float  # median 行政事业性收费 in 万元 at city level
    apps: float  # median new applications per year at city level
    rules: bool = False  # issues 规章 (province and city level only)


DEPTS = (
    Dept("人民政府办公室", "政府办", 0, 0, 0, 25, rules=True),
    Dept("发展和改革委员会", "发改委", 300, 20, 0, 8),
    Dept("教育局", "教育局", 200, 10, 50, 12),
    Dept("科学技术局", "科技局", 50, 2, 0, 2),
    Dept("工业和信息化局", "工信局", 80, 10, 0, 3),
    Dept("公安局", "公安局", 20000, 200000, 3000, 25),
    Dept("民政局", "民政局", 300, 20, 5, 8),
    Dept("司法局", "司法局", 200, 5, 0, 6, rules=True),
    Dept("财政局", "财政局", 10, 5, 0, 10),
    Dept("人力资源和社会保障局", "人社局", 2000, 50, 100, 12),
    Dept("自然资源和规划局", "自然资源局", 1500, 300, 20000, 40),
    Dept("生态环境局", "生态环境局", 400, 300, 500, 15),
    Dept("住房和城乡建设局", "住建局", 3000, 400, 2000, 25),
    Dept("交通运输局", "交通局", 5000, 20000, 1000, 8),
    Dept("水利局", "水利局", 200, 50, 300, 5),
    Dept("农业农村局", "农业农村局", 500, 200, 10, 8),
    Dept("商务局", "商务局", 100, 10, 0, 3),
    Dept("文化广电和旅游局", "文旅局", 300, 100, 5, 3),
    Dept("卫生健康委员会", "卫健委", 3000, 800, 50, 12),
    Dept("退役军人事务局", "退役军人局", 0, 0, 0, 4),
    Dept("应急管理局", "应急局", 300, 200, 0, 5),
    Dept("审计局", "审计局", 0, 0, 0, 3),
    Dept("市场监督管理局", "市场监管局", 20000, 3000, 500, 15),
    Dept("统计局", "统计局", 0, 30, 0, 2),
    Dept("医疗保障局", "医保局", 100, 50, 0, 5),
    Dept("林业局", "林业局", 300, 100, 50, 3),
    Dept("信访局", "信访局", 0, 0, 0, 2),
    Dept("行政审批局", "审批局", 30000, 0, 500, 8),
    Dept("城市管理综合行政执法局", "城管局", 2000, 5000, 500, 12),
    Dept("民族宗教事务局", "民宗局", 10, 2, 0, 1),
    Dept("体育局", "体育局", 20, 2, 0, 1),
    Dept("粮食和物资储备局", "粮储局", 20, 5, 0, 1),
    Dept("机关事务管理局", "机关事务局", 0, 0, 0, 1),
    Dept("政务服务管理局", "政务服务局", 500, 0, 0, 3),
    Dept("档案局", "档案局", 0, 0, 0, 2),
    Dept("人民防空办公室", "人防办", 200, 20, 800, 2),
    Dept("地方金融监督管理局", "金融局", 10, 2, 0, 1),
    Dept("数据资源局", "数据局", 0, 0, 0, 1),
)
TOWNSHIP = Dept("人民政府", "政府", 20, 5, 0, 0.8)
COUNTY_GOV = Dept("人民政府", "政府", 0, 0, 0, 12)
LEVEL_SCALE = {"province": 2.0, "city": 1.0, "county": 0.25, "town": 1.0, "county_gov": 1.0}

_FIRST = "安宁平东西南清河江山云龙泉阳兴丰永长德庆华新明临嘉福昌盛泰和祥瑞松柳桃梅溪湖金石白青"
_SECOND = "安宁平源川阳城江山州水林泉溪化丰远乐德兴昌定台庄桥沟营岭坪湾洲口关峰"
_TOWN = "店集桥河口坪岭堡营寨铺庄屯湾滩塘坝沟岗埠"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏飞宇浩凯健俊帆帅旭宁婷倩雪琳晨阳博文斌振海峰建国志明亮宏"

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(rng: random.Random, region: str) -> str:
    """A well-formed 统一社会信用代码 of a government organ (登记管理部门 1, 机关 1), check digits right."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY"[:10]) for _ in range(8))
    s = sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    org_check = 11 - s % 11
    org = body + ("X" if org_check == 10 else "0" if org_check == 11 else str(org_check))
    head = "11" + region + org
    s = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(head, _CREDIT_WEIGHTS, strict=True))
    return head + _CREDIT_ALPHABET[(31 - s % 31) % 31]


@dataclass(frozen=True)
class Unit:
    index: int
    name: str
    code: str
    group: str  # roster path, '/' between levels
    alias: str  # '' when none
    level: str  # province | city | county | county_gov | town
    dept: Dept
    parent: str  # the government it reports to (for the text)
    place: str  # short place name (for the 微信 account name)


def _place_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < count:
        name = rng.choice(_FIRST) + rng.choice(_SECOND)
        if name not in taken and name[0] != name[1]:
            taken.add(name)
            out.append(name)
    return out


def build_units(total: int, seed: int = SEED) -> list[Unit]:
    """`total` roster units of the fictional province, deterministic for a seed."""
    rng = random.Random(f"roster:{seed}")
    taken: set[str] = {PROVINCE}
    units: list[Unit] = []

    def add(name, group, alias, level, dept, parent, place, region) -> bool:
        units.append(Unit(len(units), name, credit_code(rng, region), group, alias, level, dept, parent, place))
        return len(units) >= total

    # Provincial departments (省直部门).
    province = f"{PROVINCE}省"
    for d in DEPTS:
        alias = f"省{d.short}" if d.short != d.name else ""
        if add(
            province + d.name, "省直部门", alias, "province", d, f"{province}人民政府", PROVINCE, PROVINCE_CODE + "0000"
        ):
            return units
    city_no = 0
    while True:
        city_no += 1
        (city_short,) = _place_names(rng, 1, taken)
        city = f"{city_short}市"
        region = f"{PROVINCE_CODE}{city_no:02d}"
        for d in DEPTS:
            alias = f"{city}{d.short}" if d.short != d.name else ""
            if add(city + d.name, f"{city}/市直部门", alias, "city", d, f"{city}人民政府", city_short, region + "00"):
                return units
        for county_no, county_short in enumerate(_place_names(rng, rng.randint(6, 11), taken), start=1):
            county = county_short + ("区" if rng.random() < 0.3 else "县")
            cregion = f"{region}{county_no:02d}"
            if add(
                county + "人民政府",
                f"{city}/{county}",
                f"{county}政府",
                "county_gov",
                COUNTY_GOV,
                f"{city}人民政府",
                county_short,
                cregion,
            ):
                return units
            depts = [d for d in DEPTS[1:] if rng.random() < 0.8]
            for d in [DEPTS[0], *depts]:
                alias = f"{county}{d.short}" if d.short != d.name else ""
                if add(
                    county + d.name,
                    f"{city}/{county}/县直部门",
                    alias,
                    "county",
                    d,
                    f"{county}人民政府",
                    county_short,
                    cregion,
                ):
                    return units
            towns: set[str] = set()
            for _ in range(rng.randint(8, 20)):
                base = "城关" if not towns and rng.random() < 0.5 else rng.choice(_FIRST) + rng.choice(_TOWN)
                if base in towns:
                    continue
                towns.add(base)
                if county.endswith("区") or rng.random() < 0.15:
                    name, alias = f"{county}{base}街道办事处", f"{county}{base}街道"
                else:
                    kind = "乡" if rng.random() < 0.25 else "镇"
                    name, alias = f"{county}{base}{kind}人民政府", f"{county}{base}{kind}政府"
                if add(
                    name,
                    f"{city}/{county}/乡镇街道",
                    alias,
                    "town",
                    TOWNSHIP,
                    f"{county}人民政府",
                    county_short,
                    cregion,
                ):
                    return units


def roster_rows(units: list[Unit]) -> list[list[str]]:
    return [["单位名称", "单位代码", "所属分组", "别名"]] + [[u.name, u.code, u.group, u.alias] for u in units]


def write_roster(path: Path, units: list[Unit]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(roster_rows(units))
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")


# ---- values ---------------------------------------------------------------------------------------

S3_RESULT_ROWS = (
    ("r3_1", 0.42),
    ("r3_2", 0.08),
    ("r3_3_1", 0.003),
    ("r3_3_2", 0.01),
    ("r3_3_3", 0.005),
    ("r3_3_4", 0.03),
    ("r3_3_5", 0.01),
    ("r3_3_6", 0.01),
    ("r3_3_7", 0.01),
    ("r3_3_8", 0.01),
    ("r3_4_1", 0.20),
    ("r3_4_2", 0.03),
    ("r3_4_3", 0.02),
    ("r3_5_1", 0.04),
    ("r3_5_2", 0.03),
    ("r3_5_3", 0.01),
    ("r3_5_4", 0.005),
    ("r3_5_5", 0.01),
    ("r3_6_1", 0.03),
    ("r3_6_2", 0.001),
    ("r3_6_3", 0.02),
)
APPLICANTS = (("c1", 0.78), ("c2", 0.10), ("c3", 0.005), ("c4", 0.01), ("c5", 0.04), ("c6", 0.065))
OUTCOMES = (0.6, 0.12, 0.18, 0.10)  # 维持, 纠正, 其他, 尚未审结


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def magnitude(rng: random.Random, median: float, sigma: float = 0.9) -> int:
    """A count around `median`: Poisson for small expectations, log-normal for large ones."""
    lam = median * math.exp(rng.gauss(0, sigma))
    return poisson(rng, lam) if lam < 20 else round(lam)


def multinomial(rng: random.Random, n: int, weights: list[float]) -> list[int]:
    counts = [0] * len(weights)
    if n <= 0:
        return counts
    if n > 5000:  # proportional split with a random remainder, fast for huge totals
        total = sum(weights)
        counts = [int(n * w / total) for w in weights]
        for i in rng.choices(range(len(weights)), weights, k=n - sum(counts)):
            counts[i] += 1
        return counts
    for i in rng.choices(range(len(weights)), weights, k=n):
        counts[i] += 1
    return counts


def unit_values(rng: random.Random, unit: Unit) -> dict[str, Any]:
    """A consistent set of input values (E1–E4 hold) for one unit."""
    d, scale = unit.dept, LEVEL_SCALE[unit.level]
    v: dict[str, Any] = {}
    # 二: 第二十条第（一）项
    big = unit.level in ("province", "city")
    if d.rules and big:
        v["s2_1.r1.c1"], v["s2_1.r1.c2"] = poisson(rng, 2), poisson(rng, 1)
        v["s2_1.r1.c3"] = magnitude(rng, 30, 0.5) + v["s2_1.r1.c1"]
    else:
        v["s2_1.r1.c1"] = v["s2_1.r1.c2"] = v["s2_1.r1.c3"] = 0
    reg = {"town": 0.4, "county": 1.5, "county_gov": 6, "city": 3, "province": 5}[unit.level]
    v["s2_1.r2.c1"], v["s2_1.r2.c2"] = poisson(rng, reg), poisson(rng, reg / 3)
    v["s2_1.r2.c3"] = magnitude(rng, reg * 12, 0.5) + v["s2_1.r2.c1"]
    v["s2_5.r1.c1"] = magnitude(rng, d.permits * scale) if d.permits else 0
    v["s2_6.r1.c1"] = magnitude(rng, d.penalties * scale) if d.penalties else 0
    v["s2_6.r2.c1"] = magnitude(rng, d.penalties * scale / 40) if d.penalties else 0
    fee = 0.0
    if d.fees and rng.random() < 0.8:
        fee = d.fees * scale * math.exp(rng.gauss(0, 1.0))
        fee = round(fee, rng.choice((2, 4, 4)))
    v["s2_8.r1.c1"] = fee
    # 三: applications, per applicant column.
    new = magnitude(rng, d.apps * scale, 1.0)
    new_by_col = multinomial(rng, new, [w for _, w in APPLICANTS])
    handled_all = 0
    for (col, _), n_new in zip(APPLICANTS, new_by_col, strict=True):
        carry = poisson(rng, n_new * 0.04)
        total = n_new + carry
        nxt = sum(1 for _ in range(min(total, 200)) if rng.random() < 0.05)
        handled = total - nxt
        handled_all += handled
        v[f"s3.r1.{col}"], v[f"s3.r2.{col}"], v[f"s3.r4.{col}"] = n_new, carry, nxt
        for (row, _), k in zip(S3_RESULT_ROWS, multinomial(rng, handled, [w for _, w in S3_RESULT_ROWS]), strict=True):
            v[f"s3.{row}.{col}"] = k
    # 四: reviews and lawsuits.
    reviews = poisson(rng, handled_all * 0.03)
    direct = poisson(rng, handled_all * 0.01)
    after = min(reviews, poisson(rng, reviews * 0.3))
    for cols, n in (
        (("c1", "c2", "c3", "c4"), reviews),
        (("c6", "c7", "c8", "c9"), direct),
        (("c11", "c12", "c13", "c14"), after),
    ):
        for col, k in zip(cols, multinomial(rng, n, list(OUTCOMES)), strict=True):
            v[f"s4.r1.{col}"] = k
    return v


def _text_number(rng: random.Random, n: int) -> str:
    """How people type a number as text: 12件, full-width digits, thousands separators, spaces."""
    forms = [f"{n}件", str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９")), f" {n} "]
    if n >= 1000:
        forms.append(f"{n:,}")
    return rng.choice(forms)


# ---- one workbook -----------------------------------------------------------------------------------


@dataclass
class Made:
    index: int
    file: str
    unit: str
    bytes: int
    category: str  # ok | e1 | t2 | t4 | text | (+ nocache, name-variant flags)
    expect: str  # accepted | warning | rejected (what a correct checker should decide)
    flags: str  # comma-separated extras: nocache, name-variant, blank-zeros, long-s1, explained


def _filename(rng: random.Random, unit: Unit) -> str:
    alias = unit.alias or unit.name
    forms = (
        f"{unit.name}.xlsx",
        f"{unit.name}{YEAR}年政府信息公开工作年度报告.xlsx",
        f"附件：{alias}{YEAR}年度政务公开年报.xlsx",
        f"{unit.code}_{unit.name}.xlsx",
        f"{YEAR}年报-{alias}.xlsx",
    )
    return rng.choice(forms)


@dataclass
class Plan:
    """Everything one unit's workbook will hold, decided before anything is written."""

    unit: Unit
    file: str
    agency: str
    values: dict[str, Any]
    content: dict[str, Any]
    category: str
    flags: list[str]

    @property
    def nocache(self) -> bool:
        return "nocache" in self.flags

    @property
    def expect(self) -> str:
        if self.category == "t4" and "explained" in self.flags:
            return "explained"
        return {"ok": "accepted", "e1": "rejected", "t2": "rejected", "t4": "warning", "text": "?"}[self.category]


def plan_unit(unit: Unit, seed: int = SEED) -> Plan:
    """Decide one unit's workbook (deterministic for the unit and the seed)."""
    rng = random.Random(f"unit:{seed}:{unit.index}")
    values = unit_values(rng, unit)
    flags: list[str] = []
    r = rng.random()
    category = "ok"
    if r < 0.04:
        category = "e1"  # one column of 三 does not balance: 一+二 ≠ 三总计+四
    elif r < 0.05:
        category = "t2"  # 五 left empty
    elif r < 0.10:
        category = "t4"  # 六 does not mention 信息处理费
    elif r < 0.12:
        category = "text"  # numbers typed as text in one or two cells
    if category == "e1":
        col = rng.choice(["c1", "c1", "c1", "c2", "c5", "c6"])
        values[f"s3.r4.{col}"] += rng.choice((1, 1, 2, 3, 5, 10))
    if category == "text":
        nonzero = [c for c, x in values.items() if isinstance(x, int) and x > 0]
        for code in rng.sample(nonzero, min(len(nonzero), rng.randint(1, 2))):
            values[code] = _text_number(rng, values[code])
    if rng.random() < 0.25:  # zero cells left blank, as many published reports do
        flags.append("blank-zeros")
        values = {c: (None if x == 0 else x) for c, x in values.items()}

    # Texts quoting the unit's figures.
    def num(code: str) -> int:
        x = values.get(code)
        return x if isinstance(x, int) else 0

    s3 = {k: sum(num(f"s3.{k}.{c}") for c, _ in APPLICANTS) for k in ("r1", "r2", "r4", "r3_1", "r3_2")}
    none = sum(num(f"s3.r3_4_{i}.{c}") for i in (1, 2, 3) for c, _ in APPLICANTS)
    reviews = sum(num(f"s4.r1.c{i}") for i in (1, 2, 3, 4))
    suits = sum(num(f"s4.r1.c{i}") for i in (6, 7, 8, 9, 11, 12, 13, 14))
    self_word = unit.name[-1] if unit.level not in ("town", "county_gov") else "镇"
    if unit.level == "county_gov":
        self_word = "县" if unit.name.endswith("县人民政府") else "区"
    elif unit.name.endswith("街道办事处"):
        self_word = "街道"
    elif unit.name.endswith("乡人民政府"):
        self_word = "乡"
    n_pub = magnitude(rng, 150 * (0.3 if unit.level == "town" else 1.0), 0.6) + 5
    apps_sentence, apps_detail = tx.apps_sentences(
        s3["r1"], s3["r2"], s3["r1"] + s3["r2"] - s3["r4"], s3["r4"], s3["r3_1"], s3["r3_2"], none
    )
    slots = {
        "apps_sentence": apps_sentence,
        "apps_detail": apps_detail,
        "year": YEAR,
        "agency": unit.name,
        "parent": unit.parent,
        "self": self_word,
        "n_pub": n_pub,
        "n_doc": rng.randint(0, max(1, n_pub // 5)),
        "n_news": rng.randint(n_pub // 3, max(n_pub // 3 + 1, n_pub - 1)),
        "reg_issued": num("s2_1.r2.c1"),
        "reg_abolished": num("s2_1.r2.c2"),
        "reg_stock": num("s2_1.r2.c3"),
        "permits": num("s2_5.r1.c1"),
        "penalties": num("s2_6.r1.c1"),
        "focus": rng.choice(tx.FOCUS),
        "column": rng.choice(tx.COLUMNS),
        "n_interp": rng.randint(2, 40),
        "n_visual": rng.randint(0, 10),
        "n_items": rng.randint(20, 300),
        "n_col": rng.randint(5, 200),
        "review_sentence": tx.review_sentence(reviews, suits),
        "n_updates": rng.randint(20, 600),
        "wechat": f"{unit.place}{unit.dept.short if unit.level != 'town' else '发布'}",
        "n_wechat": rng.randint(30, 1500),
        "n_merge": rng.randint(1, 9),
        "n_staff": rng.randint(1, 5),
        "n_train": rng.randint(1, 6),
        "n_trainees": rng.randint(10, 300),
        "n_feedback": rng.randint(1, 60),
        "fee": rng.choice((0, 0, 0, 0, 0, 0, 0, 0, 120, 350)),
        "k1": rng.randint(0, 40),
        "k2": rng.randint(0, 50),
    }
    long_s1 = rng.random() < 0.1
    if long_s1:
        flags.append("long-s1")
    s1_target = rng.randint(1050, 1500) if long_s1 else rng.randint(300, 950)
    content: dict[str, Any] = {
        "info.filler": rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2)))),
        "info.phone": f"0{rng.randint(310, 999)}-{rng.randint(2000000, 8999999)}",
        "text.s1": tx.section1(rng, slots, s1_target),
        "text.s5": "" if category == "t2" else tx.section5(rng, slots, rng.randint(300, 800)),
        "text.s6": tx.section6(rng, slots, mention_fee=category != "t4"),
    }
    if rng.random() < 0.6:
        content["info.credit_code"] = unit.code
    if rng.random() < 0.7:
        content["info.head"] = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2))
    if rng.random() < 0.8:
        content["info.date"] = dt.date(YEAR + 1, 1, rng.randint(5, 28))
    if category == "t4" and rng.random() < 0.35:  # the warning explained in 情况说明
        flags.append("explained")
        content["note.n01.rule"] = "T4"
        content["note.n01.text"] = "本单位本年度未发生依申请公开收费事项，未收取信息处理费，特此说明。"
    agency = unit.name
    if rng.random() < 0.02:  # the name as the unit writes it, not as the roster spells it
        flags.append("name-variant")
        agency = unit.alias if unit.alias else unit.name.replace("人民政府", " 人民政府")
    if rng.random() < 0.01:
        flags.append("nocache")
    return Plan(unit, _filename(rng, unit), agency, values, content, category, flags)


def write_plan(plan: Plan, out_dir: Path) -> Made:
    """Write a planned workbook into `out_dir`; returns what was made."""
    path = out_dir / plan.file
    write_workbook(
        path, get_spec(EDITION), Filling(values=plan.values, texts=plan.content, year=YEAR, agency=plan.agency)
    )
    if plan.nocache:  # re-saved by a script: openpyxl keeps formulas but drops their cached values
        import openpyxl

        wb = openpyxl.load_workbook(path)
        wb.save(path)
    u = plan.unit
    return Made(u.index, path.name, u.name, path.stat().st_size, plan.category, plan.expect, ",".join(plan.flags))


def make_unit(unit: Unit, out_dir: Path, seed: int = SEED) -> Made:
    """Plan and write one unit's filled workbook into `out_dir`; returns what was made."""
    return write_plan(plan_unit(unit, seed), out_dir)


def _make_task(args: tuple[Unit, str, int]) -> Made:
    unit, out_dir, seed = args
    return make_unit(unit, Path(out_dir), seed)


# ---- the cache -----------------------------------------------------------------------------------


@dataclass
class Corpus:
    root: Path
    n: int
    inbox: Path
    late: Path  # the late file itself (re-run)
    watch: Path  # the file dropped while watching
    roster: Path
    expected: Path
    manifest: dict[str, Any]


def cache_key() -> dict[str, Any]:
    spec = get_spec(EDITION)
    return {
        "generator_version": GENERATOR_VERSION,
        "template_version": spec.template_version,
        "nianbao_version": processor.__version__,
        "edition": EDITION,
        "year": YEAR,
        "seed": SEED,
    }


def _corpus(root: Path, manifest: dict[str, Any]) -> Corpus:
    return Corpus(
        root=root,
        n=manifest["n"],
        inbox=root / "inbox-master",
        late=root / "late" / manifest["late_file"],
        watch=root / "watch" / manifest["watch_file"],
        roster=root / "roster.csv",
        expected=root / "expected.csv",
        manifest=manifest,
    )


def cached(n: int, cache_dir: Path = CACHE_DIR) -> Corpus | None:
    """The cached corpus of N workbooks, when present and made by this generator version."""
    root = cache_dir / str(n)
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("n") != n or any(manifest.get(k) != v for k, v in cache_key().items()):
        return None
    corpus = _corpus(root, manifest)
    if not corpus.late.is_file() or not corpus.watch.is_file() or sum(1 for _ in corpus.inbox.iterdir()) != n:
        return None
    return corpus


def generate(n: int, workers: int = 2, cache_dir: Path = CACHE_DIR, force: bool = False, log=print) -> Corpus:
    """The corpus of N workbooks: from the cache, or generated now (N + 2 roster units, two late)."""
    if not force and (corpus := cached(n, cache_dir)):
        return corpus
    root = cache_dir / str(n)
    if root.exists():
        shutil.rmtree(root)
    inbox, late, watch = root / "inbox-master", root / "late", root / "watch"
    inbox.mkdir(parents=True)
    late.mkdir()
    watch.mkdir()
    started = time.perf_counter()
    units = build_units(n + 2)
    names = [u.name for u in units] + [u.alias for u in units if u.alias]
    assert len(set(names)) == len(names), "roster names must be distinct"
    write_roster(root / "roster.csv", units)
    log(f"generating {n} workbooks into {inbox} with {workers} worker(s) …")
    tasks = [(u, str(inbox), SEED) for u in units[:n]]
    made: list[Made] = []
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            for i, m in enumerate(pool.imap_unordered(_make_task, tasks, chunksize=16), start=1):
                made.append(m)
                if i % 1000 == 0:
                    log(f"  {i}/{n} ({time.perf_counter() - started:.0f} s)")
    else:
        made = [_make_task(t) for t in tasks]
    late_made = make_unit(units[n], late)
    watch_made = make_unit(units[n + 1], watch)
    seconds = time.perf_counter() - started
    made.sort(key=lambda m: m.index)
    files = {m.file for m in made}
    assert len(files) == n, "file names must be distinct"
    with (root / "expected.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(asdict(made[0]).keys()))
        w.writeheader()
        for m in [*made, late_made, watch_made]:
            w.writerow(asdict(m))
    sizes = [m.bytes for m in made]
    manifest = {
        **cache_key(),
        "n": n,
        "late_file": late_made.file,
        "late_unit": late_made.unit,
        "watch_file": watch_made.file,
        "watch_unit": watch_made.unit,
        "roster_units": len(units),
        "workers": workers,
        "seconds": round(seconds, 2),
        "ms_per_file_wall": round(seconds / (n + 2) * 1000, 2),
        "bytes_total": sum(sizes),
        "bytes_avg": round(sum(sizes) / n),
        "bytes_min": min(sizes),
        "bytes_max": max(sizes),
        "categories": dict(Counter(m.category for m in made)),
        "expect": dict(Counter(m.expect for m in made)),
        "flags": dict(Counter(f for m in made for f in m.flags.split(",") if f)),
        "levels": dict(Counter(u.level for u in units[:n])),
        "created": dt.datetime.now().isoformat(timespec="seconds"),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"generated {n} workbooks in {seconds:.1f} s, average {manifest['bytes_avg'] / 1024:.1f} KiB")
    return _corpus(root, manifest)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of workbooks (default 10000)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    ap.add_argument("--force", action="store_true", help="regenerate even when cached")
    args = ap.parse_args(argv)
    corpus = generate(args.n, args.workers, args.cache_dir, args.force)
    print(json.dumps(corpus.manifest, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
