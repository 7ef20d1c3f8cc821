"""The desk's forward and backward looks at its clocks: the breach forecast, open tickets by age, breaches
over time and the split of logged time between customers and internal work (docs/forecast.md).

Each reads the stored clock instants and tickets in a few queries and hands plain values to the pure
figures in `sladesk.reports`; staff only. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.policy.model import StatusKind
from sladesk.reports.breach_timeline import BreachTimeline, Bucket, ClockBreach, ReportFieldError, breach_instant
from sladesk.reports.breach_timeline import breaches_over_time as breach_timeline
from sladesk.reports.forecast import PACE_LOOKBACK, Coverage, Forecast, RunningClock, StoppedClock, forecast
from sladesk.reports.model import Period
from sladesk.reports.open_age import AgeRow, OpenTicket
from sladesk.reports.open_age import open_by_age as age_rows
from sladesk.reports.time_split import LoggedTime, TimeSplit, internal_severities
from sladesk.reports.time_split import time_split as split_time
from sladesk.services.actors import Actor, require_staff
from sladesk.services.clocks import instants_of
from sladesk.services.errors import InvalidFieldError, NotFoundError
from sladesk.services.oncall import StoredSchedule, load_schedule, next_on_call, schedules_targeted, who_is_on_call
from sladesk.services.policies import current_policy, policy_at
from sladesk.store.tables import EscalationPolicyRow, Organisation, SlaClock, Ticket, TimeLog


def forecast_report(session: Session, actor: Actor, *, now: datetime, lookback: timedelta = PACE_LOOKBACK) -> Forecast:
    """The running clocks of open tickets that will breach at the current pace, with the reasons."""
    require_staff(actor, "read the breach forecast")
    now = _aware(now, "now")
    policies = _Policies(session)
    clocks: list[RunningClock] = []
    query = (
        select(SlaClock, Ticket.policy_id, Ticket.policy_version, Ticket.severity_rank, Ticket.status)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .where(
            Ticket.is_open.is_(True),
            SlaClock.stopped_at.is_(None),
            SlaClock.started_at.is_not(None),
            SlaClock.target_seconds.is_not(None),
            or_(SlaClock.due_at >= now, SlaClock.paused_since.is_not(None)),
        )
        .order_by(SlaClock.ticket_id, SlaClock.metric)
    )
    for row, policy_id, version, rank, status in session.execute(query):
        policy = policies.get(policy_id, version)
        if policy is None:
            continue
        try:
            clocks.append(
                RunningClock(
                    ticket_id=row.ticket_id,
                    policy_id=policy_id,
                    severity=policy.severity(rank).code,
                    status=status,
                    waiting=policy.status(status).kind is StatusKind.WAITING,
                    instants=instants_of(row),
                    calendar=policy.calendar(row.calendar),
                )
            )
        except SladeskError:  # a severity, status or calendar its policy no longer knows: left out
            continue
    history = _stopped_clocks(session, policies, since=now - lookback, until=now)
    coverage = _coverage(session, {(clock.policy_id, clock.severity) for clock in clocks}, now)
    return forecast(clocks, history, coverage, now, lookback=lookback)


def open_by_age(session: Session, actor: Actor, *, now: datetime) -> tuple[AgeRow, ...]:
    """Open tickets per policy and severity in working-time age buckets (under 1 h ... over 7 d)."""
    require_staff(actor, "read open tickets by age")
    now = _aware(now, "now")
    policies = _Policies(session)
    tickets = session.execute(
        select(Ticket.id, Ticket.policy_id, Ticket.policy_version, Ticket.severity_rank, Ticket.opened_at)
        .where(Ticket.is_open.is_(True))
        .order_by(Ticket.id)
    ).all()
    calendars: dict[tuple[int, str], str] = {
        (ticket_id, metric): calendar
        for ticket_id, metric, calendar in session.execute(
            select(SlaClock.ticket_id, SlaClock.metric, SlaClock.calendar)
            .join(Ticket, Ticket.id == SlaClock.ticket_id)
            .where(Ticket.is_open.is_(True))
        )
    }
    open_tickets = []
    for ticket_id, policy_id, version, rank, opened_at in tickets:
        policy = policies.get(policy_id, version)
        if policy is None:
            continue
        try:
            first_metric = policy.metric_ids[0]
            calendar_id = calendars.get((ticket_id, first_metric), policy.spec.metrics[first_metric].calendar)
            open_tickets.append(
                OpenTicket(
                    ticket_id, policy_id, policy.severity(rank).code, rank, opened_at, policy.calendar(calendar_id)
                )
            )
        except (SladeskError, IndexError):  # no metric, or a calendar or severity its policy no longer knows
            continue
    return age_rows(open_tickets, now)


def breaches_over_time(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    bucket: Bucket = "day",
    now: datetime,
    zone: ZoneInfo | None = None,
) -> BreachTimeline:
    """The breaches reached in each day or week of `period` (days in `zone`, UTC by default), by `now`."""
    require_staff(actor, "read breaches over time")
    now = _aware(now, "now")
    _check_period(period)
    start, end = period.start, min(period.end, now + timedelta(microseconds=1))
    due_passed = and_(
        SlaClock.due_at >= start,
        SlaClock.due_at < end,
        or_(SlaClock.stopped_at > SlaClock.due_at, and_(SlaClock.stopped_at.is_(None), SlaClock.due_at < now)),
    )
    earlier = and_(SlaClock.earlier_breach_at >= start, SlaClock.earlier_breach_at < end)
    # an earlier breach counts even when the severity since has no target for the metric
    judged = and_(SlaClock.target_seconds.is_not(None), SlaClock.started_at.is_not(None), due_passed)
    query = select(SlaClock).where(or_(judged, earlier)).order_by(SlaClock.ticket_id, SlaClock.metric)
    breaches = []
    for row in session.scalars(query):
        at = breach_instant(instants_of(row), now)
        if at is not None:
            breaches.append(ClockBreach(row.ticket_id, row.metric, at, row.excuse))
    try:
        return breach_timeline(breaches, period, bucket, zone)
    except ReportFieldError as error:
        raise InvalidFieldError(error.field, error.reason) from None


def time_split(session: Session, actor: Actor, period: Period, *, now: datetime) -> TimeSplit:
    """Logged minutes in `period` per organisation, customer work against internal work (for policies
    that split time, and internal work on no ticket)."""
    require_staff(actor, "read the time split")
    _aware(now, "now")
    _check_period(period)
    policies = _Policies(session)
    query = (
        select(
            TimeLog.ticket_id,
            TimeLog.worked_on,
            TimeLog.minutes,
            Ticket.policy_id,
            Ticket.policy_version,
            Ticket.severity_rank,
            Organisation.id,
            Organisation.name,
        )
        .outerjoin(Ticket, Ticket.id == TimeLog.ticket_id)
        .outerjoin(Organisation, Organisation.id == Ticket.organisation_id)
        .where(
            # a day counts by its midnight UTC: these bounds hold every day that may, the pure split decides
            TimeLog.worked_on >= period.start.astimezone(UTC).date(),
            TimeLog.worked_on <= period.end.astimezone(UTC).date(),
        )
    )
    entries = []
    for ticket_id, worked_on, minutes, policy_id, version, rank, organisation_id, organisation in session.execute(
        query
    ):
        if ticket_id is None:
            entries.append(LoggedTime(None, None, worked_on, minutes, internal=True))
            continue
        policy = policies.get(policy_id, version)
        internal = internal_severities(policy) if policy is not None else None
        if policy is None or internal is None:
            continue  # its policy does not split time
        try:
            code = policy.severity(rank).code
        except SladeskError:
            continue
        entries.append(LoggedTime(organisation_id, organisation, worked_on, minutes, internal=code in internal))
    return split_time(entries, period)


@dataclass
class _Policies:
    """The tickets' pinned policies, each compiled once per call; None for one the desk cannot read."""

    session: Session

    def __post_init__(self) -> None:
        self._known: dict[tuple[str, int], Policy | None] = {}

    def get(self, policy_id: str, version: int) -> Policy | None:
        key = (policy_id, version)
        if key not in self._known:
            try:
                self._known[key] = policy_at(self.session, policy_id, version)
            except SladeskError:
                self._known[key] = None
        return self._known[key]


def _stopped_clocks(session: Session, policies: _Policies, *, since: datetime, until: datetime) -> list[StoppedClock]:
    """The clocks stopped by their own event (not cancelled) in [since, until], as the pace reads them."""
    query = (
        select(
            SlaClock.metric,
            SlaClock.counted_microseconds,
            SlaClock.stopped_at,
            Ticket.policy_id,
            Ticket.policy_version,
            Ticket.severity_rank,
        )
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .where(
            SlaClock.stopped_at >= since,
            SlaClock.stopped_at <= until,
            SlaClock.stop_cancels.is_(False),
            SlaClock.target_seconds.is_not(None),
        )
    )
    stopped = []
    for metric, counted_microseconds, stopped_at, policy_id, version, rank in session.execute(query):
        policy = policies.get(policy_id, version)
        if policy is None or stopped_at is None:
            continue
        try:
            severity = policy.severity(rank).code
        except SladeskError:
            continue
        stopped.append(StoppedClock(policy_id, severity, metric, counted_microseconds // 1_000_000, stopped_at))
    return stopped


def _coverage(session: Session, wanted: set[tuple[str, str]], now: datetime) -> dict[tuple[str, str], Coverage]:
    """For each (policy, severity) of the running clocks, the on-call schedules the policy's current version
    names for it (as the overload notice reads them) and the first instant from `now` someone is on shift
    in one of them; absent when it names none the desk has."""
    schedules: dict[str, StoredSchedule | None] = {}
    escalations: dict[str, EscalationPolicyRow | None] = {}
    coverage = {}
    for policy_id, severity_code in sorted(wanted):
        try:
            slugs = _schedules_named(session, current_policy(session, policy_id), severity_code, escalations)
        except SladeskError:  # a policy or severity the desk no longer knows: no schedule to ask
            continue
        found = []
        for slug in slugs:
            if slug not in schedules:
                schedules[slug] = _schedule_or_none(session, slug)
            schedule = schedules[slug]
            if schedule is not None:
                found.append((slug, schedule))
        if not found:
            continue
        starts = [_on_shift_from(schedule, now) for _, schedule in found]
        known = [start for start in starts if start is not None]
        coverage[(policy_id, severity_code)] = Coverage(
            schedule=" or ".join(slug for slug, _ in found), on_shift_from=min(known) if known else None
        )
    return coverage


def _schedules_named(
    session: Session, policy: Policy, severity_code: str, escalations: dict[str, EscalationPolicyRow | None]
) -> list[str]:
    """The overload notice's schedule, and for a severity that pages on call the schedules its escalation
    policy pages, unless that policy also pages a person directly (then someone is always paged)."""
    slugs = []
    if policy.spec.overload_notice is not None:
        slugs.append(policy.spec.overload_notice.schedule)
    severity = policy.severity(severity_code)
    if severity.pages_oncall and policy.spec.paging is not None:
        slug = policy.spec.paging.escalation_policy
        if slug not in escalations:
            escalations[slug] = session.scalar(select(EscalationPolicyRow).where(EscalationPolicyRow.slug == slug))
        row = escalations[slug]
        if row is not None and not _pages_people(row.spec):
            slugs.extend(sorted(schedules_targeted(row.spec) - set(slugs)))
    return slugs


def _pages_people(spec: dict[str, Any]) -> bool:
    return any(target.get("user") is not None for step in spec.get("steps", []) for target in step.get("targets", []))


def _on_shift_from(schedule: StoredSchedule, now: datetime) -> datetime | None:
    if who_is_on_call(schedule, now):
        return now
    shift = next_on_call(schedule, now)
    return shift.start if shift is not None else None


def _schedule_or_none(session: Session, slug: str) -> StoredSchedule | None:
    try:
        return load_schedule(session, slug)
    except NotFoundError:
        return None


def _aware(instant: datetime, field: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidFieldError(field, f"{instant.isoformat()} has no UTC offset: give one, e.g. Z or -05:00")
    return instant


def _check_period(period: Period) -> None:
    _aware(period.start, "period.start")
    _aware(period.end, "period.end")
    if period.end <= period.start:
        raise InvalidFieldError("period", "its end must be after its start")
