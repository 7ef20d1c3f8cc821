"""Calendars: weekly hours minus holidays plus extra ranges, unions of calendars, and 24x7.

A calendar compiles itself into a `Timeline` over a horizon of local days the first time
it is asked, and recompiles over a wider horizon when a query reaches past it. All
arithmetic is then binary searches; nothing steps day by day at query time.

Calendars are shared by threads (a policy's calendars serve every request). A calendar's
compiled timeline and its days are one immutable value: queries read the current one
without locking, and a thread that needs a wider one builds it under the calendar's lock
and then swaps the reference, so no query ever sees a timeline half built or narrowed.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from sladesk.clock.holidays import HolidaySet
from sladesk.clock.timeline import MICROS, IntArray, Timeline
from sladesk.clock.wall import ONE_MICROSECOND, from_micros, to_micros, wall_to_epoch
from sladesk.clock.weekly import WEEKDAY_LONG_NAMES, WallRange, WeeklyHours, merge_ranges
from sladesk.errors import CalendarError

DAY_SECONDS = 86_400
_FIRST_DAY = date(1901, 1, 1)
_LAST_DAY = date(2399, 12, 31)
_MARGIN_DAYS = 400  # a recompile reaches this far past what was asked, so it happens rarely


@dataclass(frozen=True)
class ExtraRange:
    """Working time added on one date, on top of the weekly hours (a Saturday release, say)."""

    day: date
    range: WallRange


@dataclass(frozen=True, eq=False)
class _Compiled:
    """A calendar's timeline with the local days it was compiled from, replaced whole."""

    timeline: Timeline
    first: date
    last: date


def merge_intervals(intervals: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort epoch intervals and join the ones that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Calendar(ABC):
    """Working time in a time zone; instants in and out are aware datetimes or epoch seconds."""

    def __init__(self, name: str, tz: ZoneInfo, standard_day: timedelta | None = None) -> None:
        self.name = name
        self.tz = tz
        self._standard_day_override = standard_day
        self._compiled: _Compiled | None = None  # only ever replaced by a wider one, under the lock
        self._compiling = threading.Lock()

    # what each kind of calendar defines

    @abstractmethod
    def intervals_for_days(self, first: date, last: date) -> list[tuple[int, int]]:
        """Working intervals (epoch seconds, sorted, disjoint) of the local days `first..last`."""

    @abstractmethod
    def weekly_pattern(self) -> WeeklyHours:
        """The weekly wall-clock hours, used for the standard working day and descriptions."""

    @abstractmethod
    def day_off_reason(self, day: date) -> str | None:
        """Why a local day has no working ranges of its own (a holiday or a closed weekday)."""

    @abstractmethod
    def describe(self) -> str:
        """The calendar in words."""

    # the standard working day

    @property
    def standard_day(self) -> timedelta:
        """The most common non-zero daily length: 9 h for 08:00-17:00, 24 h for 24x5."""
        if self._standard_day_override is not None:
            return self._standard_day_override
        minutes = self.weekly_pattern().standard_day_minutes()
        if minutes == 0:
            raise CalendarError(f"calendar {self.name!r} has no working day to count business days in")
        return timedelta(minutes=minutes)

    # compiling

    def timeline(self, lo_seconds: float, hi_seconds: float | None = None) -> Timeline:
        """A timeline valid at least from `lo_seconds` to `hi_seconds` (epoch seconds)."""
        hi = lo_seconds if hi_seconds is None else hi_seconds
        current = self._compiled
        if current is not None and current.timeline.covers(lo_seconds) and current.timeline.covers(hi):
            return current.timeline
        with self._compiling:
            current = self._compiled  # another thread may have widened it while this one waited
            if current is not None and current.timeline.covers(lo_seconds) and current.timeline.covers(hi):
                return current.timeline
            first = _day_of(lo_seconds) - timedelta(days=_MARGIN_DAYS)
            last = _day_of(hi) + timedelta(days=2 * _MARGIN_DAYS)
            if current is not None:
                first, last = min(first, current.first), max(last, current.last)
            return self._swap_in(first, last)

    def _extend_forward(self, timeline: Timeline) -> Timeline:
        """A timeline reaching further forward than `timeline` and at least as far back."""
        with self._compiling:
            current = self._compiled
            assert current is not None  # `timeline` was compiled, and none is ever taken back
            if current.timeline.valid_until > timeline.valid_until:
                return current.timeline  # widened by another thread meanwhile
            first, last = current.first, current.last
            if last >= _LAST_DAY:
                raise CalendarError(f"calendar {self.name!r} has no more working time before {_LAST_DAY}")
            return self._swap_in(first, last + (last - first))

    def _swap_in(self, first: date, last: date) -> Timeline:
        """Compile the days `first..last` and make them the calendar's timeline (the lock held)."""
        first, last = max(first, _FIRST_DAY), min(last, _LAST_DAY)
        intervals = self.intervals_for_days(first, last)
        valid_from = _utc_midnight(first) + 2 * DAY_SECONDS
        valid_until = _utc_midnight(last)
        if first == _FIRST_DAY:
            valid_from = _utc_midnight(first)
        compiled = _Compiled(Timeline.build(intervals, valid_from, valid_until), first, last)
        self._compiled = compiled  # one reference swap: readers see the old value or the new one
        return compiled.timeline

    def _solve_us(self, start_us: int, work_us: int) -> int:
        if work_us < 0:
            raise CalendarError("working time to add must not be negative")
        compiled = self._compiled  # read once: another thread may swap in a wider one at any time
        timeline = None if compiled is None else compiled.timeline
        if timeline is None or not timeline.valid_from_us <= start_us <= timeline.valid_until_us:
            timeline = self.timeline(start_us / MICROS)
        while True:
            found = timeline.add_us(start_us, work_us)
            if found is not None and found <= timeline.valid_until_us:
                return found
            timeline = self._extend_forward(timeline)

    # single queries

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The earliest instant at which `work` of working time has passed since `start`.

        Zero work is due at once from a working instant and at the next working instant from
        any other (a range's end is not working time); positive work may end at a range's end.
        """
        return from_micros(self._solve_us(to_micros(start), work // ONE_MICROSECOND), self.tz)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from `a` to `b` (negative if `b` is before `a`)."""
        a_us, b_us = to_micros(a), to_micros(b)
        timeline = self.timeline(min(a_us, b_us) / MICROS, max(a_us, b_us) / MICROS)
        return timedelta(microseconds=timeline.worked_us(b_us) - timeline.worked_us(a_us))

    def next_working_instant(self, t: datetime) -> datetime:
        """`t` itself if it is working time, else the start of the next working range."""
        return from_micros(self._next_working_us(to_micros(t)), self.tz)

    def _next_working_us(self, t_us: int) -> int:
        timeline = self.timeline(t_us / MICROS)
        while True:
            found = timeline.next_working_us(t_us)
            if found is not None and found <= timeline.valid_until_us:
                return found
            timeline = self._extend_forward(timeline)

    def is_working(self, t: datetime) -> bool:
        """Whether the instant `t` is working time (compared as instants, whatever the zone or fold)."""
        t_us = to_micros(t)
        return self._next_working_us(t_us) == t_us

    def working_ranges(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """The working ranges between `a` and `b`, clipped exactly to them, in local time."""
        a_us, b_us = to_micros(a), to_micros(b)
        timeline = self.timeline(a_us / MICROS, b_us / MICROS)
        clipped = (
            (max(s * MICROS, a_us), min(e * MICROS, b_us))
            for s, e in timeline.intervals_between(a_us // MICROS, -(-b_us // MICROS))
        )
        return [(from_micros(s, self.tz), from_micros(e, self.tz)) for s, e in clipped if s < e]

    def business_days(self, count: float) -> timedelta:
        """`count` standard working days as working time."""
        return self.standard_day * count

    # bulk queries: numpy int64 epoch seconds in and out

    def add_many(self, starts: npt.ArrayLike, seconds: npt.ArrayLike) -> IntArray:
        """`add` for each start, with whole seconds of work (an array or one number for all)."""
        start_s = np.asarray(starts, dtype=np.int64)
        work_s = np.broadcast_to(np.asarray(seconds, dtype=np.int64), start_s.shape)
        if start_s.size == 0:
            return start_s.copy()
        least_work = int(work_s.min())
        if least_work < 0:
            raise CalendarError("working time to add must not be negative")
        zero_work = work_s == 0 if least_work == 0 else None
        timeline = self.timeline(int(start_s.min()), int(start_s.max()))
        while True:
            targets = timeline.worked_many(start_s) + work_s
            # zero work is due at the next working instant: one more working second must lie ahead
            reach = int(targets.max()) if zero_work is None else int((targets + zero_work).max())
            if reach <= int(timeline.worked_many(np.array([timeline.valid_until]))[0]):
                return np.asarray(timeline.instants_at_many(targets, zero_work), dtype=np.int64)
            timeline = self._extend_forward(timeline)

    def between_many(self, a: npt.ArrayLike, b: npt.ArrayLike) -> IntArray:
        """`between` for each pair, in working seconds."""
        a_s = np.asarray(a, dtype=np.int64)
        b_s = np.asarray(b, dtype=np.int64)
        if a_s.size == 0:
            return np.zeros(np.broadcast_shapes(a_s.shape, b_s.shape), dtype=np.int64)
        lo = min(int(a_s.min()), int(b_s.min()))
        hi = max(int(a_s.max()), int(b_s.max()))
        timeline = self.timeline(lo, hi)
        return timeline.worked_many(b_s) - timeline.worked_many(a_s)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.describe()}>"


class WeeklyCalendar(Calendar):
    """Weekly hours in a time zone, minus holidays (or their own hours), plus extra ranges."""

    def __init__(
        self,
        name: str,
        tz: ZoneInfo,
        weekly: WeeklyHours,
        holidays: HolidaySet | None = None,
        holiday_hours: Sequence[WallRange] = (),
        extra: Sequence[ExtraRange] = (),
        standard_day: timedelta | None = None,
    ) -> None:
        super().__init__(name, tz, standard_day)
        self.weekly = weekly
        self.holidays = holidays or HolidaySet()
        self.holiday_hours = merge_ranges(holiday_hours)
        self.extra = tuple(extra)

    def ranges_of(self, day: date) -> tuple[WallRange, ...]:
        """The wall ranges that belong to `day` (a range past midnight belongs to its first day)."""
        ranges = self.holiday_hours if self.holidays.name_of(day) else self.weekly.days[day.weekday()]
        extra = [x.range for x in self.extra if x.day == day]
        return merge_ranges((*ranges, *extra)) if extra else ranges

    def intervals_for_days(self, first: date, last: date) -> list[tuple[int, int]]:
        intervals: list[tuple[int, int]] = []
        day = first
        while day <= last:
            for wall_range in self.ranges_of(day):
                intervals.append(
                    (
                        wall_to_epoch(self.tz, day, wall_range.start_minute),
                        wall_to_epoch(self.tz, day, wall_range.end_minute),
                    )
                )
            day += timedelta(days=1)
        return merge_intervals(intervals)

    def weekly_pattern(self) -> WeeklyHours:
        return self.weekly

    def day_off_reason(self, day: date) -> str | None:
        if self.ranges_of(day):
            return None
        holiday = self.holidays.name_of(day)
        if holiday:
            return f"holiday: {holiday}"
        return f"no working hours on {WEEKDAY_LONG_NAMES[day.weekday()]}s"

    def describe(self) -> str:
        text = f"{self.weekly.describe()} ({self.tz.key})"
        if self.holidays.rules:
            if self.holiday_hours:
                hours = ", ".join(str(r) for r in self.holiday_hours)
                text += f", holidays {hours}"
            else:
                text += ", closed on holidays"
        return text


class UnionCalendar(Calendar):
    """Working whenever any member calendar is working (business hours plus on-call, say)."""

    def __init__(self, name: str, members: Sequence[Calendar], standard_day: timedelta | None = None) -> None:
        if not members:
            raise CalendarError(f"union calendar {name!r} needs at least one member")
        super().__init__(name, members[0].tz, standard_day)
        self.members = tuple(members)

    def intervals_for_days(self, first: date, last: date) -> list[tuple[int, int]]:
        every: list[tuple[int, int]] = []
        for member in self.members:
            every.extend(member.intervals_for_days(first, last))
        return merge_intervals(every)

    def weekly_pattern(self) -> WeeklyHours:
        pattern = self.members[0].weekly_pattern()
        for member in self.members[1:]:
            pattern = pattern.union(member.weekly_pattern())
        return pattern

    def day_off_reason(self, day: date) -> str | None:
        reasons = [member.day_off_reason(day) for member in self.members]
        if any(reason is None for reason in reasons):
            return None
        return "; ".join(dict.fromkeys(r for r in reasons if r))

    def describe(self) -> str:
        return " + ".join(f"{m.name} ({m.describe()})" for m in self.members)


def always(name: str = "24x7", tz: ZoneInfo | None = None) -> WeeklyCalendar:
    """Calendar time: every instant counts."""
    return WeeklyCalendar(name, tz or ZoneInfo("UTC"), WeeklyHours.always())


def _day_of(epoch_seconds: float) -> date:
    return date(1970, 1, 1) + timedelta(days=int(epoch_seconds // DAY_SECONDS))


def _utc_midnight(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY_SECONDS
