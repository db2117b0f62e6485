"""Running the pipeline for a month from the command line, on the persistent Dagster instance.

Runs started here appear in the Dagster UI (`make ui`) like any other, because both use the
same DAGSTER_HOME under the data folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from onceonly.settings import DataFolder

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def prepare_dagster_home(folder: DataFolder) -> Path:
    """Point DAGSTER_HOME at the data folder and give it the project's dagster.yaml."""
    home = folder.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    source = PROJECT_ROOT / "dagster.yaml"
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass(frozen=True, slots=True)
class MonthRun:
    period: str
    run_id: str
    success: bool
    failed_steps: list[str]


def run_month(folder: DataFolder, period: str, *, log_level: str = "INFO") -> MonthRun:
    """Materialise every asset for one month in this process."""
    from pipelines.definitions import all_asset_checks, all_assets
    from pipelines.resources import Warehouse

    prepare_dagster_home(folder)
    instance = dg.DagsterInstance.get()
    result = dg.materialize(
        [*all_assets, *all_asset_checks],
        partition_key=period,
        instance=instance,
        resources={"warehouse": Warehouse(data_dir=str(folder.root))},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
        tags={"onceonly/trigger": "cli"},
    )
    failed = [e.step_key for e in result.all_events
              if e.event_type_value == "STEP_FAILURE" and e.step_key]
    return MonthRun(period, result.run_id, result.success, failed)
