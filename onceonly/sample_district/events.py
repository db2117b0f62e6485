"""Civil events of each simulated month: deaths, marriages, divorces and household moves.

Three kinds of events are made. Background events happen to anyone at rates near the real ones
(per 1.24 million residents and month: ~1,000 deaths, ~400 marriages, ~150 divorces, ~800 moves
out of the district, ~800 moves in, ~200 moves between subdistricts). Planted events happen to
counted aid members so that the sentinel has real work every month, and decoys happen to aid
members in ways that must not raise an alert. Finally, from the second month on, a few new aid
cases are enrolled for people whose death, move or marriage was already registered.

Each person has at most one event a month, and nobody has an event after their death.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import numpy as np

from onceonly.reference import DISTRICT_CODE, DISTRICT_NAME, county_places, subdistricts

from .aid import CHECK_TYPO, LEGACY_15, AidCase, AidRoster, case_for_household
from .periods import Month
from .population import (
    DEAD,
    DIVORCED,
    MARRIED,
    MOVED_OUT,
    OUTSIDER,
    RESIDENT,
    WIDOWED,
    District,
    HouseholdBuilder,
)

DEATH, MARRIAGE, DIVORCE, MOVED_OUT_RULE = "death", "marriage", "divorce", "moved_out"
RULES = (DEATH, MARRIAGE, DIVORCE, MOVED_OUT_RULE)

# Background events per 1.24 million residents and month.
MONTHLY_RATES = {
    "death": 1000,
    "marriage": 400,
    "divorce": 150,
    "move_out": 800,
    "move_in": 800,
    "move_within": 200,
}
FULL_DISTRICT = 1_240_000

PLACES_OF_DEATH = (
    "长海医院",
    "新华医院",
    "杨浦区中心医院",
    "杨浦区市东医院",
    "控江医院",
    "家中",
    "养老机构",
)
_YANGPU_PLACE = "上海市" + DISTRICT_NAME


@dataclass(slots=True)
class DeathRecord:
    """One row of the death registry."""

    record_id: str
    person: int
    death_date: dt.date
    registered_at: dt.datetime
    place: str


@dataclass(slots=True)
class MarriageRecord:
    """One row of the marriage registry: a marriage or a divorce of two people."""

    record_id: str
    event_type: str  # 结婚登记 or 离婚登记
    registration_date: dt.date
    male: int
    female: int


@dataclass(slots=True)
class MoveRecord:
    """One row of the household-moves registry: one person moved into or out of a subdistrict."""

    record_id: str
    person: int
    move_type: str  # 迁入 or 迁出
    move_date: dt.date
    other_place_code: str
    other_place: str
    subdistrict: int
    registration_date: dt.date


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """A registry record as it concerns one person, in the sentinel's terms."""

    rule: str
    record_id: str
    person: int
    event_date: dt.date
    month: Month  # the month in which it was registered


@dataclass
class MonthEvents:
    """Everything registered in one month, and the aid cases enrolled in it."""

    month: Month
    deaths: list[DeathRecord] = field(default_factory=list)
    marriages: list[MarriageRecord] = field(default_factory=list)
    moves: list[MoveRecord] = field(default_factory=list)
    events: list[RegistryEvent] = field(default_factory=list)
    enrolled: list[AidCase] = field(default_factory=list)
    decoys: dict[str, int] = field(default_factory=dict)


class MonthSimulator:
    """Advances the district month by month and records what the registries would hold."""

    def __init__(
        self,
        district: District,
        roster: AidRoster,
        builder: HouseholdBuilder,
        rnd: random.Random,
        rng: np.random.Generator,
        people: int,
    ) -> None:
        self.district = district
        self.roster = roster
        self.builder = builder
        self.rnd = rnd
        self.rng = rng
        self.people = people
        self.history: dict[int, list[RegistryEvent]] = {}
        self._serial = 0
        self._places = county_places()

    # -- the month as a whole -----------------------------------------------------------------

    def simulate(self, month: Month, index: int) -> MonthEvents:
        """Make the events of ``month`` (the ``index``-th simulated month) and apply them."""
        out = MonthEvents(month)
        touched: set[int] = set()

        planted = max(2, self.people // 5000)
        for rule in RULES:
            self._plant_aid_events(out, touched, rule, planted)

        self._plant_decoys(out, touched, index)
        self._background(out, touched)

        if index >= 1:
            self._enrol_fraud_cases(out, touched, max(3, self.people // 10000))
        self._enrol_ordinary_cases(out, max(1, len(self.roster.cases) // 150))

        for event in out.events:
            self.history.setdefault(event.person, []).append(event)
        return out

    # -- single events ------------------------------------------------------------------------

    def _record_id(self, prefix: str, month: Month) -> str:
        self._serial += 1
        return f"{prefix}{month.tag}{self._serial:06d}"

    def _day_in(self, month: Month) -> dt.date:
        return month.first + dt.timedelta(days=self.rnd.randrange(month.days))

    def _after_last_event(self, person: int, day: dt.date) -> dt.date:
        return max(day, self.district.last_event[person] + dt.timedelta(days=1))

    def _leave(self, person: int, state: int, day: dt.date, month: Month) -> None:
        d = self.district
        d.state[person] = state
        d.changed_on[person] = day
        d.changed_in[person] = month.tag
        d.last_event[person] = day

    def death(self, out: MonthEvents, touched: set[int], person: int) -> None:
        """Register a death; registration follows the death by up to a week."""
        d = self.district
        month = out.month
        registered = self._day_in(month)
        died = self._after_last_event(person, registered - dt.timedelta(self.rnd.randrange(7)))
        seconds = self.rnd.randrange(8 * 3600 + 1800, 17 * 3600)
        registered_at = dt.datetime.combine(registered, dt.time()) + dt.timedelta(seconds=seconds)
        record_id = self._record_id("SW", month)
        out.deaths.append(
            DeathRecord(record_id, person, died, registered_at, self.rnd.choice(PLACES_OF_DEATH))
        )
        out.events.append(RegistryEvent(DEATH, record_id, person, died, month))
        self._leave(person, DEAD, died, month)
        touched.add(person)

        spouse = d.spouse[person]
        if spouse >= 0:
            d.marital[spouse] = WIDOWED
            d.spouse[spouse] = d.spouse[person] = -1
            touched.add(spouse)  # a widow does not remarry in the same month

    def marriage(self, out: MonthEvents, touched: set[int], person: int) -> None:
        """Register the marriage of ``person`` to a single resident or to someone from outside."""
        d = self.district
        month = out.month
        partner = self._resident_partner(person, touched) if self.rnd.random() < 0.5 else -1
        if partner < 0:
            partner = self._outsider_partner(person)
        day = self._day_in(month)
        male, female = (person, partner) if d.male[person] else (partner, person)
        record_id = self._record_id("HY", month)
        out.marriages.append(MarriageRecord(record_id, "结婚登记", day, male, female))
        for party in (male, female):
            out.events.append(RegistryEvent(MARRIAGE, record_id, party, day, month))
            d.last_event[party] = day
            touched.add(party)
        d.marry(male, female)

    def divorce(self, out: MonthEvents, touched: set[int], person: int) -> None:
        """Register the divorce of ``person`` and their spouse."""
        d = self.district
        month = out.month
        spouse = d.spouse[person]
        day = self._day_in(month)
        male, female = (person, spouse) if d.male[person] else (spouse, person)
        record_id = self._record_id("LH", month)
        out.marriages.append(MarriageRecord(record_id, "离婚登记", day, male, female))
        for party in (male, female):
            out.events.append(RegistryEvent(DIVORCE, record_id, party, day, month))
            d.marital[party] = DIVORCED
            d.spouse[party] = -1
            d.last_event[party] = day
            touched.add(party)

    def move_out(self, out: MonthEvents, touched: set[int], person: int) -> None:
        """Register a move of the person's household registration out of the district."""
        d = self.district
        month = out.month
        registered = self._day_in(month)
        moved = max(month.first, registered - dt.timedelta(self.rnd.randrange(3)))
        moved = self._after_last_event(person, moved)
        registered = max(registered, moved)
        code = self.builder.ids.outside_county()
        record_id = self._record_id("QC", month)
        sub = d.household_subdistrict[d.household[person]]
        out.moves.append(
            MoveRecord(
                record_id, person, "迁出", moved, code, self._places.get(code, ""), sub, registered
            )
        )
        out.events.append(RegistryEvent(MOVED_OUT_RULE, record_id, person, moved, month))
        self._leave(person, MOVED_OUT, moved, month)
        touched.add(person)

    def move_within(self, out: MonthEvents, touched: set[int], person: int) -> None:
        """Move a person to a new household in another Yangpu subdistrict.

        The registry writes two rows, out of the old subdistrict and into the new one, both with
        the district's own code as the other place: this is not a move out of the district.
        """
        d = self.district
        month = out.month
        day = self._after_last_event(person, self._day_in(month))
        old_sub = d.household_subdistrict[d.household[person]]
        new_sub = (old_sub + 1 + self.rnd.randrange(len(subdistricts()) - 1)) % len(subdistricts())
        new_hh = self.builder.new_household(new_sub, "moved_within")
        for move_type, sub in (("迁出", old_sub), ("迁入", new_sub)):
            out.moves.append(
                MoveRecord(
                    self._record_id("QY", month),
                    person,
                    move_type,
                    day,
                    DISTRICT_CODE,
                    _YANGPU_PLACE,
                    sub,
                    day,
                )
            )
        d.household[person] = new_hh
        d.relation[person] = "户主"
        d.changed_on[person] = day
        d.changed_in[person] = month.tag
        d.last_event[person] = day
        touched.add(person)

    def move_in(self, out: MonthEvents, touched: set[int]) -> int:
        """A new household moves into the district from elsewhere; returns how many people."""
        d = self.district
        b = self.builder
        month = out.month
        rnd = self.rnd
        day = self._day_in(month)
        origin = b.ids.outside_county()
        hh = b.new_household(rnd.randrange(len(subdistricts())), "moved_in")
        head_male = rnd.random() < 0.6
        head_age = rnd.randint(22, 60)
        people = [b.person(hh, "户主", head_male, head_age)]
        if rnd.random() < 0.45:
            people.append(
                b.person(hh, "配偶", not head_male, max(20, head_age + rnd.randint(-4, 4)))
            )
            d.marry(people[0], people[1])
            if head_age < 50 and rnd.random() < 0.5:
                child_male = rnd.random() < 0.5
                child_age = max(0, head_age - rnd.randint(24, 34))
                surname = d.name[people[0] if head_male else people[1]][0]
                people.append(
                    b.person(
                        hh, "子" if child_male else "女", child_male, child_age, surname=surname
                    )
                )
        for person in people:
            out.moves.append(
                MoveRecord(
                    self._record_id("QR", month),
                    person,
                    "迁入",
                    day,
                    origin,
                    self._places.get(origin, ""),
                    d.household_subdistrict[hh],
                    day,
                )
            )
            d.changed_on[person] = day
            d.changed_in[person] = month.tag
            d.last_event[person] = day
            touched.add(person)
        return len(people)

    def _resident_partner(self, person: int, touched: set[int]) -> int:
        # Rejection sampling keeps this O(1) per marriage even at 1.24 million residents.
        d = self.district
        on = d.start
        age = d.age(person, on)
        for _ in range(300):
            other = self.rnd.randrange(d.size)
            if (
                other != person
                and other not in touched
                and d.state[other] == RESIDENT
                and d.male[other] != d.male[person]
                and d.marital[other] != MARRIED
                and abs(d.age(other, on) - age) <= 12
                and d.age(other, on) >= 22
                and d.last_event[other] < on
            ):
                return other
        return -1

    def _outsider_partner(self, person: int) -> int:
        d = self.district
        age = max(22, d.age(person, d.start) + self.rnd.randint(-6, 6))
        return self.builder.person(
            -1,
            "",
            not d.male[person],
            age,
            county=self.builder.ids.outside_county(),
            state=OUTSIDER,
        )

    # -- who may have which event -------------------------------------------------------------

    def _may(self, rule: str, person: int, touched: set[int], on: dt.date) -> bool:
        d = self.district
        if d.state[person] != RESIDENT or person in touched or d.last_event[person] >= on:
            return False
        if rule == MARRIAGE:
            return d.marital[person] != MARRIED and d.age(person, on) >= 22
        if rule == DIVORCE:
            spouse = d.spouse[person]
            return d.marital[person] == MARRIED and spouse >= 0 and spouse not in touched
        return True

    def _apply(self, out: MonthEvents, touched: set[int], rule: str, person: int) -> None:
        {
            DEATH: self.death,
            MARRIAGE: self.marriage,
            DIVORCE: self.divorce,
            MOVED_OUT_RULE: self.move_out,
        }[rule](out, touched, person)

    # -- planted events and decoys ------------------------------------------------------------

    def _plant_aid_events(self, out: MonthEvents, touched: set[int], rule: str, k: int) -> None:
        """Give ``rule`` to ``k`` applicants or counted members of active cases.

        One 15-digit member and one check-typo member go first when any is eligible, so that the
        sentinel's harder matches are exercised early in every run.
        """
        on = out.month.first
        candidates = sorted(
            {
                m.person
                for c in self.roster.cases
                if c.status == "在保" and c.enrolled_on <= out.month.last
                for m in c.members
                if m.counted and self._may(rule, m.person, touched, on)
            }
        )
        self.rnd.shuffle(candidates)
        special = {
            m.person: m.match
            for c in self.roster.cases
            for m in c.members
            if m.match in (LEGACY_15, CHECK_TYPO) and c.status == "在保" and m.counted
        }
        first = []
        for match in (LEGACY_15, CHECK_TYPO):
            for person in candidates:
                if special.get(person) == match:
                    first.append(person)
                    break
        ordered = first + [p for p in candidates if p not in first]
        done = 0
        for person in ordered:
            if done >= k:
                break
            if self._may(rule, person, touched, on):
                self._apply(out, touched, rule, person)
                done += 1

    def _plant_decoys(self, out: MonthEvents, touched: set[int], index: int) -> None:
        """Events on aid members that a correct sentinel must not report."""
        on = out.month.first
        not_counted = sorted(
            {
                m.person
                for c in self.roster.cases
                if c.status == "在保"
                for m in c.members
                if not m.counted and len(self.roster.by_person[m.person]) == 1
            }
        )
        stopped = sorted(
            {m.person for c in self.roster.cases if c.status == "停保" for m in c.members}
        )
        active = sorted(
            {
                m.person
                for c in self.roster.cases
                if c.status == "在保"
                for m in c.members
                if m.counted
            }
        )
        rotation = (DEATH, MARRIAGE, MOVED_OUT_RULE)
        plans = (
            ("not_counted", not_counted, rotation[index % 3]),
            ("stopped_case", stopped, rotation[(index + 1) % 3]),
            ("move_within", active, "move_within"),
        )
        for name, pool, rule in plans:
            pool = list(pool)
            self.rnd.shuffle(pool)
            for person in pool:
                check = MOVED_OUT_RULE if rule == "move_within" else rule
                if self._may(check, person, touched, on):
                    if rule == "move_within":
                        self.move_within(out, touched, person)
                    else:
                        self._apply(out, touched, rule, person)
                    out.decoys[name] = out.decoys.get(name, 0) + 1
                    break

    # -- background ---------------------------------------------------------------------------

    def _background(self, out: MonthEvents, touched: set[int]) -> None:
        """Events at realistic rates, to anyone (aid members included, by chance)."""
        d = self.district
        rng = self.rng
        on = out.month.first
        scale = self.people / FULL_DISTRICT
        wanted = {k: int(rng.poisson(v * scale)) for k, v in MONTHLY_RATES.items()}

        births = np.fromiter((b.toordinal() for b in d.birth), dtype=np.int64, count=d.size)
        ages = (on.toordinal() - births) / 365.2425
        resident = np.fromiter((s == RESIDENT for s in d.state), dtype=bool, count=d.size)

        # Deaths are strongly skewed to the old: the weight doubles about every 6 years of age.
        weights = np.where(resident, np.exp2((ages - 80) / 6), 0.0)
        self._pick(out, touched, DEATH, weights, wanted["death"])

        married = np.fromiter((m == MARRIED for m in d.marital), dtype=bool, count=d.size)
        young = (ages >= 22) & (ages < 50)
        self._pick(
            out,
            touched,
            MARRIAGE,
            np.where(resident & young & ~married, 1.0, 0.0),
            wanted["marriage"],
        )
        middle = (ages >= 25) & (ages < 70)
        self._pick(
            out,
            touched,
            DIVORCE,
            np.where(resident & middle & married, 1.0, 0.0),
            wanted["divorce"],
        )
        adult = ages >= 18
        self._pick(
            out, touched, MOVED_OUT_RULE, np.where(resident & adult, 1.0, 0.0), wanted["move_out"]
        )
        self._pick(out, touched, "move_within", np.where(resident, 1.0, 0.0), wanted["move_within"])

        arrived = 0
        while arrived < wanted["move_in"]:
            arrived += self.move_in(out, touched)

    def _pick(
        self, out: MonthEvents, touched: set[int], rule: str, weights: np.ndarray, n: int
    ) -> None:
        if n <= 0 or weights.sum() <= 0:
            return
        candidates = np.flatnonzero(weights > 0)
        draw = min(len(candidates), 3 * n + 10)
        p = weights[candidates] / weights[candidates].sum()
        chosen = self.rng.choice(candidates, size=draw, replace=False, p=p)
        check = MOVED_OUT_RULE if rule == "move_within" else rule
        done = 0
        for person in chosen.tolist():
            if done >= n:
                break
            if self._may(check, person, touched, out.month.first):
                if rule == "move_within":
                    self.move_within(out, touched, person)
                else:
                    self._apply(out, touched, rule, person)
                done += 1

    # -- enrolments ---------------------------------------------------------------------------

    def _enrol_fraud_cases(self, out: MonthEvents, touched: set[int], k: int) -> None:
        """New cases whose applicant or a counted member is already dead, gone or married."""
        d = self.district
        by_rule: dict[str, list[int]] = {DEATH: [], MOVED_OUT_RULE: [], MARRIAGE: []}
        for person in sorted(self.history):
            if d.state[person] == OUTSIDER or self.roster.is_aid_person(person):
                continue
            for event in self.history[person]:
                if event.rule in by_rule and event.month < out.month:
                    by_rule[event.rule].append(person)
                    break
        for pool in by_rule.values():
            self.rnd.shuffle(pool)

        wanted = [(DEATH, MOVED_OUT_RULE, MARRIAGE)[i % 3] for i in range(k)]
        households: dict[int, list[int]] = {}
        chosen: list[tuple[int, int]] = []
        for rule in wanted:
            pool = by_rule[rule]
            while pool:
                person = pool.pop()
                hh = d.household[person]
                if hh not in households and not self.roster.is_aid_person(person):
                    households[hh] = []
                    chosen.append((person, hh))
                    break
        if not chosen:
            return
        for person, hh in enumerate(d.household):
            if hh in households:
                households[hh].append(person)

        for person, hh in chosen:
            people = [
                p
                for p in households[hh]
                if p == person or (d.state[p] == RESIDENT and not self.roster.is_aid_person(p))
            ]
            head = [p for p in people if d.relation[p] == "户主"]
            case = case_for_household(
                d,
                self.roster,
                self.rnd,
                people,
                self._day_in(out.month),
                applicant=head[0] if head else person,
                must_count=person,
            )
            case.status = "在保"
            out.enrolled.append(case)

    def _enrol_ordinary_cases(self, out: MonthEvents, k: int) -> None:
        """Ordinary new cases: whole households of residents not yet on aid."""
        d = self.district
        households: dict[int, list[int]] = {}
        tries = 0
        while len(households) < k and tries < 50 * k:
            tries += 1
            person = self.rnd.randrange(d.size)
            if d.state[person] != RESIDENT or self.roster.is_aid_person(person):
                continue
            households.setdefault(d.household[person], [])
        if not households:
            return
        for person, hh in enumerate(d.household):
            if hh in households and d.state[person] == RESIDENT:
                households[hh].append(person)
        for hh in sorted(households):
            people = [p for p in households[hh] if not self.roster.is_aid_person(p)]
            if not people:
                continue
            case = case_for_household(d, self.roster, self.rnd, people, self._day_in(out.month))
            case.status = "在保"
            out.enrolled.append(case)
