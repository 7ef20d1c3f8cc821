"""Weekly working hours: per weekday, ranges of local wall time in minutes after midnight."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sladesk.errors import CalendarError

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LONG_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_number(name: str) -> int | None:
    """0 for `mon` or `monday` (any case), ... 6 for Sunday; None for anything else."""
    key = name.strip().lower()
    for number, (short, long) in enumerate(zip(WEEKDAY_NAMES, WEEKDAY_LONG_NAMES, strict=True)):
        if key in (short, long.lower()):
            return number
    return None


MINUTES_PER_DAY = 1440

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, order=True)
class WallRange:
    """A working range of one local day; `end_minute` past 1440 means it runs past midnight."""

    start_minute: int
    end_minute: int

    @property
    def minutes(self) -> int:
        return self.end_minute - self.start_minute

    def __str__(self) -> str:
        end = self.end_minute
        shown_end = end if end <= MINUTES_PER_DAY else end - MINUTES_PER_DAY
        return f"{_clock(self.start_minute)}-{_clock(shown_end)}"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_range(text: str) -> WallRange:
    """Read `HH:MM-HH:MM`; `24:00` may end a range, and an end before the start runs past midnight."""
    match = _RANGE.match(text)
    if not match:
        raise CalendarError(f"cannot read {text!r} as a time range (expected like 08:00-17:00)")
    sh, sm, eh, em = (int(g) for g in match.groups())
    if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em != 0):
        raise CalendarError(f"{text!r} is not a valid time range: hours run 00-23 (24:00 only as an end)")
    start = sh * 60 + sm
    end = eh * 60 + em
    if end == start:
        raise CalendarError(f"{text!r} is empty: a range needs different start and end times")
    if end < start:
        end += MINUTES_PER_DAY
    return WallRange(start, end)


def parse_weekdays(text: str) -> list[int]:
    """Read `mon`, `mon-fri`, `sat,sun`, `daily` into weekday numbers (Monday is 0)."""
    key = text.strip().lower()
    if key in ("daily", "every day", "all"):
        return list(range(7))
    days: list[int] = []
    for part in key.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (weekday_number(p) for p in part.split("-", 1))
            if a is None or b is None:
                raise CalendarError(f"cannot read {text!r} as weekdays (expected like mon-fri)")
            span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
            days.extend(span)
        else:
            number = weekday_number(part)
            if number is None:
                raise CalendarError(f"cannot read {part!r} as a weekday (expected mon, tue, ... sun)")
            days.append(number)
    return days


def merge_ranges(ranges: Iterable[WallRange]) -> tuple[WallRange, ...]:
    """Sort ranges and join the ones that overlap or touch."""
    merged: list[WallRange] = []
    for current in sorted(ranges):
        if merged and current.start_minute <= merged[-1].end_minute:
            last = merged[-1]
            merged[-1] = WallRange(last.start_minute, max(last.end_minute, current.end_minute))
        else:
            merged.append(current)
    return tuple(merged)


@dataclass(frozen=True)
class WeeklyHours:
    """Working ranges for each weekday, Monday first."""

    days: tuple[tuple[WallRange, ...], ...]

    @classmethod
    def from_mapping(cls, spec: Mapping[str, str | Sequence[str]]) -> WeeklyHours:
        """Build from `{"mon-fri": "08:00-17:00", "sat": ["10:00-12:00", "13:00-15:00"]}`."""
        per_day: list[list[WallRange]] = [[] for _ in range(7)]
        for day_spec, ranges in spec.items():
            texts = [ranges] if isinstance(ranges, str) else list(ranges)
            parsed = [parse_range(t) for t in texts if t.strip().lower() not in ("closed", "")]
            for weekday in parse_weekdays(day_spec):
                per_day[weekday].extend(parsed)
        return cls(tuple(merge_ranges(day) for day in per_day))

    @classmethod
    def always(cls) -> WeeklyHours:
        """Every day, all day (24x7)."""
        whole_day = (WallRange(0, MINUTES_PER_DAY),)
        return cls(tuple(whole_day for _ in range(7)))

    def union(self, other: WeeklyHours) -> WeeklyHours:
        return WeeklyHours(tuple(merge_ranges((*a, *b)) for a, b in zip(self.days, other.days, strict=True)))

    def day_minutes(self, weekday: int) -> int:
        return sum(r.minutes for r in self.days[weekday])

    def standard_day_minutes(self) -> int:
        """The most common non-zero daily length (ties go to the longer day); 0 if never working."""
        lengths = Counter(m for m in (self.day_minutes(d) for d in range(7)) if m > 0)
        if not lengths:
            return 0
        return max(lengths.items(), key=lambda item: (item[1], item[0]))[0]

    def describe(self) -> str:
        """Group weekdays with equal hours: `Mon-Fri 08:00-17:00; Sat-Sun closed`."""
        groups: list[tuple[list[int], tuple[WallRange, ...]]] = []
        for weekday, ranges in enumerate(self.days):
            if groups and groups[-1][1] == ranges and groups[-1][0][-1] == weekday - 1:
                groups[-1][0].append(weekday)
            else:
                groups.append(([weekday], ranges))
        parts = []
        for days, ranges in groups:
            names = [WEEKDAY_NAMES[d].capitalize() for d in days]
            label = names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"
            hours = ", ".join(str(r) for r in ranges) if ranges else "closed"
            parts.append(f"{label} {hours}")
        return "; ".join(parts)
