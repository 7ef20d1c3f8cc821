"""Reading what a policy writes: time ranges, weekdays, holiday rules and durations."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from sladesk.clock import (
    WallRange,
    WeeklyCalendar,
    WeeklyHours,
    always,
    format_duration,
    parse_date_rule,
    parse_duration,
    parse_range,
)
from sladesk.clock.weekly import parse_weekdays
from sladesk.errors import CalendarError

UTC_ZONE = ZoneInfo("UTC")


# ---------------------------------------------------------------------------------------
# time ranges


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("08:00-17:00", 8 * 60, 17 * 60, id="office_hours"),
        pytest.param("00:00-24:00", 0, 1440, id="whole_day_with_24_00_end"),
        pytest.param("18:00-24:00", 18 * 60, 1440, id="evening_to_24_00"),
        # 22:00 = 1320; 02:00 next day = 1440 + 120 = 1560
        pytest.param("22:00-02:00", 1320, 1560, id="end_before_start_runs_past_midnight"),
        # 17:00 = 1020; 08:00 next day = 1440 + 480 = 1920
        pytest.param("17:00-08:00", 1020, 1920, id="overnight_shift"),
        # 23:30 = 1410; 00:00 next day = 1440
        pytest.param("23:30-00:00", 1410, 1440, id="end_at_midnight_is_end_of_day"),
        pytest.param("8:30-9:15", 510, 555, id="single_digit_hours"),
        pytest.param(" 08:00 - 17:00 ", 480, 1020, id="spaces_around"),
    ],
)
def test_parse_range(text, start, end):
    parsed = parse_range(text)
    assert (parsed.start_minute, parsed.end_minute) == (start, end)
    assert parsed.minutes == end - start


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("25:00-26:00", id="hour_25"),
        pytest.param("08:00-08:00", id="empty_range"),
        pytest.param("00:00-00:00", id="empty_range_at_midnight"),
        pytest.param("24:00-08:00", id="24_00_as_a_start"),
        pytest.param("08:00-24:30", id="past_24_00"),
        pytest.param("08:60-09:00", id="minute_60"),
        pytest.param("08:00-17:0", id="one_digit_minutes"),
        pytest.param("8-17", id="no_minutes"),
        pytest.param("08:00", id="no_end"),
        pytest.param("08:00 to 17:00", id="words"),
        pytest.param("", id="empty_text"),
    ],
)
def test_bad_range_raises_naming_the_text(text):
    with pytest.raises(CalendarError, match=re.escape(repr(text))):
        parse_range(text)


# ---------------------------------------------------------------------------------------
# weekly hours


def test_weekly_hours_from_mapping_expands_weekday_spans():
    weekly = WeeklyHours.from_mapping({"mon-fri": "08:00-17:00", "sat": ["10:00-12:00", "13:00-15:00"]})
    office = (WallRange(480, 1020),)
    assert weekly.days == (
        office,
        office,
        office,
        office,
        office,
        (WallRange(600, 720), WallRange(780, 900)),
        (),
    )


def test_weekday_span_wraps_past_sunday():
    # fri-mon = Fri, Sat, Sun, Mon
    weekly = WeeklyHours.from_mapping({"fri-mon": "09:00-10:00"})
    assert [bool(day) for day in weekly.days] == [True, False, False, False, True, True, True]


def test_weekday_list_with_commas_and_long_names():
    weekly = WeeklyHours.from_mapping({"Saturday, sunday": "09:00-10:00"})
    assert [bool(day) for day in weekly.days] == [False, False, False, False, False, True, True]


def test_daily_means_every_weekday():
    weekly = WeeklyHours.from_mapping({"daily": "09:00-10:00"})
    assert weekly.days == tuple((WallRange(540, 600),) for _ in range(7))


def test_closed_leaves_a_day_without_hours():
    weekly = WeeklyHours.from_mapping({"mon-fri": "08:00-17:00", "sat": "closed"})
    assert weekly.days[5] == ()


def test_overlapping_and_touching_ranges_of_a_day_are_joined():
    weekly = WeeklyHours.from_mapping({"mon": ["08:00-12:00", "12:00-13:00", "11:00-12:30", "15:00-16:00"]})
    assert weekly.days[0] == (WallRange(480, 780), WallRange(900, 960))


def test_always_is_every_day_all_day():
    assert WeeklyHours.always().days == tuple((WallRange(0, 1440),) for _ in range(7))


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        pytest.param({"funday": "08:00-17:00"}, "funday", id="unknown_weekday"),
        pytest.param({"mon-xyz": "08:00-17:00"}, "mon-xyz", id="unknown_weekday_in_span"),
        pytest.param({"mon, blursday": "08:00-17:00"}, "blursday", id="unknown_weekday_in_list"),
    ],
)
def test_unknown_weekday_raises_naming_it(spec, named):
    with pytest.raises(CalendarError, match=re.escape(named)):
        WeeklyHours.from_mapping(spec)


def test_bad_range_in_weekly_hours_raises_naming_it():
    with pytest.raises(CalendarError, match=re.escape("25:00-26:00")):
        WeeklyHours.from_mapping({"mon-fri": "25:00-26:00"})


# ---------------------------------------------------------------------------------------
# holiday rules


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("13-01", id="month_13"),
        pytest.param("02-30", id="february_30"),
        pytest.param("00-10", id="month_0"),
        pytest.param("6th mon of may", id="sixth_weekday"),
        pytest.param("4th xyz of nov", id="unknown_weekday"),
        pytest.param("4th thu of smarch", id="unknown_month"),
        pytest.param("christmas", id="bare_word"),
        pytest.param("thanksgiving + one day", id="offset_in_words"),
        pytest.param("25 december", id="day_month_words"),
        pytest.param("", id="empty"),
    ],
)
def test_bad_holiday_rule_raises_naming_the_text(text):
    with pytest.raises(CalendarError, match=re.escape(repr(text))):
        parse_date_rule(text)


# ---------------------------------------------------------------------------------------
# durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("4h", timedelta(hours=4), id="hours"),
        pytest.param("30m", timedelta(minutes=30), id="minutes"),
        pytest.param("1h 30m", timedelta(hours=1, minutes=30), id="hours_and_minutes"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="hours_and_minutes_without_space"),
        pytest.param("24 hours", timedelta(hours=24), id="long_unit"),
        pytest.param("90 minutes", timedelta(minutes=90), id="long_minutes"),
        pytest.param("1.5h", timedelta(minutes=90), id="fractional_hours"),
        pytest.param("45s", timedelta(seconds=45), id="seconds"),
        pytest.param("2 HR", timedelta(hours=2), id="upper_case"),
        pytest.param("0m", timedelta(0), id="zero"),
    ],
)
def test_fixed_duration_is_the_same_on_every_calendar(text, expected):
    business = WeeklyCalendar("biz", UTC_ZONE, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}))
    assert parse_duration(text).on(business) == expected
    assert parse_duration(text).on(always()) == expected


def test_two_business_days_on_an_eight_to_five_calendar_is_18_hours():
    # standard day 08:00-17:00 = 9 h; 2 x 9 h = 18 h
    business = WeeklyCalendar("biz", UTC_ZONE, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}))
    assert parse_duration("2 business days").on(business) == timedelta(hours=18)


def test_one_business_day_on_a_24x5_calendar_is_24_hours():
    twenty_four_five = WeeklyCalendar("24x5", UTC_ZONE, WeeklyHours.from_mapping({"mon-fri": "00:00-24:00"}))
    assert parse_duration("1 business day").on(twenty_four_five) == timedelta(hours=24)


def test_half_a_business_day_on_an_eight_to_five_calendar_is_4h30():
    business = WeeklyCalendar("biz", UTC_ZONE, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}))
    assert parse_duration("0.5 business days").on(business) == timedelta(hours=4, minutes=30)


def test_three_business_days_on_24x7_is_72_hours():
    assert parse_duration("3 business days").on(always()) == timedelta(hours=72)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("4", id="no_unit"),
        pytest.param("4 parsecs", id="unknown_unit"),
        pytest.param("four hours", id="number_in_words"),
        pytest.param("-4h", id="negative"),
        pytest.param("1h 30", id="trailing_number"),
        pytest.param("0.5s", id="fraction_of_a_second"),
        pytest.param("soon", id="no_number"),
    ],
)
def test_bad_duration_raises_naming_the_text(text):
    with pytest.raises(CalendarError, match=re.escape(repr(text))):
        parse_duration(text)


@pytest.mark.parametrize(
    ("span", "text"),
    [
        pytest.param(timedelta(hours=4), "4h", id="hours"),
        pytest.param(timedelta(hours=1, minutes=30), "1h 30m", id="hours_and_minutes"),
        pytest.param(timedelta(days=2, hours=3), "2d 3h", id="days_and_hours"),
        pytest.param(timedelta(seconds=45), "45s", id="seconds"),
        pytest.param(timedelta(0), "0m", id="nothing"),
        pytest.param(-timedelta(minutes=90), "-1h 30m", id="negative"),
    ],
)
def test_format_duration(span, text):
    assert format_duration(span) == text


def test_weekday_and_month_names_must_be_whole_names_or_their_abbreviations():
    assert parse_weekdays("Monday-Friday") == [0, 1, 2, 3, 4]
    assert parse_date_rule("4th Thursday of November") == parse_date_rule("4th thu of nov")
    with pytest.raises(CalendarError, match="'mondo'"):
        parse_weekdays("mondo")
    with pytest.raises(CalendarError, match="novembruary"):
        parse_date_rule("1st mon of novembruary")
