"""Choozle's rule on both databases: "once an existing ticket is in a 'Closed' status, a new ticket is required for
any update". Under a policy with `closed: {updates: refused}`, a closed ticket refuses public replies and files
(over the API, the portal and mail) with the policy's hint and the way to a follow-up ticket; internal notes by
staff are still kept. A policy that accepts updates on closed tickets keeps taking them.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select, update

from sladesk.mail.smtp import DeskHandler, receiver
from sladesk.services import Role
from sladesk.services.policies import upload_policy
from sladesk.store import reading, transaction
from sladesk.store.tables import Comment, InboundMessage, OutboxMessage, Ticket, TicketEvent
from tests.support.desk import Desk
from tests.support.processes import free_port
from tests.support.units import committed
from tests.support.variants import variant
from tests.support.web import PASSWORD, WebPerson

upload = committed(upload_policy)
DESK = "support@desk.example"
HINT = "Closed tickets take no updates: open a new ticket, linked to the closed one."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
REFUSED = f'{HINT} Open a follow-up ticket: /portal/new?follow_up_of=1 on the portal, or POST /api/v1/tickets with "follow_up_of": 1.'


@pytest.fixture
def desk(desk: Desk) -> Desk:
    """Adverts on Choozle refusing updates on closed tickets, Initech on Choozle accepting them."""
    desk.user("admin", Role.ADMIN)
    refusing = variant("choozle", "choozle_refusing", closed={"updates": "refused", "hint": HINT})
    accepting = variant("choozle", "choozle_accepting", closed={"updates": "accepted"})
    upload(desk.sessions, desk.actors["admin"], refusing, now=desk.clock())
    upload(desk.sessions, desk.actors["admin"], accepting, now=desk.clock())
    desk.user("customer", Role.CUSTOMER, desk.organisation("Adverts", "choozle_refusing"), password=PASSWORD)
    desk.user("initech", Role.CUSTOMER, desk.organisation("Initech", "choozle_accepting"))
    desk.user("agent", Role.AGENT)
    return desk


def opened_and_closed(desk: Desk, who: str = "customer") -> int:
    """A ticket `who` opened, which the agent answered and closed an hour later; its id."""
    created = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers[who],
        json={"subject": "Export fails", "description": "The CSV export stops at 1,000 rows.", "severity": "S2"},
    )
    assert created.status_code == 201, created.text
    ticket_id: int = created.json()["id"]
    desk.clock.advance(hours=1)
    comments = f"/api/v1/tickets/{ticket_id}/comments"
    assert desk.client.post(comments, headers=desk.headers["agent"], json={"body": "Fixed in 4.2."}).status_code == 201
    version = desk.client.get(f"/api/v1/tickets/{ticket_id}", headers=desk.headers["agent"]).headers["ETag"]
    closed = desk.client.patch(
        f"/api/v1/tickets/{ticket_id}",
        headers={**desk.headers["agent"], "If-Match": version},
        json={"status": "closed"},
    )
    assert closed.status_code == 200, closed.text
    desk.clock.advance(hours=1)
    return ticket_id


def events(desk: Desk, ticket_id: int) -> list[str]:
    with reading(desk.sessions) as session:
        return list(session.scalars(select(TicketEvent.type).where(TicketEvent.ticket_id == ticket_id)))


def test_replies_and_files_on_a_closed_ticket_are_refused_with_the_hint_and_the_follow_up_link(desk: Desk):
    ticket_id = opened_and_closed(desk)
    comments = f"/api/v1/tickets/{ticket_id}/comments"
    before = events(desk, ticket_id)

    customer = desk.client.post(comments, headers=desk.headers["customer"], json={"body": "It is back."})
    assert customer.status_code == 409
    assert customer.headers["content-type"] == "application/problem+json"
    assert customer.json()["detail"] == REFUSED
    assert customer.json()["follow_up"] == {
        "portal": f"/portal/new?follow_up_of={ticket_id}",
        "api": {"method": "POST", "path": "/api/v1/tickets", "body": {"follow_up_of": ticket_id}},
    }
    agent = desk.client.post(comments, headers=desk.headers["agent"], json={"body": "Any news?"})
    assert (agent.status_code, agent.json()["detail"]) == (409, REFUSED)
    attached = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["customer"],
        files={"file": ("screen.png", PNG, "image/png")},
    )
    assert (attached.status_code, attached.json()["detail"]) == (409, REFUSED)
    assert events(desk, ticket_id) == before  # nothing was kept
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=desk.headers["agent"]).json() == []

    note = desk.client.post(
        comments, headers=desk.headers["agent"], json={"body": "Customer wrote again.", "public": False}
    )
    assert note.status_code == 201  # an internal note is still kept
    follow_up = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={
            "subject": "Export fails again",
            "description": "It is back.",
            "severity": "S2",
            "follow_up_of": ticket_id,
        },
    )
    assert follow_up.status_code == 201
    assert follow_up.json()["follow_up_of"] == ticket_id
    bodies = [c["body"] for c in desk.client.get(comments, headers=desk.headers["customer"]).json()]
    assert bodies == ["Fixed in 4.2."]


def test_a_policy_that_accepts_updates_on_closed_tickets_keeps_taking_replies(desk: Desk):
    ticket_id = opened_and_closed(desk, "initech")
    answer = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=desk.headers["initech"], json={"body": "Thanks!"}
    )
    assert answer.status_code == 201


def test_an_open_ticket_under_the_refusing_policy_takes_replies(desk: Desk):
    created = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "Slow reports", "description": "Reports take a minute.", "severity": "S3"},
    ).json()
    answer = desk.client.post(
        f"/api/v1/tickets/{created['id']}/comments", headers=desk.headers["customer"], json={"body": "Still slow."}
    )
    assert answer.status_code == 201


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


def test_a_mail_reply_to_a_closed_ticket_is_answered_with_the_hint_and_adds_nothing(desk: Desk, smtp):
    ticket_id = opened_and_closed(desk)
    message = EmailMessage()
    message["From"] = "Customer <customer@example.com>"
    message["To"] = DESK
    message["Subject"] = f"Re: [#{ticket_id}] Export fails"
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("It is back since this morning.")
    host, port = smtp
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.send_message(message)

    with reading(desk.sessions) as session:
        [row] = session.scalars(select(InboundMessage)).all()
        [answer] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("inbound-refusal-%"))
        ).all()
        comments = session.scalars(select(Comment.body).where(Comment.ticket_id == ticket_id)).all()
        tickets = session.scalars(select(Ticket.id)).all()
    assert (row.outcome, row.ticket_id, row.answered) == ("refused", ticket_id, True)
    assert answer.payload["to"] == ["customer@example.com"]
    assert answer.payload["subject"] == f"Re: [#{ticket_id}] Export fails"
    assert answer.payload["in_reply_to"] == message["Message-ID"]
    assert answer.payload["headers"]["Auto-Submitted"] == "auto-replied"
    assert answer.payload["text"] == (
        f"Hello,\n\n{HINT}\n\nYour message has not been added to ticket #{ticket_id}. To send it, open a follow-up "
        f"request on our support portal at /portal/new?follow_up_of={ticket_id} (it links to ticket #{ticket_id}).\n\n"
        "This reply was sent automatically.\n"
    )
    assert comments == ["Fixed in 4.2."]
    assert tickets == [ticket_id]  # no follow-up opened by itself


def test_the_portal_shows_a_closed_request_with_the_hint_and_a_follow_up_link_instead_of_the_reply_form(desk: Desk):
    ticket_id = opened_and_closed(desk)
    person = WebPerson(desk.app())
    person.sign_in("customer@example.com")
    page = person.get(f"/portal/tickets/{ticket_id}")
    assert page.status_code == 200
    assert f'<p class="closed-note" id="closed-note">{HINT}</p>' in page.text
    assert f'href="/portal/new?follow_up_of={ticket_id}">Open a follow-up request</a>' in page.text
    assert f'action="/portal/tickets/{ticket_id}/reply"' not in page.text

    person.get(f"/portal/tickets/{ticket_id}")
    sent = person.submit(f"/portal/tickets/{ticket_id}/reply", {"body": "It is back."})
    assert sent.status_code == 409
    assert "Your reply was not sent: this request is closed." in sent.text
    assert events(desk, ticket_id)[-1] == "status"

    form = person.get(f"/portal/new?follow_up_of={ticket_id}")
    assert form.status_code == 200
    assert f'name="follow_up_of" value="{ticket_id}"' in form.text


def test_the_portal_says_awaiting_triage_beside_the_severity_until_support_confirms_it(desk: Desk):
    created = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "Slow reports", "description": "Reports take a minute.", "severity": "S1"},
    ).json()
    person = WebPerson(desk.app())
    person.sign_in("customer@example.com")
    page = person.get(f"/portal/tickets/{created['id']}").text
    assert "Awaiting triage" not in page
    with transaction(desk.sessions) as session:
        session.execute(update(Ticket).where(Ticket.id == created["id"]).values(awaiting_triage=True))
    page = person.get(f"/portal/tickets/{created['id']}").text
    assert '<span class="triage" id="awaiting-triage">Awaiting triage</span>' in page
