"""The policy file's shape: pydantic models a support manager's YAML is validated against.

Field validators turn the policy's small languages (durations, time ranges, holiday rules)
into clear messages, so that every problem in a file is reported at once with its field.
"""

from __future__ import annotations

import re
import string
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from sladesk.clock import ObservedShift, parse_date_rule, parse_duration, parse_range
from sladesk.clock.durations import Duration
from sladesk.clock.holidays import check_country
from sladesk.clock.weekly import parse_weekdays
from sladesk.errors import CalendarError

ELAPSED = "elapsed"  # the calendar every policy has: every hour of every day, holidays included
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def _as_value_error(parse: Any, value: Any) -> Any:
    try:
        return parse(value)
    except CalendarError as error:
        raise ValueError(str(error)) from None


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} has no unit: write it like 30m, 4h or 2 business days")
    return _as_value_error(parse_duration, str(value))  # type: ignore[no-any-return]


def _time_range(value: Any) -> str:
    _as_value_error(parse_range, str(value))
    return str(value)


MAX_ID_LENGTH = 64  # the store keeps statuses, tiers, metrics, calendars and severity codes in 64 characters
MAX_POLICY_ID_LENGTH = 200  # and policy ids in 200


def _identifier(value: Any, max_length: int = MAX_ID_LENGTH) -> str:
    text = str(value)
    if not _IDENTIFIER.match(text):
        raise ValueError(f"{text!r} is not a valid id: use lower-case letters, digits and _")
    if len(text) > max_length:
        raise ValueError(f"{text[:20]}... is {len(text)} characters long: an id is {max_length} characters at most")
    return text


def _policy_identifier(value: Any) -> str:
    return _identifier(value, MAX_POLICY_ID_LENGTH)


PolicyDuration = Annotated[Duration, BeforeValidator(_duration)]
TimeRange = Annotated[str, BeforeValidator(_time_range)]
Identifier = Annotated[str, BeforeValidator(_identifier)]
PolicyIdentifier = Annotated[str, BeforeValidator(_policy_identifier)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class HolidayRuleSpec(Spec):
    """A named holiday: `on` a rule (`12-25`, `4th thu of nov`, `thanksgiving + 1 day`) or on `dates`."""

    id: Identifier
    name: str
    on: str | None = None
    dates: tuple[date, ...] = ()

    @field_validator("on")
    @classmethod
    def _rule_reads(cls, value: str | None) -> str | None:
        if value is not None:
            _as_value_error(parse_date_rule, value)
        return value

    @model_validator(mode="after")
    def _one_way_to_say_when(self) -> HolidayRuleSpec:
        if (self.on is None) == (not self.dates):
            raise ValueError("give either `on` (a rule such as 12-25) or `dates` (a list), not both or neither")
        return self


class HolidaysSpec(Spec):
    observed: ObservedShift = ObservedShift.NONE
    country: str | None = None
    subdivision: str | None = None
    rules: tuple[HolidayRuleSpec, ...] = ()

    @field_validator("country")
    @classmethod
    def _country_known(cls, value: str | None) -> str | None:
        if value is not None:
            _as_value_error(lambda c: check_country(c, None), value)
        return value

    @model_validator(mode="after")
    def _subdivision_known(self) -> HolidaysSpec:
        if self.country is not None and self.subdivision is not None:
            _as_value_error(lambda c: check_country(c, self.subdivision), self.country)
        return self


class ExtraRangeSpec(Spec):
    date: date
    hours: tuple[TimeRange, ...]


class NestedProblemsError(ValueError):
    """Problems a validator finds inside its value, each at its own place below the field."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__(problems[0][1])
        self.problems = problems


def _hours(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip().lower() in ("24x7", "24/7", "always"):
            return "24x7"
        raise ValueError(f"{value!r}: write `24x7` or weekday ranges like {{mon-fri: 08:00-17:00}}")
    if isinstance(value, dict):
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for day_spec, ranges in value.items():
            try:
                _as_value_error(parse_weekdays, str(day_spec))
            except ValueError as error:
                problems.append(((str(day_spec),), str(error)))
            items: list[tuple[int | None, Any]] = (
                list(enumerate(ranges))
                if isinstance(ranges, list | tuple)
                else []
                if ranges is None
                else [(None, ranges)]
            )
            for index, text in items:
                if str(text).strip().lower() == "closed":
                    continue
                try:
                    _time_range(text)
                except ValueError as error:
                    where = (str(day_spec),) if index is None else (str(day_spec), index)
                    problems.append((where, str(error)))
        if problems:
            raise NestedProblemsError(problems)
    return value


class CalendarSpec(Spec):
    """Working hours (`hours`) or the `union` of other calendars of the policy."""

    name: str | None = None
    description: str | None = None
    timezone: str | None = None
    hours: Annotated[Literal["24x7"] | dict[str, str | tuple[str, ...]], BeforeValidator(_hours)] | None = None
    holidays: bool | None = None  # default: yes for weekly hours, no for 24x7
    holiday_hours: tuple[TimeRange, ...] = ()
    extra: tuple[ExtraRangeSpec, ...] = ()
    union: tuple[Identifier, ...] = ()
    business_day: PolicyDuration | None = None

    @model_validator(mode="after")
    def _hours_or_union(self) -> CalendarSpec:
        if (self.hours is None) == (not self.union):
            raise ValueError("give either `hours` or `union` (a list of calendar ids), not both or neither")
        return self


class StatusKind(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class StatusSpec(Spec):
    id: Identifier
    name: str
    kind: StatusKind
    description: str | None = None


class MetricSpec(Spec):
    """A clock: where it counts, what starts it, what stops it and what pauses it."""

    name: str
    description: str | None = None
    calendar: Identifier
    start: Identifier = "opened"
    stop: Literal["first_agent_reply", "resolved"]
    pause_statuses: tuple[Identifier, ...] = ()


def _target(value: Any) -> Any:
    """`4h`, a range `1-3 business days` (goal-due), or a mapping with due/goal/calendar/start."""
    if isinstance(value, str):
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*(.+)$", value)
        if match:
            low, high, unit = match.groups()
            return {"goal": f"{low} {unit}", "due": f"{high} {unit}"}
        return {"due": value}
    return value


def _names(value: Any) -> Any:
    """One id or a list of ids, always as a tuple."""
    if isinstance(value, str):
        return (value,)
    return value


Names = Annotated[tuple[Identifier, ...], BeforeValidator(_names)]
Codes = Annotated[tuple[str, ...], BeforeValidator(_names)]


class ConditionSpec(Spec):
    """When a rule applies: every listed fact must match one of its values (nothing listed: always)."""

    category: Names = ()
    tier: Names = ()
    path: Names = ()
    severity: Codes = ()
    intake: dict[Identifier, Codes] = Field(default_factory=dict)


Counting = Literal["working", "elapsed_when_open"]


class TargetFields(Spec):
    """A target's own fields: its due and goal, where they count, and how."""

    due: PolicyDuration | None = None
    goal: PolicyDuration | None = None
    releases: int | None = Field(default=None, ge=1, le=100)  # due at the Nth release after the start
    calendar: Identifier | None = None
    start: Identifier | None = None
    counting: Counting = "working"
    informational: bool = False  # tracked and shown, never breached
    note: str | None = None

    @model_validator(mode="after")
    def _one_due(self) -> TargetFields:
        if self.releases is not None and self.due is not None:
            raise ValueError("give either `due` (a duration) or `releases` (a number of release versions), not both")
        if self.counting == "elapsed_when_open" and self.calendar is None:
            raise ValueError("`counting: elapsed_when_open` needs the `calendar` whose opening hours it looks at")
        return self


class TargetCaseSpec(TargetFields):
    """A target that replaces the severity's own one `when` the ticket's facts match (the first case wins)."""

    when: ConditionSpec


class TargetSpec(TargetFields):
    cases: tuple[TargetCaseSpec, ...] = ()


class Comms(StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class CommsUpdateSpec(Spec):
    """How often a required communication must be updated while the ticket is open, counted on `calendar`."""

    every: PolicyDuration
    calendar: Identifier


class SeveritySpec(Spec):
    code: str = Field(max_length=MAX_ID_LENGTH)
    rank: int = Field(ge=1)
    name: str
    definition: str
    examples: tuple[str, ...] = ()
    pages_oncall: bool = False
    pages_within: Identifier | None = None  # a calendar: pages only when the severity takes effect in its hours
    handled: str | None = None
    internal_comms: Comms = Comms.NONE
    external_comms: Comms = Comms.NONE
    comms_update: CommsUpdateSpec | None = None
    targets: dict[Identifier, Annotated[TargetSpec, BeforeValidator(_target)]] = Field(default_factory=dict)


class NamedSpec(Spec):
    id: Identifier
    name: str
    description: str | None = None


class TierSpec(NamedSpec):
    """A customer tier; with `targets`, its tickets follow these instead of their severity's (none listed: none)."""

    targets: dict[Identifier, Annotated[TargetSpec, BeforeValidator(_target)]] | None = None


class RoutingRuleSpec(Spec):
    """New tickets whose facts match `when` go to `team`'s queue (the first matching rule wins)."""

    when: ConditionSpec
    team: Identifier


class SeverityAssignmentSpec(Spec):
    """Who sets a ticket's severity. With `support`, a customer's ticket waits in triage, its clocks running
    on the more severe of the requested severity and `provisional`, until an agent confirms one."""

    by: Literal["customer", "support"] = "customer"
    provisional: str | None = None

    @model_validator(mode="after")
    def _provisional_for_support(self) -> SeverityAssignmentSpec:
        if self.by == "support" and self.provisional is None:
            raise ValueError("`by: support` needs `provisional`: the severity a ticket's clocks run on in triage")
        return self


def _calendar_days(value: Any) -> Any:
    """`4 weeks` or `28 days` as a number of calendar days."""
    if value is None or isinstance(value, int):
        return value
    match = re.match(r"^\s*(\d+)\s*(day|days|week|weeks)\s*$", str(value).lower())
    if not match:
        raise ValueError(f"{value!r}: write how often releases come like `4 weeks` or `28 days`")
    return int(match.group(1)) * (7 if match.group(2).startswith("week") else 1)


class ReleaseCalendarSpec(Spec):
    """When new versions ship: every `every` from `first` at `at` local time, and/or on listed `dates`."""

    every: Annotated[int | None, BeforeValidator(_calendar_days), Field(ge=1)] = None  # in calendar days
    first: date | None = None
    at: str = "00:00"
    dates: tuple[date, ...] = ()
    note: str | None = None

    @field_validator("at")
    @classmethod
    def _time_reads(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"{value!r} is not a time of day: write it like 06:00")
        return value

    @model_validator(mode="after")
    def _some_release(self) -> ReleaseCalendarSpec:
        if (self.every is None) != (self.first is None):
            raise ValueError("give `every` and `first` together (a release every 4 weeks from a first date)")
        if self.every is None and not self.dates:
            raise ValueError("give `every` and `first`, or a list of `dates`")
        return self


class PagingSpec(Spec):
    """Severities that page on-call (`pages_oncall`) start an incident under this escalation policy (its slug)."""

    escalation_policy: str = Field(min_length=1, max_length=64)


SCHEDULE_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # as the desk names its on-call schedules
DEFAULT_OVERLOAD_TEXT = (
    "We have more requests than usual right now, so our answer may take longer than we would like."
    " Team members arriving at {arrival} will be able to help you."
)


def _share(value: Any) -> float:
    """`50%` or a fraction such as 0.5, as a fraction of the whole target (above 0, at most 1)."""
    if isinstance(value, str):
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$", value)
        if not match:
            raise ValueError(f"{value!r}: write a share of the target like 50%")
        share = float(match.group(1)) / 100
    elif isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value)
    else:
        raise ValueError(f"{value!r}: write a share of the target like 50%")
    if not 0 < share <= 1:
        raise ValueError(f"{value!r}: a share of the target is above 0% and at most 100%")
    return share


class OverloadLoadSpec(Spec):
    """The load that counts as overloaded: at least `at_least` waiting tickets that have used `waiting_past`
    (a share of their running target, `50%`) or more; `metrics` limits the clocks looked at (none: all)."""

    waiting_past: Annotated[float, BeforeValidator(_share)]
    at_least: int = Field(default=1, ge=1, le=1_000_000)
    metrics: tuple[Identifier, ...] = ()


class OverloadNoticeSpec(Spec):
    """Tell each waiting customer once when the desk is overloaded: nobody on shift in the desk's on-call
    `schedule` (its slug), or the load `when` says. The `text` says when help arrives (`{arrival}`)."""

    schedule: str
    when: OverloadLoadSpec | None = None
    text: str = DEFAULT_OVERLOAD_TEXT
    note: str | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule_slug(cls, value: str) -> str:
        if not SCHEDULE_SLUG.match(value):
            raise ValueError(f"{value!r} is not a schedule id: use 1 to 64 lower-case letters, digits, - and _")
        return value

    @field_validator("text")
    @classmethod
    def _text_names_arrival(cls, value: str) -> str:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
        except ValueError as error:
            raise ValueError(
                f"the text does not read as a template ({error}): write {{{{ and }}}} for braces"
            ) from None
        unknown = sorted({field for field in fields if field != "arrival"})
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}: the text knows only {{arrival}}")
        if "arrival" not in fields:
            raise ValueError("the text must say when help arrives: put {arrival} in it")
        if len(value) > 2000:
            raise ValueError(f"the text is {len(value)} characters long: 2000 at most")
        return value


class OpeningSpec(Spec):
    """Who may open tickets: with `requires_support_contact`, only the organisation's named support contacts."""

    requires_support_contact: bool = False
    hint: str | None = None


class ClosedSpec(Spec):
    """What happens to a reply on a closed ticket: `accepted`, or `refused` with the policy's `hint`."""

    updates: Literal["accepted", "refused"] = "accepted"
    hint: str | None = None


class IntakeFieldSpec(Spec):
    id: Identifier
    label: str
    type: Literal["text", "long_text", "email", "datetime", "url", "choice", "attachment"] = "text"
    required: bool = False
    help: str | None = None
    choices: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _choices_for_choice(self) -> IntakeFieldSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("a `choice` field needs `choices`")
        return self


class CustomerReplySpec(Spec):
    """A customer reply moves the ticket from these statuses to `to` (`awaiting_customer` -> `open`)."""

    moves_from: tuple[Identifier, ...] = ()
    to: Identifier | None = None


class ReopenSpec(Spec):
    allowed_from: tuple[Identifier, ...] = ()
    to: Identifier | None = None
    otherwise: str | None = None


class AutoCloseSpec(Spec):
    """A ticket left in `from_statuses` for `after` (with no customer update) moves to `to` on its own.

    `requires: believed_resolved` waits for support's structured note on the ticket; `notice_before` tells
    the customer that long before the close.
    """

    from_statuses: tuple[Identifier, ...]
    after: PolicyDuration
    calendar: Identifier
    to: Identifier
    requires: Literal["believed_resolved"] | None = None
    notice_before: PolicyDuration | None = None
    condition: str | None = None


NotificationMoment = Literal["warning", "goal_missed", "breached", "comms_overdue"]
Recipient = Literal["assignee", "team", "managers", "customer"]


class NotificationRuleSpec(Spec):
    """Who is told when a clock reaches a moment: for the listed metrics and severities (none listed: all).

    `assignee` is the team while the ticket is unassigned; `managers` are the desk's admins. With `after`,
    they are told that long after the moment (counted on the metric's calendar), and only if the clock is
    still running then: "tell the managers if a breach is still open an hour later".
    """

    on: NotificationMoment
    notify: tuple[Recipient, ...] = Field(min_length=1)
    metrics: tuple[Identifier, ...] = ()
    severities: tuple[str, ...] = ()
    after: PolicyDuration | None = None

    def applies(self, moment: str, metric: str | None, severity: str) -> bool:
        """Whether the rule speaks of `moment` of `metric` for a ticket of `severity` (its code)."""
        return (
            self.on == moment
            and (not self.metrics or metric in self.metrics)
            and (not self.severities or severity in self.severities)
        )


DEFAULT_NOTIFICATIONS = (
    NotificationRuleSpec(on="warning", notify=("assignee",)),
    NotificationRuleSpec(on="breached", notify=("assignee", "managers")),
    NotificationRuleSpec(on="comms_overdue", notify=("assignee",)),
)


class AssumptionSpec(Spec):
    topic: str
    text: str


class PolicySpec(Spec):
    id: PolicyIdentifier
    name: str
    version: int = Field(default=1, ge=1, le=2**31 - 1)  # the store's versions are 32-bit integers
    description: str | None = None
    source: str | None = None
    timezone: str
    warning_fraction: float | None = Field(default=None, gt=0, lt=1)
    holidays: HolidaysSpec = HolidaysSpec()
    calendars: dict[Identifier, CalendarSpec]
    statuses: tuple[StatusSpec, ...]
    transitions: dict[Identifier, tuple[Identifier, ...]]
    customer_reply: CustomerReplySpec = CustomerReplySpec()
    reopen: ReopenSpec = ReopenSpec()
    auto_close: AutoCloseSpec | None = None
    notifications: tuple[NotificationRuleSpec, ...] = DEFAULT_NOTIFICATIONS
    metrics: dict[Identifier, MetricSpec]
    severities: tuple[SeveritySpec, ...] = Field(min_length=1)
    tiers: tuple[TierSpec, ...] = ()
    categories: tuple[NamedSpec, ...] = ()
    paths: tuple[NamedSpec, ...] = ()
    releases: ReleaseCalendarSpec | None = None
    severity_assignment: SeverityAssignmentSpec = SeverityAssignmentSpec()
    opening: OpeningSpec = OpeningSpec()
    paging: PagingSpec | None = None
    overload_notice: OverloadNoticeSpec | None = None
    closed: ClosedSpec = ClosedSpec()
    teams: tuple[NamedSpec, ...] = ()
    routing: tuple[RoutingRuleSpec, ...] = ()
    intake: tuple[IntakeFieldSpec, ...] = ()
    assumptions: tuple[AssumptionSpec, ...] = ()
    tests: Any = None  # scenario tests, read by sladesk.sla.scenarios

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        check_zone(value)
        return value


def check_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long to be a file
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like America/New_York)") from None
