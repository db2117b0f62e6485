"""Privacy checks on what leaves the system: each workbook holds only its subdistrict's people."""

import dagster as dg

from onceonly.privacy import check_isolation
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL


def _isolation_result(context: dg.AssetCheckExecutionContext, warehouse: Warehouse,
                      form_ids: list[str] | None) -> dg.AssetCheckResult:
    with warehouse.reader() as conn:
        report = check_isolation(conn, warehouse.folder.root, context.partition_key, form_ids)
    breaches = [w for w in report.workbooks if w.foreign]
    return dg.AssetCheckResult(
        passed=not breaches,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{report.foreign} people in {len(breaches)} workbook(s) are registered in another "
            "subdistrict than the one the workbook was written for." if breaches else
            f"All {len(report.workbooks)} workbooks hold only their own subdistrict's residents."
        ),
        metadata={
            "workbooks_read": len(report.workbooks),
            "people_found": report.people,
            "people_of_other_subdistricts": report.foreign,
            "people_not_placed_by_household_registration": sum(
                w.unknown for w in report.workbooks),
            # File paths only: they name the form, subdistrict and month, never a person.
            "workbooks_with_other_subdistricts_people": [w.path for w in breaches],
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(["forms", "issued_workbooks"]),
    name="only_own_residents",
    pool=WAREHOUSE_POOL,
    description="Reads every workbook issued for the month back and fails on anyone registered "
    "in another subdistrict than the one the workbook went to.",
)
def issued_workbooks_hold_only_own_residents(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    from onceonly.forms.catalogue import catalogue

    return _isolation_result(context, warehouse, [f.id for f in catalogue()])


@dg.asset_check(
    asset=dg.AssetKey(["sentinel", "aid_alert_lists"]),
    name="only_own_residents",
    pool=WAREHOUSE_POOL,
    description="Reads every alert list of the month back and fails on anyone named in full who "
    "is registered in another subdistrict than the list's.",
)
def alert_lists_hold_only_own_residents(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    from onceonly.sentinel.alert_lists import ALERT_LIST_FORM_ID

    return _isolation_result(context, warehouse, [ALERT_LIST_FORM_ID])
