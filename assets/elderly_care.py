"""The elderly care list (独居高龄老人关爱名册): residents aged 80+ or living alone, per month."""


import datetime as dt
import warnings

import dagster as dg

from assets.extracts import landing_key
from assets.partitions import month_bounds, monthly
from onceonly.care.care_list import build_care_list, decisions_from_returns, record_care_list
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

CARE_LIST_KEY = dg.AssetKey(["care", "elderly_care_list"])

with warnings.catch_warnings():
    # Beta in Dagster; it lets the first month have no previous month to compare with.
    warnings.simplefilter("ignore", category=dg.BetaWarning)
    _PREVIOUS_MONTH = dg.TimeWindowPartitionMapping(
        start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
    )


def list_build_date(period: str, today: dt.date | None = None) -> dt.date:
    """The as-of date of a month's list: its last day, or today while the month is running."""
    return min(month_bounds(period)[1], today or dt.date.today())


@dg.asset(
    key=CARE_LIST_KEY,
    group_name="care",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[
        landing_key("household_register"),
        landing_key("elderly_services"),
        landing_key("death_registry"),
        # Decisions to remove someone, entered on returned care-list forms.
        dg.AssetKey(["forms", "returned_workbooks"]),
        dg.AssetDep(CARE_LIST_KEY, partition_mapping=_PREVIOUS_MONTH),
    ],
    kinds={"duckdb"},
    description="独居高龄老人关爱名册: per subdistrict, residents aged 80+ or living alone; "
    "the dead and moved-away left out when built; new entries and departures marked.",
)
def elderly_care_list(context: dg.AssetExecutionContext,
                      warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    build_date = list_build_date(period)
    with warehouse.writer() as conn:
        returned = decisions_from_returns(conn, period)
        care_list = build_care_list(conn, period, build_date)
        record_care_list(conn, care_list)
    for sentence in returned.refused:
        context.log.warning(sentence)

    entries, departures = care_list.entries, care_list.departures
    s = care_list.sources
    if s.register_as_of is None:
        context.log.warning(f"No household register has been landed up to {period}; the care "
                            "list is empty.")
    return dg.MaterializeResult(metadata={
        "build_date": s.build_date.isoformat(),
        "register_as_of": s.register_as_of.isoformat() if s.register_as_of else "",
        "services_as_of": s.services_as_of.isoformat() if s.services_as_of else "",
        "deaths_as_of": s.deaths_as_of.isoformat() if s.deaths_as_of else "",
        "on_list": entries.height,
        "new": int((entries["change_mark"] == "新增").sum()),
        "added_by_subdistricts": int((entries["included_by"] == "subdistrict").sum()),
        "departures": departures.height,
        "departures_by_reason": {
            str(r): int(n) for r, n in departures.group_by(
                departures["reason"].str.split("：").list.first()).len().iter_rows()
        } if departures.height else {},
        "first_list": care_list.first_list,
        "returned_decisions_recorded": returned.recorded,
        "returned_decisions_refused": len(returned.refused),
    })
