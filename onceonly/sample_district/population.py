"""The simulated residents of Yangpu: households, names, ID numbers and registered addresses.

People are kept column-wise in plain lists indexed by a person number, so that 1.24 million
residents cost a few lists rather than a million objects. The same table also holds people who
never lived in the district (spouses from elsewhere), marked as outsiders, because the marriage
registry needs their names and IDs.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass, field

from faker import Faker

from onceonly.identity import check_character
from onceonly.reference import DISTRICT_CODE, county_codes, subdistricts

from .periods import compact_date

# Where a person stands in the household register.
RESIDENT, DEAD, MOVED_OUT, OUTSIDER = 0, 1, 2, 3
# Marital state, tracked so that only single people marry and only married people divorce.
SINGLE, MARRIED, DIVORCED, WIDOWED = 0, 1, 2, 3

# County codes that were abolished long ago (卢湾区, 闸北区, 南市区, 南汇区, 上海县 and 奉贤县 as
# they were coded before the mergers). IDs carrying them are still valid for life.
ABOLISHED_COUNTIES = ("310102", "310103", "310108", "310119", "310225", "310226")

# Real Yangpu roads, each under a subdistrict it plausibly runs through.
ROADS_BY_SUBDISTRICT = {
    "定海路街道": ("定海路", "杨树浦路", "隆昌路", "兰州路"),
    "平凉路街道": ("平凉路", "杨树浦路", "许昌路", "眉州路"),
    "江浦路街道": ("江浦路", "长阳路", "辽源西路", "周家嘴路"),
    "四平路街道": ("四平路", "鞍山路", "阜新路", "抚顺路"),
    "控江路街道": ("控江路", "凤城路", "营口路", "靖宇中路"),
    "长白新村街道": ("长白路", "军工路", "营口路", "安图路"),
    "延吉新村街道": ("延吉中路", "松花江路", "延吉东路", "靖宇东路"),
    "殷行街道": ("殷行路", "民京路", "开鲁路", "国和路"),
    "大桥街道": ("大连路", "长阳路", "临青路", "周家嘴路"),
    "五角场街道": ("国定路", "政立路", "邯郸路", "国权路", "政通路"),
    "新江湾城街道": ("国权北路", "政立路", "淞沪路", "殷行路"),
    "长海路街道": ("长海路", "黄兴路", "水丰路", "民京路"),
}

# Characters outside GBK: a file holding them really needs GB18030, not GBK.
RARE_GIVEN_NAMES = ("䶮", "喆", "子喆", "䶮宁", "喆明")


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class NameBook:
    """Surnames and given-name characters drawn once from a seeded Faker('zh_CN').

    Faker's own draws are frequency-weighted, so sampling uniformly from a long list of draws keeps
    common surnames common without calling Faker once per resident.
    """

    def __init__(self, seed: int, rnd: random.Random) -> None:
        faker = Faker("zh_CN")
        faker.seed_instance(seed)
        self.surnames = [faker.last_name() for _ in range(4000)]
        male = [faker.first_name_male() for _ in range(3000)]
        female = [faker.first_name_female() for _ in range(3000)]
        # Faker's table mixes one- and two-character given names; keep them apart so that a
        # composed name never gets three given characters.
        self.single = {
            True: [n for n in male if len(n) == 1],
            False: [n for n in female if len(n) == 1],
        }
        self.double = {
            True: [n for n in male if len(n) == 2],
            False: [n for n in female if len(n) == 2],
        }
        self._rnd = rnd

    def given(self, male: bool) -> str:
        """A one- or two-character given name; very rarely one with a GB18030-only character."""
        rnd = self._rnd
        if rnd.random() < 0.0008:
            return rnd.choice(RARE_GIVEN_NAMES)
        u = rnd.random()
        if u < 0.3:
            return rnd.choice(self.single[male])
        if u < 0.5 and self.double[male]:
            return rnd.choice(self.double[male])
        return rnd.choice(self.single[male]) + rnd.choice(self.single[male])

    def surname(self) -> str:
        """A surname, as common as it is in Faker's table."""
        return self._rnd.choice(self.surnames)


class IdBook:
    """Issues unique, valid 18-digit IDs whose birth date and order-code parity match the person."""

    def __init__(self, rnd: random.Random) -> None:
        self._rnd = rnd
        self._taken: set[str] = set()
        codes = sorted(county_codes())
        self.shanghai = [c for c in codes if c.startswith("31") and c != DISTRICT_CODE]
        self.elsewhere = [c for c in codes if not c.startswith("31")]

    def birth_county(self, birth: dt.date) -> str:
        """Where a resident was first registered: ~45% Shanghai (mostly Yangpu), ~1% abolished."""
        u = self._rnd.random()
        if u < 0.01 and birth.year < 1995:
            return self._rnd.choice(ABOLISHED_COUNTIES)
        if u < 0.28:
            return DISTRICT_CODE
        if u < 0.46:
            return self._rnd.choice(self.shanghai)
        return self._rnd.choice(self.elsewhere)

    def outside_county(self) -> str:
        """A current county code outside Yangpu: elsewhere in Shanghai or elsewhere in China."""
        if self._rnd.random() < 0.4:
            return self._rnd.choice(self.shanghai)
        return self._rnd.choice(self.elsewhere)

    def issue(self, county: str, birth: dt.date, male: bool) -> str:
        """A fresh ID; the order code is odd for men and even for women (GB 11643)."""
        rnd = self._rnd
        while True:
            order = 2 * rnd.randrange(500) + (1 if male else 0)
            first17 = f"{county}{compact_date(birth)}{order:03d}"
            id_number = first17 + check_character(first17)
            if id_number not in self._taken:
                self._taken.add(id_number)
                return id_number


@dataclass
class District:
    """Everyone the simulation knows, column-wise, and the households of the register."""

    start: dt.date
    # people
    id_number: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    male: list[bool] = field(default_factory=list)
    birth: list[dt.date] = field(default_factory=list)
    household: list[int] = field(default_factory=list)  # -1 for outsiders
    relation: list[str] = field(default_factory=list)  # 与户主关系
    state: list[int] = field(default_factory=list)
    marital: list[int] = field(default_factory=list)
    spouse: list[int] = field(default_factory=list)  # -1 when unknown or none
    compact_birth: list[bool] = field(default_factory=list)  # exported as 19800101
    changed_on: list[dt.date | None] = field(default_factory=list)  # 变更日期
    changed_in: list[str] = field(default_factory=list)  # month tag of the last change
    last_event: list[dt.date] = field(default_factory=list)
    # households
    household_no: list[str] = field(default_factory=list)
    household_subdistrict: list[int] = field(default_factory=list)  # index into subdistricts()
    household_address: list[str] = field(default_factory=list)
    household_kind: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many people the table holds, outsiders included."""
        return len(self.id_number)

    def add_person(
        self,
        *,
        id_number: str,
        name: str,
        male: bool,
        birth: dt.date,
        household: int,
        relation: str,
        state: int = RESIDENT,
        marital: int = SINGLE,
        compact_birth: bool = False,
    ) -> int:
        """Append a person and return their number."""
        self.id_number.append(id_number)
        self.name.append(name)
        self.male.append(male)
        self.birth.append(birth)
        self.household.append(household)
        self.relation.append(relation)
        self.state.append(state)
        self.marital.append(marital)
        self.spouse.append(-1)
        self.compact_birth.append(compact_birth)
        self.changed_on.append(None)
        self.changed_in.append("")
        self.last_event.append(dt.date(1900, 1, 1))
        return len(self.id_number) - 1

    def marry(self, a: int, b: int) -> None:
        """Record that ``a`` and ``b`` are now married to each other."""
        self.marital[a] = self.marital[b] = MARRIED
        self.spouse[a], self.spouse[b] = b, a

    def age(self, person: int, day: dt.date) -> int:
        """The person's age in whole years on ``day``."""
        return age_on(self.birth[person], day)


class HouseholdBuilder:
    """Creates households with heads and members, names, IDs and addresses."""

    def __init__(self, district: District, rnd: random.Random, names: NameBook, ids: IdBook):
        self.district = district
        self.rnd = rnd
        self.names = names
        self.ids = ids
        self._household_nos: set[str] = set()
        self.subdistricts = subdistricts()
        # (name, birth date) pairs nobody new may take: the roster's check-typo members are
        # found by them.
        self.reserved_name_births: set[tuple[str, dt.date]] = set()

    def new_household(self, subdistrict: int, kind: str) -> int:
        """A new household on a real road of ``subdistrict``, with a unique 9-digit number."""
        rnd = self.rnd
        d = self.district
        while True:
            # Some numbers start with 00 so that a reader that drops leading zeros shows it.
            top = 10_000_000 if rnd.random() < 0.08 else 1_000_000_000
            number = f"{rnd.randrange(top):09d}"
            if number not in self._household_nos:
                self._household_nos.add(number)
                break
        road = rnd.choice(ROADS_BY_SUBDISTRICT[self.subdistricts[subdistrict].name])
        address = (
            f"上海市杨浦区{road}{rnd.randrange(1, 1500)}弄{rnd.randrange(1, 60)}号"
            f"{rnd.randrange(1, 17)}{rnd.randrange(1, 5):02d}室"
        )
        d.household_no.append(number)
        d.household_subdistrict.append(subdistrict)
        d.household_address.append(address)
        d.household_kind.append(kind)
        return len(d.household_no) - 1

    def birth_for_age(self, age: int, on: dt.date) -> dt.date:
        """A birth date that makes the person ``age`` years old on ``on``."""
        days = int(age * 365.2425) + self.rnd.randrange(365)
        return on - dt.timedelta(days=days)

    def person(
        self,
        household: int,
        relation: str,
        male: bool,
        age: int,
        *,
        surname: str | None = None,
        marital: int = SINGLE,
        county: str | None = None,
        state: int = RESIDENT,
    ) -> int:
        """Create a person of ``age`` on the start date, with a name and a valid ID."""
        d = self.district
        birth = self.birth_for_age(max(age, 0), d.start)
        county = county or self.ids.birth_county(birth)
        name = (surname or self.names.surname()) + self.names.given(male)
        while (name, birth) in self.reserved_name_births:
            name = (surname or self.names.surname()) + self.names.given(male)
        return d.add_person(
            id_number=self.ids.issue(county, birth, male),
            name=name,
            male=male,
            birth=birth,
            household=household,
            relation=relation,
            state=state,
            marital=marital,
            compact_birth=self.rnd.random() < 0.03,
        )


# Household kinds with their weights; tuned so that ~30% of residents are 60 or older and
# ~2.5% are 80 or older, and about a fifth of those over 80 live alone.
_KINDS = ("young_single", "young_couple", "family", "elder_couple", "elder_alone", "middle_single")
_CUM_WEIGHTS = (7, 20, 52, 77, 90, 100)


def _elder_age(rnd: random.Random) -> int:
    # Ages past 60 thin out roughly exponentially; about one elder in nine is 80 or older.
    return 60 + min(40, int(rnd.expovariate(1 / 9)))


def build_population(district: District, builder: HouseholdBuilder, people: int) -> None:
    """Fill ``district`` with ``people`` residents in households of the kinds above."""
    rnd = builder.rnd
    n_sub = len(builder.subdistricts)
    child = {True: "子", False: "女"}
    grandchild = {True: "孙子", False: "孙女"}

    while district.size < people:
        kind = _KINDS[bisect.bisect_right(_CUM_WEIGHTS, rnd.random() * 100)]
        hh = builder.new_household(rnd.randrange(n_sub), kind)
        members: list[tuple[str, bool, int, int]] = []  # relation, male, age, marital
        spouse_at: int | None = None

        if kind == "young_single":
            members.append(("户主", rnd.random() < 0.55, rnd.randint(22, 34), SINGLE))
        elif kind == "middle_single":
            head_male = rnd.random() < 0.55
            age = rnd.randint(35, 59)
            members.append(("户主", head_male, age, rnd.choice((SINGLE, DIVORCED))))
            if rnd.random() < 0.1:
                members.append(("兄弟姐妹", rnd.random() < 0.5, age + rnd.randint(-5, 5), SINGLE))
        elif kind == "elder_alone":
            status = rnd.choices((WIDOWED, DIVORCED, SINGLE), cum_weights=(70, 85, 100))[0]
            members.append(("户主", rnd.random() < 0.4, _elder_age(rnd), status))
        else:
            if kind == "young_couple":
                head_age = rnd.randint(24, 36)
            elif kind == "family":
                head_age = rnd.randint(35, 59)
            else:
                head_age = _elder_age(rnd)
            head_male = rnd.random() < 0.8
            has_spouse = kind != "family" or rnd.random() < 0.85
            members.append(("户主", head_male, head_age, MARRIED if has_spouse else DIVORCED))
            if has_spouse:
                spouse_at = len(members)
                spouse_age = max(
                    55 if kind == "elder_couple" else 20, head_age + rnd.randint(-4, 4)
                )
                members.append(("配偶", not head_male, spouse_age, MARRIED))
            if kind == "young_couple":
                n_children = 1 if rnd.random() < 0.5 else 0
            elif kind == "family":
                n_children = rnd.choices((0, 1, 2), cum_weights=(15, 75, 100))[0]
            else:
                n_children = 1 if rnd.random() < 0.3 else 0
            for _ in range(n_children):
                if kind == "young_couple":
                    age = rnd.randint(0, 8)
                else:
                    age = max(0, head_age - rnd.randint(24, 34))
                male = rnd.random() < 0.5
                members.append((child[male], male, age, SINGLE))
            if kind == "elder_couple" and n_children and rnd.random() < 0.5:
                male = rnd.random() < 0.5
                members.append((grandchild[male], male, rnd.randint(0, 20), SINGLE))
            if kind == "family" and rnd.random() < 0.18:
                father_age = head_age + rnd.randint(24, 32)
                # Either both parents (married to each other) or a widowed mother.
                both = rnd.random() < 0.5
                if both:
                    members.append(("父亲", True, father_age, MARRIED))
                mother_age = father_age - rnd.randint(0, 4)
                members.append(("母亲", False, mother_age, MARRIED if both else WIDOWED))

        # Children carry the father's surname: the head's if he is a man, else the spouse's.
        head_surname = builder.names.surname()
        spouse_surname = builder.names.surname()
        family_surname = head_surname if members[0][1] or spouse_at is None else spouse_surname
        numbers: dict[str, int] = {}
        for index, (relation, male, age, marital) in enumerate(members):
            if district.size >= people:
                break
            if index == 0 or relation in ("父亲", "兄弟姐妹"):
                surname = head_surname
            elif index == spouse_at:
                surname = spouse_surname
            elif relation in ("子", "女", "孙子", "孙女"):
                surname = family_surname
            else:
                surname = None
            numbers[relation] = builder.person(
                hh, relation, male, age, surname=surname, marital=marital
            )
        if "户主" in numbers and "配偶" in numbers:
            district.marry(numbers["户主"], numbers["配偶"])
        if "父亲" in numbers and "母亲" in numbers:
            district.marry(numbers["父亲"], numbers["母亲"])

    # A handful of residents always carry GB18030-only characters, whatever the size.
    for person in range(0, district.size, max(1, district.size // 4))[:4]:
        surname = district.name[person][0]
        district.name[person] = surname + ("䶮" if person % 2 == 0 else "喆")
