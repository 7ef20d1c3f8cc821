"""Calendar arithmetic with literal expected instants, each worked out by hand.

Weekdays used below (worked from 2026-01-01 = Thursday, 2027-01-01 = Friday):
  2026: Mar 6 Fri, Mar 8 Sun (DST starts), Jun 15 Mon .. Jun 21 Sun, Jul 3 Fri,
        Oct 30 Fri, Nov 1 Sun (DST ends), Nov 23 Mon, Nov 25 Wed, Nov 26 Thu, Nov 30 Mon,
        Dec 23 Wed, Dec 28 Mon, Dec 31 Thu.
  2027: Mar 12 Fri, Mar 14 Sun (DST starts), May 28 Fri, Jul 2 Fri, Jul 5 Mon,
        Nov 5 Fri, Nov 7 Sun (DST ends), Nov 24 Wed, Nov 25 Thu, Dec 23 Thu, Dec 30 Thu,
        Dec 31 Fri; 2028-01-01 Sat, 2028-01-03 Mon.
America/New_York is UTC-5 (EST) / UTC-4 (EDT); DST 2026-03-08 02:00 -> 03:00 (07:00 UTC),
2026-11-01 02:00 -> 01:00 (06:00 UTC); 2027-03-14 and 2027-11-07 likewise.
America/Denver is UTC-7 (MST) / UTC-6 (MDT), changing on the same dates.
Europe/London is UTC+0 / UTC+1: 2026-03-29 01:00 -> 02:00, 2026-10-25 02:00 -> 01:00.
Australia/Lord_Howe is UTC+10:30 / UTC+11 (a 30-minute change): 2026-04-05 02:00 -> 01:30,
2026-10-04 02:00 -> 02:30.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sladesk.clock import (
    Calendar,
    ExplicitDates,
    ExtraRange,
    HolidayRule,
    HolidaySet,
    ObservedShift,
    UnionCalendar,
    WeeklyCalendar,
    WeeklyHours,
    always,
    parse_date_rule,
    parse_duration,
    parse_range,
)
from sladesk.errors import CalendarError

NY = ZoneInfo("America/New_York")
DEN = ZoneInfo("America/Denver")
LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def ny(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=NY, fold=fold)  # type: ignore[misc, arg-type]


def den(*args: int) -> datetime:
    return datetime(*args, tzinfo=DEN)  # type: ignore[misc, arg-type]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc, arg-type]


def instant(t: datetime) -> datetime:
    """The same instant in UTC: compares instants, never wall fields (fold-safe)."""
    return t.astimezone(UTC)


def epoch_s(t: datetime) -> int:
    return (t - EPOCH) // timedelta(seconds=1)


def us_holidays() -> HolidaySet:
    return HolidaySet(
        (
            HolidayRule("new_year", "New Year's Day", parse_date_rule("01-01")),
            HolidayRule("memorial", "Memorial Day", parse_date_rule("last mon of may")),
            HolidayRule("independence", "Independence Day", parse_date_rule("07-04")),
            HolidayRule("labor", "Labor Day", parse_date_rule("1st mon of sep")),
            HolidayRule("thanksgiving", "Thanksgiving Day", parse_date_rule("4th thu of nov")),
            HolidayRule("black_friday", "Day after Thanksgiving", parse_date_rule("thanksgiving + 1 day")),
            HolidayRule("christmas_eve", "Christmas Eve", parse_date_rule("12-24")),
            HolidayRule("christmas", "Christmas Day", parse_date_rule("12-25")),
        ),
        observed=ObservedShift.NEAREST_WEEKDAY,
    )


def weekly(zone: ZoneInfo, spec: dict[str, str | list[str]], **kwargs) -> WeeklyCalendar:
    return WeeklyCalendar("test", zone, WeeklyHours.from_mapping(spec), **kwargs)


def make_business() -> WeeklyCalendar:
    """New York, Mon-Fri 08:00-17:00, US holidays observed on the nearest weekday."""
    return weekly(NY, {"mon-fri": "08:00-17:00"}, holidays=us_holidays())


def make_night(holiday: bool = True) -> WeeklyCalendar:
    """New York, Mon-Fri 22:00-02:00 (past midnight); Friday 2026-06-19 a company holiday."""
    days = (date(2026, 6, 19),) if holiday else ()
    holidays = HolidaySet((HolidayRule("company", "Company Day", ExplicitDates(days)),))
    return weekly(NY, {"mon-fri": "22:00-02:00"}, holidays=holidays)


def make_union() -> UnionCalendar:
    """Denver: business 08:00-17:00 Mon-Fri + on-call 17:00-22:00 weekdays, 08:00-22:00 otherwise."""
    business = WeeklyCalendar(
        "business", DEN, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}), holidays=us_holidays()
    )
    on_call = WeeklyCalendar(
        "on-call",
        DEN,
        WeeklyHours.from_mapping({"mon-fri": "17:00-22:00", "sat-sun": "08:00-22:00"}),
        holidays=us_holidays(),
        holiday_hours=[parse_range("08:00-22:00")],
    )
    return UnionCalendar("support", [business, on_call])


FACTORIES = {
    "business": make_business,
    "night": make_night,
    "union": make_union,
    "daily_8_to_17": lambda: weekly(NY, {"daily": "08:00-17:00"}),
    "daily_whole_day": lambda: weekly(NY, {"daily": "00:00-24:00"}),
    "24x5_ny": lambda: weekly(NY, {"mon-fri": "00:00-24:00"}),
    "gap_02_30_to_04_00": lambda: weekly(NY, {"daily": "02:30-04:00"}),
    "gap_01_00_to_02_30": lambda: weekly(NY, {"daily": "01:00-02:30"}),
    "fold_00_30_to_03_00": lambda: weekly(NY, {"daily": "00:30-03:00"}),
    "fold_01_30_to_03_00": lambda: weekly(NY, {"daily": "01:30-03:00"}),
    "fold_00_00_to_01_30": lambda: weekly(NY, {"daily": "00:00-01:30"}),
    "nightly_22_to_02": lambda: weekly(NY, {"daily": "22:00-02:00"}),
    "evening_to_24_00": lambda: weekly(ZoneInfo("UTC"), {"mon-fri": "18:00-24:00"}),
    "24x7_ny": lambda: always("24x7", NY),
    "london_whole_day": lambda: weekly(LONDON, {"daily": "00:00-24:00"}),
    "lord_howe_whole_day": lambda: weekly(LORD_HOWE, {"daily": "00:00-24:00"}),
    "lord_howe_02_00_to_03_00": lambda: weekly(LORD_HOWE, {"daily": "02:00-03:00"}),
    "lord_howe_01_00_to_03_00": lambda: weekly(LORD_HOWE, {"daily": "01:00-03:00"}),
    "24x5_utc": lambda: weekly(ZoneInfo("UTC"), {"mon-fri": "00:00-24:00"}),
    "business_with_extras": lambda: weekly(
        NY,
        {"mon-fri": "08:00-17:00"},
        holidays=us_holidays(),
        extra=(
            ExtraRange(date(2026, 6, 20), parse_range("10:00-12:00")),  # a Saturday
            ExtraRange(date(2026, 11, 26), parse_range("10:00-12:00")),  # Thanksgiving
            ExtraRange(date(2026, 6, 16), parse_range("16:00-19:00")),  # a Tuesday, overlapping
        ),
    ),
}


@functools.cache
def shared(key: str) -> Calendar:
    """One calendar per key, shared by the table tests (fresh ones where history matters)."""
    return FACTORIES[key]()


# ---------------------------------------------------------------------------------------
# add: a table of literal cases (calendar, start, work, expected)

ADD_CASES = [
    # --- business hours, US holidays (New York) ---
    # Wed 15:00-17:00 = 2 h; Thu Thanksgiving, Fri the day after, Sat, Sun; Mon 08:00 + 2 h.
    pytest.param(
        "business",
        ny(2026, 11, 25, 15),
        4 * H,
        ny(2026, 11, 30, 10),
        id="four_hours_from_wednesday_3pm_before_thanksgiving_2026_is_monday_10am",
    ),
    pytest.param(
        "business",
        ny(2027, 11, 24, 15),
        4 * H,
        ny(2027, 11, 29, 10),
        id="four_hours_from_wednesday_3pm_before_thanksgiving_2027_is_monday_10am",
    ),
    # 13:00 + 4 h = 17:00 exactly, the end of the day's range: that instant, not next morning.
    pytest.param(
        "business",
        ny(2026, 6, 16, 13),
        4 * H,
        ny(2026, 6, 16, 17),
        id="deadline_landing_on_closing_time_is_5pm_same_day",
    ),
    # 13:00-17:00 = 4 h, one more minute from Wed 08:00.
    pytest.param(
        "business",
        ny(2026, 6, 16, 13),
        4 * H + M,
        ny(2026, 6, 17, 8, 1),
        id="one_minute_past_closing_time_is_next_morning_8_01",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 19, 8),
        9 * H,
        ny(2026, 6, 19, 17),
        id="a_full_friday_ends_friday_5pm_not_monday",
    ),
    # Mon-Fri 5 x 9 h = 45 h: Fri 17:00; one more hour is Mon 09:00.
    pytest.param(
        "business",
        ny(2026, 6, 15, 8),
        45 * H,
        ny(2026, 6, 19, 17),
        id="a_full_week_ends_friday_5pm",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 15, 8),
        46 * H,
        ny(2026, 6, 22, 9),
        id="a_full_week_plus_one_hour_is_monday_9am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 20, 11),
        2 * H,
        ny(2026, 6, 22, 10),
        id="saturday_start_counts_from_monday_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 21, 23, 59),
        M,
        ny(2026, 6, 22, 8, 1),
        id="sunday_night_start_counts_from_monday_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 16, 17),
        H,
        ny(2026, 6, 17, 9),
        id="start_at_closing_time_counts_from_next_morning",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 16, 6),
        H,
        ny(2026, 6, 16, 9),
        id="start_before_opening_counts_from_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 11, 26, 10),
        H,
        ny(2026, 11, 30, 9),
        id="start_on_thanksgiving_counts_from_monday",
    ),
    # Wed 10:00-17:00 = 7 h, Thu 9 h (16 h), Fri 08:00 + 2 h.
    pytest.param(
        "business",
        ny(2026, 6, 17, 10),
        18 * H,
        ny(2026, 6, 19, 10),
        id="two_business_days_from_wednesday_10am_is_friday_10am",
    ),
    # Holidays: from 16:00 the day before a long weekend, 1 h that day and 1 h after it.
    pytest.param(
        "business",
        ny(2026, 5, 22, 16),
        2 * H,
        ny(2026, 5, 26, 9),
        id="memorial_day_2026_may_25_skipped",
    ),
    pytest.param(
        "business",
        ny(2027, 5, 28, 16),
        2 * H,
        ny(2027, 6, 1, 9),
        id="memorial_day_2027_may_31_skipped",
    ),
    pytest.param(
        "business",
        ny(2026, 7, 2, 16),
        2 * H,
        ny(2026, 7, 6, 9),
        id="independence_day_2026_observed_friday_july_3_skipped",
    ),
    pytest.param(
        "business",
        ny(2027, 7, 2, 16),
        2 * H,
        ny(2027, 7, 6, 9),
        id="independence_day_2027_observed_monday_july_5_skipped",
    ),
    pytest.param(
        "business",
        ny(2026, 9, 4, 16),
        2 * H,
        ny(2026, 9, 8, 9),
        id="labor_day_2026_sep_7_skipped",
    ),
    pytest.param(
        "business",
        ny(2027, 9, 3, 16),
        2 * H,
        ny(2027, 9, 7, 9),
        id="labor_day_2027_sep_6_skipped",
    ),
    # Thu 12-24 Christmas Eve, Fri 12-25 Christmas, weekend.
    pytest.param(
        "business",
        ny(2026, 12, 23, 16),
        2 * H,
        ny(2026, 12, 28, 9),
        id="christmas_eve_and_christmas_2026_skipped",
    ),
    # Fri 12-24 Christmas Eve and observed Christmas (Sat 12-25).
    pytest.param(
        "business",
        ny(2027, 12, 23, 16),
        2 * H,
        ny(2027, 12, 27, 9),
        id="christmas_2027_observed_friday_dec_24_skipped",
    ),
    pytest.param(
        "business",
        ny(2026, 12, 31, 16),
        2 * H,
        ny(2027, 1, 4, 9),
        id="new_year_2027_friday_jan_1_skipped",
    ),
    pytest.param(
        "business",
        ny(2027, 12, 30, 16),
        2 * H,
        ny(2028, 1, 3, 9),
        id="new_year_2028_observed_friday_dec_31_2027_skipped",
    ),
    # DST over a weekend: wall-clock hours, Monday 09:00 local in the new offset.
    pytest.param(
        "business",
        ny(2026, 3, 6, 16),
        2 * H,
        utc(2026, 3, 9, 13),
        id="business_hours_across_spring_forward_2026_monday_9am_edt",
    ),
    pytest.param(
        "business",
        ny(2026, 10, 30, 16),
        2 * H,
        utc(2026, 11, 2, 14),
        id="business_hours_across_fall_back_2026_monday_9am_est",
    ),
    pytest.param(
        "business",
        ny(2027, 3, 12, 16),
        2 * H,
        utc(2027, 3, 15, 13),
        id="business_hours_across_spring_forward_2027_monday_9am_edt",
    ),
    pytest.param(
        "business",
        ny(2027, 11, 5, 16),
        2 * H,
        utc(2027, 11, 8, 14),
        id="business_hours_across_fall_back_2027_monday_9am_est",
    ),
    # --- daily 08:00-17:00 on the change days themselves: still 9 h ---
    # 08:00 EDT = 12:00 UTC; + 9 h = 17:00 EDT = 21:00 UTC.
    pytest.param(
        "daily_8_to_17",
        ny(2026, 3, 8, 8),
        9 * H,
        utc(2026, 3, 8, 21),
        id="nine_to_five_day_on_spring_forward_2026_is_nine_hours",
    ),
    # 08:00 EST = 13:00 UTC; + 9 h = 17:00 EST = 22:00 UTC.
    pytest.param(
        "daily_8_to_17",
        ny(2026, 11, 1, 8),
        9 * H,
        utc(2026, 11, 1, 22),
        id="nine_to_five_day_on_fall_back_2026_is_nine_hours",
    ),
    pytest.param(
        "daily_8_to_17",
        ny(2027, 3, 14, 8),
        9 * H,
        utc(2027, 3, 14, 21),
        id="nine_to_five_day_on_spring_forward_2027_is_nine_hours",
    ),
    pytest.param(
        "daily_8_to_17",
        ny(2027, 11, 7, 8),
        9 * H,
        utc(2027, 11, 7, 22),
        id="nine_to_five_day_on_fall_back_2027_is_nine_hours",
    ),
    # --- daily 00:00-24:00: a 23 h and a 25 h day ---
    # 00:00 EST = 05:00 UTC; next midnight 00:00 EDT = 04:00 UTC: 23 h later.
    pytest.param(
        "daily_whole_day",
        ny(2026, 3, 8),
        23 * H,
        utc(2026, 3, 9, 4),
        id="whole_day_on_spring_forward_2026_ends_after_23_hours",
    ),
    # 00:00 EDT = 04:00 UTC; + 24 h = 04:00 UTC next day = 23:00 EST the same day.
    pytest.param(
        "daily_whole_day",
        ny(2026, 11, 1),
        24 * H,
        utc(2026, 11, 2, 4),
        id="twenty_four_hours_from_midnight_on_fall_back_2026_is_11pm_same_day",
    ),
    pytest.param(
        "daily_whole_day",
        ny(2027, 3, 14),
        23 * H,
        utc(2027, 3, 15, 4),
        id="whole_day_on_spring_forward_2027_ends_after_23_hours",
    ),
    pytest.param(
        "daily_whole_day",
        ny(2027, 11, 7),
        25 * H,
        utc(2027, 11, 8, 5),
        id="whole_day_on_fall_back_2027_ends_after_25_hours",
    ),
    # --- a range starting inside the spring-forward gap: 02:30 -> 03:00 EDT (07:00 UTC) ---
    # 00:00 EST; nothing until 03:00 EDT = 07:00 UTC; + 30 m = 07:30 UTC.
    pytest.param(
        "gap_02_30_to_04_00",
        ny(2026, 3, 8),
        30 * M,
        utc(2026, 3, 8, 7, 30),
        id="range_starting_in_spring_gap_2026_starts_at_3am_edt",
    ),
    # 1 h on 03-08 (03:00-04:00 EDT), then 02:30 EDT 03-09 = 06:30 UTC + 30 m = 07:00 UTC.
    pytest.param(
        "gap_02_30_to_04_00",
        ny(2026, 3, 8),
        90 * M,
        utc(2026, 3, 9, 7),
        id="range_starting_in_spring_gap_2026_is_one_hour_long",
    ),
    pytest.param(
        "gap_02_30_to_04_00",
        ny(2027, 3, 14),
        90 * M,
        utc(2027, 3, 15, 7),
        id="range_starting_in_spring_gap_2027_is_one_hour_long",
    ),
    # 01:00 EST = 06:00 UTC; 02:30 does not exist -> 03:00 EDT = 07:00 UTC: 1 h, then
    # 01:00 EDT 03-09 = 05:00 UTC.
    pytest.param(
        "gap_01_00_to_02_30",
        ny(2026, 3, 8),
        H + M,
        utc(2026, 3, 9, 5, 1),
        id="range_ending_in_spring_gap_ends_at_3am_edt",
    ),
    # --- ranges containing the repeated hour of fall back ---
    # 00:30 EDT = 04:30 UTC .. 03:00 EST = 08:00 UTC: 3.5 h.
    pytest.param(
        "fold_00_30_to_03_00",
        ny(2026, 11, 1, 0, 30),
        H,
        utc(2026, 11, 1, 5, 30),
        id="one_hour_into_fall_back_range_is_first_1_30_edt",
    ),
    pytest.param(
        "fold_00_30_to_03_00",
        ny(2026, 11, 1, 0, 30),
        2 * H,
        utc(2026, 11, 1, 6, 30),
        id="two_hours_into_fall_back_range_is_second_1_30_est",
    ),
    pytest.param(
        "fold_00_30_to_03_00",
        ny(2026, 11, 1, 0, 30),
        3 * H + 30 * M,
        utc(2026, 11, 1, 8),
        id="fall_back_range_00_30_to_03_00_holds_three_and_a_half_hours_2026",
    ),
    pytest.param(
        "fold_00_30_to_03_00",
        ny(2027, 11, 7, 0, 30),
        3 * H + 30 * M,
        utc(2027, 11, 7, 8),
        id="fall_back_range_00_30_to_03_00_holds_three_and_a_half_hours_2027",
    ),
    # 01:30 first occurrence (EDT) = 05:30 UTC.
    pytest.param(
        "fold_01_30_to_03_00",
        ny(2026, 11, 1),
        M,
        utc(2026, 11, 1, 5, 31),
        id="range_starting_at_ambiguous_1_30_starts_at_first_occurrence",
    ),
    # 00:00 EDT = 04:00 UTC .. 01:30 EDT = 05:30 UTC = 1.5 h; next day 00:00 EST = 05:00 UTC.
    pytest.param(
        "fold_00_00_to_01_30",
        ny(2026, 11, 1),
        90 * M + M,
        utc(2026, 11, 2, 5, 1),
        id="range_ending_at_ambiguous_1_30_ends_at_first_occurrence",
    ),
    # --- a past-midnight range crossing the change ---
    # Sat 22:00 EST = 03:00 UTC; 02:00 does not exist -> 03:00 EDT = 07:00 UTC: 4 h.
    pytest.param(
        "nightly_22_to_02",
        ny(2026, 3, 7, 22),
        4 * H,
        utc(2026, 3, 8, 7),
        id="night_range_over_spring_forward_ends_at_3am_edt",
    ),
    # Sat 22:00 EDT = 02:00 UTC; 02:00 EST = 07:00 UTC: 5 h.
    pytest.param(
        "nightly_22_to_02",
        ny(2026, 10, 31, 22),
        5 * H,
        utc(2026, 11, 1, 7),
        id="night_range_over_fall_back_holds_five_hours",
    ),
    # --- midnight-crossing ranges and a Friday holiday ---
    # Fri 01:00-02:00 is Thursday night's range (1 h); Friday night is dropped; Mon 22:00 + 1 h.
    pytest.param(
        "night",
        ny(2026, 6, 19, 1),
        2 * H,
        ny(2026, 6, 22, 23),
        id="thursday_night_range_into_friday_holiday_is_kept_friday_night_dropped",
    ),
    # --- 24:00 ends (UTC) ---
    pytest.param(
        "evening_to_24_00",
        utc(2026, 6, 15, 23),
        H,
        utc(2026, 6, 16),
        id="range_ending_24_00_deadline_is_midnight",
    ),
    pytest.param(
        "evening_to_24_00",
        utc(2026, 6, 15, 23),
        2 * H,
        utc(2026, 6, 16, 19),
        id="range_ending_24_00_continues_next_evening",
    ),
    pytest.param(
        "evening_to_24_00",
        utc(2026, 6, 19, 23),
        H,
        utc(2026, 6, 20),
        id="friday_range_ending_24_00_deadline_is_saturday_midnight",
    ),
    # --- union: business + on-call (Denver) ---
    # Wed 20:00-22:00 on-call = 2 h; Thanksgiving on-call holiday hours from 08:00 + 2 h.
    pytest.param(
        "union",
        den(2026, 11, 25, 20),
        4 * H,
        den(2026, 11, 26, 10),
        id="union_counts_thanksgiving_on_call_hours",
    ),
    pytest.param(
        "union",
        den(2026, 6, 19, 21),
        3 * H,
        den(2026, 6, 20, 10),
        id="union_friday_9pm_plus_3h_is_saturday_10am",
    ),
    pytest.param(
        "union",
        den(2026, 6, 16, 16),
        2 * H,
        den(2026, 6, 16, 18),
        id="union_business_hands_over_to_on_call_at_5pm",
    ),
    # Sat 21:00-22:00 MST = 1 h; Sun 08:00 MDT (14:00 UTC) + 1 h = 15:00 UTC.
    pytest.param(
        "union",
        den(2026, 3, 7, 21),
        2 * H,
        utc(2026, 3, 8, 15),
        id="union_across_spring_forward_sunday_9am_mdt",
    ),
    # --- extra dated ranges ---
    # Fri 16:00-17:00 = 1 h; Sat 06-20 extra 10:00 + 1 h.
    pytest.param(
        "business_with_extras",
        ny(2026, 6, 19, 16),
        2 * H,
        ny(2026, 6, 20, 11),
        id="extra_saturday_range_counts",
    ),
    pytest.param(
        "business_with_extras",
        ny(2026, 11, 25, 16),
        2 * H,
        ny(2026, 11, 26, 11),
        id="extra_range_on_a_holiday_counts",
    ),
    # Tue 08:00-19:00 (extra 16:00-19:00 joins the day): 11 h.
    pytest.param(
        "business_with_extras",
        ny(2026, 6, 16, 8),
        11 * H,
        ny(2026, 6, 16, 19),
        id="extra_range_overlapping_the_day_extends_it",
    ),
    # --- zero work: due at once from a working instant, else at the next working instant ---
    # (a range's start is working time, its end is not)
    pytest.param(
        "business",
        ny(2026, 6, 20, 12),
        timedelta(0),
        ny(2026, 6, 22, 8),
        id="zero_work_from_saturday_noon_is_monday_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 15, 10),
        timedelta(0),
        ny(2026, 6, 15, 10),
        id="zero_work_from_monday_10am_is_monday_10am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 16, 8),
        timedelta(0),
        ny(2026, 6, 16, 8),
        id="zero_work_from_opening_time_is_opening_time",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 16, 7, 59),
        timedelta(0),
        ny(2026, 6, 16, 8),
        id="zero_work_from_7_59_is_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 16, 17),
        timedelta(0),
        ny(2026, 6, 17, 8),
        id="zero_work_from_closing_time_is_next_morning_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 6, 19, 17),
        timedelta(0),
        ny(2026, 6, 22, 8),
        id="zero_work_from_friday_closing_time_is_monday_8am",
    ),
    # Thu 11-26 Thanksgiving and Fri 11-27 the day after are holidays, then the weekend.
    pytest.param(
        "business",
        ny(2026, 11, 26, 10),
        timedelta(0),
        ny(2026, 11, 30, 8),
        id="zero_work_on_thanksgiving_morning_is_monday_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 11, 25, 17),
        timedelta(0),
        ny(2026, 11, 30, 8),
        id="zero_work_from_closing_time_before_thanksgiving_is_monday_8am",
    ),
    pytest.param(
        "business",
        ny(2026, 7, 3, 10),
        timedelta(0),
        ny(2026, 7, 6, 8),
        id="zero_work_on_observed_independence_day_is_monday_8am",
    ),
    # Fri 2027-12-31 is the observed New Year 2028.
    pytest.param(
        "business",
        ny(2027, 12, 30, 17),
        timedelta(0),
        ny(2028, 1, 3, 8),
        id="zero_work_before_observed_new_year_2028_is_january_3rd_8am",
    ),
    # Sat 12:00 EST; Mon 08:00 EDT = 12:00 UTC.
    pytest.param(
        "business",
        ny(2026, 3, 7, 12),
        timedelta(0),
        utc(2026, 3, 9, 12),
        id="zero_work_over_spring_forward_weekend_is_monday_8am_edt",
    ),
    # Fri 17:00 EDT; Mon 08:00 EST = 13:00 UTC.
    pytest.param(
        "business",
        ny(2026, 10, 30, 17),
        timedelta(0),
        utc(2026, 11, 2, 13),
        id="zero_work_over_fall_back_weekend_is_monday_8am_est",
    ),
    # Spring-forward Sunday: 01:00 EST = 06:00 UTC; 08:00 EDT = 12:00 UTC.
    pytest.param(
        "daily_8_to_17",
        ny(2026, 3, 8, 1),
        timedelta(0),
        utc(2026, 3, 8, 12),
        id="zero_work_early_on_spring_forward_day_is_8am_edt",
    ),
    # 17:00 EDT on 03-08 = 21:00 UTC; 08:00 EDT on 03-09 = 12:00 UTC.
    pytest.param(
        "daily_8_to_17",
        ny(2026, 3, 8, 17),
        timedelta(0),
        utc(2026, 3, 9, 12),
        id="zero_work_from_closing_time_on_spring_forward_day_is_next_8am",
    ),
    # Fall-back Sunday: the second 01:30 (EST) = 06:30 UTC; 08:00 EST = 13:00 UTC.
    pytest.param(
        "daily_8_to_17",
        ny(2026, 11, 1, 1, 30, fold=1),
        timedelta(0),
        utc(2026, 11, 1, 13),
        id="zero_work_from_the_repeated_1_30_on_fall_back_day_is_8am_est",
    ),
    pytest.param(
        "daily_8_to_17",
        ny(2026, 11, 1, 12),
        timedelta(0),
        utc(2026, 11, 1, 17),
        id="zero_work_at_noon_on_fall_back_day_is_noon",
    ),
    # 00:00 EST = 05:00 UTC; the range starts in the gap, at 03:00 EDT = 07:00 UTC.
    pytest.param(
        "gap_02_30_to_04_00",
        ny(2026, 3, 8),
        timedelta(0),
        utc(2026, 3, 8, 7),
        id="zero_work_before_a_range_starting_in_the_spring_gap_is_3am_edt",
    ),
    # Its end, 04:00 EDT = 08:00 UTC; next day 02:30 EDT = 06:30 UTC.
    pytest.param(
        "gap_02_30_to_04_00",
        utc(2026, 3, 8, 8),
        timedelta(0),
        utc(2026, 3, 9, 6, 30),
        id="zero_work_from_the_end_of_the_spring_gap_range_is_next_day_2_30",
    ),
    # The range runs from the first 01:30 (EDT, 05:30 UTC) to 03:00 EST (08:00 UTC).
    pytest.param(
        "fold_01_30_to_03_00",
        ny(2026, 11, 1),
        timedelta(0),
        utc(2026, 11, 1, 5, 30),
        id="zero_work_before_a_range_starting_at_ambiguous_1_30_is_its_first_occurrence",
    ),
    pytest.param(
        "fold_01_30_to_03_00",
        ny(2026, 11, 1, 1, 30, fold=1),
        timedelta(0),
        utc(2026, 11, 1, 6, 30),
        id="zero_work_from_the_second_1_30_inside_the_range_is_itself",
    ),
    # 02:00 does not exist on 10-04: the range starts 02:30 +11 = 15:30 UTC on 10-03.
    pytest.param(
        "lord_howe_02_00_to_03_00",
        datetime(2026, 10, 4, tzinfo=LORD_HOWE),
        timedelta(0),
        utc(2026, 10, 3, 15, 30),
        id="zero_work_before_a_range_in_the_half_hour_gap_is_2_30",
    ),
    # Thursday night's range ends Fri 02:00; Friday 06-19 is a holiday (no Friday night),
    # no weekend nights: Mon 22:00.
    pytest.param(
        "night",
        ny(2026, 6, 19, 2),
        timedelta(0),
        ny(2026, 6, 22, 22),
        id="zero_work_from_the_end_of_thursday_night_before_a_friday_holiday_is_monday_10pm",
    ),
    pytest.param(
        "night",
        ny(2026, 6, 19, 1),
        timedelta(0),
        ny(2026, 6, 19, 1),
        id="zero_work_inside_thursday_night_range_on_the_holiday_is_itself",
    ),
    pytest.param(
        "evening_to_24_00",
        utc(2026, 6, 16),
        timedelta(0),
        utc(2026, 6, 16, 18),
        id="zero_work_from_a_24_00_end_is_the_next_evening",
    ),
    pytest.param(
        "evening_to_24_00",
        utc(2026, 6, 20),
        timedelta(0),
        utc(2026, 6, 22, 18),
        id="zero_work_from_friday_24_00_is_monday_evening",
    ),
    # Business hands over to on-call at 17:00 with no gap; on-call ends at 22:00.
    pytest.param(
        "union",
        den(2026, 6, 16, 17),
        timedelta(0),
        den(2026, 6, 16, 17),
        id="union_zero_work_at_5pm_handover_is_itself",
    ),
    pytest.param(
        "union",
        den(2026, 6, 16, 22),
        timedelta(0),
        den(2026, 6, 17, 8),
        id="union_zero_work_from_10pm_is_next_morning_8am",
    ),
    pytest.param(
        "union",
        den(2026, 11, 26, 7),
        timedelta(0),
        den(2026, 11, 26, 8),
        id="union_zero_work_early_on_thanksgiving_is_on_call_8am",
    ),
    # Sat 22:00 MST; Sunday 03-08 on-call from 08:00 MDT = 14:00 UTC.
    pytest.param(
        "union",
        den(2026, 3, 7, 22),
        timedelta(0),
        utc(2026, 3, 8, 14),
        id="union_zero_work_from_saturday_10pm_is_spring_forward_sunday_8am_mdt",
    ),
    pytest.param(
        "business_with_extras",
        ny(2026, 6, 20, 9),
        timedelta(0),
        ny(2026, 6, 20, 10),
        id="zero_work_before_an_extra_saturday_range_is_its_start",
    ),
    pytest.param(
        "business_with_extras",
        ny(2026, 6, 16, 17),
        timedelta(0),
        ny(2026, 6, 16, 17),
        id="zero_work_at_5pm_inside_an_extra_range_is_itself",
    ),
    pytest.param(
        "business_with_extras",
        ny(2026, 11, 26, 9),
        timedelta(0),
        ny(2026, 11, 26, 10),
        id="zero_work_on_a_holiday_with_an_extra_range_is_its_start",
    ),
    pytest.param(
        "24x7_ny",
        ny(2026, 3, 8, 3),
        timedelta(0),
        utc(2026, 3, 8, 7),
        id="always_zero_work_is_itself",
    ),
    pytest.param(
        "24x5_utc",
        utc(2026, 6, 20, 12),
        timedelta(0),
        utc(2026, 6, 22),
        id="zero_work_on_a_24x5_saturday_is_monday_midnight",
    ),
    # --- 24x7 ---
    # 00:00 EST = 05:00 UTC; + 3 real hours = 08:00 UTC = 04:00 EDT.
    pytest.param(
        "24x7_ny",
        ny(2026, 3, 8),
        3 * H,
        utc(2026, 3, 8, 8),
        id="always_counts_real_hours_across_spring_forward",
    ),
    # Thu 12:00 .. Fri 24:00 = 36 h; Mon 00:00 + 12 h.
    pytest.param(
        "24x5_utc",
        utc(2026, 6, 18, 12),
        48 * H,
        utc(2026, 6, 22, 12),
        id="two_days_of_24x5_from_thursday_noon_is_monday_noon",
    ),
]


@pytest.mark.parametrize(("key", "start", "work", "expected"), ADD_CASES)
def test_add(key, start, work, expected):
    assert instant(shared(key).add(start, work)) == instant(expected)


@pytest.mark.parametrize("key", sorted({str(p.values[0]) for p in ADD_CASES}))
def test_add_many_equals_the_add_table(key):
    cases = [cast(tuple[str, datetime, timedelta, datetime], p.values) for p in ADD_CASES if p.values[0] == key]
    starts = np.array([epoch_s(start) for _, start, _, _ in cases], dtype=np.int64)
    works = np.array([work // timedelta(seconds=1) for _, _, work, _ in cases], dtype=np.int64)
    want = [epoch_s(expected) for _, _, _, expected in cases]
    assert FACTORIES[key]().add_many(starts, works).tolist() == want


@pytest.mark.parametrize("key", ["business", "union"])
def test_add_many_on_a_large_array_equals_the_add_table(key):
    # The table repeated to 64 rows or more: large arrays take the bucketed search path.
    cases = [cast(tuple[str, datetime, timedelta, datetime], p.values) for p in ADD_CASES if p.values[0] == key]
    cases = cases * (64 // len(cases) + 1)
    starts = np.array([epoch_s(start) for _, start, _, _ in cases], dtype=np.int64)
    works = np.array([work // timedelta(seconds=1) for _, _, work, _ in cases], dtype=np.int64)
    want = [epoch_s(expected) for _, _, _, expected in cases]
    assert FACTORIES[key]().add_many(starts, works).tolist() == want


def test_add_many_with_one_start_and_one_work():
    got = shared("business").add_many(epoch_s(ny(2026, 11, 25, 15)), 4 * 3600)
    assert int(got) == epoch_s(ny(2026, 11, 30, 10))


def test_add_many_with_one_work_for_all_starts():
    starts = np.array([epoch_s(ny(2026, 6, 16, 13)), epoch_s(ny(2026, 6, 20, 11))], dtype=np.int64)
    # Tue 13:00 + 4 h = 17:00; Sat 11:00 -> Mon 08:00 + 4 h = 12:00
    want = [epoch_s(ny(2026, 6, 16, 17)), epoch_s(ny(2026, 6, 22, 12))]
    assert shared("business").add_many(starts, 4 * 3600).tolist() == want


def test_add_many_with_zero_work_for_all_starts():
    starts = [ny(2026, 6, 20, 12), ny(2026, 6, 16, 10), ny(2026, 6, 16, 17), ny(2026, 6, 16, 7, 59)]
    # Sat noon -> Mon 08:00; Tue 10:00 is working; Tue 17:00 -> Wed 08:00; Tue 07:59 -> 08:00
    want = [ny(2026, 6, 22, 8), ny(2026, 6, 16, 10), ny(2026, 6, 17, 8), ny(2026, 6, 16, 8)]
    got = make_business().add_many(np.array([epoch_s(s) for s in starts], dtype=np.int64), 0)
    assert got.tolist() == [epoch_s(w) for w in want]


def test_add_many_with_one_start_and_zero_work():
    got = make_business().add_many(epoch_s(ny(2026, 6, 20, 12)), 0)
    assert int(got) == epoch_s(ny(2026, 6, 22, 8))


def test_add_many_mixing_zero_and_positive_work():
    starts = [ny(2026, 6, 19, 17), ny(2026, 6, 19, 17), ny(2026, 6, 16, 13), ny(2026, 6, 16, 13)]
    # Fri 17:00 + 0 -> Mon 08:00, + 1 h -> Mon 09:00; Tue 13:00 + 0 -> itself, + 4 h -> 17:00
    want = [ny(2026, 6, 22, 8), ny(2026, 6, 22, 9), ny(2026, 6, 16, 13), ny(2026, 6, 16, 17)]
    got = make_business().add_many(np.array([epoch_s(s) for s in starts], dtype=np.int64), [0, 3600, 0, 4 * 3600])
    assert got.tolist() == [epoch_s(w) for w in want]


def test_zero_work_is_exact_to_the_microsecond_around_a_range():
    calendar = shared("business")
    last = ny(2026, 6, 16, 16, 59, 59, 999_999)
    assert instant(calendar.add(last, timedelta(0))) == instant(last)
    assert instant(calendar.add(ny(2026, 6, 16, 7, 59, 59, 999_999), timedelta(0))) == instant(ny(2026, 6, 16, 8))


def test_zero_work_is_the_next_working_instant():
    calendar = shared("business")
    for t in (ny(2026, 6, 20, 12), ny(2026, 6, 16, 17), ny(2026, 6, 16, 12), ny(2026, 11, 26, 10)):
        assert calendar.add(t, timedelta(0)) == calendar.next_working_instant(t)


def test_add_is_exact_to_the_microsecond_at_closing_time():
    start = ny(2026, 6, 16, 16, 59, 59, 999_999)
    assert instant(shared("business").add(start, timedelta(microseconds=1))) == instant(ny(2026, 6, 16, 17))
    assert instant(shared("business").add(start, timedelta(microseconds=2))) == instant(ny(2026, 6, 17, 8, 0, 0, 1))


def test_add_answers_in_the_calendar_time_zone():
    got = shared("business").add(utc(2026, 6, 16, 13), H)  # 09:00 EDT + 1 h
    assert got.utcoffset() == timedelta(hours=-4)
    assert (got.hour, got.minute) == (10, 0)


# ---------------------------------------------------------------------------------------
# between: a table of literal cases (calendar, a, b, expected)

BETWEEN_CASES = [
    # Fri 15:00-17:00 = 2 h; Mon 08:00-10:00 = 2 h.
    pytest.param("business", ny(2026, 6, 19, 15), ny(2026, 6, 22, 10), 4 * H, id="over_a_weekend_is_four_hours"),
    pytest.param("business", ny(2026, 6, 22, 10), ny(2026, 6, 19, 15), -4 * H, id="backwards_is_negative"),
    pytest.param("business", ny(2026, 6, 16, 12), ny(2026, 6, 16, 12), timedelta(0), id="same_instant_is_zero"),
    pytest.param("business", ny(2026, 6, 20), ny(2026, 6, 22, 8), timedelta(0), id="saturday_to_monday_8am_is_zero"),
    # Mon, Tue, Wed = 27 h; Thu, Fri holidays.
    pytest.param("business", ny(2026, 11, 23, 8), ny(2026, 11, 30, 8), 27 * H, id="thanksgiving_week_2026_is_27_hours"),
    pytest.param("business", ny(2027, 11, 22, 8), ny(2027, 11, 29, 8), 27 * H, id="thanksgiving_week_2027_is_27_hours"),
    # Thu 12-30 only; Fri 12-31 observed New Year 2028.
    pytest.param("business", ny(2027, 12, 30, 8), ny(2028, 1, 3, 8), 9 * H, id="new_year_2028_observed_in_2027"),
    # 2026: starts Thu, 365 days = 52 weeks + Thu -> 261 weekdays; weekday holidays
    # Jan 1, May 25, Jul 3 (obs), Sep 7, Nov 26, Nov 27, Dec 24, Dec 25 = 8 -> 253 x 9 h.
    pytest.param("business", ny(2026, 1, 1), ny(2027, 1, 1), 2277 * H, id="the_whole_of_2026_is_2277_hours"),
    # 2027: starts Fri -> 261 weekdays; Jan 1, May 31, Jul 5 (obs), Sep 6, Nov 25, Nov 26,
    # Dec 24 (Christmas Eve + observed Christmas), Dec 31 (observed 2028 New Year) = 8.
    pytest.param("business", ny(2027, 1, 1), ny(2028, 1, 1), 2277 * H, id="the_whole_of_2027_is_2277_hours"),
    # Fri + Mon = 18 h whatever the clocks did on the Sunday.
    pytest.param("business", ny(2026, 3, 6), ny(2026, 3, 9, 17), 18 * H, id="business_over_spring_forward_2026"),
    pytest.param("business", ny(2026, 10, 30), ny(2026, 11, 2, 17), 18 * H, id="business_over_fall_back_2026"),
    pytest.param("daily_8_to_17", ny(2026, 3, 8), ny(2026, 3, 9), 9 * H, id="nine_to_five_on_spring_forward_2026"),
    pytest.param("daily_8_to_17", ny(2026, 11, 1), ny(2026, 11, 2), 9 * H, id="nine_to_five_on_fall_back_2026"),
    pytest.param("daily_8_to_17", ny(2027, 3, 14), ny(2027, 3, 15), 9 * H, id="nine_to_five_on_spring_forward_2027"),
    pytest.param("daily_8_to_17", ny(2027, 11, 7), ny(2027, 11, 8), 9 * H, id="nine_to_five_on_fall_back_2027"),
    pytest.param("daily_whole_day", ny(2026, 3, 8), ny(2026, 3, 9), 23 * H, id="whole_day_spring_forward_2026_is_23h"),
    pytest.param("daily_whole_day", ny(2026, 11, 1), ny(2026, 11, 2), 25 * H, id="whole_day_fall_back_2026_is_25h"),
    pytest.param(
        "daily_whole_day", ny(2027, 3, 14), ny(2027, 3, 15), 23 * H, id="whole_day_spring_forward_2027_is_23h"
    ),
    pytest.param("daily_whole_day", ny(2027, 11, 7), ny(2027, 11, 8), 25 * H, id="whole_day_fall_back_2027_is_25h"),
    pytest.param("daily_whole_day", ny(2026, 3, 9), ny(2026, 3, 10), 24 * H, id="whole_day_after_the_change_is_24h"),
    # 24x5: the change days are Sundays, not working; Friday 24 h.
    pytest.param("24x5_ny", ny(2026, 3, 6), ny(2026, 3, 9), 24 * H, id="24x5_weekend_with_spring_forward"),
    pytest.param("gap_02_30_to_04_00", ny(2026, 3, 8), ny(2026, 3, 9), H, id="range_from_inside_the_gap_2026_is_1h"),
    pytest.param("gap_02_30_to_04_00", ny(2027, 3, 14), ny(2027, 3, 15), H, id="range_from_inside_the_gap_2027_is_1h"),
    pytest.param("gap_02_30_to_04_00", ny(2026, 3, 7), ny(2026, 3, 8), 90 * M, id="same_range_the_day_before_is_1h30"),
    pytest.param("gap_01_00_to_02_30", ny(2026, 3, 8), ny(2026, 3, 9), H, id="range_ending_inside_the_gap_is_1h"),
    pytest.param("fold_00_30_to_03_00", ny(2026, 11, 1), ny(2026, 11, 2), 210 * M, id="range_over_repeated_hour_2026"),
    pytest.param("fold_00_30_to_03_00", ny(2027, 11, 7), ny(2027, 11, 8), 210 * M, id="range_over_repeated_hour_2027"),
    # 01:30 EDT (05:30 UTC) .. 03:00 EST (08:00 UTC)
    pytest.param("fold_01_30_to_03_00", ny(2026, 11, 1), ny(2026, 11, 2), 150 * M, id="range_from_ambiguous_1_30"),
    # 00:00 EDT (04:00 UTC) .. 01:30 EDT (05:30 UTC)
    pytest.param("fold_00_00_to_01_30", ny(2026, 11, 1), ny(2026, 11, 2), 90 * M, id="range_to_ambiguous_1_30"),
    # Sat 22:00 EDT (02:00 UTC) .. Sun 02:00 EST (07:00 UTC)
    pytest.param("nightly_22_to_02", ny(2026, 10, 31, 12), ny(2026, 11, 1, 12), 5 * H, id="night_range_over_fall_back"),
    # Thu night 22:00-02:00 kept (4 h); Fri 06-19 holiday drops Friday night; Sun has none.
    pytest.param("night", ny(2026, 6, 18, 12), ny(2026, 6, 22, 12), 4 * H, id="friday_holiday_drops_friday_night_only"),
    # Tue 08:00-22:00 = 14 h
    pytest.param("union", den(2026, 6, 16), den(2026, 6, 17), 14 * H, id="union_business_day_is_14h"),
    pytest.param("union", den(2026, 11, 26), den(2026, 11, 27), 14 * H, id="union_thanksgiving_is_14h"),
    pytest.param("union", den(2026, 7, 3), den(2026, 7, 4), 14 * H, id="union_observed_july_4th_is_14h"),
    # Sat 14 h + Sun 14 h
    pytest.param("union", den(2026, 6, 19, 22), den(2026, 6, 22, 8), 28 * H, id="union_weekend_is_28h"),
    pytest.param("union", den(2026, 3, 8), den(2026, 3, 9), 14 * H, id="union_on_spring_forward_is_14h"),
    pytest.param("union", den(2026, 11, 1), den(2026, 11, 2), 14 * H, id="union_on_fall_back_is_14h"),
    # Mon 18:00-24:00 (UTC); Tue's range starts after noon
    pytest.param("evening_to_24_00", utc(2026, 6, 15, 12), utc(2026, 6, 16, 12), 6 * H, id="evening_to_24_00_is_6h"),
    # 2026-06-16 Tue: 08:00-19:00 with the extra range
    pytest.param("business_with_extras", ny(2026, 6, 16), ny(2026, 6, 17), 11 * H, id="extra_range_lengthens_a_day"),
    pytest.param("24x7_ny", ny(2026, 11, 1), ny(2026, 11, 2), 25 * H, id="always_fall_back_day_is_25h"),
    # 00:00 GMT = 00:00 UTC .. 00:00 BST on 03-30 = 23:00 UTC on 03-29
    pytest.param(
        "london_whole_day",
        datetime(2026, 3, 29, tzinfo=LONDON),
        datetime(2026, 3, 30, tzinfo=LONDON),
        23 * H,
        id="london_spring_forward_day_is_23h",
    ),
    # 00:00 BST = 23:00 UTC on 10-24 .. 00:00 GMT on 10-26 = 00:00 UTC
    pytest.param(
        "london_whole_day",
        datetime(2026, 10, 25, tzinfo=LONDON),
        datetime(2026, 10, 26, tzinfo=LONDON),
        25 * H,
        id="london_fall_back_day_is_25h",
    ),
    # 00:00 +11 = 13:00 UTC on 04-04 .. 00:00 +10:30 on 04-06 = 13:30 UTC on 04-05
    pytest.param(
        "lord_howe_whole_day",
        datetime(2026, 4, 5, tzinfo=LORD_HOWE),
        datetime(2026, 4, 6, tzinfo=LORD_HOWE),
        24 * H + 30 * M,
        id="lord_howe_half_hour_fall_back_day_is_24h30",
    ),
    # 00:00 +10:30 = 13:30 UTC on 10-03 .. 00:00 +11 on 10-05 = 13:00 UTC on 10-04
    pytest.param(
        "lord_howe_whole_day",
        datetime(2026, 10, 4, tzinfo=LORD_HOWE),
        datetime(2026, 10, 5, tzinfo=LORD_HOWE),
        23 * H + 30 * M,
        id="lord_howe_half_hour_spring_forward_day_is_23h30",
    ),
    # 02:00 does not exist on 10-04: the range runs 02:30 (+11) .. 03:00 (+11)
    pytest.param(
        "lord_howe_02_00_to_03_00",
        datetime(2026, 10, 4, tzinfo=LORD_HOWE),
        datetime(2026, 10, 5, tzinfo=LORD_HOWE),
        30 * M,
        id="lord_howe_range_from_inside_the_half_hour_gap_is_30m",
    ),
    # 01:00 +11 = 14:00 UTC on 04-04 .. 03:00 +10:30 = 16:30 UTC on 04-04 (01:30-02:00 twice)
    pytest.param(
        "lord_howe_01_00_to_03_00",
        datetime(2026, 4, 5, tzinfo=LORD_HOWE),
        datetime(2026, 4, 6, tzinfo=LORD_HOWE),
        150 * M,
        id="lord_howe_range_over_the_repeated_half_hour_is_2h30",
    ),
]


@pytest.mark.parametrize(("key", "a", "b", "expected"), BETWEEN_CASES)
def test_between(key, a, b, expected):
    assert shared(key).between(a, b) == expected


@pytest.mark.parametrize("key", sorted({str(p.values[0]) for p in BETWEEN_CASES}))
def test_between_many_equals_the_between_table(key):
    cases = [cast(tuple[str, datetime, datetime, timedelta], p.values) for p in BETWEEN_CASES if p.values[0] == key]
    a = np.array([epoch_s(a) for _, a, _, _ in cases], dtype=np.int64)
    b = np.array([epoch_s(b) for _, _, b, _ in cases], dtype=np.int64)
    want = [expected // timedelta(seconds=1) for _, _, _, expected in cases]
    assert FACTORIES[key]().between_many(a, b).tolist() == want


def test_between_many_on_a_large_array_equals_the_between_table():
    cases = [
        cast(tuple[str, datetime, datetime, timedelta], p.values) for p in BETWEEN_CASES if p.values[0] == "business"
    ]
    cases = cases * (64 // len(cases) + 1)
    a = np.array([epoch_s(a) for _, a, _, _ in cases], dtype=np.int64)
    b = np.array([epoch_s(b) for _, _, b, _ in cases], dtype=np.int64)
    want = [expected // timedelta(seconds=1) for _, _, _, expected in cases]
    assert make_business().between_many(a, b).tolist() == want


def test_night_calendar_without_the_holiday_has_both_nights():
    assert make_night(holiday=False).between(ny(2026, 6, 18, 12), ny(2026, 6, 22, 12)) == 8 * H


def test_a_day_split_at_midnight_into_24_00_and_00_00_is_continuous():
    calendar = weekly(ZoneInfo("UTC"), {"mon": "20:00-24:00", "tue": "00:00-04:00"})
    assert calendar.add(utc(2026, 6, 15, 20), 8 * H) == utc(2026, 6, 16, 4)
    assert calendar.is_working(utc(2026, 6, 16))


def test_on_call_alone_has_five_hours_on_a_weekday():
    on_call = make_union().members[1]
    assert on_call.between(den(2026, 6, 16), den(2026, 6, 17)) == 5 * H


# ---------------------------------------------------------------------------------------
# is_working, next_working_instant, working_ranges, day_off_reason


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(ny(2026, 6, 16, 8), True, id="opening_time_is_working"),
        pytest.param(ny(2026, 6, 16, 16, 59, 59), True, id="one_second_before_closing_is_working"),
        pytest.param(ny(2026, 6, 16, 17), False, id="closing_time_is_not_working"),
        pytest.param(ny(2026, 6, 16, 7, 59, 59, 999_999), False, id="just_before_opening_is_not_working"),
        pytest.param(ny(2026, 6, 20, 12), False, id="saturday_noon_is_not_working"),
        pytest.param(ny(2026, 11, 26, 10), False, id="thanksgiving_morning_is_not_working"),
        pytest.param(ny(2026, 7, 3, 10), False, id="observed_independence_day_is_not_working"),
        pytest.param(utc(2026, 6, 16, 13), True, id="utc_instant_inside_new_york_hours_is_working"),
    ],
)
def test_business_is_working(t, expected):
    assert shared("business").is_working(t) is expected


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(ny(2026, 6, 19, 1), True, id="friday_1am_holiday_is_in_thursday_night_range"),
        pytest.param(ny(2026, 6, 13, 1), True, id="saturday_1am_is_in_friday_night_range"),
        pytest.param(ny(2026, 6, 20, 1), False, id="saturday_1am_after_a_friday_holiday_is_not_working"),
        pytest.param(ny(2026, 6, 15, 1), False, id="monday_1am_has_no_sunday_range"),
    ],
)
def test_night_is_working(t, expected):
    assert shared("night").is_working(t) is expected


def test_is_working_during_the_repeated_hour_given_in_utc():
    # Daily 00:30-03:00 New York on 2026-11-01 runs 04:30-08:00 UTC; 06:30 UTC is
    # 01:30 EST (the second 01:30), well inside it.
    assert shared("fold_00_30_to_03_00").is_working(utc(2026, 11, 1, 6, 30))


def test_is_working_during_the_repeated_hour_given_as_second_occurrence():
    assert shared("fold_00_30_to_03_00").is_working(ny(2026, 11, 1, 1, 30, fold=1))


def test_is_working_is_false_for_first_1am_when_only_the_second_1am_works():
    # Union of a New York office calendar and a UTC calendar working 06:00-07:00 UTC daily.
    # On 2026-11-01, 06:00 UTC is 01:00 EST (the second 01:00). The first 01:00 (EDT) is
    # 05:00 UTC, when neither member works.
    calendar = UnionCalendar(
        "mixed",
        [
            weekly(NY, {"mon-fri": "08:00-17:00"}),
            weekly(ZoneInfo("UTC"), {"daily": "06:00-07:00"}),
        ],
    )
    assert not calendar.is_working(ny(2026, 11, 1, 1, 0, fold=0))


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(ny(2026, 6, 20, 11), ny(2026, 6, 22, 8), id="saturday_to_monday_8am"),
        pytest.param(ny(2026, 6, 16, 12), ny(2026, 6, 16, 12), id="working_instant_is_itself"),
        pytest.param(ny(2026, 6, 16, 17), ny(2026, 6, 17, 8), id="closing_time_to_next_morning"),
        pytest.param(ny(2026, 11, 25, 17), ny(2026, 11, 30, 8), id="thanksgiving_eve_to_monday"),
        pytest.param(ny(2027, 12, 30, 17), ny(2028, 1, 3, 8), id="observed_new_year_2028_to_jan_3"),
    ],
)
def test_business_next_working_instant(t, expected):
    assert instant(shared("business").next_working_instant(t)) == instant(expected)


def test_next_working_instant_in_spring_gap_range_is_3am_edt():
    got = shared("gap_02_30_to_04_00").next_working_instant(ny(2026, 3, 8))
    assert instant(got) == utc(2026, 3, 8, 7)


def test_next_working_instant_of_range_starting_at_ambiguous_time_is_first_occurrence():
    got = shared("fold_01_30_to_03_00").next_working_instant(ny(2026, 11, 1))
    assert instant(got) == utc(2026, 11, 1, 5, 30)


def test_working_ranges_over_a_weekend():
    got = shared("business").working_ranges(ny(2026, 6, 19, 12), ny(2026, 6, 23, 10))
    assert [(instant(s), instant(e)) for s, e in got] == [
        (instant(ny(2026, 6, 19, 12)), instant(ny(2026, 6, 19, 17))),
        (instant(ny(2026, 6, 22, 8)), instant(ny(2026, 6, 22, 17))),
        (instant(ny(2026, 6, 23, 8)), instant(ny(2026, 6, 23, 10))),
    ]


def test_working_ranges_over_thanksgiving_2026():
    got = shared("business").working_ranges(ny(2026, 11, 25, 12), ny(2026, 12, 1, 12))
    assert [(instant(s), instant(e)) for s, e in got] == [
        (instant(ny(2026, 11, 25, 12)), instant(ny(2026, 11, 25, 17))),
        (instant(ny(2026, 11, 30, 8)), instant(ny(2026, 11, 30, 17))),
        (instant(ny(2026, 12, 1, 8)), instant(ny(2026, 12, 1, 12))),
    ]


def test_working_ranges_are_in_local_time():
    (start, end), *_ = shared("business").working_ranges(utc(2026, 6, 16), utc(2026, 6, 17))
    assert (start.hour, end.hour, start.utcoffset()) == (8, 17, timedelta(hours=-4))


def test_working_ranges_are_clipped_exactly_to_sub_second_bounds():
    a = ny(2026, 6, 16, 12, 0, 0, 250_000)
    b = ny(2026, 6, 16, 15, 0, 0, 750_000)
    got = shared("business").working_ranges(a, b)
    assert [(instant(s), instant(e)) for s, e in got] == [(instant(a), instant(b))]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(date(2026, 11, 26), "holiday: Thanksgiving Day", id="thanksgiving"),
        pytest.param(date(2026, 11, 27), "holiday: Day after Thanksgiving", id="day_after_thanksgiving"),
        pytest.param(date(2026, 5, 25), "holiday: Memorial Day", id="memorial_day"),
        pytest.param(date(2026, 11, 28), "no working hours on Saturdays", id="saturday"),
        pytest.param(date(2026, 11, 29), "no working hours on Sundays", id="sunday"),
        pytest.param(date(2026, 11, 30), None, id="working_monday"),
    ],
)
def test_business_day_off_reason(day, expected):
    assert shared("business").day_off_reason(day) == expected


def test_day_off_reason_of_observed_holiday_names_it():
    reason = shared("business").day_off_reason(date(2026, 7, 3))
    assert reason is not None
    assert reason.startswith("holiday: Independence Day")


def test_night_calendar_friday_holiday_reason():
    assert shared("night").day_off_reason(date(2026, 6, 19)) == "holiday: Company Day"


def test_union_has_no_day_off_on_thanksgiving_but_business_does():
    union = shared("union")
    assert isinstance(union, UnionCalendar)
    assert union.day_off_reason(date(2026, 11, 26)) is None
    assert union.members[0].day_off_reason(date(2026, 11, 26)) == "holiday: Thanksgiving Day"


def test_extra_range_makes_a_saturday_a_working_day():
    calendar = shared("business_with_extras")
    assert calendar.day_off_reason(date(2026, 6, 20)) is None
    assert calendar.day_off_reason(date(2026, 6, 27)) == "no working hours on Saturdays"


# ---------------------------------------------------------------------------------------
# standard day and business days


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("business", 9 * H, id="eight_to_five_is_9h"),
        pytest.param("24x5_ny", 24 * H, id="mon_fri_00_00_to_24_00_is_24h"),
        pytest.param("24x7_ny", 24 * H, id="always_is_24h"),
        pytest.param("night", 4 * H, id="past_midnight_22_to_02_is_4h"),
        pytest.param("evening_to_24_00", 6 * H, id="evening_to_24_00_is_6h"),
        pytest.param("union", 14 * H, id="union_of_business_and_on_call_is_14h"),
    ],
)
def test_standard_day(key, expected):
    assert shared(key).standard_day == expected


def test_standard_day_is_the_most_common_daily_length():
    # Mon-Thu 10 h, Fri 4 h: 10 h is the most common.
    calendar = weekly(NY, {"mon-thu": "08:00-18:00", "fri": "08:00-12:00"})
    assert calendar.standard_day == 10 * H


def test_always_default_standard_day_is_24h():
    assert always().standard_day == 24 * H


def test_standard_day_can_be_set():
    calendar = WeeklyCalendar("set", NY, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}), standard_day=8 * H)
    assert calendar.standard_day == 8 * H
    assert parse_duration("2 business days").on(calendar) == 16 * H


def test_standard_day_of_a_calendar_without_hours_raises():
    with pytest.raises(CalendarError):
        _ = weekly(NY, {}).standard_day


@pytest.mark.parametrize(
    ("key", "count", "expected"),
    [
        pytest.param("business", 2, 18 * H, id="two_eight_to_five_days_are_18h"),
        pytest.param("business", 1.5, 13 * H + 30 * M, id="one_and_a_half_eight_to_five_days"),
        pytest.param("24x5_ny", 2, 48 * H, id="two_24x5_days_are_48h"),
        pytest.param("union", 1, 14 * H, id="one_union_day_is_14h"),
    ],
)
def test_business_days(key, count, expected):
    assert shared(key).business_days(count) == expected


def test_two_business_days_from_wednesday_10am_is_friday_10am():
    calendar = shared("business")
    work = parse_duration("2 business days").on(calendar)
    assert calendar.add(ny(2026, 6, 17, 10), work) == ny(2026, 6, 19, 10)


def test_two_business_days_over_thanksgiving_2026():
    # 18 h from Wed 11-25 10:00: Wed 7 h; Mon 11-30 9 h (16 h); Tue 12-01 08:00 + 2 h.
    calendar = shared("business")
    work = parse_duration("2 business days").on(calendar)
    assert calendar.add(ny(2026, 11, 25, 10), work) == ny(2026, 12, 1, 10)


# ---------------------------------------------------------------------------------------
# queries far apart: the timeline recompiles over a wider horizon


def test_queries_years_apart_on_one_calendar_stay_exact():
    calendar = make_business()
    # 2026: Thanksgiving Thu 11-26.
    assert calendar.add(ny(2026, 11, 25, 15), 4 * H) == ny(2026, 11, 30, 10)
    # 2031: Nov 1 2031 is a Saturday (Jan 1 2031 Wed + 304 days = Wed + 3 = Sat); Thursdays
    # 6, 13, 20, 27 -> Thanksgiving 11-27, Fri 11-28; Wed 11-26 15:00 + 4 h -> Mon 12-01 10:00.
    assert calendar.add(ny(2031, 11, 26, 15), 4 * H) == ny(2031, 12, 1, 10)
    # 1999: Nov 1 1999 is a Monday; Thursdays 4, 11, 18, 25 -> Thanksgiving 11-25.
    assert calendar.add(ny(1999, 11, 24, 15), 4 * H) == ny(1999, 11, 29, 10)
    assert calendar.between(ny(1999, 11, 22, 8), ny(1999, 11, 29, 8)) == 27 * H
    # and back to 2026
    assert calendar.between(ny(2026, 11, 23, 8), ny(2026, 11, 30, 8)) == 27 * H
    assert calendar.add(ny(2027, 12, 30, 16), 2 * H) == ny(2028, 1, 3, 9)


def test_bulk_queries_years_apart_stay_exact():
    calendar = make_business()
    starts = [ny(2026, 11, 25, 15), ny(2031, 11, 26, 15), ny(1999, 11, 24, 15)]
    want = [ny(2026, 11, 30, 10), ny(2031, 12, 1, 10), ny(1999, 11, 29, 10)]
    got = calendar.add_many(np.array([epoch_s(s) for s in starts], dtype=np.int64), 4 * 3600)
    assert got.tolist() == [epoch_s(w) for w in want]


def test_between_spanning_two_years_is_the_sum_of_both():
    # 2277 h in 2026 + 2277 h in 2027
    assert make_business().between(ny(2026, 1, 1), ny(2028, 1, 1)) == 4554 * H


def test_add_reaching_ten_years_ahead_ends_exactly_on_a_friday_midnight():
    # 24x5 UTC from Mon 2026-01-05 00:00: each week holds 5 x 24 h = 120 h. 520 weeks of work
    # end at the end of the 520th working week: Friday 24:00 = Saturday 00:00, which is
    # 519 weeks and 5 days after the start.
    calendar = FACTORIES["24x5_utc"]()
    got = calendar.add(utc(2026, 1, 5), 520 * 120 * H)
    assert got == utc(2026, 1, 5) + timedelta(weeks=519, days=5)
    assert got.weekday() == 5


def test_always_adds_thousands_of_days_exactly():
    assert always().add(utc(2026, 1, 1), timedelta(days=3000)) == utc(2026, 1, 1) + timedelta(days=3000)


# ---------------------------------------------------------------------------------------
# errors and empty calendars


def test_negative_work_raises():
    with pytest.raises(CalendarError):
        shared("business").add(ny(2026, 6, 16, 12), -H)


def test_negative_work_in_bulk_raises():
    with pytest.raises(CalendarError):
        shared("business").add_many(np.array([epoch_s(ny(2026, 6, 16, 12))]), np.array([-1]))


def test_union_of_nothing_raises():
    with pytest.raises(CalendarError):
        UnionCalendar("empty", [])


def test_adding_work_to_a_calendar_without_hours_raises():
    with pytest.raises(CalendarError):
        weekly(NY, {}).add(ny(2026, 6, 16, 12), H)


def test_zero_work_on_a_calendar_without_hours_raises():
    # there is no next working instant to be due at
    with pytest.raises(CalendarError):
        weekly(NY, {}).add(ny(2026, 6, 16, 12), timedelta(0))


def test_between_on_a_calendar_without_hours_is_zero():
    assert weekly(NY, {}).between(ny(2026, 6, 16), ny(2026, 7, 16)) == timedelta(0)


def test_between_many_on_a_calendar_without_hours_is_zero():
    a = np.array([epoch_s(ny(2026, 6, 16))], dtype=np.int64)
    b = np.array([epoch_s(ny(2026, 7, 16))], dtype=np.int64)
    assert weekly(NY, {}).between_many(a, b).tolist() == [0]


def test_add_many_on_a_calendar_without_hours_raises_calendar_error():
    with pytest.raises(CalendarError):
        weekly(NY, {}).add_many(np.array([epoch_s(ny(2026, 6, 16))], dtype=np.int64), 3600)


def test_bulk_forms_accept_empty_arrays():
    empty = np.array([], dtype=np.int64)
    assert shared("business").add_many(empty, empty).tolist() == []
    assert shared("business").between_many(empty, empty).tolist() == []
