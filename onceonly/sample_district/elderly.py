"""The elderly-services list (养老服务对象): older residents, how they live, and the last visit."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from onceonly.reference import subdistricts

from .periods import Month
from .population import RESIDENT, District

CARE_LEVELS = ("正常", "一级", "二级", "三级", "四级", "五级", "六级")


@dataclass(frozen=True, slots=True)
class ElderlyEntry:
    """One row of the month-end elderly-services list."""

    person: int
    living_situation: str
    care_level: str
    last_visit: dt.date
    subdistrict_code: str


def _unit(seed: int, person: int, salt: int) -> float:
    # A stable pseudo-random number in [0, 1) per person: the list must not reshuffle its facts
    # from month to month, and one generator call per person and month would not be stable.
    x = person * 0x9E3779B97F4A7C15 + seed * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB
    x &= 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    x = (x * 0xD6E8FEB86659FD93) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 32
    return (x & 0xFFFFFFFF) / 2**32


def elderly_list(district: District, month: Month, seed: int) -> list[ElderlyEntry]:
    """Residents known to elderly services at the end of ``month``.

    Most residents aged 80 and over are on it and about half of those aged 70-79. Living
    situation follows the household: alone, with the spouse only, or with others.
    """
    d = district
    end = month.last
    codes = [s.code for s in subdistricts()]
    living_in: Counter[int] = Counter(
        hh for hh, state in zip(d.household, d.state, strict=True) if state == RESIDENT
    )
    month_salt = month.year * 12 + month.month
    entries = []
    for person in range(d.size):
        if d.state[person] != RESIDENT or end.year - d.birth[person].year < 70:
            continue
        age = d.age(person, end)
        if age < 70 or _unit(seed, person, 1) >= (0.92 if age >= 80 else 0.45):
            continue
        hh = d.household[person]
        spouse = d.spouse[person]
        if _unit(seed, person, 2) < 0.04:
            living = "机构养老"
        elif living_in[hh] == 1:
            living = "独居"
        elif living_in[hh] == 2 and spouse >= 0 and d.household[spouse] == hh:
            living = "与配偶同住"
        else:
            living = "与子女同住"

        u = _unit(seed, person, 3)
        normal_share = 0.45 if age >= 80 else 0.75
        if u < normal_share:
            care = "正常"
        else:
            care = CARE_LEVELS[1 + min(5, int((u - normal_share) / (1 - normal_share) * 6))]

        visit_gap = int(_unit(seed, person, month_salt) * 90)
        entries.append(
            ElderlyEntry(
                person,
                living,
                care,
                end - dt.timedelta(days=visit_gap),
                codes[d.household_subdistrict[hh]],
            )
        )
    return entries
