"""The breach forecast: which running clocks of open tickets will breach at the current pace, and why.

A clock is forecast to breach at `now` when it is running (started, not stopped, not paused, not yet
due) and at least one of three rules says so, each a fact a person can check:

- **pace**: of the recently stopped clocks of the same policy, severity and metric that had counted more
  working time than this one has now (they got as far as it without stopping), at least
  `MIN_PACE_CLOCKS` exist, and the median of the working time they still needed from that point is more
  than this clock has left;
- **nobody on shift**: the policy names an on-call schedule for the ticket's severity and nobody is on
  shift in it from `now` until the clock's due instant;
- **waiting while running**: the ticket is in a waiting status (on the customer, a partner, engineering)
  that this clock does not pause for, so it counts down while support waits.

Paused clocks are not forecast: they cannot breach while paused (their due is fixed again when they run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from statistics import median

from sladesk.clock import Calendar, format_duration
from sladesk.sla.state import ClockInstants, MetricState, read_clock

MIN_PACE_CLOCKS = 3  # fewer stopped clocks than this that got as far: the pace says nothing
PACE_LOOKBACK = timedelta(days=30)  # "recently stopped": at most this long before `now`


class ReasonKind(StrEnum):
    PACE = "pace"
    NOBODY_ON_SHIFT = "nobody_on_shift"
    WAITING_WHILE_RUNNING = "waiting_while_running"


@dataclass(frozen=True)
class RunningClock:
    """One clock of an open ticket as the store holds it, with what the forecast needs to judge it."""

    ticket_id: int
    policy_id: str
    severity: str  # the ticket's current severity code
    status: str  # the ticket's status id
    waiting: bool  # the status is of the waiting kind (on the customer, a partner, engineering)
    instants: ClockInstants
    calendar: Calendar


@dataclass(frozen=True)
class StoppedClock:
    """A clock that stopped by its own event (a reply, a resolve): how much working time it counted."""

    policy_id: str
    severity: str
    metric: str
    counted_seconds: int
    stopped_at: datetime


@dataclass(frozen=True)
class Coverage:
    """An on-call schedule a policy names for a severity, and the first instant from `now` with someone on
    shift in it (`now` itself when someone is on shift; None when nobody is, ever, ahead)."""

    schedule: str
    on_shift_from: datetime | None


@dataclass(frozen=True)
class ForecastReason:
    kind: ReasonKind
    text: str


@dataclass(frozen=True)
class ForecastRow:
    """A clock forecast to breach: when it is due, the working time it has left, and why."""

    ticket_id: int
    policy_id: str
    severity: str
    metric: str
    due: datetime
    remaining_seconds: int
    reasons: tuple[ForecastReason, ...]

    @property
    def reason(self) -> str:
        """The reasons in one sentence each, joined."""
        return " ".join(reason.text for reason in self.reasons)


@dataclass(frozen=True)
class Forecast:
    now: datetime
    rows: tuple[ForecastRow, ...]  # by due, then ticket, then metric
    running: int  # running clocks judged
    paused: int  # paused clocks, left out: they cannot breach while paused


def forecast(
    clocks: Iterable[RunningClock],
    history: Iterable[StoppedClock],
    coverage: Mapping[tuple[str, str], Coverage],
    now: datetime,
    *,
    lookback: timedelta = PACE_LOOKBACK,
) -> Forecast:
    """The clocks of `clocks` forecast to breach at `now`, judged on `history` (clocks that stopped within
    `lookback` before `now` count) and the `coverage` of (policy id, severity code)."""
    since = now - lookback
    needed_by_group: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for stopped in history:
        if since <= stopped.stopped_at <= now:
            needed_by_group[(stopped.policy_id, stopped.severity, stopped.metric)].append(stopped.counted_seconds)
    rows: list[ForecastRow] = []
    running = paused = 0
    for clock in clocks:
        reading = read_clock(clock.instants, clock.calendar, now)
        if reading.state is MetricState.PAUSED:
            paused += 1
            continue
        due = clock.instants.due
        if reading.state is not MetricState.RUNNING or due is None or reading.remaining_seconds is None:
            continue
        running += 1
        group = (clock.policy_id, clock.severity, clock.instants.metric_id)
        reasons = [
            reason
            for reason in (
                pace_reason(clock, reading.counted_seconds, reading.remaining_seconds, needed_by_group[group], since),
                shift_reason(coverage.get((clock.policy_id, clock.severity)), due),
                waiting_reason(clock, due),
            )
            if reason is not None
        ]
        if reasons:
            rows.append(
                ForecastRow(
                    ticket_id=clock.ticket_id,
                    policy_id=clock.policy_id,
                    severity=clock.severity,
                    metric=clock.instants.metric_id,
                    due=due,
                    remaining_seconds=reading.remaining_seconds,
                    reasons=tuple(reasons),
                )
            )
    rows.sort(key=lambda row: (row.due, row.ticket_id, row.metric))
    return Forecast(now=now, rows=tuple(rows), running=running, paused=paused)


def pace_reason(
    clock: RunningClock, counted_seconds: int, remaining_seconds: int, stopped_counts: Sequence[int], since: datetime
) -> ForecastReason | None:
    """Breach at the recent pace: the clocks that counted past `counted_seconds` before stopping needed, in
    the median, more working time from there than `remaining_seconds`."""
    still_needed = [count - counted_seconds for count in stopped_counts if count > counted_seconds]
    if len(still_needed) < MIN_PACE_CLOCKS:
        return None
    typical = median(still_needed)
    if typical <= remaining_seconds:
        return None
    kind = f"{clock.severity} {clock.instants.metric_id.replace('_', ' ')}"
    return ForecastReason(
        ReasonKind.PACE,
        f"At the recent pace: the {len(still_needed)} {kind} clocks that stopped since {instant_words(since)}"
        f" after counting more than this one's {words(counted_seconds)} needed a median of"
        f" {words(typical)} more; {words(remaining_seconds)} remain.",
    )


def shift_reason(coverage: Coverage | None, due: datetime) -> ForecastReason | None:
    """Breach for want of people: nobody is on shift in the named schedule from `now` until `due`."""
    if coverage is None:
        return None
    if coverage.on_shift_from is not None and coverage.on_shift_from < due:
        return None
    arrival = (
        f"the next shift starts at {instant_words(coverage.on_shift_from)}"
        if coverage.on_shift_from is not None
        else "no shift with someone on call lies ahead"
    )
    return ForecastReason(
        ReasonKind.NOBODY_ON_SHIFT,
        f"Nobody is on shift in the on-call schedule {coverage.schedule} before the due at"
        f" {instant_words(due)}: {arrival}.",
    )


def waiting_reason(clock: RunningClock, due: datetime) -> ForecastReason | None:
    """Breach while waiting: the ticket waits on someone outside support, but this clock does not pause."""
    if not clock.waiting:
        return None
    return ForecastReason(
        ReasonKind.WAITING_WHILE_RUNNING,
        f"The ticket is waiting ({clock.status}), but its {clock.instants.metric_id.replace('_', ' ')} clock"
        f" does not pause there: it runs out at {instant_words(due)} unless support acts first.",
    )


def words(seconds: float) -> str:
    """Working time for people: `2h 30m`, rounded down to the second."""
    return format_duration(timedelta(seconds=int(seconds)))


def instant_words(instant: datetime) -> str:
    """An instant in UTC for people: `2026-11-30 15:00 UTC`."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
