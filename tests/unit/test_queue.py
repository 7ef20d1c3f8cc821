"""The queue is one total order, and each position says why it is there."""

from __future__ import annotations

from datetime import datetime

from sladesk.policy import load_policy
from sladesk.sla import TicketFacts, replay
from sladesk.sla.events import parse_events
from sladesk.sla.queue import QueueEntry, entry_from_report, order_queue


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def entry(ticket_id, severity, tier_rank, due, opened, tier="enterprise"):
    return QueueEntry(
        ticket_id=ticket_id,
        severity_rank=severity,
        severity_code=f"p{severity}",
        tier=tier,
        tier_rank=tier_rank,
        next_due=at(due) if due else None,
        opened_at=at(opened),
    )


def test_severity_then_tier_then_due_then_opened_then_id():
    entries = [
        entry(7, 2, 1, "2026-12-01T12:00+00:00", "2026-12-01T09:00+00:00"),
        entry(3, 1, 3, "2026-12-02T12:00+00:00", "2026-12-01T10:00+00:00"),
        entry(5, 2, 1, "2026-12-01T11:00+00:00", "2026-12-01T09:30+00:00"),
        entry(9, 2, 2, "2026-12-01T08:00+00:00", "2026-12-01T07:00+00:00"),
        entry(4, 2, 1, "2026-12-01T11:00+00:00", "2026-12-01T09:00+00:00"),
        entry(2, 2, 1, "2026-12-01T11:00+00:00", "2026-12-01T09:00+00:00"),
        entry(8, 2, 1, None, "2026-12-01T06:00+00:00"),
    ]
    order = [p.entry.ticket_id for p in order_queue(entries)]
    assert order == [3, 2, 4, 5, 7, 8, 9]


def test_each_position_says_why_it_is_ahead_of_the_next():
    entries = [
        entry(1, 1, 2, "2026-12-02T12:00+00:00", "2026-12-01T10:00+00:00", tier="team"),
        entry(2, 2, 1, "2026-12-01T11:00+00:00", "2026-12-01T09:00+00:00", tier="pre_sales"),
        entry(3, 2, 2, "2026-12-01T10:00+00:00", "2026-12-01T09:00+00:00", tier="team"),
    ]
    reasons = [p.reason for p in order_queue(entries)]
    assert reasons[0] == (
        "Number one: severity p1 (rank 1), tier team (rank 2), due 2026-12-02T12:00:00+00:00, "
        "opened 2026-12-01T10:00:00+00:00. Ahead of #2 because its severity p1 outranks p2."
    )
    assert reasons[1].endswith("Ahead of #3 because its tier pre_sales outranks team.")
    assert reasons[2] == (
        "Position 3: severity p2 (rank 2), tier team (rank 2), due 2026-12-01T10:00:00+00:00, "
        "opened 2026-12-01T09:00:00+00:00."
    )


def test_equal_tickets_are_ordered_by_id_and_say_so():
    entries = [
        entry(12, 2, 1, "2026-12-01T11:00+00:00", "2026-12-01T09:00+00:00"),
        entry(11, 2, 1, "2026-12-01T11:00+00:00", "2026-12-01T09:00+00:00"),
    ]
    first = order_queue(entries)[0]
    assert first.entry.ticket_id == 11
    assert first.reason.endswith("Ahead of #12 because everything else is equal and its id 11 sorts first.")


def test_entry_from_a_sourcegraph_replay_uses_tier_rank_and_pending_due():
    policy = load_policy("sourcegraph")
    events = parse_events([{"at": "2026-12-01T10:00:00+00:00", "type": "opened"}])
    report = replay(policy, TicketFacts("p1", "free"), events, at("2026-12-01T10:30:00+00:00"))
    queued = entry_from_report(42, report)
    assert queued.tier_rank == 5  # pre_sales, enterprise, team, cloud, free
    assert queued.next_due == at("2026-12-02T10:00:00+00:00")
    assert queued.severity_rank == 1
