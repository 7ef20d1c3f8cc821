"""Open tickets by age: how long each has been open in working time, counted in buckets per severity.

A ticket's age is the working time from its opening to `now` on the calendar its clocks count on (the
first metric its policy lists), so a ticket opened on Friday evening under business hours is not three
days old on Monday morning.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sladesk.clock import Calendar

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class AgeBucket:
    """Ages in [low_seconds, high_seconds) of working time; no `high_seconds`: no upper end."""

    label: str
    low_seconds: int
    high_seconds: int | None

    def holds(self, age_seconds: int) -> bool:
        return self.low_seconds <= age_seconds and (self.high_seconds is None or age_seconds < self.high_seconds)


AGE_BUCKETS: tuple[AgeBucket, ...] = (
    AgeBucket("under 1 h", 0, HOUR),
    AgeBucket("1-4 h", HOUR, 4 * HOUR),
    AgeBucket("4-24 h", 4 * HOUR, DAY),
    AgeBucket("1-3 d", DAY, 3 * DAY),
    AgeBucket("3-7 d", 3 * DAY, 7 * DAY),
    AgeBucket("over 7 d", 7 * DAY, None),
)


@dataclass(frozen=True)
class OpenTicket:
    ticket_id: int
    policy_id: str
    severity: str
    severity_rank: int
    opened_at: datetime
    calendar: Calendar  # where its age counts


@dataclass(frozen=True)
class AgeRow:
    """One policy's severity: the open tickets in each of `AGE_BUCKETS`, by id, in that order."""

    policy_id: str
    severity: str
    severity_rank: int
    tickets: tuple[tuple[int, ...], ...]

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(len(ids) for ids in self.tickets)

    @property
    def total(self) -> int:
        return sum(self.counts)


def working_age_seconds(ticket: OpenTicket, now: datetime) -> int:
    """The working time from the ticket's opening to `now` on its calendar, in whole seconds."""
    if now <= ticket.opened_at:
        return 0
    return int(ticket.calendar.between(ticket.opened_at, now).total_seconds())


def open_by_age(tickets: Iterable[OpenTicket], now: datetime) -> tuple[AgeRow, ...]:
    """One row per policy and severity that has open tickets, by policy id then severity rank."""
    grouped: dict[tuple[str, int, str], list[list[int]]] = defaultdict(lambda: [[] for _ in AGE_BUCKETS])
    for ticket in tickets:
        age = working_age_seconds(ticket, now)
        index = next(i for i, bucket in enumerate(AGE_BUCKETS) if bucket.holds(age))
        grouped[(ticket.policy_id, ticket.severity_rank, ticket.severity)][index].append(ticket.ticket_id)
    return tuple(
        AgeRow(policy_id, severity, rank, tuple(tuple(sorted(ids)) for ids in buckets))
        for (policy_id, rank, severity), buckets in sorted(grouped.items())
    )
