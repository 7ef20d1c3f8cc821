"""Opening tickets in bulk stores exactly what opening each alone stores, and a bad one stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from sladesk.services import InvalidFieldError, Role
from sladesk.services.bulk import open_tickets
from sladesk.services.tickets import Opening, open_ticket
from sladesk.services.views import ticket_view
from sladesk.store import transaction
from sladesk.store.tables import SlaClock, Ticket, TicketEvent

START = datetime.fromisoformat("2026-12-04T15:30:00-07:00")  # a Friday afternoon in Denver
NOW = datetime.fromisoformat("2026-12-09T12:00:00-07:00")


def openings(organisation_id: int, requester_id: int) -> list[Opening]:
    return [
        Opening(
            organisation_id=organisation_id,
            requester_id=requester_id,
            subject=f"Campaign {number} stopped",
            description="It stopped delivering.",
            severity=1 + number % 3,
            opened_at=START + timedelta(hours=7 * number, minutes=number),
            intake={"user_email": "ops@example.com"},
        )
        for number in range(24)
    ]


def comparable(view) -> tuple:
    return (
        view.subject,
        view.status,
        view.severity,
        view.tier,
        view.next_due_at,
        view.opened_at,
        tuple((clock.metric, clock.instants, clock.reading) for clock in view.clocks),
    )


def test_bulk_opened_tickets_read_exactly_as_tickets_opened_one_by_one(sessions, desk):
    one_org, bulk_org = desk.organisation("One by one", "choozle"), desk.organisation("In bulk", "choozle")
    one, bulk = desk.user("a", Role.CUSTOMER, one_org), desk.user("b", Role.CUSTOMER, bulk_org)
    desk.user("agent", Role.AGENT)
    agent = desk.actors["agent"]
    with transaction(sessions) as session:
        singles = [
            open_ticket(
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
            for o in openings(one_org, one)
        ]
        counted: list[int] = []
        bulked = open_tickets(session, agent, openings(bulk_org, bulk), progress=counted.append)
    assert counted == [24]
    with sessions() as session:
        for single, in_bulk in zip(singles, bulked, strict=True):
            assert comparable(ticket_view(session, agent, in_bulk, NOW)) == comparable(
                ticket_view(session, agent, single, NOW)
            )
        states = {c.reading.state.value for i in bulked for c in ticket_view(session, agent, i, NOW).clocks}
        assert {"running", "breached"} <= states


def test_a_bad_opening_in_a_bulk_names_its_index_and_nothing_is_stored(sessions, desk):
    org = desk.organisation("Acme", "choozle")
    customer = desk.user("c", Role.CUSTOMER, org)
    desk.user("agent", Role.AGENT)
    batch = openings(org, customer)
    batch[7] = Opening(org, customer, "x", "y", severity="S9", opened_at=START)
    with pytest.raises(InvalidFieldError, match=r"^openings\[7\]\.severity: "), transaction(sessions) as session:
        open_tickets(session, desk.actors["agent"], batch)
    with sessions() as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (Ticket, TicketEvent, SlaClock)]
    assert counts == [0, 0, 0]
