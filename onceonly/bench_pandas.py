"""The yardstick for the monthly verification: the same check written in plain pandas.

This is what an analyst would write without the warehouse: load the tables, join in memory.
It follows warehouse/sql/aid_alerts.sql rule for rule, so the alert counts must agree.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

USABLE = {"valid", "unknown_county", "upgraded_from_15"}


def _events(deaths: pd.DataFrame, marriages: pd.DataFrame, moves: pd.DataFrame,
            district: str) -> pd.DataFrame:
    death = pd.DataFrame({
        "rule": "death", "record_id": deaths["record_id"], "person_id": deaths["id_number"],
        "person_name": deaths["name"], "registered_on": pd.to_datetime(deaths["registered_at"])
        .dt.normalize(), "id_status": deaths["id_number_status"]})
    parts = [death]
    for side in ("male", "female"):
        parts.append(pd.DataFrame({
            "rule": marriages["event_type"].map({"结婚登记": "marriage"}).fillna("divorce"),
            "record_id": marriages["record_id"], "person_id": marriages[f"{side}_id_number"],
            "person_name": marriages[f"{side}_name"],
            "registered_on": pd.to_datetime(marriages["registration_date"]),
            "id_status": marriages[f"{side}_id_number_status"]}))
    out = moves[(moves["move_type"] == "迁出") & (moves["other_place_code"] != district)]
    parts.append(pd.DataFrame({
        "rule": "moved_out", "record_id": out["record_id"], "person_id": out["id_number"],
        "person_name": out["name"], "registered_on": pd.to_datetime(out["registration_date"]),
        "id_status": out["id_number_status"]}))
    events = pd.concat(parts, ignore_index=True)
    events = events[events["id_status"].isin(USABLE)]
    events = events.sort_values("registered_on").drop_duplicates(
        ["rule", "record_id", "person_id"])
    events["person_birth_date"] = pd.to_datetime(events["person_id"].str[6:14], format="%Y%m%d")
    return events


def verify_month(households: pd.DataFrame, members: pd.DataFrame, deaths: pd.DataFrame,
                 marriages: pd.DataFrame, moves: pd.DataFrame, period: str,
                 month_start: dt.date, month_end: dt.date, district: str) -> pd.DataFrame:
    """The month's alerts: monthly and enrolment checks, three ways of matching a person."""
    start, end = pd.Timestamp(month_start), pd.Timestamp(month_end)
    cases = households[(households["_period"] == period) & (households["status"] == "在保")]
    cases = cases.assign(enrolled_on=pd.to_datetime(cases["enrolled_on"]))
    cases = cases[cases["enrolled_on"] <= end]
    people = members[(members["_period"] == period) & (members["counted"] == "是")].merge(
        cases[["case_no", "enrolled_on", "subdistrict_code", "monthly_amount"]], on="case_no")
    people = people.assign(birth_date=pd.to_datetime(people["birth_date"]))
    events = _events(deaths, marriages, moves, district)

    by_id = people[people["member_id_number_status"].isin(USABLE)].merge(
        events, left_on="member_id_number", right_on="person_id")
    by_id["match_method"] = by_id["member_id_number_status"].map(
        {"upgraded_from_15": "upgraded_15"}).fillna("exact_id")
    by_name = people[people["member_id_number_status"] == "bad_check_digit"].merge(
        events, left_on=["member_name", "birth_date"],
        right_on=["person_name", "person_birth_date"])
    by_name["match_method"] = "name_birth_date"
    matched = pd.concat([by_id, by_name], ignore_index=True)

    monthly = matched[(matched["registered_on"] >= start) & (matched["registered_on"] <= end)]
    enrolment = matched[(matched["enrolled_on"] >= start) & (matched["enrolled_on"] <= end)
                        & (matched["registered_on"] < start)]
    alerts = pd.concat([monthly.assign(check_kind="monthly", preference=1),
                        enrolment.assign(check_kind="enrolment", preference=2)])
    return alerts.sort_values("preference").drop_duplicates(["rule", "record_id", "person_id"])
