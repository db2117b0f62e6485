"""Months as the pipeline names them: 'YYYY-MM', with their first and last days."""

from __future__ import annotations

import datetime as dt


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a 'YYYY-MM' month."""
    first = dt.date.fromisoformat(period + "-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def month_end(period: str) -> dt.date:
    """The last day of a 'YYYY-MM' month."""
    return month_bounds(period)[1]


def previous_period(period: str) -> str:
    """The month before a 'YYYY-MM' month."""
    return (dt.date.fromisoformat(period + "-01") - dt.timedelta(days=1)).strftime("%Y-%m")
