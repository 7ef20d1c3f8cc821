"""Business time: calendars compiled into timelines, with exact single and bulk arithmetic."""

from sladesk.clock.calendar import Calendar, ExtraRange, UnionCalendar, WeeklyCalendar, always
from sladesk.clock.durations import format_duration, parse_duration
from sladesk.clock.holidays import (
    ExplicitDates,
    HolidayRule,
    HolidaySet,
    ObservedShift,
    parse_date_rule,
)
from sladesk.clock.weekly import WallRange, WeeklyHours, parse_range

__all__ = [
    "Calendar",
    "ExplicitDates",
    "ExtraRange",
    "HolidayRule",
    "HolidaySet",
    "ObservedShift",
    "UnionCalendar",
    "WallRange",
    "WeeklyCalendar",
    "WeeklyHours",
    "always",
    "format_duration",
    "parse_date_rule",
    "parse_duration",
    "parse_range",
]
