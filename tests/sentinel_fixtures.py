"""Shared helpers of the sentinel tests: a generated district landed and checked in-process."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import duckdb

from assets.aid_sentinel import (
    aid_alert_dispositions,
    aid_alert_lists,
    aid_alert_summary,
    aid_alerts,
)
from assets.extracts import landing_assets
from onceonly.settings import DataFolder
from pipelines.resources import Warehouse

SENTINEL_ASSETS = [aid_alerts, aid_alert_lists, aid_alert_dispositions, aid_alert_summary]
TRUTH_FIELDS = ("month", "check", "rule", "record_id", "case_no", "person_id_number",
                "relation", "match_method", "subdistrict_code", "event_date")
ALERT_FACTS = ("period, check_kind, rule, record_id, case_no, person_id_number, relation, "
               "match_method, subdistrict_code, CAST(event_date AS VARCHAR)")


def materialize(folder: DataFolder, assets: list, period: str,
                instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    """Materialise some assets for one month in this process; fail the test if a step fails."""
    result = dg.materialize(
        assets, partition_key=period, instance=instance or dg.DagsterInstance.ephemeral(),
        resources={"warehouse": Warehouse(data_dir=str(folder.root))},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert result.success, f"materialising {period} failed"
    return result


def land(folder: DataFolder, period: str) -> None:
    materialize(folder, list(landing_assets), period)


def check(folder: DataFolder, period: str) -> None:
    materialize(folder, SENTINEL_ASSETS, period)


def query(folder: DataFolder, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def raised(folder: DataFolder, period: str | None = None) -> set[tuple]:
    """The alerts in the warehouse, in the columns of the planted truth."""
    return set(query(folder, f"SELECT {ALERT_FACTS} FROM sentinel.alerts "
                             "WHERE ? IS NULL OR period = ?", [period, period]))


def planted(truth: Path, period: str | None = None) -> set[tuple]:
    """The alerts the generator planted (truth/alerts.csv), for one month or all."""
    with (truth / "alerts.csv").open(encoding="utf-8") as f:
        return {tuple(r[k] for k in TRUTH_FIELDS) for r in csv.DictReader(f)
                if period is None or r["month"] == period}


def sentinel_backfill_job() -> dg.JobDefinition:
    """The monthly check as a job the multiprocess executor can reconstruct."""
    from pipelines.definitions import all_assets

    job = dg.define_asset_job(
        "sentinel_backfill",
        # The alerts alone: their quality checks import Great Expectations in every step
        # process, which is what made the backfill too slow for the suite.
        selection=dg.AssetSelection.assets(aid_alerts).without_checks(),
    )
    defs = dg.Definitions(assets=all_assets, jobs=[job], resources={"warehouse": Warehouse()})
    return defs.resolve_job_def("sentinel_backfill")


def run_months_in_own_process(dagster_home: str, data_dir: str,
                              months: list[str]) -> list[tuple[str, str, bool]]:
    """Run the sentinel job for each month with the multiprocess executor on the persistent
    instance; meant to be called in a separate process, several at once."""
    import os

    os.environ["DAGSTER_HOME"] = dagster_home
    os.environ["ONCEONLY_DATA_DIR"] = data_dir
    results = []
    with dg.DagsterInstance.get() as instance:
        for month in months:
            result = dg.execute_job(dg.reconstructable(sentinel_backfill_job), instance,
                                    tags={"dagster/partition": month})
            results.append((month, result.run_id, result.success))
    return results
