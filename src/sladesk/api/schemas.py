"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from sladesk.services.views import ClockView, TicketView
from sladesk.services.worklog import MAX_MINUTES, TimeLogLine


def _in_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


# Every instant the API answers with is in UTC ("...Z"), however it was computed or stored.
Instant = Annotated[datetime, AfterValidator(_in_utc)]

MAX_ID = 2**31 - 1  # the largest id any table holds (PostgreSQL integer); larger ones cannot exist
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


MAX_NESTING = 32  # how deep objects and arrays in a body may nest; deeper is refused before anything recurses


class Body(BaseModel):
    """A request body: unknown fields are refused, and every text is storable Unicode.

    No text may hold a NUL (PostgreSQL cannot store one) or a lone surrogate (no UTF-8 encodes one), and no
    value may nest objects or arrays deeper than `MAX_NESTING` levels.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = _text_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def _text_problem(value: Any) -> str | None:
    """What makes a value unstorable (in its texts, keys included, or its nesting), or None; never recursive."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "text must not contain NUL characters (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text must be valid Unicode: it holds a lone surrogate (\\ud800-\\udfff)"
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_NESTING:
                return f"objects and arrays must not nest deeper than {MAX_NESTING} levels"
            children = [part for pair in item.items() for part in pair] if isinstance(item, dict) else list(item)
            pending.extend((child, depth + 1) for child in children)
    return None


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a rank (1 is most severe) or the policy's code, e.g. Sev1, not true or false")
    return value


# A rank or a code; JSON true and false are neither (pydantic would read true as rank 1).
Severity = Annotated[Annotated[int, Field(ge=1, le=MAX_ID)] | str, BeforeValidator(_not_a_boolean)]
Category = Annotated[str, Field(max_length=64)]


class TicketCreate(Body):
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=100_000)
    severity: Severity = Field(description="A rank (1 is most severe) or the policy's code, e.g. Sev1")
    category: Category | None = None
    intake: dict[str, Any] = Field(default_factory=dict)
    organisation_id: RowId | None = Field(default=None, description="Staff only: the organisation opened for")
    requester_id: RowId | None = Field(default=None, description="Staff only: the customer opened for")
    follow_up_of: RowId | None = None


class TicketChange(Body):
    """Exactly one change per request, so that each is one event in the ticket's history."""

    status: str | None = None
    severity: Severity | None = None
    severity_reason: str | None = Field(default=None, max_length=2000, description="Why the severity changes")
    tier: str | None = Field(default=None, description="The ticket's own tier (with `reason`); null clears it")
    category: Category | None = Field(default=None, description="The ticket's category (with `reason`); null clears it")
    reason: str | None = Field(
        default=None, max_length=2000, description="Why the tier, category or resolution path changes"
    )
    path: str | None = Field(
        default=None,
        max_length=64,
        description="The resolution path (one of the policy's `paths`, e.g. release or hotfix; with `reason`);"
        " null clears it",
    )
    assignee_id: RowId | None = None
    outside_incident: str | None = Field(
        default=None, max_length=2000, description="The reason; empty string clears it"
    )
    believed_resolved: bool | None = Field(
        default=None,
        description="Support believes the issue is resolved (true) or takes that back (false); `reason` optional."
        " A policy's auto-close may wait for it",
    )


class TriageRequest(Body):
    """Support confirms the severity of a ticket awaiting triage."""

    severity: Severity = Field(description="A rank (1 is most severe) or the policy's code, e.g. P2")
    reason: str | None = Field(default=None, max_length=2000, description="Why this severity (optional)")


class PinRequest(Body):
    """A staff pin: the ticket goes above its computed place in the queue until `until`."""

    until: datetime = Field(description="When the pin stops counting: in the future, at most 30 days ahead")
    reason: str = Field(min_length=1, max_length=2000, description="Why the ticket deviates from the order")


Work = Literal["customer", "internal"]


class TimeLogCreate(Body):
    """Time an agent spent: customer work on a ticket, or internal work on none."""

    minutes: int = Field(ge=1, le=MAX_MINUTES)
    work: Work
    ticket_id: RowId | None = Field(default=None, description="The ticket worked on; customer work only")
    note: str | None = Field(default=None, max_length=2000)
    worked_on: date | None = Field(default=None, description="The day worked (default: today in UTC)")


class TimeLogOut(BaseModel):
    id: int
    user_id: int
    user_name: str
    ticket_id: int | None
    work: str
    minutes: int
    note: str | None
    worked_on: date
    logged_at: Instant

    @classmethod
    def of(cls, line: TimeLogLine) -> TimeLogOut:
        return cls.model_validate(line, from_attributes=True)


class TimeLogPage(BaseModel):
    items: list[TimeLogOut]
    next_cursor: str | None


class CommsUpdate(Body):
    """An internal or external communication posted for the ticket (a severity that requires comms)."""

    channel: Literal["internal", "external"]
    note: str = Field(min_length=1, max_length=2000, description="What was posted, and where")


class MergeRequest(Body):
    into: RowId = Field(description="The ticket this duplicate is merged into (same organisation)")


class CommentCreate(Body):
    body: str = Field(min_length=1, max_length=100_000)
    public: bool = True


class ClockOut(BaseModel):
    """A metric's clock as it reads at the moment of the request (state is computed, never stored)."""

    state: str
    due: Instant | None
    goal: Instant | None
    goal_met: bool | None = Field(description="true or false once the goal is met or missed; null before or without")
    started_at: Instant | None
    stopped_at: Instant | None
    warning_at: Instant | None
    warning_reached: bool
    counted_seconds: int
    remaining_seconds: int | None
    percent_used: float | None
    excused: str | None
    calendar: str
    cycle: int
    earlier_breach_at: Instant | None = Field(
        description="a due instant that passed under an earlier severity: a breach that stays history"
    )
    earlier_breach_severity: str | None = Field(description="the severity in force when that breach happened")

    @classmethod
    def of(cls, clock: ClockView) -> ClockOut:
        instants, reading = clock.instants, clock.reading
        return cls(
            state=reading.state.value,
            due=instants.due,
            goal=instants.goal,
            goal_met=reading.goal_met,
            started_at=instants.started_at,
            stopped_at=instants.stopped_at,
            warning_at=instants.warning_at,
            warning_reached=reading.warning_reached,
            counted_seconds=reading.counted_seconds,
            remaining_seconds=reading.remaining_seconds,
            percent_used=reading.percent_used,
            excused=reading.excused,
            calendar=instants.calendar_id,
            cycle=instants.cycle,
            earlier_breach_at=instants.earlier_breach_at,
            earlier_breach_severity=instants.earlier_breach_severity,
        )


class TicketOut(BaseModel):
    id: int
    subject: str
    description: str
    status: str
    severity: int
    requested_severity: int | None
    category: str | None
    tier: str | None
    organisation_id: int
    requester_id: int
    assignee_id: int | None
    policy_id: str
    policy_version: int
    intake: dict[str, Any]
    outside_incident: str | None
    follow_up_of: int | None
    version: int
    opened_at: Instant
    updated_at: Instant
    next_due_at: Instant | None
    sla: dict[str, ClockOut]
    awaiting_triage: bool = Field(description="support has not confirmed the severity yet (POST .../triage)")
    path: str | None = Field(description="the resolution path staff marked, e.g. release or hotfix")
    team: str | None = Field(description="the slug of the team whose queue holds the ticket (staff only)")
    pinned_until: Instant | None = Field(description="a staff pin in force now: until when (staff only)")
    pin_reason: str | None = Field(description="why the ticket is pinned (staff only)")

    @classmethod
    def of(cls, view: TicketView) -> TicketOut:
        """The ticket as its reader sees it: customers get the version and change time of what they see."""
        return cls(
            id=view.id,
            subject=view.subject,
            description=view.description,
            status=view.status,
            severity=view.severity,
            requested_severity=view.requested_severity,
            category=view.category,
            tier=view.tier,
            organisation_id=view.organisation_id,
            requester_id=view.requester_id,
            assignee_id=view.assignee_id,
            policy_id=view.policy_id,
            policy_version=view.policy_version,
            intake=view.intake,
            outside_incident=view.outside_incident,
            follow_up_of=view.follow_up_of,
            version=view.version,
            opened_at=view.opened_at,
            updated_at=view.updated_at,
            next_due_at=view.next_due_at,
            sla={clock.metric: ClockOut.of(clock) for clock in view.clocks},
            awaiting_triage=view.awaiting_triage,
            path=view.path,
            team=view.team,
            pinned_until=view.pinned_until,
            pin_reason=view.pin_reason,
        )


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class CommentOut(BaseModel):
    id: int
    author_id: int
    public: bool
    body: str
    created_at: Instant


class EventOut(BaseModel):
    sequence: int
    at: Instant
    type: str
    actor_id: int | None
    data: dict[str, Any]
    summary: str = Field(description="The event in words")
    actor_name: str | None = Field(default=None, description="Who did it, by name; null when the desk did")
    display: str = Field(default="", description="The summary with the people it names by name")


class QueueItemOut(BaseModel):
    position: int
    ticket_id: int
    subject: str
    severity: int
    severity_code: str
    tier: str | None
    next_due_at: Instant | None
    sla_state: str = Field(
        description="the most urgent state among the ticket's clocks now: breached, running, paused, not_started, "
        "met, cancelled, or none when no clock has a target"
    )
    reason: str
    team: str | None = Field(default=None, description="the slug of the team whose queue holds the ticket")
    awaiting_triage: bool = Field(default=False, description="support has not confirmed the severity yet")
    pinned_until: Instant | None = Field(default=None, description="a staff pin in force now: until when")
    pin_reason: str | None = Field(default=None, description="why the ticket is pinned")
    pinned_by: str | None = Field(default=None, description="who pinned it, by name")


class PolicyVersionOut(BaseModel):
    policy_id: str
    version: int
    sha256: str = Field(description="SHA-256 of the version's YAML text")
    builtin: bool = Field(description="shipped with sladesk rather than uploaded")
    uploaded_by_id: int | None
    created_at: Instant | None = Field(description="when it was stored; null for a shipped version not used yet")


class PolicySummary(BaseModel):
    id: str
    name: str
    version: int
    timezone: str
    severities: list[dict[str, Any]]
    metrics: list[str]
    rules: list[str] = Field(default_factory=list, description="the policy's rules beyond its targets, in words")
