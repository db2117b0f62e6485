"""Resident ID numbers (公民身份号码) under GB 11643-1999.

An 18-digit ID is six digits of the county where the person was first registered, the birth
date as YYYYMMDD, a three-digit order code (odd for men, even for women) and a check character
computed with ISO 7064 MOD 11-2. IDs issued before 1999 had 15 digits: a two-digit birth year
and no check character.

Everything here is pure and works on one value at a time; the columnar versions in
``onceonly.normalise`` call these.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from onceonly.reference import county_codes

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# Characters that people and systems leave around an ID: ASCII space and tab, no-break space,
# ideographic space, zero-width space and the byte-order mark.
_STRIP = " \t\r\n\u00a0\u3000\u200b\ufeff"


class IdStatus(StrEnum):
    """How a normalised ID number stands, in the order a reviewer would care about."""

    VALID = "valid"
    UNKNOWN_COUNTY = "unknown_county"  # valid, but the county code is not a current one
    UPGRADED_FROM_15 = "upgraded_from_15"  # a legacy 15-digit ID, now in its 18-digit form
    BAD_CHECK_DIGIT = "bad_check_digit"  # a typo somewhere: route to review, never drop
    BAD_BIRTH_DATE = "bad_birth_date"
    CORRUPTED_AT_SOURCE = "corrupted_at_source"  # an Excel number that lost its last digits
    MALFORMED = "malformed"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class IdReading:
    """The result of reading one raw ID value."""

    raw: str | None
    normalised: str | None  # the 18-digit form when one could be made, else the cleaned text
    status: IdStatus

    @property
    def usable(self) -> bool:
        """True when the ID can be trusted as a key: its check digit holds."""
        return self.status in (IdStatus.VALID, IdStatus.UNKNOWN_COUNTY, IdStatus.UPGRADED_FROM_15)


def check_character(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits of an ID."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("The check character needs exactly 17 ASCII digits.")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def has_valid_check_character(id18: str) -> bool:
    """True when an 18-character ID's last character matches its first 17 digits."""
    return (
        len(id18) == 18
        and id18[:17].isdigit()
        and id18[17] in "0123456789X"
        and check_character(id18[:17]) == id18[17]
    )


def upgrade_15_to_18(id15: str) -> str:
    """Turn a legacy 15-digit ID into its 18-digit form: '19' before the year, then a check."""
    if len(id15) != 15 or not id15.isdigit():
        raise ValueError("A legacy ID has exactly 15 ASCII digits.")
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + check_character(first17)


def downgrade_18_to_15(id18: str) -> str:
    """Return the 15-digit form a person born 1900-1999 would have held before 1999."""
    if len(id18) != 18 or id18[6:8] != "19":
        raise ValueError("Only IDs of people born in 1900-1999 have a 15-digit form.")
    return id18[:6] + id18[8:17]


def clean_id_text(raw: str) -> str:
    """Full-width to ASCII (NFKC), surrounding spaces of every kind removed, x upper-cased."""
    return unicodedata.normalize("NFKC", raw).strip(_STRIP).upper()


def birth_date_of(id18: str) -> dt.date | None:
    """The birth date encoded in an 18-digit ID, or None when it is not a real date."""
    try:
        return dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    except ValueError:
        return None


def sex_of(id18: str) -> str:
    """'男' for an odd order code, '女' for an even one (GB 11643)."""
    return "男" if int(id18[16]) % 2 == 1 else "女"


@cache
def _known_counties() -> frozenset[str]:
    return frozenset(county_codes())


def read_id(raw: object) -> IdReading:
    """Normalise and classify one raw ID value as it came out of an extract.

    Numbers are accepted only when they are whole and have fewer than 16 digits: a spreadsheet
    cell holding a longer number has already lost digits to floating point, so such a value is
    reported as corrupted at source and must be resent as text.
    """
    if raw is None:
        return IdReading(None, None, IdStatus.MISSING)
    if isinstance(raw, bool):
        return IdReading(str(raw), None, IdStatus.MALFORMED)
    if isinstance(raw, int | float):
        as_text = repr(raw)
        if isinstance(raw, float) and not raw.is_integer():
            return IdReading(as_text, None, IdStatus.MALFORMED)
        digits = str(int(raw))
        if len(digits) >= 16:
            return IdReading(as_text, None, IdStatus.CORRUPTED_AT_SOURCE)
        raw = digits
    text = str(raw)
    cleaned = clean_id_text(text)
    if not cleaned:
        return IdReading(text, None, IdStatus.MISSING)
    if _looks_like_scientific(cleaned):
        return IdReading(text, cleaned, IdStatus.CORRUPTED_AT_SOURCE)
    if len(cleaned) == 15 and cleaned.isdigit():
        upgraded = upgrade_15_to_18(cleaned)
        if birth_date_of(upgraded) is None:
            return IdReading(text, cleaned, IdStatus.BAD_BIRTH_DATE)
        return IdReading(text, upgraded, IdStatus.UPGRADED_FROM_15)
    if len(cleaned) != 18 or not cleaned[:17].isdigit() or cleaned[17] not in "0123456789X":
        return IdReading(text, cleaned, IdStatus.MALFORMED)
    if birth_date_of(cleaned) is None:
        return IdReading(text, cleaned, IdStatus.BAD_BIRTH_DATE)
    if not has_valid_check_character(cleaned):
        return IdReading(text, cleaned, IdStatus.BAD_CHECK_DIGIT)
    if cleaned[:6] not in _known_counties():
        return IdReading(text, cleaned, IdStatus.UNKNOWN_COUNTY)
    return IdReading(text, cleaned, IdStatus.VALID)


def _looks_like_scientific(text: str) -> bool:
    # "3.10110198001012E+17" is what a spreadsheet shows for a long ID stored as a number.
    return "E+" in text and text.replace(".", "").replace("E+", "").isdigit()


def mask_id(value: str | None) -> str:
    """Show the first 6 and last 4 characters of an ID, the rest as '*'.

    This is the only form in which an ID number may appear in a log line, a Dagster event, a
    validation report or an error message.
    """
    if not value:
        return ""
    text = str(value)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]
