"""Alleo's rule on both databases: "the identified Support Contact(s) should submit a support ticket". Admins mark
customers as support contacts; under a policy with `opening.requires_support_contact`, anyone else is refused with
the names of the organisation's active support contacts and the policy's hint, over the API, by staff opening on
their behalf, and by mail. A policy without the rule lets every customer open tickets.
"""

from __future__ import annotations

import html
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from sladesk.mail.smtp import DeskHandler, receiver
from sladesk.services import Role
from sladesk.services.policies import upload_policy
from sladesk.store import reading
from sladesk.store.tables import InboundMessage, OutboxMessage, Ticket
from tests.support.desk import Desk
from tests.support.processes import free_port
from tests.support.units import committed, update_user
from tests.support.variants import variant
from tests.support.web import PASSWORD, WebPerson

upload = committed(upload_policy)
DESK = "support@desk.example"
HINT = "Ask one of them to open it."
TICKET = {"subject": "Nobody can sign in", "description": "Since 08:50.", "severity": "Sev2"}


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """Acme on Alleo asking for support contacts (Ann Lee and Bo Park are, Carl is not), Open Co on Alleo without."""
    desk.user("admin", Role.ADMIN)
    asking = variant("alleo", "alleo_contacts", opening={"requires_support_contact": True, "hint": HINT})
    open_to_all = variant("alleo", "alleo_open", opening={"requires_support_contact": False})
    upload(desk.sessions, desk.actors["admin"], asking, now=desk.clock())
    upload(desk.sessions, desk.actors["admin"], open_to_all, now=desk.clock())
    acme = desk.organisation("Acme", "alleo_contacts")
    desk.user("carl", Role.CUSTOMER, acme, password=PASSWORD, support_contact=False)
    desk.user("freed", Role.CUSTOMER, desk.organisation("Open Co", "alleo_open"))
    desk.user("agent", Role.AGENT)
    for key, name in (("ann", "Ann Lee"), ("bo", "Bo Park")):
        created = desk.client.post(
            "/api/v1/users",
            headers=desk.headers["admin"],
            json={
                "email": f"{key}@example.com",
                "name": name,
                "role": "customer",
                "organisation_id": acme,
                "support_contact": True,
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["support_contact"] is True
        desk.ids[key] = created.json()["id"]
    return desk


def refusal(*names: str) -> str:
    return f"Only your support contacts can open tickets: {', '.join(names)}. {HINT}"


def ticket_count(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return len(session.scalars(select(Ticket.id)).all())


def test_a_customer_who_is_not_a_support_contact_is_refused_with_the_contacts_names(desk: Desk):
    refused = desk.client.post("/api/v1/tickets", headers=desk.headers["carl"], json=TICKET)
    assert refused.status_code == 403
    assert refused.json()["detail"] == refusal("Ann Lee <ann@example.com>", "Bo Park <bo@example.com>")
    assert ticket_count(desk) == 0

    # a deactivated contact is not named; a customer made a contact may open tickets at once
    update_user(desk.sessions, desk.actors["admin"], desk.ids["bo"], {"active": False})
    marked = desk.client.patch(
        f"/api/v1/users/{desk.ids['carl']}", headers=desk.headers["admin"], json={"support_contact": True}
    )
    assert (marked.status_code, marked.json()["support_contact"]) == (200, True)
    assert desk.client.post("/api/v1/tickets", headers=desk.headers["carl"], json=TICKET).status_code == 201
    desk.client.patch(
        f"/api/v1/users/{desk.ids['carl']}", headers=desk.headers["admin"], json={"support_contact": False}
    )
    again = desk.client.post("/api/v1/tickets", headers=desk.headers["carl"], json=TICKET)
    assert (again.status_code, again.json()["detail"]) == (403, refusal("Ann Lee <ann@example.com>"))
    assert ticket_count(desk) == 1


def test_support_contacts_open_tickets_and_a_policy_without_the_rule_lets_everyone(desk: Desk):
    token = desk.client.post(
        f"/api/v1/users/{desk.ids['ann']}/tokens", headers=desk.headers["admin"], json={"name": "tests"}
    ).json()["token"]
    opened = desk.client.post("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}, json=TICKET)
    assert opened.status_code == 201
    assert desk.client.post("/api/v1/tickets", headers=desk.headers["freed"], json=TICKET).status_code == 201


def test_staff_opening_on_behalf_of_a_requester_are_checked_on_the_requester(desk: Desk):
    acme = desk.ids["Acme"]
    on_behalf = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["agent"],
        json={**TICKET, "organisation_id": acme, "requester_id": desk.ids["carl"]},
    )
    assert on_behalf.status_code == 403
    assert on_behalf.json()["detail"] == (
        "carl <carl@example.com> is not a support contact of Acme. Only its support contacts can open tickets: "
        f"Ann Lee <ann@example.com>, Bo Park <bo@example.com>. {HINT}"
    )
    for_ann = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["agent"],
        json={**TICKET, "organisation_id": acme, "requester_id": desk.ids["ann"]},
    )
    assert for_ann.status_code == 201
    assert ticket_count(desk) == 1


def test_only_customers_are_support_contacts_and_the_flag_is_a_boolean(desk: Desk):
    admin = desk.headers["admin"]
    agent = desk.client.patch(f"/api/v1/users/{desk.ids['agent']}", headers=admin, json={"support_contact": True})
    assert (agent.status_code, agent.json()["field"]) == (422, "support_contact")
    assert agent.json()["detail"] == "support_contact: only customers are support contacts of their organisation"
    null = desk.client.patch(f"/api/v1/users/{desk.ids['carl']}", headers=admin, json={"support_contact": None})
    assert (null.status_code, null.json()["field"]) == (422, "support_contact")
    by_customer = desk.client.patch(
        f"/api/v1/users/{desk.ids['carl']}", headers=desk.headers["carl"], json={"support_contact": True}
    )
    assert by_customer.status_code == 403
    staff = desk.client.post(
        "/api/v1/users",
        headers=admin,
        json={"email": "ops@example.com", "name": "Ops", "role": "agent", "support_contact": True},
    )
    assert (staff.status_code, staff.json()["field"]) == (422, "support_contact")
    # a support contact who becomes staff is one no more
    promoted = desk.client.patch(
        f"/api/v1/users/{desk.ids['ann']}", headers=admin, json={"role": "agent", "organisation_id": None}
    )
    assert (promoted.status_code, promoted.json()["support_contact"]) == (200, False)
    read = desk.client.get(f"/api/v1/users/{desk.ids['bo']}", headers=admin)
    assert read.json()["support_contact"] is True


@pytest.fixture
def smtp(desk: Desk) -> Iterator[tuple[str, int]]:
    handler = DeskHandler(
        desk.sessions, [DESK], mail_domain="desk.example", attachments_dir=desk.attachments, clock=desk.clock
    )
    controller = receiver(handler, "127.0.0.1", free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port
    finally:
        controller.stop()


def send(server: tuple[str, int], sender: str) -> str:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = DESK
    message["Subject"] = "Nobody can sign in"
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("Since 08:50.")
    with smtplib.SMTP(*server, timeout=30) as client:
        client.send_message(message)
    return str(message["Message-ID"])


def test_a_mail_from_a_customer_who_is_not_a_support_contact_is_answered_with_the_refusal(desk: Desk, smtp):
    message_id = send(smtp, "carl@example.com")
    with reading(desk.sessions) as session:
        [row] = session.scalars(select(InboundMessage)).all()
        [answer] = session.scalars(select(OutboxMessage)).all()
    expected = refusal("Ann Lee <ann@example.com>", "Bo Park <bo@example.com>")
    assert (row.outcome, row.reason, row.ticket_id, row.answered) == ("refused", expected, None, True)
    assert answer.payload["to"] == ["carl@example.com"]
    assert answer.payload["subject"] == "Re: Nobody can sign in"
    assert answer.payload["in_reply_to"] == message_id
    assert answer.payload["text"] == f"Hello,\n\n{expected}\n\nThis reply was sent automatically.\n"
    assert ticket_count(desk) == 0

    send(smtp, "ann@example.com")
    with reading(desk.sessions) as session:
        outcomes = [(m.sender, m.outcome) for m in session.scalars(select(InboundMessage).order_by(InboundMessage.id))]
    assert outcomes == [("carl@example.com", "refused"), ("ann@example.com", "opened")]
    assert ticket_count(desk) == 1


def test_the_portal_refuses_a_request_from_a_customer_who_is_not_a_support_contact_naming_the_contacts(desk: Desk):
    person = WebPerson(desk.app())
    person.sign_in("carl@example.com")
    form = person.get("/portal/new").text
    # said before anything is typed, and no form to fill in
    expected = html.escape(refusal("Ann Lee <ann@example.com>", "Bo Park <bo@example.com>"))
    assert f'<p class="error" role="status" id="not-a-contact">{expected}</p>' in form
    assert 'action="/portal/new"' not in form
    sent = person.submit(
        "/portal/new", {"subject": "Nobody can sign in", "description": "Since 08:50.", "severity": "Sev2"}
    )
    assert sent.status_code == 403
    assert html.escape(refusal("Ann Lee <ann@example.com>", "Bo Park <bo@example.com>")) in sent.text
    assert ticket_count(desk) == 0
