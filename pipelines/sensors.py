"""Sensors. Each domain appends its sensors to `sensors`."""

import dagster as dg

sensors: list[dg.SensorDefinition] = []
