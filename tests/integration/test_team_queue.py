"""Team queues on both databases: the queue of one team, or of the agent's own teams, in the one total order."""

from __future__ import annotations

import pytest

from sladesk.services import Role
from sladesk.services.teams import add_member, create_team
from sladesk.services.views import queue_page
from sladesk.store import reading, transaction
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson

from .test_web_console import rows_of, tickets_in


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """Initech (choozle): technical tickets are routed to Tech Ops; ann is in Tech Ops, bo in Billing, cy in none.

    #1 S3 technical, #2 S1 general, #3 S2 technical, #4 S1 technical, all opened Monday 7 December 09:00 New York.
    """
    desk.user("ida", Role.CUSTOMER, desk.organisation("Initech", "choozle"))
    desk.user("morgan", Role.ADMIN)
    for agent in ("ann", "bo", "cy"):
        desk.user(agent, Role.AGENT, password=PASSWORD)
    with transaction(desk.sessions) as session:
        create_team(session, desk.actors["morgan"], "tech_ops", "Tech Ops", now=desk.clock())
        create_team(session, desk.actors["morgan"], "billing", "Billing", now=desk.clock())
        add_member(session, desk.actors["morgan"], "tech_ops", desk.ids["ann"])
        add_member(session, desk.actors["morgan"], "billing", desk.ids["bo"])
    for severity, category in ((3, "technical"), (1, "general"), (2, "technical"), (1, "technical")):
        opened = desk.client.post(
            "/api/v1/tickets",
            headers=desk.headers["ida"],
            json={
                "subject": f"S{severity} {category}",
                "description": "Help",
                "severity": severity,
                "category": category,
            },
        )
        assert opened.status_code == 201, opened.text
    return desk


def test_tickets_and_queue_items_name_their_team(desk: Desk):
    assert desk.client.get("/api/v1/tickets/3", headers=desk.headers["cy"]).json()["team"] == "tech_ops"
    assert desk.client.get("/api/v1/tickets/2", headers=desk.headers["cy"]).json()["team"] is None
    # the customer does not see which internal queue holds the ticket
    assert desk.client.get("/api/v1/tickets/3", headers=desk.headers["ida"]).json()["team"] is None
    items = desk.client.get("/api/v1/queue", headers=desk.headers["cy"]).json()
    assert [(item["ticket_id"], item["team"]) for item in items] == [
        (2, None),
        (4, "tech_ops"),
        (3, "tech_ops"),
        (1, "tech_ops"),
    ]


def test_a_team_queue_keeps_the_total_order_and_my_teams_follow_membership(desk: Desk):
    with reading(desk.sessions) as session:
        now = desk.clock()
        assert [i.ticket_id for i in queue_page(session, desk.actors["cy"], now, 50, team="tech_ops")] == [4, 3, 1]
        assert [i.ticket_id for i in queue_page(session, desk.actors["ann"], now, 50, team="mine")] == [4, 3, 1]
        assert [i.ticket_id for i in queue_page(session, desk.actors["bo"], now, 50, team="mine")] == []
        assert [i.ticket_id for i in queue_page(session, desk.actors["cy"], now, 50, team="billing")] == []
        first = queue_page(session, desk.actors["ann"], now, 50, team="mine")[0]
    assert first.reason.startswith("Number one: severity S1 (rank 1)")
    assert first.reason.endswith("Ahead of #3 because its severity S1 outranks S2.")


def test_the_api_queue_takes_a_team_or_mine_and_names_an_unknown_team(desk: Desk):
    def queue(agent: str, team: str) -> list[int]:
        answer = desk.client.get("/api/v1/queue", params={"team": team}, headers=desk.headers[agent])
        assert answer.status_code == 200, answer.text
        return [item["ticket_id"] for item in answer.json()]

    assert queue("cy", "tech_ops") == [4, 3, 1]
    assert queue("ann", "mine") == [4, 3, 1]
    assert queue("bo", "mine") == []
    unknown = desk.client.get("/api/v1/queue", params={"team": "ops"}, headers=desk.headers["cy"])
    assert (unknown.status_code, unknown.json()["field"]) == (422, "team")


def test_the_console_filters_by_team_and_by_my_teams_and_shows_the_team(desk: Desk):
    ann = WebPerson(desk.app())
    ann.sign_in("ann@example.com")
    everything = ann.get("/queue").text
    assert tickets_in(everything) == ["#2", "#4", "#3", "#1"]
    assert '<option value="tech_ops">Tech Ops</option>' in everything
    assert '<option value="mine">My teams</option>' in everything
    assert " Tech Ops Initech " in rows_of(everything)[1]
    assert tickets_in(ann.get("/queue?team=tech_ops").text) == ["#4", "#3", "#1"]
    assert tickets_in(ann.get("/queue?team=mine").text) == ["#4", "#3", "#1"]
    assert "No open ticket matches these filters." in ann.get("/queue?team=billing").text
    unknown = ann.get("/queue?team=nope")
    assert unknown.status_code == 422
    assert "team: no team &#39;nope&#39;" in unknown.text or "team: no team 'nope'" in unknown.text
    saved = ann.submit("/queue/views", {"name": "Tech Ops", "team": "tech_ops"})
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/queue?team=tech_ops")
    assert '<a href="/queue?team=tech_ops"' in ann.get("/queue").text
