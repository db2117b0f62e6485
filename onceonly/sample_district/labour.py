"""The labour-resource archive (劳动力资源档案): opening stock and monthly received/transferred."""

from __future__ import annotations

import random
from dataclasses import dataclass

from onceonly.reference import Subdistrict, subdistricts


@dataclass(frozen=True, slots=True)
class ArchiveChange:
    """One subdistrict's report for one period."""

    subdistrict: Subdistrict
    period: str  # 'YYYY-MM'
    received: int  # 入库数
    transferred_out: int  # 出库数


def opening_stock(rnd: random.Random) -> list[tuple[Subdistrict, int]]:
    """Archives held by each subdistrict the day before the first simulated month."""
    return [(s, rnd.randint(2000, 9000)) for s in subdistricts()]


def monthly_changes(rnd: random.Random, period: str, *, leave_out_one: bool) -> list[ArchiveChange]:
    """Each subdistrict's received and transferred-out counts for ``period``.

    With ``leave_out_one`` one subdistrict's report is missing, as happens when a worker is late:
    the stock form must carry that subdistrict forward rather than treat it as zero.
    """
    changes = [
        ArchiveChange(s, period, rnd.randint(10, 300), rnd.randint(10, 250)) for s in subdistricts()
    ]
    if leave_out_one:
        del changes[rnd.randrange(len(changes))]
    return changes
