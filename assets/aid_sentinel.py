"""The aid sentinel: recipients and counted household members against the registries."""


from importlib import resources

import dagster as dg

from assets.extracts import landing_key
from assets.partitions import month_bounds, monthly
from onceonly.reference import DISTRICT_CODE
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

# The enrolment check looks at the registries' whole history, so each month depends on every
# earlier month of the registries (partitions before the first one simply do not exist).
_HISTORY = dg.TimeWindowPartitionMapping(
    start_offset=-600, end_offset=0, allow_nonexistent_upstream_partitions=True
)
_ALERT_COLUMNS = (
    "alert_id, period, check_kind, rule, reason_code, registry, record_id, event_date, case_no, "
    "aid_type, monthly_amount, subdistrict_code, person_id_number, person_name, relation, "
    "match_method, match_certainty"
)


def alerts_sql() -> str:
    return resources.files("warehouse").joinpath("sql/aid_alerts.sql").read_text("utf-8")


@dg.asset(
    key_prefix=["sentinel"],
    group_name="sentinel",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    ins={
        "social_aid": dg.AssetIn(landing_key("social_aid"), dagster_type=dg.Nothing),
        "death_registry": dg.AssetIn(
            landing_key("death_registry"), partition_mapping=_HISTORY, dagster_type=dg.Nothing
        ),
        "marriage_registry": dg.AssetIn(
            landing_key("marriage_registry"), partition_mapping=_HISTORY, dagster_type=dg.Nothing
        ),
        "household_moves": dg.AssetIn(
            landing_key("household_moves"), partition_mapping=_HISTORY, dagster_type=dg.Nothing
        ),
    },
    description="Monthly aid verification alerts: deaths, marriages, divorces and moves out of "
    "the district that touch an active recipient or counted household member.",
)
def aid_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    first, last = month_bounds(period)
    params = {"period": period, "month_start": first, "month_end": last,
              "district_code": DISTRICT_CODE}
    with warehouse.writer() as conn:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"CREATE OR REPLACE TEMP TABLE found AS {alerts_sql()}", params)
        # An alert belongs to the first month that raises it: never raised again later.
        conn.execute("DELETE FROM found WHERE alert_id IN "
                     "(SELECT alert_id FROM sentinel.alerts WHERE period < ?)", [period])
        conn.execute("DELETE FROM sentinel.alerts WHERE period = ? OR alert_id IN "
                     "(SELECT alert_id FROM found)", [period])
        conn.execute(f"INSERT INTO sentinel.alerts ({_ALERT_COLUMNS}) "
                     f"SELECT {_ALERT_COLUMNS} FROM found")
        conn.execute("COMMIT")
        by_rule = dict(conn.execute(
            "SELECT rule, count(*) FROM sentinel.alerts WHERE period = ? GROUP BY rule ORDER BY 1",
            [period]).fetchall())
        by_method = dict(conn.execute(
            "SELECT match_method, count(*) FROM sentinel.alerts WHERE period = ? GROUP BY 1",
            [period]).fetchall())
        amount = conn.execute(
            "SELECT coalesce(sum(DISTINCT monthly_amount), 0) FROM sentinel.alerts "
            "WHERE period = ?", [period]).fetchone()[0]
    total = sum(by_rule.values())
    context.log.info(f"{period}: {total} alerts {by_rule}.")
    return dg.MaterializeResult(
        metadata={"alerts": total, "by_rule": by_rule, "by_match_method": by_method,
                  "monthly_amount_at_stake": float(amount)}
    )
