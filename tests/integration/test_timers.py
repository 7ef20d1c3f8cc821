"""Timers: planned with every change, fired once by the worker at their instant, acting through the seam.

Instants worked out by hand:
- Alleo Sev1 (4 h first response, Mon-Fri 08:00-17:00 New York, warning at 75%) opened Monday 7 December
  2026 at 09:00 EST: warning at 12:00 EST (17:00Z), due at 13:00 EST (18:00Z).
- Choozle S2 moved to awaiting_customer and marked believed resolved on Monday 7 December at 10:00 MST
  (17:00Z): auto-close after 3 business days of the business week (24 h each) on Thursday 10 December at
  10:00 MST (17:00Z), the notice one business day before, Wednesday 9 December 10:00 MST (17:00Z).
- Alli P1 opened Monday 7 December at 08:00 CST (14:00Z): internal and external updates due hourly, at any
  hour, first at 09:00 CST (15:00Z).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.clocks import load_events
from sladesk.sla.events import CloseNoticeEvent, CommsEvent, IncidentEvent, SlaEvent, StatusEvent
from sladesk.store import reading
from sladesk.store.tables import OutboxMessage, Ticket, Timer
from tests.support.desk import Desk
from tests.support.units import committed

open_ticket = committed(ticket_services.open_ticket)
reply = committed(ticket_services.reply)
change_status = committed(ticket_services.change_status)
mark_believed_resolved = committed(ticket_services.mark_believed_resolved)
post_comms_update = committed(ticket_services.post_comms_update)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Sent:
    """Stands in for the channels at the edge: every message the worker hands over, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        self.messages.append((kind, payload, key))

    def to(self, address: str) -> list[dict[str, Any]]:
        return [payload for kind, payload, _ in self.messages if kind == "email" and address in payload["to"]]


@pytest.fixture
def sent() -> Sent:
    return Sent()


def _worker(desk: Desk, sent: Sent) -> Worker:
    settings = Settings(smtp_host="smtp.desk.example", mail_domain="desk.example")
    return Worker(desk.sessions, settings, clock=desk.clock, send=sent)


def _desk(desk: Desk, policy: str) -> int:
    organisation = desk.organisation("Acme", policy)
    desk.user("customer", Role.CUSTOMER, organisation)
    desk.user("agent", Role.AGENT)
    desk.user("boss", Role.ADMIN)
    return organisation


def _open(desk: Desk, organisation: int, severity: int | str) -> int:
    change = open_ticket(
        desk.sessions,
        desk.actors["agent"],
        subject="Campaigns stopped",
        description="Nothing is delivering.",
        severity=severity,
        organisation_id=organisation,
        requester_id=desk.ids["customer"],
        now=desk.clock(),
    )
    return change.ticket.id


def _timers(desk: Desk, ticket_id: int, *, fired: bool = False) -> list[tuple[str, str | None, datetime]]:
    with reading(desk.sessions) as session:
        rows = session.scalars(
            select(Timer)
            .where(Timer.ticket_id == ticket_id, Timer.fired_at.is_not(None) if fired else Timer.fired_at.is_(None))
            .order_by(Timer.due_at, Timer.kind)
        )
        return [(row.kind, row.metric, row.due_at) for row in rows]


def _history(desk: Desk, ticket_id: int) -> list[Any]:
    with reading(desk.sessions) as session:
        return load_events(session, ticket_id)


def test_a_sev1_plans_its_warning_and_due_and_the_worker_warns_the_team_once(desk: Desk, sent: Sent):
    ticket = _open(desk, _desk(desk, "alleo"), 1)
    assert _timers(desk, ticket) == [
        ("warning", "first_response", utc("2026-12-07T17:00:00Z")),
        ("breached", "first_response", utc("2026-12-07T18:00:00Z")),
    ]
    with reading(desk.sessions) as session:
        assert session.get_one(Ticket, ticket).next_timer_at == utc("2026-12-07T17:00:00Z")
    worker = _worker(desk, sent)

    desk.clock.set("2026-12-07T16:59:59Z")
    assert worker.run_once().fired == 0

    desk.clock.set("2026-12-07T17:00:00.400000Z")
    first = worker.run_once()
    again = worker.run_once()

    assert (first.fired, first.sent, again.fired, again.sent) == (1, 1, 0, 0)
    warning = _history(desk, ticket)[-1]
    assert isinstance(warning, SlaEvent)
    assert (warning.moment, warning.metric, warning.reached_at) == (
        "warning",
        "first_response",
        utc("2026-12-07T17:00:00Z"),
    )
    assert warning.notified == ("agent <agent@example.com> by email",)  # unassigned: the team, not the managers
    [mail] = sent.to("agent@example.com")
    assert mail["subject"] == f"[#{ticket}] Campaigns stopped"
    assert "first_response: warning reached at 2026-12-07T12:00:00-05:00" in mail["text"]  # the policy's time
    assert mail["in_reply_to"] == f"<ticket-{ticket}-thread@desk.example>"
    assert _timers(desk, ticket) == [("breached", "first_response", utc("2026-12-07T18:00:00Z"))]


def test_a_breach_tells_the_managers_and_a_second_worker_finds_nothing_to_fire(desk: Desk, sent: Sent):
    ticket = _open(desk, _desk(desk, "alleo"), 1)
    desk.clock.set("2026-12-07T18:00:00Z")
    one, two = _worker(desk, sent), _worker(desk, sent)

    done = one.run_once()
    # the warning is found too late to mean anything (the clock is already due): skipped, the breach says it
    assert (done.fired, done.skipped, two.run_once().fired) == (1, 1, 0)

    kinds = [(e.moment, e.notified) for e in _history(desk, ticket) if isinstance(e, SlaEvent)]
    assert kinds == [
        ("breached", ("agent <agent@example.com> by email", "boss <boss@example.com> by email")),
    ]
    assert len(sent.to("boss@example.com")) == 1
    assert _timers(desk, ticket) == []
    assert [kind for kind, _, _ in _timers(desk, ticket, fired=True)] == ["warning", "breached"]


def test_a_reply_before_the_due_instant_takes_its_timers_away(desk: Desk, sent: Sent):
    ticket = _open(desk, _desk(desk, "alleo"), 1)
    desk.clock.set("2026-12-07T16:30:00Z")
    reply(desk.sessions, desk.actors["agent"], ticket, "We are on it.", now=desk.clock())
    assert _timers(desk, ticket) == []

    desk.clock.set("2026-12-07T18:00:01Z")
    done = _worker(desk, sent).run_once()

    assert done.fired == 0
    assert not any(isinstance(event, SlaEvent) for event in _history(desk, ticket))
    [copy] = sent.to("customer@example.com")  # the customer gets the agent's public reply, nothing else
    assert "We are on it." in copy["text"]


def test_choozle_closes_a_believed_resolved_ticket_after_three_business_days_with_a_notice_first(
    desk: Desk, sent: Sent
):
    organisation = _desk(desk, "choozle")
    desk.clock.set("2026-12-07T16:00:00Z")
    ticket = _open(desk, organisation, "S2")
    desk.clock.set("2026-12-07T17:00:00Z")
    agent = desk.actors["agent"]
    reply(desk.sessions, agent, ticket, "Fixed on our side; please confirm.", now=desk.clock())
    change_status(desk.sessions, agent, ticket, "awaiting_customer", now=desk.clock())
    assert _timers(desk, ticket) == []  # not marked believed resolved: no auto-close

    mark_believed_resolved(desk.sessions, agent, ticket, True, "The feed recovered", now=desk.clock())
    assert _timers(desk, ticket) == [
        ("close_notice", None, utc("2026-12-09T17:00:00Z")),
        ("auto_close", None, utc("2026-12-10T17:00:00Z")),
    ]
    worker = _worker(desk, sent)
    desk.clock.set("2026-12-09T17:00:00.2Z")
    assert worker.run_once().fired == 1
    notice = _history(desk, ticket)[-1]
    assert isinstance(notice, CloseNoticeEvent)
    assert notice.close_at == utc("2026-12-10T17:00:00Z")
    assert notice.notified == ("customer <customer@example.com> by email",)

    desk.clock.set("2026-12-10T17:00:00.2Z")
    assert worker.run_once().fired == 1
    closed = _history(desk, ticket)[-1]
    assert isinstance(closed, StatusEvent)
    assert closed.to == "resolved"
    assert closed.reason is not None and "believes the issue is resolved" in closed.reason
    with reading(desk.sessions) as session:
        assert session.get_one(Ticket, ticket).status == "resolved"
    subjects = [mail["text"] for mail in sent.to("customer@example.com")]
    assert len(subjects) == 4  # the reply, the awaiting-customer status, the notice, the close
    assert "closes automatically at 2026-12-10T10:00:00-07:00" in subjects[2]  # Denver time


def test_a_customer_update_after_the_note_cancels_the_auto_close(desk: Desk, sent: Sent):
    organisation = _desk(desk, "choozle")
    ticket = _open(desk, organisation, "S2")
    agent = desk.actors["agent"]
    change_status(desk.sessions, agent, ticket, "awaiting_customer", now=desk.clock())
    mark_believed_resolved(desk.sessions, agent, ticket, True, now=desk.clock())

    def closing() -> list[str]:
        return [kind for kind, _, _ in _timers(desk, ticket) if kind in ("close_notice", "auto_close")]

    assert closing() == ["close_notice", "auto_close"]
    reply(desk.sessions, desk.actors["customer"], ticket, "Still broken here.", now=desk.clock())
    assert closing() == []


def test_an_alli_p1_reminds_the_team_when_each_update_is_overdue(desk: Desk, sent: Sent):
    organisation = _desk(desk, "alli")
    desk.clock.set("2026-12-07T14:00:00Z")
    ticket = _open(desk, organisation, "P1")
    assert _timers(desk, ticket) == [
        ("incident", "start", utc("2026-12-07T14:00:00Z")),
        ("comms_overdue", "external", utc("2026-12-07T15:00:00Z")),
        ("comms_overdue", "internal", utc("2026-12-07T15:00:00Z")),
    ]
    worker = _worker(desk, sent)
    desk.clock.set("2026-12-07T15:00:00.5Z")
    assert worker.run_once().fired == 3
    # a P1 pages on-call, but this desk keeps no escalation policy `default`: the history says so
    [incident] = [e for e in _history(desk, ticket) if isinstance(e, IncidentEvent)]
    assert incident.reason == "the desk has no escalation policy 'default', so nobody is paged"
    reminders = [e for e in _history(desk, ticket) if isinstance(e, CommsEvent)]
    assert sorted((e.channel, e.due_at) for e in reminders) == [
        ("external", utc("2026-12-07T15:00:00Z")),
        ("internal", utc("2026-12-07T15:00:00Z")),
    ]
    assert len(sent.to("agent@example.com")) == 2

    desk.clock.set("2026-12-07T15:10:00Z")
    post_comms_update(desk.sessions, desk.actors["agent"], ticket, "internal", "Engineers paged", now=desk.clock())
    assert _timers(desk, ticket) == [
        ("comms_overdue", "external", utc("2026-12-07T16:00:00.500000Z")),
        ("comms_overdue", "internal", utc("2026-12-07T16:10:00Z")),
    ]


def test_a_failing_channel_is_retried_with_backoff_and_then_left_dead(desk: Desk):
    from sladesk.notify import MAX_ATTEMPTS, DeliveryFailed

    ticket = _open(desk, _desk(desk, "alleo"), 1)
    attempts: list[str] = []

    def refuse(kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        attempts.append(key)
        raise DeliveryFailed("connection refused", True)

    worker = Worker(desk.sessions, Settings(smtp_host="smtp.desk.example"), clock=desk.clock, send=refuse)
    desk.clock.set("2026-12-07T17:00:00Z")
    worker.run_once()
    for _ in range(MAX_ATTEMPTS + 2):
        desk.clock.advance(hours=2)
        worker.run_once()

    with reading(desk.sessions) as session:
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket)).all()
    # the warning to the team, then the breach to the team and the managers: each tried MAX_ATTEMPTS times
    assert [(m.status, m.attempts, m.last_error) for m in messages] == [
        ("dead", MAX_ATTEMPTS, "connection refused")
    ] * 3
    assert len(attempts) == 3 * MAX_ATTEMPTS
    assert len(set(attempts)) == 3


def test_staff_see_what_the_desk_will_do_next_and_customers_do_not(desk: Desk):
    organisation = _desk(desk, "alli")
    desk.clock.set("2026-12-07T14:00:00Z")
    ticket = _open(desk, organisation, "P1")

    staff = desk.client.get(f"/api/v1/tickets/{ticket}/sla", headers=desk.headers["agent"]).json()
    customer = desk.client.get(f"/api/v1/tickets/{ticket}/sla", headers=desk.headers["customer"]).json()

    assert staff["upcoming"] == [
        {"kind": "incident", "subject": "start", "at": "2026-12-07T08:00:00-06:00"},
        {"kind": "comms_overdue", "subject": "external", "at": "2026-12-07T09:00:00-06:00"},
        {"kind": "comms_overdue", "subject": "internal", "at": "2026-12-07T09:00:00-06:00"},
    ]
    assert "upcoming" not in customer


def test_a_persons_quiet_hours_hold_their_notification_until_they_end(desk: Desk, sent: Sent):
    ticket = _open(desk, _desk(desk, "alleo"), 1)
    mine = desk.client.patch(
        f"/api/v1/users/{desk.ids['agent']}",
        json={"timezone": "America/New_York", "quiet_hours": "11:30-12:30"},
        headers=desk.headers["agent"],
    )
    assert mine.status_code == 200, mine.text
    assert (mine.json()["timezone"], mine.json()["quiet_hours"]) == ("America/New_York", "11:30-12:30")
    renamed = desk.client.patch(
        f"/api/v1/users/{desk.ids['agent']}", json={"name": "Boss now"}, headers=desk.headers["agent"]
    )
    bad = desk.client.patch(
        f"/api/v1/users/{desk.ids['agent']}", json={"quiet_hours": "late"}, headers=desk.headers["agent"]
    )
    assert (renamed.status_code, bad.status_code) == (403, 422)
    assert "quiet_hours" in bad.text

    worker = _worker(desk, sent)
    desk.clock.set("2026-12-07T17:00:00.5Z")  # the warning, at 12:00 in New York: inside the quiet hours
    assert (worker.run_once().fired, sent.to("agent@example.com")) == (1, [])
    desk.clock.set("2026-12-07T17:30:00Z")  # 12:30: they end
    worker.run_once()
    assert [mail["subject"] for mail in sent.to("agent@example.com")] == [f"[#{ticket}] Campaigns stopped"]


def test_email_waits_unattempted_while_no_smtp_server_is_configured(desk: Desk, sent: Sent):
    ticket = _open(desk, _desk(desk, "alleo"), 1)
    desk.clock.set("2026-12-07T17:00:00.5Z")
    done = Worker(desk.sessions, Settings(), clock=desk.clock, send=sent).run_once()
    with reading(desk.sessions) as session:
        [message] = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket)).all()
    assert (done.fired, done.sent, sent.messages) == (1, 0, [])
    assert (message.status, message.attempts) == ("pending", 0)


def test_the_workers_hourly_chores_forget_old_idempotency_keys(desk: Desk):
    from datetime import timedelta

    from sladesk.jobs.chores import default_chores
    from sladesk.store.tables import IdempotencyKey

    _desk(desk, "alleo")
    answer = desk.client.post(
        "/api/v1/tickets",
        json={"subject": "Down", "description": "All of it", "severity": 1},
        headers={**desk.headers["customer"], "Idempotency-Key": "k-1"},
    )
    assert answer.status_code == 201
    worker = Worker(desk.sessions, Settings(), clock=desk.clock, chores=default_chores(Settings(), desk.attachments))

    def keys() -> int:
        with reading(desk.sessions) as session:
            return len(session.scalars(select(IdempotencyKey)).all())

    worker.run_once()
    assert keys() == 1  # a day's retention
    desk.clock.advance(timedelta(hours=25))
    worker.run_once()
    assert keys() == 0


ESCALATING = """
notifications:
  - {on: breached, notify: [assignee]}
  - {on: breached, notify: [managers], after: 1h}
"""


def _escalating_desk(desk: Desk) -> int:
    from sladesk.policy import builtin_source

    desk.user("boss", Role.ADMIN)
    source = builtin_source("alleo").replace("id: alleo\n", "id: alleo_escalating\n", 1) + ESCALATING
    uploaded = desk.client.post(
        "/api/v1/policies", content=source, headers={**desk.headers["boss"], "Content-Type": "application/yaml"}
    )
    assert uploaded.status_code == 201, uploaded.text
    organisation = desk.organisation("Acme", "alleo_escalating")
    desk.user("customer", Role.CUSTOMER, organisation)
    desk.user("agent", Role.AGENT)
    return organisation


def test_a_breach_still_open_an_hour_later_is_raised_to_the_managers(desk: Desk, sent: Sent):
    ticket = _open(desk, _escalating_desk(desk), 1)
    worker = _worker(desk, sent)
    desk.clock.set("2026-12-07T18:00:00.2Z")  # due at 13:00 in New York
    worker.run_once()
    assert (len(sent.to("agent@example.com")), sent.to("boss@example.com")) == (1, [])
    assert _timers(desk, ticket) == [("notify", "breached:first_response:1", utc("2026-12-07T19:00:00Z"))]

    desk.clock.set("2026-12-07T19:00:00.2Z")
    assert worker.run_once().fired == 1
    raised = _history(desk, ticket)[-1]
    assert raised.describe() == (
        "first_response: still breached since 2026-12-07T13:00:00-05:00; notified boss <boss@example.com> by email"
    )
    assert len(sent.to("boss@example.com")) == 1


def test_a_reply_within_the_hour_keeps_the_managers_out_of_it(desk: Desk, sent: Sent):
    ticket = _open(desk, _escalating_desk(desk), 1)
    worker = _worker(desk, sent)
    desk.clock.set("2026-12-07T18:00:00.2Z")
    worker.run_once()
    desk.clock.set("2026-12-07T18:30:00Z")
    reply(desk.sessions, desk.actors["agent"], ticket, "Sorry for the wait: on it.", now=desk.clock())
    desk.clock.set("2026-12-07T19:00:00.2Z")
    assert worker.run_once().fired == 0
    assert sent.to("boss@example.com") == []
