"""The monthly partitions every period-based asset shares."""


import datetime as dt

import dagster as dg

FIRST_MONTH = "2023-01"

# One partition per calendar month; the current month is included so that a month can be
# checked before its payment day, not only after it ends.
monthly = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, end_offset=1, fmt="%Y-%m")


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a YYYY-MM month."""
    first = dt.date.fromisoformat(period + "-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)
