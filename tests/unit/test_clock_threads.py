"""One calendar queried from many threads at once answers as calendars used by one thread do.

A calendar compiles its timeline over a horizon of days and widens it when a query reaches
past it; the API answers requests from a thread pool, all sharing a policy's calendars.
Here each thread asks about its own era, past the horizon any other era's queries compile,
with work reaching years ahead, so the threads widen one fresh calendar at the same time.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sladesk.clock import Calendar, HolidayRule, HolidaySet, ObservedShift, WeeklyCalendar, WeeklyHours
from sladesk.clock import parse_date_rule as rule

NY = ZoneInfo("America/New_York")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ERAS = (2010, 2014, 2018, 2022, 2026, 2030)  # one thread each; a horizon spans about 3.3 years
LONG_WORK = timedelta(hours=7000)  # about three years of 08:00-17:00 working days
MANY = 100_000  # starts in each thread's first query

Query = tuple[str, Callable[[Calendar], object]]


def make_business() -> WeeklyCalendar:
    """New York, Mon-Fri 08:00-17:00, four US holidays observed on the nearest weekday."""
    holidays = HolidaySet(
        (
            HolidayRule("new_year", "New Year's Day", rule("01-01")),
            HolidayRule("independence", "Independence Day", rule("07-04")),
            HolidayRule("thanksgiving", "Thanksgiving Day", rule("4th thu of nov")),
            HolidayRule("christmas", "Christmas Day", rule("12-25")),
        ),
        observed=ObservedShift.NEAREST_WEEKDAY,
    )
    return WeeklyCalendar("business", NY, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}), holidays=holidays)


def epoch_s(t: datetime) -> int:
    return (t - EPOCH) // timedelta(seconds=1)


def queries_of_era(year: int) -> list[Query]:
    """Named queries about `year`, most of them reaching years past it.

    The first, on many starts, keeps its thread busy between the compiling of a horizon and
    its widening: time for other threads' compilations to finish in between.
    """
    start = datetime(year, 3, 4, 10, tzinfo=NY)
    first_s, last_s = epoch_s(datetime(year, 1, 1, tzinfo=NY)), epoch_s(datetime(year + 1, 1, 1, tzinfo=NY))
    many_starts = np.linspace(first_s, last_s, num=MANY, dtype=np.int64)
    starts = many_starts[:: MANY // 12]
    long_s = LONG_WORK // timedelta(seconds=1)
    return [
        ("add_many, many starts", lambda calendar: calendar.add_many(many_starts, long_s).tolist()),
        ("add", lambda calendar: calendar.add(start, LONG_WORK)),
        ("add, twice the work", lambda calendar: calendar.add(datetime(year, 12, 24, 16, tzinfo=NY), 2 * LONG_WORK)),
        ("add_many, zero work", lambda calendar: calendar.add_many(starts, 0).tolist()),
        ("add, zero work", lambda calendar: calendar.add(datetime(year, 12, 24, 18, tzinfo=NY), timedelta(0))),
        ("between", lambda calendar: calendar.between(start, datetime(year + 4, 1, 1, tzinfo=NY))),
        ("between_many", lambda calendar: calendar.between_many(starts, starts + 3 * 365 * 86_400).tolist()),
        ("next_working_instant", lambda calendar: calendar.next_working_instant(datetime(year, 11, 27, 3, tzinfo=NY))),
        ("working_ranges", lambda calendar: calendar.working_ranges(start, start + timedelta(days=3))),
    ]


@contextmanager
def frequent_thread_switches() -> Iterator[None]:
    """Let the interpreter switch threads every microsecond, so that compilations interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def run_together(calendar: Calendar, work: list[list[Query]]) -> list[list[object]]:
    """Each list of queries on its own thread, all released at once: the answers (or errors)."""
    answers: list[list[object]] = [[] for _ in work]
    barrier = threading.Barrier(len(work))

    def worker(index: int) -> None:
        barrier.wait()
        for _, query in work[index]:
            try:
                answers[index].append(query(calendar))
            except Exception as error:  # kept as the answer, so the comparison names it
                answers[index].append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(work))]
    with frequent_thread_switches():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return answers


@pytest.fixture(scope="module")
def work_and_answers() -> tuple[list[list[Query]], list[list[object]]]:
    """Each era's queries, and their answers on a fresh calendar that one thread alone used."""
    work = [queries_of_era(year) for year in ERAS]
    answers = []
    for queries in work:
        calendar = make_business()
        answers.append([query(calendar) for _, query in queries])
    return work, answers


@pytest.mark.parametrize("round_number", [1, 2])
@pytest.mark.parametrize("order", ["oldest_era_first", "newest_era_first"])
def test_threads_widening_one_fresh_calendar_get_the_single_threaded_answers(work_and_answers, order, round_number):
    work, expected = work_and_answers
    eras = list(range(len(ERAS)))
    if order == "newest_era_first":
        eras.reverse()
    calendar = make_business()

    got = run_together(calendar, [work[era] for era in eras])

    wrong = [
        (ERAS[era], name)
        for thread, era in enumerate(eras)
        for (name, _), answer, want in zip(work[era], got[thread], expected[era], strict=True)
        if answer != want
    ]
    assert wrong == []
    # and no thread's widening was lost: one timeline now covers every era
    first_s = epoch_s(datetime(ERAS[0], 1, 1, tzinfo=NY))
    last_s = epoch_s(datetime(ERAS[-1] + 4, 1, 1, tzinfo=NY))
    timeline = calendar.timeline(first_s)
    assert timeline.covers(first_s)
    assert timeline.covers(last_s)
