"""Working time to the stop (p50, p90, max) per metric and group, in the metric's calendar.

Percentiles are nearest-rank: of n values in ascending order, the p-th percentile is the value at position
ceil(p / 100 * n), counting from 1; it is always one of the values (docs/reports.md). PostgreSQL's
`percentile_disc` picks the same value, so the desk's SQL and this module agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sladesk.reports.attainment import Group, group_of, group_sort_key
from sladesk.reports.model import ClockOutcome, Dimension, Period, TimesReport, TimesRow

TIMES_TERMS = (
    "Times are working time on each metric's calendar, from the clock's start to its stop, pauses left out, "
    "over the clocks that stopped in the period by their own event (a reply, a resolve).",
    "Left out: first responses stopped by a resolve or close without a reply, and clocks still running at "
    "the period's end.",
    "p50 and p90 are nearest-rank percentiles: the value at position ceil(p/100 x n) of the n times in "
    "ascending order.",
    "A target is shown when every clock of the row has the same one; a row without one mixes targets (a "
    "clock that breached under a severity changed since counts under that severity, with its new target).",
)


@dataclass(frozen=True)
class TimesCell:
    """One metric and group's stopped clocks: their count, percentiles, max, common target and tickets."""

    metric: str
    group: Group
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: int | None
    target_seconds: int | None
    tickets: tuple[int, ...]


def nearest_rank(sorted_values: Sequence[int], percent: int) -> int | None:
    """The value at position ceil(percent/100 x n) of `sorted_values` (ascending), or None if empty."""
    if not sorted_values:
        return None
    rank = max(1, -(-percent * len(sorted_values) // 100))
    return sorted_values[rank - 1]


def timed(outcome: ClockOutcome, period: Period) -> bool:
    """Whether the clock's time to its stop counts in the period."""
    return (
        outcome.stopped_at is not None
        and period.start <= outcome.stopped_at < period.end
        and not outcome.stop_cancels
        and outcome.counted_seconds is not None
    )


def common_target(targets: Iterable[int | None]) -> int | None:
    """The one target every clock of a group has, else None."""
    distinct = set(targets)
    if len(distinct) == 1:
        return next(iter(distinct))
    return None


def times(
    outcomes: Iterable[ClockOutcome],
    period: Period,
    by: Sequence[Dimension] = (),
    *,
    metrics: Sequence[str] | None = None,
    tickets_per_cell: int | None = None,
) -> TimesReport:
    """p50, p90 and max working time to the stop per metric for each group of `by` (the whole desk if empty)."""
    found: dict[tuple[str, Group], list[ClockOutcome]] = defaultdict(list)
    for outcome in outcomes:
        if timed(outcome, period) and (metrics is None or outcome.metric in metrics):
            found[outcome.metric, group_of(outcome, by)].append(outcome)
    cells = []
    for (metric, group), members in found.items():
        values = sorted(member.counted_seconds or 0 for member in members)
        tickets = sorted(member.ticket_id for member in members)
        p50, p90 = nearest_rank(values, 50), nearest_rank(values, 90)
        cells.append(
            TimesCell(
                metric=metric,
                group=group,
                count=len(values),
                p50_seconds=None if p50 is None else float(p50),
                p90_seconds=None if p90 is None else float(p90),
                max_seconds=values[-1] if values else None,
                target_seconds=common_target(member.target_seconds for member in members),
                tickets=tuple(tickets if tickets_per_cell is None else tickets[:tickets_per_cell]),
            )
        )
    return times_from_cells(period, by, cells)


def times_from_cells(
    period: Period,
    by: Sequence[Dimension],
    cells: Iterable[TimesCell],
    names: dict[tuple[Dimension, str], str] | None = None,
) -> TimesReport:
    """The report's rows in order (by metric, then group) with its terms in words."""
    rows = [
        TimesRow(
            metric=cell.metric,
            group=cell.group,
            count=cell.count,
            p50_seconds=cell.p50_seconds,
            p90_seconds=cell.p90_seconds,
            max_seconds=cell.max_seconds,
            target_seconds=cell.target_seconds,
            tickets=cell.tickets,
        )
        for cell in cells
    ]
    rows.sort(key=lambda row: (row.metric, group_sort_key(row.group)))
    return TimesReport(period=period, by=tuple(by), rows=tuple(rows), exclusions=TIMES_TERMS, names=dict(names or {}))
