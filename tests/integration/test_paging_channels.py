"""A page reaching people through their own notification rules, delivered for real to local servers, on both
databases: email and chat at once, a PagerDuty trigger five minutes later, then PagerDuty's `acknowledge` and
`resolve` for the same incident; a rule still waiting when the incident is acknowledged never goes.

The desk is the one of `test_paging.py`: Prairie Media on Alli (a P1 pages on-call), the `night` escalation
policy pages the `primary` schedule's person at once (Ann, on call on Sunday 29 November 2026 at 03:00 in
Chicago), then Cy after 5 minutes, then the lead Morgan 10 minutes later. Mail goes to an aiosmtpd server and
chat and PagerDuty events to an HTTP server, both on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.services import tickets as ticket_services
from sladesk.services.clocks import load_events
from sladesk.sla.events import PageEvent
from sladesk.store import reading
from sladesk.store.tables import OutboxMessage
from tests.support.desk import Desk
from tests.support.paging import SUNDAY_3AM, open_p1, paging_desk
from tests.support.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver
from tests.support.units import committed

PAGED_AT = SUNDAY_3AM + timedelta(milliseconds=500)  # when the worker records the first page
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
OTHER_KEY = "0THERKEY0123456789abcdefABCDEFGH"
open_ticket = committed(ticket_services.open_ticket)
change_status = committed(ticket_services.change_status)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver() as receiver:
        yield receiver


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def paging(desk: Desk) -> Desk:
    return paging_desk(desk, with_days=False)


def _worker(desk: Desk, smtp: SmtpReceiver) -> Worker:
    settings = Settings(
        smtp_host=smtp.host, smtp_port=smtp.port, mail_from="support@desk.example", delivery_timeout_seconds=5
    )
    return Worker(desk.sessions, settings, clock=desk.clock)


def _set_rules(desk: Desk, key: str, rules: list[dict[str, Any]]) -> None:
    answer = desk.client.put(
        f"/api/v1/users/{desk.ids[key]}/notification-rules", json={"rules": rules}, headers=desk.headers[key]
    )
    assert answer.status_code == 200, answer.text


def _incident(desk: Desk, ticket: int, action: str, key: str = "ann") -> None:
    answer = desk.client.post(f"/api/v1/tickets/{ticket}/incident/{action}", headers=desk.headers[key])
    assert answer.status_code == 200, answer.text


def _posted(http: HttpReceiver, path: str) -> list[dict[str, Any]]:
    return [request.json() for request in http.requests if request.path == path]


def test_email_and_chat_at_once_pagerduty_after_five_minutes_then_acknowledge_and_resolve(
    paging: Desk, smtp: SmtpReceiver, http: HttpReceiver
):
    pagerduty = http.url("/pagerduty")
    _set_rules(
        paging,
        "ann",
        [
            {"after": "0m", "channel": "email"},
            {"after": "0m", "channel": "chat", "to": http.url("/chat/ann")},
            {"after": "5m", "channel": "pagerduty", "to": ROUTING_KEY, "url": pagerduty},
        ],
    )
    quiet = paging.client.patch(
        f"/api/v1/users/{paging.ids['ann']}", json={"quiet_hours": "22:00-07:00"}, headers=paging.headers["ann"]
    )
    assert quiet.status_code == 200, quiet.text
    worker = _worker(paging, smtp)
    ticket = open_p1(paging)

    paging.clock.set(PAGED_AT)
    worker.run_once()  # the incident starts, step 1 pages Ann, and her email and chat message go out at 03:00,
    # inside her quiet hours: pages ignore them
    [mail] = smtp.messages
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail.message["Subject"] == f"[#{ticket}] Every dashboard is empty"
    assert mail.message["X-Sladesk-Idempotency-Key"].endswith("-rule-0")
    assert _posted(http, "/chat/ann") == [
        {"text": f"Page for ann: P1 #{ticket} Every dashboard is empty (escalation step 1, round 1)"}
    ]
    assert _posted(http, "/pagerduty") == []

    paging.clock.set(PAGED_AT + timedelta(minutes=5) - timedelta(milliseconds=1))
    worker.run_once()  # Cy's step (due at 03:05:00.000) pages him by email; Ann's trigger waits 1 ms more
    assert [m.rcpt_tos for m in smtp.messages] == [("ann@example.com",), ("cy@example.com",)]
    assert _posted(http, "/pagerduty") == []

    paging.clock.set(PAGED_AT + timedelta(minutes=5))
    worker.run_once()
    trigger = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": f"sladesk-ticket-{ticket}",
        "payload": {
            "summary": f"P1 #{ticket} Every dashboard is empty",
            "source": "sladesk",
            "severity": "critical",
            "custom_details": {
                "ticket": ticket,
                "subject": "Every dashboard is empty",
                "severity": "P1",
                "paged": "ann",
                "step": "escalation step 1, round 1",
            },
        },
    }
    assert _posted(http, "/pagerduty") == [trigger]

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=7))
    _incident(paging, ticket, "acknowledge")
    worker.run_once()
    acknowledge = {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": f"sladesk-ticket-{ticket}"}
    assert _posted(http, "/pagerduty") == [trigger, acknowledge]

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=9))
    _incident(paging, ticket, "resolve")
    worker.run_once()
    resolve = {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": f"sladesk-ticket-{ticket}"}
    assert _posted(http, "/pagerduty") == [trigger, acknowledge, resolve]
    assert len(_posted(http, "/chat/ann")) == 1
    assert all(count == 1 for count in http.by_idempotency_key().values())


def test_a_rule_due_after_the_acknowledgement_is_never_sent(paging: Desk, smtp: SmtpReceiver, http: HttpReceiver):
    _set_rules(
        paging,
        "ann",
        [
            {"after": "0m", "channel": "pagerduty", "to": ROUTING_KEY, "url": http.url("/pagerduty")},
            {"after": "3m", "channel": "chat", "to": http.url("/chat/ann")},
            {"after": "10m", "channel": "pagerduty", "to": OTHER_KEY, "url": http.url("/pagerduty-phone")},
        ],
    )
    worker = _worker(paging, smtp)
    ticket = open_p1(paging)
    paging.clock.set(PAGED_AT)
    worker.run_once()
    assert [body["event_action"] for body in _posted(http, "/pagerduty")] == ["trigger"]

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=2))
    _incident(paging, ticket, "acknowledge")
    paging.clock.set(SUNDAY_3AM + timedelta(minutes=30))
    worker.run_once()
    worker.run_once()

    # the routing key that got a trigger hears of the acknowledgement; the chat message and the second
    # trigger, due at 03:03 and 03:10, never go, and the key they were for is told nothing
    assert [(b["routing_key"], b["event_action"]) for b in _posted(http, "/pagerduty")] == [
        (ROUTING_KEY, "trigger"),
        (ROUTING_KEY, "acknowledge"),
    ]
    assert _posted(http, "/chat/ann") == []
    assert _posted(http, "/pagerduty-phone") == []
    # Ann has no email rule; the lead's step at 03:15 pages him whether or not anyone acknowledged
    assert [mail.rcpt_tos for mail in smtp.messages] == [("morgan@example.com",)]
    with reading(paging.sessions) as session:
        rows = session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.idempotency_key)
            .where(OutboxMessage.ticket_id == ticket, OutboxMessage.kind != "email")
            .order_by(OutboxMessage.id)
        ).all()
    assert [(kind, status, key.rsplit("-", 2)[-2:]) for kind, status, key in rows] == [
        ("pagerduty", "sent", ["rule", "0"]),
        ("chat", "cancelled", ["rule", "1"]),
        ("pagerduty", "cancelled", ["rule", "2"]),
        ("pagerduty", "sent", ["pagerduty", "0"]),
    ]


def test_a_trigger_that_failed_and_waits_to_be_retried_still_goes_and_hears_of_the_acknowledgement(
    paging: Desk, smtp: SmtpReceiver, http: HttpReceiver
):
    _set_rules(paging, "ann", [{"after": "0m", "channel": "pagerduty", "to": ROUTING_KEY, "url": http.url("/pd")}])
    http.answer("/pd", 503)  # PagerDuty is having a bad minute: the trigger is retried after its backoff
    worker = _worker(paging, smtp)
    ticket = open_p1(paging)
    paging.clock.set(PAGED_AT)
    worker.run_once()
    assert [body["event_action"] for body in _posted(http, "/pd")] == ["trigger"]

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=2))
    _incident(paging, ticket, "acknowledge")  # it may have reached PagerDuty: it is not cancelled
    http.answer("/pd", 202)
    worker.run_once()
    # the retry (due within 30 s of the failure) goes before the acknowledgement (due at 03:02)
    assert [body["event_action"] for body in _posted(http, "/pd")] == ["trigger", "trigger", "acknowledge"]
    assert {body["dedup_key"] for body in _posted(http, "/pd")} == {f"sladesk-ticket-{ticket}"}


def test_without_rules_a_page_is_one_email_at_once(paging: Desk, smtp: SmtpReceiver, http: HttpReceiver):
    worker = _worker(paging, smtp)
    ticket = open_p1(paging)
    paging.clock.set(PAGED_AT)
    worker.run_once()
    [mail] = smtp.messages
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail.message["Subject"] == f"[#{ticket}] Every dashboard is empty"
    _incident(paging, ticket, "acknowledge")
    worker.run_once()
    assert http.requests == []  # nobody had a PagerDuty rule: no acknowledge goes anywhere


def test_people_read_and_replace_their_own_rules(paging: Desk):
    ann = paging.ids["ann"]
    url = f"/api/v1/users/{ann}/notification-rules"
    assert paging.client.get(url, headers=paging.headers["ann"]).json() == {
        "user_id": ann,
        "rules": [],
        "default": True,
    }
    rules = [{"after": "0m", "channel": "email"}, {"after": "90 minutes", "channel": "pagerduty", "to": ROUTING_KEY}]
    answer = paging.client.put(url, json={"rules": rules}, headers=paging.headers["ann"])
    expected = {
        "user_id": ann,
        "rules": [
            {"after": "0m", "channel": "email", "to": None, "url": None},
            {"after": "1h 30m", "channel": "pagerduty", "to": ROUTING_KEY, "url": None},
        ],
        "default": False,
    }
    assert (answer.status_code, answer.json()) == (200, expected)
    assert paging.client.get(url, headers=paging.headers["morgan"]).json() == expected  # an admin reads them
    cleared = paging.client.put(url, json={"rules": []}, headers=paging.headers["morgan"])  # and replaces them
    assert cleared.json() == {"user_id": ann, "rules": [], "default": True}


@pytest.mark.parametrize(
    ("rules", "field", "detail"),
    [
        ([{"after": "in a bit", "channel": "email"}], "rules.0.after", "rules.0.after: cannot read 'in a bit'"),
        ([{"after": "0m", "channel": "pager"}], "rules.0.channel", "rules.0.channel: Input should be"),
        (
            [{"after": "0m", "channel": "email"}, {"after": "5m", "channel": "pagerduty"}],
            "rules.1.to",
            "rules.1.to: required: the integration's routing key",
        ),
        ([{"after": "0m", "channel": "chat", "to": "not a url"}], "rules.0.to", "rules.0.to: only http and https"),
        ([{"after": "0m", "channel": "email"}] * 11, "rules", "rules: at most 10 rules, not 11"),
        ([{"after": "0m", "channel": "email", "delay": "1m"}], "rules.0.delay", "rules.0.delay: unknown field"),
    ],
)
def test_a_refused_rule_is_a_422_naming_the_field_and_nothing_is_stored(
    paging: Desk, rules: list[dict[str, Any]], field: str, detail: str
):
    ann = paging.ids["ann"]
    url = f"/api/v1/users/{ann}/notification-rules"
    before = [{"after": "0m", "channel": "email"}]
    _set_rules(paging, "ann", before)
    answer = paging.client.put(url, json={"rules": rules}, headers=paging.headers["ann"])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"] == field
    assert answer.json()["detail"].startswith(detail)
    assert paging.client.get(url, headers=paging.headers["ann"]).json()["rules"] == [
        {"after": "0m", "channel": "email", "to": None, "url": None}
    ]


def test_only_the_person_or_an_admin_and_never_for_a_customer(paging: Desk):
    ann, riley = paging.ids["ann"], paging.ids["riley"]
    body = {"rules": [{"after": "0m", "channel": "email"}]}
    other = paging.client.put(f"/api/v1/users/{ann}/notification-rules", json=body, headers=paging.headers["bo"])
    assert (other.status_code, other.json()["detail"]) == (403, "only admins manage other people's notification rules")
    mine = paging.client.get(f"/api/v1/users/{riley}/notification-rules", headers=paging.headers["riley"])
    assert (mine.status_code, mine.json()["detail"]) == (
        403,
        "customers are never paged, so they have no notification rules",
    )
    theirs = paging.client.put(f"/api/v1/users/{riley}/notification-rules", json=body, headers=paging.headers["morgan"])
    assert (theirs.status_code, theirs.json()["detail"]) == (
        409,
        f"user {riley} is a customer: customers are never paged and have no notification rules",
    )
    missing = paging.client.get("/api/v1/users/999/notification-rules", headers=paging.headers["morgan"])
    assert (missing.status_code, missing.json()["detail"]) == (404, "no user 999")


def test_resolving_the_paged_ticket_ends_the_incident_for_pagerduty_and_the_waiting_rules(
    paging: Desk, smtp: SmtpReceiver, http: HttpReceiver
):
    _set_rules(
        paging,
        "ann",
        [
            {"after": "0m", "channel": "pagerduty", "to": ROUTING_KEY, "url": http.url("/pagerduty")},
            {"after": "10m", "channel": "chat", "to": http.url("/chat/ann")},
        ],
    )
    worker = _worker(paging, smtp)
    ticket = open_p1(paging)
    paging.clock.set(PAGED_AT)
    worker.run_once()
    with reading(paging.sessions) as session:
        [page] = [e for e in load_events(session, ticket) if isinstance(e, PageEvent)]
    assert page.notified == ("ann <ann@example.com> by PagerDuty, by chat after 10m",)

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=4))  # nobody acknowledged: the agent resolves the ticket itself
    change_status(paging.sessions, paging.actors["ann"], ticket, "resolved", now=paging.clock())
    paging.clock.set(SUNDAY_3AM + timedelta(minutes=30))
    worker.run_once()
    worker.run_once()

    assert [(b["event_action"], b["dedup_key"]) for b in _posted(http, "/pagerduty")] == [
        ("trigger", f"sladesk-ticket-{ticket}"),
        ("resolve", f"sladesk-ticket-{ticket}"),
    ]
    assert _posted(http, "/chat/ann") == []  # due at 03:10, after the ticket was resolved
    # Cy's step at 03:05 never came either: a resolved ticket ends the incident (the customer hears it is resolved)
    assert [mail.rcpt_tos for mail in smtp.messages] == [("riley@example.com",)]

    cancelled = paging.client.get("/api/v1/outbox?status=cancelled", headers=paging.headers["morgan"])
    assert [m["kind"] for m in cancelled.json()] == ["chat"]
    retried = paging.client.post(f"/api/v1/outbox/{cancelled.json()[0]['id']}/retry", headers=paging.headers["morgan"])
    assert retried.status_code == 409 and "cancelled" in retried.json()["detail"]

    paging.clock.set(SUNDAY_3AM + timedelta(minutes=40))  # closing it afterwards tells PagerDuty nothing more
    change_status(paging.sessions, paging.actors["ann"], ticket, "closed", now=paging.clock())
    worker.run_once()
    assert len(_posted(http, "/pagerduty")) == 2
