"""Property tests for `sladesk.clock`.

(a) `between(a, add(a, d)) == d` from a working instant;
(b) `add` is monotonic in its start and in the work added;
(c) the bulk forms `add_many` / `between_many` agree exactly with `add` / `between`;
(d) the engine agrees with a deliberately simple minute-stepping reference on random
    calendars (past-midnight ranges, 24:00 ends, holidays, holiday hours, extra ranges,
    unions) in zones with and without DST, over windows that contain DST changes; zero
    work included (due at once from a working minute, else at the next working minute).

The reference below never touches sladesk's timeline or wall-time code: for every UTC
minute of a small window it asks `zoneinfo` for the local wall time, places each range
boundary at "the first UTC minute whose local wall time is at or after the boundary wall
time", marks the working minutes, and then counts minute by minute.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sladesk.clock import (
    Calendar,
    ExplicitDates,
    ExtraRange,
    HolidayRule,
    HolidaySet,
    ObservedShift,
    UnionCalendar,
    WeeklyCalendar,
    WeeklyHours,
    parse_range,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_US = timedelta(microseconds=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ZONES = (
    "UTC",
    "America/New_York",
    "America/Denver",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
)

# Days with a DST change in at least one of the zones above, plus a year end (observed
# holiday shifts across years). Windows are placed around them.
ANCHORS = (
    date(2026, 3, 8),  # New York, Denver: spring forward
    date(2026, 11, 1),  # New York, Denver: fall back
    date(2027, 3, 14),
    date(2027, 11, 7),
    date(2026, 3, 29),  # London
    date(2026, 10, 25),
    date(2027, 3, 28),
    date(2027, 10, 31),
    date(2026, 4, 5),  # Lord Howe: back 30 minutes
    date(2026, 10, 4),  # Lord Howe: forward 30 minutes
    date(2027, 4, 4),
    date(2027, 10, 3),
    date(2027, 12, 31),
)

# Wall minutes where the zones above change offset, and their neighbours.
INTERESTING_MINUTES = (0, 30, 60, 75, 90, 105, 120, 130, 150, 165, 180, 1320, 1380, 1439)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------------------------------
# random calendar specifications, independent of sladesk


Range = tuple[int, int]  # (start minute, end minute); end > 1440 runs past midnight


@dataclass(frozen=True)
class CalSpec:
    zone: str
    weekly: tuple[tuple[Range, ...], ...]  # Monday first
    holidays: frozenset[date]
    observed: bool
    holiday_hours: tuple[Range, ...]
    extras: tuple[tuple[date, Range], ...]


def range_text(r: Range) -> str:
    start, end = r
    shown = end if end <= 1440 else end - 1440
    return f"{start // 60:02d}:{start % 60:02d}-{shown // 60:02d}:{shown % 60:02d}"


minutes_of_day = st.one_of(st.sampled_from(INTERESTING_MINUTES), st.integers(0, 1439))


@st.composite
def wall_ranges(draw: st.DrawFn) -> Range:
    start = draw(minutes_of_day)
    kind = draw(st.sampled_from(("same day", "to 24:00", "past midnight")))
    if kind == "to 24:00" or (kind == "past midnight" and start == 0) or start == 1439:
        return (start, 1440)
    if kind == "same day":
        end = draw(st.one_of(st.sampled_from(INTERESTING_MINUTES), st.integers(0, 1440)))
        if end <= start:
            end = draw(st.integers(start + 1, 1440))
        return (start, end)
    end = draw(st.one_of(st.sampled_from(INTERESTING_MINUTES), st.integers(0, start - 1)))
    if end >= start:
        end = draw(st.integers(0, start - 1))
    return (start, end + 1440)


@st.composite
def weekly_specs(draw: st.DrawFn) -> tuple[tuple[Range, ...], ...]:
    days = tuple(tuple(draw(st.lists(wall_ranges(), max_size=2))) for _ in range(7))
    if not any(days):
        days = ((draw(wall_ranges()),), *days[1:])
    return days


@dataclass(frozen=True)
class Window:
    first: date  # first local day of the window
    last: date  # last local day of the window


@st.composite
def windows(draw: st.DrawFn) -> Window:
    anchor = draw(st.sampled_from(ANCHORS))
    first = anchor - timedelta(days=draw(st.integers(0, 10)))
    return Window(first, first + timedelta(days=draw(st.integers(6, 14))))


@st.composite
def cal_specs(draw: st.DrawFn, window: Window) -> CalSpec:
    span = (window.last - window.first).days + 5
    candidates = [window.first - timedelta(days=2) + timedelta(days=i) for i in range(span)]
    holidays = frozenset(draw(st.lists(st.sampled_from(candidates), max_size=4)))
    extras = tuple(draw(st.lists(st.tuples(st.sampled_from(candidates), wall_ranges()), max_size=2)))
    return CalSpec(
        zone=draw(st.sampled_from(ZONES)),
        weekly=draw(weekly_specs()),
        holidays=holidays,
        observed=draw(st.booleans()),
        holiday_hours=tuple(draw(st.lists(wall_ranges(), max_size=2))),
        extras=extras,
    )


def build_engine(specs: list[CalSpec]) -> Calendar:
    """The sladesk calendar for one spec, or the union of two."""
    calendars: list[Calendar] = []
    for i, spec in enumerate(specs):
        weekly = WeeklyHours.from_mapping({WEEKDAYS[d]: [range_text(r) for r in spec.weekly[d]] for d in range(7)})
        holidays = HolidaySet(
            (HolidayRule("random", "Random holiday", ExplicitDates(tuple(sorted(spec.holidays)))),),
            observed=ObservedShift.NEAREST_WEEKDAY if spec.observed else ObservedShift.NONE,
        )
        calendars.append(
            WeeklyCalendar(
                f"random{i}",
                ZoneInfo(spec.zone),
                weekly,
                holidays=holidays,
                holiday_hours=[parse_range(range_text(r)) for r in spec.holiday_hours],
                extra=[ExtraRange(day, parse_range(range_text(r))) for day, r in spec.extras],
            )
        )
    return calendars[0] if len(calendars) == 1 else UnionCalendar("union", calendars)


# ---------------------------------------------------------------------------------------
# the minute-stepping reference


def utc_midnight_minute(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 1440


@functools.lru_cache(maxsize=64)
def wall_minutes(zone: str, g0: int, count: int) -> tuple[int, ...]:
    """Local wall time (naive minutes since 1970-01-01) of each UTC minute g0, g0+1, ..."""
    tz = ZoneInfo(zone)
    walls = []
    for i in range(count):
        local = datetime.fromtimestamp((g0 + i) * 60, tz).replace(tzinfo=None)
        walls.append((local - NAIVE_EPOCH) // timedelta(minutes=1))
    return tuple(walls)


@dataclass
class Reference:
    g0: int  # UTC minute of index 0
    work: list[bool]  # work[i]: UTC minute g0 + i is working time
    exact_from: int  # indices where `work` is complete
    exact_until: int

    def add(self, start: int, minutes: int) -> int:
        """Index of the earliest instant after `minutes` working minutes from index `start`;
        for zero minutes, of the next working minute (`start` itself if it is working)."""
        if minutes == 0:
            i = start
            while not self.work[i]:
                i += 1
            return i
        counted = 0
        i = start
        while True:
            if self.work[i]:
                counted += 1
                if counted == minutes:
                    return i + 1
            i += 1

    def between(self, a: int, b: int) -> int:
        if b < a:
            return -self.between(b, a)
        return sum(1 for i in range(a, b) if self.work[i])


def observed_day(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def reference(specs: list[CalSpec], window: Window) -> Reference:
    g0 = utc_midnight_minute(window.first - timedelta(days=3))
    g1 = utc_midnight_minute(window.last + timedelta(days=5))
    work = [False] * (g1 - g0)
    for spec in specs:
        walls = wall_minutes(spec.zone, g0, g1 - g0)

        def boundary(day: date, minute: int, walls: tuple[int, ...] = walls) -> int:
            """First UTC minute whose wall time is at or after `minute` past local midnight of `day`."""
            target = utc_midnight_minute(day) + minute
            i = target - 15 * 60 - g0  # no zone is ahead of UTC by 15 h: earlier minutes are before
            assert i >= 0
            assert walls[i] < target
            while walls[i] < target:
                i += 1
            return i

        holidays = {observed_day(d) for d in spec.holidays} if spec.observed else set(spec.holidays)
        day = window.first - timedelta(days=2)
        while day <= window.last + timedelta(days=2):
            ranges = list(spec.holiday_hours if day in holidays else spec.weekly[day.weekday()])
            ranges += [r for extra_day, r in spec.extras if extra_day == day]
            for start, end in ranges:
                for i in range(boundary(day, start), boundary(day, end)):
                    work[i] = True
            day += timedelta(days=1)
    return Reference(
        g0=g0,
        work=work,
        exact_from=utc_midnight_minute(window.first) - g0,
        exact_until=utc_midnight_minute(window.last + timedelta(days=2)) - g0,
    )


# ---------------------------------------------------------------------------------------
# helpers


def at_epoch(seconds: int, micros: int = 0) -> datetime:
    return EPOCH + timedelta(seconds=seconds, microseconds=micros)


def epoch_us(instant: datetime) -> int:
    return (instant - EPOCH) // ONE_US


def epoch_s(instant: datetime) -> int:
    us = epoch_us(instant)
    assert us % 1_000_000 == 0, instant
    return us // 1_000_000


@st.composite
def calendars_with_window(draw: st.DrawFn) -> tuple[list[CalSpec], Window]:
    window = draw(windows())
    specs = [draw(cal_specs(window))]
    if draw(st.integers(0, 3)) == 0:
        specs.append(draw(cal_specs(window)))
    return specs, window


def work_limit_seconds(specs: list[CalSpec]) -> int:
    """About eight weeks of the calendar's weekly hours: keeps answers within months, not centuries."""
    weekly_minutes = max(sum(end - start for day in spec.weekly for start, end in day) for spec in specs)
    return 8 * weekly_minutes * 60


def window_seconds(window: Window) -> tuple[int, int]:
    lo = utc_midnight_minute(window.first) * 60
    hi = utc_midnight_minute(window.last + timedelta(days=1)) * 60
    return lo, hi


# ---------------------------------------------------------------------------------------
# (a) round trip


@SETTINGS
@given(cw=calendars_with_window(), data=st.data())
def test_between_of_add_from_a_working_instant_is_the_work_added(cw, data):
    specs, window = cw
    calendar = build_engine(specs)
    lo, hi = window_seconds(window)
    for _ in range(5):
        t = at_epoch(data.draw(st.integers(lo, hi)), data.draw(st.integers(0, 999_999)))
        a = calendar.next_working_instant(t)
        work = timedelta(
            seconds=data.draw(st.integers(0, work_limit_seconds(specs))),
            microseconds=data.draw(st.integers(0, 999_999)),
        )
        assert calendar.between(a, calendar.add(a, work)) == work


# ---------------------------------------------------------------------------------------
# (b) monotonicity


@SETTINGS
@given(cw=calendars_with_window(), data=st.data())
def test_add_is_monotonic_in_start_and_in_work(cw, data):
    specs, window = cw
    calendar = build_engine(specs)
    lo, hi = window_seconds(window)
    for _ in range(5):
        t1, t2 = sorted(data.draw(st.integers(lo * 1_000_000, hi * 1_000_000)) for _ in range(2))
        w1, w2 = sorted(data.draw(st.integers(0, work_limit_seconds(specs) * 1_000_000)) for _ in range(2))
        start1, start2 = at_epoch(0, t1), at_epoch(0, t2)
        work1, work2 = timedelta(microseconds=w1), timedelta(microseconds=w2)
        assert epoch_us(calendar.add(start1, work1)) <= epoch_us(calendar.add(start2, work1))
        assert epoch_us(calendar.add(start1, work1)) <= epoch_us(calendar.add(start1, work2))
        assert epoch_us(calendar.add(start1, work1)) >= t1


# ---------------------------------------------------------------------------------------
# (c) bulk forms


FAR_AWAY = (
    int(datetime(1999, 11, 24, 15, tzinfo=UTC).timestamp()),
    int(datetime(2031, 11, 26, 15, tzinfo=UTC).timestamp()),
)


@SETTINGS
@given(cw=calendars_with_window(), data=st.data())
def test_add_many_and_between_many_agree_with_add_and_between(cw, data):
    specs, window = cw
    calendar = build_engine(specs)
    lo, hi = window_seconds(window)
    limit = work_limit_seconds(specs)
    if data.draw(st.booleans(), label="warm up with a scalar query first"):
        calendar.add(at_epoch(lo), timedelta(seconds=1))
    starts: np.ndarray | list[int]  # numpy's own arrays while they are drawn, then lists in both branches
    works: np.ndarray | list[int]
    ends: np.ndarray | list[int]
    if data.draw(st.booleans(), label="large arrays"):
        # 64 or more queries take the bucketed search path; a few far-away starts stretch it
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
        size = int(rng.integers(64, 300))
        starts = rng.integers(lo, hi, size=size)
        on_minute = rng.random(size) < 0.5  # half of them on whole minutes, where ranges begin and end
        starts[on_minute] -= starts[on_minute] % 60
        works = rng.integers(0, limit + 1, size=size)
        works[rng.random(size) < 0.1] = 0
        ends = rng.integers(lo, hi, size=size)
        if data.draw(st.booleans(), label="far away starts"):
            starts[: len(FAR_AWAY)] = FAR_AWAY
        starts, works, ends = starts.tolist(), works.tolist(), ends.tolist()
        # some work lands exactly on the end of a working range (the deadline is that instant)
        for i in range(0, size, 4):
            start = at_epoch(starts[i])
            ranges = calendar.working_ranges(start, start + timedelta(days=21))
            if ranges:
                _, range_end = ranges[int(rng.integers(0, len(ranges)))]
                works[i] = calendar.between(start, range_end) // timedelta(seconds=1)
    else:
        size = data.draw(st.integers(1, 12))
        instants = st.one_of(st.integers(lo, hi), st.integers(lo // 60, hi // 60).map(lambda m: m * 60))
        starts = [data.draw(instants) for _ in range(size)]
        works = [data.draw(st.one_of(st.just(0), st.integers(0, limit))) for _ in range(size)]
        ends = [data.draw(instants) for _ in range(size)]

    got_add = calendar.add_many(np.array(starts, dtype=np.int64), np.array(works, dtype=np.int64))
    want_add = [epoch_s(calendar.add(at_epoch(s), timedelta(seconds=w))) for s, w in zip(starts, works, strict=True)]
    assert got_add.tolist() == want_add

    got_between = calendar.between_many(np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))
    want_between = [
        calendar.between(at_epoch(a), at_epoch(b)) // timedelta(seconds=1) for a, b in zip(starts, ends, strict=True)
    ]
    assert got_between.tolist() == want_between

    for one_work in (max(works[0], 1), 0):
        got_scalar_work = calendar.add_many(np.array(starts, dtype=np.int64), one_work)
        want_scalar_work = [epoch_s(calendar.add(at_epoch(s), timedelta(seconds=one_work))) for s in starts]
        assert got_scalar_work.tolist() == want_scalar_work


# ---------------------------------------------------------------------------------------
# (d) the engine against the minute-stepping reference


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cw=calendars_with_window(), data=st.data())
def test_engine_agrees_with_minute_stepping_reference(cw, data):
    specs, window = cw
    calendar = build_engine(specs)
    ref = reference(specs, window)
    lo, hi = ref.exact_from, ref.exact_until
    indices = st.integers(lo, hi - 1)
    # zero work from index i is due inside the window only if a working minute follows by then
    last_working = max((i for i in range(lo, hi) if ref.work[i]), default=lo - 1)

    for _ in range(4):
        start = data.draw(indices, label="add start index")
        available = ref.between(start, hi)
        if available == 0:
            continue  # even zero work is due past the window, where the reference is incomplete
        minutes = data.draw(st.one_of(st.integers(0, available), st.sampled_from((0, 1, available))), label="minutes")
        want = ref.add(start, minutes)
        got = calendar.add(at_epoch((ref.g0 + start) * 60), timedelta(minutes=minutes))
        assert epoch_us(got) == (ref.g0 + want) * 60 * 1_000_000, (start, minutes)

    # zero work from the ends of working ranges (not working time) and from the minute before
    # them (working time), where due-at-once and due-at-the-next-start part
    ends = [i for i in range(lo + 1, last_working) if ref.work[i - 1] and not ref.work[i]]
    for end in data.draw(st.lists(st.sampled_from(ends), max_size=3), label="range ends") if ends else []:
        for start in (end - 1, end):
            got = calendar.add(at_epoch((ref.g0 + start) * 60), timedelta(0))
            assert epoch_us(got) == (ref.g0 + ref.add(start, 0)) * 60 * 1_000_000, start

    for _ in range(4):
        a = data.draw(st.integers(lo, hi), label="between a")
        b = data.draw(st.integers(lo, hi), label="between b")
        got_between = calendar.between(at_epoch((ref.g0 + a) * 60), at_epoch((ref.g0 + b) * 60))
        assert got_between == timedelta(minutes=ref.between(a, b)), (a, b)

    # the working instants themselves, minute by minute over one random day of the window
    day_start = data.draw(st.integers(lo, hi - 1440), label="scanned day")
    for i in range(day_start, day_start + 1440, 7):
        t = at_epoch((ref.g0 + i) * 60)
        assert epoch_us(calendar.next_working_instant(t)) >= epoch_us(t)
        nxt = epoch_us(calendar.next_working_instant(t))
        assert (nxt == epoch_us(t)) == ref.work[i], i
        if i <= last_working:
            assert epoch_us(calendar.add(t, timedelta(0))) == (ref.g0 + ref.add(i, 0)) * 60 * 1_000_000, i
