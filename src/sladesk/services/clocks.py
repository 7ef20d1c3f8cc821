"""A ticket's clocks from the store: its typed history, its pinned policy, and its stored clock instants."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.errors import InputError
from sladesk.policy import Policy
from sladesk.services.errors import ConflictError
from sladesk.services.policies import policy_at
from sladesk.sla import ClockInstants, Event, OpenedEvent, ReplayReport, TicketFacts, event_of, replay
from sladesk.store.tables import SlaClock, Ticket, TicketEvent


def ticket_policy(session: Session, ticket: Ticket) -> Policy:
    """The rules the ticket was opened under: its policy at its pinned version."""
    return policy_at(session, ticket.policy_id, ticket.policy_version)


def load_events(session: Session, ticket_id: int) -> list[Event]:
    """The ticket's whole history, oldest first, as typed events."""
    rows = session.execute(
        select(TicketEvent.type, TicketEvent.at, TicketEvent.data)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.sequence)
    )
    return [event_of(kind, at, data) for kind, at, data in rows]


def facts_of(events: list[Event]) -> TicketFacts:
    """The ticket's own facts as its `opened` event recorded them (never its organisation's current ones)."""
    opened = events[0]
    assert isinstance(opened, OpenedEvent) and opened.severity is not None
    return TicketFacts(severity=opened.severity, tier=opened.tier, category=opened.category)


def replay_events(policy: Policy, events: list[Event], now: datetime) -> ReplayReport:
    """The replay of a stored history; a history the policy refuses is a conflict, not a server error."""
    try:
        return replay(policy, facts_of(events), events, now)
    except InputError as error:
        raise ConflictError(str(error)) from None


def replay_ticket(session: Session, ticket: Ticket, now: datetime) -> ReplayReport:
    """The SLA state of the ticket at `now`, recomputed from its events and pinned policy."""
    return replay_events(ticket_policy(session, ticket), load_events(session, ticket.id), now)


def clock_row(ticket: Ticket, clock: ClockInstants) -> SlaClock:
    return SlaClock(**clock_values(ticket, clock))


def clock_values(ticket: Ticket, clock: ClockInstants) -> dict[str, Any]:
    """The `sla_clocks` columns of one clock of `ticket` (which has its id), with the ticket's report labels
    as it holds them now."""
    return dict(
        ticket_id=ticket.id,
        metric=clock.metric_id,
        calendar=clock.calendar_id,
        target_seconds=clock.target_seconds,
        goal_seconds=clock.goal_seconds,
        started_at=clock.started_at,
        stopped_at=clock.stopped_at,
        stop_reason=clock.stop_reason,
        stop_cancels=clock.stop_cancels,
        due_at=clock.due,
        goal_at=clock.goal,
        warning_at=clock.warning_at,
        counted_microseconds=clock.counted // timedelta(microseconds=1),
        counting_from=clock.counting_from,
        paused_since=clock.paused_since,
        excuse=clock.excuse,
        cycle=clock.cycle,
        earlier_breach_at=clock.earlier_breach_at,
        earlier_breach_severity=clock.earlier_breach_severity,
        **clock_labels(ticket),
    )


def clock_labels(ticket: Ticket) -> dict[str, Any]:
    """The ticket's labels each of its clock rows carries, for reports that count clocks alone."""
    return dict(
        opened_at=ticket.opened_at,
        policy_id=ticket.policy_id,
        policy_version=ticket.policy_version,
        severity_rank=ticket.severity_rank,
        tier=ticket.tier,
        organisation_id=ticket.organisation_id,
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
    )


def instants_of(row: SlaClock) -> ClockInstants:
    """A stored clock row as the instants `sladesk.sla.read_clock` reads."""
    return ClockInstants(
        metric_id=row.metric,
        calendar_id=row.calendar,
        target_seconds=row.target_seconds,
        goal_seconds=row.goal_seconds,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        stop_reason=row.stop_reason,
        stop_cancels=row.stop_cancels,
        due=row.due_at,
        goal=row.goal_at,
        warning_at=row.warning_at,
        counted=timedelta(microseconds=row.counted_microseconds),
        counting_from=row.counting_from,
        paused_since=row.paused_since,
        excuse=row.excuse,
        cycle=row.cycle,
        earlier_breach_at=row.earlier_breach_at,
        earlier_breach_severity=row.earlier_breach_severity,
    )
