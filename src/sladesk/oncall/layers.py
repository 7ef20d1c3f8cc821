"""One layer's rotation as instants: its hand-offs, its restriction windows and its shifts.

Instants inside this module are integer epoch microseconds, so that comparisons are exact and
cheap; the public functions of `sladesk.oncall.resolve` turn them into UTC datetimes.

Local wall times become instants by one rule (the rule of `sladesk.clock` too): a wall time
happens at the first instant at which the clock on the wall reads it or later. A time that a
spring-forward change skips (02:30 in New York on the second Sunday of March) therefore
happens at the change itself (03:00 EDT), and a time that a fall-back change repeats (01:30 on
the first Sunday of November) happens at its first occurrence (01:30 EDT).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sladesk.clock.wall import wall_to_epoch
from sladesk.oncall.model import Layer, Schedule

MICROS = 1_000_000
MINUTES_PER_DAY = 1440
FOREVER = 2**62  # an instant after every instant a schedule is asked about


@lru_cache(maxsize=65536)
def wall_micros(zone: ZoneInfo, day: date, minute: int) -> int:
    """The instant (epoch microseconds) at which local `day` plus `minute` minutes first shows on the wall."""
    return wall_to_epoch(zone, day, minute) * MICROS


def local_date(zone: ZoneInfo, instant_us: int) -> date:
    """The local calendar date at an instant."""
    return datetime.fromtimestamp(instant_us // MICROS, zone).date()


def micros_to_utc(instant_us: int) -> datetime:
    """An epoch-microsecond instant as an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=instant_us)


def utc_stamp(instant_us: int) -> str:
    """`20261102T140000Z`: the compact UTC form used inside shift uids."""
    return micros_to_utc(instant_us).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class LayerShift:
    """A stretch of one layer with one person on call, with a uid that stays the same as long as
    the layer's rotation and restrictions put that stretch at the same start.

    `rotation_index` counts turns from the layer's first hand-off (0); a turn cut by
    restrictions gives several shifts with the same index.
    """

    layer_id: str
    rotation_index: int
    user: int
    start: datetime
    end: datetime
    uid: str


@dataclass(frozen=True)
class Piece:
    """A layer shift in epoch microseconds: [start_us, end_us) with `user` on call."""

    start_us: int
    end_us: int
    user: int
    rotation_index: int


@dataclass(frozen=True)
class _RestrictionRule:
    weekdays: frozenset[int]
    start_minute: int
    end_minute: int


class CompiledLayer:
    """A layer with its times turned into instants in its schedule's zone."""

    def __init__(self, zone: ZoneInfo, layer: Layer) -> None:
        self.zone = zone
        self.layer = layer
        self.people = layer.people
        length = layer.length
        self.elapsed_us = length.elapsed_seconds * MICROS
        self.days = length.days
        self.start_date = layer.start.date()
        self.start_us = wall_micros(zone, self.start_date, layer.start.hour * 60 + layer.start.minute)
        if layer.end is None:
            self.end_us = FOREVER
        else:
            self.end_us = wall_micros(zone, layer.end.date(), layer.end.hour * 60 + layer.end.minute)
        handoff = layer.handoff if layer.handoff is not None else layer.start.time()
        self.handoff_minute = handoff.hour * 60 + handoff.minute
        self.rules = tuple(
            _RestrictionRule(r.weekdays, r.wall_range.start_minute, r.wall_range.end_minute) for r in layer.restrictions
        )

    def handoff_at(self, index: int) -> int:
        """The instant turn `index` begins; turn 0 begins at the layer's `start`."""
        if index <= 0:
            return self.start_us
        if self.elapsed_us:
            return self.start_us + index * self.elapsed_us
        return wall_micros(self.zone, self.start_date + timedelta(days=index * self.days), self.handoff_minute)

    def rotation_index_at(self, instant_us: int) -> int:
        """The turn in progress at an instant at or after the layer's start."""
        if self.elapsed_us:
            return (instant_us - self.start_us) // self.elapsed_us
        # Hand-offs fall on consecutive dates N days apart, so the local date gives the turn to
        # within one either way; the comparisons settle it exactly.
        index = max(0, (local_date(self.zone, instant_us) - self.start_date).days // self.days)
        while self.handoff_at(index + 1) <= instant_us:
            index += 1
        while index > 0 and self.handoff_at(index) > instant_us:
            index -= 1
        return index

    def restriction_windows(self, start_us: int, end_us: int) -> list[tuple[int, int]]:
        """The restriction windows that overlap [start_us, end_us), joined where they overlap or touch."""
        first = local_date(self.zone, start_us) - timedelta(days=1)  # a range may run past midnight
        last = local_date(self.zone, end_us)
        windows: list[tuple[int, int]] = []
        day = first
        while day <= last:
            for rule in self.rules:
                if day.weekday() not in rule.weekdays:
                    continue
                window_start = wall_micros(self.zone, day, rule.start_minute)
                window_end = wall_micros(self.zone, day, rule.end_minute)
                # A range wholly inside a skipped hour (02:00-02:30 on a spring-forward day) is empty.
                if window_end > window_start and window_end > start_us and window_start < end_us:
                    windows.append((window_start, window_end))
            day += timedelta(days=1)
        windows.sort()
        joined: list[tuple[int, int]] = []
        for window_start, window_end in windows:
            if joined and window_start <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], window_end))
            else:
                joined.append((window_start, window_end))
        return joined

    def person_at(self, instant_us: int) -> int | None:
        """Who this layer puts on call at an instant, or None (before its start, after its end,
        or outside its restrictions)."""
        if instant_us < self.start_us or instant_us >= self.end_us:
            return None
        if self.rules and not any(s <= instant_us < e for s, e in self.restriction_windows(instant_us, instant_us + 1)):
            return None
        return self.people[self.rotation_index_at(instant_us) % len(self.people)]

    def pieces(self, start_us: int, end_us: int) -> list[Piece]:
        """The layer's shifts that overlap [start_us, end_us), whole (not cut at the window), in order."""
        low = max(start_us, self.start_us)
        high = min(end_us, self.end_us)
        found: list[Piece] = []
        if low >= high:
            return found
        index = self.rotation_index_at(low)
        while (turn_start := self.handoff_at(index)) < high:
            turn_end = min(self.handoff_at(index + 1), self.end_us)
            user = self.people[index % len(self.people)]
            if self.rules:
                for window_start, window_end in self.restriction_windows(turn_start, turn_end):
                    piece_start, piece_end = max(window_start, turn_start), min(window_end, turn_end)
                    if piece_end > start_us and piece_start < end_us:
                        found.append(Piece(piece_start, piece_end, user, index))
            else:
                found.append(Piece(turn_start, turn_end, user, index))
            index += 1
        return found


class CompiledSchedule:
    """A schedule's layers compiled, bottom layer first."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.zone = schedule.zone
        self.layers = tuple(CompiledLayer(self.zone, layer) for layer in schedule.layers)

    def layer_person_at(self, instant_us: int) -> int | None:
        """The person of the top-most layer that has someone at an instant."""
        for layer in reversed(self.layers):
            person = layer.person_at(instant_us)
            if person is not None:
                return person
        return None

    def layer_shifts(self, start_us: int, end_us: int) -> list[LayerShift]:
        """Every layer's shifts overlapping the window, layer by layer, each with its uid."""
        shifts: list[LayerShift] = []
        for compiled in self.layers:
            layer_id = compiled.layer.id
            for piece in compiled.pieces(start_us, end_us):
                uid = f"{self.schedule.id}/{layer_id}/{piece.rotation_index}/{utc_stamp(piece.start_us)}"
                shifts.append(
                    LayerShift(
                        layer_id=layer_id,
                        rotation_index=piece.rotation_index,
                        user=piece.user,
                        start=micros_to_utc(piece.start_us),
                        end=micros_to_utc(piece.end_us),
                        uid=uid,
                    )
                )
        return shifts


@lru_cache(maxsize=256)
def compile_schedule(schedule: Schedule) -> CompiledSchedule:
    """The compiled form of a schedule, cached (a schedule is a frozen, hashable value)."""
    return CompiledSchedule(schedule)


def piece_at(pieces: list[Piece], starts: list[int], instant_us: int) -> Piece | None:
    """The piece of a sorted, non-overlapping list that contains an instant."""
    position = bisect_right(starts, instant_us) - 1
    if position >= 0 and pieces[position].end_us > instant_us:
        return pieces[position]
    return None
