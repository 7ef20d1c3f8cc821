"""Sourcegraph's overload notice through the worker's chore, on both databases.

The desk: Acme on Sourcegraph (enterprise tier) with two customers, Riley (who reads times in Chicago) and
Sam (no zone of their own nor their organisation's: the policy's UTC). The on-call schedule
`sourcegraph-support` (America/Chicago) has Ann and Bo taking turns by day, on weekdays 09:00-17:00 only:
Monday 30 November 2026 is Bo's day (15:00-23:00 UTC), Tuesday 1 December Ann's.

Sunday night, 03:00 UTC on Monday 30 November (21:00 in Chicago), nobody is on shift: the next shift
starts at 15:00 UTC, 09:00 in Chicago.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sladesk.config import Settings
from sladesk.jobs import Worker
from sladesk.jobs.chores import default_chores
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.clocks import load_events
from sladesk.services.oncall import create_schedule
from sladesk.services.overload import overload_notices_due, send_overload_notices
from sladesk.sla.events import NoticeEvent
from sladesk.store import reading, transaction
from sladesk.store.tables import TicketEvent
from tests.support.desk import Desk
from tests.support.units import committed, update_user

MONDAY_3AM_UTC = datetime.fromisoformat("2026-11-30T03:00:00+00:00")
open_ticket = committed(ticket_services.open_ticket)
reply = committed(ticket_services.reply)
TEXT = (
    "We have an unusually large amount of work right now, so it may take us longer than usual to answer."
    " Team members arriving at {} will be able to help you."
)


class Sent:
    """Stands in for the channels at the edge: every message the worker hands over, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, kind: str, payload: dict[str, Any], key: str, settings: Settings) -> None:
        self.messages.append((kind, payload, key))

    def emails_to(self, address: str) -> list[str]:
        return [payload["text"] for kind, payload, _ in self.messages if kind == "email" and address in payload["to"]]


@pytest.fixture
def sourcegraph(desk: Desk) -> Desk:
    desk.clock.set(MONDAY_3AM_UTC - timedelta(days=1))
    desk.user("morgan", Role.ADMIN)
    for key in ("ann", "bo"):
        desk.user(key, Role.AGENT)
    acme = desk.organisation("Acme", "sourcegraph", tier="enterprise")
    desk.user("riley", Role.CUSTOMER, acme)
    desk.user("sam", Role.CUSTOMER, acme)
    update_user(desk.sessions, desk.actors["riley"], desk.ids["riley"], {"timezone": "America/Chicago"})
    return desk


def _schedule(desk: Desk, slug: str = "sourcegraph-support") -> None:
    layers = [
        {
            "id": "days",
            "start": "2026-11-23T09:00",
            "rotation": "daily",
            "people": [desk.ids["ann"], desk.ids["bo"]],
            "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}],
        }
    ]
    committed(create_schedule)(
        desk.sessions, desk.actors["morgan"], slug, "Support", "America/Chicago", layers, now=desk.clock()
    )


def _open(desk: Desk, who: str, subject: str, at: datetime) -> int:
    desk.clock.set(at)
    change = open_ticket(
        desk.sessions, desk.actors[who], subject=subject, description="Details.", severity="p2", now=at
    )
    return change.ticket.id


def _worker(desk: Desk, sent: Sent) -> Worker:
    settings = Settings(smtp_host="smtp.desk.example", mail_domain="desk.example")
    return Worker(desk.sessions, settings, clock=desk.clock, send=sent, chores=default_chores(settings))


def _notices(desk: Desk, ticket_id: int) -> list[tuple[datetime, datetime, str, str, tuple[str, ...]]]:
    with reading(desk.sessions) as session:
        events = load_events(session, ticket_id)
    return [(e.at, e.arrival, e.cause, e.text, e.notified) for e in events if isinstance(e, NoticeEvent)]


def _all_notices(desk: Desk) -> int:
    with reading(desk.sessions) as session:
        return len(session.scalars(select(TicketEvent).where(TicketEvent.type == "overload_notice")).all())


def test_with_nobody_on_shift_each_waiting_customer_is_told_once_when_the_next_shift_starts(sourcegraph: Desk):
    desk = sourcegraph
    _schedule(desk)
    riley = _open(desk, "riley", "Search returns nothing", MONDAY_3AM_UTC - timedelta(hours=1))
    sam = _open(desk, "sam", "Indexing is stuck", MONDAY_3AM_UTC - timedelta(minutes=30))
    sent = Sent()
    worker = _worker(desk, sent)
    desk.clock.set(MONDAY_3AM_UTC)
    with reading(desk.sessions) as session:
        assert overload_notices_due(session, MONDAY_3AM_UTC) == 2
    assert _all_notices(desk) == 0  # reading wrote nothing
    worker.run_once()  # the chore records the notices and queues their emails
    nine_in_chicago = datetime.fromisoformat("2026-11-30T15:00:00+00:00")
    chicago = TEXT.format("09:00 on Monday 30 November 2026 (America/Chicago)")
    utc = TEXT.format("15:00 on Monday 30 November 2026 (UTC)")
    assert _notices(desk, riley) == [
        (MONDAY_3AM_UTC, nine_in_chicago, "nobody_on_shift", chicago, ("riley <riley@example.com> by email",))
    ]
    assert _notices(desk, sam) == [
        (MONDAY_3AM_UTC, nine_in_chicago, "nobody_on_shift", utc, ("sam <sam@example.com> by email",))
    ]

    desk.clock.advance(minutes=1)
    worker.run_once()  # delivers the emails; the chore's second run tells nobody again
    desk.clock.advance(minutes=1)
    worker.run_once()
    assert sent.emails_to("riley@example.com") == [
        f"Ticket #{riley}: Search returns nothing\n\n{chicago}\n\nStatus: new\n"
    ]
    assert sent.emails_to("sam@example.com") == [f"Ticket #{sam}: Indexing is stuck\n\n{utc}\n\nStatus: new\n"]
    assert _all_notices(desk) == 2
    with reading(desk.sessions) as session:
        assert overload_notices_due(session, desk.clock()) == 0

    later = _open(desk, "sam", "Another repository is stuck", MONDAY_3AM_UTC + timedelta(minutes=30))
    desk.clock.advance(minutes=1)
    worker.run_once()
    assert [notice[2:4] for notice in _notices(desk, later)] == [("nobody_on_shift", utc)]
    assert _all_notices(desk) == 3

    history = desk.client.get(f"/api/v1/tickets/{riley}/events", headers=desk.headers["riley"]).json()
    assert [(e["type"], e["summary"]) for e in history] == [
        ("opened", "Opened by the customer: severity 2, tier enterprise"),
        ("overload_notice", chicago.removesuffix(".")),
    ]


def test_an_answered_ticket_and_one_whose_requester_left_are_not_told(sourcegraph: Desk):
    desk = sourcegraph
    _schedule(desk)
    answered = _open(desk, "riley", "Search returns nothing", MONDAY_3AM_UTC - timedelta(hours=1))
    _open(desk, "sam", "Indexing is stuck", MONDAY_3AM_UTC - timedelta(minutes=30))
    reply(desk.sessions, desk.actors["ann"], answered, body="Looking into it.", now=MONDAY_3AM_UTC)
    update_user(desk.sessions, desk.actors["morgan"], desk.ids["sam"], {"active": False})
    with reading(desk.sessions) as session:
        assert overload_notices_due(session, MONDAY_3AM_UTC) == 0  # so no write is even started
    with transaction(desk.sessions) as session:
        [run] = send_overload_notices(session, MONDAY_3AM_UTC)
    assert (run.cause, run.told) == ("nobody_on_shift", ())
    assert _all_notices(desk) == 0


def test_with_someone_on_shift_and_the_usual_load_nothing_is_sent_and_three_tickets_past_half_tell_everyone(
    sourcegraph: Desk,
):
    desk = sourcegraph
    _schedule(desk)
    monday_4pm_utc = datetime.fromisoformat("2026-11-30T16:00:00+00:00")  # Bo is on shift
    # at 16:00 the first two have waited 14 h and 13 h of their 24 (past half), the third 11 h 50, the last 1 h
    first = _open(desk, "riley", "One", monday_4pm_utc - timedelta(hours=14))
    second = _open(desk, "sam", "Two", monday_4pm_utc - timedelta(hours=13))
    third = _open(desk, "sam", "Three", monday_4pm_utc - timedelta(hours=11, minutes=50))
    fourth = _open(desk, "sam", "Four", monday_4pm_utc - timedelta(hours=1))
    sent = Sent()
    worker = _worker(desk, sent)
    desk.clock.set(monday_4pm_utc)
    worker.run_once()
    desk.clock.advance(minutes=9)  # 16:09: the third is a minute short of half its target
    worker.run_once()
    assert _all_notices(desk) == 0

    desk.clock.advance(minutes=1)  # 16:10: it has used exactly half, so three tickets are at or past it
    worker.run_once()
    tuesday_nine_in_chicago = datetime.fromisoformat("2026-12-01T15:00:00+00:00")  # Ann, after Bo's day
    assert [(n[1], n[2]) for t in (first, second, third, fourth) for n in _notices(desk, t)] == [
        (tuesday_nine_in_chicago, "load")
    ] * 4
    assert _notices(desk, first)[0][3] == TEXT.format("09:00 on Tuesday 1 December 2026 (America/Chicago)")


def test_a_desk_without_the_schedule_logs_it_and_sends_nothing(sourcegraph: Desk, caplog: pytest.LogCaptureFixture):
    desk = sourcegraph
    _schedule(desk, slug="another-team")
    _open(desk, "riley", "Search returns nothing", MONDAY_3AM_UTC - timedelta(hours=1))
    with caplog.at_level(logging.WARNING, logger="sladesk.overload"), transaction(desk.sessions) as session:
        assert send_overload_notices(session, MONDAY_3AM_UTC) == []
    assert [record.getMessage() for record in caplog.records] == [
        "overload notice skipped: the desk has no such on-call schedule"
    ]
    assert _all_notices(desk) == 0


def test_two_workers_running_the_chore_at_once_tell_each_ticket_once(sourcegraph: Desk):
    desk = sourcegraph
    _schedule(desk)
    tickets = [_open(desk, "sam", f"Ticket {n}", MONDAY_3AM_UTC - timedelta(minutes=n)) for n in (3, 2, 1)]
    if desk.sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("on SQLite a writing unit of work holds the database's one write lock: chores take turns")
    with transaction(desk.sessions) as first:
        [run] = send_overload_notices(first, MONDAY_3AM_UTC)
        assert run.told == tuple(tickets)
        with transaction(desk.sessions) as second:  # while the first holds the tickets, uncommitted
            [other] = send_overload_notices(second, MONDAY_3AM_UTC)
        assert (other.cause, other.told) == ("nobody_on_shift", ())
    with transaction(desk.sessions) as third:  # after the first committed: their histories say it
        [again] = send_overload_notices(third, MONDAY_3AM_UTC)
    assert again.told == ()
    assert _all_notices(desk) == 3
