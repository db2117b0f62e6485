"""Great Expectations suites on the tables that leave the system, as Dagster asset checks."""

import dagster as dg

from onceonly.quality import run_suite
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL


def _check(context, warehouse: Warehouse, suite: str, sql: str) -> dg.AssetCheckResult:
    with warehouse.reader() as conn:
        frame = conn.execute(sql, [context.partition_key] if "?" in sql else []).df()
    outcome = run_suite(suite, frame, warehouse.folder.reports / "data_docs")
    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata={"rows": len(frame), "expectations": outcome.evaluated,
                  "failed_expectations": outcome.failed,
                  "data_docs": str(outcome.docs_index or "")},
    )


@dg.asset_check(asset=dg.AssetKey(["pool", "person"]), name="person_suite", pool=WAREHOUSE_POOL,
                description="Great Expectations: person IDs present, unique, 18 characters; "
                "sex 男/女; names present.")
def person_suite(context: dg.AssetCheckExecutionContext,
                 warehouse: Warehouse) -> dg.AssetCheckResult:
    return _check(context, warehouse, "pool_person",
                  "SELECT id_number, name, sex FROM pool.person")


@dg.asset_check(asset=dg.AssetKey(["sentinel", "aid_alerts"]), name="alerts_suite",
                pool=WAREHOUSE_POOL,
                description="Great Expectations: alert IDs unique, person IDs well formed, "
                "rules and match certainty from the known lists.")
def alerts_suite(context: dg.AssetCheckExecutionContext,
                 warehouse: Warehouse) -> dg.AssetCheckResult:
    return _check(context, warehouse, "sentinel_alerts",
                  "SELECT alert_id, person_id_number, rule, match_certainty "
                  "FROM sentinel.alerts WHERE period = ?")


@dg.asset_check(asset=dg.AssetKey(["forms", "issued_workbooks"]), name="workbook_rows_suite",
                pool=WAREHOUSE_POOL,
                description="Great Expectations: every issued workbook cell has a row key, a "
                "known form and subdistrict, no duplicates, and its workbook in the export log.")
def workbook_rows_suite(context: dg.AssetCheckExecutionContext,
                        warehouse: Warehouse) -> dg.AssetCheckResult:
    return _check(context, warehouse, "workbook_rows",
                  "SELECT c.form_id, c.subdistrict_code, c.row_key, c.field_id, "
                  "e.path AS exported_path FROM forms.issued_cells c "
                  "LEFT JOIN exports.export_log e ON e.form_id = c.form_id "
                  "AND e.period = c.period AND e.subdistrict_code = c.subdistrict_code "
                  "WHERE c.period = ?")
