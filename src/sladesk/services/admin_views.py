"""What the admin pages read: a policy's targets in words, a week of its calendars, its scenario results,
and the outbox's failed deliveries.

The week is computed from the policy's compiled calendars (the `clock` package), so the pages show the
same working time the engine counts, holidays and daylight saving included.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from sladesk.clock.calendar import Calendar, UnionCalendar, WeeklyCalendar
from sladesk.errors import SladeskError
from sladesk.policy import BUILTIN_IDS, Policy, builtin_source
from sladesk.policy.words import calendar_name, target_lines
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ForbiddenError
from sladesk.sla.scenarios import ScenarioResult, run_policy_tests
from sladesk.store.tables import OutboxMessage, User

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class TargetWords:
    """One metric's target for one severity, in words: `4h on Alleo support hours`, or `no target`."""

    metric_id: str
    metric_name: str
    words: str


@dataclass(frozen=True)
class SeverityRow:
    rank: int
    code: str
    name: str
    definition: str
    pages_oncall: bool
    targets: tuple[TargetWords, ...]  # the severity's own target for each metric, in the policy's metric order
    cases: tuple[TargetWords, ...] = ()  # targets that replace one of them for some tickets (`metric_name (case)`)


def severity_table(policy: Policy, now: datetime | None = None) -> list[SeverityRow]:
    """Each severity of the policy with each metric's target in words (due, goal, calendar and start)."""
    rows = []
    at = now or datetime.now(UTC)
    for severity in policy.severities:
        targets, cases = [], []
        for line in target_lines(policy, severity, at):
            if line.case is None:
                targets.append(TargetWords(line.metric_id, line.metric_name, line.words))
            else:
                cases.append(TargetWords(line.metric_id, f"{line.metric_name} ({line.case})", line.words))
        rows.append(
            SeverityRow(
                severity.rank,
                severity.code,
                severity.name,
                severity.definition,
                severity.pages_oncall,
                tuple(targets),
                tuple(cases),
            )
        )
    return rows


@dataclass(frozen=True)
class CalendarDay:
    """One local day of a calendar: its working ranges in wall time and, per wall hour, the minutes worked."""

    day: date
    ranges: tuple[str, ...]  # "08:00-17:00", in the calendar's zone
    holiday: str | None  # the policy's holiday on that day, if this calendar keeps holidays
    words: str
    hour_minutes: tuple[int, ...]  # 24 values, 0-60

    @property
    def label(self) -> str:
        return f"{self.day:%a} {self.day.day} {self.day:%b}"


@dataclass(frozen=True)
class CalendarWeek:
    calendar_id: str
    name: str
    description: str  # the calendar's rules in words
    zone: str
    on_call: bool  # the policy's on-call period (after-hours cover), not business hours
    days: tuple[CalendarDay, ...]


@dataclass(frozen=True)
class PolicyWeek:
    monday: date
    previous: date
    next: date
    holidays: tuple[tuple[date, str], ...]
    calendars: tuple[CalendarWeek, ...]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def policy_week(policy: Policy, monday: date) -> PolicyWeek:
    """The seven days from `monday` (moved back to a Monday) of every calendar of the policy."""
    monday = monday_of(monday)
    days = [monday + timedelta(days=offset) for offset in range(7)]
    holidays = tuple((day, name) for day in days if (name := policy.holidays.name_of(day)))
    calendars = []
    for calendar_id, spec in policy.spec.calendars.items():
        calendar = policy.calendar(calendar_id)
        week_days = tuple(_calendar_day(calendar, day, policy.holidays.name_of(day)) for day in days)
        on_call = not spec.union and _names_on_call(calendar_id, spec.name or "")
        calendars.append(
            CalendarWeek(
                calendar_id,
                calendar_name(policy, calendar_id),
                spec.description or calendar.describe(),
                calendar.tz.key,
                on_call,
                week_days,
            )
        )
    return PolicyWeek(monday, monday - timedelta(days=7), monday + timedelta(days=7), holidays, tuple(calendars))


def _names_on_call(calendar_id: str, name: str) -> bool:
    text = f"{calendar_id} {name}".lower().replace("-", "").replace("_", "").replace(" ", "")
    return "oncall" in text


def _calendar_day(calendar: Calendar, day: date, holiday: str | None) -> CalendarDay:
    start = datetime.combine(day, time(0), tzinfo=calendar.tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=calendar.tz)
    spans: list[tuple[int, int]] = []
    for range_start, range_end in calendar.working_ranges(start, end):
        spans.append((_wall_minute(range_start, day, calendar), _wall_minute(range_end, day, calendar)))
    ranges = tuple(f"{_clock(a)}-{_clock(b)}" for a, b in spans)
    hour_minutes = tuple(
        sum(max(0, min(b, hour * 60 + 60) - max(a, hour * 60)) for a, b in spans) for hour in range(24)
    )
    applies_holidays = _applies_holidays(calendar)
    holiday = holiday if applies_holidays else None  # a 24x7 calendar works through holidays: not one for it
    if ranges:
        words = ", ".join(ranges)
        if holiday:
            words += f" (holiday hours: {holiday})"
    elif holiday:
        words = f"Closed: {holiday}"
    else:
        words = "Closed"
    return CalendarDay(day, ranges, holiday, words, hour_minutes)


def _applies_holidays(calendar: Calendar) -> bool:
    """Whether the calendar keeps the policy's holidays (a union does if any of its members does)."""
    if isinstance(calendar, WeeklyCalendar):
        return bool(calendar.holidays.rules) or calendar.holidays.country is not None
    if isinstance(calendar, UnionCalendar):
        return any(_applies_holidays(member) for member in calendar.members)
    return False


def _wall_minute(instant: datetime, day: date, calendar: Calendar) -> int:
    """The wall-clock minute of `day` at which `instant` falls (1440 for the next midnight)."""
    local = instant.astimezone(calendar.tz)
    if local.date() > day:
        return MINUTES_PER_DAY
    return local.hour * 60 + local.minute


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class ScenarioRun:
    """A policy version's scenario results; `error` when the scenarios could not be read at all."""

    results: tuple[ScenarioResult, ...]
    error: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for result in self.results if result.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


def scenario_run(policy: Policy, source: str) -> ScenarioRun:
    """Run the scenarios of a policy version: a shipped built-in's with its tests file, an uploaded text's
    own `tests:`, as `sladesk policy test` does for a file."""
    try:
        if policy.id in BUILTIN_IDS and source == builtin_source(policy.id):
            _, results = run_policy_tests(policy.id)
        else:
            with tempfile.TemporaryDirectory(prefix="sladesk-policy-") as directory:
                path = Path(directory) / f"{policy.id}.yaml"
                path.write_text(source, encoding="utf-8")
                _, found = run_policy_tests(str(path))
            # the scenarios are this version's own text, not a file anyone can open
            results = [replace(result, file=f"version {policy.version}") for result in found]
    except SladeskError as error:
        return ScenarioRun((), str(error))
    return ScenarioRun(tuple(results))


def user_count(session: Session, actor: Actor) -> int:
    """How many users the desk has, deactivated ones included (admins only)."""
    _require_admin(actor)
    return session.scalar(select(func.count()).select_from(User)) or 0


def user_names(session: Session, actor: Actor, user_ids: Iterable[int | None]) -> dict[int, str]:
    """The names of the users with these ids (admins only); an id with no user is left out."""
    _require_admin(actor)
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in session.execute(select(User.id, User.name).where(User.id.in_(wanted)))}


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins manage the desk")


def failed_deliveries(session: Session, actor: Actor, *, limit: int = 200) -> list[OutboxMessage]:
    """Outbox messages that failed: dead ones, and pending ones whose last attempt failed; newest first."""
    _require_admin(actor)
    failing = or_(
        OutboxMessage.status == "dead",
        and_(OutboxMessage.status == "pending", OutboxMessage.last_error.is_not(None)),
    )
    statement = select(OutboxMessage).where(failing).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.scalars(statement))


def recipient_of(payload: dict[str, Any]) -> str:
    """Where a message goes, in short: an email's addresses, or the host a webhook, chat or page is posted to
    (never the whole URL, which for a chat webhook is its secret)."""
    to = payload.get("to")
    if isinstance(to, list) and to:
        return ", ".join(str(address) for address in to)
    if isinstance(to, str) and to:
        return to
    url = payload.get("url")
    if isinstance(url, str) and url:
        return urlsplit(url).hostname or ""
    return ""
