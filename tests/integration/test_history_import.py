"""Importing whole histories stores exactly what recording their events one by one stores, and no messages;
a refused history names its event and stores nothing. On SQLite and PostgreSQL.

The histories are Choozle tickets (first response in business hours, Monday to Friday 08:00-17:00 Denver; the
resolution clock paused while waiting) from Monday 7 December 2026.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sladesk.services import InvalidFieldError, Role
from sladesk.services import tickets as use
from sladesk.services.actors import Actor
from sladesk.services.history_import import History, PastEvent, import_histories
from sladesk.services.tickets import Opening
from sladesk.sla import Event
from sladesk.sla.events import (
    AssignedEvent,
    BelievedResolvedEvent,
    OutsideIncidentEvent,
    ReplyEvent,
    SeverityEvent,
    StatusEvent,
)
from sladesk.store import transaction
from sladesk.store.tables import OutboxMessage, SlaClock, Ticket, TicketEvent, Timer


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-{text}-07:00")


def opening(org: int, requester: int, severity: int, opened: str) -> Opening:
    description = 'Spend is not going out:\n\tcampaign \\42 "Winter" since 08:00.'  # what a COPY must escape
    intake = {"user_email": "ops@example.com", "steps_taken": "Paused,\nthen resumed."}
    return Opening(org, requester, f"S{severity} opened {opened}", description, severity, at(opened), intake=intake)


def histories(org: int, customer: int, agent: int) -> list[History]:
    """Paused and closed; severity raised after a breach; excused by an outside incident; still open."""

    def by(event: Event) -> PastEvent:
        return PastEvent(event, customer if event.by == "customer" else agent)

    return [
        History(
            opening(org, customer, 2, "07T09:00"),
            [
                by(ReplyEvent(at=at("07T10:00"), by="agent")),
                by(StatusEvent(at=at("07T10:00"), to="awaiting_customer")),
                by(ReplyEvent(at=at("08T11:00"), by="customer")),
                by(StatusEvent(at=at("08T12:00"), to="waiting_on_engineering")),
                by(StatusEvent(at=at("10T09:00"), to="open")),
                by(ReplyEvent(at=at("10T10:00"), by="agent")),
                by(StatusEvent(at=at("10T10:00"), to="resolved")),
                by(StatusEvent(at=at("14T10:00"), to="closed")),
            ],
        ),
        History(
            opening(org, customer, 3, "07T09:00"),
            [
                by(ReplyEvent(at=at("08T09:00"), by="agent")),
                by(SeverityEvent(at=at("08T10:00"), to=1, reason="revenue is being lost")),
                by(StatusEvent(at=at("08T15:00"), to="resolved")),
                by(StatusEvent(at=at("11T15:00"), to="closed")),
            ],
        ),
        History(
            opening(org, customer, 1, "07T09:00"),
            [
                by(OutsideIncidentEvent(at=at("07T09:30"), reason="ad exchange outage")),
                by(ReplyEvent(at=at("07T13:00"), by="agent")),
                by(StatusEvent(at=at("09T10:00"), to="resolved")),
                by(StatusEvent(at=at("09T10:05"), to="closed")),
            ],
        ),
        History(
            opening(org, customer, 2, "07T09:00"),
            [
                by(AssignedEvent(at=at("07T09:05"), to=agent)),
                by(ReplyEvent(at=at("07T09:10"), by="agent", public_reply=False)),
                by(ReplyEvent(at=at("07T09:30"), by="agent")),
                by(BelievedResolvedEvent(at=at("07T09:30"), reason="the campaign delivers again")),
                by(StatusEvent(at=at("07T09:31"), to="awaiting_customer")),
            ],
        ),
    ]


def record_one_by_one(session: Session, actors: dict[int, Actor], agent: Actor, history: History) -> int:
    """The history as a desk records it: the ticket opened, then each event by its use case, each through the seam."""
    o = history.opening
    ticket_id = use.open_ticket(
        session,
        agent,
        subject=o.subject,
        description=o.description,
        severity=o.severity,
        intake=o.intake,
        organisation_id=o.organisation_id,
        requester_id=o.requester_id,
        now=o.opened_at,
    ).ticket.id
    steps: dict[type, Callable[[Actor, Any], Any]] = {
        ReplyEvent: lambda a, e: use.reply(session, a, ticket_id, "text", public=e.public_reply, now=e.at),
        StatusEvent: lambda a, e: use.change_status(session, a, ticket_id, e.to, now=e.at),
        SeverityEvent: lambda a, e: use.change_severity(session, a, ticket_id, e.to, e.reason, now=e.at),
        OutsideIncidentEvent: lambda a, e: use.set_outside_incident(session, a, ticket_id, e.reason, now=e.at),
        AssignedEvent: lambda a, e: use.assign(session, a, ticket_id, e.to, now=e.at),
        BelievedResolvedEvent: lambda a, e: use.mark_believed_resolved(
            session, a, ticket_id, e.set, e.reason, now=e.at
        ),
    }
    for past in history.events:
        steps[type(past.event)](actors[past.actor_id], past.event)
    return ticket_id


def stored(session: Session, ticket_id: int) -> dict[str, Any]:
    """Every row the ticket has: its columns, events, clocks and unfired timers (without their own ids)."""
    ticket = session.get_one(Ticket, ticket_id)
    return {
        "ticket": {c.key: getattr(ticket, c.key) for c in Ticket.__table__.columns if c.key != "id"},
        "events": session.execute(
            select(TicketEvent.sequence, TicketEvent.at, TicketEvent.type, TicketEvent.actor_id, TicketEvent.data)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.sequence)
        ).all(),
        "clocks": [
            {c.key: getattr(clock, c.key) for c in SlaClock.__table__.columns if c.key != "ticket_id"}
            for clock in session.scalars(
                select(SlaClock).where(SlaClock.ticket_id == ticket_id).order_by(SlaClock.metric)
            )
        ],
        "timers": sorted(
            session.execute(
                select(Timer.kind, Timer.metric, Timer.due_at, Timer.ticket_version, Timer.created_at).where(
                    Timer.ticket_id == ticket_id, Timer.fired_at.is_(None)
                )
            ).all()
        ),
    }


def test_imported_histories_store_exactly_what_recording_them_one_by_one_stores(sessions, desk):
    org = desk.organisation("Choozle customer", "choozle")
    customer = desk.user("customer", Role.CUSTOMER, org)
    agent = desk.user("agent", Role.AGENT)
    actors = {customer: desk.actors["customer"], agent: desk.actors["agent"]}
    given = histories(org, customer, agent)
    with transaction(sessions) as session:
        singles = [record_one_by_one(session, actors, actors[agent], history) for history in given]
    counted: list[int] = []
    with transaction(sessions) as session:
        imported = import_histories(session, actors[agent], given, progress=counted.append)
    assert counted == [4]
    with sessions() as session:
        rows = [stored(session, ticket_id) for ticket_id in imported]
        assert rows == [stored(session, ticket_id) for ticket_id in singles]
        messages = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.ticket_id.in_(imported))
        assert session.scalar(messages) == 0
    paused, raised, excused, still_open = rows
    # Worked out by hand: one version per event; customers see every event but the internal note and the marker.
    assert [(r["ticket"]["status"], r["ticket"]["version"], r["ticket"]["public_version"]) for r in rows] == [
        ("closed", 9, 9),
        ("closed", 5, 5),
        ("closed", 5, 5),
        ("awaiting_customer", 6, 4),
    ]
    # Paused: resolution counted Mon 09:00-10:00, Tue 11:00-12:00 and Thu 09:00-10:00 (the business week).
    resolution = {clock["metric"]: clock for clock in paused["clocks"]}["resolution"]
    assert (resolution["counted_microseconds"], resolution["stopped_at"]) == (3 * 3600 * 10**6, at("10T10:00"))
    # S3's first response (3 business hours) fell due Mon 12:00 before the raise to S1.
    first = {clock["metric"]: clock for clock in raised["clocks"]}["first_response"]
    assert (first["earlier_breach_at"], first["earlier_breach_severity"]) == (at("07T12:00"), "S3")
    assert raised["ticket"]["severity_rank"] == 1
    assert {clock["excuse"] for clock in excused["clocks"]} == {"ad exchange outage"}
    assert (excused["ticket"]["outside_incident"], excused["ticket"]["outside_incident_reason"]) == (
        True,
        "ad exchange outage",
    )
    assert still_open["ticket"]["assignee_id"] == agent and still_open["ticket"]["is_open"]
    assert still_open["timers"] and all(t.ticket_version == 6 for t in still_open["timers"])
    assert paused["timers"] == raised["timers"] == excused["timers"] == []


def test_a_refused_history_names_its_event_and_nothing_is_stored(sessions, desk):
    org = desk.organisation("Choozle customer", "choozle")
    customer = desk.user("customer", Role.CUSTOMER, org)
    agent = desk.user("agent", Role.AGENT)
    given = histories(org, customer, agent)
    given[2] = History(
        given[2].opening, [*given[2].events, PastEvent(ReplyEvent(at=at("10T09:00"), by="customer"), customer)]
    )
    with (
        pytest.raises(
            InvalidFieldError,
            match=r"^histories\[2\]\.events\[4\]: the ticket is closed and takes no update: Once an existing ticket",
        ),
        transaction(sessions) as session,
    ):
        import_histories(session, desk.actors["agent"], given)
    given = histories(org, customer, agent)
    given[0] = History(
        given[0].opening, [*given[0].events[:7], PastEvent(StatusEvent(at=at("14T10:00"), to="new"), agent)]
    )
    with (
        pytest.raises(
            InvalidFieldError, match=r"^histories\[0\]\.events\[7\]: status cannot move from 'resolved' to 'new'"
        ),
        transaction(sessions) as session,
    ):
        import_histories(session, desk.actors["agent"], given)
    given = histories(org, customer, agent)
    given[3] = History(
        opening(org, customer, 2, "07T09:00"), [PastEvent(SeverityEvent(at=at("07T10:00"), to=1), customer)]
    )
    with (
        pytest.raises(InvalidFieldError, match=r"^histories\[3\]\.events\[0\]\.actor_id: customers only reply to"),
        transaction(sessions) as session,
    ):
        import_histories(session, desk.actors["agent"], given)
    given[3] = History(opening(org, customer, 9, "07T09:00"))
    with (
        pytest.raises(
            InvalidFieldError, match=r"^histories\[3\]\.opening\.severity: policy 'choozle' has no severity 9"
        ),
        transaction(sessions) as session,
    ):
        import_histories(session, desk.actors["agent"], given)
    with sessions() as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (Ticket, TicketEvent, SlaClock, Timer)]
    assert counts == [0, 0, 0, 0]
