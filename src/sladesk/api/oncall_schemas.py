"""Request and response bodies of /api/v1/oncall: schedules, overrides, escalation policies and feeds.

A schedule's `timezone` and `layers` are checked by `sladesk.oncall.Schedule` in the service, so a bad one
answers 422 naming the field's path (`layers.0.rotation`). An escalation policy's body is this module's
`EscalationPolicyCreate`, which turns into `sladesk.paging.EscalationPolicy` with `to_policy`; a target is
one of `{"user": id}`, `{"schedule": slug}`, `{"team": slug}` or `{"round_robin": [id, ...]}`, and
durations are written like `5m` or `1h 30m`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from sladesk.api.schemas import Body, Instant, RowId
from sladesk.clock.durations import parse_duration
from sladesk.errors import CalendarError
from sladesk.oncall import Shift
from sladesk.paging import Condition, EscalationPolicy, policy_from_spec
from sladesk.services.oncall_feeds import IssuedFeed
from sladesk.store.tables import EscalationPolicyRow, OncallOverride, OncallSchedule, User

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _elapsed(text: str) -> str:
    """A duration of real elapsed time, written back as the desk writes it (`90m` is `1h 30m`)."""
    try:
        duration = parse_duration(text)
    except CalendarError as error:
        raise ValueError(str(error)) from None
    if duration.business_days:
        raise ValueError(f"{text!r}: escalation waits real time, not business days")
    if duration.seconds < 1:
        raise ValueError(f"{text!r} must be longer than nothing")
    return str(duration)


Elapsed = Annotated[str, Field(max_length=64), AfterValidator(_elapsed)]


# Schedules


class ScheduleUpdate(Body):
    """A schedule's name, IANA time zone and layers (bottom layer first), as `sladesk.oncall.Schedule` reads them."""

    name: Name
    timezone: str = Field(max_length=64, description="An IANA time zone, e.g. America/New_York")
    layers: list[dict[str, Any]] = Field(
        max_length=20,
        description="Each: id, start (local), rotation (daily, weekly, 12h, 3 days...), people, "
        "optional handoff, restrictions and end",
    )


class ScheduleCreate(ScheduleUpdate):
    slug: Slug = Field(description="The schedule's id in URLs and escalation policies")


class ScheduleOut(BaseModel):
    slug: str
    name: str
    timezone: str
    layers: list[dict[str, Any]]
    version: int = Field(description="Goes up by one with every change of the layers or the overrides")
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, row: OncallSchedule) -> ScheduleOut:
        return cls(
            slug=row.slug,
            name=row.name,
            timezone=row.spec["timezone"],
            layers=row.spec["layers"],
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class PersonOut(BaseModel):
    id: int
    name: str
    email: str


def people(ids: frozenset[int], names: dict[int, User]) -> list[PersonOut]:
    """The people of a shift in id order, named (a deleted user keeps an empty name)."""
    found = []
    for user_id in sorted(ids):
        user = names.get(user_id)
        found.append(PersonOut(id=user_id, name=user.name if user else "", email=user.email if user else ""))
    return found


class ShiftOut(BaseModel):
    start: Instant
    end: Instant
    people: list[PersonOut] = Field(description="Who is on call throughout; empty in a gap")

    @classmethod
    def of(cls, shift: Shift, names: dict[int, User]) -> ShiftOut:
        return cls(start=shift.start, end=shift.end, people=people(shift.people, names))


class OnCallOut(BaseModel):
    schedule: str
    at: Instant
    on_call: list[PersonOut]


class NextOut(BaseModel):
    schedule: str
    after: Instant
    next: ShiftOut | None = Field(description="The next shift with someone else on call (gaps skipped), or null")


class FinalOut(BaseModel):
    schedule: str
    start: Instant
    end: Instant
    shifts: list[ShiftOut]


class GapOut(BaseModel):
    start: Instant
    end: Instant


class GapsOut(BaseModel):
    schedule: str
    start: Instant
    end: Instant
    gaps: list[GapOut]


# Overrides


class OverrideCreate(Body):
    """`add`: `user_id` is on call too; `remove`: `user_id` is not on call; `replace`: `user_id` is on call
    wherever `replaces_user_id` would be. From `start` to `end` (instants with an offset)."""

    kind: Literal["add", "remove", "replace"]
    user_id: RowId
    replaces_user_id: RowId | None = None
    start: AwareDatetime
    end: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


class OverrideOut(BaseModel):
    id: int
    kind: str
    user_id: int
    replaces_user_id: int | None
    start: Instant
    end: Instant
    reason: str | None
    created_by_id: int | None
    created_at: Instant

    @classmethod
    def of(cls, row: OncallOverride) -> OverrideOut:
        return cls(
            id=row.id,
            kind=row.kind,
            user_id=row.user_id,
            replaces_user_id=row.replaces_user_id,
            start=row.starts_at,
            end=row.ends_at,
            reason=row.reason,
            created_by_id=row.created_by_id,
            created_at=row.created_at,
        )


# Escalation policies


class TargetBody(Body):
    """Exactly one of `user`, `schedule`, `team` or `round_robin`."""

    user: RowId | None = None
    schedule: Slug | None = None
    team: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    round_robin: list[RowId] | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_kind(self) -> TargetBody:
        given = [name for name in ("user", "schedule", "team", "round_robin") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("a target is one of {user: id}, {schedule: slug}, {team: slug}, {round_robin: [ids]}")
        return self


class StepBody(Body):
    targets: list[TargetBody] = Field(min_length=1, max_length=50)
    escalate_after: Elapsed = Field(description="How long after this step the next one comes, e.g. 5m")
    condition: Condition = Condition.NOT_ACKNOWLEDGED


class EscalationPolicyUpdate(Body):
    name: Name
    steps: list[StepBody] = Field(min_length=1, max_length=50)
    repeat: int = Field(default=0, ge=0, le=20, description="How many more times the steps run after the first")
    ack_timeout: Elapsed | None = Field(default=None, description="An acknowledgement lapses after this long")

    def to_policy(self) -> EscalationPolicy:
        """The policy as `sladesk.paging` runs it (from what is stored, as the worker reads it)."""
        return policy_from_spec(self.spec())

    def spec(self) -> dict[str, Any]:
        """What is stored: the steps, repeat and ack_timeout, each target with only its own key."""
        spec: dict[str, Any] = self.model_dump(mode="json", include={"steps", "repeat", "ack_timeout"})
        for step in spec["steps"]:
            step["targets"] = [{k: v for k, v in target.items() if v is not None} for target in step["targets"]]
        return spec


class EscalationPolicyCreate(EscalationPolicyUpdate):
    slug: Slug


class EscalationPolicyOut(BaseModel):
    slug: str
    name: str
    steps: list[dict[str, Any]]
    repeat: int
    ack_timeout: str | None
    version: int
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, row: EscalationPolicyRow) -> EscalationPolicyOut:
        return cls(
            slug=row.slug,
            name=row.name,
            steps=row.spec["steps"],
            repeat=row.spec.get("repeat", 0),
            ack_timeout=row.spec.get("ack_timeout"),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


# Calendar feeds


class FeedCreate(Body):
    """Either `schedule` (its shifts) or `user_id` (that person's shifts on every schedule)."""

    schedule: Slug | None = None
    user_id: RowId | None = None


class FeedOut(BaseModel):
    url: str = Field(description="The feed's address, holding its secret: shown this once")
    schedule: str | None
    user_id: int | None

    @classmethod
    def of(cls, feed: IssuedFeed, base_url: str) -> FeedOut:
        return cls(url=base_url.rstrip("/") + feed.path, schedule=feed.schedule, user_id=feed.user_id)
