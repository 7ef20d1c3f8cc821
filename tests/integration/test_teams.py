"""Teams over the API on both databases: admins keep teams and their members, a policy's routing rules send new
tickets to a team's queue, and staff move a ticket between teams with the move kept in its history.

The policy is Choozle's with two categories and routing rules, uploaded as `choozle_routed`: an S1 platform
ticket goes to Tech Ops, a billing ticket of any severity to Billing, and a ticket whose advertiser is
"Globex Ads" to Tech Ops; anything else to no team.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sladesk.services import Role
from sladesk.services.policies import upload_policy
from sladesk.store import reading
from sladesk.store.tables import Team, Ticket
from tests.support.desk import Desk
from tests.support.units import committed
from tests.support.variants import variant

upload = committed(upload_policy)

ROUTED = variant(
    "choozle",
    "choozle_routed",
    categories=[{"id": "platform", "name": "Platform"}, {"id": "billing", "name": "Billing"}],
    teams=[
        {"id": "tech_ops", "name": "Choozle Tech Ops"},
        {"id": "billing_desk", "name": "Billing desk"},
    ],
    routing=[
        {"when": {"category": ["platform"], "severity": ["S1"]}, "team": "tech_ops"},
        {"when": {"category": ["billing"]}, "team": "billing_desk"},
        {"when": {"intake": {"advertiser_name": ["Globex Ads"]}}, "team": "tech_ops"},
    ],
)


@pytest.fixture
def desk(desk: Desk) -> Desk:
    desk.user("admin", Role.ADMIN)
    upload(desk.sessions, desk.actors["admin"], ROUTED, now=desk.clock())
    desk.user("customer", Role.CUSTOMER, desk.organisation("Adverts", "choozle_routed"))
    desk.user("agent", Role.AGENT)
    desk.user("second", Role.AGENT)
    return desk


def open_ticket(desk: Desk, severity: str, category: str | None = None, **intake: str) -> dict:
    body: dict[str, object] = {
        "subject": "Campaign stopped",
        "description": "No impressions since 08:00.",
        "severity": severity,
    }
    if category is not None:
        body["category"] = category
    if intake:
        body["intake"] = intake
    answer = desk.client.post("/api/v1/tickets", headers=desk.headers["customer"], json=body)
    assert answer.status_code == 201, answer.text
    created: dict = answer.json()
    return created


def team_of(desk: Desk, ticket_id: int) -> str | None:
    with reading(desk.sessions) as session:
        ticket = session.get_one(Ticket, ticket_id)
        return None if ticket.team_id is None else session.get_one(Team, ticket.team_id).slug


def history(desk: Desk, ticket_id: int, who: str = "agent") -> list[str]:
    answer = desk.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=desk.headers[who])
    assert answer.status_code == 200, answer.text
    return [event["summary"] for event in answer.json()]


def test_an_admin_creates_renames_and_staffs_a_team_and_agents_read_it(desk: Desk):
    admin, agent_id, second_id = desk.headers["admin"], desk.ids["agent"], desk.ids["second"]
    created = desk.client.post("/api/v1/teams", headers=admin, json={"slug": "tech_ops", "name": "Tech Ops"})
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/api/v1/teams/tech_ops"
    assert (created.json()["slug"], created.json()["name"], created.json()["members"]) == ("tech_ops", "Tech Ops", [])
    assert created.json()["created_at"] == "2026-12-07T14:00:00Z"

    added = desk.client.put(f"/api/v1/teams/tech_ops/members/{agent_id}", headers=admin)
    assert added.status_code == 201
    again = desk.client.put(f"/api/v1/teams/tech_ops/members/{agent_id}", headers=admin)
    assert again.status_code == 200  # a member already: nothing changes
    assert desk.client.put(f"/api/v1/teams/tech_ops/members/{second_id}", headers=admin).status_code == 201
    renamed = desk.client.patch("/api/v1/teams/tech_ops", headers=admin, json={"name": "Choozle Tech Ops"})
    assert renamed.status_code == 200

    read = desk.client.get("/api/v1/teams/tech_ops", headers=desk.headers["agent"])
    assert read.status_code == 200
    assert read.json()["name"] == "Choozle Tech Ops"
    assert [(m["id"], m["name"], m["email"], m["role"]) for m in read.json()["members"]] == [
        (agent_id, "agent", "agent@example.com", "agent"),
        (second_id, "second", "second@example.com", "agent"),
    ]
    removed = desk.client.delete(f"/api/v1/teams/tech_ops/members/{second_id}", headers=admin)
    assert [m["id"] for m in removed.json()["members"]] == [agent_id]
    gone = desk.client.delete(f"/api/v1/teams/tech_ops/members/{second_id}", headers=admin)
    assert (gone.status_code, gone.json()["detail"]) == (404, f"user {second_id} is not a member of team 'tech_ops'")

    listed = desk.client.get("/api/v1/teams", headers=desk.headers["agent"]).json()
    assert [(t["slug"], t["name"], len(t["members"])) for t in listed] == [("tech_ops", "Choozle Tech Ops", 1)]


def test_team_writes_are_for_admins_reads_for_staff_and_bad_input_names_its_field(desk: Desk):
    admin = desk.headers["admin"]
    assert desk.client.post("/api/v1/teams", headers=admin, json={"slug": "tech_ops", "name": "T"}).status_code == 201
    refused = desk.client.post("/api/v1/teams", headers=desk.headers["agent"], json={"slug": "ops", "name": "Ops"})
    assert (refused.status_code, refused.json()["detail"]) == (403, "only admins manage teams and their members")
    assert desk.client.get("/api/v1/teams", headers=desk.headers["customer"]).status_code == 403
    assert desk.client.get("/api/v1/teams/tech_ops", headers=desk.headers["customer"]).status_code == 403
    member = f"/api/v1/teams/tech_ops/members/{desk.ids['agent']}"
    assert desk.client.put(member, headers=desk.headers["agent"]).status_code == 403

    taken = desk.client.post("/api/v1/teams", headers=admin, json={"slug": "tech_ops", "name": "Again"})
    assert (taken.status_code, taken.json()["detail"]) == (409, "a team 'tech_ops' exists already")
    bad = desk.client.post("/api/v1/teams", headers=admin, json={"slug": "Tech Ops", "name": "T"})
    assert (bad.status_code, bad.json()["field"]) == (422, "slug")
    kept = desk.client.post("/api/v1/teams", headers=admin, json={"slug": "mine", "name": "Mine"})
    assert (kept.status_code, kept.json()["field"]) == (422, "slug")  # the queue filter's "my teams"
    blank = desk.client.patch("/api/v1/teams/tech_ops", headers=admin, json={"name": "  "})
    assert (blank.status_code, blank.json()["detail"]) == (422, "name: give the team a name")
    customer = desk.client.put(f"/api/v1/teams/tech_ops/members/{desk.ids['customer']}", headers=admin)
    assert customer.status_code == 422
    assert customer.json()["field"] == "user_id"
    missing = desk.client.get("/api/v1/teams/nobody", headers=admin)
    assert (missing.status_code, missing.json()["detail"]) == (404, "no team 'nobody'")
    with reading(desk.sessions) as session:
        assert session.scalars(select(Team.slug)).all() == ["tech_ops"]


def test_the_first_matching_routing_rule_sends_a_new_ticket_to_its_team_created_with_the_policys_name(desk: Desk):
    platform_s1 = open_ticket(desk, "S1", "platform")
    assert team_of(desk, platform_s1["id"]) == "tech_ops"
    with reading(desk.sessions) as session:
        assert [(t.slug, t.name) for t in session.scalars(select(Team))] == [("tech_ops", "Choozle Tech Ops")]
    assert history(desk, platform_s1["id"]) == [
        "Opened by the customer: severity 1, category platform, routed to team tech_ops"
    ]

    assert team_of(desk, open_ticket(desk, "S2", "platform")["id"]) is None  # platform, but not S1
    assert team_of(desk, open_ticket(desk, "S3", "billing")["id"]) == "billing_desk"
    assert team_of(desk, open_ticket(desk, "S3", advertiser_name="Globex Ads")["id"]) == "tech_ops"
    assert team_of(desk, open_ticket(desk, "S3", advertiser_name="Initech")["id"]) is None
    with reading(desk.sessions) as session:
        assert sorted(session.scalars(select(Team.slug))) == ["billing_desk", "tech_ops"]  # one row per team


def test_a_ticket_routes_to_a_team_the_desk_already_has_under_its_own_name(desk: Desk):
    desk.client.post("/api/v1/teams", headers=desk.headers["admin"], json={"slug": "tech_ops", "name": "Ops on call"})
    ticket = open_ticket(desk, "S1", "platform")
    assert team_of(desk, ticket["id"]) == "tech_ops"
    names = [t["name"] for t in desk.client.get("/api/v1/teams", headers=desk.headers["agent"]).json()]
    assert names == ["Ops on call"]


def test_staff_move_a_ticket_between_teams_and_out_of_every_team_with_the_move_in_its_history(desk: Desk):
    ticket = open_ticket(desk, "S1", "platform")
    desk.client.post("/api/v1/teams", headers=desk.headers["admin"], json={"slug": "billing_desk", "name": "Billing"})
    path = f"/api/v1/tickets/{ticket['id']}/team"
    version = desk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=desk.headers["agent"]).headers["ETag"]

    moved = desk.client.put(
        path,
        headers={**desk.headers["agent"], "If-Match": version},
        json={"team": "billing_desk", "reason": "an invoice, not an outage"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"ticket_id": ticket["id"], "team": "billing_desk", "version": 2}
    assert moved.headers["ETag"] == '"2"'
    assert team_of(desk, ticket["id"]) == "billing_desk"

    stale = desk.client.put(path, headers={**desk.headers["agent"], "If-Match": version}, json={"team": None})
    assert stale.status_code == 412
    out = desk.client.put(path, headers=desk.headers["agent"], json={"team": None})
    assert out.json() == {"ticket_id": ticket["id"], "team": None, "version": 3}
    assert team_of(desk, ticket["id"]) is None
    assert history(desk, ticket["id"])[1:] == [
        "Team became billing_desk: an invoice, not an outage",
        "Team became none",
    ]
    # a team move is internal: the customer's history does not show it, nor their version move
    assert history(desk, ticket["id"], "customer") == [
        "Opened by the customer: severity 1, category platform, routed to team tech_ops"
    ]
    customer_view = desk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=desk.headers["customer"])
    assert customer_view.headers["ETag"] == '"1"'


def test_a_move_to_an_unknown_team_or_the_same_one_or_by_a_customer_is_refused_and_changes_nothing(desk: Desk):
    ticket = open_ticket(desk, "S1", "platform")
    path = f"/api/v1/tickets/{ticket['id']}/team"
    unknown = desk.client.put(path, headers=desk.headers["agent"], json={"team": "nobody"})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "team")
    assert unknown.json()["detail"] == "team: no team 'nobody' (teams: tech_ops)"
    same = desk.client.put(path, headers=desk.headers["agent"], json={"team": "tech_ops"})
    assert (same.status_code, same.json()["detail"]) == (409, "the ticket is already in team tech_ops")
    customer = desk.client.put(path, headers=desk.headers["customer"], json={"team": None})
    assert (customer.status_code, customer.json()["detail"]) == (
        403,
        "only agents and admins move tickets between teams",
    )
    missing = desk.client.put(path, headers=desk.headers["agent"], json={"reason": "no team given"})
    assert (missing.status_code, missing.json()["field"]) == (422, "team")
    assert team_of(desk, ticket["id"]) == "tech_ops"
    assert len(history(desk, ticket["id"])) == 1
