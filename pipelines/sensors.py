"""Sensors. Each domain appends its sensors to `sensors`."""

import dagster as dg

sensors: list[dg.SensorDefinition] = []

from pipelines.inbox_sensor import inbox_arrivals  # noqa: E402

sensors.append(inbox_arrivals)
