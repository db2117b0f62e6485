"""Which forms may be issued: the life cycle a joint review group keeps.

Only an approved form inside its review-by date is issued. An emergency form (the fast lane) is
issued at once but lapses 90 days after approval unless the review group has reviewed it (then
it is approved, with a new review-by date). Draft, retired, lapsed and overdue forms are reported
with their reason and never issued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from onceonly.forms.catalogue import FormDefinition

EMERGENCY_DAYS = 90


@dataclass(frozen=True, slots=True)
class IssueDecision:
    """Whether a form is issued on a date, and why (in Chinese, for the catalogue report)."""

    form_id: str
    version: str
    title: str
    status: str
    issue: bool
    decision: str  # issue, retired, draft, lapsed, overdue_review, not_yet_approved, weekly
    reason: str


def decide(form: FormDefinition, on: dt.date) -> IssueDecision:
    """Decide whether ``form`` may be issued on ``on``."""

    def result(issue: bool, decision: str, reason: str) -> IssueDecision:
        return IssueDecision(form.id, form.version, form.title, form.status, issue, decision,
                             reason)

    if form.status == "retired":
        successor = f"，已由{form.replaced_by}替代" if form.replaced_by else ""
        return result(False, "retired", f"已废止{successor}，不再下发。")
    if form.status == "draft":
        return result(False, "draft", "尚未通过联审，不得下发。")
    if form.approved_on and on < form.approved_on:
        return result(False, "not_yet_approved",
                      f"批准日期为{form.approved_on.isoformat()}，该日期前不得下发。")
    if form.status == "emergency":
        lapses_on = form.approved_on + dt.timedelta(days=EMERGENCY_DAYS)
        if on >= lapses_on:
            return result(False, "lapsed",
                          f"应急表单于{form.approved_on.isoformat()}批准，未在{EMERGENCY_DAYS}天内"
                          f"完成事后审核，已于{lapses_on.isoformat()}失效。")
        return result(True, "issue", f"应急表单，须在{lapses_on.isoformat()}前完成事后审核。")
    if form.review_by is None or on > form.review_by:
        when = form.review_by.isoformat() if form.review_by else "（未设定）"
        return result(False, "overdue_review",
                      f"复审期限{when}已过，须经联审小组重新评估后方可下发。")
    if form.period != "monthly":
        return result(False, "weekly", "周报表由周任务下发，月度任务不下发。")
    return result(True, "issue", f"已批准，复审期限{form.review_by.isoformat()}。")


def decide_all(forms: Iterable[FormDefinition], on: dt.date) -> list[IssueDecision]:
    """The decision for every form of a catalogue on one date."""
    return [decide(f, on) for f in forms]
