"""The admin pages for teams and support contacts, on both databases: an admin creates, renames and staffs a team,
and marks a customer as a support contact (who may then open tickets where the policy asks for one)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from sladesk.services import Role
from sladesk.store import reading
from sladesk.store.tables import Team, TeamMember, User
from tests.support.desk import Desk
from tests.support.web import PASSWORD, WebPerson


@pytest.fixture
def people(desk: Desk) -> Desk:
    acme = desk.organisation("Acme", "alleo")
    desk.user("customer", Role.CUSTOMER, acme, password=PASSWORD, support_contact=False)
    desk.user("agent", Role.AGENT, password=PASSWORD)
    desk.user("admin", Role.ADMIN, password=PASSWORD)
    return desk


def signed_in(desk: Desk, key: str) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in(f"{key}@example.com")
    return person


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_rows(page: str, table_id: str) -> list[str]:
    found = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found is not None, f"no table {table_id}"
    return [text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)]


def test_an_admin_creates_staffs_and_renames_a_team_from_the_admin_pages(people: Desk):
    admin = signed_in(people, "admin")
    listing = admin.get("/admin/teams")
    assert listing.status_code == 200
    assert '<a href="/admin/teams" aria-current="page">Teams</a>' in listing.text
    assert "No teams yet." in listing.text

    bad = admin.submit("/admin/teams/new", {"slug": "Tech Ops", "name": "Tech Ops"})
    assert bad.status_code == 422
    assert "slug: &#39;Tech Ops&#39; is not a team id" in bad.text
    assert 'value="Tech Ops" aria-invalid="true"' in bad.text
    created = admin.submit("/admin/teams/new", {"slug": "tech_ops", "name": "Tech Ops"})
    assert created.status_code == 303
    assert created.headers["location"] == "/admin/teams/tech_ops?done=Team%20Tech%20Ops%20created."
    admin.get("/admin/teams")
    taken = admin.submit("/admin/teams/new", {"slug": "tech_ops", "name": "Again"})
    assert taken.status_code == 409 and "a team &#39;tech_ops&#39; exists already" in taken.text

    page = admin.get("/admin/teams/tech_ops").text
    assert "No members yet." in page
    assert f'<option value="{people.ids["agent"]}">agent (agent@example.com)</option>' in page
    assert f'<option value="{people.ids["customer"]}">' not in page  # customers are no team's members
    added = admin.submit("/admin/teams/tech_ops/members", {"user_id": str(people.ids["agent"])})
    assert added.status_code == 303
    page = admin.get(added.headers["location"]).text
    assert "agent is in Tech Ops now." in page
    assert table_rows(page, "members") == ["agent agent@example.com agent Remove agent"]

    renamed = admin.submit("/admin/teams/tech_ops", {"name": "Choozle Tech Ops"})
    assert renamed.status_code == 303
    assert table_rows(admin.get("/admin/teams").text, "teams") == ["Choozle Tech Ops tech_ops agent"]

    admin.get("/admin/teams/tech_ops")
    removed = admin.submit(f"/admin/teams/tech_ops/members/{people.ids['agent']}/remove", {})
    assert removed.status_code == 303
    with reading(people.sessions) as session:
        assert session.scalars(select(Team.name)).all() == ["Choozle Tech Ops"]
        assert session.scalars(select(TeamMember)).all() == []


def test_agents_and_customers_are_refused_the_team_pages(people: Desk):
    for key in ("agent", "customer"):
        assert signed_in(people, key).get("/admin/teams").status_code == 403


def test_an_admin_marks_a_customer_as_support_contact_and_back(people: Desk):
    admin = signed_in(people, "admin")
    customer_id = people.ids["customer"]
    page = admin.get(f"/admin/users/{customer_id}").text
    assert '<dd id="support-contact">No</dd>' in page
    marked = admin.submit(f"/admin/users/{customer_id}/support-contact", {"support_contact": "yes"})
    assert marked.status_code == 303
    page = admin.get(marked.headers["location"]).text
    assert "customer is a support contact now." in page
    assert 'name="support_contact" type="checkbox" value="yes" checked' in page
    organisation = admin.get(f"/admin/organisations/{people.ids['Acme']}").text
    assert "(customer@example.com) — support contact</li>" in organisation
    unmarked = admin.submit(f"/admin/users/{customer_id}/support-contact", {})
    assert unmarked.status_code == 303
    with reading(people.sessions) as session:
        assert session.get_one(User, customer_id).support_contact is False
    # staff have no such form, and the page refuses to mark them
    assert "support-contact" not in admin.get(f"/admin/users/{people.ids['agent']}").text
    refused = admin.submit(f"/admin/users/{people.ids['agent']}/support-contact", {"support_contact": "yes"})
    assert refused.status_code == 422
    assert "only customers are support contacts of their organisation" in refused.text


def test_a_new_customer_can_be_made_a_support_contact_when_created(people: Desk):
    admin = signed_in(people, "admin")
    admin.get("/admin/users/new")
    made = admin.submit(
        "/admin/users/new",
        {
            "email": "ann@example.com",
            "name": "Ann Lee",
            "role": "customer",
            "organisation_id": str(people.ids["Acme"]),
            "support_contact": "yes",
        },
    )
    assert made.status_code == 303
    with reading(people.sessions) as session:
        ann = session.scalars(select(User).where(User.email == "ann@example.com")).one()
        assert ann.support_contact is True
