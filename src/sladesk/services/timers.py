"""Firing due timers: a worker claims them, re-checks each ticket with the engine, and acts through the seam.

`fire_due_timers` runs in the caller's unit of work, a batch at a time. On PostgreSQL it claims rows with
`FOR UPDATE SKIP LOCKED` and locks their tickets the same way in one statement, so any number of workers
share the load and never wait on each other; a ticket that a request is changing at that moment is skipped
and fired on the next pass. The claimed timers are marked fired where they are still unfired (the fence)
before anything is recorded, and each ticket's history is read once and replayed: its due timers are
re-checked against the plan, acted on one after the other in memory (each event replans the rest), and
the pass's events, clocks, timers and messages are written by `record_changes` with one statement per
table. An instant fires once, however many workers run and whatever is killed (an uncommitted pass
leaves its rows unfired for the next worker).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sladesk.policy import Policy
from sladesk.services.clocks import replay_events, ticket_policy
from sladesk.services.incidents import page, start_incident
from sladesk.services.notifications import label, people, recipients
from sladesk.services.record import Change, prepare_change, record_changes
from sladesk.sla import Event, ReplayReport, event_of
from sladesk.sla.events import CloseNoticeEvent, CommsEvent, NotifiedEvent, SlaEvent, StatusEvent
from sladesk.sla.timers import PlannedTimer, TimerKey, auto_close_plan, plan_timers
from sladesk.store.tables import Ticket, TicketEvent, Timer, User
from sladesk.store.wakeup import IN_WORKER

MAX_FIRINGS_PER_TICKET = 20  # a plan holds far fewer: more would mean a plan that never settles


@dataclass(frozen=True)
class FiredTimer:
    """A timer a pass fired: a claimed row, or one a firing of the same pass planned already due."""

    id: int | None  # None only if its row was not written
    ticket_id: int
    kind: str
    metric: str | None
    due_at: datetime


@dataclass
class FiredTimers:
    """What one pass did: timers acted on, found stale (skipped), and left for a later pass (ticket busy)."""

    acted: list[FiredTimer] = field(default_factory=list)
    skipped: list[FiredTimer] = field(default_factory=list)
    busy: int = 0

    @property
    def claimed(self) -> int:
        return len(self.acted) + len(self.skipped)


@dataclass
class _Due:
    """A due timer of a ticket in the pass: its claimed row, or a timer its last change planned."""

    kind: str
    metric: str | None
    due_at: datetime
    ticket_version: int
    row: Timer | None = None
    planned_by: Change | None = None

    @property
    def key(self) -> TimerKey:
        return (self.kind, self.metric, self.due_at)


def fire_due_timers(
    session: Session, now: datetime, *, limit: int = 200, ticket_ids: Sequence[int] | None = None
) -> FiredTimers:
    """Act on up to `limit` timers due by `now`, earliest first, all in the caller's unit of work (only those of
    `ticket_ids` when given: the demo acts out a ticket's story as the worker would have)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    session.info[IN_WORKER] = True  # timers this pass writes are for this pass: no need to wake the others
    statement = select(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= now).order_by(Timer.due_at, Timer.id)
    if ticket_ids is not None:
        statement = statement.where(Timer.ticket_id.in_(ticket_ids))
    statement = statement.limit(limit)
    if postgres:
        statement = statement.with_for_update(skip_locked=True)
    result = FiredTimers()
    claimed = list(session.scalars(statement))
    if not claimed:
        return result
    wanted = list(dict.fromkeys(timer.ticket_id for timer in claimed))
    ticket_query = select(Ticket).where(Ticket.id.in_(wanted)).order_by(Ticket.id)
    if postgres:
        ticket_query = ticket_query.with_for_update(skip_locked=True)
    tickets = {ticket.id: ticket for ticket in session.scalars(ticket_query)}
    result.busy = len(wanted) - len(tickets)  # held by requests: their changes replace or keep these timers
    fenced = _fence(session, [timer for timer in claimed if timer.ticket_id in tickets], now)
    histories = _histories(session, list(tickets))
    changes: list[Change] = []
    acted_rows: list[int] = []
    replaced_rows: list[int] = []
    in_memory: list[tuple[Change, _Due, bool]] = []
    for ticket_id in wanted:
        ticket = tickets.get(ticket_id)
        rows = fenced.get(ticket_id)
        if ticket is None or not rows:
            continue
        due = [_Due(row.kind, row.metric, row.due_at, row.ticket_version, row=row) for row in rows]
        fired = _fire_ticket(session, ticket, due, histories[ticket_id], now)
        changes += fired.changes
        for timer, acted in fired.outcomes:
            if timer.row is not None:
                if acted:
                    acted_rows.append(timer.row.id)
                    set_committed_value(timer.row, "outcome", "acted")
                (result.acted if acted else result.skipped).append(_fired(timer.row.id, ticket_id, timer))
            elif timer.planned_by is not None:
                timer.planned_by.fired[timer.key] = (now, "acted" if acted else "skipped")
                in_memory.append((timer.planned_by, timer, acted))
        replaced_rows += [timer.row.id for timer in fired.replaced if timer.row is not None]
    if acted_rows:
        session.execute(
            update(Timer)
            .where(Timer.id.in_(acted_rows))
            .values(outcome="acted")
            .execution_options(synchronize_session=False)
        )
    if replaced_rows:  # claimed, then replanned by an earlier firing of their ticket: as a change replaces them
        session.execute(delete(Timer).where(Timer.id.in_(replaced_rows)).execution_options(synchronize_session=False))
    record_changes(session, changes)
    for change, timer, acted in in_memory:
        written = _fired(change.fired_ids.get(timer.key), change.ticket.id, timer)
        (result.acted if acted else result.skipped).append(written)
    return result


def _fired(timer_id: int | None, ticket_id: int, timer: _Due) -> FiredTimer:
    return FiredTimer(timer_id, ticket_id, timer.kind, timer.metric, timer.due_at)


def _fence(session: Session, timers: Sequence[Timer], now: datetime) -> dict[int, list[Timer]]:
    """Mark the claimed timers fired (skipped until acted on) where they still are not; those marked, by ticket.

    A timer someone else fired first is left out.
    """
    if not timers:
        return {}
    marked = set(
        session.scalars(
            update(Timer)
            .where(Timer.id.in_([timer.id for timer in timers]), Timer.fired_at.is_(None))
            .values(fired_at=now, outcome="skipped")
            .returning(Timer.id)
            .execution_options(synchronize_session=False)
        )
    )
    by_ticket: dict[int, list[Timer]] = defaultdict(list)
    for timer in timers:
        if timer.id in marked:
            set_committed_value(timer, "fired_at", now)  # in step with the row, without a second UPDATE
            set_committed_value(timer, "outcome", "skipped")
            by_ticket[timer.ticket_id].append(timer)
    return by_ticket


def _histories(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[Event]]:
    """The whole history of each ticket, oldest first, as typed events, in one query."""
    histories: dict[int, list[Event]] = {ticket_id: [] for ticket_id in ticket_ids}
    rows = session.execute(
        select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.at, TicketEvent.data)
        .where(TicketEvent.ticket_id.in_(ticket_ids))
        .order_by(TicketEvent.ticket_id, TicketEvent.sequence)
    )
    for ticket_id, kind, at, data in rows:
        histories[ticket_id].append(event_of(kind, at, data))
    return histories


@dataclass
class _TicketFirings:
    changes: list[Change] = field(default_factory=list)
    outcomes: list[tuple[_Due, bool]] = field(default_factory=list)  # each timer re-checked: acted or not
    replaced: list[_Due] = field(default_factory=list)  # claimed, then replanned by a firing before their turn


def _fire_ticket(
    session: Session, ticket: Ticket, due: list[_Due], events: list[Event], now: datetime
) -> _TicketFirings:
    """Fire the ticket's due timers one after the other: each firing replans the rest, in memory."""
    policy = ticket_policy(session, ticket)
    fired = _TicketFirings()
    report: ReplayReport | None = None
    current: dict[TimerKey, PlannedTimer] = {}
    for _ in range(MAX_FIRINGS_PER_TICKET):
        if not due:
            break
        timer = min(due, key=lambda t: (t.due_at, t.row.id if t.row is not None else 0))
        due.remove(timer)
        at = max(now, events[-1].at)
        if report is None or report.now != at:
            report = replay_events(policy, events, at)
            current = {planned.key: planned for planned in plan_timers(report, events)}
        acted = _recheck(ticket, timer, report, current, events, at, policy, session)
        if acted is None:
            fired.outcomes.append((timer, False))
            continue
        fired.outcomes.append((timer, True))
        event, told = acted
        change = prepare_change(ticket, event, actor_id=None, prior=events, policy=policy, told=told)
        fired.changes.append(change)
        events = change.history
        report = change.report  # the replay at the event's instant: the next re-check's, as `at` is the same
        current = {planned.key: planned for planned in change.timers}
        fired.replaced += [t for t in due if t.row is not None]
        due = [
            _Due(planned.kind, planned.subject, planned.at, change.version, planned_by=change)
            for planned in change.timers
            if planned.at <= now
        ]
    fired.replaced += [t for t in due if t.row is not None]  # left over after MAX_FIRINGS_PER_TICKET
    return fired


def _recheck(
    ticket: Ticket,
    timer: _Due,
    report: ReplayReport,
    current: dict[TimerKey, PlannedTimer],
    events: Sequence[Event],
    at: datetime,
    policy: Policy,
    session: Session,
) -> tuple[Event, list[User]] | None:
    """The event acting on `timer` records and the people it tells, or None if it no longer applies."""
    planned = current.get(timer.key)
    if planned is None or timer.ticket_version != ticket.version:
        return None
    if timer.kind == "warning":
        due = report.metrics[planned.subject or ""].due if planned.subject in report.metrics else None
        if due is not None and due <= at:
            return None  # fired so late that the clock is already due: the breach says it
    return _action(session, report, ticket, planned, events, at)


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
    if timer.kind == "incident":
        return start_incident(session, policy, at, timer.at), []
    if timer.kind == "page":
        return page(session, ticket, events, timer, at)
    plan = auto_close_plan(policy, report.history)
    assert plan is not None  # the timer is in the current plan, so the rule applies
    if timer.kind == "close_notice":
        told = people(session, ticket, ["customer"])
        return CloseNoticeEvent(at=at, close_at=plan.close_at, notified=tuple(label(u) for u in told)), told
    reason = f"closed automatically after {plan.rule.after} in {', '.join(plan.rule.from_statuses)}"
    if plan.rule.requires == "believed_resolved":
        reason += " since support noted it believes the issue is resolved, with no customer update"
    return StatusEvent(at=at, to=plan.rule.to, reason=reason), []
