"""The one write seam: every change to a ticket is recorded here, inside the caller's unit of work.

`record_change` appends the typed event, replays the history with it, and writes what the event fixed:
the clock instants, the ticket's derived columns (status, severity, tier, category, next due and next
timer instants) and its version. Opening, changing, importing in bulk and the demo all go through it,
so nothing else writes those columns and the stored instants never drift from the history.
`record_changes` is the same seam for many changes at once (a worker's pass of timers): each is prepared in
memory (`prepare_change`) and all are written with one statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, exists, insert, inspect, select
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.clocks import clock_row, clock_values, load_events, replay_events, ticket_policy
from sladesk.services.notifications import event_messages, people_messages
from sladesk.services.page_messages import incident_messages, page_messages
from sladesk.sla import Event, OpenedEvent, ReplayReport
from sladesk.sla.events import IncidentEvent, PageEvent, StatusEvent
from sladesk.sla.incidents import incident_of
from sladesk.sla.queue import next_pending_due
from sladesk.sla.timers import PlannedTimer, TimerKey, plan_timers
from sladesk.store.tables import Base, OutboxMessage, SlaClock, Ticket, TicketEvent, Timer, User
from sladesk.store.wakeup import timer_written

CLOCK_COLUMNS = [column.key for column in SlaClock.__table__.columns]


@dataclass(frozen=True)
class Recorded:
    """The event row appended and the ticket's clock rows as the event left them."""

    event: TicketEvent
    clocks: list[SlaClock]


@dataclass
class Change:
    """One event for one ticket, replayed in memory with the history before it: what `record_changes` writes.

    `told` are the people the event is about to tell by email (a timer's recipients), besides the messages
    every event causes. `fired` marks timers of this change's plan that the same unit of work already acted
    on (a worker firing a replanned timer due at once): they are written fired, with their outcome.
    """

    ticket: Ticket
    event: Event
    actor_id: int | None
    policy: Policy
    history: list[Event]
    report: ReplayReport
    timers: list[PlannedTimer]
    version: int
    told: Sequence[User] = ()
    fired: dict[TimerKey, tuple[datetime, str]] = field(default_factory=dict)
    fired_ids: dict[TimerKey, int] = field(default_factory=dict)  # the rows of `fired`, once written


def prepare_change(
    ticket: Ticket,
    event: Event,
    *,
    actor_id: int | None,
    prior: Sequence[Event],
    policy: Policy,
    told: Sequence[User] = (),
) -> Change:
    """Replay `prior` and `event` and bring the ticket's derived columns and version in step, in memory only.

    A history the policy refuses raises ConflictError before anything is written.
    """
    history = [*prior, event]
    report = replay_events(policy, history, event.at)
    timers = plan_timers(report, history)
    if prior:
        bump_version(ticket, event)
    apply_report(ticket, report, timers)
    return Change(ticket, event, actor_id, policy, history, report, timers, ticket.version, told)


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
    change = prepare_change(ticket, event, actor_id=actor_id, prior=prior, policy=policy)
    return record_changes(session, [change])[0]


def record_changes(session: Session, changes: Sequence[Change]) -> list[Recorded]:
    """Write prepared changes, of one ticket or many, with one statement per table (`record_change` for many).

    Changes to one ticket come in the order they happened, each prepared on the history the one before
    it left. For every ticket: its events appended, its clocks and unfired timers replaced by what its
    last change fixed (a plan an earlier change of the same batch made is replaced as `record_change`
    would replace it, except its timers marked `fired`), and each event's messages queued. Returns one
    `Recorded` per change, in order.
    """
    if not changes:
        return []
    last: dict[int, Change] = {}
    new = [change.ticket for change in changes if not inspect(change.ticket).has_identity]
    if new:  # new tickets: their rows first, for the ids their events, clocks and timers refer to
        session.add_all(new)
        session.flush()
    existing = list({c.ticket.id for c in changes if c.ticket not in new})
    if existing:
        session.execute(delete(SlaClock).where(SlaClock.ticket_id.in_(existing)))
        session.execute(delete(Timer).where(Timer.ticket_id.in_(existing), Timer.fired_at.is_(None)))
    for change in changes:
        last[change.ticket.id] = change
    rows = [
        TicketEvent(
            ticket_id=change.ticket.id,
            sequence=len(change.history),
            at=change.event.at,
            type=change.event.type,
            actor_id=change.actor_id,
            data=change.event.data(),
        )
        for change in changes
    ]
    session.add_all(rows)
    session.flush()  # the events' ids, for their messages and what callers record beside them
    recorded = []
    clock_rows: list[dict[str, Any]] = []
    timer_rows: list[dict[str, Any]] = []
    fired_rows: list[tuple[int, Change, TimerKey]] = []  # where in `timer_rows` each timer written fired is
    messages: list[dict[str, Any]] = []
    for change, row in zip(changes, rows, strict=True):
        ticket = change.ticket
        final = last[ticket.id] is change
        clocks = [clock_row(ticket, metric.instants) for metric in change.report.metrics.values()]
        if final:
            clock_rows += [{column: getattr(clock, column) for column in CLOCK_COLUMNS} for clock in clocks]
        kept = change.timers if final else [t for t in change.timers if t.key in change.fired]
        fired_rows += [
            (len(timer_rows) + index, change, t.key) for index, t in enumerate(kept) if t.key in change.fired
        ]
        timer_rows += [
            {**values, "fired_at": fired[0] if fired else None, "outcome": fired[1] if fired else None}
            for timer, values in zip(kept, timer_values(ticket, kept, change.event.at, change.version), strict=True)
            for fired in [change.fired.get(timer.key)]
        ]
        if final and change.timers:
            timer_written(session, change.timers[0].at, change.event.at)
        if isinstance(change.event, PageEvent):
            messages += page_messages(session, ticket, row, change.event, change.told, change.policy)
        else:
            messages += people_messages(ticket, row, change.told, change.policy)
        if isinstance(change.event, IncidentEvent) or _ends_incident(change):
            messages += incident_messages(session, ticket, row, change.event)
        messages += event_messages(session, ticket, row, change.event, change.policy)
        recorded.append(Recorded(row, clocks))
    # Core INSERTs of the tables: the ORM's bulk INSERT would split the rows at every change of which columns
    # are NULL, one statement per ticket here, where these send one multi-row statement each.
    if clock_rows:
        session.execute(insert(_table(SlaClock)), clock_rows)
    if timer_rows and fired_rows:
        timers = _table(Timer)
        ids = list(session.scalars(insert(timers).returning(timers.c.id, sort_by_parameter_order=True), timer_rows))
        for index, change, key in fired_rows:
            change.fired_ids[key] = ids[index]
    elif timer_rows:
        session.execute(insert(_table(Timer)), timer_rows)
    if messages:
        session.execute(insert(_table(OutboxMessage)), messages)
    return recorded


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
    for ticket_id, (ticket, _, _) in zip(ids, openings, strict=True):
        ticket.id = ticket_id
    session.execute(
        insert(_table(SlaClock)),
        [
            clock_values(ticket, metric.instants)
            for (ticket, _, _), report in zip(openings, reports, strict=True)
            for metric in report.metrics.values()
        ],
    )
    timer_rows = []
    for (ticket, event, _), plan in zip(openings, plans, strict=True):
        timer_rows += timer_values(ticket, plan, event.at)
        if plan:
            timer_written(session, plan[0].at, event.at)
    if timer_rows:
        session.execute(insert(_table(Timer)), timer_rows)
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
    ticket.path = history.path
    ticket.awaiting_triage = history.awaiting_triage
    ticket.next_due_at = next_pending_due(report)
    ticket.next_timer_at = min((timer.at for timer in timers), default=None)


def timer_values(
    ticket: Ticket, timers: Sequence[PlannedTimer], now: datetime, version: int | None = None
) -> list[dict[str, object]]:
    """The timer rows for `ticket`'s plan, stamped with the ticket version they were planned at (default: now's)."""
    return [
        {
            "ticket_id": ticket.id,
            "kind": timer.kind,
            "metric": timer.subject,
            "due_at": timer.at,
            "ticket_version": ticket.version if version is None else version,
            "created_at": now,
        }
        for timer in timers
    ]


def bump_version(ticket: Ticket, event: Event) -> None:
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
        session.add_all(clock_row(ticket, metric.instants) for metric in report.metrics.values())
        session.execute(delete(Timer).where(Timer.ticket_id == ticket.id, Timer.fired_at.is_(None)))
        session.add_all(Timer(**values) for values in timer_values(ticket, timers, events[-1].at))
        rebuilt += 1
    return rebuilt


def _table(model: type[Base]) -> Table:
    """The model's table, for Core INSERTs that send many rows in one statement."""
    return cast(Table, model.__table__)


def _ends_incident(change: Change) -> bool:
    """The change finished the ticket (resolved or closed it) while its on-call incident was open: that ends it."""
    if not isinstance(change.event, StatusEvent):
        return False
    spans = change.report.history.status_spans
    finished = change.policy.is_finished
    if len(spans) < 2 or not finished(spans[-1].status) or finished(spans[-2].status):
        return False
    incident = incident_of(change.history)
    return incident is not None and incident.resolved_at is None
