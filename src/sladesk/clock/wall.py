"""Local wall time to UTC instants, with the DST rules of docs/clocks.md."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
MICROS = 1_000_000


def wall_to_epoch(tz: ZoneInfo, day: date, minute: int) -> int:
    """Epoch seconds of `minute` after local midnight of `day` (past 1440 runs into later days).

    A wall time that does not exist (spring forward) is the first valid instant after it,
    which is the transition itself; an ambiguous one (fall back) is its first occurrence.
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first_guess = int(naive.replace(tzinfo=tz).timestamp())
    if _wall(tz, first_guess) == naive:
        return first_guess
    # In a gap, fold=0 reads the time with the offset before the change (landing after the
    # transition) and fold=1 with the offset after it (landing before): search between them.
    before = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    after = first_guess
    while after - before > 1:
        middle = (before + after) // 2
        if _wall(tz, middle) >= naive:
            after = middle
        else:
            before = middle
    return after


def _wall(tz: ZoneInfo, epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz).replace(tzinfo=None)


def to_micros(instant: datetime) -> int:
    """Epoch microseconds of an aware datetime."""
    return (instant - EPOCH) // ONE_MICROSECOND


def from_micros(epoch_us: int, tz: ZoneInfo) -> datetime:
    if epoch_us % MICROS == 0:  # whole seconds: the same datetime, built faster
        return datetime.fromtimestamp(epoch_us // MICROS, tz)
    return (EPOCH + timedelta(microseconds=epoch_us)).astimezone(tz)
