"""Subscriptions, the customer's copy by email and the dead-letter outbox, end to end over real local servers."""

from __future__ import annotations

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.services import Role
from tests.support.desk import Desk
from tests.support.receivers import http_receiver, smtp_receiver


def _setup(desk: Desk) -> int:
    organisation = desk.organisation("Acme", "alleo")
    desk.user("customer", Role.CUSTOMER, organisation)
    desk.user("agent", Role.AGENT)
    desk.user("boss", Role.ADMIN)
    return organisation


def _open(desk: Desk) -> int:
    answer = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Login fails", "description": "Since this morning.", "severity": 2},
        headers=desk.headers["customer"],
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_a_webhook_subscription_receives_each_event_signed_once(desk: Desk):
    _setup(desk)
    with http_receiver() as receiver:
        created = desk.client.post(
            "/api/v1/subscriptions",
            json={"kind": "webhook", "url": receiver.url("/hooks"), "event_types": ["ticket.opened", "ticket.reply"]},
            headers=desk.headers["boss"],
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        assert receiver.secret.startswith("whsec_")
        listed = desk.client.get("/api/v1/subscriptions", headers=desk.headers["boss"]).json()
        assert [(s["kind"], s["event_types"], s["secret"]) for s in listed] == [
            ("webhook", ["ticket.opened", "ticket.reply"], None)  # the secret is shown once
        ]

        ticket = _open(desk)
        worker = Worker(desk.sessions, Settings(), clock=desk.clock)
        assert worker.run_once().sent == 1
        assert worker.run_once().sent == 0

        [request] = receiver.wait_for(1)
        assert request.signature_error is None and "webhook-signature" in request.headers
        body = request.json()
        assert (body["type"], body["data"]["ticket"]["id"], body["data"]["event"]["type"]) == (
            "ticket.opened",
            ticket,
            "opened",
        )
        assert request.headers["webhook-id"] == f"event-{body['data']['event']['id']}-subscription-{listed[0]['id']}"
        assert receiver.by_idempotency_key() == {request.headers["webhook-id"]: 1}


def test_the_customer_gets_the_agents_reply_by_email_in_the_tickets_thread(desk: Desk):
    _setup(desk)
    ticket = _open(desk)
    answer = desk.client.post(
        f"/api/v1/tickets/{ticket}/comments", json={"body": "Please clear your cookies."}, headers=desk.headers["agent"]
    )
    assert answer.status_code == 201
    with smtp_receiver() as smtp:
        settings = Settings(smtp_host=smtp.host, smtp_port=smtp.port, mail_from="support@desk.example")
        assert Worker(desk.sessions, settings, clock=desk.clock).run_once().sent == 1
        [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("customer@example.com",)
    assert mail.message["Subject"] == f"[#{ticket}] Login fails"
    assert mail.message["In-Reply-To"] == f"<ticket-{ticket}-thread@desk.example>"
    assert "Please clear your cookies." in mail.message.get_content()


def test_an_undeliverable_message_is_dead_listed_for_admins_and_retried_on_request(desk: Desk):
    _setup(desk)
    with http_receiver() as receiver:
        receiver.answer("/hooks", 400, body=b"unknown event")
        desk.client.post(
            "/api/v1/subscriptions",
            json={"kind": "chat", "url": receiver.url("/hooks"), "event_types": ["*"]},
            headers=desk.headers["boss"],
        )
        _open(desk)
        worker = Worker(desk.sessions, Settings(), clock=desk.clock)
        assert worker.run_once().dead == 1

        dead = desk.client.get("/api/v1/outbox?status=dead", headers=desk.headers["boss"])
        assert desk.client.get("/api/v1/outbox", headers=desk.headers["agent"]).status_code == 403
        [message] = dead.json()
        assert (message["kind"], message["attempts"]) == ("chat", 1)
        assert "400" in message["last_error"]

        receiver.answer("/hooks", 200)
        retried = desk.client.post(f"/api/v1/outbox/{message['id']}/retry", headers=desk.headers["boss"])
        assert retried.json()["status"] == "pending"
        assert worker.run_once().sent == 1
        again = desk.client.post(f"/api/v1/outbox/{message['id']}/retry", headers=desk.headers["boss"])
        assert again.status_code == 409
        assert [r.json()["text"].startswith("#") for r in receiver.wait_for(2)] == [True, True]


def test_subscriptions_refuse_unknown_event_types_and_non_http_urls(desk: Desk):
    _setup(desk)
    bad_type = desk.client.post(
        "/api/v1/subscriptions",
        json={"kind": "webhook", "url": "https://hooks.example/x", "event_types": ["ticket.exploded"]},
        headers=desk.headers["boss"],
    )
    bad_url = desk.client.post(
        "/api/v1/subscriptions",
        json={"kind": "webhook", "url": "file:///etc/passwd", "event_types": ["*"]},
        headers=desk.headers["boss"],
    )
    assert (bad_type.status_code, bad_url.status_code) == (422, 422)
    assert "event_types[0]" in bad_type.text
    assert "url" in bad_url.text


def test_metrics_report_timers_and_the_outbox(desk: Desk):
    _setup(desk)
    _open(desk)
    text = desk.client.get("/metrics").text
    assert "sladesk_timers_pending 2.0" in text  # Sev2's first-response warning and due
    assert 'sladesk_outbox_messages{status="pending"} 0.0' in text
