"""Breaches over time: how many clocks breached in each day or week of a period, and which.

A clock breaches at the instant its due passes: its due, when it stopped after it or is still running
past it at `now`. A breach reached under a severity since changed counts at the instant it was reached
(the clock's earlier breach), and a clock counts once, at its first breach. Excused breaches (an
outside incident) are counted and named as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from sladesk.errors import SladeskError
from sladesk.reports.model import Period
from sladesk.sla.state import ClockInstants

Bucket = Literal["day", "week"]
BUCKETS: tuple[Bucket, ...] = ("day", "week")
MAX_BUCKETS = 400  # a period of at most about 13 months by day, 7 years by week


class ReportFieldError(SladeskError):
    """A report's input that cannot be answered: `field` names it, `reason` says what to change."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class ClockBreach:
    ticket_id: int
    metric: str
    at: datetime  # the instant the breach was reached
    excuse: str | None = None  # the outside incident that excuses it


@dataclass(frozen=True)
class BreachBucket:
    """The breaches reached in [start, end), oldest first."""

    start: datetime
    end: datetime
    breaches: tuple[ClockBreach, ...]

    @property
    def count(self) -> int:
        return len(self.breaches)

    @property
    def ticket_ids(self) -> tuple[int, ...]:
        return tuple(sorted({breach.ticket_id for breach in self.breaches}))

    @property
    def excused(self) -> int:
        return sum(1 for breach in self.breaches if breach.excuse is not None)


@dataclass(frozen=True)
class BreachTimeline:
    period: Period
    bucket: Bucket
    buckets: tuple[BreachBucket, ...]

    @property
    def total(self) -> int:
        return sum(bucket.count for bucket in self.buckets)


def breach_instant(clock: ClockInstants, now: datetime) -> datetime | None:
    """The instant the clock first breached, if it had by `now`; None if it has not."""
    if clock.earlier_breach_at is not None and clock.earlier_breach_at <= now:
        return clock.earlier_breach_at
    if clock.target_seconds is None or clock.started_at is None or clock.due is None:
        return None
    if clock.stopped_at is not None:
        return clock.due if clock.stopped_at > clock.due else None
    return clock.due if now > clock.due else None


def bucket_starts(period: Period, bucket: Bucket, zone: ZoneInfo) -> list[datetime]:
    """The starts of the days (midnight in `zone`) or weeks (Monday midnight) that meet the period, and the
    end of the last one."""
    if bucket not in BUCKETS:
        raise ReportFieldError("bucket", f"{bucket!r} is not one of {', '.join(BUCKETS)}")
    if period.end <= period.start:
        raise ReportFieldError("period", "its end must be after its start")
    first = period.start.astimezone(zone).date()
    if bucket == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=7 if bucket == "week" else 1)
    starts = []
    day = first
    while True:
        start = datetime.combine(day, time(), zone)
        starts.append(start)
        if start >= period.end:
            return starts
        if len(starts) > MAX_BUCKETS:
            raise ReportFieldError("period", f"too long for one {bucket} each (at most {MAX_BUCKETS} of them)")
        day += step


def breaches_over_time(
    breaches: Iterable[ClockBreach], period: Period, bucket: Bucket = "day", zone: ZoneInfo | None = None
) -> BreachTimeline:
    """The breaches reached within the period, in each day or week of it (in `zone`, UTC by default),
    every bucket listed, empty ones too; the first and last buckets are cut to the period."""
    zone = zone or ZoneInfo("UTC")
    edges = bucket_starts(period, bucket, zone)
    inside = sorted(
        (breach for breach in breaches if period.start <= breach.at < period.end),
        key=lambda breach: (breach.at, breach.ticket_id, breach.metric),
    )
    buckets = []
    for first, last in pairwise(edges):
        start, end = max(first, period.start), min(last, period.end)
        buckets.append(BreachBucket(start, end, tuple(b for b in inside if start <= b.at < end)))
    return BreachTimeline(period, bucket, tuple(buckets))
