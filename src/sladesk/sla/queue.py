"""The work queue: one total order, the same everywhere, with each position explained in words.

A staff pin still in force at `now` (its `pinned_until` after `now`) puts a ticket above every computed
place: pinned tickets come first, the earliest pinned first, then by id; the rest follow in the computed
order. A pin that has run out simply stops counting, since the order is always judged for a given `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sladesk.sla.replay import ReplayReport
from sladesk.sla.state import MetricState


@dataclass(frozen=True)
class QueueEntry:
    """What the order looks at for one open ticket."""

    ticket_id: int | str
    severity_rank: int
    severity_code: str
    tier: str | None
    tier_rank: int | None  # None: the policy ranks no tiers (sorts after ranked ones)
    next_due: datetime | None  # the earliest due instant among the clocks still running
    opened_at: datetime
    pinned_at: datetime | None = None  # a staff pin: when it was set, until when, why and by whom
    pinned_until: datetime | None = None
    pin_reason: str | None = None
    pinned_by: str | None = None

    def pin_in_force(self, now: datetime | None) -> bool:
        """Whether the ticket's pin is in force at `now` (never without a `now` to judge it at)."""
        return (
            now is not None and self.pinned_at is not None and self.pinned_until is not None and self.pinned_until > now
        )


@dataclass(frozen=True)
class QueuePosition:
    position: int
    entry: QueueEntry
    reason: str


def next_pending_due(report: ReplayReport) -> datetime | None:
    """The earliest due instant among the metrics whose clock is still running (breached ones too)."""
    pending = [
        m.due
        for m in report.metrics.values()
        if m.due is not None and m.stopped_at is None and m.state in (MetricState.RUNNING, MetricState.BREACHED)
    ]
    return min(pending, default=None)


def entry_from_report(ticket_id: int | str, report: ReplayReport) -> QueueEntry:
    severity = report.severity
    return QueueEntry(
        ticket_id=ticket_id,
        severity_rank=severity.rank,
        severity_code=severity.code,
        tier=report.history.tier,
        tier_rank=report.policy.tier_rank(report.history.tier),
        next_due=next_pending_due(report),
        opened_at=report.history.opened_at,
    )


_Key = tuple[int, float, tuple[int, int | str], int, float, float, float, tuple[int, int | str]]


def _key(entry: QueueEntry, now: datetime | None) -> _Key:
    tier = entry.tier_rank if entry.tier_rank is not None else float("inf")
    due = entry.next_due.timestamp() if entry.next_due is not None else float("inf")
    ticket = (0, entry.ticket_id) if isinstance(entry.ticket_id, int) else (1, entry.ticket_id)
    if entry.pin_in_force(now) and entry.pinned_at is not None:
        # among pins only the pin's own instant and the id count, as in `services.views.queue_order`
        return (0, entry.pinned_at.timestamp(), ticket, 0, 0.0, 0.0, 0.0, (0, 0))
    return (1, 0.0, (0, 0), entry.severity_rank, tier, due, entry.opened_at.timestamp(), ticket)


def order_queue(entries: Iterable[QueueEntry], now: datetime | None = None) -> list[QueuePosition]:
    """Pins in force at `now` first (the earliest pinned first, then id); then severity rank, tier rank,
    earliest pending due, opened time and ticket id. Without `now`, no pin counts."""
    return explain_order(sorted(entries, key=lambda entry: _key(entry, now)), now)


def explain_order(ordered: Sequence[QueueEntry], now: datetime | None = None) -> list[QueuePosition]:
    """The positions of entries already in queue order (as the store sorts them for `now`), each with its reason."""
    positions = []
    for index, entry in enumerate(ordered):
        behind = ordered[index + 1] if index + 1 < len(ordered) else None
        positions.append(QueuePosition(index + 1, entry, _reason(index + 1, entry, behind, now)))
    return positions


def _reason(position: int, entry: QueueEntry, behind: QueueEntry | None, now: datetime | None) -> str:
    facts = [f"severity {entry.severity_code} (rank {entry.severity_rank})"]
    if entry.tier is not None:
        facts.append(f"tier {entry.tier}" + (f" (rank {entry.tier_rank})" if entry.tier_rank is not None else ""))
    facts.append(f"due {_stamp(entry.next_due)}" if entry.next_due else "nothing due")
    facts.append(f"opened {_stamp(entry.opened_at)}")
    head = "Number one" if position == 1 else f"Position {position}"
    if entry.pin_in_force(now):
        text = f"{head}: {pin_words(entry)}. Otherwise: {', '.join(facts)}."
    else:
        text = f"{head}: {', '.join(facts)}."
    if behind is not None:
        text += f" Ahead of #{behind.ticket_id} because {_first_difference(entry, behind, now)}."
    return text


def pin_words(entry: QueueEntry) -> str:
    """The pin in words: "Pinned by Ann until 2026-12-07T14:00:00+00:00: the customer's launch is tomorrow"."""
    by = f" by {entry.pinned_by}" if entry.pinned_by else ""
    reason = (entry.pin_reason or "").strip().rstrip(".")
    return f"Pinned{by} until {_stamp(entry.pinned_until)}" + (f": {reason}" if reason else "")


def _first_difference(a: QueueEntry, b: QueueEntry, now: datetime | None) -> str:
    a_pinned, b_pinned = a.pin_in_force(now), b.pin_in_force(now)
    if a_pinned and not b_pinned:
        return f"it is pinned and #{b.ticket_id} is not"
    if a_pinned and b_pinned:
        if a.pinned_at != b.pinned_at:
            return f"it was pinned earlier ({_stamp(a.pinned_at)} before {_stamp(b.pinned_at)})"
        return f"both were pinned at the same instant and its id {a.ticket_id} sorts first"
    if a.severity_rank != b.severity_rank:
        return f"its severity {a.severity_code} outranks {b.severity_code}"
    if a.tier_rank != b.tier_rank:
        if b.tier_rank is None:
            return f"its tier {a.tier} is ranked and #{b.ticket_id}'s is not"
        return f"its tier {a.tier} outranks {b.tier}"
    if a.next_due != b.next_due:
        if b.next_due is None:
            return f"it has a deadline ({_stamp(a.next_due)}) and #{b.ticket_id} has none running"
        return f"it is due sooner ({_stamp(a.next_due)} before {_stamp(b.next_due)})"
    if a.opened_at != b.opened_at:
        return f"it was opened earlier ({_stamp(a.opened_at)} before {_stamp(b.opened_at)})"
    return f"everything else is equal and its id {a.ticket_id} sorts first"


def _stamp(instant: datetime | None) -> str:
    return instant.isoformat() if instant is not None else "-"
