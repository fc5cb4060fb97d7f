"""Consolidate accepted submissions: per-unit results in, sums per node of the unit tree out (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .findings import Finding
from .submission import Number, Submission

# Unit status, as the 报送情况 sheet and `nianbao status` show it.
ACCEPTED, WARNED, EXPLAINED, REJECTED, MISSING = "accepted", "warning", "explained", "rejected", "missing"
STATUS_LABEL = {ACCEPTED: "已通过", WARNED: "有警告", EXPLAINED: "已说明", REJECTED: "被退回", MISSING: "未报送"}
COUNTED = (ACCEPTED, WARNED, EXPLAINED)  # statuses whose figures enter the sums


@dataclass
class UnitResult:
    """One roster unit's standing in a consolidation (the batch job builds these from the ledger)."""

    name: str  # canonical roster name
    group: tuple[str, ...] = ()  # path in the roster tree below the root, e.g. ("某某县", "乡镇街道")
    code: str | None = None  # roster code, if any
    status: str = MISSING
    submission: Submission | None = None  # the submission that counts (accepted), or the latest rejected one
    findings: list[Finding] = field(default_factory=list)
    file: str | None = None  # original file name of that submission
    received_at: dt.datetime | None = None
    filler: str | None = None  # 填报人
    phone: str | None = None  # 联系电话

    @property
    def counted(self) -> bool:
        return self.status in COUNTED and self.submission is not None


@dataclass
class Node:
    """A node of the unit tree with the sums of every counted unit below it."""

    path: tuple[str, ...]  # () is the root (the whole city)
    values: dict[str, Number] = field(default_factory=dict)
    units: int = 0  # counted units below (a county roll-up counts its `units`)
    expected: int = 0  # roster units below
    children: list[Node] = field(default_factory=list)


def sum_values(submissions: list[Submission]) -> dict[str, Number]:
    """Cell-by-cell sum of submissions of one edition (totals are sums of recomputed totals)."""
    total: dict[str, Number] = {}
    for sub in submissions:
        for code, value in sub.values.items():
            total[code] = total.get(code, 0) + value
    return total
