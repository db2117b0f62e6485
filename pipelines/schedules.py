"""Schedules: the nightly rebuild of the current month, and the check before payment day."""


import os

import dagster as dg

from pipelines.jobs import aid_verification, monthly_pipeline

PAYMENT_CHECK_DAY_ENV = "ONCEONLY_PAYMENT_CHECK_DAY"


def payment_check_day() -> int:
    """The day of the month the pre-payment check runs (default the 20th)."""
    day = int(os.environ.get(PAYMENT_CHECK_DAY_ENV, "20"))
    if not 1 <= day <= 28:
        raise ValueError(f"{PAYMENT_CHECK_DAY_ENV} must be a day from 1 to 28, not {day}.")
    return day


@dg.schedule(job=monthly_pipeline, cron_schedule="30 1 * * *", execution_timezone="Asia/Shanghai",
             description="Nightly at 01:30: land whatever departments sent and rebuild the "
             "current month.")
def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    month = context.scheduled_execution_time.strftime("%Y-%m")
    return dg.RunRequest(partition_key=month, run_key=None)


@dg.schedule(job=aid_verification, cron_schedule=f"0 6 {payment_check_day()} * *",
             execution_timezone="Asia/Shanghai",
             description="Before every monthly payment: verify the month's aid recipients.")
def before_payment(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    month = context.scheduled_execution_time.strftime("%Y-%m")
    return dg.RunRequest(partition_key=month)


schedules = [nightly, before_payment]
