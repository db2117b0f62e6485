"""The pool (一数一源): the person master and its history from household registration, field
conflicts with other departments, the resource catalogue, and the Parquet publication."""


import dagster as dg

from assets.extracts import landing_key
from assets.partitions import monthly
from onceonly.contracts import feeds
from onceonly.export_log import Export, record_exports
from onceonly.pool.authority import find_conflicts, write_correction_lists
from onceonly.pool.catalogue import build_catalogue, write_catalogue_workbook
from onceonly.pool.history import (
    ACTIVE_STATUS,
    HEAD_OF_HOUSEHOLD,
    ensure_pool_tables,
    rebuild_person_history,
)
from onceonly.pool.publish import publish_month
from onceonly.pool.registry import USABLE_ID_SQL
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

# The history is rebuilt from every landed month of household registration, so each month
# depends on all earlier months (partitions before the first simply do not exist).
_ALL_EARLIER = dg.TimeWindowPartitionMapping(
    start_offset=-600, end_offset=0, allow_nonexistent_upstream_partitions=True
)


@dg.asset(
    key_prefix=["pool"],
    group_name="pool",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    ins={"household_register": dg.AssetIn(landing_key("household_register"),
                                          partition_mapping=_ALL_EARLIER,
                                          dagster_type=dg.Nothing)},
    kinds={"duckdb"},
    description="Person master keyed by the 18-digit ID, with every change kept (valid-from/to): "
    "name, sex, birth date, household and registered address from household registration.",
)
def person(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.writer() as conn:
        ensure_pool_tables(conn)
        counts = rebuild_person_history(conn)
    context.log.info(
        f"Person master rebuilt from {counts['months_of_history']} month(s) of household "
        f"registration: {counts['persons']} people, {counts['versions']} versions, "
        f"{counts['missing_from_extract']} missing from the latest extract."
    )
    return dg.MaterializeResult(metadata=counts)


@dg.asset(
    key_prefix=["pool"],
    group_name="pool",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[person, *(landing_key(f.id) for f in feeds() if f.id != "household_register")],
    kinds={"duckdb", "excel"},
    description="Values other departments hold that disagree with the field's authority, and "
    "one correction list (.xlsx) per department for the month.",
)
def field_conflicts(context: dg.AssetExecutionContext,
                    warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with warehouse.writer() as conn:
        ensure_pool_tables(conn)
        found = find_conflicts(conn, period)
        by_field = dict(conn.execute(
            "SELECT field || ' @ ' || other_feed, count(*) FROM pool.field_conflicts "
            "WHERE period = ? GROUP BY ALL ORDER BY 1", [period]).fetchall())
        lists = write_correction_lists(conn, period, folder.reports)
        record_exports(conn, folder.root, [
            Export(w.path, "correction_list", "1.0", None, period, w.rows) for w in lists])
    for written in lists:
        context.log.info(f"Correction list for {written.department}: {written.rows} value(s), "
                         f"{written.path.name}.")
    return dg.MaterializeResult(metadata={
        "conflicts": found,
        "conflicts_by_field_and_feed": by_field,
        "correction_lists": [str(w.path) for w in lists],
    })


@dg.asset(
    key_prefix=["pool"],
    group_name="pool",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[person, *(landing_key(f.id) for f in feeds())],
    kinds={"duckdb", "excel"},
    description="Resource catalogue (资源目录): catalogues, fields and records per catalogue and "
    "in total, each feed's latest as-of date, and feeds older than their freshness promise.",
)
def catalogue(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with warehouse.writer() as conn:
        ensure_pool_tables(conn)
        frame = build_catalogue(conn, period)
    path = write_catalogue_workbook(frame, period, folder.reports)
    stale = frame.filter(frame["stale"])["feed"].to_list()
    if stale:
        context.log.warning(f"Feeds older than their freshness promise for {period}: "
                            f"{', '.join(stale)}.")
    return dg.MaterializeResult(metadata={
        "catalogues": frame.height,
        "fields": int(frame["fields"].sum()),
        "records": int(frame["records"].sum()),
        "stale_feeds": stale,
        "workbook": str(path),
    })


@dg.asset(
    key_prefix=["pool"],
    group_name="pool",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[person, field_conflicts, catalogue],
    kinds={"parquet"},
    description="Pool tables as Parquet under the data folder, partitioned by month, for "
    "notebooks and other engines that must not open the DuckDB file.",
)
def parquet_publication(context: dg.AssetExecutionContext,
                        warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    folder = warehouse.folder
    with warehouse.writer() as conn:
        ensure_pool_tables(conn)
        written = publish_month(conn, folder.parquet, period)
    return dg.MaterializeResult(metadata={"rows": written, "folder": str(folder.parquet)})


@dg.asset_check(asset=person, blocking=True,
                description="Each person key appears once in the master, and a person's "
                "versions follow one another without gaps or overlaps.")
def person_keys_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.reader() as conn:
        duplicates, bad_chain = conn.execute("""
            SELECT (SELECT count(*) FROM (SELECT id_number FROM pool.person
                                          GROUP BY id_number HAVING count(*) > 1)),
                   (SELECT count(*) FROM (
                        SELECT valid_from, valid_to,
                               lead(valid_from) OVER (PARTITION BY id_number
                                                      ORDER BY version) AS next_from
                        FROM pool.person_history)
                    WHERE valid_to IS DISTINCT FROM next_from OR valid_to <= valid_from)
        """).fetchone()
    return dg.AssetCheckResult(
        passed=duplicates == 0 and bad_chain == 0,
        metadata={"duplicate_person_keys": duplicates, "broken_version_chains": bad_chain},
    )


@dg.asset_check(asset=person,
                description="Every aid recipient, household member and registry event person "
                "with a usable ID is in the person master, or listed in pool.unmatched_person.")
def people_known_to_master(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.reader() as conn:
        by_source = dict(conn.execute("""
            SELECT table_name || '.' || column_name, count(DISTINCT id_number)
            FROM pool.unmatched_person GROUP BY ALL ORDER BY 1
        """).fetchall())
        # Recount from landing, so that a person neither matched nor flagged fails the check.
        unflagged = 0
        for f in feeds():
            if f.id == "household_register":
                continue
            for t in f.tables:
                for c in (c for c in t.columns if c.semantic == "id_number"):
                    unflagged += conn.execute(f"""
                        SELECT count(DISTINCT o."{c.name}") FROM landing.{t.name} o
                        WHERE o."{c.name}_status" IN {USABLE_ID_SQL}
                          AND o."{c.name}" NOT IN (SELECT id_number FROM pool.person)
                          AND o."{c.name}" NOT IN (SELECT id_number FROM pool.unmatched_person
                                                   WHERE table_name = '{t.name}'
                                                     AND column_name = '{c.name}')
                    """).fetchone()[0]
    unmatched = sum(by_source.values())
    return dg.AssetCheckResult(
        passed=unmatched == 0 and unflagged == 0,
        severity=dg.AssetCheckSeverity.ERROR if unflagged else dg.AssetCheckSeverity.WARN,
        metadata={"unmatched_people": unmatched, "unmatched_by_source": by_source,
                  "neither_matched_nor_flagged": unflagged},
        description=None if unmatched == 0 else
        f"{unmatched} people named by other departments are not in household registration; "
        "they are listed in pool.unmatched_person for review.",
    )


@dg.asset_check(asset=person,
                description="Each current household has exactly one head (户主) and lies in one "
                "subdistrict, and nobody belongs to two households at once.")
def household_membership_consistent(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.reader() as conn:
        no_head, many_heads, split, overlapping = conn.execute(f"""
            WITH current AS (SELECT * FROM pool.household_member WHERE valid_to IS NULL),
            households AS (
                SELECT household_no,
                       count(*) FILTER (relation_to_head = '{HEAD_OF_HOUSEHOLD}') AS heads,
                       count(DISTINCT subdistrict_code) AS subdistricts
                FROM current GROUP BY household_no)
            SELECT count(*) FILTER (heads = 0), count(*) FILTER (heads > 1),
                   count(*) FILTER (subdistricts > 1),
                   (SELECT count(*) FROM (SELECT id_number FROM current
                                          GROUP BY id_number HAVING count(*) > 1))
            FROM households
        """).fetchone()
        registered = conn.execute(
            "SELECT count(*) FROM pool.person WHERE registration_status = ? "
            "AND presence = 'present'", [ACTIVE_STATUS]).fetchone()[0]
    return dg.AssetCheckResult(
        passed=no_head == 0 and many_heads == 0 and split == 0 and overlapping == 0,
        severity=dg.AssetCheckSeverity.ERROR if overlapping else dg.AssetCheckSeverity.WARN,
        metadata={"households_without_head": no_head or 0,
                  "households_with_several_heads": many_heads or 0,
                  "households_in_several_subdistricts": split or 0,
                  "people_in_two_households": overlapping or 0,
                  "registered_people": registered},
    )
