"""How long one person's turn in a rotation lasts: real elapsed time, or local calendar days."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sladesk.clock.durations import parse_duration
from sladesk.errors import CalendarError

_NAMED = {"hourly": (3600, 0), "daily": (0, 1), "weekly": (0, 7)}
_DAYS = re.compile(r"^(\d+)\s*(d|day|days|w|wk|week|weeks)$")


@dataclass(frozen=True)
class RotationLength:
    """Either `elapsed_seconds` (hours and minutes: the same number of real seconds every turn)
    or `days` (calendar days: each turn ends at the hand-off wall time, 23 or 25 hours on a DST day)."""

    elapsed_seconds: int = 0
    days: int = 0


def parse_rotation(text: str) -> RotationLength:
    """Read `hourly`, `daily`, `weekly`, `12h`, `1h 30m`, `3 days` or `2 weeks`."""
    key = " ".join(text.strip().lower().split())
    if key in _NAMED:
        seconds, days = _NAMED[key]
        return RotationLength(elapsed_seconds=seconds, days=days)
    if match := _DAYS.match(key):
        count = int(match.group(1))
        days = count * 7 if match.group(2).startswith("w") else count
        if days < 1:
            raise CalendarError(f"rotation {text!r} is empty: a turn lasts at least a minute")
        return RotationLength(days=days)
    try:
        duration = parse_duration(key)
    except CalendarError:
        raise CalendarError(
            f"cannot read {text!r} as a rotation (expected hourly, daily, weekly, or a length like 12h or 3 days)"
        ) from None
    if duration.business_days:
        raise CalendarError(f"rotation {text!r}: a rotation counts calendar days, not business days")
    if duration.seconds < 60 or duration.seconds % 60:
        raise CalendarError(f"rotation {text!r} must be a whole number of minutes, at least one")
    return RotationLength(elapsed_seconds=duration.seconds)
