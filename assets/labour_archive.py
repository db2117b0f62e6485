"""The labour-resource archive stock (劳动力资源街道档案库存量): carried forward month by month.

Each month's stock depends on the month before (a Dagster self-dependency), so materialising
or correcting a month marks every later month stale; re-roll them in order with
`onceonly labour-reroll --from <month>` or a backfill of the range in the UI.
"""


import warnings

import dagster as dg

from assets.extracts import landing_key
from assets.partitions import monthly
from onceonly.labour.stock import NegativeStockError, StockError, district_total
from onceonly.labour.store import carry_forward_stock
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

ARCHIVE_STOCK_KEY = dg.AssetKey(["labour", "archive_stock"])

with warnings.catch_warnings():
    # Dagster marks this option beta; it is what lets the first month have no previous month.
    warnings.simplefilter("ignore", category=dg.BetaWarning)
    PREVIOUS_MONTH = dg.TimeWindowPartitionMapping(
        start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
    )


@dg.asset(
    key=ARCHIVE_STOCK_KEY,
    group_name="labour",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[
        landing_key("labour_archive"),
        # Counts entered on returned stock forms take the place of the extract's.
        dg.AssetKey(["forms", "returned_workbooks"]),
        dg.AssetDep(ARCHIVE_STOCK_KEY, partition_mapping=PREVIOUS_MONTH),
    ],
    kinds={"duckdb"},
    description="劳动力资源档案库存: per subdistrict, last month's closing stock (or the opening "
    "balance) + 入库 - 出库 (returned form, else extract); nothing sent means unknown, not zero.",
)
def archive_stock(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    with warehouse.writer() as conn:
        try:
            recorded = carry_forward_stock(conn, period, run_id=context.run.run_id)
        except NegativeStockError as err:
            # The negative lines are recorded (status 'negative'); the month must not pass.
            raise dg.Failure(
                description=str(err),
                metadata={"negative_subdistricts": [line.subdistrict_code for line in err.lines]},
            ) from None
        except StockError as err:
            raise dg.Failure(description=str(err)) from None

    if not recorded.lines:
        context.log.info(f"No labour-archive stock for {period}: the opening balance starts "
                         "later, or none has been landed.")
        return dg.MaterializeResult(metadata={"subdistricts": 0, "complete": False})

    total = district_total(period, recorded.lines)
    if total.missing:
        context.log.warning(
            f"{len(total.missing)} subdistrict(s) sent no labour-archive changes for {period} "
            f"({', '.join(total.missing)}); their stock is unknown, not zero, and the district "
            "total is incomplete until they send them."
        )
    return dg.MaterializeResult(
        metadata={
            "subdistricts": total.subdistricts,
            "reported": total.reported,
            "missing": list(total.missing),
            "unknown_stock": list(total.unknown),
            "complete": total.complete,
            "received": total.received,
            "transferred_out": total.transferred_out,
            "district_closing_stock": total.closing_stock,
            "known_closing_stock": total.known_closing_stock,
            "new_versions": recorded.new_versions,
            "superseded": recorded.superseded,
        }
    )

