"""Running a sentinel check and recording it as completed.

The monthly check looks at registry records registered since the last completed check. Its
window is derived from the partition, never from the wall clock: the previous check of month M
is the check of M-1, whose cutoff is the last day of M-1, so the window of M is the month
itself, and a rerun of M (or a backfill of a range, in any order) uses the same window as the
first run. When M-1 has no completed check, M still covers only its own month, and the gap is
reported so that someone runs M-1; nothing is silently widened or skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

import duckdb

from onceonly.periods import month_bounds
from onceonly.reference import DISTRICT_CODE

ALERT_COLUMNS = (
    "alert_id, period, check_kind, rule, reason_code, registry, record_id, event_date, case_no, "
    "aid_type, monthly_amount, subdistrict_code, person_id_number, person_name, relation, "
    "match_method, match_certainty"
)


def alerts_sql() -> str:
    """The SQL that finds a month's alerts (warehouse/sql/aid_alerts.sql)."""
    return resources.files("warehouse").joinpath("sql/aid_alerts.sql").read_text("utf-8")


def previous_period(period: str) -> str:
    """The month before a YYYY-MM month."""
    first, _ = month_bounds(period)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class CheckWindow:
    """The registry records a monthly check looks at: registered from ``start`` to ``cutoff``."""

    period: str
    start: dt.date
    cutoff: dt.date
    previous_period: str | None  # the completed check this one follows
    missing_previous: bool  # an earlier check exists, but not the one of the month before


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What one check found; counts only, so it can go to logs and Dagster metadata."""

    check_id: str
    period: str
    kind: str
    window: CheckWindow
    cases_checked: int
    people_checked: int
    alerts_found: int
    alerts_new: int
    by_rule: dict[str, int] = field(default_factory=dict)
    by_match_method: dict[str, int] = field(default_factory=dict)
    amount_at_stake: float = 0.0


def check_window(conn: duckdb.DuckDBPyConnection, period: str) -> CheckWindow:
    """The window of the monthly check of ``period``.

    The previous check's cutoff is the last day of the month before (the partition says so);
    for a first check, or when the month before was never checked, the window starts on the
    first day of the month.
    """
    first, last = month_bounds(period)
    before = previous_period(period)
    earlier = conn.execute(
        "SELECT max(period) FROM sentinel.checks WHERE kind = 'monthly' AND period < ?",
        [period]).fetchone()[0]
    if earlier == before:
        return CheckWindow(period, month_bounds(before)[1] + dt.timedelta(days=1), last, before,
                           False)
    return CheckWindow(period, first, last, None, earlier is not None)


def run_monthly_check(conn: duckdb.DuckDBPyConnection, period: str,
                      completed_at: dt.datetime | None = None) -> CheckOutcome:
    """Run the monthly check of ``period`` and its enrolment check of the month's new cases.

    Replaces the month's alerts in one transaction. An alert belongs to the first month that
    raises it: one an earlier month raised is dropped here, and one a later month raised (when
    months ran out of order) moves to this month. The result does not depend on run order.
    """
    window = check_window(conn, period)
    return _run(conn, window, kind="monthly", case_nos=None, completed_at=completed_at)


def run_enrolment_check(conn: duckdb.DuckDBPyConnection, period: str, case_nos: Sequence[str],
                        completed_at: dt.datetime | None = None) -> CheckOutcome:
    """Check newly enrolled cases of ``period`` at once against the registries' whole history.

    Only these cases' alerts are added or replaced; the month's other alerts are left alone.
    The monthly check of the month later finds the same alerts with the same values.
    """
    if not case_nos:
        raise ValueError("An enrolment check needs at least one case number; none were given.")
    window = check_window(conn, period)
    return _run(conn, window, kind="enrolment", case_nos=sorted(set(case_nos)),
                completed_at=completed_at)


def _run(conn: duckdb.DuckDBPyConnection, window: CheckWindow, *, kind: str,
         case_nos: list[str] | None, completed_at: dt.datetime | None) -> CheckOutcome:
    period = window.period
    first, last = month_bounds(period)
    listed = case_nos is not None
    params = {"period": period, "month_start": first, "month_end": last,
              "window_start": window.start, "cutoff": window.cutoff,
              "district_code": DISTRICT_CODE, "only_listed": listed,
              "case_nos": case_nos or []}
    if listed:
        digest = hashlib.sha256("\n".join(case_nos).encode()).hexdigest()[:12]
        check_id = f"enrolment|{period}|{digest}"
    else:
        check_id = f"monthly|{period}"
    completed_at = completed_at or dt.datetime.now().replace(microsecond=0)

    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE found AS {alerts_sql()}", params)
        found = conn.execute("SELECT count(*) FROM found").fetchone()[0]
        conn.execute("DELETE FROM found WHERE alert_id IN "
                     "(SELECT alert_id FROM sentinel.alerts WHERE period < ?)", [period])
        if listed:
            conn.execute("DELETE FROM sentinel.alerts WHERE alert_id IN "
                         "(SELECT alert_id FROM found) OR (period = ? AND check_kind = "
                         "'enrolment' AND case_no IN (SELECT unnest(?)))", [period, case_nos])
        else:
            conn.execute("DELETE FROM sentinel.alerts WHERE period = ? OR alert_id IN "
                         "(SELECT alert_id FROM found)", [period])
        conn.execute(f"INSERT INTO sentinel.alerts ({ALERT_COLUMNS}) "
                     f"SELECT {ALERT_COLUMNS} FROM found")
        new = conn.execute("SELECT count(*) FROM found").fetchone()[0]
        cases, people = _population(conn, period, case_nos)
        conn.execute("DELETE FROM sentinel.checks WHERE check_id = ?", [check_id])
        conn.execute(
            "INSERT INTO sentinel.checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [check_id, period, kind, window.previous_period, window.start, window.cutoff,
             cases, people, found, new, completed_at])
        if listed:
            conn.execute("DELETE FROM sentinel.enrolment_checked WHERE case_no IN "
                         "(SELECT unnest(?))", [case_nos])
            conn.executemany("INSERT INTO sentinel.enrolment_checked VALUES (?, ?, ?, ?)",
                             [(c, period, check_id, completed_at) for c in case_nos])
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise

    by_rule = dict(conn.execute(
        "SELECT rule, count(*) FROM found GROUP BY rule ORDER BY rule").fetchall())
    by_method = dict(conn.execute(
        "SELECT match_method, count(*) FROM found GROUP BY 1 ORDER BY 1").fetchall())
    # A case with two alerts is one payment at stake, not two.
    amount = conn.execute(
        "SELECT coalesce(sum(monthly_amount), 0) FROM "
        "(SELECT DISTINCT case_no, monthly_amount FROM found)").fetchone()[0]
    return CheckOutcome(check_id, period, kind, window, cases, people, found, new, by_rule,
                        by_method, float(amount))


def _population(conn: duckdb.DuckDBPyConnection, period: str,
                case_nos: list[str] | None) -> tuple[int, int]:
    """How many active cases and counted people the check looked at."""
    return conn.execute(
        """
        SELECT count(DISTINCT h.case_no), count(m.member_id_number_raw)
        FROM landing.aid_households h
        JOIN landing.aid_members m ON m.case_no = h.case_no AND m._period = h._period
        WHERE h._period = ? AND h.status = '在保' AND m.counted = '是'
          AND (? IS NULL OR h.case_no IN (SELECT unnest(?)))
        """,
        [period, case_nos, case_nos or []]).fetchone()


def new_cases(conn: duckdb.DuckDBPyConnection) -> tuple[str | None, list[str]]:
    """The latest landed aid roster's month, and its new cases not yet enrolment-checked.

    A case is new when no earlier roster held it; in the first roster ever landed (which holds
    recipients enrolled long before the sentinel existed) only cases enrolled during its month.
    """
    period = conn.execute("SELECT max(_period) FROM landing.aid_households").fetchone()[0]
    if period is None:
        return None, []
    first, last = month_bounds(period)
    rows = conn.execute(
        """
        WITH earlier AS (SELECT DISTINCT case_no FROM landing.aid_households WHERE _period < ?)
        SELECT DISTINCT h.case_no FROM landing.aid_households h
        WHERE h._period = ? AND h.status = '在保' AND h.enrolled_on <= ?
          AND (h.enrolled_on BETWEEN ? AND ?
               OR (h.case_no NOT IN (SELECT case_no FROM earlier)
                   AND EXISTS (SELECT 1 FROM earlier)))
          AND h.case_no NOT IN (SELECT case_no FROM sentinel.enrolment_checked)
        ORDER BY 1
        """,
        [period, period, last, first, last]).fetchall()
    return period, [r[0] for r in rows]
