"""The aid sentinel: recipients and counted household members against the registries.

Per month: the check before payment (`sentinel/aid_alerts`), the alert list each subdistrict
verifies (`sentinel/aid_alert_lists`), the lists they return (`sentinel/aid_alert_dispositions`)
and the summary by rule, subdistrict and month (`sentinel/aid_alert_summary`). The enrolment
check of newly enrolled cases runs at once from a sensor (assets/aid_enrolment.py).
"""


from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from assets.extracts import landing_key
from assets.partitions import monthly
from onceonly.export_log import Export, record_exports
from onceonly.sentinel.alert_lists import write_alert_lists
from onceonly.sentinel.checks import CheckOutcome, run_monthly_check
from onceonly.sentinel.dispositions import load_returned_lists, rebuild_registry_corrections
from onceonly.sentinel.summary import rebuild_alert_summary, write_alert_summary
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL, WarehouseLockedError

# The enrolment check looks at the registries' whole history, and a case is new when no earlier
# roster held it, so each month depends on every earlier month of these feeds (partitions before
# the first one simply do not exist).
_HISTORY = dg.TimeWindowPartitionMapping(
    start_offset=-600, end_offset=0, allow_nonexistent_upstream_partitions=True
)
_REGISTRIES = ("death_registry", "marriage_registry", "household_moves")


@contextmanager
def sentinel_writer(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection whose lock failure is reported as a lock problem, not a data one."""
    try:
        with warehouse.writer() as conn:
            yield conn
    except WarehouseLockedError as err:
        raise dg.Failure(description=str(err),
                         metadata={"error_kind": "warehouse_locked"}) from err


def check_metadata(outcome: CheckOutcome) -> dict:
    """Counts of a check for the Dagster UI: never a name or an ID."""
    return {
        "check_id": outcome.check_id,
        "window_start": outcome.window.start.isoformat(),
        "cutoff": outcome.window.cutoff.isoformat(),
        "previous_check": outcome.window.previous_period or "none",
        "cases_checked": outcome.cases_checked,
        "people_checked": outcome.people_checked,
        "alerts_found": outcome.alerts_found,
        "alerts": outcome.alerts_new,
        "by_rule": outcome.by_rule,
        "by_match_method": outcome.by_match_method,
        "monthly_amount_at_stake": outcome.amount_at_stake,
    }


@dg.asset(
    key_prefix=["sentinel"],
    group_name="sentinel",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    ins={
        "social_aid": dg.AssetIn(landing_key("social_aid"), partition_mapping=_HISTORY,
                                 dagster_type=dg.Nothing),
        **{feed: dg.AssetIn(landing_key(feed), partition_mapping=_HISTORY,
                            dagster_type=dg.Nothing) for feed in _REGISTRIES},
    },
    description="Check before payment: deaths, marriages, divorces and moves out of the district "
    "registered since the last check, against every active recipient and counted household "
    "member; new cases against the registries' whole history.",
)
def aid_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    with sentinel_writer(warehouse) as conn:
        outcome = run_monthly_check(conn, period)
    if outcome.window.missing_previous:
        context.log.warning(
            f"The month before {period} has no completed check, so records registered then "
            f"were not checked against that month's roster; run the sentinel for it.")
    context.log.info(f"{period}: {outcome.alerts_new} new alerts of {outcome.alerts_found} "
                     f"found {outcome.by_rule}, window {outcome.window.start} to "
                     f"{outcome.window.cutoff}.")
    return dg.MaterializeResult(metadata=check_metadata(outcome))


@dg.asset(
    key_prefix=["sentinel"],
    group_name="sentinel",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[aid_alerts],
    kinds={"excel"},
    description="预警核实清单: one alert list per subdistrict for the month, alert facts locked, "
    "核实结果 and 备注 to fill in and return.",
)
def aid_alert_lists(context: dg.AssetExecutionContext,
                    warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with sentinel_writer(warehouse) as conn:
        written = write_alert_lists(conn, folder.exports, folder.root, period)
    rows = sum(w.workbook.rows for w in written)
    context.log.info(f"{len(written)} alert lists with {rows} alerts written for {period}.")
    return dg.MaterializeResult(metadata={
        "workbooks": len(written), "alerts": rows,
        "with_alerts": sum(1 for w in written if w.workbook.rows),
        "folder": dg.MetadataValue.path(str(folder.exports / period)),
    })


@dg.asset(
    key_prefix=["sentinel"],
    group_name="sentinel",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[aid_alert_lists],
    kinds={"duckdb", "excel"},
    description="Returned alert lists read from the inbox: each alert confirmed, a false alarm "
    "or a registry error; registry errors go to that registry's correction list.",
)
def aid_alert_dispositions(context: dg.AssetExecutionContext,
                           warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with sentinel_writer(warehouse) as conn:
        outcome = load_returned_lists(conn, folder.inbox, period)
        corrections = rebuild_registry_corrections(conn, folder.reports)
        record_exports(conn, folder.root, [
            Export(c.path, "registry_correction_list", "1.0", None, None, c.rows)
            for c in corrections])
    context.log.info(f"{outcome.files_read} returned alert lists read, {outcome.dispositions} "
                     f"dispositions, {outcome.rows_rejected} rows quarantined.")
    return dg.MaterializeResult(metadata={
        "returned_lists": outcome.files_read,
        "lists_rejected": outcome.files_rejected,
        "dispositions_taken": outcome.dispositions,
        "rows_quarantined": outcome.rows_rejected,
        "dispositions_by_kind": outcome.by_disposition,
        "registry_corrections": {c.registry: c.rows for c in corrections},
    })


@dg.asset(
    key_prefix=["sentinel"],
    group_name="sentinel",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[aid_alerts, aid_alert_dispositions],
    kinds={"duckdb", "excel"},
    description="Alerts and valid (confirmed) warnings by month, rule and subdistrict, with "
    "running totals; also as a workbook under reports/aid_sentinel/.",
)
def aid_alert_summary(context: dg.AssetExecutionContext,
                      warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with sentinel_writer(warehouse) as conn:
        rows = rebuild_alert_summary(conn)
        path = write_alert_summary(conn, folder.reports, period)
        totals = conn.execute(
            "SELECT coalesce(sum(alerts), 0), coalesce(sum(confirmed), 0) "
            "FROM sentinel.alert_summary WHERE period <= ?", [period]).fetchone()
    context.log.info(f"Summary up to {period}: {totals[0]} alerts, {totals[1]} confirmed.")
    return dg.MaterializeResult(metadata={
        "rows": rows, "alerts_to_date": int(totals[0]), "confirmed_to_date": int(totals[1]),
        "workbook": dg.MetadataValue.path(str(path)),
    })
