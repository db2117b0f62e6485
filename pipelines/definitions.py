"""The Dagster code location: gathers the domains' assets, checks, jobs, schedules and sensors.

Every module in the `assets` package is scanned, so a new domain module needs no edit here.
"""

import dagster as dg

import assets
from pipelines.jobs import jobs
from pipelines.resources import Warehouse
from pipelines.schedules import schedules
from pipelines.sensors import sensors

all_assets = dg.load_assets_from_package_module(assets)
all_asset_checks = dg.load_asset_checks_from_package_module(assets)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_asset_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={"warehouse": Warehouse()},
)
