"""Timers fired a batch at a time, and a delivery pass sharing its connections.

Alli P1 opened Monday 7 December 2026 at 08:00 CST (14:00Z): internal and external updates due hourly, at any
hour, first at 09:00 CST (15:00Z), so each ticket has two timers due at that instant. The desk runs Alli's
policy without its paging (`paging: null`, a desk that keeps no on-call), so those are its only timers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.notify import Channels
from sladesk.services import Role, delivery
from sladesk.services import tickets as ticket_services
from sladesk.services.clocks import load_events
from sladesk.services.policies import upload_policy
from sladesk.services.timers import fire_due_timers
from sladesk.sla.events import CommsEvent
from sladesk.store import reading, transaction
from sladesk.store.tables import OutboxMessage, Ticket, Timer
from tests.support.desk import Desk
from tests.support.receivers import SmtpReceiver, smtp_receiver
from tests.support.units import committed
from tests.support.variants import variant

open_ticket = committed(ticket_services.open_ticket)
post_comms_update = committed(ticket_services.post_comms_update)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sent() -> tuple[list[tuple[str, str]], Any]:
    sent: list[tuple[str, str]] = []

    def send(kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        sent.append((kind, key))

    return sent, send


def _open_p1s(desk: Desk, count: int) -> list[int]:
    desk.user("admin", Role.ADMIN)
    quiet = variant("alli", "alli_unpaged", paging=None)
    committed(upload_policy)(desk.sessions, desk.actors["admin"], quiet, now=desk.clock())
    organisation = desk.organisation("Acme", "alli_unpaged")
    desk.user("customer", Role.CUSTOMER, organisation)
    desk.user("agent", Role.AGENT)
    desk.clock.set("2026-12-07T14:00:00Z")
    return [
        open_ticket(
            desk.sessions,
            desk.actors["agent"],
            subject=f"Campaigns stopped ({number})",
            description="Nothing is delivering.",
            severity="P1",
            organisation_id=organisation,
            requester_id=desk.ids["customer"],
            now=desk.clock(),
        ).ticket.id
        for number in range(count)
    ]


def test_one_pass_fires_every_ticket_as_firing_it_alone_would(desk: Desk):
    tickets = _open_p1s(desk, 7)
    sent, send = _sent()
    worker = Worker(desk.sessions, Settings(smtp_host="smtp.desk.example"), clock=desk.clock, send=send)
    desk.clock.set("2026-12-07T15:00:00.5Z")

    done = worker.run_once()

    assert (done.fired, done.skipped, done.busy) == (14, 0, 0)
    with reading(desk.sessions) as session:
        for ticket_id in tickets:
            reminders = [e for e in load_events(session, ticket_id) if isinstance(e, CommsEvent)]
            assert sorted((e.channel, e.due_at) for e in reminders) == [
                ("external", utc("2026-12-07T15:00:00Z")),
                ("internal", utc("2026-12-07T15:00:00Z")),
            ]
            fired = session.execute(
                select(Timer.metric, Timer.outcome, Timer.fired_at).where(
                    Timer.ticket_id == ticket_id, Timer.fired_at.is_not(None)
                )
            ).all()
            assert sorted(fired) == [
                ("external", "acted", utc("2026-12-07T15:00:00.5Z")),
                ("internal", "acted", utc("2026-12-07T15:00:00.5Z")),
            ]
            unfired = session.execute(
                select(Timer.metric, Timer.due_at, Timer.ticket_version).where(
                    Timer.ticket_id == ticket_id, Timer.fired_at.is_(None)
                )
            ).all()
            assert sorted(unfired) == [
                ("external", utc("2026-12-07T16:00:00.5Z"), 3),
                ("internal", utc("2026-12-07T16:00:00.5Z"), 3),
            ]
            ticket = session.get_one(Ticket, ticket_id)
            assert (ticket.version, ticket.next_timer_at) == (3, utc("2026-12-07T16:00:00.5Z"))
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 14
    assert sorted(kind for kind, _ in sent) == ["email"] * 14
    assert len({key for _, key in sent}) == 14
    assert worker.run_once().fired == 0


def test_an_update_before_the_instant_leaves_that_reminder_out_of_the_batch(desk: Desk):
    tickets = _open_p1s(desk, 3)
    desk.clock.set("2026-12-07T14:59:00Z")
    post_comms_update(desk.sessions, desk.actors["agent"], tickets[1], "internal", "Engineers paged", now=desk.clock())
    _, send = _sent()
    worker = Worker(desk.sessions, Settings(smtp_host="smtp.desk.example"), clock=desk.clock, send=send)
    desk.clock.set("2026-12-07T15:00:00.5Z")

    assert worker.run_once().fired == 5  # the update moved the second ticket's internal timer an hour on
    with reading(desk.sessions) as session:
        events = load_events(session, tickets[1])
    overdue = [e.channel for e in events if isinstance(e, CommsEvent) and e.action == "overdue"]
    assert overdue == ["external"]


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver() as receiver:
        yield receiver


def _mail(number: int) -> dict[str, Any]:
    return {
        "to": ["Dana Customer <dana@customer.example>"],
        "subject": f"[#{number}] Checkout fails",
        "text": "Hello Dana,\n",
        "message_id": f"<ticket-{number}.event-1@desk.example>",
    }


def test_a_pass_hands_all_its_mail_to_one_smtp_connection_and_opens_another_when_it_is_closed(smtp: SmtpReceiver):
    settings = Settings(smtp_host=smtp.host, smtp_port=smtp.port, mail_from="support@desk.example")
    with Channels(settings) as channels:
        for number in range(3):
            channels.deliver("email", _mail(number), f"outbox-{number}", settings)
        mailer = channels._smtp()
        assert mailer._smtp is not None
        mailer._smtp.sock.close()  # type: ignore[union-attr]  # the server's side ends the idle connection
        channels.deliver("email", _mail(3), "outbox-3", settings)

    received = smtp.wait_for(4)
    assert [mail.message["Message-ID"] for mail in received] == [_mail(n)["message_id"] for n in range(4)]


def test_each_timer_a_pass_fires_is_named_by_its_row_also_when_a_replan_made_it(desk: Desk):
    tickets = _open_p1s(desk, 2)
    desk.clock.set("2026-12-07T15:00:00.5Z")
    with transaction(desk.sessions) as session:
        fired = fire_due_timers(session, desk.clock(), limit=1)  # one row claimed: its sibling comes from the replan
    with reading(desk.sessions) as session:
        rows = session.execute(select(Timer.id, Timer.ticket_id, Timer.metric).where(Timer.fired_at.is_not(None))).all()
    assert sorted((t.id, t.ticket_id, t.metric) for t in fired.acted) == sorted(rows)
    assert len(rows) == 2 and {row.ticket_id for row in rows} == {tickets[0]}


def test_a_pass_whose_lease_runs_out_hands_back_what_it_has_not_tried(desk: Desk, monkeypatch: pytest.MonkeyPatch):
    _open_p1s(desk, 2)
    desk.clock.set("2026-12-07T15:00:00.5Z")
    sent, send = _sent()
    worker = Worker(desk.sessions, Settings(smtp_host="smtp.desk.example"), clock=desk.clock, send=send)
    monkeypatch.setattr(delivery, "lease", lambda settings: timedelta(0))  # half of it is gone at once

    done = worker.run_once()

    assert (done.fired, done.sent, sent) == (4, 0, [])
    with reading(desk.sessions) as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.available_at)).all()
    assert rows == [("pending", 0, utc("2026-12-07T15:00:00.5Z"))] * 4
    monkeypatch.undo()
    assert worker.run_once().sent == 4


def test_in_a_backlog_a_worker_fires_first_and_delivers_every_five_seconds(desk: Desk, monkeypatch):
    monkeypatch.setattr("sladesk.jobs.worker.TIMER_BATCH", 4)  # 6 tickets, 12 timers due: three full passes
    _open_p1s(desk, 6)
    sent, send = _sent()
    worker = Worker(desk.sessions, Settings(smtp_host="smtp.desk.example"), clock=desk.clock, send=send)
    desk.clock.set("2026-12-07T15:00:00.5Z")

    # Each firing queues one email (the overdue reminder to the agents while the ticket is unassigned).
    first = worker.run_once()  # a worker's first pass delivers: it has not delivered yet
    assert (first.fired, first.sent) == (4, 4)
    desk.clock.advance(timedelta(seconds=1))
    second = worker.run_once()
    assert (second.fired, second.sent) == (4, 0)  # 1 s since the last delivery: firing goes first
    desk.clock.advance(timedelta(seconds=4))
    third = worker.run_once()
    assert (third.fired, third.sent) == (4, 8)  # 5 s since: the messages of the first two passes go out
    assert len(sent) == 12
