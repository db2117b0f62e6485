"""Forms issued with data (带数下发) and their returns (只报一次), driven by contracts/forms.

Each month, returned workbooks in the inbox are checked and loaded first (so that what workers
entered last month is offered again this month), open correction requests are settled against
the departments' newest extracts, and then every form the catalogue allows is issued to the
twelve subdistricts.
"""

import datetime as dt

import dagster as dg

from assets.extracts import landing_key
from assets.partitions import month_bounds, monthly
from assets.pool import person
from onceonly.forms.catalogue import catalogue
from onceonly.forms.governance import decide_all
from onceonly.forms.issuing import (
    feed_as_of,
    issue_form,
    prefill_share,
    write_catalogue_report,
)
from onceonly.forms.returns import load_returns, outcome_counts, settle_correction_requests
from onceonly.forms.store import ensure_forms_tables
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

# The feeds whose values forms prefill, and against which correction requests are settled.
_SOURCE_FEEDS = ("household_register", "social_aid", "elderly_services", "labour_archive")


@dg.asset(
    key_prefix=["forms"],
    group_name="forms",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[landing_key(f) for f in _SOURCE_FEEDS],
    kinds={"excel", "duckdb"},
    description="Returned workbooks in the inbox (up to this month) checked against their form "
    "and what was issued, a Chinese report for each, valid ones loaded; correction requests "
    "settled by the departments' newest extracts.",
)
def returned_workbooks(context: dg.AssetExecutionContext,
                       warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with warehouse.writer() as conn:
        outcomes = load_returns(conn, folder.inbox, folder.reports, folder.root, period)
        requests = settle_correction_requests(conn, period)
    for o in outcomes:
        if o.status == "already_seen":
            continue
        context.log.info(
            f"{o.file_name} ({o.form_id}, {o.period}, subdistrict {o.subdistrict_code}): "
            f"{o.status}, {o.rows} rows, {o.problems} problems to fix, "
            f"{o.corrections} correction requests.")
    counts = outcome_counts(outcomes)
    return dg.MaterializeResult(metadata={
        "returns_loaded": counts.get("loaded", 0),
        "returns_rejected": counts.get("rejected", 0),
        "returns_already_seen": counts.get("already_seen", 0),
        "correction_requests_open": requests.get("open", 0),
        "correction_requests_confirmed": requests.get("confirmed", 0),
        "correction_requests_contradicted": requests.get("contradicted", 0),
        "reports": dg.MetadataValue.path(str(folder.reports / "returns")),
    })


@dg.asset(
    key_prefix=["forms"],
    group_name="forms",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[returned_workbooks, person, *(landing_key(f) for f in _SOURCE_FEEDS),
          # the stock form's opening stock and the care list's rows are read from these
          dg.AssetKey(["labour", "archive_stock"]), dg.AssetKey(["care", "elderly_care_list"])],
    kinds={"excel"},
    description="Every approved form in force, prefilled from the pool, one workbook per "
    "subdistrict; retired, lapsed and overdue forms reported, not issued; share of fields "
    "prefilled per form and overall.",
)
def issued_workbooks(context: dg.AssetExecutionContext,
                     warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    # A form is issued for a month when it is in force on the month's first day.
    issue_date, _ = month_bounds(period)
    folder = warehouse.folder
    forms = catalogue()
    decisions = decide_all(forms, issue_date)
    issuing = [f for f, d in zip(forms, decisions, strict=True) if d.issue]
    share_rows, overall = prefill_share(issuing)
    written = {}
    with warehouse.writer() as conn:
        ensure_forms_tables(conn)
        as_of = feed_as_of(conn, period)
        for form in issuing:
            written[form.id] = issue_form(conn, folder, form, period, as_of=as_of)
        conn.execute("BEGIN TRANSACTION")
        conn.execute("DELETE FROM forms.issue_decisions WHERE period = ?", [period])
        conn.executemany(
            "INSERT INTO forms.issue_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(period, d.form_id, d.version, d.title, d.status, d.decision, d.issue, d.reason,
              issue_date) for d in decisions])
        conn.execute("DELETE FROM forms.prefill_share WHERE period = ?", [period])
        conn.executemany(
            "INSERT INTO forms.prefill_share VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(period, r["form_id"], r["form_version"], r["title"], r["fields"], r["prefilled"],
              r["derived"], r["entered"], r["share"]) for r in share_rows])
        conn.execute("COMMIT")
    report = write_catalogue_report(folder.reports / "forms" / f"表单下发与预填比例_{period}.xlsx",
                                    period, decisions, share_rows, overall)
    for d in decisions:
        if not d.issue:
            context.log.info(f"Form {d.form_id} v{d.version} not issued for {period}: "
                             f"{d.decision}.")
    context.log.info(f"{sum(len(w) for w in written.values())} workbooks of {len(issuing)} forms "
                     f"written for {period}; {overall:.1%} of fields prefilled.")
    return dg.MaterializeResult(metadata={
        "forms_issued": sorted(written),
        "forms_not_issued": {d.form_id: d.decision for d in decisions if not d.issue},
        "workbooks": sum(len(w) for w in written.values()),
        "rows": sum(i.written.rows for w in written.values() for i in w),
        "prefilled_share": {r["form_id"]: r["share"] for r in share_rows},
        "prefilled_share_overall": overall,
        "issued_on": issue_date.isoformat(),
        "folder": dg.MetadataValue.path(str(folder.exports / period)),
        "report": dg.MetadataValue.path(str(report)),
        "written_at": dt.datetime.now().replace(microsecond=0).isoformat(),
    })
