"""One fixed clock for the tests: what an app that takes `clock=` calls for `now`."""

from __future__ import annotations

from datetime import datetime, timedelta


def _aware(instant: datetime | str) -> datetime:
    value = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    if value.utcoffset() is None:
        raise ValueError(f"a fixed clock needs an aware instant, not {value.isoformat()}")
    return value


class FixedClock:
    """A clock that stands still until it is told to move: `clock()` is `clock.now`.

    `FixedClock("2026-11-25T15:00:00-05:00")` or `FixedClock(datetime(..., tzinfo=...))`; naive instants are
    refused, so everything it gives is comparable with the instants the app stores.
    """

    def __init__(self, start: datetime | str) -> None:
        self.now = _aware(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, instant: datetime | str) -> datetime:
        """Stand at `instant` (a datetime or ISO 8601 text with an offset); returns it."""
        self.now = _aware(instant)
        return self.now

    def advance(self, by: timedelta | None = None, /, **amounts: float) -> datetime:
        """Move on by `by` or by `timedelta(**amounts)`, e.g. `advance(minutes=5)`; returns the new now."""
        if (by is None) == (not amounts):
            raise TypeError("advance takes one timedelta or timedelta's keyword arguments, not both or neither")
        self.now += by if by is not None else timedelta(**amounts)
        return self.now

    def __repr__(self) -> str:
        return f"FixedClock({self.now.isoformat()!r})"
