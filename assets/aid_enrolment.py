"""The enrolment check: new aid recipients checked at once against the registries' history.

When a new aid roster lands, `aid_enrolment_sensor` notices the cases no earlier roster held
(already dead, already moved away, already married before enrolment is what it looks for) and
requests a run of `aid_enrolment_check` for exactly those cases, without waiting for the check
before payment. The alerts it raises are the ones the month's check would raise for them, with
the same stable ids, so whichever runs first, the month ends with the same alerts.
"""


import hashlib
import json

import dagster as dg

from onceonly.sentinel.checks import new_cases, run_enrolment_check
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL, WarehouseLockedError, open_warehouse

ENROLMENT_OP = "check_new_aid_cases"


class EnrolmentCheckConfig(dg.Config):
    """Which month's roster the cases come from, and the case numbers to check."""

    period: str
    case_nos: list[str]


@dg.op(name=ENROLMENT_OP, pool=WAREHOUSE_POOL,
       description="Check newly enrolled aid cases against every death, marriage, divorce and "
       "move out registered before their month.")
def aid_enrolment_check_op(context: dg.OpExecutionContext, config: EnrolmentCheckConfig,
                           warehouse: Warehouse) -> dg.Output:
    try:
        with warehouse.writer() as conn:
            outcome = run_enrolment_check(conn, config.period, config.case_nos)
    except WarehouseLockedError as err:
        raise dg.Failure(description=str(err),
                         metadata={"error_kind": "warehouse_locked"}) from err
    context.log.info(f"Enrolment check of {outcome.cases_checked} new cases of {config.period}: "
                     f"{outcome.alerts_new} new alerts {outcome.by_rule}.")
    return dg.Output(outcome.alerts_new, metadata={
        "check_id": outcome.check_id, "period": config.period,
        "cases_checked": outcome.cases_checked, "people_checked": outcome.people_checked,
        "alerts": outcome.alerts_new, "by_rule": outcome.by_rule,
        "by_match_method": outcome.by_match_method,
        "monthly_amount_at_stake": outcome.amount_at_stake,
    })


@dg.job(name="aid_enrolment_check", tags={"onceonly/check": "enrolment"},
        description="The enrolment check of newly enrolled aid cases (started by "
        "aid_enrolment_sensor, or by hand with the case numbers in the run config).")
def aid_enrolment_check():
    aid_enrolment_check_op()


def roster_fingerprint(period: str, file_shas: list[str]) -> str:
    """What the sensor has seen: the latest roster's month and the hashes of its files."""
    return json.dumps({"period": period, "files": sorted(file_shas)}, sort_keys=True)


def enrolment_run_request(period: str, case_nos: list[str]) -> dg.RunRequest:
    """A run of the enrolment check for these cases; the same cases give the same run key."""
    digest = hashlib.sha256("\n".join(sorted(case_nos)).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"enrolment:{period}:{digest}",
        run_config={"ops": {ENROLMENT_OP: {"config": {"period": period,
                                                       "case_nos": sorted(case_nos)}}}},
        tags={"onceonly/period": period, "onceonly/new_cases": str(len(case_nos))},
    )


@dg.sensor(job=aid_enrolment_check, minimum_interval_seconds=120,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Notices newly enrolled aid cases in a newly landed roster and checks "
           "them at once against the registries' whole history.")
def aid_enrolment_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    try:
        # Two quick tries only: a busy warehouse means a run is writing; the next tick looks again.
        with open_warehouse(warehouse.folder.warehouse, read_only=True, attempts=2,
                            first_wait=0.5) as conn:
            latest = conn.execute(
                "SELECT max(_period) FROM landing.aid_households").fetchone()[0]
            if latest is None:
                return dg.SkipReason("No aid roster has landed yet.")
            shas = [s for (s,) in conn.execute(
                "SELECT sha256 FROM ingest.files WHERE feed = 'social_aid' AND period = ? "
                "AND status = 'loaded'", [latest]).fetchall()]
            seen = roster_fingerprint(latest, shas)
            if context.cursor == seen:
                return dg.SkipReason(f"The aid roster of {latest} has not changed since the "
                                     "last look.")
            period, cases = new_cases(conn)
    except WarehouseLockedError:
        return dg.SkipReason("The warehouse is being written by a run; looking again at the "
                             "next tick.")
    context.update_cursor(seen)
    if not cases:
        return dg.SkipReason(f"The aid roster of {period} has no new case that is not checked "
                             "yet.")
    context.log.info(f"{len(cases)} new aid cases in the roster of {period}; requesting their "
                     "enrolment check.")
    return enrolment_run_request(period, cases)
