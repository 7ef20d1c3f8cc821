"""Each clock of a replayed ticket as a report counts it at the end of a period (docs/reports.md).

The rules are `sladesk.sla.read_clock`'s, read at the period's end from the instants the ticket's whole known
history fixed: a stop before the end decides met, cancelled or breached; a due instant passed before the end
is a breach; anything else still runs. A breach counts at its due instant (or at an earlier severity's due,
when a later change of severity would have met the new target), so every clock counts in exactly one period.
`services.reports` computes the same outcomes in SQL from the stored instants.
"""

from __future__ import annotations

from datetime import datetime

from sladesk.reports.model import ClockOutcome, Outcome, TicketLabels
from sladesk.sla import ClockInstants, ReplayReport


def outcomes_of(report: ReplayReport, labels: TicketLabels, end: datetime, now: datetime) -> list[ClockOutcome]:
    """Every metric of the ticket as it stood at `end` (or at `now`, if sooner); none if it opened later."""
    if report.history.opened_at >= end:
        return []
    return [
        clock_outcome(metric.instants, labels, report.severity.code, end, now) for metric in report.metrics.values()
    ]


def clock_outcome(
    clock: ClockInstants, labels: TicketLabels, severity: str, end: datetime, now: datetime
) -> ClockOutcome:
    """One clock as it counts at `end`: what it is, and the instant that puts it in a period (None: still open)."""
    outcome, at = _outcome(clock, end, now)
    stopped = _stopped(clock, end, now)
    earlier = _earlier_breach(clock, end, now)
    return ClockOutcome(
        ticket_id=labels.ticket_id,
        metric=clock.metric_id,
        outcome=outcome,
        at=at,
        severity=clock.earlier_breach_severity if earlier and clock.earlier_breach_severity else severity,
        tier=labels.tier,
        organisation_id=labels.organisation_id,
        team_id=labels.team_id,
        assignee_id=labels.assignee_id,
        policy_id=labels.policy_id,
        policy_version=labels.policy_version,
        counted_seconds=int(clock.counted.total_seconds()) if stopped else None,
        target_seconds=clock.target_seconds,
        goal_met=_goal_met(clock, end, now),
        excuse=clock.excuse if outcome is Outcome.EXCUSED else None,
        stopped_at=clock.stopped_at if stopped else None,
        stop_cancels=clock.stop_cancels if stopped else False,
    )


def _stopped(clock: ClockInstants, end: datetime, now: datetime) -> bool:
    return clock.stopped_at is not None and clock.stopped_at < end and clock.stopped_at <= now


def _passed(instant: datetime | None, end: datetime, now: datetime) -> bool:
    """An instant passed before the period's end, as `read_clock` sees a due passing (strictly after it)."""
    return instant is not None and instant < end and instant < now


def _earlier_breach(clock: ClockInstants, end: datetime, now: datetime) -> bool:
    return _passed(clock.earlier_breach_at, end, now)


def _outcome(clock: ClockInstants, end: datetime, now: datetime) -> tuple[Outcome, datetime | None]:
    breach = Outcome.EXCUSED if clock.excuse is not None else Outcome.BREACHED
    if _earlier_breach(clock, end, now):
        return breach, clock.earlier_breach_at
    stopped = _stopped(clock, end, now)
    if clock.target_seconds is None:
        return Outcome.NO_TARGET, clock.stopped_at if stopped else None
    if clock.started_at is None or clock.started_at >= end:
        return Outcome.NOT_STARTED, None
    due = clock.due
    if stopped:
        assert clock.stopped_at is not None
        if due is not None and clock.stopped_at <= due:
            return (Outcome.CANCELLED if clock.stop_cancels else Outcome.MET), clock.stopped_at
        return breach, due
    if _passed(due, end, now):
        return breach, due
    return Outcome.RUNNING, None


def _goal_met(clock: ClockInstants, end: datetime, now: datetime) -> bool | None:
    """`read_clock`'s goal rule at the period's end: met by a stop in time, missed once the goal passed."""
    if clock.goal_seconds is None or clock.started_at is None or clock.started_at >= end:
        return None
    if _stopped(clock, end, now):
        assert clock.stopped_at is not None
        if clock.goal is None:
            return None
        if clock.stopped_at <= clock.goal:
            return None if clock.stop_cancels else True
        return False
    if _passed(clock.goal, end, now):
        return False
    return None
