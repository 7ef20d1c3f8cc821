"""Property tests for `sladesk.oncall` against a deliberately simple minute-stepping reference.

Random schedules (one to three layers; hourly, minute, hour, daily, weekly and N-day rotations;
hand-off times; restrictions, past midnight and inside skipped hours included; layer ends) and
random overrides of each kind, in zones with and without DST (New York, London, Dublin's
negative winter offset, Lord Howe's half-hour change, Chatham, Santiago), over windows of one
to three days placed across a DST change most of the time.

The reference never touches sladesk's rotation or wall-time code. It steps through the window
one UTC minute at a time, asks `zoneinfo` for the local wall time, and keeps the latest wall
time the clock has shown so far (`shown`). A local wall time W "has happened" at minute t when
`shown >= W`: that is the documented rule (a skipped time happens at the change, a repeated one
at its first occurrence) read from first principles. Then, at each minute:

- a layer has someone from its start until its end, inside a restriction range of a weekday
  (the range of day d holds once d+start has happened and d+end has not);
- its turn is the number of hand-offs that have happened: for days and weeks, hand-off j is the
  wall time start-date + j*N days at the hand-off time; for elapsed lengths, whole lengths since
  the first minute whose wall time reached `start`;
- the top-most layer with someone wins, then the overrides act in order.

The shifts of `final_schedule` must be exactly the reference's stretches of equal people, and
`on_call_at` at every minute, each layer's own shifts (`layer_shifts`), and `next_change`,
`who_is_next` and `gaps` from the window's start must all agree with it exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sladesk.oncall import (
    AddOverride,
    Layer,
    RemoveOverride,
    ReplaceOverride,
    Restriction,
    Schedule,
    final_schedule,
    gaps,
    layer_shifts,
    next_change,
    on_call_at,
    who_is_next,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZONES = (
    "UTC",
    "America/New_York",
    "Europe/London",
    "Europe/Dublin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "Asia/Kolkata",
)
WEEKDAY_SETS = ("daily", "mon-fri", "sat,sun", "fri-mon", "sun", "wed")
# Wall times near the changes (01:00-03:00) are over-represented: that is where bugs hide.
TIMES = st.one_of(
    st.sampled_from([time(0, 0), time(1, 0), time(1, 30), time(2, 0), time(2, 30), time(3, 0), time(9, 0)]),
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
)


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC hours at which the zone's offset changed in 2026 (none for fixed zones)."""
    zone = ZoneInfo(zone_name)
    found = []
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    previous = instant.astimezone(zone).utcoffset()
    while instant.year == 2026:
        instant += timedelta(hours=1)
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(instant)
        previous = offset
    return tuple(found)


@dataclass(frozen=True)
class Case:
    schedule: Schedule
    overrides: tuple[AddOverride | RemoveOverride | ReplaceOverride, ...]
    window_start: datetime
    window_end: datetime


def minute_to_utc(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone_name = draw(st.sampled_from(ZONES) | st.sampled_from(ZONES[1:4]))
    changes = transitions(zone_name)
    zone = ZoneInfo(zone_name)
    if changes and draw(st.integers(0, 4)) > 0:
        anchor = draw(st.sampled_from(changes))
        # The wall times the change skips or repeats, their edges included, are drawn often.
        before = (anchor - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None) + timedelta(minutes=1)
        after = anchor.astimezone(zone).replace(tzinfo=None)
        low, high = min(before, after), max(before, after)
        middle = low + (high - low) / 2
        hot = [low.time(), middle.time(), high.time(), (high - timedelta(minutes=1)).time()]
        times = st.one_of(st.sampled_from(hot), TIMES)
    else:
        anchor = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 364)))
        times = TIMES
    window_minutes = draw(st.integers(60, 2 * 24 * 60))
    window_start = anchor - timedelta(minutes=draw(st.integers(1, window_minutes - 1)))
    window_start = window_start.replace(second=0, microsecond=0)
    window_end = window_start + timedelta(minutes=window_minutes)
    local_start_date = window_start.astimezone(zone).date()

    layers = []
    for number in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["hourly", "minutes", "hours", "daily", "weekly", "days"]))
        rotation = {
            "hourly": "hourly",
            "minutes": f"{draw(st.integers(1, 8)) * 15}m",
            "hours": f"{draw(st.integers(1, 30))}h",
            "daily": "daily",
            "weekly": "weekly",
            "days": f"{draw(st.integers(2, 4))} days",
        }[kind]
        every_days = {"daily": 1, "weekly": 7, "days": int(rotation.split()[0]) if kind == "days" else 1}.get(kind, 1)
        if draw(st.booleans()):  # hand-offs on the day of the change (the anchor's local date)
            start_day = anchor.astimezone(zone).date() - timedelta(days=every_days * draw(st.integers(0, 3)))
        else:
            start_day = local_start_date + timedelta(days=draw(st.integers(-9, 2)))
        start = datetime.combine(start_day, draw(times))
        handoff = draw(st.none() | times) if kind in ("daily", "weekly", "days") else None
        restrictions = draw(
            st.just([])
            | st.lists(
                st.builds(
                    Restriction,
                    days=st.sampled_from(WEEKDAY_SETS),
                    hours=st.builds(
                        lambda a, b: f"{a:%H:%M}-{b:%H:%M}",
                        times,
                        times,
                    ).filter(lambda text: text[:5] != text[6:]),
                ),
                min_size=1,
                max_size=2,
            )
        )
        end = None
        if draw(st.integers(0, 3)) == 0:
            end = start + timedelta(minutes=draw(st.integers(1, 10 * 24 * 4)) * 15)
        layers.append(
            Layer(
                id=f"layer-{number}",
                start=start,
                rotation=rotation,
                handoff=handoff,
                people=tuple(
                    draw(
                        st.lists(st.integers(1, 6), min_size=1, max_size=4).filter(lambda p: len(set(p)) > 1)
                        | st.lists(st.integers(1, 6), min_size=1, max_size=1)
                    )
                ),
                restrictions=tuple(restrictions),
                end=end,
            )
        )
    schedule = Schedule(id="random", timezone=zone_name, layers=tuple(layers))

    overrides: list[AddOverride | RemoveOverride | ReplaceOverride] = []
    base_minute = int((window_start - EPOCH).total_seconds()) // 60
    for _ in range(draw(st.integers(0, 3))):
        first = base_minute + draw(st.integers(-600, 3 * 24 * 60))
        last = first + draw(st.integers(1, 24 * 60))
        start_at, end_at = minute_to_utc(first), minute_to_utc(last)
        user = draw(st.integers(1, 6))
        kind = draw(st.sampled_from(["add", "remove", "replace"]))
        if kind == "add":
            overrides.append(AddOverride(start=start_at, end=end_at, user=user))
        elif kind == "remove":
            overrides.append(RemoveOverride(start=start_at, end=end_at, user=user))
        else:
            other = draw(st.sampled_from([candidate for candidate in range(1, 7) if candidate != user]))
            overrides.append(ReplaceOverride(start=start_at, end=end_at, user=user, by=other))
    return Case(schedule, tuple(overrides), window_start, window_end)


# --- the reference: minute by minute, from the wall clock only ---------------------------------


def wall(zone: ZoneInfo, minute: int) -> datetime:
    """The local wall time shown at a UTC minute."""
    return datetime.fromtimestamp(minute * 60, zone).replace(tzinfo=None)


@functools.cache
def first_minute_showing(zone: ZoneInfo, target: datetime) -> int:
    """The first UTC minute whose wall time is `target` or later (found by stepping)."""
    minute = int((target.replace(tzinfo=UTC) - EPOCH).total_seconds()) // 60 - 16 * 60
    while wall(zone, minute) < target:
        minute += 1
    return minute


def reference_layer_person(layer: Layer, zone: ZoneInfo, minute: int, shown: datetime) -> int | None:
    if shown < layer.start or (layer.end is not None and shown >= layer.end):
        return None
    if layer.restrictions and not any(restriction_holds(restriction, shown) for restriction in layer.restrictions):
        return None
    rotation = layer.rotation
    if rotation in ("daily", "weekly") or rotation.endswith("days"):
        every = {"daily": 1, "weekly": 7}.get(rotation) or int(rotation.split()[0])
        handoff = layer.handoff or layer.start.time()
        turn = 0
        while datetime.combine(layer.start.date() + timedelta(days=(turn + 1) * every), handoff) <= shown:
            turn += 1
    else:
        length = 60 if rotation == "hourly" else int(rotation[:-1]) * (60 if rotation.endswith("h") else 1)
        turn = (minute - first_minute_showing(zone, layer.start)) // length
    return layer.people[turn % len(layer.people)]


def restriction_holds(restriction: Restriction, shown: datetime) -> bool:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    spec = restriction.days
    if spec == "daily":
        weekdays = set(range(7))
    elif spec == "fri-mon":
        weekdays = {4, 5, 6, 0}
    elif spec == "mon-fri":
        weekdays = {0, 1, 2, 3, 4}
    else:
        weekdays = {names.index(name) for name in spec.split(",")}
    start_text, end_text = restriction.hours.split("-")
    start_time = time.fromisoformat(start_text)
    end_time = time.fromisoformat(end_text)
    for day in (shown.date() - timedelta(days=1), shown.date()):
        if day.weekday() not in weekdays:
            continue
        opens = datetime.combine(day, start_time)
        closes = datetime.combine(day if end_time > start_time else day + timedelta(days=1), end_time)
        if opens <= shown < closes:
            return True
    return False


@dataclass(frozen=True)
class Minute:
    """What the reference finds at one UTC minute: each layer's person (bottom first) and the final people."""

    minute: int
    layer_people: tuple[int | None, ...]
    people: frozenset[int]


def reference_minutes(case: Case) -> list[Minute]:
    """Every minute of the window, worked out from the wall clock."""
    zone = ZoneInfo(case.schedule.timezone)
    first = int((case.window_start - EPOCH).total_seconds()) // 60
    last = int((case.window_end - EPOCH).total_seconds()) // 60
    # The latest wall time shown before the window: no zone turns its clock back by 4 hours.
    shown = max(wall(zone, m) for m in range(first - 4 * 60, first + 1))
    answers = []
    for minute in range(first, last):
        shown = max(shown, wall(zone, minute))
        layer_people = tuple(reference_layer_person(layer, zone, minute, shown) for layer in case.schedule.layers)
        on_layers = [person for person in layer_people if person is not None]
        people: frozenset[int] = frozenset(on_layers[-1:])
        at = minute_to_utc(minute)
        for override in case.overrides:
            if not override.start <= at < override.end:
                continue
            if isinstance(override, AddOverride):
                people = people | {override.user}
            elif isinstance(override, RemoveOverride):
                people = people - {override.user}
            elif override.user in people:
                people = (people - {override.user}) | {override.by}
        answers.append(Minute(minute, layer_people, people))
    return answers


def stretches(minutes: list[Minute], end: datetime) -> list[tuple[datetime, datetime, frozenset[int]]]:
    """The reference's minutes joined into maximal stretches of the same people."""
    joined: list[tuple[datetime, datetime, frozenset[int]]] = []
    for found in minutes:
        at = minute_to_utc(found.minute)
        if joined and joined[-1][2] == found.people:
            joined[-1] = (joined[-1][0], at + timedelta(minutes=1), found.people)
        else:
            joined.append((at, at + timedelta(minutes=1), found.people))
    if joined:
        joined[-1] = (joined[-1][0], end, joined[-1][2])
    return joined


# --- the properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_question_a_schedule_answers_agrees_with_the_minute_reference(case: Case) -> None:
    minutes = reference_minutes(case)
    expected = stretches(minutes, case.window_end)
    shifts = final_schedule(case.schedule, case.overrides, case.window_start, case.window_end)

    # The final schedule is the reference's stretches exactly: covering the window end to end,
    # each as long as it can be (neighbours differ), in UTC.
    assert [(shift.start, shift.end, shift.people) for shift in shifts] == expected
    assert all(shift.start.tzinfo is UTC and shift.end.tzinfo is UTC for shift in shifts)

    for found in minutes:
        at = minute_to_utc(found.minute)
        assert on_call_at(case.schedule, case.overrides, at) == found.people, f"on_call_at at {at.isoformat()}"

    # Each layer's own shifts put the reference's person of that layer on call, minute by minute.
    every_layer_shift = layer_shifts(case.schedule, case.window_start, case.window_end)
    for number, layer in enumerate(case.schedule.layers):
        own = [shift for shift in every_layer_shift if shift.layer_id == layer.id]
        position = 0
        for found in minutes:
            at = minute_to_utc(found.minute)
            while position < len(own) and own[position].end <= at:
                position += 1
            holder = own[position].user if position < len(own) and own[position].start <= at else None
            assert holder == found.layer_people[number], f"layer {layer.id} at {at.isoformat()}"

    # The next change, who is next and the gaps, asked from the window's start over the window.
    within = case.window_end - case.window_start
    following = expected[1] if len(expected) > 1 else None
    change = next_change(case.schedule, case.overrides, case.window_start, within=within)
    assert (None if change is None else (change.start, change.end, change.people)) == following
    others = [s for s in expected[1:] if s[2] and s[2] != expected[0][2]]
    nxt = who_is_next(case.schedule, case.overrides, case.window_start, within=within)
    assert (None if nxt is None else (nxt.start, nxt.end, nxt.people)) == (others[0] if others else None)
    if within >= timedelta(days=1):
        day_end = case.window_start + timedelta(days=1)
        expected_gaps = [(s, min(e, day_end)) for s, e, people in expected if not people and s < day_end]
        found_gaps = gaps(case.schedule, case.overrides, case.window_start, days=1)
        assert [(gap.start, gap.end) for gap in found_gaps] == expected_gaps


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 24 * 60))
def test_layer_shift_uids_do_not_depend_on_the_window_asked(case: Case, shrink_minutes: int) -> None:
    wide = layer_shifts(case.schedule, case.window_start, case.window_end)
    narrow_end = max(case.window_start + timedelta(minutes=1), case.window_end - timedelta(minutes=shrink_minutes))
    narrow = layer_shifts(case.schedule, case.window_start, narrow_end)
    by_uid = {shift.uid: shift for shift in wide}
    assert len(by_uid) == len(wide)
    for shift in narrow:
        assert by_uid[shift.uid] == shift
    assert {s.uid for s in wide if s.start < narrow_end} == {s.uid for s in narrow}


def test_zones_used_change_offset_in_2026() -> None:
    """The DST zones above really change in the year the windows are drawn from."""
    assert len(transitions("America/New_York")) == 2
    assert len(transitions("Australia/Lord_Howe")) == 2
    assert transitions("UTC") == ()
    assert date(2026, 3, 8) == transitions("America/New_York")[0].date()
