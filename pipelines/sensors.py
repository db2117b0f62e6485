"""Sensors. Each domain appends its sensors to `sensors`."""

import dagster as dg

sensors: list[dg.SensorDefinition] = []

from pipelines.inbox_sensor import inbox_arrivals  # noqa: E402

sensors.append(inbox_arrivals)

from assets.aid_enrolment import aid_enrolment_sensor  # noqa: E402

sensors.append(aid_enrolment_sensor)
