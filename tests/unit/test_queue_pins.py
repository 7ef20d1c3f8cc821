"""A staff pin puts a ticket above its computed place while it is in force at `now`; the order stays total."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sladesk.sla.queue import QueueEntry, order_queue


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def entry(ticket_id: int, severity: int, opened: str, due: str | None = None) -> QueueEntry:
    return QueueEntry(
        ticket_id=ticket_id,
        severity_rank=severity,
        severity_code=f"p{severity}",
        tier=None,
        tier_rank=None,
        next_due=at(due) if due else None,
        opened_at=at(opened),
    )


def pinned(
    item: QueueEntry, pinned_at: str, until: str, reason: str = "launch tomorrow", by: str = "Ann"
) -> QueueEntry:
    return replace(item, pinned_at=at(pinned_at), pinned_until=at(until), pin_reason=reason, pinned_by=by)


P1 = entry(1, 1, "2026-12-07T08:00+00:00", "2026-12-08T08:00+00:00")
P2 = entry(2, 2, "2026-12-07T08:00+00:00", "2026-12-08T08:00+00:00")
P3 = entry(3, 3, "2026-12-07T07:00+00:00")
P3_LATER = entry(4, 3, "2026-12-07T09:00+00:00")
NOW = at("2026-12-07T12:00+00:00")


def ids(entries: list[QueueEntry], now: datetime | None) -> list[int | str]:
    return [position.entry.ticket_id for position in order_queue(entries, now)]


def test_a_pin_in_force_puts_a_p3_above_a_p1():
    pin = pinned(P3_LATER, "2026-12-07T10:00+00:00", "2026-12-07T14:00+00:00")
    assert ids([P1, P2, P3, pin], NOW) == [4, 1, 2, 3]


def test_pins_go_earliest_pinned_first_then_by_id():
    first = pinned(P3_LATER, "2026-12-07T10:00+00:00", "2026-12-07T14:00+00:00")
    second = pinned(P3, "2026-12-07T11:00+00:00", "2026-12-07T14:00+00:00")
    assert ids([P1, second, P2, first], NOW) == [4, 3, 1, 2]
    # pinned at the same instant: the id decides, whatever the severities
    same_p2 = pinned(P2, "2026-12-07T10:00+00:00", "2026-12-08T00:00+00:00")
    same_p1 = pinned(P1, "2026-12-07T10:00+00:00", "2026-12-08T00:00+00:00")
    assert ids([first, same_p2, same_p1, P3], NOW) == [1, 2, 4, 3]


def test_a_pin_stops_counting_at_its_expiry():
    pin = pinned(P3_LATER, "2026-12-07T10:00+00:00", "2026-12-07T14:00+00:00")
    assert ids([P1, P2, P3, pin], at("2026-12-07T13:59:59+00:00")) == [4, 1, 2, 3]
    # at the expiry instant the pin is over: the ticket is back at its computed place
    assert ids([P1, P2, P3, pin], at("2026-12-07T14:00+00:00")) == [1, 2, 3, 4]
    assert ids([P1, P2, P3, pin], at("2026-12-09T00:00+00:00")) == [1, 2, 3, 4]


def test_without_a_now_no_pin_counts():
    pin = pinned(P3_LATER, "2026-12-07T10:00+00:00", "2026-12-07T14:00+00:00")
    assert ids([pin, P3, P2, P1], None) == [1, 2, 3, 4]


def test_the_explanation_names_the_pin_its_author_its_expiry_and_why_it_is_ahead():
    pin = pinned(P3_LATER, "2026-12-07T10:00+00:00", "2026-12-07T14:00+00:00", reason="Demo for the CEO at 14:00.")
    other = pinned(P3, "2026-12-07T11:00+00:00", "2026-12-07T13:00+00:00", reason="Outage follow-up", by="Bo")
    reasons = [position.reason for position in order_queue([P1, pin, other], NOW)]
    assert reasons == [
        "Number one: Pinned by Ann until 2026-12-07T14:00:00+00:00: Demo for the CEO at 14:00. Otherwise: "
        "severity p3 (rank 3), nothing due, opened 2026-12-07T09:00:00+00:00. Ahead of #3 because it was pinned "
        "earlier (2026-12-07T10:00:00+00:00 before 2026-12-07T11:00:00+00:00).",
        "Position 2: Pinned by Bo until 2026-12-07T13:00:00+00:00: Outage follow-up. Otherwise: severity p3 "
        "(rank 3), nothing due, opened 2026-12-07T07:00:00+00:00. Ahead of #1 because it is pinned and #1 is not.",
        "Position 3: severity p1 (rank 1), due 2026-12-08T08:00:00+00:00, opened 2026-12-07T08:00:00+00:00.",
    ]


def test_an_expired_pin_is_not_mentioned():
    pin = pinned(P3_LATER, "2026-12-07T10:00+00:00", "2026-12-07T11:00+00:00")
    reasons = [position.reason for position in order_queue([P1, pin], NOW)]
    assert reasons == [
        "Number one: severity p1 (rank 1), due 2026-12-08T08:00:00+00:00, opened 2026-12-07T08:00:00+00:00. "
        "Ahead of #4 because its severity p1 outranks p3.",
        "Position 2: severity p3 (rank 3), nothing due, opened 2026-12-07T09:00:00+00:00.",
    ]
