"""The alerts a correct aid sentinel must raise, derived from what was actually written.

The truth is computed from the registry records and the aid roster as generated, not from what
was planted, so chance events on aid members (background deaths, a resident marrying an aid
member) are in it too.
"""

from __future__ import annotations

import csv
from dataclasses import astuple, dataclass
from pathlib import Path

from .aid import AidRoster
from .events import MonthEvents, RegistryEvent
from .population import District

ALERT_COLUMNS = (
    "month",
    "check",
    "rule",
    "record_id",
    "case_no",
    "person_id_number",
    "relation",
    "match_method",
    "subdistrict_code",
    "event_date",
)


@dataclass(frozen=True, slots=True, order=True)
class Alert:
    """One alert, in the columns of alerts.csv."""

    month: str
    check: str  # monthly or enrolment
    rule: str  # death, marriage, divorce or moved_out
    record_id: str
    case_no: str
    person_id_number: str
    relation: str
    match_method: str
    subdistrict_code: str
    event_date: str


def sentinel_alerts(
    district: District, roster: AidRoster, months: list[MonthEvents]
) -> list[Alert]:
    """Every alert of the monthly check and of the enrolment check, each (rule, record, person)
    once; when both checks would find one, the monthly check keeps it."""
    alerts: list[Alert] = []
    seen: set[tuple[str, str, int]] = set()

    def raise_alert(check: str, month: MonthEvents, event: RegistryEvent, case, member) -> None:
        key = (event.rule, event.record_id, event.person)
        if key in seen:
            return
        seen.add(key)
        alerts.append(
            Alert(
                month.month.label,
                check,
                event.rule,
                event.record_id,
                case.case_no,
                district.id_number[event.person],
                member.relation,
                member.match,
                case.subdistrict_code,
                event.event_date.isoformat(),
            )
        )

    # Monthly check: this month's records against this month's active roster.
    for month in months:
        for event in month.events:
            for case, member in roster.by_person.get(event.person, ()):
                if (
                    case.status == "在保"
                    and case.enrolled_on <= month.month.last
                    and member.counted
                ):
                    raise_alert("monthly", month, event, case, member)

    # Enrolment check: new cases against everything registered before their month.
    history: dict[int, list[RegistryEvent]] = {}
    for month in months:
        for case in roster.cases:
            if not month.month.contains(case.enrolled_on):
                continue
            for member in case.members:
                if not member.counted:
                    continue
                for event in history.get(member.person, ()):
                    raise_alert("enrolment", month, event, case, member)
        for event in month.events:
            history.setdefault(event.person, []).append(event)

    return sorted(
        alerts,
        key=lambda a: (a.month, a.check != "monthly", a.rule, a.record_id, a.person_id_number),
    )


def write_alerts(path: Path, alerts: list[Alert]) -> None:
    """alerts.csv in UTF-8 with the header the sentinel's tests read."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(ALERT_COLUMNS)
        writer.writerows(astuple(a) for a in alerts)
