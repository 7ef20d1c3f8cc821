"""The compiled timeline: sorted working intervals in UTC epoch seconds with prefix sums.

Every query is a binary search: `worked(t)` finds the interval holding `t`, and `add`
finds the interval where the prefix sum reaches the target. Scalar queries run on plain
Python lists in microseconds (exact for datetimes); bulk queries run on numpy int64
arrays in seconds, through a `SortedIndex` that replaces the binary search by a bucket
lookup (same answers as `np.searchsorted`, several times faster on large arrays).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

MICROS = 1_000_000

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_BUCKETS_PER_VALUE = 4  # a SortedIndex has about this many buckets per value
_MAX_STEPS = 4  # values in one bucket beyond which a SortedIndex falls back to np.searchsorted
_MIN_BUCKETED = 64  # smaller query arrays go straight to np.searchsorted
_SAFE = 1 << 60  # queries within +-2**60 cannot overflow `query - base`
_SENTINEL = np.iinfo(np.int64).max


@dataclass(frozen=True, eq=False)
class SortedIndex:
    """`np.searchsorted` on one fixed sorted int64 array, by bucket lookup.

    The range of the values is cut into buckets `2**shift` wide; `first[k]` is the number of
    values before bucket `k`, and a query then steps over the few values (at most `steps`)
    inside its own bucket. Answers are exactly those of `np.searchsorted`, which is used
    instead when the values bunch up, for small or non-int64 queries, and for queries far
    outside the epoch range.
    """

    values: IntArray
    padded: IntArray  # values followed by one sentinel that no query reaches
    base: int
    shift: int
    first: IntArray
    steps: int  # 0: always use np.searchsorted

    @classmethod
    def build(cls, values: IntArray) -> SortedIndex:
        count = len(values)
        padded = np.append(values, np.int64(_SENTINEL))
        if count == 0 or int(values[0]) < -_SAFE or int(values[-1]) > _SAFE:
            return cls(values, padded, 0, 0, np.zeros(1, dtype=np.intp), 0)
        base = int(values[0])
        span = int(values[-1]) - base + 1
        shift = max(1, span // (_BUCKETS_PER_VALUE * count)).bit_length() - 1
        buckets = ((int(values[-1]) - base) >> shift) + 1
        edges = base + (np.arange(buckets, dtype=np.int64) << shift)
        first = np.searchsorted(values, edges, side="left")
        steps = int(np.diff(first, append=count).max())
        return cls(values, padded, base, shift, first, steps if steps <= _MAX_STEPS else 0)

    def search(self, query: IntArray, side: Literal["left", "right"]) -> npt.NDArray[np.intp]:
        """`np.searchsorted(self.values, query, side=side)`."""
        if not self.steps or query.dtype != np.int64 or query.ndim == 0 or query.size < _MIN_BUCKETED:
            return np.searchsorted(self.values, query, side=side)
        low, high = int(query.min()), int(query.max())
        if low < -_SAFE or high > _SAFE:
            return np.searchsorted(self.values, query, side=side)
        bucket = query - self.base
        bucket >>= self.shift
        if low < self.base or (high - self.base) >> self.shift >= len(self.first):
            np.clip(bucket, 0, len(self.first) - 1, out=bucket)
        found = self.first[bucket]
        step = np.less_equal if side == "right" else np.less
        for _ in range(self.steps):
            found += step(self.padded[found], query)
        return found


@dataclass(frozen=True, eq=False)
class Timeline:
    """Working intervals `[starts[i], ends[i])` valid for queries within `[valid_from, valid_until]`."""

    starts: IntArray
    ends: IntArray
    worked_before: IntArray  # working seconds before starts[i], counted from the first interval
    worked_through: IntArray  # worked_before[i] + the length of interval i
    valid_from: int
    valid_until: int
    _starts_us: list[int]
    _ends_us: list[int]
    _before_us: list[int]
    _through_us: list[int]
    _starts_index: SortedIndex
    _through_index: SortedIndex
    _start_less_before: IntArray  # starts[i] - worked_before[i]: instant = this + target
    _before_less_start: IntArray  # worked_before[i] - starts[i]: worked = this + min(t, ends[i])
    valid_from_us: int
    valid_until_us: int

    @classmethod
    def build(cls, intervals: Sequence[tuple[int, int]], valid_from: int, valid_until: int) -> Timeline:
        """From sorted, disjoint `(start, end)` pairs in epoch seconds."""
        starts = np.fromiter((s for s, _ in intervals), dtype=np.int64, count=len(intervals))
        ends = np.fromiter((e for _, e in intervals), dtype=np.int64, count=len(intervals))
        lengths = ends - starts
        worked_through = np.cumsum(lengths, dtype=np.int64)
        worked_before = worked_through - lengths
        return cls(
            starts=starts,
            ends=ends,
            worked_before=worked_before,
            worked_through=worked_through,
            valid_from=valid_from,
            valid_until=valid_until,
            _starts_us=[int(s) * MICROS for s in starts],
            _ends_us=[int(e) * MICROS for e in ends],
            _before_us=[int(w) * MICROS for w in worked_before],
            _through_us=[int(w) * MICROS for w in worked_through],
            _starts_index=SortedIndex.build(starts),
            _through_index=SortedIndex.build(worked_through),
            _start_less_before=starts - worked_before,
            _before_less_start=worked_before - starts,
            valid_from_us=valid_from * MICROS,
            valid_until_us=valid_until * MICROS,
        )

    def covers(self, epoch_seconds: float) -> bool:
        return self.valid_from <= epoch_seconds <= self.valid_until

    # scalar queries, in microseconds

    def worked_us(self, t_us: int) -> int:
        """Working microseconds between the first interval and `t_us`."""
        i = bisect_right(self._starts_us, t_us) - 1
        if i < 0:
            return 0
        return self._before_us[i] + min(t_us, self._ends_us[i]) - self._starts_us[i]

    def add_us(self, start_us: int, work_us: int) -> int | None:
        """The earliest instant where `work_us` of working time has passed since `start_us`; None past the end.

        Zero work is due at the next working instant: `start_us` itself if it is working time.
        """
        starts = self._starts_us
        i = bisect_right(starts, start_us) - 1
        target = work_us if i < 0 else self._before_us[i] + min(start_us, self._ends_us[i]) - starts[i] + work_us
        # Positive work ends in the interval whose prefix sum reaches the target (a range's end
        # included); zero work waits for the interval that holds working time after it.
        j = bisect_left(self._through_us, target) if work_us else bisect_right(self._through_us, target)
        if j == len(starts):
            return None
        return starts[j] + target - self._before_us[j]

    def next_working_us(self, t_us: int) -> int | None:
        """`t_us` if it is working time, else the start of the next interval; None past the end."""
        i = bisect_right(self._ends_us, t_us)
        if i == len(self._ends_us):
            return None
        return max(t_us, self._starts_us[i])

    def intervals_between(self, a: int, b: int) -> list[tuple[int, int]]:
        """The working intervals clipped to `[a, b)`, in epoch seconds."""
        first = int(np.searchsorted(self.ends, a, side="right"))
        last = int(np.searchsorted(self.starts, b, side="left"))
        return [
            (max(a, int(self.starts[i])), min(b, int(self.ends[i])))
            for i in range(first, last)
            if max(a, int(self.starts[i])) < min(b, int(self.ends[i]))
        ]

    # bulk queries, in seconds

    def worked_many(self, t: IntArray) -> IntArray:
        if len(self.starts) == 0:
            return np.zeros(np.shape(t), dtype=np.int64)
        i = self._starts_index.search(t, "right") - 1
        inside = np.maximum(i, 0)
        worked = self._before_less_start[inside] + np.minimum(t, self.ends[inside])
        return np.where(i >= 0, worked, 0)

    def instants_at_many(self, targets: IntArray, zero_work: BoolArray | None = None) -> IntArray:
        """For each target (within the timeline), the earliest instant where worked time reaches it.

        Where `zero_work` is true the answer is the earliest *working* instant there, the start
        of working second `target + 1`: what zero work from a start is due at.
        """
        # Whole seconds: "the first prefix sum above the target" is "the first at or above target + 1".
        reach = targets if zero_work is None else targets + zero_work
        j = self._through_index.search(reach, "left")
        return self._start_less_before[j] + targets
