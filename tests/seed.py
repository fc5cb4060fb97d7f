"""The seed report (shared/seeds/, a real 2019 report of 绥芬河市住房和城乡建设局) as cell codes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

SEED_FILE = Path(__file__).parent / "data" / "seed_2019_suifenhe_zhujianju.txt"
AGENCY = "绥芬河市住房和城乡建设局"
YEAR = 2019

# Section 二 as printed in the seed. 本年增/减 of 行政处罚 is written 「增5」, 采购总金额 is 49.1400 万元.
SECTION2 = {
    "s2_1.r1.c1": 0,
    "s2_1.r1.c2": 0,
    "s2_1.r1.c3": 0,
    "s2_1.r2.c1": 0,
    "s2_1.r2.c2": 0,
    "s2_1.r2.c3": 0,
    "s2_5.r1.c1": 1,
    "s2_5.r1.c2": 0,
    "s2_5.r1.c3": 13,
    "s2_5.r2.c1": 2,
    "s2_5.r2.c2": 0,
    "s2_5.r2.c3": 40,
    "s2_6.r1.c1": 1,
    "s2_6.r1.c2": "增5",
    "s2_6.r1.c3": 12,
    "s2_6.r2.c1": 0,
    "s2_6.r2.c2": 0,
    "s2_6.r2.c3": 0,
    "s2_8.r1.c1": 1,
    "s2_8.r1.c2": 0,
    "s2_9.r1.c1": 2,
    "s2_9.r1.c2": 49.14,
}
# What the system must read back: 「增5」 is +5, 49.1400 is Decimal("49.14") 万元.
SECTION2_READ = {**SECTION2, "s2_6.r1.c2": 5, "s2_9.r1.c2": Decimal("49.1400")}
# Section 三 and 四: the seed prints only zero totals (all input cells blank).


def texts() -> dict[str, str]:
    """一、五、六 of the seed, verbatim."""
    body = SEED_FILE.read_text(encoding="utf-8")
    s1 = body.split("一、总体情况\n", 1)[1].split("\n二、主动公开政府信息情况", 1)[0]
    s5 = body.split("五、存在的主要问题及改进情况\n", 1)[1].split("\n六、其他需要报告的事项", 1)[0]
    s6 = body.split("六、其他需要报告的事项\n", 1)[1]
    return {"text.s1": s1.strip(), "text.s5": s5.strip(), "text.s6": s6.strip()}
