"""Generating the whole sample district: people, months of events, extracts and the truth."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onceonly.reference import subdistricts

from .aid import AidRoster, enrol_opening_cases, plant_recording_flaws, typo_keys
from .elderly import elderly_list
from .events import MonthEvents, MonthSimulator
from .labour import monthly_changes, opening_stock
from .periods import Month, chinese_date
from .population import (
    DEAD,
    MOVED_OUT,
    RESIDENT,
    District,
    HouseholdBuilder,
    IdBook,
    NameBook,
    build_population,
)
from .truth import sentinel_alerts, write_alerts
from .writers import (
    contract_headers,
    write_aid_workbook,
    write_csv,
    write_death_workbook,
    write_elderly_workbook,
)

log = logging.getLogger(__name__)

_STATUS_TEXT = {RESIDENT: "正常", MOVED_OUT: "迁出", DEAD: "死亡注销"}


@dataclass
class GenerationSummary:
    """What ``generate`` wrote: the extract files, the truth files and row counts."""

    files: list[Path] = field(default_factory=list)  # extracts in out_dir, in writing order
    truth_files: list[Path] = field(default_factory=list)
    # feed (or feed/sheet) -> month 'YYYY-MM' (or 'opening') -> rows written
    row_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, feed: str, period: str, rows: int) -> None:
        """Record ``rows`` written for ``feed`` in ``period``."""
        self.row_counts.setdefault(feed, {})[period] = rows


def generate(
    out_dir: Path,
    truth_dir: Path,
    *,
    people: int = 20_000,
    months: int = 3,
    seed: int = 7,
    start: str = "2026-01",
) -> GenerationSummary:
    """Generate a sample district of ``people`` residents and ``months`` months of extracts.

    Args:
        out_dir: where the department extracts go, as they would land in the drop folder.
        truth_dir: where the expected sentinel alerts and counts go; must not be inside out_dir.
        people: residents at the start.
        months: how many consecutive months, starting with ``start``.
        seed: the same seed gives byte-identical files.
        start: the first month, 'YYYY-MM'.

    Returns:
        The files written and the rows per feed and month.
    """
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    if people < 500 or months < 1:
        raise ValueError(
            f"A sample district needs at least 500 people and one month; got people={people}, "
            f"months={months}."
        )
    if truth_dir.resolve() == out_dir.resolve() or out_dir.resolve() in truth_dir.resolve().parents:
        raise ValueError(
            f"The truth directory {truth_dir} lies inside the extracts directory {out_dir}; "
            "choose a separate directory so readers never see the expected answers."
        )
    first = Month.parse(start)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    summary = GenerationSummary()

    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    district = District(start=first.first)
    builder = HouseholdBuilder(district, rnd, NameBook(seed, rnd), IdBook(rnd))
    build_population(district, builder, people)
    roster = AidRoster()
    enrol_opening_cases(district, roster, rnd, first.first)
    plant_recording_flaws(district, roster, rnd)
    builder.reserved_name_births = typo_keys(district, roster)
    log.info("Built %d residents in %d households.", district.size, len(district.household_no))

    _write_opening_stock(out_dir, first, rnd, summary)
    simulator = MonthSimulator(district, roster, builder, rnd, rng, people)
    simulated: list[MonthEvents] = []
    monthly_stats = {}
    for index in range(months):
        month = first.plus(index)
        events = simulator.simulate(month, index)
        simulated.append(events)
        last = index == months - 1
        _write_household_register(out_dir, district, month, summary, id_alias=last)
        _write_moves(out_dir, district, events, summary)
        _write_marriages(out_dir, district, events, summary)
        _write_deaths(out_dir, district, events, summary)
        _write_aid_roster(out_dir, district, roster, month, summary)
        _write_elderly(out_dir, district, month, seed, summary)
        _write_labour_changes(out_dir, month, rnd, summary, leave_out_one=index == 1)
        monthly_stats[month.label] = _month_stats(district, roster, month, events)
        log.info("Wrote the extracts of %s.", month.label)

    alerts = sentinel_alerts(district, roster, simulated)
    alerts_path = truth_dir / "alerts.csv"
    write_alerts(alerts_path, alerts)
    counts_path = truth_dir / "counts.json"
    counts = {
        "seed": seed,
        "people": people,
        "months": months,
        "start": first.label,
        "rows": summary.row_counts,
        "by_month": monthly_stats,
        "alerts": len(alerts),
    }
    counts_path.write_text(
        json.dumps(counts, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    summary.truth_files += [alerts_path, counts_path]
    return summary


def _month_stats(
    district: District, roster: AidRoster, month: Month, events: MonthEvents
) -> dict[str, object]:
    residents = [p for p in range(district.size) if district.state[p] == RESIDENT]
    cases = [c for c in roster.cases if c.enrolled_on <= month.last]
    return {
        "residents_at_month_end": len(residents),
        "households_at_month_end": len({district.household[p] for p in residents}),
        "aid_cases": len(cases),
        "aid_cases_active": sum(c.status == "在保" for c in cases),
        "aid_members": sum(len(c.members) for c in cases),
        "aid_cases_enrolled_in_month": len(events.enrolled),
        "decoys": dict(sorted(events.decoys.items())),
    }


def _write_opening_stock(out_dir: Path, first: Month, rnd: random.Random, summary) -> None:
    path = out_dir / "劳动力档案期初库存.csv"
    as_of = (first.first - dt.timedelta(days=1)).isoformat()
    rows = [(s.code, s.name, as_of, stock) for s, stock in opening_stock(rnd)]
    header = contract_headers("labour_archive", "labour_archive_opening")
    summary.count(
        "labour_archive_opening",
        "opening",
        write_csv(path, header, rows, encoding="utf-8-sig", crlf=True),
    )
    summary.files.append(path)


def _write_household_register(
    out_dir: Path, district: District, month: Month, summary: GenerationSummary, *, id_alias: bool
) -> None:
    """The police's full extract in GB18030 with CRLF; the last month renames the ID column."""
    d = district
    path = out_dir / f"户籍人口_{month.tag}.csv"
    header = list(contract_headers("household_register"))
    if id_alias:
        header[0] = "身份证号"  # schema drift: a new export tool, an old column name
    codes = [s.code for s in subdistricts()]
    names = [s.name for s in subdistricts()]

    def rows():
        for p in range(d.size):
            state = d.state[p]
            changed_now = d.changed_in[p] == month.tag
            if state != RESIDENT and not (state in (DEAD, MOVED_OUT) and changed_now):
                continue
            hh = d.household[p]
            birth = d.birth[p]
            sub = d.household_subdistrict[hh]
            yield (
                d.id_number[p],
                d.name[p],
                "男" if d.male[p] else "女",
                birth.strftime("%Y%m%d") if d.compact_birth[p] else birth.isoformat(),
                d.household_no[hh],
                d.relation[p],
                d.household_address[hh],
                codes[sub],
                names[sub],
                _STATUS_TEXT[state],
                d.changed_on[p].isoformat() if changed_now else "",
            )

    summary.count(
        "household_register",
        month.label,
        write_csv(path, header, rows(), encoding="gb18030", crlf=True),
    )
    summary.files.append(path)


def _write_moves(out_dir: Path, district: District, events: MonthEvents, summary) -> None:
    """Household moves in UTF-8 without a BOM, as a Linux export writes them."""
    path = out_dir / f"户籍迁移_{events.month.tag}.csv"
    codes = [s.code for s in subdistricts()]
    rows = [
        (
            m.record_id,
            district.id_number[m.person],
            district.name[m.person],
            m.move_type,
            m.move_date.isoformat(),
            m.other_place_code,
            m.other_place,
            codes[m.subdistrict],
            m.registration_date.isoformat(),
        )
        for m in events.moves
    ]
    summary.count(
        "household_moves",
        events.month.label,
        write_csv(path, contract_headers("household_moves"), rows, encoding="utf-8", crlf=False),
    )
    summary.files.append(path)


def _write_marriages(out_dir: Path, district: District, events: MonthEvents, summary) -> None:
    """Marriages and divorces in UTF-8 with a BOM (Excel's "CSV UTF-8"), Chinese dates."""
    d = district
    path = out_dir / f"婚姻登记_{events.month.tag}.csv"
    rows = [
        (
            r.record_id,
            r.event_type,
            chinese_date(r.registration_date),
            d.name[r.male],
            d.id_number[r.male],
            d.name[r.female],
            d.id_number[r.female],
        )
        for r in events.marriages
    ]
    summary.count(
        "marriage_registry",
        events.month.label,
        write_csv(
            path, contract_headers("marriage_registry"), rows, encoding="utf-8-sig", crlf=True
        ),
    )
    summary.files.append(path)


def _write_deaths(out_dir: Path, district: District, events: MonthEvents, summary) -> None:
    d = district
    month = events.month
    path = out_dir / f"死亡登记_{month.tag}.xlsx"
    rows = [
        (
            r.record_id,
            d.name[r.person],
            d.id_number[r.person],
            "男" if d.male[r.person] else "女",
            r.death_date,
            r.registered_at,
            r.place,
        )
        for r in events.deaths
    ]
    filed_on = month.last + dt.timedelta(days=3)
    summary.count("death_registry", month.label, write_death_workbook(path, month, rows, filed_on))
    summary.files.append(path)


def _write_aid_roster(
    out_dir: Path, district: District, roster: AidRoster, month: Month, summary
) -> None:
    """Month-end roster: every case enrolled by the month's end, the dead and departed too."""
    d = district
    path = out_dir / f"社会救助对象_{month.tag}.xlsx"
    names = [s.name for s in subdistricts()]
    cases = [c for c in roster.cases if c.enrolled_on <= month.last]
    households = [
        (
            c.case_no,
            c.applicant.recorded_id,
            c.applicant.recorded_name,
            c.aid_type,
            c.monthly_amount,
            c.counted_size,
            c.subdistrict_code,
            names[c.subdistrict],
            c.enrolled_on,
            c.status,
        )
        for c in cases
    ]
    members = [
        (
            c.case_no,
            m.recorded_id,
            m.recorded_name,
            m.relation,
            "是" if m.counted else "否",
            d.birth[m.person],
        )
        for c in cases
        for m in c.members
    ]
    counts = write_aid_workbook(path, month, households, members)
    for sheet, rows in counts.items():
        summary.count(f"social_aid/{sheet}", month.label, rows)
    summary.files.append(path)


def _write_elderly(out_dir: Path, district: District, month: Month, seed: int, summary) -> None:
    d = district
    path = out_dir / f"养老服务对象_{month.tag}.xlsx"
    rows = [
        (
            d.id_number[e.person],
            d.name[e.person],
            e.living_situation,
            e.care_level,
            e.last_visit,
            e.subdistrict_code,
        )
        for e in elderly_list(district, month, seed)
    ]
    summary.count("elderly_services", month.label, write_elderly_workbook(path, month, rows))
    summary.files.append(path)


def _write_labour_changes(
    out_dir: Path, month: Month, rnd: random.Random, summary, *, leave_out_one: bool
) -> None:
    path = out_dir / f"劳动力档案变动_{month.tag}.csv"
    rows = [
        (c.subdistrict.code, c.subdistrict.name, c.period, c.received, c.transferred_out)
        for c in monthly_changes(rnd, month.label, leave_out_one=leave_out_one)
    ]
    header = contract_headers("labour_archive", "labour_archive_changes")
    summary.count(
        "labour_archive_changes",
        month.label,
        write_csv(path, header, rows, encoding="utf-8-sig", crlf=True),
    )
    summary.files.append(path)
