"""A ticket's history through the API names people: who did each thing, and whom a ticket was assigned to."""

from __future__ import annotations

from sladesk.services import Role, assign, open_ticket
from sladesk.store import transaction
from tests.support.desk import Desk


def test_the_history_names_the_actor_and_the_assignee_beside_the_events_own_words(desk: Desk):
    acme = desk.organisation("Acme", "alleo")
    desk.user("carol", Role.CUSTOMER, acme)
    desk.user("alice", Role.AGENT)
    bob = desk.user("bob", Role.AGENT)
    with transaction(desk.sessions) as session:
        ticket = open_ticket(
            session, desk.actors["carol"], subject="Export", description="Fails", severity=3, now=desk.clock()
        ).ticket.id
        assign(session, desk.actors["alice"], ticket, bob, now=desk.clock())
        assign(session, desk.actors["bob"], ticket, desk.ids["alice"], now=desk.clock())
    events = desk.client.get(f"/api/v1/tickets/{ticket}/events", headers=desk.headers["alice"]).json()
    assert [(e["actor_name"], e["summary"], e["display"]) for e in events] == [
        ("carol", "Opened by the customer: severity 3", "Opened by the customer: severity 3"),
        ("alice", f"Assigned to user {bob}", "Assigned to bob"),
        ("bob", f"Assigned to user {desk.ids['alice']}", "Assigned to alice"),
    ]
