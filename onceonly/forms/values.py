"""One text form for a cell value, so that issued, returned and extracted values compare."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation


def canonical_text(value: object) -> str | None:
    """A value as comparable text: trimmed strings, ISO dates, numbers without trailing zeros.

    '1200', 1200, 1200.0 and Decimal('1200.00') all give '1200'; an empty cell gives None.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        text = format(number.normalize(), "f")
        return "0" if text in ("-0", "") else text
    text = str(value).strip(" \t\u3000\u00a0")
    return text or None


def comparable(value: str | None) -> str | None:
    """Text that compares numbers by value: '1200.00' and '1200' are the same amount."""
    if value is None:
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return value
    return canonical_text(number) if number.is_finite() else value


def as_number(value: object) -> float | int | None:
    """A cell value as a number, or None when it is not one (text that looks numeric counts)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    text = str(value).strip(" \t\u3000\u00a0")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)
