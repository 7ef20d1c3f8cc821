"""A clock's state at any `now`, from the instants its last event fixed (docs/clocks.md: state is read for now).

An event fixes a metric's start, pauses, stop, due, goal and warning instants and how much working time
was counted by then. Nothing of that changes until the next event, so it is what the store keeps.
Whether the clock is running or breached, how much time remains and how much of the target is used
depend on the reader's `now`, and `read_clock` is the one place that works them out: the replay, the
API, the queue, the pages and the CLI all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sladesk.clock import Calendar


class MetricState(StrEnum):
    MET = "met"
    BREACHED = "breached"
    RUNNING = "running"
    PAUSED = "paused"
    NOT_STARTED = "not_started"  # the event that starts the clock has not happened
    CANCELLED = "cancelled"  # stopped by a resolve or close before it was due, not by its own event
    NONE = "none"  # this severity has no target for the metric


@dataclass(frozen=True)
class ClockInstants:
    """What the events up to `fixed_at` settled about one metric's clock; valid until the next event."""

    metric_id: str
    calendar_id: str
    target_seconds: int | None  # None: the severity has no target for this metric
    goal_seconds: int | None
    started_at: datetime | None  # None: not started
    stopped_at: datetime | None
    stop_reason: str | None
    stop_cancels: bool  # the stop was a resolve or close, not the metric's own event (cancelled if in time)
    due: datetime | None  # None while paused short of the target, or without a target
    goal: datetime | None
    warning_at: datetime | None
    counted: timedelta  # working time counted up to `counting_from` (or up to the stop or pause)
    counting_from: datetime | None  # counting goes on from here on the calendar; None: stopped or paused
    paused_since: datetime | None
    excuse: str | None  # an outside incident's reason: a breach is reported as excused
    cycle: int
    earlier_breach_at: datetime | None = None  # a due instant that passed under a severity since changed
    earlier_breach_severity: str | None = None  # that severity's code


@dataclass(frozen=True)
class ClockReading:
    """A clock as it reads at `now`."""

    state: MetricState
    counted_seconds: int
    remaining_seconds: int | None  # until the clock stops (the whole target before it starts)
    percent_used: float | None
    goal_met: bool | None  # None: no goal, or not decided yet at `now`
    warning_reached: bool  # the warning instant has passed and the clock is neither stopped nor breached
    excused: str | None  # the reason, when the clock is breached and excused


def read_clock(clock: ClockInstants, calendar: Calendar, now: datetime) -> ClockReading:
    """The state, counted and remaining working time and percentage of `clock` at `now`."""
    counted = clock.counted
    if clock.counting_from is not None and now > clock.counting_from:
        counted += calendar.between(clock.counting_from, now)
    counted_seconds = int(counted.total_seconds())
    state = _state(clock, now)
    target = clock.target_seconds
    remaining = None
    if target is not None and clock.stopped_at is None:
        remaining = max(target - counted_seconds, 0)
    percent = round(counted_seconds / target * 100, 1) if target else None
    return ClockReading(
        state=state,
        counted_seconds=counted_seconds,
        remaining_seconds=remaining,
        percent_used=percent,
        goal_met=_goal_met(clock, now),
        warning_reached=(
            state in (MetricState.RUNNING, MetricState.PAUSED)
            and clock.warning_at is not None
            and now >= clock.warning_at
        ),
        excused=clock.excuse if state is MetricState.BREACHED else None,
    )


def _state(clock: ClockInstants, now: datetime) -> MetricState:
    if clock.target_seconds is None:
        return MetricState.NONE
    if clock.started_at is None:
        return MetricState.NOT_STARTED
    due = clock.due
    if clock.stopped_at is not None:
        assert due is not None, "a stopped clock's due is projected as if it had kept running"
        if clock.stopped_at <= due:
            return MetricState.CANCELLED if clock.stop_cancels else MetricState.MET
        return MetricState.BREACHED
    if due is not None and now > due:
        return MetricState.BREACHED
    return MetricState.PAUSED if clock.paused_since is not None else MetricState.RUNNING


def _goal_met(clock: ClockInstants, now: datetime) -> bool | None:
    if clock.goal_seconds is None or clock.started_at is None:
        return None
    if clock.stopped_at is not None:
        if clock.goal is None:
            return None
        if clock.stopped_at <= clock.goal:
            return None if clock.stop_cancels else True  # a cancelled clock neither met nor missed its goal
        return False
    if clock.goal is not None and now > clock.goal:
        return False
    return None
