"""On-call schedules on a desk: storing them and their overrides, and asking who is on call.

A schedule is stored as the validated `sladesk.oncall.Schedule` (its `id` is the schedule's slug) with
a version that goes up by one whenever who is on call may change: an edit of its layers, an override
added or removed. Admins create, change and delete schedules; agents and admins add and remove
overrides and read everything; customers see none of it.

The questions (who is on call at an instant, who is next, the final schedule over a window, the gaps
of the next 30 days) are answered by `sladesk.oncall` over the stored layers and overrides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sladesk.oncall import (
    AddOverride,
    RemoveOverride,
    ReplaceOverride,
    Schedule,
    Shift,
    final_schedule,
    gaps,
    on_call_at,
    who_is_next,
)
from sladesk.services.actors import Actor, Role, require_admin, require_staff
from sladesk.services.errors import ConflictError, InvalidFieldError, NotFoundError
from sladesk.store.tables import CalendarFeedToken, EscalationPolicyRow, OncallOverride, OncallSchedule, User

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 2000
MAX_WINDOW = timedelta(days=62)  # the longest final schedule one request may ask for
DEFAULT_WINDOW = timedelta(days=14)  # the final schedule's window when no end is given
GAP_DAYS = 30  # how far ahead `schedule_gaps` looks
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # instants a desk's schedules are asked about lie in [EARLIEST, LATEST)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
OVERRIDE_KINDS = ("add", "remove", "replace")

PureOverride = AddOverride | RemoveOverride | ReplaceOverride


@dataclass(frozen=True)
class OverrideInput:
    """An override as asked for: `user_id` on call (add, replace) or taken off (remove) from `start` to `end`;
    for `replace`, `replaces_user_id` is who `user_id` stands in for."""

    kind: str
    user_id: int
    start: datetime
    end: datetime
    replaces_user_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule row with its layers validated and its overrides, ready for the questions."""

    row: OncallSchedule
    schedule: Schedule
    overrides: tuple[OncallOverride, ...]

    @property
    def pure_overrides(self) -> list[PureOverride]:
        """The overrides in the order they were added, which is the order they apply in."""
        return [pure_override(row) for row in self.overrides]


def check_slug(slug: str, field: str = "slug") -> str:
    """The slug if it can name a schedule (1 to 64 lower-case letters, digits, - and _)."""
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InvalidFieldError(field, f"{slug!r} is not an id: use 1 to 64 lower-case letters, digits, - and _")
    return slug


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidFieldError("name", "give it a name")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise InvalidFieldError("name", f"at most {MAX_NAME_LENGTH} characters")
    return name.strip()


def field_path(location: Iterable[Any]) -> str:
    """A pydantic error location as the caller wrote the field: `layers.0.rotation`."""
    return ".".join(str(part) for part in location)


def validate_schedule(slug: str, timezone: Any, layers: Any) -> Schedule:
    """The pure schedule of a request's `timezone` and `layers`; a 422 naming the first bad field's path."""
    try:
        schedule = Schedule.model_validate({"id": slug, "timezone": timezone, "layers": layers})
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        elif first["type"] == "missing":
            message = "required"
        raise InvalidFieldError(field_path(first["loc"]) or "layers", message) from None
    for index, layer in enumerate(schedule.layers):
        for name, value in (("start", layer.start), ("end", layer.end)):
            if value is not None and not EARLIEST.year <= value.year < LATEST.year:
                raise InvalidFieldError(
                    f"layers.{index}.{name}", f"must be in the years {EARLIEST.year} to {LATEST.year - 1}"
                )
    return schedule


def _check_people(session: Session, schedule: Schedule) -> None:
    """Every person of every layer is an active agent or admin of the desk."""
    for layer_index, layer in enumerate(schedule.layers):
        for person_index, user_id in enumerate(layer.people):
            _staff_user(session, user_id, f"layers.{layer_index}.people.{person_index}")


def _staff_user(session: Session, user_id: int, field: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active or user.role == Role.CUSTOMER.value:
        raise InvalidFieldError(field, f"no active agent or admin {user_id}: people on call are agents and admins")
    return user


def create_schedule(
    session: Session, actor: Actor, slug: str, name: str, timezone: Any, layers: Any, *, now: datetime
) -> OncallSchedule:
    """A new schedule at version 1 (admins); 409 when the slug is taken."""
    require_admin(actor, "manage on-call schedules")
    slug, name = check_slug(slug), check_name(name)
    schedule = validate_schedule(slug, timezone, layers)
    _check_people(session, schedule)
    if session.scalar(select(OncallSchedule.id).where(OncallSchedule.slug == slug)) is not None:
        raise ConflictError(f"a schedule {slug!r} exists already")
    row = OncallSchedule(
        slug=slug, name=name, spec=schedule.model_dump(mode="json"), version=1, created_at=now, updated_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same slug, stored by a concurrent request since the check above
        raise ConflictError(f"a schedule {slug!r} exists already") from None
    return row


def update_schedule(
    session: Session, actor: Actor, slug: str, name: str, timezone: Any, layers: Any, *, now: datetime
) -> OncallSchedule:
    """Replace a schedule's name, zone and layers (admins); its version goes up by one."""
    require_admin(actor, "manage on-call schedules")
    name = check_name(name)
    row = schedule_row(session, slug, for_update=True)
    schedule = validate_schedule(slug, timezone, layers)
    _check_people(session, schedule)
    row.name = name
    row.spec = schedule.model_dump(mode="json")
    _bump(row, now)
    return row


def delete_schedule(session: Session, actor: Actor, slug: str) -> None:
    """Delete a schedule with its overrides and feeds (admins); 409 while an escalation policy targets it."""
    require_admin(actor, "manage on-call schedules")
    row = schedule_row(session, slug, for_update=True)
    users = [
        policy.slug
        for policy in session.scalars(select(EscalationPolicyRow).order_by(EscalationPolicyRow.slug))
        if slug in schedules_targeted(policy.spec)
    ]
    if users:
        raise ConflictError(f"escalation policies {', '.join(users)} page schedule {slug!r}: change them first")
    session.execute(delete(OncallOverride).where(OncallOverride.schedule_id == row.id))
    session.execute(delete(CalendarFeedToken).where(CalendarFeedToken.schedule_id == row.id))
    session.delete(row)


def schedules_targeted(spec: dict[str, Any]) -> set[str]:
    """The schedule slugs an escalation policy's stored body pages."""
    found: set[str] = set()
    for step in spec.get("steps", []):
        for target in step.get("targets", []):
            if target.get("schedule") is not None:
                found.add(str(target["schedule"]))
    return found


def schedule_row(session: Session, slug: str, *, for_update: bool = False) -> OncallSchedule:
    query = select(OncallSchedule).where(OncallSchedule.slug == slug)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFoundError(f"no on-call schedule {slug!r}")
    return row


def get_schedule(session: Session, actor: Actor, slug: str) -> StoredSchedule:
    """A schedule with its overrides (staff)."""
    require_staff(actor, "see on-call schedules")
    return load_schedule(session, slug)


def load_schedule(session: Session, slug: str) -> StoredSchedule:
    """A schedule with its overrides, for whoever was already let in (the CLI, a feed)."""
    return stored(session, schedule_row(session, slug))


def stored(session: Session, row: OncallSchedule) -> StoredSchedule:
    overrides = tuple(
        session.scalars(select(OncallOverride).where(OncallOverride.schedule_id == row.id).order_by(OncallOverride.id))
    )
    return StoredSchedule(row, Schedule.model_validate(row.spec), overrides)


def list_schedules(session: Session, actor: Actor) -> list[OncallSchedule]:
    """Every schedule by slug (staff)."""
    require_staff(actor, "see on-call schedules")
    return list(session.scalars(select(OncallSchedule).order_by(OncallSchedule.slug)))


def pure_override(row: OncallOverride) -> PureOverride:
    """A stored override as `sladesk.oncall` reads it."""
    if row.kind == "add":
        return AddOverride(user=row.user_id, start=row.starts_at, end=row.ends_at)
    if row.kind == "remove":
        return RemoveOverride(user=row.user_id, start=row.starts_at, end=row.ends_at)
    assert row.replaces_user_id is not None
    return ReplaceOverride(user=row.replaces_user_id, by=row.user_id, start=row.starts_at, end=row.ends_at)


def add_override(session: Session, actor: Actor, slug: str, wanted: OverrideInput, *, now: datetime) -> OncallOverride:
    """Store an override of the schedule (staff); the schedule's version goes up by one."""
    require_staff(actor, "see on-call schedules")
    if wanted.kind not in OVERRIDE_KINDS:
        raise InvalidFieldError("kind", f"{wanted.kind!r} is not one of add, remove, replace")
    if wanted.kind == "replace" and wanted.replaces_user_id is None:
        raise InvalidFieldError("replaces_user_id", "required for a replace: who the user stands in for")
    if wanted.kind != "replace" and wanted.replaces_user_id is not None:
        raise InvalidFieldError("replaces_user_id", f"only a replace names it, not an {wanted.kind}")
    _aware(wanted.start, "start")
    _aware(wanted.end, "end")
    if wanted.end <= wanted.start:
        raise InvalidFieldError("end", "must be after `start`")
    if wanted.reason is not None and len(wanted.reason) > MAX_REASON_LENGTH:
        raise InvalidFieldError("reason", f"at most {MAX_REASON_LENGTH} characters")
    if wanted.kind == "remove":
        if session.get(User, wanted.user_id) is None:
            raise InvalidFieldError("user_id", f"no user {wanted.user_id}")
    else:
        _staff_user(session, wanted.user_id, "user_id")
    if wanted.replaces_user_id is not None:
        if wanted.replaces_user_id == wanted.user_id:
            raise InvalidFieldError("replaces_user_id", "must be someone other than `user_id`")
        if session.get(User, wanted.replaces_user_id) is None:
            raise InvalidFieldError("replaces_user_id", f"no user {wanted.replaces_user_id}")
    row = schedule_row(session, slug, for_update=True)
    override = OncallOverride(
        schedule_id=row.id,
        kind=wanted.kind,
        user_id=wanted.user_id,
        replaces_user_id=wanted.replaces_user_id,
        starts_at=wanted.start,
        ends_at=wanted.end,
        reason=wanted.reason.strip() if wanted.reason and wanted.reason.strip() else None,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(override)
    _bump(row, now)
    session.flush()
    return override


def remove_override(session: Session, actor: Actor, slug: str, override_id: int, *, now: datetime) -> None:
    """Delete an override of the schedule (staff); 404 when the schedule has no such override."""
    require_staff(actor, "see on-call schedules")
    row = schedule_row(session, slug, for_update=True)
    override = session.get(OncallOverride, override_id)
    if override is None or override.schedule_id != row.id:
        raise NotFoundError(f"schedule {slug!r} has no override {override_id}")
    session.delete(override)
    _bump(row, now)


def _bump(row: OncallSchedule, now: datetime) -> None:
    row.version += 1
    row.updated_at = now


def who_is_on_call(stored_schedule: StoredSchedule, at: datetime) -> frozenset[int]:
    """The user ids on call at `at`."""
    return on_call_at(stored_schedule.schedule, stored_schedule.pure_overrides, _aware(at, "at"))


def next_on_call(stored_schedule: StoredSchedule, after: datetime) -> Shift | None:
    """The next shift after `after` with someone on call other than those on call then (gaps skipped)."""
    return who_is_next(stored_schedule.schedule, stored_schedule.pure_overrides, _aware(after, "after"))


def resolved_shifts(
    stored_schedule: StoredSchedule, start: datetime, end: datetime | None
) -> tuple[datetime, datetime, list[Shift]]:
    """The final schedule over [start, end) (end by default `DEFAULT_WINDOW` after start), at most `MAX_WINDOW`
    long; gaps are shifts with no one. Returns the window with its shifts."""
    start = _aware(start, "from")
    end = _aware(end, "to") if end is not None else start + DEFAULT_WINDOW
    if end <= start:
        raise InvalidFieldError("to", "must be after `from`")
    if end - start > MAX_WINDOW:
        raise InvalidFieldError("to", f"the window is at most {MAX_WINDOW.days} days long")
    return start, end, final_schedule(stored_schedule.schedule, stored_schedule.pure_overrides, start, end)


def schedule_gaps(stored_schedule: StoredSchedule, now: datetime) -> list[Shift]:
    """The stretches of the next `GAP_DAYS` days with no one on call."""
    return gaps(stored_schedule.schedule, stored_schedule.pure_overrides, now, GAP_DAYS)


def user_names(session: Session, ids: Iterable[int]) -> dict[int, User]:
    """The users with these ids, by id (for answers that name people)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(wanted)))}


def people_of(shifts: Sequence[Shift]) -> set[int]:
    return {person for shift in shifts for person in shift.people}


def _aware(instant: datetime, field: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidFieldError(field, f"{instant.isoformat()} has no UTC offset: give one, e.g. Z or -05:00")
    if not EARLIEST <= instant < LATEST:
        raise InvalidFieldError(field, f"must be in the years {EARLIEST.year} to {LATEST.year - 1}")
    return instant
