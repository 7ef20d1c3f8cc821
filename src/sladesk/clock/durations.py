"""Durations as a policy writes them: `30m`, `4h`, `1h 30m`, `2 business days`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from sladesk.errors import CalendarError

if TYPE_CHECKING:
    from sladesk.clock.calendar import Calendar

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_BUSINESS_DAYS = re.compile(r"^(\d+(?:\.\d+)?)\s*business\s+days?$")


@dataclass(frozen=True)
class Duration:
    """Working time, either fixed (`seconds`) or in standard working days of a calendar."""

    seconds: int = 0
    business_days: Fraction = Fraction(0)

    def on(self, calendar: Calendar) -> timedelta:
        """The working time this duration stands for on `calendar`."""
        if self.business_days:
            day_seconds = int(calendar.standard_day.total_seconds())
            return timedelta(seconds=int(self.business_days * day_seconds))
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        """The duration as a policy writes it (`4h`, `1h 30m`, `1 business day`), which `parse_duration` reads back."""
        if self.business_days:
            days = self.business_days
            # A parsed amount is a finite decimal, so this division is exact.
            shown = format(Decimal(days.numerator) / Decimal(days.denominator), "f")
            return f"{shown} business day{'s' if days != 1 else ''}"
        return _hours_minutes_seconds(self.seconds)


def parse_duration(text: str) -> Duration:
    """Read `30m`, `4h`, `1h 30m`, `24 hours` or `2 business days`."""
    key = " ".join(str(text).strip().lower().split())
    if match := _BUSINESS_DAYS.match(key):
        return Duration(business_days=Fraction(match.group(1)))
    parts = _PART.findall(key)
    if not parts or _PART.sub("", key).strip():
        raise CalendarError(f"cannot read {text!r} as a duration (expected like 30m, 4h, 1h 30m or 2 business days)")
    total = Fraction(0)
    for amount, unit in parts:
        if unit not in _UNITS:
            raise CalendarError(f"unknown unit {unit!r} in duration {text!r} (use s, m, h or business days)")
        total += Fraction(amount) * _UNITS[unit]
    if total.denominator != 1:
        raise CalendarError(f"duration {text!r} is not a whole number of seconds")
    return Duration(seconds=int(total))


def format_duration(span: timedelta) -> str:
    """`4h`, `1h 30m`, `2d 3h` style for people; `0m` for nothing."""
    seconds = int(span.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return sign + (" ".join(parts) if parts else "0m")


def _hours_minutes_seconds(seconds: int) -> str:
    """`24h`, `1h 30m`, `45s`: the units a policy's durations are read in (a day is not one of them)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return " ".join(parts) if parts else "0m"
