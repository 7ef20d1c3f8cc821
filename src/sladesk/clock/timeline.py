"""The compiled timeline: sorted working intervals in UTC epoch seconds with prefix sums.

Every query is a binary search: `worked(t)` finds the interval holding `t`, and `add`
finds the interval where the prefix sum reaches the target. Scalar queries run on plain
Python lists in microseconds (exact for datetimes); bulk queries run on numpy int64
arrays in seconds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MICROS = 1_000_000

IntArray = npt.NDArray[np.int64]


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
        )

    @property
    def total_seconds(self) -> int:
        return int(self.worked_through[-1]) if len(self.worked_through) else 0

    def covers(self, epoch_seconds: float) -> bool:
        return self.valid_from <= epoch_seconds <= self.valid_until

    # scalar queries, in microseconds

    def worked_us(self, t_us: int) -> int:
        """Working microseconds between the first interval and `t_us`."""
        i = bisect_right(self._starts_us, t_us) - 1
        if i < 0:
            return 0
        return self._before_us[i] + min(t_us, self._ends_us[i]) - self._starts_us[i]

    def instant_at_us(self, target_us: int) -> int | None:
        """The earliest instant where worked time reaches `target_us` (> 0); None past the end."""
        j = bisect_left(self._through_us, target_us)
        if j == len(self._through_us):
            return None
        return self._starts_us[j] + target_us - self._before_us[j]

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
        i = np.searchsorted(self.starts, t, side="right") - 1
        inside = np.maximum(i, 0)
        worked = self.worked_before[inside] + np.minimum(t, self.ends[inside]) - self.starts[inside]
        return np.where(i >= 0, worked, 0)

    def instants_at_many(self, targets: IntArray) -> IntArray:
        """Like `instant_at_us` for each target (all > 0 and within the timeline)."""
        j = np.searchsorted(self.worked_through, targets, side="left")
        return self.starts[j] + targets - self.worked_before[j]
