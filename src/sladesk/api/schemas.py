"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from sladesk.store.tables import SlaClock, Ticket


def _in_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


# Every instant the API answers with is in UTC ("...Z"), however it was computed or stored.
Instant = Annotated[datetime, AfterValidator(_in_utc)]

MAX_ID = 2**31 - 1  # the largest id any table holds (PostgreSQL integer); larger ones cannot exist
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Body(BaseModel):
    """A request body: unknown fields are refused, and no text may hold a NUL (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("text must not contain NUL characters (\\u0000)")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


class TicketCreate(Body):
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=100_000)
    severity: Annotated[int, Field(ge=1, le=MAX_ID)] | str = Field(
        description="A rank (1 is most severe) or the policy's code, e.g. Sev1"
    )
    category: str | None = None
    intake: dict[str, Any] = Field(default_factory=dict)
    organisation_id: RowId | None = Field(default=None, description="Staff only: the organisation opened for")
    requester_id: RowId | None = Field(default=None, description="Staff only: the customer opened for")
    follow_up_of: RowId | None = None


class TicketChange(Body):
    """Exactly one change per request, so that each is one event in the ticket's history."""

    status: str | None = None
    severity: int | str | None = None
    severity_reason: str | None = Field(default=None, max_length=2000)
    assignee_id: RowId | None = None
    outside_incident: str | None = Field(
        default=None, max_length=2000, description="The reason; empty string clears it"
    )


class MergeRequest(Body):
    into: RowId = Field(description="The ticket this duplicate is merged into (same organisation)")


class CommentCreate(Body):
    body: str = Field(min_length=1, max_length=100_000)
    public: bool = True


class ClockOut(BaseModel):
    state: str
    due: Instant | None
    goal: Instant | None
    started_at: Instant | None
    stopped_at: Instant | None
    warning_at: Instant | None
    counted_seconds: int
    remaining_seconds: int | None
    percent_used: float | None
    excused: str | None
    calendar: str
    cycle: int

    @classmethod
    def of(cls, row: SlaClock) -> ClockOut:
        return cls(
            state=row.state,
            due=row.due_at,
            goal=row.goal_at,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            warning_at=row.warning_at,
            counted_seconds=row.counted_seconds,
            remaining_seconds=row.remaining_seconds,
            percent_used=row.percent_used,
            excused=row.excused,
            calendar=row.calendar,
            cycle=row.cycle,
        )


class TicketOut(BaseModel):
    id: int
    subject: str
    description: str
    status: str
    severity: int
    requested_severity: int | None
    category: str | None
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

    @classmethod
    def of(cls, ticket: Ticket, clocks: list[SlaClock], *, staff: bool) -> TicketOut:
        """The ticket as the caller sees it: customers get the version and change time of what they see."""
        return cls(
            id=ticket.id,
            subject=ticket.subject,
            description=ticket.description,
            status=ticket.status,
            severity=ticket.severity_rank,
            requested_severity=ticket.requested_severity_rank,
            category=ticket.category,
            organisation_id=ticket.organisation_id,
            requester_id=ticket.requester_id,
            assignee_id=ticket.assignee_id,
            policy_id=ticket.policy_id,
            policy_version=ticket.policy_version,
            intake=ticket.intake,
            outside_incident=ticket.outside_incident_reason if ticket.outside_incident else None,
            follow_up_of=ticket.follow_up_of_id,
            version=ticket.version if staff else ticket.public_version,
            opened_at=ticket.opened_at,
            updated_at=ticket.updated_at if staff else ticket.public_updated_at,
            next_due_at=ticket.next_due_at,
            sla={row.metric: ClockOut.of(row) for row in clocks},
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


class QueueItemOut(BaseModel):
    position: int
    ticket_id: int
    subject: str
    severity: int
    tier: str | None
    next_due_at: Instant | None
    reason: str


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
