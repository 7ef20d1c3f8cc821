"""Holiday rules resolved to dates: US holidays 2026-2027, observed shifts, offsets, explicit dates.

Every expected date is worked out by hand (weekday of the 1st of the month, then counting),
with the arithmetic in a comment.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sladesk.clock import (
    ExplicitDates,
    HolidayRule,
    HolidaySet,
    ObservedShift,
    WeeklyCalendar,
    WeeklyHours,
    parse_date_rule,
)
from sladesk.errors import CalendarError

NY = ZoneInfo("America/New_York")


def us_rules() -> tuple[HolidayRule, ...]:
    return (
        HolidayRule("new_year", "New Year's Day", parse_date_rule("01-01")),
        HolidayRule("memorial", "Memorial Day", parse_date_rule("last mon of may")),
        HolidayRule("independence", "Independence Day", parse_date_rule("07-04")),
        HolidayRule("labor", "Labor Day", parse_date_rule("1st mon of sep")),
        HolidayRule("thanksgiving", "Thanksgiving Day", parse_date_rule("4th thu of nov")),
        HolidayRule("black_friday", "Day after Thanksgiving", parse_date_rule("thanksgiving + 1 day")),
        HolidayRule("christmas_eve", "Christmas Eve", parse_date_rule("12-24")),
        HolidayRule("christmas", "Christmas Day", parse_date_rule("12-25")),
    )


def us(observed: ObservedShift = ObservedShift.NONE) -> HolidaySet:
    return HolidaySet(us_rules(), observed=observed)


def only(rule_text: str, name: str = "Holiday") -> HolidaySet:
    return HolidaySet((HolidayRule("h", name, parse_date_rule(rule_text)),))


# ---------------------------------------------------------------------------------------
# the US set without observed shifts


def test_us_holidays_2026_without_observed_shift():
    # 2026-01-01 Thu. May 2026: the 31st is a Sunday, so the last Monday is the 25th.
    # Sep 1 2026 is a Tuesday: first Monday is the 7th. Nov 1 2026 is a Sunday: Thursdays
    # fall on 5, 12, 19, 26 -> Thanksgiving the 26th, the Friday after the 27th.
    assert us().in_year(2026) == {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 5, 25): "Memorial Day",
        date(2026, 7, 4): "Independence Day",
        date(2026, 9, 7): "Labor Day",
        date(2026, 11, 26): "Thanksgiving Day",
        date(2026, 11, 27): "Day after Thanksgiving",
        date(2026, 12, 24): "Christmas Eve",
        date(2026, 12, 25): "Christmas Day",
    }


def test_us_holidays_2027_without_observed_shift():
    # May 31 2027 is a Monday (the last Monday). Sep 1 2027 is a Wednesday: first Monday
    # is the 6th. Nov 1 2027 is a Monday: Thursdays 4, 11, 18, 25 -> Thanksgiving the 25th.
    assert us().in_year(2027) == {
        date(2027, 1, 1): "New Year's Day",
        date(2027, 5, 31): "Memorial Day",
        date(2027, 7, 4): "Independence Day",
        date(2027, 9, 6): "Labor Day",
        date(2027, 11, 25): "Thanksgiving Day",
        date(2027, 11, 26): "Day after Thanksgiving",
        date(2027, 12, 24): "Christmas Eve",
        date(2027, 12, 25): "Christmas Day",
    }


@pytest.mark.parametrize(
    ("day", "name"),
    [
        pytest.param(date(2026, 5, 25), "Memorial Day", id="memorial_day_2026_is_may_25"),
        pytest.param(date(2027, 5, 31), "Memorial Day", id="memorial_day_2027_is_may_31"),
        pytest.param(date(2026, 9, 7), "Labor Day", id="labor_day_2026_is_sep_7"),
        pytest.param(date(2027, 9, 6), "Labor Day", id="labor_day_2027_is_sep_6"),
        pytest.param(date(2026, 11, 26), "Thanksgiving Day", id="thanksgiving_2026_is_nov_26"),
        pytest.param(date(2027, 11, 25), "Thanksgiving Day", id="thanksgiving_2027_is_nov_25"),
        pytest.param(date(2026, 11, 27), "Day after Thanksgiving", id="day_after_thanksgiving_2026"),
        pytest.param(date(2027, 11, 26), "Day after Thanksgiving", id="day_after_thanksgiving_2027"),
    ],
)
def test_name_of_a_us_holiday(day, name):
    assert us().name_of(day) == name


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(date(2026, 5, 18), id="memorial_day_is_not_the_monday_before_2026"),
        pytest.param(date(2027, 5, 24), id="memorial_day_is_not_the_monday_before_2027"),
        pytest.param(date(2026, 9, 14), id="labor_day_is_not_the_second_monday"),
        pytest.param(date(2026, 11, 19), id="thanksgiving_is_not_the_third_thursday"),
        pytest.param(date(2026, 11, 28), id="the_saturday_after_thanksgiving_is_not_a_holiday"),
        pytest.param(date(2026, 12, 26), id="boxing_day_is_not_in_the_us_set"),
    ],
)
def test_ordinary_day_has_no_holiday_name(day):
    assert us().name_of(day) is None


# ---------------------------------------------------------------------------------------
# observed shift: Saturday -> Friday, Sunday -> Monday


def test_us_holidays_2026_with_nearest_weekday_shift_moves_july_4th_to_friday():
    # 2026-07-04 is a Saturday -> observed Friday 2026-07-03; nothing else in 2026 is on a
    # weekend (Jan 1 Thu, Dec 24 Thu, Dec 25 Fri), and 2027-01-01 is a Friday (no spill).
    holidays = us(ObservedShift.NEAREST_WEEKDAY).in_year(2026)
    assert sorted(holidays) == [
        date(2026, 1, 1),
        date(2026, 5, 25),
        date(2026, 7, 3),
        date(2026, 9, 7),
        date(2026, 11, 26),
        date(2026, 11, 27),
        date(2026, 12, 24),
        date(2026, 12, 25),
    ]
    assert "Independence Day" in holidays[date(2026, 7, 3)]


def test_us_holidays_2027_with_nearest_weekday_shift():
    # 2027-07-04 is a Sunday -> Monday 07-05. 2027-12-25 is a Saturday -> Friday 12-24
    # (which is also Christmas Eve). 2028-01-01 is a Saturday -> Friday 2027-12-31.
    assert sorted(us(ObservedShift.NEAREST_WEEKDAY).in_year(2027)) == [
        date(2027, 1, 1),
        date(2027, 5, 31),
        date(2027, 7, 5),
        date(2027, 9, 6),
        date(2027, 11, 25),
        date(2027, 11, 26),
        date(2027, 12, 24),
        date(2027, 12, 31),
    ]


def test_independence_day_2027_on_sunday_is_observed_monday_july_5th():
    name = us(ObservedShift.NEAREST_WEEKDAY).name_of(date(2027, 7, 5))
    assert name is not None
    assert "Independence Day" in name


def test_new_year_2028_on_saturday_is_observed_friday_dec_31_2027():
    name = us(ObservedShift.NEAREST_WEEKDAY).name_of(date(2027, 12, 31))
    assert name is not None
    assert "New Year's Day" in name


def test_new_year_2028_observed_in_2027_is_not_also_a_2028_date():
    # The Saturday 2028-01-01 moved to the Friday before; 2028 has no other Jan 1 holiday.
    assert date(2028, 1, 1) not in us(ObservedShift.NEAREST_WEEKDAY).in_year(2028)


def test_christmas_2027_on_saturday_makes_friday_dec_24_a_holiday():
    assert us(ObservedShift.NEAREST_WEEKDAY).name_of(date(2027, 12, 24)) is not None


def test_observed_shift_none_keeps_weekend_dates():
    assert us(ObservedShift.NONE).name_of(date(2026, 7, 3)) is None
    assert us(ObservedShift.NONE).name_of(date(2026, 7, 4)) == "Independence Day"


def test_observed_new_year_2028_closes_a_business_calendar_on_friday_dec_31_2027():
    calendar = WeeklyCalendar(
        "biz",
        NY,
        WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}),
        us(ObservedShift.NEAREST_WEEKDAY),
    )
    # Thu 12-30 16:00-17:00 = 1 h; Fri 12-31 observed New Year; Sat 01-01, Sun 01-02;
    # Mon 2028-01-03 08:00 + 1 h = 09:00.
    got = calendar.add(datetime(2027, 12, 30, 16, tzinfo=NY), timedelta(hours=2))
    assert got == datetime(2028, 1, 3, 9, tzinfo=NY)
    reason = calendar.day_off_reason(date(2027, 12, 31))
    assert reason is not None
    assert reason.startswith("holiday: New Year's Day")


# ---------------------------------------------------------------------------------------
# nth weekday rules


@pytest.mark.parametrize(
    ("rule", "year", "expected"),
    [
        # Jan 1 2026 Thu: Mondays 5, 12, 19 -> third Monday (MLK Day) is the 19th.
        pytest.param("3rd mon of jan", 2026, date(2026, 1, 19), id="third_monday_of_january_2026"),
        # Jan 1 2027 Fri: Mondays 4, 11, 18.
        pytest.param("3rd mon of jan", 2027, date(2027, 1, 18), id="third_monday_of_january_2027"),
        # Jan 2026 Fridays: 2, 9, 16, 23, 30.
        pytest.param("5th fri of jan", 2026, date(2026, 1, 30), id="fifth_friday_of_january_2026"),
        # Feb 1 2026 Sun: Mondays 2, 9, 16, 23; Feb 2026 has 28 days.
        pytest.param("last mon of feb", 2026, date(2026, 2, 23), id="last_monday_of_february_2026"),
        # Oct 31 2026 is a Saturday: the last Saturday is the 31st itself.
        pytest.param("last sat of oct", 2026, date(2026, 10, 31), id="last_saturday_is_the_last_day"),
        pytest.param("fourth thursday of november", 2027, date(2027, 11, 25), id="long_names_read_like_short_ones"),
        pytest.param("First Monday of September", 2026, date(2026, 9, 7), id="case_does_not_matter"),
        # Sep 1 2026 is a Tuesday: the first Tuesday is the 1st.
        pytest.param("1st tue of sep", 2026, date(2026, 9, 1), id="first_weekday_on_the_first"),
    ],
)
def test_nth_weekday_rule_date(rule, year, expected):
    assert sorted(only(rule).in_year(year)) == [expected]


def test_fifth_monday_of_a_month_without_one_is_no_holiday():
    # Feb 2026: Mondays 2, 9, 16, 23; there is no fifth.
    assert only("5th mon of feb").in_year(2026) == {}


# ---------------------------------------------------------------------------------------
# offsets


def test_offset_rule_follows_its_base_rule_each_year():
    holidays = HolidaySet(
        (
            HolidayRule("thanksgiving", "Thanksgiving Day", parse_date_rule("4th thu of nov")),
            HolidayRule("black_friday", "Black Friday", parse_date_rule("thanksgiving + 1 day")),
        )
    )
    assert holidays.name_of(date(2026, 11, 27)) == "Black Friday"
    assert holidays.name_of(date(2027, 11, 26)) == "Black Friday"


def test_offset_of_an_offset_resolves():
    # Black Friday 2026-11-27 + 3 days = Monday 2026-11-30.
    holidays = HolidaySet(
        (
            HolidayRule("cyber_monday", "Cyber Monday", parse_date_rule("black_friday + 3 days")),
            HolidayRule("black_friday", "Black Friday", parse_date_rule("thanksgiving + 1 day")),
            HolidayRule("thanksgiving", "Thanksgiving Day", parse_date_rule("4th thu of nov")),
        )
    )
    assert holidays.name_of(date(2026, 11, 30)) == "Cyber Monday"


def test_negative_offset_is_days_before():
    holidays = HolidaySet(
        (
            HolidayRule("christmas", "Christmas Day", parse_date_rule("12-25")),
            HolidayRule("eve", "Christmas Eve", parse_date_rule("christmas - 1 day")),
        )
    )
    assert holidays.name_of(date(2026, 12, 24)) == "Christmas Eve"


def test_offset_crossing_into_next_year_lands_in_that_year():
    # Christmas 2025 + 7 days = 2026-01-01; Christmas 2026 + 7 days = 2027-01-01.
    holidays = HolidaySet(
        (
            HolidayRule("christmas", "Christmas Day", parse_date_rule("12-25")),
            HolidayRule("week_after", "Week after Christmas", parse_date_rule("christmas + 7 days")),
        )
    )
    assert holidays.in_year(2026) == {
        date(2026, 1, 1): "Week after Christmas",
        date(2026, 12, 25): "Christmas Day",
    }


def test_offset_is_taken_from_the_actual_date_then_shifted():
    # Christmas 2027 is Saturday 12-25; "christmas + 1 day" is Sunday 12-26, observed
    # Monday 12-27; Christmas itself is observed Friday 12-24.
    holidays = HolidaySet(
        (
            HolidayRule("christmas", "Christmas Day", parse_date_rule("12-25")),
            HolidayRule("boxing", "Boxing Day", parse_date_rule("christmas + 1 day")),
        ),
        observed=ObservedShift.NEAREST_WEEKDAY,
    )
    assert sorted(d for d in holidays.in_year(2027) if d.month == 12) == [
        date(2027, 12, 24),
        date(2027, 12, 27),
    ]


def test_offset_to_unknown_holiday_raises_naming_it():
    with pytest.raises(CalendarError, match="easter"):
        HolidaySet((HolidayRule("monday_after", "Easter Monday", parse_date_rule("easter + 1 day")),))


def test_offset_cycle_raises():
    with pytest.raises(CalendarError):
        HolidaySet(
            (
                HolidayRule("a", "A", parse_date_rule("b + 1 day")),
                HolidayRule("b", "B", parse_date_rule("a + 1 day")),
            )
        )


def test_offset_from_itself_raises():
    with pytest.raises(CalendarError, match="loop"):
        HolidaySet((HolidayRule("loop", "Loop", parse_date_rule("loop + 1 day")),))


# ---------------------------------------------------------------------------------------
# explicit dates


def test_explicit_dates_are_holidays_in_their_own_years():
    holidays = HolidaySet(
        (
            HolidayRule(
                "company", "Company Day", ExplicitDates((date(2026, 6, 19), date(2027, 6, 18), date(2027, 8, 2)))
            ),
        )
    )
    assert holidays.in_year(2026) == {date(2026, 6, 19): "Company Day"}
    assert holidays.in_year(2027) == {date(2027, 6, 18): "Company Day", date(2027, 8, 2): "Company Day"}


def test_explicit_date_on_sunday_is_observed_monday():
    # 2026-06-21 is a Sunday -> Monday 2026-06-22.
    holidays = HolidaySet(
        (HolidayRule("company", "Company Day", ExplicitDates((date(2026, 6, 21),))),),
        observed=ObservedShift.NEAREST_WEEKDAY,
    )
    assert sorted(holidays.in_year(2026)) == [date(2026, 6, 22)]


def test_explicit_date_on_saturday_jan_1_2028_is_observed_in_2027():
    holidays = HolidaySet(
        (HolidayRule("company", "Company Day", ExplicitDates((date(2028, 1, 1),))),),
        observed=ObservedShift.NEAREST_WEEKDAY,
    )
    assert sorted(holidays.in_year(2027)) == [date(2027, 12, 31)]
    assert holidays.in_year(2028) == {}


# ---------------------------------------------------------------------------------------
# February 29


def test_feb_29_rule_is_a_holiday_in_a_leap_year():
    assert sorted(only("02-29", "Leap Day").in_year(2028)) == [date(2028, 2, 29)]


def test_feb_29_rule_does_not_break_a_calendar_in_a_common_year():
    # 2027 has no February 29; a June 2027 query must not care about it at all.
    # Tue 2027-06-01 09:00 + 1 h = 10:00.
    calendar = WeeklyCalendar(
        "biz", NY, WeeklyHours.from_mapping({"mon-fri": "08:00-17:00"}), only("02-29", "Leap Day")
    )
    got = calendar.add(datetime(2027, 6, 1, 9, tzinfo=NY), timedelta(hours=1))
    assert got == datetime(2027, 6, 1, 10, tzinfo=NY)
