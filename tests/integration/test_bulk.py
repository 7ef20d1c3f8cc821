"""Opening tickets in bulk stores exactly what opening each alone stores, and a bad one stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from sladesk.services import InvalidFieldError, Role, actor_of
from sladesk.services.bulk import open_tickets
from sladesk.services.tickets import Opening, open_ticket
from sladesk.services.views import ticket_view
from sladesk.store import transaction
from sladesk.store.tables import SlaClock, Ticket, TicketEvent
from tests.support.units import create_organisation, create_user

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


def test_bulk_opened_tickets_read_exactly_as_tickets_opened_one_by_one(sessions):
    one_org = create_organisation(sessions, None, name="One by one", policy_id="choozle")
    bulk_org = create_organisation(sessions, None, name="In bulk", policy_id="choozle")
    one = create_user(sessions, None, email="a@example.com", name="A", role=Role.CUSTOMER, organisation_id=one_org.id)
    bulk = create_user(sessions, None, email="b@example.com", name="B", role=Role.CUSTOMER, organisation_id=bulk_org.id)
    agent_row = create_user(sessions, None, email="agent@example.com", name="Agent", role=Role.AGENT)
    with transaction(sessions) as session:
        agent = actor_of(session, agent_row.id)
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
            for o in openings(one_org.id, one.id)
        ]
        counted: list[int] = []
        bulked = open_tickets(session, agent, openings(bulk_org.id, bulk.id), progress=counted.append)
    assert counted == [24]
    with sessions() as session:
        for single, in_bulk in zip(singles, bulked, strict=True):
            assert comparable(ticket_view(session, agent, in_bulk, NOW)) == comparable(
                ticket_view(session, agent, single, NOW)
            )
        states = {c.reading.state.value for i in bulked for c in ticket_view(session, agent, i, NOW).clocks}
        assert {"running", "breached"} <= states


def test_a_bad_opening_in_a_bulk_names_its_index_and_nothing_is_stored(sessions):
    org = create_organisation(sessions, None, name="Acme", policy_id="choozle")
    customer = create_user(sessions, None, email="c@example.com", name="C", role=Role.CUSTOMER, organisation_id=org.id)
    agent_row = create_user(sessions, None, email="agent@example.com", name="Agent", role=Role.AGENT)
    batch = openings(org.id, customer.id)
    batch[7] = Opening(org.id, customer.id, "x", "y", severity="S9", opened_at=START)
    with pytest.raises(InvalidFieldError, match=r"^openings\[7\]\.severity: "), transaction(sessions) as session:
        open_tickets(session, actor_of(session, agent_row.id), batch)
    with sessions() as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (Ticket, TicketEvent, SlaClock)]
    assert counts == [0, 0, 0]
