"""Reading single values the way Chinese departments write them: dates, timestamps, amounts.

Each reader returns the value or a short rule code saying why it could not be read. Nothing is
guessed: a value that could mean two things is reported as ambiguous.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
EXCEL_ORIGIN = dt.date(1899, 12, 30)
# Serials this low fall before Excel's fictional 1900-02-29 (serial 60), where the usual origin
# is off by a day; no real extract has dates there, so they are reported, not converted.
FIRST_SAFE_SERIAL = 61
LAST_PLAUSIBLE_SERIAL = 73051  # 2099-12-31

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_TWO_DIGIT_YEAR = re.compile(r"^(\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MIDNIGHT = re.compile(r"[ T]0{1,2}:00(:00(\.0+)?)?$")
_SERIAL = re.compile(r"^\d{1,5}(\.0+)?$")
_SPACES = " \t\r\n\u00a0\u3000\u200b\ufeff"


class ValueProblem(str):
    """A rule code for a value that could not be read (e.g. 'date_ambiguous')."""


def clean_text(value: str | None) -> str | None:
    """Trim ASCII, full-width and no-break spaces; an empty result is None."""
    if value is None:
        return None
    trimmed = value.strip(_SPACES)
    return trimmed or None


def parse_date(text: str | None, from_number_cell: bool = False) -> dt.date | ValueProblem | None:
    """A date from an Excel serial, ISO text or the Chinese ways of writing one."""
    cleaned = clean_text(text)
    if cleaned is None:
        return None
    cleaned = unicodedata.normalize("NFKC", cleaned)
    cleaned = _MIDNIGHT.sub("", cleaned)
    if from_number_cell or _SERIAL.match(cleaned):
        if from_number_cell and re.match(r"^\d{4}\.\d{1,2}$", cleaned):
            return ValueProblem("date_ambiguous")  # 1985.10 typed as a number: a month, not a day
        if _SERIAL.match(cleaned):
            serial = int(float(cleaned))
            if FIRST_SAFE_SERIAL <= serial <= LAST_PLAUSIBLE_SERIAL:
                return EXCEL_ORIGIN + dt.timedelta(days=serial)
            return ValueProblem("date_ambiguous")
    for pattern in (_YMD, _COMPACT):
        match = pattern.match(cleaned)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:
                return ValueProblem("date_invalid")
    if _YEAR_MONTH.match(cleaned) or _TWO_DIGIT_YEAR.match(cleaned):
        return ValueProblem("date_ambiguous")
    return ValueProblem("date_unreadable")


def parse_timestamp(text: str | None) -> dt.datetime | ValueProblem | None:
    """A timestamp as naive Asia/Shanghai local time; a zone-aware value is converted first."""
    cleaned = clean_text(text)
    if cleaned is None:
        return None
    cleaned = unicodedata.normalize("NFKC", cleaned).replace("/", "-")
    try:
        stamp = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        day = parse_date(cleaned)
        if isinstance(day, dt.date):
            return dt.datetime.combine(day, dt.time())
        return ValueProblem("timestamp_unreadable")
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(LOCAL_ZONE).replace(tzinfo=None)
    return stamp


def parse_amount(text: str | None) -> float | ValueProblem | None:
    cleaned = clean_text(text)
    if cleaned is None:
        return None
    cleaned = unicodedata.normalize("NFKC", cleaned).replace(",", "").removesuffix("元")
    try:
        return round(float(cleaned), 2)
    except ValueError:
        return ValueProblem("number_unreadable")


def parse_count(text: str | None) -> int | ValueProblem | None:
    amount = parse_amount(text)
    if amount is None or isinstance(amount, ValueProblem):
        return amount
    if not float(amount).is_integer():
        return ValueProblem("count_not_whole")
    if amount < 0:
        return ValueProblem("count_negative")
    return int(amount)
