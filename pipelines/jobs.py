"""Jobs: the whole monthly pipeline, and the aid verification on its own."""

from __future__ import annotations

import dagster as dg

from assets.partitions import monthly

# Everything for one month: land the extracts, rebuild the pool, check aid, write the forms.
monthly_pipeline = dg.define_asset_job(
    name="monthly_pipeline",
    selection=dg.AssetSelection.all(),
    partitions_def=monthly,
    description="Land every department extract of the month, rebuild the pool, run the aid "
    "sentinel and write the prefilled workbooks.",
)

aid_verification = dg.define_asset_job(
    name="aid_verification",
    selection=dg.AssetSelection.groups("sentinel"),
    partitions_def=monthly,
    description="Check the month's aid recipients and counted household members against the "
    "death, marriage and household-registration registries.",
)

jobs = [monthly_pipeline, aid_verification]
