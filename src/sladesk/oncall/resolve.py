"""The final schedule: layers stacked, overrides applied, and the questions asked of it.

At each instant the final schedule is computed in two steps:

1. Layers: the person of the top-most (last listed) layer that has someone on call then.
   A layer has no one before its `start`, from its `end`, and outside its restrictions.
2. Overrides, in the order given, each acting on the result of the ones before it while its
   [start, end) holds: `add` puts its user on call, `remove` takes its user off, and `replace`
   puts `by` on call in place of `user` when `user` is on call.

Every function takes its instants as aware datetimes (any zone) and answers in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from sladesk.oncall.layers import MICROS, LayerShift, compile_schedule, micros_to_utc, piece_at
from sladesk.oncall.model import AddOverride, RemoveOverride, ReplaceOverride, Schedule, ScheduleError

Overrides = Sequence[AddOverride | RemoveOverride | ReplaceOverride]


@dataclass(frozen=True)
class Shift:
    """A stretch of the final schedule with the same people on call throughout; no one is a gap."""

    start: datetime
    end: datetime
    people: frozenset[int]

    @property
    def is_gap(self) -> bool:
        return not self.people


def _micros(instant: datetime, name: str) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ScheduleError(
            f"`{name}` must be an aware date-time (with an offset or a zone), got {instant.isoformat()}"
        )
    return _epoch_micros(instant)


def _epoch_micros(instant: datetime) -> int:
    delta = instant - micros_to_utc(0)
    return (delta.days * 86400 + delta.seconds) * MICROS + delta.microseconds


def _override_micros(override: AddOverride | RemoveOverride | ReplaceOverride) -> tuple[int, int]:
    return _epoch_micros(override.start), _epoch_micros(override.end)


def _apply_overrides(people: frozenset[int], overrides: Overrides, instant_us: int) -> frozenset[int]:
    for override in overrides:
        start_us, end_us = _override_micros(override)
        if not start_us <= instant_us < end_us:
            continue
        if isinstance(override, AddOverride):
            people = people | {override.user}
        elif isinstance(override, RemoveOverride):
            people = people - {override.user}
        elif override.user in people:
            people = (people - {override.user}) | {override.by}
    return people


def on_call_at(schedule: Schedule, overrides: Overrides, at: datetime) -> frozenset[int]:
    """The user ids on call at `at` (empty in a gap)."""
    instant_us = _micros(at, "at")
    person = compile_schedule(schedule).layer_person_at(instant_us)
    base = frozenset() if person is None else frozenset({person})
    return _apply_overrides(base, overrides, instant_us)


def final_schedule(schedule: Schedule, overrides: Overrides, start: datetime, end: datetime) -> list[Shift]:
    """The shifts covering [start, end) in order, each as long as possible (neighbours differ in
    people), gaps included as shifts with no one; the first and last are cut at the window."""
    start_us, end_us = _micros(start, "start"), _micros(end, "end")
    if end_us <= start_us:
        raise ScheduleError(f"`end` ({end.isoformat()}) must be after `start` ({start.isoformat()})")
    compiled = compile_schedule(schedule)
    layer_pieces = [layer.pieces(start_us, end_us) for layer in compiled.layers]
    layer_starts = [[piece.start_us for piece in pieces] for pieces in layer_pieces]
    boundaries = {start_us, end_us}
    for pieces in layer_pieces:
        for piece in pieces:
            boundaries.update((piece.start_us, piece.end_us))
    for override in overrides:
        boundaries.update(_override_micros(override))
    cuts = sorted(b for b in boundaries if start_us <= b <= end_us)

    shifts: list[tuple[int, int, frozenset[int]]] = []
    for segment_start, segment_end in pairwise(cuts):
        people: frozenset[int] = frozenset()
        for pieces, starts in zip(reversed(layer_pieces), reversed(layer_starts), strict=True):
            found = piece_at(pieces, starts, segment_start)
            if found is not None:
                people = frozenset({found.user})
                break
        people = _apply_overrides(people, overrides, segment_start)
        if shifts and shifts[-1][2] == people:
            shifts[-1] = (shifts[-1][0], segment_end, people)
        else:
            shifts.append((segment_start, segment_end, people))
    return [Shift(micros_to_utc(s), micros_to_utc(e), people) for s, e, people in shifts]


def layer_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[LayerShift]:
    """Each layer's own shifts (before layering and overrides) that overlap [start, end), with
    stable uids for a calendar feed; shifts are whole, not cut at the window."""
    start_us, end_us = _micros(start, "start"), _micros(end, "end")
    if end_us <= start_us:
        raise ScheduleError(f"`end` ({end.isoformat()}) must be after `start` ({start.isoformat()})")
    return compile_schedule(schedule).layer_shifts(start_us, end_us)


DEFAULT_HORIZON = timedelta(days=90)


def _first_shift_after(
    schedule: Schedule,
    overrides: Overrides,
    at: datetime,
    within: timedelta,
    wanted: Callable[[Shift, frozenset[int]], bool],
) -> Shift | None:
    """The first shift after the one in progress at `at` that `wanted` accepts (given the people
    on call at `at`), over a window grown until that shift is whole or `within` is reached."""
    if within <= timedelta(0):
        raise ScheduleError(f"`within` must be a positive length of time, got {within}")
    span = min(timedelta(days=2), within)
    while True:
        shifts = final_schedule(schedule, overrides, at, at + span)
        current = shifts[0].people
        for position, shift in enumerate(shifts[1:], start=1):
            if wanted(shift, current):
                if position < len(shifts) - 1 or span >= within:
                    return shift
                break  # it may go on past the window: look further to find its end
        else:
            if span >= within:
                return None
        span = min(span * 2, within)


def next_change(
    schedule: Schedule, overrides: Overrides, at: datetime, within: timedelta = DEFAULT_HORIZON
) -> Shift | None:
    """The first shift starting after `at` whose people differ from those on call at `at` (a gap
    included), or None when nothing changes within `within`; an end past `within` is cut there."""
    return _first_shift_after(schedule, overrides, at, within, lambda shift, current: shift.people != current)


def who_is_next(
    schedule: Schedule, overrides: Overrides, at: datetime, within: timedelta = DEFAULT_HORIZON
) -> Shift | None:
    """The first shift starting after `at` with someone on call and people other than those on
    call at `at` (gaps skipped), or None within `within`; an end past `within` is cut there."""
    return _first_shift_after(
        schedule, overrides, at, within, lambda shift, current: bool(shift.people) and shift.people != current
    )


def gaps(schedule: Schedule, overrides: Overrides, now: datetime, days: int = 30) -> list[Shift]:
    """The stretches with no one on call from `now` to `days` days later (cut at both ends)."""
    if days < 1:
        raise ScheduleError(f"`days` must be at least 1, got {days}")
    return [shift for shift in final_schedule(schedule, overrides, now, now + timedelta(days=days)) if shift.is_gap]
