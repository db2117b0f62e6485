"""Social-aid cases (社会救助): who is enrolled, who is counted, how civil affairs recorded them.

Civil affairs keeps its own copy of each member's ID and name. Most copies are exact, but the
roster also carries legacy 15-digit IDs, IDs with a mistyped check character and light typing
dirt, because that is what the sentinel has to match against the registries.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

from onceonly.identity import downgrade_18_to_15
from onceonly.reference import subdistricts

from .population import RESIDENT, District

# Monthly standards in yuan per counted person (Shanghai-like 2025 levels).
STANDARD = {"低保": 1510.00, "特困供养": 2265.00, "低收入": 755.00}

# How the roster's ID for a member relates to the person's true 18-digit ID.
EXACT, LEGACY_15, CHECK_TYPO = "exact_id", "upgraded_15", "name_birth_date"

_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@dataclass(slots=True)
class AidMember:
    """One member of an aid case as the roster records them."""

    person: int
    relation: str  # 与申请人关系; the applicant is 本人
    counted: bool  # 是否计入保障
    recorded_id: str = ""
    recorded_name: str = ""
    match: str = EXACT  # how a correct sentinel has to find the person


@dataclass(slots=True)
class AidCase:
    """One aid household (救助家庭)."""

    case_no: str
    aid_type: str
    subdistrict: int  # index into subdistricts()
    enrolled_on: dt.date
    status: str  # 在保 or 停保
    members: list[AidMember] = field(default_factory=list)
    income: float = 0.0  # assessed monthly income, deducted from the standard

    @property
    def applicant(self) -> AidMember:
        """The applicant (本人), always the first member."""
        return self.members[0]

    @property
    def counted_size(self) -> int:
        """保障人数: how many members the payment is for."""
        return sum(m.counted for m in self.members)

    @property
    def monthly_amount(self) -> float:
        """月救助金额 in yuan, two decimals."""
        return round(max(STANDARD[self.aid_type] * self.counted_size - self.income, 100.0), 2)

    @property
    def subdistrict_code(self) -> str:
        """The 9-digit code of the case's subdistrict."""
        return subdistricts()[self.subdistrict].code


@dataclass
class AidRoster:
    """Every aid case ever enrolled, and which cases each person belongs to."""

    cases: list[AidCase] = field(default_factory=list)
    by_person: dict[int, list[tuple[AidCase, AidMember]]] = field(default_factory=dict)
    _case_nos: set[str] = field(default_factory=set)

    def new_case_no(self, rnd: random.Random) -> str:
        """'YP' and 8 digits, unique."""
        while True:
            case_no = f"YP{rnd.randrange(10**8):08d}"
            if case_no not in self._case_nos:
                self._case_nos.add(case_no)
                return case_no

    def add(self, case: AidCase, district: District) -> AidCase:
        """Register ``case``, fill in the recorded IDs and names, and index its members."""
        for member in case.members:
            member.recorded_id = member.recorded_id or district.id_number[member.person]
            member.recorded_name = member.recorded_name or district.name[member.person]
            self.by_person.setdefault(member.person, []).append((case, member))
        self.cases.append(case)
        return case

    def is_aid_person(self, person: int) -> bool:
        """True when the person belongs to any case."""
        return person in self.by_person


def household_members(district: District) -> list[list[int]]:
    """Residents of each household, in person order."""
    members: list[list[int]] = [[] for _ in district.household_no]
    for person, hh in enumerate(district.household):
        if hh >= 0 and district.state[person] == RESIDENT:
            members[hh].append(person)
    return members


def case_for_household(
    district: District,
    roster: AidRoster,
    rnd: random.Random,
    people: list[int],
    enrolled_on: dt.date,
    *,
    applicant: int | None = None,
    must_count: int | None = None,
) -> AidCase:
    """An aid case for the given household members, enrolled on ``enrolled_on``.

    The applicant is the household head unless another is given. Adult children of working age
    are often not counted (是否计入保障=否): they have an income of their own.
    """
    if applicant is None:
        heads = [p for p in people if district.relation[p] == "户主"]
        applicant = heads[0] if heads else people[0]
    others = [p for p in people if p != applicant]
    elderly_single = not others and district.age(applicant, enrolled_on) >= 60
    if elderly_single and rnd.random() < 0.45:
        aid_type = "特困供养"
    else:
        aid_type = "低保" if rnd.random() < 0.82 else "低收入"
    status = "停保" if rnd.random() < 0.05 else "在保"
    case = AidCase(
        case_no=roster.new_case_no(rnd),
        aid_type=aid_type,
        subdistrict=district.household_subdistrict[district.household[applicant]],
        enrolled_on=enrolled_on,
        status=status,
        income=round(rnd.uniform(50, 600), 2) if rnd.random() < 0.3 else 0.0,
    )
    case.members.append(AidMember(applicant, "本人", True))
    for person in others:
        relation = district.relation[person]
        age = district.age(person, enrolled_on)
        working_child = relation in ("子", "女", "兄弟姐妹") and 18 <= age < 60
        counted = person == must_count or not (working_child and rnd.random() < 0.6)
        case.members.append(AidMember(person, relation, counted))
    return roster.add(case, district)


def enrol_opening_cases(
    district: District, roster: AidRoster, rnd: random.Random, start: dt.date, share: float = 0.025
) -> None:
    """Enrol about ``share`` of residents, in whole households, before the simulation starts.

    A few households with a working-age child are enrolled first so that even a small district
    has members who are not counted, and at least two cases are stopped (停保).
    """
    members = household_members(district)
    target = int(district.size * share)
    households = list(range(len(members)))
    rnd.shuffle(households)
    with_working_child = [
        hh
        for hh in households
        if any(
            district.relation[p] in ("子", "女") and 20 <= district.age(p, start) < 60
            for p in members[hh]
        )
    ]
    first = with_working_child[: max(3, target // 40)]
    chosen = set(first)
    order = first + [hh for hh in households if hh not in chosen]
    span = (start - dt.date(2016, 1, 1)).days
    enrolled = 0
    for hh in order:
        if enrolled >= target:
            break
        if not members[hh]:
            continue
        enrolled_on = dt.date(2016, 1, 1) + dt.timedelta(days=rnd.randrange(span))
        case = case_for_household(district, roster, rnd, members[hh], enrolled_on)
        enrolled += len(case.members)

    stopped = [c for c in roster.cases if c.status == "停保"]
    for case in roster.cases[-2:]:
        if len(stopped) >= 2:
            break
        if case.status != "停保":
            case.status = "停保"
            stopped.append(case)


def plant_recording_flaws(district: District, roster: AidRoster, rnd: random.Random) -> None:
    """Give some members a 15-digit legacy ID or a mistyped check character, and add dirt.

    Typo members are chosen among people whose (name, birth date) is unique in the district, so
    that matching by name and birth date finds exactly them.
    """
    active = [m for c in roster.cases if c.status == "在保" for m in c.members if m.counted]
    rnd.shuffle(active)
    n_members = sum(len(c.members) for c in roster.cases)

    legacy_wanted = max(8, n_members * 3 // 100)
    legacy = [m for m in active if 1900 <= district.birth[m.person].year <= 1999][:legacy_wanted]
    for member in legacy:
        member.recorded_id = downgrade_18_to_15(district.id_number[member.person])
        member.match = LEGACY_15

    name_births = Counter(zip(district.name, district.birth, strict=True))
    typo_wanted = max(8, n_members * 2 // 100)
    typo = [
        m
        for m in active
        if m.match == EXACT
        and name_births[(district.name[m.person], district.birth[m.person])] == 1
    ][:typo_wanted]
    for member in typo:
        true_id = district.id_number[member.person]
        wrong = rnd.choice([c for c in "0123456789X" if c != true_id[17]])
        member.recorded_id = true_id[:17] + wrong
        member.match = CHECK_TYPO

    # Light dirt a good reader normalises: lower-case x, full-width digits, trailing spaces.
    for case in roster.cases:
        for member in case.members:
            if member.match != EXACT:
                continue
            if rnd.random() < 0.005:
                rid = member.recorded_id
                member.recorded_id = (
                    rid[:17] + "x" if rid.endswith("X") else rid.translate(_FULL_WIDTH)
                )
            if rnd.random() < 0.004:
                member.recorded_name += rnd.choice((" ", "\u3000"))


def typo_keys(district: District, roster: AidRoster) -> set[tuple[str, dt.date]]:
    """(name, birth date) of every check-typo member: newcomers must not share one."""
    return {
        (district.name[m.person], district.birth[m.person])
        for c in roster.cases
        for m in c.members
        if m.match == CHECK_TYPO
    }
