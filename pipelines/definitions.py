"""The Dagster code location: gathers the domains' assets, jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from assets.aid_sentinel import aid_alerts
from assets.extracts import landing_assets
from assets.pool import person
from assets.rosters import aid_recipient_rosters
from pipelines.jobs import jobs
from pipelines.resources import Warehouse
from pipelines.schedules import schedules

all_assets = [*landing_assets, person, aid_alerts, aid_recipient_rosters]

defs = dg.Definitions(
    assets=all_assets,
    jobs=jobs,
    schedules=schedules,
    resources={"warehouse": Warehouse()},
)
