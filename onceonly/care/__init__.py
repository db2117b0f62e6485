"""Proactive care: the list of residents living alone or aged 80 and over, per subdistrict."""

from onceonly.care.care_list import (
    CareDecisionError,
    CareList,
    build_care_list,
    record_care_decision,
    record_care_list,
)

__all__ = [
    "CareDecisionError",
    "CareList",
    "build_care_list",
    "record_care_decision",
    "record_care_list",
]
