"""A policy's overload notice: whether the desk is overloaded now, and which waiting tickets are told.

Overloaded means nobody is on shift in the policy's on-call schedule, or (with `when`) at least
`at_least` waiting tickets have used `waiting_past` of their running target or more. A ticket is
waiting while its status is new or open (the ball is in support's court) and a clock with a target (a
due, or an informational aim) counts: started, not stopped, not paused. When the desk is overloaded,
every waiting ticket not told before is told once when help arrives: the start of the next shift
with someone on call other than those on call now. With no such shift known, nobody is told.

Pure: the tickets' clocks are read at the caller's `now`, and who is on shift is a parameter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sladesk.policy.model import OverloadNoticeSpec, StatusKind
from sladesk.sla.events import OverloadCause
from sladesk.sla.state import ClockInstants, ClockReading

WAITING_KINDS = (StatusKind.NEW, StatusKind.OPEN)


@dataclass(frozen=True)
class WaitingTicket:
    """A ticket waiting on support: the largest share of a running target it has used (0.5 is half)."""

    ticket_id: int
    share_used: float
    noticed: bool  # told of an overload once already


@dataclass(frozen=True)
class OverloadDecision:
    """Whether the desk is overloaded (`cause` None: no), when help arrives, and the tickets to tell."""

    cause: OverloadCause | None
    arrival: datetime | None
    tickets: tuple[int, ...]
    past_share: int  # waiting tickets at or past the share of `when` (0 without `when`)


def share_waited(
    status_kind: StatusKind, clocks: Iterable[tuple[ClockInstants, ClockReading]], metrics: Collection[str] = ()
) -> float | None:
    """The largest share of its target a counting clock of the ticket has used, or None when the ticket
    is not waiting on support (a waiting status, or no clock with a target counting). `metrics` limits the
    clocks looked at (empty: all)."""
    if status_kind not in WAITING_KINDS:
        return None
    shares = []
    for instants, reading in clocks:
        if metrics and instants.metric_id not in metrics:
            continue
        target = instants.target_seconds if instants.target_seconds is not None else instants.goal_seconds
        counting = instants.started_at is not None and instants.stopped_at is None and instants.paused_since is None
        if target and counting:
            shares.append(reading.counted_seconds / target)
    return max(shares, default=None)


def overload_notices(
    rule: OverloadNoticeSpec, waiting: Sequence[WaitingTicket], *, on_shift: bool, arrival: datetime | None
) -> OverloadDecision:
    """Whether the desk is overloaded under `rule`, and the waiting tickets not told yet that are told now
    that help arrives at `arrival` (none when `arrival` is unknown)."""
    past = 0
    if rule.when is not None:
        past = sum(1 for ticket in waiting if ticket.share_used >= rule.when.waiting_past)
    cause: OverloadCause | None = None
    if not on_shift:
        cause = "nobody_on_shift"
    elif rule.when is not None and past >= rule.when.at_least:
        cause = "load"
    told = () if cause is None or arrival is None else tuple(t.ticket_id for t in waiting if not t.noticed)
    return OverloadDecision(cause, arrival, told, past)


def arrival_words(arrival: datetime, zone: ZoneInfo) -> str:
    """`09:00 on Monday 30 November 2026 (America/Chicago)`: the instant in the reader's zone."""
    local = arrival.astimezone(zone)
    return f"{local:%H:%M} on {local:%A} {local.day} {local:%B %Y} ({zone.key})"


def notice_text(rule: OverloadNoticeSpec, arrival: datetime, zone: ZoneInfo) -> str:
    """The notice as the customer reads it, with the arrival in their zone."""
    return rule.text.format(arrival=arrival_words(arrival, zone))
