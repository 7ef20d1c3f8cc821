"""A loaded policy: its validated spec plus compiled calendars and the lookups the engine needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sladesk.clock import (
    Calendar,
    ExplicitDates,
    ExtraRange,
    HolidayRule,
    HolidaySet,
    UnionCalendar,
    WeeklyCalendar,
    WeeklyHours,
    always,
    parse_date_rule,
    parse_range,
)
from sladesk.clock.durations import Duration
from sladesk.errors import SladeskError
from sladesk.policy.model import (
    ELAPSED,
    CalendarSpec,
    ConditionSpec,
    HolidayRuleSpec,
    MetricSpec,
    PolicySpec,
    SeveritySpec,
    StatusKind,
    StatusSpec,
    TargetFields,
)


@dataclass(frozen=True)
class Situation:
    """The ticket's facts a target may depend on besides its severity (as they are at the instant read)."""

    category: str | None = None
    tier: str | None = None
    path: str | None = None


class UnknownNameError(SladeskError):
    """A severity, status, metric, calendar or tier the policy does not define."""


@dataclass(frozen=True)
class ClockRule:
    """Everything needed to run one metric's clock for one severity."""

    metric_id: str
    metric: MetricSpec
    calendar_id: str
    calendar: Calendar
    start: str
    due: timedelta | None
    goal: timedelta | None
    due_words: str | None
    goal_words: str | None
    releases: int | None = None  # due (or, informational, aimed at) the Nth release after the clock starts
    opening_calendar: Calendar | None = None  # elapsed time counts from the start if open there, else its next opening
    informational: bool = False  # the seed's aim is tracked as the goal; nothing is ever due
    case: str | None = None  # in words, the facts that chose this target over the severity's own one
    note: str | None = None

    @property
    def pause_statuses(self) -> tuple[str, ...]:
        return () if self.releases is not None else self.metric.pause_statuses


class Policy:
    """A policy ready for the engine; `source` is the file it came from, for messages."""

    def __init__(self, spec: PolicySpec, source: str) -> None:
        self.spec = spec
        self.source = source
        self.tz = ZoneInfo(spec.timezone)
        self._holiday_set = HolidaySet(
            tuple(_holiday_rule(rule) for rule in spec.holidays.rules),
            spec.holidays.observed,
            spec.holidays.country,
            spec.holidays.subdivision,
        )
        self._calendars: dict[str, Calendar] = {}
        for name in spec.calendars:
            self._build_calendar(name)
        self._calendars.setdefault(ELAPSED, always(ELAPSED, self.tz))

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def holidays(self) -> HolidaySet:
        return self._holiday_set

    # calendars

    def calendar(self, name: str) -> Calendar:
        """The compiled calendar `name` of this policy."""
        try:
            return self._calendars[name]
        except KeyError:
            raise UnknownNameError(
                f"policy {self.id!r} has no calendar {name!r} (known: {', '.join(self._calendars)})"
            ) from None

    def _build_calendar(self, name: str) -> Calendar:
        if name in self._calendars:
            return self._calendars[name]
        spec: CalendarSpec = self.spec.calendars[name]
        standard_day = timedelta(seconds=spec.business_day.seconds) if spec.business_day else None
        built: Calendar
        if spec.union:
            members = [self._build_calendar(member) for member in spec.union]
            built = UnionCalendar(name, members, standard_day)
        else:
            weekly = WeeklyHours.always() if spec.hours == "24x7" else WeeklyHours.from_mapping(spec.hours or {})
            built = WeeklyCalendar(
                name,
                ZoneInfo(spec.timezone) if spec.timezone else self.tz,
                weekly,
                holidays=self._holiday_set if _applies_holidays(spec) else None,
                holiday_hours=[parse_range(text) for text in spec.holiday_hours],
                extra=[ExtraRange(x.date, parse_range(text)) for x in spec.extra for text in x.hours],
                standard_day=standard_day,
            )
        self._calendars[name] = built
        return built

    # severities, statuses, tiers

    @property
    def severities(self) -> tuple[SeveritySpec, ...]:
        return tuple(sorted(self.spec.severities, key=lambda s: s.rank))

    def severity(self, value: int | str) -> SeveritySpec:
        """A severity by rank (1 is most severe) or by the policy's own code (`Sev1`, `P1`)."""
        for severity in self.spec.severities:
            if isinstance(value, int) and not isinstance(value, bool):
                if severity.rank == value:
                    return severity
            elif str(value).strip().lower() in (severity.code.lower(), str(severity.rank)):
                return severity
        known = ", ".join(f"{s.rank} ({s.code})" for s in self.severities)
        raise UnknownNameError(f"policy {self.id!r} has no severity {value!r} (known: {known})")

    def status(self, status_id: str) -> StatusSpec:
        for status in self.spec.statuses:
            if status.id == status_id:
                return status
        known = ", ".join(s.id for s in self.spec.statuses)
        raise UnknownNameError(f"policy {self.id!r} has no status {status_id!r} (known: {known})")

    @property
    def initial_status(self) -> str:
        return next(s.id for s in self.spec.statuses if s.kind is StatusKind.NEW)

    def is_finished(self, status_id: str) -> bool:
        """Whether the status ends the ticket's work (a resolved or closed kind)."""
        return self.status(status_id).kind in (StatusKind.RESOLVED, StatusKind.CLOSED)

    def can_move(self, source: str, target: str) -> bool:
        return source == target or target in self.spec.transitions.get(source, ())

    def tier_rank(self, tier: str | None) -> int | None:
        """1 for the first tier the policy lists; None if the policy ranks no tiers."""
        if not self.spec.tiers:
            return None
        for index, known in enumerate(self.spec.tiers, start=1):
            if known.id == tier:
                return index
        known_ids = ", ".join(t.id for t in self.spec.tiers)
        raise UnknownNameError(f"policy {self.id!r} has no tier {tier!r} (known: {known_ids})")

    # metrics

    @property
    def metric_ids(self) -> tuple[str, ...]:
        return tuple(self.spec.metrics)

    def clock_rule(self, severity: SeveritySpec, metric_id: str, situation: Situation | None = None) -> ClockRule:
        """The metric's clock for `severity` in `situation`: the first of the severity's target cases that
        matches, else the tier's own targets if it has any, else the severity's target; each overrides the
        metric's defaults."""
        metric = self.spec.metrics.get(metric_id)
        if metric is None:
            raise UnknownNameError(
                f"policy {self.id!r} has no metric {metric_id!r} (known: {', '.join(self.spec.metrics)})"
            )
        target, case = self._target(severity, metric_id, situation or Situation())
        calendar_id = (target.calendar if target else None) or metric.calendar
        calendar = self.calendar(calendar_id)
        due = target.due if target else None
        goal = target.goal if target else None
        informational = bool(target and target.informational)
        releases = target.releases if target else None
        opening = calendar if target and target.counting == "elapsed_when_open" else None
        counting_id = ELAPSED if releases is not None or opening is not None else calendar_id
        counting = self.calendar(counting_id)
        due_words = _words(due, counting)
        if releases is not None:
            due_words = f"within {releases} release version{'s' if releases != 1 else ''}"
        elif opening is not None and due is not None:
            name = self.spec.calendars[calendar_id].name or calendar_id
            due_words = f"{due} of elapsed time if opened within {name}, else {due} after its next opening"
        goal_words = _words(goal, counting)
        if informational:  # the aim is tracked as the goal; nothing falls due
            due, goal = None, due or goal
            goal_words, due_words = due_words or goal_words, None
        return ClockRule(
            metric_id=metric_id,
            metric=metric,
            calendar_id=counting_id,
            calendar=counting,
            start=(target.start if target else None) or metric.start,
            due=due.on(counting) if due else None,
            goal=goal.on(counting) if goal else None,
            due_words=due_words,
            goal_words=goal_words,
            releases=releases,
            opening_calendar=opening,
            informational=informational,
            case=case,
            note=target.note if target else None,
        )

    def _target(
        self, severity: SeveritySpec, metric_id: str, situation: Situation
    ) -> tuple[TargetFields | None, str | None]:
        own = severity.targets.get(metric_id)
        for case in own.cases if own else ():
            if self.matches(case.when, situation, severity):
                return case, describe_condition(case.when, self)
        tier = next((t for t in self.spec.tiers if t.id == situation.tier), None)
        if tier is not None and tier.targets is not None:
            return tier.targets.get(metric_id), f"tier {tier.name}"
        return own, None

    def matches(
        self,
        when: ConditionSpec,
        situation: Situation,
        severity: SeveritySpec,
        intake: Mapping[str, object] | None = None,
    ) -> bool:
        """Whether the ticket's facts meet every condition listed (intake answers only where given)."""
        answers = intake or {}
        return (
            (not when.category or situation.category in when.category)
            and (not when.tier or situation.tier in when.tier)
            and (not when.path or situation.path in when.path)
            and (not when.severity or severity.code.lower() in {code.lower() for code in when.severity})
            and all(str(answers.get(field_id)) in values for field_id, values in when.intake.items())
        )

    def route(
        self, severity: SeveritySpec, situation: Situation, intake: Mapping[str, object] | None = None
    ) -> str | None:
        """The team a new ticket goes to: the first routing rule its facts match, else none."""
        for rule in self.spec.routing:
            if self.matches(rule.when, situation, severity, intake):
                return rule.team
        return None

    # releases

    def releases_after(self, instant: datetime, count: int) -> list[datetime]:
        """The next `count` release instants strictly after `instant` (fewer if the release calendar ends)."""
        spec = self.spec.releases
        if spec is None:
            return []
        hour, minute = (int(part) for part in spec.at.split(":"))
        at = time(hour, minute)
        local_day = instant.astimezone(self.tz).date()
        found = sorted(moment for day in spec.dates if (moment := _local(day, at, self.tz)) > instant)
        if spec.every is not None and spec.first is not None:
            step = timedelta(days=spec.every)
            skipped = max((local_day - spec.first).days // spec.every - 1, 0)
            day = spec.first + step * skipped
            regular: list[datetime] = []
            while len(regular) < count:
                moment = _local(day, at, self.tz)
                if moment > instant:
                    regular.append(moment)
                day += step
            found = sorted(set(found) | set(regular))
        return found[:count]


def describe_condition(when: ConditionSpec, policy: Policy) -> str:
    """A target case's condition in words: `category Software defect, path Needs a release`."""
    names = {
        "category": {c.id: c.name for c in policy.spec.categories},
        "tier": {t.id: t.name for t in policy.spec.tiers},
        "path": {p.id: p.name for p in policy.spec.paths},
    }
    parts = []
    for field in ("category", "tier", "path"):
        values = getattr(when, field)
        if values:
            parts.append(f"{field} " + " or ".join(names[field].get(v, v) for v in values))
    if when.severity:
        parts.append("severity " + " or ".join(when.severity))
    return ", ".join(parts) or "always"


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def _words(duration: Duration | None, calendar: Calendar) -> str | None:
    if duration is None:
        return None
    if duration.business_days:
        hours = duration.on(calendar).total_seconds() / 3600
        return f"{duration} ({hours:g}h of working time)"
    return str(duration)


def _applies_holidays(spec: CalendarSpec) -> bool:
    """A calendar skips the policy's holidays unless it says not to; 24x7 means every day unless it says so."""
    return spec.holidays if spec.holidays is not None else spec.hours != "24x7"


def _holiday_rule(spec: HolidayRuleSpec) -> HolidayRule:
    if spec.on is not None:
        return HolidayRule(spec.id, spec.name, parse_date_rule(spec.on))
    return HolidayRule(spec.id, spec.name, ExplicitDates(tuple(sorted(spec.dates))))
