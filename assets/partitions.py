"""The monthly partitions every period-based asset shares."""

import dagster as dg

from onceonly.periods import month_bounds  # noqa: F401  (assets import it from here)

FIRST_MONTH = "2023-01"

# One partition per calendar month; the current month is included so that a month can be
# checked before its payment day, not only after it ends.
monthly = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, end_offset=1, fmt="%Y-%m")
