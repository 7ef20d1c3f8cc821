"""The one write seam: every change to a ticket is recorded here, inside the caller's unit of work.

`record_change` appends the typed event, replays the history with it, and writes what the event fixed:
the clock instants, the ticket's derived columns (status, severity, tier, category, next due and next
timer instants) and its version. Opening, changing, importing in bulk and the demo all go through it,
so nothing else writes those columns and the stored instants never drift from the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, insert, inspect, select
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.clocks import clock_row, clock_values, load_events, replay_events, ticket_policy
from sladesk.services.notifications import after_event
from sladesk.sla import Event, OpenedEvent, ReplayReport
from sladesk.sla.queue import next_pending_due
from sladesk.sla.timers import PlannedTimer, plan_timers
from sladesk.store.tables import SlaClock, Ticket, TicketEvent, Timer
from sladesk.store.wakeup import timer_written


@dataclass(frozen=True)
class Recorded:
    """The event row appended and the ticket's clock rows as the event left them."""

    event: TicketEvent
    clocks: list[SlaClock]


def record_change(
    session: Session,
    ticket: Ticket,
    event: Event,
    *,
    actor_id: int | None,
    prior: Sequence[Event] | None = None,
    policy: Policy | None = None,
) -> Recorded:
    """Append `event` to the ticket's history and bring its clocks, timers and derived columns in step.

    The ticket's unfired timers are replaced by the plan for the new history, so a timer that the event
    made stale (a reply stopped the clock, the severity changed) is gone before a worker can claim it.
    `prior` is the history before `event` when the caller has it (a new ticket has none); otherwise it
    is read. A history the policy refuses raises ConflictError and the caller's transaction rolls back.
    """
    policy = policy or ticket_policy(session, ticket)
    if prior is None:
        prior = load_events(session, ticket.id) if not isinstance(event, OpenedEvent) else []
    history = [*prior, event]
    report = replay_events(policy, history, event.at)
    timers = plan_timers(report, history)
    if prior:
        _bump_version(ticket, event)
    apply_report(ticket, report, timers)
    if not inspect(ticket).has_identity:  # a new ticket: its row first, for the id its event and clocks refer to
        session.add(ticket)
        session.flush()
    else:
        session.execute(delete(SlaClock).where(SlaClock.ticket_id == ticket.id))
        session.execute(delete(Timer).where(Timer.ticket_id == ticket.id, Timer.fired_at.is_(None)))
    row = TicketEvent(
        ticket_id=ticket.id,
        sequence=len(history),
        at=event.at,
        type=event.type,
        actor_id=actor_id,
        data=event.data(),
    )
    clocks = [clock_row(ticket.id, metric.instants) for metric in report.metrics.values()]
    session.add(row)
    session.add_all(clocks)
    session.add_all(Timer(**values) for values in timer_values(ticket, timers, event.at))
    if timers:
        timer_written(session, timers[0].at, event.at)
    session.flush()  # the event's id, for what the caller records beside it (a comment, an attachment)
    after_event(session, ticket, row, event, policy)
    return Recorded(row, clocks)


def record_openings(
    session: Session, openings: Sequence[tuple[Ticket, OpenedEvent, Policy]], *, actor_id: int | None
) -> list[int]:
    """The seam for many new tickets at once (an import, a load test): each replayed as `record_change`
    would, then written with one multi-row statement per table instead of three per ticket. An import
    sends no messages: subscribers hear of tickets opened one at a time.

    Returns the new tickets' ids, in the order given.
    """
    if not openings:
        return []
    reports = []
    plans = []
    for ticket, event, policy in openings:
        report = replay_events(policy, [event], event.at)
        plan = plan_timers(report, [event])
        apply_report(ticket, report, plan)
        reports.append(report)
        plans.append(plan)
    columns = [c.key for c in Ticket.__table__.columns if c.key != "id"]
    ids = list(
        session.scalars(
            insert(Ticket).returning(Ticket.id, sort_by_parameter_order=True),
            [{column: getattr(ticket, column) for column in columns} for ticket, _, _ in openings],
        )
    )
    session.execute(
        insert(TicketEvent),
        [
            {
                "ticket_id": ticket_id,
                "sequence": 1,
                "at": event.at,
                "type": event.type,
                "actor_id": actor_id,
                "data": event.data(),
            }
            for ticket_id, (_, event, _) in zip(ids, openings, strict=True)
        ],
    )
    session.execute(
        insert(SlaClock),
        [
            clock_values(ticket_id, metric.instants)
            for ticket_id, report in zip(ids, reports, strict=True)
            for metric in report.metrics.values()
        ],
    )
    timer_rows = []
    for ticket_id, (ticket, event, _), plan in zip(ids, openings, plans, strict=True):
        ticket.id = ticket_id
        timer_rows += timer_values(ticket, plan, event.at)
        if plan:
            timer_written(session, plan[0].at, event.at)
    if timer_rows:
        session.execute(insert(Timer), timer_rows)
    return ids


def apply_report(ticket: Ticket, report: ReplayReport, timers: Sequence[PlannedTimer]) -> None:
    """Copy what lists, filters and the queue read (status, severity, tier, next instants) onto the ticket."""
    history = report.history
    ticket.status = history.status
    ticket.is_open = not report.policy.is_finished(history.status)
    ticket.severity_rank = report.severity.rank
    ticket.tier = history.tier
    ticket.tier_rank = report.policy.tier_rank(history.tier)
    ticket.category = history.category
    ticket.next_due_at = next_pending_due(report)
    ticket.next_timer_at = min((timer.at for timer in timers), default=None)


def timer_values(ticket: Ticket, timers: Sequence[PlannedTimer], now: datetime) -> list[dict[str, object]]:
    """The timer rows for `ticket`'s plan, stamped with the ticket version they were planned at."""
    return [
        {
            "ticket_id": ticket.id,
            "kind": timer.kind,
            "metric": timer.subject,
            "due_at": timer.at,
            "ticket_version": ticket.version,
            "created_at": now,
        }
        for timer in timers
    ]


def _bump_version(ticket: Ticket, event: Event) -> None:
    """One more version for the event; the customers' version and change time move only if they see it."""
    ticket.version += 1
    ticket.updated_at = event.at
    if event.public:
        ticket.public_version += 1
        ticket.public_updated_at = event.at


def rebuild_clocks(session: Session) -> int:
    """Recompute the clocks of every ticket that has none stored (after a migration emptied them).

    Each ticket is replayed as of its last event, exactly as `record_change` wrote it then; no event is
    added. Returns how many tickets were rebuilt.
    """
    missing = select(Ticket).where(~exists().where(SlaClock.ticket_id == Ticket.id)).order_by(Ticket.id)
    rebuilt = 0
    for ticket in session.scalars(missing.with_for_update()):
        events = load_events(session, ticket.id)
        report = replay_events(ticket_policy(session, ticket), events, events[-1].at)
        timers = plan_timers(report, events)
        apply_report(ticket, report, timers)
        session.add_all(clock_row(ticket.id, metric.instants) for metric in report.metrics.values())
        session.execute(delete(Timer).where(Timer.ticket_id == ticket.id, Timer.fired_at.is_(None)))
        session.add_all(Timer(**values) for values in timer_values(ticket, timers, events[-1].at))
        rebuilt += 1
    return rebuilt
