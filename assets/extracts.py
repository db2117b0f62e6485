"""Landing assets: one per department extract, monthly, from the inbox into DuckDB."""


import dagster as dg

from assets.partitions import monthly
from onceonly.contracts import FeedContract, feeds
from onceonly.extracts.ingest import land_feed
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL


def _landing_asset(feed: FeedContract) -> dg.AssetsDefinition:
    tables = "、".join(t.business_name for t in feed.tables)

    @dg.asset(
        name=feed.id,
        key_prefix=["landing"],
        group_name="extracts",
        partitions_def=monthly,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description=f"{feed.name}（{feed.team}）: the month's {tables} landed, "
        "normalised and reconciled; bad rows quarantined with their reason.",
        metadata={"department": feed.department, "contract_version": feed.version},
    )
    def _land(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        period = context.partition_key
        folder = warehouse.folder
        with warehouse.writer() as conn:
            outcomes = land_feed(conn, feed, folder.inbox, folder.staging, period, folder.reports)
        for o in outcomes:
            if o.unchanged:
                context.log.info(f"{o.file_name} ({o.table}) was already loaded with the same "
                                 "content; nothing to do.")
            elif o.duplicate_of:
                context.log.info(f"{o.file_name} ({o.table}) has the same content as "
                                 f"{o.duplicate_of}; it was not loaded twice.")
            elif o.rejection:
                context.log.error(f"{o.file_name} ({o.table}) was rejected: {o.rejection}")
            else:
                context.log.info(
                    f"{o.file_name} ({o.table}): {o.rows_read} rows read, {o.rows_loaded} loaded, "
                    f"{o.rows_quarantined} quarantined, {o.rows_for_review} for review."
                )
        rejected = [o for o in outcomes if o.rejection]
        if rejected:
            raise dg.Failure(
                description=f"{len(rejected)} file(s) of {feed.name} for {period} were rejected; "
                "the reasons are in the log above and in ingest.files.",
                metadata={"rejected_files": [o.file_name for o in rejected]},
            )
        return dg.MaterializeResult(
            metadata={
                "files": len({o.sha256 for o in outcomes}),
                "files_unchanged": len({o.sha256 for o in outcomes if o.unchanged}),
                "rows_read": sum(o.rows_read for o in outcomes),
                "rows_loaded": sum(o.rows_loaded for o in outcomes),
                "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
                "rows_for_review": sum(o.rows_for_review for o in outcomes),
                "aliases_used": sorted({a for o in outcomes for a in o.aliases_used.values()}),
                "extra_columns": sorted({c for o in outcomes for c in o.extra_columns}),
            }
        )

    return _land


landing_assets = [_landing_asset(f) for f in feeds()]


def landing_key(feed_id: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", feed_id])
