"""Benchmark: `start + N working hours` on the Alleo business calendar, four ways.

    python benchmarks/business_time.py [--starts 1000000] [--hours 13] [--seed N]

Random starts (whole seconds, uniform over 2026-01-01 00:00 .. 2027-12-31 23:59:59
America/New_York) get a deadline `hours` working hours later on Alleo's support hours
(Mon-Fri 08:00-17:00 America/New_York, eight named holidays, no observed shift):

1. sladesk bulk:   `calendar.add_many(starts, hours * 3600)` on every start (best of --repeat).
2. sladesk single: `calendar.add(datetime, timedelta)` in a Python loop (datetimes made beforehand).
3. pandas:         `CustomBusinessHour(n=hours, ...)` on naive local wall time, localized back
                   (the named baseline).
4. day-by-day:     a plain Python loop in this file that walks forward one local day at a time.

Every method's answers are compared with the bulk answers on all the starts it ran, and all
four run on a fixed set of edge cases (opening and closing times, weekends, holidays, DST
changes). pandas reports a deadline that lands exactly on a closing time as the next opening
instead; those cases are listed and checked to hold zero working time in between. Any other
disagreement makes the script exit with status 1.

numpy is limited to one thread before it is imported, so the figures are for one core.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["NUMEXPR_NUM_THREADS"] = "1"
os.environ["VECLIB_MAXIMUM_THREADS"] = "1"

import argparse
import gc
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.tseries.offsets import CustomBusinessHour
from rich.console import Console
from rich.table import Table

from goals import Goal, print_goals
from sladesk.clock import Calendar
from sladesk.policy import load_policy

IntArray = npt.NDArray[np.int64]
T = TypeVar("T")

TZ = ZoneInfo("America/New_York")
OPEN = wall_time(8, 0)
CLOSE = wall_time(17, 0)
FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2027, 12, 31)
HOLIDAY_YEARS = (2026, 2027, 2028)  # a deadline near the end of 2027 can run into 2028
ONE_DAY = timedelta(days=1)

GOAL_BULK_RATE = 5_000_000
GOAL_BULK_VS_PANDAS = 1_000
GOAL_SINGLE_US = 3.0


# the calendar, and its holidays worked out independently for pandas and the day-by-day loop


def alleo_calendar() -> Calendar:
    return load_policy("alleo").calendar("business")


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based) `weekday` (Monday 0) of a month, or the last one for nth == -1."""
    if nth == -1:
        next_month = date(year + month // 12, month % 12 + 1, 1)
        last = next_month - ONE_DAY
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def alleo_holidays(years: Iterable[int]) -> list[date]:
    """Alleo's eight holidays as they fall (no observed shift)."""
    days: list[date] = []
    for year in years:
        thanksgiving = nth_weekday(year, 11, 3, 4)
        days += [
            date(year, 1, 1),  # New Year's Day
            nth_weekday(year, 5, 0, -1),  # Memorial Day
            date(year, 7, 4),  # Independence Day
            nth_weekday(year, 9, 0, 1),  # Labor Day
            thanksgiving,  # Thanksgiving Day
            thanksgiving + ONE_DAY,  # Friday after Thanksgiving
            date(year, 12, 24),  # Christmas Eve
            date(year, 12, 25),  # Christmas Day
        ]
    return sorted(days)


def check_holidays(calendar: Calendar, holidays: Sequence[date]) -> list[str]:
    """The calendar's holidays must be exactly the independently computed ones."""
    problems = []
    expected = set(holidays)
    day = date(min(HOLIDAY_YEARS), 1, 1)
    while day.year <= max(HOLIDAY_YEARS):
        is_holiday = (calendar.day_off_reason(day) or "").startswith("holiday")
        if is_holiday != (day in expected):
            problems.append(f"{day}: calendar says {calendar.day_off_reason(day)!r}, benchmark list {day in expected}")
        day += ONE_DAY
    return problems


# the methods: epoch seconds (int64) in and out, except single calls (aware datetimes)


def sladesk_bulk(calendar: Calendar, starts: IntArray, hours: int) -> IntArray:
    return calendar.add_many(starts, hours * 3600)


def sladesk_single(calendar: Calendar, starts: Sequence[datetime], hours: int) -> list[datetime]:
    add = calendar.add
    work = timedelta(hours=hours)
    return [add(start, work) for start in starts]


def pandas_offset(hours: int, holidays: Sequence[date]) -> CustomBusinessHour:
    return CustomBusinessHour(
        n=hours, start="08:00", end="17:00", holidays=list(holidays), weekmask="Mon Tue Wed Thu Fri"
    )


def pandas_add(starts: IntArray, offset: CustomBusinessHour) -> IntArray:
    """UTC instants -> naive New York wall time -> `+ offset` -> localized back -> UTC instants."""
    local = pd.to_datetime(starts, unit="s", utc=True).tz_convert(TZ).tz_localize(None)
    moved = [stamp + offset for stamp in local]
    # Deadlines fall within 08:00-17:00 on weekdays, never in a DST gap or overlap, so the
    # wall times localize unambiguously; "raise" makes sure of it.
    back = pd.DatetimeIndex(moved).tz_localize(TZ, ambiguous="raise", nonexistent="raise")
    return np.asarray(back.as_unit("s").asi8, dtype=np.int64)


def day_by_day_add(start: int, work: int, holidays: frozenset[date]) -> int:
    """Walk local days from the start's: each open day gives its overlap of [08:00, 17:00)."""
    if work == 0:
        return start
    remaining = work
    day = datetime.fromtimestamp(start, TZ).date()
    while True:
        if day.weekday() < 5 and day not in holidays:
            opens = int(datetime.combine(day, OPEN, TZ).timestamp())
            closes = int(datetime.combine(day, CLOSE, TZ).timestamp())
            begin = max(opens, start)
            if begin < closes:
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        day += ONE_DAY


def day_by_day(starts: IntArray, hours: int, holidays: frozenset[date]) -> IntArray:
    work = hours * 3600
    return np.fromiter((day_by_day_add(s, work, holidays) for s in starts.tolist()), dtype=np.int64, count=len(starts))


# timing and checking


@dataclass
class Run:
    method: str
    count: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def micros_each(self) -> float:
        return self.seconds / self.count * 1e6


def best_time(function: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The fastest of `repeat` runs (garbage collection left on, as in real use) and its result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - began
        best = min(best, elapsed)
    assert result is not None
    return best, result


@dataclass
class Comparison:
    method: str
    sample: str
    starts: IntArray
    reference: IntArray  # sladesk bulk
    answers: IntArray
    mismatches: list[int]  # indices that disagree with no explanation
    closing_vs_opening: list[int]  # pandas: sladesk's closing time where pandas gives the next opening


def compare(
    method: str,
    sample: str,
    calendar: Calendar,
    starts: IntArray,
    reference: IntArray,
    answers: IntArray,
    closing_convention: bool = False,
) -> Comparison:
    differ = np.flatnonzero(reference != answers).tolist()
    explained: list[int] = []
    if closing_convention and differ:
        for i in differ:
            if is_closing_vs_next_opening(calendar, int(reference[i]), int(answers[i])):
                explained.append(i)
    unexplained = sorted(set(differ) - set(explained))
    return Comparison(method, sample, starts, reference, answers, unexplained, explained)


def is_closing_vs_next_opening(calendar: Calendar, sladesk_answer: int, other_answer: int) -> bool:
    """`sladesk_answer` is a 17:00 close, `other_answer` a later 08:00 open, no working time between."""
    close = datetime.fromtimestamp(sladesk_answer, TZ)
    opening = datetime.fromtimestamp(other_answer, TZ)
    return (
        close.time() == CLOSE
        and opening.time() == OPEN
        and opening > close
        and calendar.between(close, opening) == timedelta(0)
        and calendar.next_working_instant(close) == opening
    )


def edge_starts(holidays: Sequence[date]) -> IntArray:
    """Starts at the awkward places: at, just before and after opening, closing and the
    `closing - hours` point, on plain days, Fridays, weekends, around holidays and DST changes."""
    days = [
        date(2026, 1, 1),  # New Year's Day (Thursday)
        date(2026, 1, 2),  # Friday after it
        date(2026, 3, 6),  # Friday before spring forward
        date(2026, 3, 8),  # spring forward Sunday
        date(2026, 3, 9),  # Monday after
        date(2026, 5, 22),  # Friday before Memorial Day
        date(2026, 7, 3),  # Friday before Independence Day (a Saturday)
        date(2026, 10, 30),  # Friday before fall back
        date(2026, 11, 1),  # fall back Sunday
        date(2026, 11, 25),  # day before Thanksgiving
        date(2026, 12, 23),  # before Christmas Eve
        date(2026, 12, 31),  # New Year's Eve
        date(2027, 6, 15),  # a plain Tuesday
        date(2027, 12, 31),  # the last day, a Friday: deadlines run into 2028
    ]
    times = [
        wall_time(0, 0),
        wall_time(1, 30),
        wall_time(7, 59, 59),
        wall_time(8, 0),
        wall_time(8, 0, 1),
        wall_time(12, 59, 59),
        wall_time(13, 0),
        wall_time(13, 0, 1),
        wall_time(16, 0),
        wall_time(16, 59, 59),
        wall_time(17, 0),
        wall_time(17, 0, 1),
        wall_time(23, 59, 59),
    ]
    instants = {int(datetime.combine(d, t, TZ).timestamp()) for d in days for t in times}
    # both 01:30s of the fall-back night, and the instants either side of each DST change
    fall_back = datetime.combine(date(2026, 11, 1), wall_time(1, 30), TZ)
    instants.add(int(fall_back.replace(fold=1).timestamp()))
    spring = int(datetime.combine(date(2026, 3, 8), wall_time(3, 0), TZ).timestamp())
    fall = int(datetime.combine(date(2026, 11, 1), wall_time(1, 0), TZ).replace(fold=1).timestamp())
    instants.update({spring - 1, spring, fall - 1, fall})
    instants.update(int(datetime.combine(h, OPEN, TZ).timestamp()) for h in holidays if h <= LAST_DAY)
    return np.array(sorted(instants), dtype=np.int64)


def random_starts(count: int, seed: int) -> IntArray:
    lo = int(datetime.combine(FIRST_DAY, wall_time(), TZ).timestamp())
    hi = int(datetime.combine(LAST_DAY + ONE_DAY, wall_time(), TZ).timestamp())
    return np.random.default_rng(seed).integers(lo, hi, size=count, dtype=np.int64)


def to_epoch(instants: Sequence[datetime]) -> IntArray:
    """Whole-second aware datetimes to epoch seconds (exact: the float holds integers exactly)."""
    seconds = np.array([d.timestamp() for d in instants], dtype=np.float64)
    if not np.array_equal(seconds, np.floor(seconds)):
        raise ValueError("expected whole-second deadlines")
    return seconds.astype(np.int64)


def local(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, TZ).strftime("%a %Y-%m-%d %H:%M:%S %Z")


# output


def ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2f}x"


def print_table(console: Console, runs: Sequence[Run], pandas_rate: float, loop_rate: float, title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("method")
    table.add_column("starts", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("deadlines/s", justify="right")
    table.add_column("µs each", justify="right")
    table.add_column("vs pandas", justify="right")
    table.add_column("vs day-by-day", justify="right")
    table.add_column("how timed")
    for run in runs:
        table.add_row(
            run.method,
            f"{run.count:,}",
            f"{run.seconds:.4f}",
            f"{run.rate:,.0f}",
            f"{run.micros_each:.3f}",
            ratio(run.rate / pandas_rate),
            ratio(run.rate / loop_rate),
            run.note,
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--starts", type=int, default=1_000_000, help="random starts for the bulk method")
    parser.add_argument("--hours", type=int, default=13, help="working hours to add (whole hours, >= 1)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the starts")
    parser.add_argument("--single", type=int, default=200_000, help="starts for the single-call loop")
    parser.add_argument("--pandas", type=int, default=5_000, help="starts for pandas")
    parser.add_argument("--loop", type=int, default=20_000, help="starts for the day-by-day loop")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of the bulk run (best is kept)")
    parser.add_argument("--single-repeat", type=int, default=3, help="repetitions of the other runs")
    args = parser.parse_args(argv)
    if args.hours < 1:
        parser.error("--hours must be at least 1 (pandas' offset rolls a zero-hour start forward)")
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    single_n, pandas_n, loop_n = (min(n, args.starts) for n in (args.single, args.pandas, args.loop))

    console = Console(width=None if sys.stdout.isatty() else 130)
    hours: int = args.hours
    calendar = alleo_calendar()
    holidays = alleo_holidays(HOLIDAY_YEARS)
    holiday_set = frozenset(holidays)
    offset = pandas_offset(hours, holidays)
    failed = False

    problems = check_holidays(calendar, holidays)
    if problems:
        failed = True
        console.print("[red]The calendar's holidays differ from the benchmark's list:[/red]")
        for problem in problems:
            console.print(f"  {problem}")

    starts = random_starts(args.starts, args.seed)
    single_starts = [datetime.fromtimestamp(s, TZ) for s in starts[:single_n].tolist()]

    # 1. bulk: the first call compiles the timeline; then the best of --repeat
    began = time.perf_counter()
    first_answers = sladesk_bulk(calendar, starts, hours)
    cold_seconds = time.perf_counter() - began
    bulk_seconds, bulk = best_time(lambda: sladesk_bulk(calendar, starts, hours), args.repeat)
    failed |= not np.array_equal(first_answers, bulk)

    # 2. single calls on prepared datetimes
    single_seconds, single_answers = best_time(
        lambda: sladesk_single(calendar, single_starts, hours), args.single_repeat
    )
    single = to_epoch(single_answers)

    # 3. pandas, the named baseline
    pandas_starts = starts[:pandas_n]
    pandas_seconds, pandas_answers = best_time(lambda: pandas_add(pandas_starts, offset), args.single_repeat)

    # 4. the day-by-day loop
    loop_starts = starts[:loop_n]
    loop_seconds, loop_answers = best_time(lambda: day_by_day(loop_starts, hours, holiday_set), args.single_repeat)

    runs = [
        Run("sladesk bulk (add_many)", len(starts), bulk_seconds, f"best of {args.repeat}"),
        Run("sladesk single (add)", single_n, single_seconds, f"best of {args.single_repeat}, Python loop"),
        Run("pandas CustomBusinessHour", pandas_n, pandas_seconds, f"best of {args.single_repeat}, baseline"),
        Run("day-by-day Python loop", loop_n, loop_seconds, f"best of {args.single_repeat}"),
    ]
    pandas_rate, loop_rate = runs[2].rate, runs[3].rate

    # agreement: every method against bulk on all the starts it ran, and on the edge cases
    edges = edge_starts(holidays)
    edge_bulk = sladesk_bulk(calendar, edges, hours)
    edge_single = sladesk_single(calendar, [datetime.fromtimestamp(s, TZ) for s in edges.tolist()], hours)
    comparisons = [
        compare("sladesk single", "random", calendar, starts[:single_n], bulk[:single_n], single),
        compare("day-by-day loop", "random", calendar, loop_starts, bulk[:loop_n], loop_answers),
        compare("pandas", "random", calendar, pandas_starts, bulk[:pandas_n], pandas_answers, closing_convention=True),
        compare("sladesk single", "edge cases", calendar, edges, edge_bulk, to_epoch(edge_single)),
        compare("day-by-day loop", "edge cases", calendar, edges, edge_bulk, day_by_day(edges, hours, holiday_set)),
        compare("pandas", "edge cases", calendar, edges, edge_bulk, pandas_add(edges, offset), closing_convention=True),
    ]

    # report
    console.print(
        f"[bold]Alleo business calendar[/bold]: {calendar!r}\n"
        f"start + {hours} working hours; {len(starts):,} random whole-second starts in "
        f"{FIRST_DAY}..{LAST_DAY} ({TZ.key}), seed {args.seed}; {len(edges)} fixed edge-case starts\n"
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"OMP/OPENBLAS/MKL threads = {os.environ['OMP_NUM_THREADS']}, machine CPUs = {os.cpu_count()}"
    )
    print_table(console, runs, pandas_rate, loop_rate, title="start + N working hours")
    console.print(
        f"First bulk call, including compiling the timeline: {cold_seconds:.4f} s "
        f"({len(starts) / cold_seconds:,.0f} deadlines/s).\n"
        "bulk: int64 epoch seconds in and out. single: only the `calendar.add(datetime, timedelta)` loop "
        "over prepared aware datetimes. pandas: the whole epoch -> naive local wall time -> + offset -> "
        "localize -> epoch pipeline. day-by-day: epoch seconds in and out."
    )

    agreement = Table(title="Agreement with sladesk bulk", title_justify="left")
    for column in ("method", "sample", "compared", "same", "known divergence", "unexplained"):
        agreement.add_column(column, justify="left" if column in ("method", "sample") else "right")
    for c in comparisons:
        agreement.add_row(
            c.method,
            c.sample,
            f"{len(c.starts):,}",
            f"{len(c.starts) - len(c.mismatches) - len(c.closing_vs_opening):,}",
            f"{len(c.closing_vs_opening):,}",
            f"[red]{len(c.mismatches):,}[/red]" if c.mismatches else "0",
        )
    console.print(agreement)

    known_count = sum(len(c.closing_vs_opening) for c in comparisons)
    if known_count:
        console.print(
            f"Known divergence, pandas ({known_count} cases, all listed): when the deadline falls exactly on "
            "a 17:00 close, sladesk answers the close (the earliest instant at which the work is done) while "
            "pandas' business-hour offset moves on to the next 08:00 opening (it stops inside a day only "
            "when less than the rest of that day remains). Each case is checked to have zero working time "
            "between the two answers, so both are the same amount of work after the start."
        )
        for c in comparisons:
            for i in c.closing_vs_opening:
                console.print(
                    f"  {c.sample}: start {local(int(c.starts[i]))} -> sladesk {local(int(c.reference[i]))}, "
                    f"pandas {local(int(c.answers[i]))}"
                )
    for c in comparisons:
        if c.mismatches:
            failed = True
            console.print(
                f"[red]{c.method} disagrees with sladesk bulk on {len(c.mismatches)} {c.sample} starts:[/red]"
            )
            for i in c.mismatches[:20]:
                console.print(
                    f"  start {local(int(c.starts[i]))} -> bulk {local(int(c.reference[i]))}, "
                    f"{c.method} {local(int(c.answers[i]))}"
                )

    bulk_rate = runs[0].rate
    single_us = runs[1].micros_each
    goals: list[Goal] = [
        (f"bulk >= {GOAL_BULK_RATE:,} deadlines/s on one core", f"{bulk_rate:,.0f}/s", bulk_rate >= GOAL_BULK_RATE),
        (
            f"bulk >= {GOAL_BULK_VS_PANDAS:,}x pandas",
            ratio(bulk_rate / pandas_rate),
            bulk_rate / pandas_rate >= GOAL_BULK_VS_PANDAS,
        ),
        (f"single call < {GOAL_SINGLE_US} µs", f"{single_us:.3f} µs mean", single_us < GOAL_SINGLE_US),
    ]
    print_goals(console, goals)

    if failed:
        console.print("[bold red]FAILED: the methods disagree (see above).[/bold red]")
        return 1
    console.print("[bold green]All methods agree[/bold green] (apart from the listed, explained pandas cases).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
