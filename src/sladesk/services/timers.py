"""Firing due timers: a worker claims them, re-checks each ticket with the engine, and acts through the seam.

`fire_due_timers` runs in the caller's unit of work. On PostgreSQL it claims rows with `FOR UPDATE SKIP
LOCKED`, so any number of workers share the load and never wait on each other; a ticket that a request is
changing at that moment is skipped and fired on the next pass. Each timer is marked fired only where it is
still unfired (the fence), before its event is recorded, and the record replaces the ticket's other unfired
timers: an instant fires once, however many workers run and whatever is killed (an uncommitted firing
leaves the row unfired for the next worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sladesk.services.clocks import load_events, replay_events, ticket_policy
from sladesk.services.notifications import label, notify_people, people, recipients
from sladesk.services.record import record_change
from sladesk.sla import Event, ReplayReport
from sladesk.sla.events import CloseNoticeEvent, CommsEvent, NotifiedEvent, SlaEvent, StatusEvent
from sladesk.sla.timers import PlannedTimer, auto_close_plan, plan_timers
from sladesk.store.tables import Ticket, Timer, User
from sladesk.store.wakeup import IN_WORKER

MAX_FIRINGS_PER_TICKET = 20  # a plan holds far fewer: more would mean a plan that never settles


@dataclass
class FiredTimers:
    """What one pass did: timers acted on, found stale (skipped), and left for a later pass (ticket busy)."""

    acted: list[Timer] = field(default_factory=list)
    skipped: list[Timer] = field(default_factory=list)
    busy: int = 0

    @property
    def claimed(self) -> int:
        return len(self.acted) + len(self.skipped)


def fire_due_timers(session: Session, now: datetime, *, limit: int = 200) -> FiredTimers:
    """Act on up to `limit` timers due by `now`, earliest first, each in a savepoint of the caller's unit of work."""
    postgres = session.get_bind().dialect.name == "postgresql"
    session.info[IN_WORKER] = True  # timers this pass writes are for this pass: no need to wake the others
    statement = select(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= now).order_by(Timer.due_at, Timer.id)
    statement = statement.limit(limit)
    if postgres:
        statement = statement.with_for_update(skip_locked=True)
    result = FiredTimers()
    tickets: dict[int, None] = {}
    for timer in session.scalars(statement):
        tickets.setdefault(timer.ticket_id)
    for ticket_id in tickets:
        ticket_query = select(Ticket).where(Ticket.id == ticket_id)
        if postgres:
            ticket_query = ticket_query.with_for_update(skip_locked=True)
        ticket = session.scalar(ticket_query)
        if ticket is None:
            result.busy += 1  # a request holds the ticket: its change replaces or keeps these timers
            continue
        _fire_ticket(session, ticket, now, result)
    return result


def _fire_ticket(session: Session, ticket: Ticket, now: datetime, result: FiredTimers) -> None:
    """Fire the ticket's due timers one after the other: each firing replans the rest, so read them afresh."""
    for _ in range(MAX_FIRINGS_PER_TICKET):
        timer = session.scalar(
            select(Timer)
            .where(Timer.ticket_id == ticket.id, Timer.fired_at.is_(None), Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(1)
        )
        if timer is None:
            return
        with session.begin_nested():
            acted = fire_timer(session, ticket, timer, now)
        if acted is None:
            return
        (result.acted if acted else result.skipped).append(timer)


def fire_timer(session: Session, ticket: Ticket, timer: Timer, now: datetime) -> bool | None:
    """Re-check `timer` against the ticket's history at `now` and act.

    True: acted; False: it no longer applies (marked skipped); None: it is gone or fired already.
    """
    policy = ticket_policy(session, ticket)
    events = load_events(session, ticket.id)
    at = max(now, events[-1].at)
    report = replay_events(policy, events, at)
    current = {planned.key: planned for planned in plan_timers(report, events)}
    planned = current.get((timer.kind, timer.metric, timer.due_at))
    stale = planned is None or timer.ticket_version != ticket.version
    if not stale and timer.kind == "warning" and planned is not None:
        due = report.metrics[planned.subject or ""].due if planned.subject in report.metrics else None
        stale = due is not None and due <= at  # fired so late that the clock is already due: the breach says it
    if not _fence(session, timer, now, "skipped" if stale else "acted"):
        return None  # another worker fired it first, or a change replaced it
    if stale or planned is None:
        return False
    event, told = _action(session, report, ticket, planned, events, at)
    recorded = record_change(session, ticket, event, actor_id=None, prior=events, policy=policy)
    notify_people(session, ticket, recorded.event, told, policy)
    return True


def _fence(session: Session, timer: Timer, now: datetime, outcome: str) -> bool:
    """Mark the timer fired if it still is not; False if someone else did it first."""
    marked = session.execute(
        update(Timer)
        .where(Timer.id == timer.id, Timer.fired_at.is_(None))
        .values(fired_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    if not marked.rowcount:  # type: ignore[attr-defined]
        return False
    set_committed_value(timer, "fired_at", now)  # in step with the row, without a second UPDATE
    set_committed_value(timer, "outcome", outcome)
    return True


def _action(
    session: Session, report: ReplayReport, ticket: Ticket, timer: PlannedTimer, events: Sequence[Event], at: datetime
) -> tuple[Event, list[User]]:
    """The event that records what the timer's moment means, and the people it tells (`report`: the ticket at `at`)."""
    policy = report.policy
    if timer.kind in ("warning", "goal_missed", "breached"):
        told = recipients(session, policy, ticket, timer.kind, metric=timer.subject)  # type: ignore[arg-type]
        return (
            SlaEvent(
                at=at,
                moment=timer.kind,
                metric=timer.subject or "",
                cycle=timer.cycle,
                reached_at=timer.at,
                notified=tuple(label(user) for user in told),
            ),
            told,
        )
    if timer.kind == "notify":
        moment, metric, index = (timer.subject or "::").split(":")
        rule = policy.spec.notifications[int(index)]
        told = people(session, ticket, rule.notify)
        reached = next(
            e.reached_at
            for e in reversed(events)
            if isinstance(e, SlaEvent) and (e.moment, e.metric, e.cycle) == (moment, metric, timer.cycle)
        )
        return (
            NotifiedEvent(
                at=at,
                moment=moment,
                metric=metric or None,
                rule=int(index),
                reached_at=reached,
                due_at=timer.at,
                notified=tuple(label(user) for user in told),
            ),
            told,
        )
    if timer.kind == "comms_overdue":
        told = recipients(session, policy, ticket, "comms_overdue", metric=None)
        return (
            CommsEvent(
                at=at,
                action="overdue",
                channel=timer.subject,
                due_at=timer.at,
                notified=tuple(label(user) for user in told),
            ),
            told,
        )
    plan = auto_close_plan(policy, report.history)
    assert plan is not None  # the timer is in the current plan, so the rule applies
    if timer.kind == "close_notice":
        told = people(session, ticket, ["customer"])
        return CloseNoticeEvent(at=at, close_at=plan.close_at, notified=tuple(label(u) for u in told)), told
    reason = f"closed automatically after {plan.rule.after} in {', '.join(plan.rule.from_statuses)}"
    if plan.rule.requires == "believed_resolved":
        reason += " since support noted it believes the issue is resolved, with no customer update"
    return StatusEvent(at=at, to=plan.rule.to, reason=reason), []
