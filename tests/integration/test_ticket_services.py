"""Ticket use cases on a real database: one transaction and one event each, clocks kept in step."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import func, select

from sladesk.services import (
    ConflictError,
    ForbiddenError,
    InvalidFieldError,
    NotFoundError,
    Role,
    StaleVersionError,
)
from sladesk.services import record as record_seam
from sladesk.services import tickets as ticket_services
from sladesk.services.policies import pin_policy
from sladesk.services.views import ticket_view
from sladesk.store import make_engine, make_sessions
from sladesk.store.tables import Comment, PolicyVersion, SlaClock, Ticket, TicketEvent
from tests.support.desk import Desk
from tests.support.units import committed

open_ticket = committed(ticket_services.open_ticket)
reply = committed(ticket_services.reply)
change_status = committed(ticket_services.change_status)
change_severity = committed(ticket_services.change_severity)


@dataclass(frozen=True)
class ClockAt:
    """A clock as it reads at an instant: its state and the instants its events fixed."""

    state: str
    due_at: datetime | None
    goal_at: datetime | None
    stopped_at: datetime | None
    counted_seconds: int


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class TicketDesk(Desk):
    """One organisation on a policy, with a customer and an agent, and a stranger elsewhere."""

    def __init__(self, sessions, policy_id: str, tier: str | None = None) -> None:
        super().__init__(sessions)
        self.user("customer", Role.CUSTOMER, self.organisation(f"{policy_id} customer", policy_id, tier))
        self.user("stranger", Role.CUSTOMER, self.organisation("Elsewhere", policy_id, tier))
        self.user("agent", Role.AGENT)
        self.customer, self.stranger, self.agent = (self.actors[key] for key in ("customer", "stranger", "agent"))

    def clocks(self, ticket_id: int, now: datetime | None = None) -> dict[str, ClockAt]:
        """The ticket's clocks as they read at `now` (default: its last change), as staff see them."""
        with self.sessions() as session:
            at_ = now or session.get_one(Ticket, ticket_id).updated_at
            view = ticket_view(session, self.agent, ticket_id, at_)
        return {
            c.metric: ClockAt(
                c.reading.state.value, c.instants.due, c.instants.goal, c.instants.stopped_at, c.reading.counted_seconds
            )
            for c in view.clocks
        }

    def count(self, table, ticket_id: int) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(table).where(table.ticket_id == ticket_id)) or 0)

    def ticket(self, ticket_id: int) -> Ticket:
        with self.sessions() as session:
            found: Ticket = session.get_one(Ticket, ticket_id)
            return found


def test_first_public_reply_meets_first_response_and_is_stored(sessions):
    desk = TicketDesk(sessions, "alleo")
    opened = open_ticket(
        sessions,
        desk.customer,
        subject="Pages are slow",
        description="Since this morning.",
        severity=2,
        now=at("2026-12-07T09:00:00-05:00"),
    )
    clock = desk.clocks(opened.ticket.id)["first_response"]
    # Sev2: 1 business day = 9 h from Mon 09:00: 8 h on Monday, 1 h on Tuesday
    assert (clock.state, clock.due_at) == ("running", at("2026-12-08T09:00:00-05:00"))
    assert desk.ticket(opened.ticket.id).next_due_at == at("2026-12-08T09:00:00-05:00")

    answered = reply(sessions, desk.agent, opened.ticket.id, "Looking into it.", now=at("2026-12-07T10:00:00-05:00"))
    clock = desk.clocks(opened.ticket.id)["first_response"]
    assert (clock.state, clock.stopped_at, clock.counted_seconds) == ("met", at("2026-12-07T10:00:00-05:00"), 3600)
    assert answered.event.sequence == 2
    ticket = desk.ticket(opened.ticket.id)
    assert ticket.next_due_at is None
    assert ticket.version == 2
    assert desk.count(TicketEvent, ticket.id) == 2
    assert desk.count(Comment, ticket.id) == 1


def test_customer_reply_moves_a_choozle_ticket_back_to_open_and_resumes_resolution(sessions):
    desk = TicketDesk(sessions, "choozle")
    ticket_id = open_ticket(
        sessions,
        desk.customer,
        subject="Campaign paused",
        description="It stopped.",
        severity="S2",
        intake={"user_email": "ops@example.com", "occurred_at": "2026-12-01T08:30:00-07:00"},
        now=at("2026-12-01T09:00:00-07:00"),
    ).ticket.id
    reply(sessions, desk.agent, ticket_id, "Which campaign?", now=at("2026-12-01T09:30:00-07:00"))
    change_status(sessions, desk.agent, ticket_id, "awaiting_customer", now=at("2026-12-01T10:00:00-07:00"))
    paused = desk.clocks(ticket_id)["resolution"]
    assert (paused.state, paused.due_at, paused.counted_seconds) == ("paused", None, 3600)
    assert desk.ticket(ticket_id).next_due_at is None

    reply(sessions, desk.customer, ticket_id, "The holiday one.", now=at("2026-12-02T10:00:00-07:00"))
    ticket = desk.ticket(ticket_id)
    resolution = desk.clocks(ticket_id)["resolution"]
    assert ticket.status == "open"
    # 71 h left from Wed 10:00 on the Mon-Fri 00:00-24:00 week: Wed 14 h, Thu 24, Fri 24, Mon 9 h
    assert resolution.due_at == at("2026-12-07T09:00:00-07:00")
    # goal 24 h: 23 h left -> Wed 14 h, Thu 00:00-09:00
    assert resolution.goal_at == at("2026-12-03T09:00:00-07:00")
    assert ticket.next_due_at == at("2026-12-07T09:00:00-07:00")


def test_customers_see_only_their_organisation_and_write_no_internal_notes(sessions):
    desk = TicketDesk(sessions, "alleo")
    ticket_id = open_ticket(
        sessions, desk.customer, subject="Help", description="Please.", severity=3, now=at("2026-12-07T09:00:00-05:00")
    ).ticket.id
    with pytest.raises(NotFoundError, match=f"no ticket {ticket_id}"):
        reply(sessions, desk.stranger, ticket_id, "Me too", now=at("2026-12-07T09:10:00-05:00"))
    with pytest.raises(ForbiddenError):
        reply(sessions, desk.customer, ticket_id, "secret", public=False, now=at("2026-12-07T09:10:00-05:00"))
    with pytest.raises(ForbiddenError):
        change_severity(sessions, desk.customer, ticket_id, 1, "it is worse", now=at("2026-12-07T09:10:00-05:00"))
    assert desk.count(TicketEvent, ticket_id) == 1


def test_a_closed_choozle_ticket_cannot_reopen_and_nothing_is_written(sessions):
    desk = TicketDesk(sessions, "choozle")
    ticket_id = open_ticket(
        sessions, desk.customer, subject="Done", description="x", severity="S3", now=at("2026-12-01T09:00:00-07:00")
    ).ticket.id
    change_status(sessions, desk.agent, ticket_id, "closed", now=at("2026-12-01T10:00:00-07:00"))
    with pytest.raises(
        ConflictError, match="from 'closed' to 'open' \\(allowed: none\\) \\(A closed ticket cannot be reopened"
    ):
        change_status(sessions, desk.agent, ticket_id, "open", now=at("2026-12-01T11:00:00-07:00"))
    assert desk.count(TicketEvent, ticket_id) == 2
    assert desk.ticket(ticket_id).status == "closed"


def test_severity_assigned_by_support_is_kept_apart_from_the_requested_one(sessions):
    desk = TicketDesk(sessions, "sourcegraph", tier="enterprise")
    ticket_id = open_ticket(
        sessions,
        desk.customer,
        subject="Search down",
        description="All of it.",
        severity="p2",
        now=at("2026-12-01T10:00:00+00:00"),
    ).ticket.id
    change_severity(sessions, desk.agent, ticket_id, "p1", "every user is blocked", now=at("2026-12-01T10:30:00+00:00"))
    ticket = desk.ticket(ticket_id)
    assert (ticket.requested_severity_rank, ticket.severity_rank) == (2, 1)
    first_response = desk.clocks(ticket_id)["first_response"]
    assert (first_response.goal_at, first_response.due_at) == (
        at("2026-12-01T12:00:00+00:00"),
        at("2026-12-02T10:00:00+00:00"),
    )


def test_a_stale_version_is_refused(sessions):
    desk = TicketDesk(sessions, "alleo")
    ticket_id = open_ticket(
        sessions, desk.customer, subject="Help", description="Please.", severity=3, now=at("2026-12-07T09:00:00-05:00")
    ).ticket.id
    reply(sessions, desk.agent, ticket_id, "On it", expected_version=1, now=at("2026-12-07T09:05:00-05:00"))
    with pytest.raises(StaleVersionError, match=f"ticket {ticket_id} is not at version 1: it is at version 2"):
        reply(sessions, desk.agent, ticket_id, "Again", expected_version=1, now=at("2026-12-07T09:06:00-05:00"))


def test_intake_answers_are_checked_field_by_field(sessions):
    desk = TicketDesk(sessions, "choozle")
    with pytest.raises(InvalidFieldError, match=r"^intake\.user_email: 'not-an-email' is not an email address$"):
        open_ticket(
            sessions,
            desk.customer,
            subject="x",
            description="y",
            severity=1,
            intake={"user_email": "not-an-email"},
            now=at("2026-12-01T09:00:00-07:00"),
        )
    with pytest.raises(InvalidFieldError, match=r"^intake\.colour: unknown field"):
        open_ticket(
            sessions,
            desk.customer,
            subject="x",
            description="y",
            severity=1,
            intake={"colour": "red"},
            now=at("2026-12-01T09:00:00-07:00"),
        )


def test_a_failure_after_the_event_insert_leaves_nothing_half_written(sessions, monkeypatch):
    desk = TicketDesk(sessions, "alleo")
    ticket_id = open_ticket(
        sessions, desk.customer, subject="Help", description="Please.", severity=3, now=at("2026-12-07T09:00:00-05:00")
    ).ticket.id

    def explode(ticket_id, clock):
        raise RuntimeError("disk full")

    monkeypatch.setattr(record_seam, "clock_row", explode)  # called once the event is added
    with pytest.raises(RuntimeError, match="disk full"):
        reply(sessions, desk.agent, ticket_id, "This reply is lost whole", now=at("2026-12-07T09:05:00-05:00"))
    assert desk.count(TicketEvent, ticket_id) == 1
    assert desk.count(Comment, ticket_id) == 0
    assert desk.ticket(ticket_id).version == 1
    assert desk.clocks(ticket_id)["first_response"].state == "running"


def test_a_failure_after_a_new_ticket_is_inserted_leaves_no_trace_of_it(sessions, monkeypatch):
    desk = TicketDesk(sessions, "alleo")

    def explode(ticket_id, clock):
        raise RuntimeError("disk full")

    monkeypatch.setattr(record_seam, "clock_row", explode)  # called once the ticket row has its id
    with pytest.raises(RuntimeError, match="disk full"):
        open_ticket(
            sessions,
            desk.customer,
            subject="Help",
            description="Please.",
            severity=3,
            now=at("2026-12-07T09:00:00-05:00"),
        )
    with sessions() as session:
        counts = [
            session.scalar(select(func.count()).select_from(table))
            for table in (Ticket, TicketEvent, SlaClock, PolicyVersion)
        ]
    assert counts == [0, 0, 0, 0]  # not even the built-in's text, stored in the same transaction


def test_two_agents_on_one_version_one_wins_and_no_event_is_lost(sessions):
    desk = TicketDesk(sessions, "alleo")
    ticket_id = open_ticket(
        sessions, desk.customer, subject="Help", description="Please.", severity=3, now=at("2026-12-07T09:00:00-05:00")
    ).ticket.id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def write(text: str, expected: int | None) -> None:
        barrier.wait()
        try:
            reply(sessions, desk.agent, ticket_id, text, expected_version=expected, now=at("2026-12-07T09:05:00-05:00"))
            outcomes.append("ok")
        except StaleVersionError:
            outcomes.append("stale")

    threads = [threading.Thread(target=write, args=(f"reply {n}", 1)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "stale"]
    assert desk.count(TicketEvent, ticket_id) == 2

    outcomes.clear()
    threads = [threading.Thread(target=write, args=(f"unversioned {n}", None)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["ok", "ok"]
    assert desk.count(TicketEvent, ticket_id) == 4
    with sessions() as session:
        sequences = list(
            session.scalars(
                select(TicketEvent.sequence).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.sequence)
            )
        )
    assert sequences == [1, 2, 3, 4]


def test_the_first_tickets_on_a_built_in_opened_at_once_store_its_text_once(engine):
    """Two servers (two engines) open the first tickets under Alleo at the same moment."""
    first = make_sessions(engine)
    other_engine = make_engine(engine.url)
    try:
        second = make_sessions(other_engine)
        desk = TicketDesk(first, "alleo")
        opened: list[int] = []

        def open_on_the_other_server() -> None:
            change = open_ticket(
                second,
                desk.customer,
                subject="Down",
                description="All of it.",
                severity=1,
                now=at("2026-12-07T09:00:00-05:00"),
            )
            opened.append(change.ticket.id)

        with first.begin() as session:
            pin_policy(session, "alleo")  # the shipped text stored, not committed yet
            thread = threading.Thread(target=open_on_the_other_server)
            thread.start()
            thread.join(timeout=0.5)
            assert thread.is_alive()  # waiting: on the key (PostgreSQL) or the write lock (SQLite)
        thread.join()
        assert len(opened) == 1
        with first() as session:
            rows = session.execute(select(PolicyVersion.policy_id, PolicyVersion.version, PolicyVersion.builtin)).all()
        assert rows == [("alleo", 2, True)]
        assert desk.ticket(opened[0]).policy_version == 2
    finally:
        other_engine.dispose()
