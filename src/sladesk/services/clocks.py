"""Keep a ticket's materialised SLA clocks in step with its events, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.policies import policy_at
from sladesk.sla import Event, ReplayReport, TicketFacts, replay
from sladesk.sla.events import EVENT_TYPES
from sladesk.sla.queue import next_pending_due
from sladesk.store.tables import Organisation, SlaClock, Ticket, TicketEvent


def ticket_policy(session: Session, ticket: Ticket) -> Policy:
    """The rules the ticket was opened under: its policy at its pinned version."""
    return policy_at(session, ticket.policy_id, ticket.policy_version)


def sla_events(events: list[TicketEvent]) -> list[Event]:
    """The history as the engine reads it; events the clocks do not care about are left out."""
    translated = []
    for event in events:
        if event.type not in EVENT_TYPES:
            continue
        data: dict[str, Any] = event.data
        translated.append(
            Event(
                at=event.at,
                type=event.type,  # type: ignore[arg-type]
                by=data.get("by"),
                public=bool(data.get("public", True)),
                to=data.get("to"),
                reason=data.get("reason"),
                set=bool(data.get("set", True)),
            )
        )
    return translated


def replay_ticket(session: Session, ticket: Ticket, now: datetime) -> ReplayReport:
    """The SLA state of the ticket at `now`, recomputed from its events and policy."""
    events = list(
        session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.sequence))
    )
    organisation = session.get_one(Organisation, ticket.organisation_id)
    opened = events[0].data
    facts = TicketFacts(severity=int(opened["severity"]), tier=organisation.tier, category=ticket.category)
    return replay(ticket_policy(session, ticket), facts, sla_events(events), now)


def refresh_clocks(session: Session, ticket: Ticket, now: datetime) -> ReplayReport:
    """Rewrite the ticket's clock rows, status and next due instant from a fresh replay."""
    report = replay_ticket(session, ticket, now)
    session.execute(delete(SlaClock).where(SlaClock.ticket_id == ticket.id))
    session.add_all(clock_rows(ticket.id, report, now))
    apply_report(ticket, report)
    return report


def clock_rows(ticket_id: int, report: ReplayReport, now: datetime) -> list[SlaClock]:
    """One materialised row per metric of the report, computed at `now`."""
    return [
        SlaClock(
            ticket_id=ticket_id,
            metric=metric_id,
            state=metric.state.value,
            calendar=metric.rule.calendar_id,
            started_at=metric.started_at,
            stopped_at=metric.stopped_at,
            due_at=metric.due,
            goal_at=metric.goal,
            warning_at=metric.warning_at,
            counted_seconds=metric.counted_seconds,
            remaining_seconds=metric.remaining_seconds,
            percent_used=metric.percent_used,
            excused=metric.excused,
            cycle=metric.cycle,
            computed_at=now,
        )
        for metric_id, metric in report.metrics.items()
    ]


def apply_report(ticket: Ticket, report: ReplayReport) -> None:
    """Copy what the queue and the lists read (status, open, severity, next due) from a replay onto the ticket."""
    ticket.status = report.history.status
    ticket.is_open = not report.policy.is_finished(ticket.status)
    ticket.severity_rank = report.severity.rank
    ticket.next_due_at = next_pending_due(report)
