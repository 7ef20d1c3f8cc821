"""Holiday rules: fixed dates, nth or last weekday of a month, offsets, explicit dates, observed shifts."""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from sladesk.clock.weekly import weekday_number
from sladesk.errors import CalendarError

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_LONG_NAMES = tuple(_stdlib_calendar.month_name[m].lower() for m in range(1, 13))
_ORDINALS = {
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "last": -1,
}

_FIXED = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_NTH = re.compile(r"^(\w+)\s+([a-z]+)\s+of\s+([a-z]+)$")
_OFFSET = re.compile(r"^([a-z0-9_]+)\s*([+-])\s*(\d+)\s+days?$")


class ObservedShift(StrEnum):
    """What happens to a holiday that falls on a weekend."""

    NONE = "none"
    NEAREST_WEEKDAY = "nearest_weekday"  # Saturday -> Friday, Sunday -> Monday


@dataclass(frozen=True)
class FixedDate:
    month: int
    day: int

    def on(self, year: int, known: dict[str, date | None]) -> date | None:
        """The date in `year`; none for 02-29 in a common year."""
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return None


@dataclass(frozen=True)
class NthWeekday:
    """The nth (1-5) or last (-1) given weekday of a month."""

    nth: int
    weekday: int
    month: int

    def on(self, year: int, known: dict[str, date | None]) -> date | None:
        days_in_month = _stdlib_calendar.monthrange(year, self.month)[1]
        if self.nth == -1:
            last = date(year, self.month, days_in_month)
            return last - timedelta(days=(last.weekday() - self.weekday) % 7)
        first = date(year, self.month, 1)
        day = 1 + (self.weekday - first.weekday()) % 7 + 7 * (self.nth - 1)
        return date(year, self.month, day) if day <= days_in_month else None


@dataclass(frozen=True)
class Offset:
    """A number of days after (or before) another rule's date in the same year."""

    rule_id: str
    days: int

    def on(self, year: int, known: dict[str, date | None]) -> date | None:
        base = known.get(self.rule_id)
        return base + timedelta(days=self.days) if base is not None else None


@dataclass(frozen=True)
class ExplicitDates:
    dates: tuple[date, ...]

    def on(self, year: int, known: dict[str, date | None]) -> date | None:
        return None  # explicit dates are listed by `dates_in`, several per year possible


DateRule = FixedDate | NthWeekday | Offset | ExplicitDates


def _month_number(name: str) -> int | None:
    key = name.strip().lower()
    for number, (short, long) in enumerate(zip(MONTH_NAMES, MONTH_LONG_NAMES, strict=True), start=1):
        if key in (short, long) or (number == 9 and key == "sept"):
            return number
    return None


def parse_date_rule(text: str) -> FixedDate | NthWeekday | Offset:
    """Read `12-25`, `4th thu of nov`, `last mon of may` or `thanksgiving + 1 day`."""
    key = " ".join(text.strip().lower().split())
    if match := _FIXED.match(key):
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(2024, month, day)  # a leap year admits 02-29
        except ValueError:
            raise CalendarError(f"{text!r} is not a month-day date (expected like 12-25)") from None
        return FixedDate(month, day)
    if match := _NTH.match(key):
        ordinal, weekday_name, month_name = match.groups()
        weekday = weekday_number(weekday_name)
        month_number = _month_number(month_name)
        if ordinal not in _ORDINALS or weekday is None or month_number is None:
            raise CalendarError(f"cannot read {text!r} (expected like '4th thu of nov' or 'last mon of may')")
        return NthWeekday(_ORDINALS[ordinal], weekday, month_number)
    if match := _OFFSET.match(key):
        rule_id, sign, count = match.groups()
        return Offset(rule_id, int(count) * (1 if sign == "+" else -1))
    raise CalendarError(
        f"cannot read {text!r} as a holiday rule "
        "(expected '12-25', '4th thu of nov', 'last mon of may' or 'thanksgiving + 1 day')"
    )


@dataclass(frozen=True)
class HolidayRule:
    """A named holiday; `id` lets other rules refer to it (`thanksgiving + 1 day`)."""

    id: str
    name: str
    rule: DateRule


@dataclass(frozen=True)
class HolidaySet:
    """The holidays of a calendar, resolved year by year with the chosen observed shift."""

    rules: tuple[HolidayRule, ...] = ()
    observed: ObservedShift = ObservedShift.NONE
    country: str | None = None  # also take a country's public holidays (ISO code, e.g. US)
    subdivision: str | None = None  # and its state or province (e.g. CO)
    _years: dict[int, dict[date, str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.country is not None:
            check_country(self.country, self.subdivision)
        ids = {r.id for r in self.rules}
        for rule in self.rules:
            if isinstance(rule.rule, Offset) and rule.rule.rule_id not in ids:
                raise CalendarError(f"holiday {rule.id!r} refers to unknown holiday {rule.rule.rule_id!r}")
        self._check_offset_cycles()

    def _check_offset_cycles(self) -> None:
        refs = {r.id: r.rule.rule_id for r in self.rules if isinstance(r.rule, Offset)}
        for start in refs:
            seen = {start}
            current = refs.get(start)
            while current is not None:
                if current in seen:
                    raise CalendarError(f"holiday {start!r} is defined by an offset from itself")
                seen.add(current)
                current = refs.get(current)

    def in_year(self, year: int) -> dict[date, str]:
        """Every holiday date of `year` (after the observed shift) with its name."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        result: dict[date, str] = {}
        # A neighbouring year's rule can land in this one: New Year's Day on a Saturday is
        # observed on the Friday before, and `christmas + 7 days` is next year's date.
        for rule_year in (year, year - 1, year + 1):
            for day, name, _ in self._dates_of_rules(rule_year):
                if day.year == year:
                    result.setdefault(day, name)
        for day, name in self._country_holidays(year).items():
            result.setdefault(day, name)
        self._years[year] = result
        return result

    def _country_holidays(self, year: int) -> dict[date, str]:
        if self.country is None:
            return {}
        # The `holidays` package keeps every country's public holidays up to date, including
        # its own observed-day rules, which stand in for our shift for these dates.
        import holidays as public_holidays

        found = public_holidays.country_holidays(
            self.country,
            subdiv=self.subdivision,
            years=year,
            observed=self.observed is ObservedShift.NEAREST_WEEKDAY,
        )
        return {day: str(name) for day, name in found.items() if day.year == year}

    def dates_by_rule(self, year: int) -> dict[str, list[date]]:
        """For each rule id, its dates in `year` after the observed shift."""
        found: dict[str, list[date]] = {rule.id: [] for rule in self.rules}
        for rule_year in (year, year - 1, year + 1):
            for day, _, rule_id in self._dates_of_rules(rule_year):
                if day.year == year:
                    found[rule_id].append(day)
        return {rule_id: sorted(days) for rule_id, days in found.items()}

    def _dates_of_rules(self, year: int) -> list[tuple[date, str, str]]:
        actual: dict[str, date | None] = {}
        pending = list(self.rules)
        while pending:  # offsets resolve after the rule they refer to
            rule = pending.pop(0)
            if isinstance(rule.rule, Offset) and rule.rule.rule_id not in actual:
                pending.append(rule)
                continue
            actual[rule.id] = rule.rule.on(year, actual)
        found: list[tuple[date, str, str]] = []
        for rule in self.rules:
            if isinstance(rule.rule, ExplicitDates):
                days: Iterable[date] = (d for d in rule.rule.dates if d.year == year)
            else:
                single = actual[rule.id]
                days = () if single is None else (single,)
            for day in days:
                shifted = self._shift(day)
                found.append((shifted, rule.name if shifted == day else f"{rule.name} (observed)", rule.id))
        return found

    def _shift(self, day: date) -> date:
        if self.observed is ObservedShift.NEAREST_WEEKDAY:
            if day.weekday() == 5:
                return day - timedelta(days=1)
            if day.weekday() == 6:
                return day + timedelta(days=1)
        return day

    def name_of(self, day: date) -> str | None:
        """The holiday's name if `day` is one, else None."""
        return self.in_year(day.year).get(day)


def check_country(country: str, subdivision: str | None) -> None:
    """Raise `CalendarError` unless the `holidays` package knows this country and subdivision."""
    import holidays as public_holidays

    supported = public_holidays.list_supported_countries()
    if country not in supported:
        raise CalendarError(f"unknown country {country!r} for public holidays (use an ISO code such as US, GB, DE)")
    if subdivision is not None and subdivision not in supported[country]:
        raise CalendarError(
            f"unknown subdivision {subdivision!r} of {country} (known: {', '.join(supported[country])})"
        )
