"""The desk acting on time, end to end over real local servers: the customer's mail opens a ticket and the
agent's reply reaches the customer's mailbox; a Choozle S2 believed resolved closes itself after 3 business
days with a notice first; an Alli P1 reminds the team of an overdue update. Every step is in the ticket's
history, and every message reaches the local SMTP server and a signature-checking webhook receiver once.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.mail.smtp import DeskHandler, receiver
from sladesk.services import Role
from tests.support.desk import Desk
from tests.support.processes import free_port
from tests.support.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver

DESK_ADDRESS = "support@desk.example"


@pytest.fixture
def outside() -> Iterator[tuple[SmtpReceiver, HttpReceiver]]:
    with smtp_receiver() as mailbox, http_receiver() as hooks:
        yield mailbox, hooks


def _worker(desk: Desk, mailbox: SmtpReceiver) -> Worker:
    settings = Settings(smtp_host=mailbox.host, smtp_port=mailbox.port, mail_from=f"Support <{DESK_ADDRESS}>")
    return Worker(desk.sessions, settings, clock=desk.clock)


def _subscribe(desk: Desk, hooks: HttpReceiver) -> None:
    created = desk.client.post(
        "/api/v1/subscriptions",
        json={"kind": "webhook", "url": hooks.url("/sladesk"), "event_types": ["*"]},
        headers=desk.headers["boss"],
    )
    hooks.secret = created.json()["secret"]


def _events(desk: Desk, ticket: int) -> list[str]:
    answer = desk.client.get(f"/api/v1/tickets/{ticket}/events", headers=desk.headers["agent"])
    return [event["type"] for event in answer.json()]


def _people(desk: Desk, organisation: int) -> None:
    desk.user("customer", Role.CUSTOMER, organisation)
    desk.user("agent", Role.AGENT)
    desk.user("boss", Role.ADMIN)


def test_a_customers_mail_opens_a_ticket_and_the_agents_reply_arrives_in_their_mailbox(desk: Desk, outside):
    mailbox, hooks = outside
    _people(desk, desk.organisation("Harbor", "alleo"))
    _subscribe(desk, hooks)
    handler = DeskHandler(desk.sessions, [DESK_ADDRESS], mail_domain="desk.example", clock=desk.clock)
    controller = receiver(handler, "127.0.0.1", free_port())
    controller.start()
    try:
        message = EmailMessage()
        message["From"] = "Customer <customer@example.com>"
        message["To"] = DESK_ADDRESS
        message["Subject"] = "Export stops at 1,000 rows"
        message["Message-ID"] = make_msgid(domain="example.com")
        message.set_content("The CSV export stops at 1,000 rows since Monday.")
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
            client.send_message(message)
    finally:
        controller.stop()

    [ticket] = desk.client.get("/api/v1/tickets", headers=desk.headers["agent"]).json()["items"]
    assert ticket["subject"] == "Export stops at 1,000 rows"
    desk.clock.advance(minutes=20)
    desk.client.post(
        f"/api/v1/tickets/{ticket['id']}/comments",
        json={"body": "Fixed: exports are no longer capped."},
        headers=desk.headers["agent"],
    )
    worker = _worker(desk, mailbox)
    done = worker.run_once()

    [answer] = mailbox.wait_for(1)
    assert answer.rcpt_tos == ("customer@example.com",)
    assert answer.message["Subject"] == f"[#{ticket['id']}] Export stops at 1,000 rows"
    assert "Fixed: exports are no longer capped." in answer.message.get_content()
    assert done.sent == 3  # the mail to the customer; the webhooks for the opening and the reply
    assert [r.json()["type"] for r in hooks.wait_for(2)] == ["ticket.opened", "ticket.reply"]
    assert all(r.signature_error is None for r in hooks.requests)
    assert _events(desk, ticket["id"]) == ["opened", "reply"]
    assert worker.run_once().sent == 0


def test_choozle_closes_a_believed_resolved_s2_after_three_business_days_with_a_notice(desk: Desk, outside):
    mailbox, hooks = outside
    organisation = desk.organisation("Acme", "choozle")
    _people(desk, organisation)
    _subscribe(desk, hooks)
    desk.clock.set("2026-12-07T09:00:00-07:00")  # Monday, Denver
    opened = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Report mismatch", "description": "Numbers differ.", "severity": "S2"},
        headers=desk.headers["customer"],
    ).json()
    ticket, agent = opened["id"], desk.headers["agent"]
    desk.clock.set("2026-12-07T10:00:00-07:00")
    desk.client.post(f"/api/v1/tickets/{ticket}/comments", json={"body": "Corrected; please check."}, headers=agent)
    version = desk.client.get(f"/api/v1/tickets/{ticket}", headers=agent).json()["version"]
    moved = desk.client.patch(
        f"/api/v1/tickets/{ticket}",
        json={"status": "awaiting_customer"},
        headers={**agent, "If-Match": str(version)},
    )
    marked = desk.client.patch(
        f"/api/v1/tickets/{ticket}",
        json={"believed_resolved": True, "reason": "Numbers match after the correction"},
        headers={**agent, "If-Match": str(moved.json()["version"])},
    )
    assert marked.status_code == 200, marked.text
    upcoming = desk.client.get(f"/api/v1/tickets/{ticket}/sla", headers=agent).json()["upcoming"]
    assert [(u["kind"], u["at"]) for u in upcoming] == [
        ("close_notice", "2026-12-09T10:00:00-07:00"),
        ("auto_close", "2026-12-10T10:00:00-07:00"),
    ]

    worker = _worker(desk, mailbox)
    for instant in ("2026-12-08T10:00:00-07:00", "2026-12-09T10:00:00.3-07:00", "2026-12-10T10:00:00.3-07:00"):
        desk.clock.set(instant)
        worker.run_once()

    assert desk.client.get(f"/api/v1/tickets/{ticket}", headers=agent).json()["status"] == "resolved"
    assert _events(desk, ticket) == ["opened", "reply", "status", "believed_resolved", "close_notice", "status"]
    texts = [mail.message.get_content() for mail in mailbox.messages if mail.rcpt_tos == ("customer@example.com",)]
    assert len(texts) == 4  # the reply, awaiting customer, the notice, the close
    assert "closes automatically at 2026-12-10T10:00:00-07:00" in texts[2]
    assert mailbox.by_idempotency_key().most_common(1)[0][1] == 1
    kinds = [r.json()["type"] for r in hooks.requests]
    assert kinds == [
        "ticket.opened",
        "ticket.reply",
        "ticket.status",
        "ticket.believed_resolved",
        "ticket.close_notice",
        "ticket.status",
    ]


def test_an_alli_p1_gets_its_comms_reminder_when_an_update_is_overdue(desk: Desk, outside):
    mailbox, hooks = outside
    _people(desk, desk.organisation("Acme", "alli"))
    _subscribe(desk, hooks)
    desk.clock.set("2026-12-07T08:00:00-06:00")
    ticket = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Automations stopped", "description": "No actions since 07:00.", "severity": 4},
        headers=desk.headers["customer"],
    ).json()["id"]
    agent = desk.headers["agent"]
    version = desk.client.get(f"/api/v1/tickets/{ticket}", headers=agent).json()["version"]
    raised = desk.client.patch(
        f"/api/v1/tickets/{ticket}",
        json={"severity": "P1", "severity_reason": "Production is down for all users"},
        headers={**agent, "If-Match": str(version)},
    )
    assert raised.status_code == 200, raised.text
    desk.clock.set("2026-12-07T08:30:00-06:00")  # the external update is next due at 09:30, the internal at 09:00
    posted = desk.client.post(
        f"/api/v1/tickets/{ticket}/comms", json={"channel": "external", "note": "Status page updated"}, headers=agent
    )
    assert posted.status_code == 200, posted.text

    worker = _worker(desk, mailbox)
    desk.clock.set("2026-12-07T09:00:00.2-06:00")
    worker.run_once()

    events = desk.client.get(f"/api/v1/tickets/{ticket}/events", headers=agent).json()
    # raised to P1, it pages on-call: the incident starts, though this desk keeps no escalation policy to page by
    assert [e["type"] for e in events] == ["opened", "severity", "comms", "incident", "comms"]
    assert events[3]["summary"] == (
        "On-call incident started under escalation policy default: "
        "the desk has no escalation policy 'default', so nobody is paged"
    )
    assert events[-1]["summary"].startswith("Internal update overdue (due 2026-12-07T09:00:00-06:00)")
    reminders = [mail for mail in mailbox.messages if mail.rcpt_tos == ("agent@example.com",)]
    assert len(reminders) == 1
    assert "Internal update overdue" in reminders[0].message.get_content()
    assert "comms.overdue" in [r.json()["type"] for r in hooks.requests]
