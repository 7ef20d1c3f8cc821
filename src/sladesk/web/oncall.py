"""The on-call pages: schedules, their timeline and overrides, and escalation policies in the admin area;
who is on call now in the agent console.

The timeline is drawn as an inline SVG (its blocks placed by attributes, which the pages' Content-Security-
Policy allows where a `style` attribute is refused) and written out again as tables with exact times, which
are what a screen reader or a reader without pictures uses. Every instant is shown in the schedule's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from sladesk.clock.wall import wall_to_epoch
from sladesk.errors import SladeskError
from sladesk.oncall import Schedule, Shift, final_schedule, layer_shifts, next_change
from sladesk.paging import policy_from_spec
from sladesk.paging.escalation import Condition, StepTarget
from sladesk.services import ConflictError, InvalidFieldError, Role, accounts
from sladesk.services import escalation_policies as escalation_services
from sladesk.services import oncall as oncall_services
from sladesk.services.actors import Actor
from sladesk.services.oncall import OVERRIDE_KINDS, OverrideInput, StoredSchedule
from sladesk.services.signin import Visitor
from sladesk.store import reading, transaction
from sladesk.store.tables import EscalationPolicyRow, OncallOverride
from sladesk.web.format import duration_words, local_time
from sladesk.web.pages import Admin, CheckedForm, Staff, field, now_of, page_router, redirect, render, sessions_of
from sladesk.web.pages import zone_of as visitor_zone

router = page_router()

TIMELINE_DAYS = 14
MAX_ID = accounts.MAX_ID
Slug = Annotated[str, Path(min_length=1, max_length=64)]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID)]

# The timeline's drawing, in SVG user units: a label column, then 100 units a day.
LABEL_WIDTH = 130
DAY_WIDTH = 100
AXIS_HEIGHT = 30
ROW_HEIGHT = 40
BLOCK_HEIGHT = 30
CHARACTER_WIDTH = 8  # about how wide a character of a block's label is drawn
KIND_WORDS = {"add": "Add", "remove": "Remove", "replace": "Replace"}


# What the pages show


@dataclass(frozen=True)
class Block:
    """One stretch of a timeline row: who is on call from `start` to `end` (no one: a gap)."""

    start: datetime
    end: datetime
    label: str
    kind: str  # "shift", "override" (an override made it so), or "gap"
    x: float = 0.0
    width: float = 0.0

    @property
    def shown_label(self) -> str:
        """The label drawn inside the block, when it fits."""
        text = self.label if self.kind != "override" else f"✎ {self.label}"
        return text if len(text) * CHARACTER_WIDTH + 8 <= self.width else ""


@dataclass(frozen=True)
class Row:
    key: str  # an id for the row's table
    title: str
    blocks: list[Block]
    y: int = 0


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    rows: list[Row]
    ticks: list[Tick]
    now_x: float | None
    width: int
    height: int


@dataclass(frozen=True)
class ScheduleLine:
    """A schedule as the lists show it: who is on call now, until when, who is next, and its gaps."""

    slug: str
    name: str
    timezone: str
    on_call: str  # names, or "No one"
    until: datetime | None  # when those on call now change (None: not within 90 days)
    next_change: str  # in words: who comes next at `until`, or "no one (a gap)"
    next_people: str  # the next people with someone on call (gaps skipped)
    next_at: datetime | None
    gaps: list[Shift]
    zone: ZoneInfo


@dataclass(frozen=True)
class OverrideLine:
    id: int
    kind: str
    words: str
    start: datetime
    end: datetime
    reason: str | None


@dataclass(frozen=True)
class PolicyLine:
    slug: str
    name: str
    version: int
    steps: list[str]
    after: list[str]


# Names and words


def _names(names: dict[int, str], people: Iterable[int]) -> str:
    found = sorted(names.get(person, f"user {person}") for person in people)
    return ", ".join(found) if found else "No one"


def _user_names(session: Session, people: Iterable[int]) -> dict[int, str]:
    return {user_id: user.name for user_id, user in oncall_services.user_names(session, people).items()}


def _override_words(row: OncallOverride, names: dict[int, str]) -> str:
    person = names.get(row.user_id, f"user {row.user_id}")
    if row.kind == "add":
        return f"{person} is on call as well"
    if row.kind == "remove":
        return f"{person} is taken off call"
    replaced = names.get(row.replaces_user_id or 0, f"user {row.replaces_user_id}")
    return f"{person} stands in for {replaced}"


def _override_people(rows: Iterable[OncallOverride]) -> set[int]:
    return {person for row in rows for person in (row.user_id, row.replaces_user_id) if person is not None}


# Schedules


def _schedule_line(session: Session, stored: StoredSchedule, now: datetime, zone: ZoneInfo) -> ScheduleLine:
    current = oncall_services.who_is_on_call(stored, now)
    change = next_change(stored.schedule, stored.pure_overrides, now)
    upcoming = oncall_services.next_on_call(stored, now)
    found_gaps = oncall_services.schedule_gaps(stored, now)
    people = set(current) | (change.people if change else set()) | (upcoming.people if upcoming else set())
    names = _user_names(session, people)
    return ScheduleLine(
        slug=stored.row.slug,
        name=stored.row.name,
        timezone=stored.schedule.timezone,
        on_call=_names(names, current),
        until=change.start if change else None,
        next_change=(_names(names, change.people) if change.people else "No one (a gap)") if change else "",
        next_people=_names(names, upcoming.people) if upcoming else "",
        next_at=upcoming.start if upcoming else None,
        gaps=found_gaps,
        zone=zone,
    )


def _schedule_lines(session: Session, actor: Actor, now: datetime, visitor: Visitor | None) -> list[ScheduleLine]:
    """Every schedule, its instants in the visitor's own zone if they have one, else in the schedule's."""
    lines = []
    for row in oncall_services.list_schedules(session, actor):
        stored = oncall_services.get_schedule(session, actor, row.slug)
        lines.append(_schedule_line(session, stored, now, visitor_zone(visitor, stored.schedule.timezone)))
    return lines


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of the local `day` (where midnight is skipped, the change that skips it)."""
    return datetime.fromtimestamp(wall_to_epoch(zone, day, 0), UTC)


def _timeline(stored: StoredSchedule, names: dict[int, str], now: datetime) -> Timeline:
    """The next `TIMELINE_DAYS` days from today's midnight in the schedule's zone: each layer's own shifts,
    the overrides, and the final schedule with what the overrides changed and the gaps marked."""
    schedule, overrides, zone = stored.schedule, stored.pure_overrides, stored.schedule.zone
    today = now.astimezone(zone).date()
    start, end = _midnight(today, zone), _midnight(today + timedelta(days=TIMELINE_DAYS), zone)
    total = (end - start).total_seconds()

    def x_of(instant: datetime) -> float:
        return round(LABEL_WIDTH + (instant - start).total_seconds() / total * TIMELINE_DAYS * DAY_WIDTH, 2)

    def placed(blocks: Iterable[Block]) -> list[Block]:
        return [
            Block(b.start, b.end, b.label, b.kind, x_of(b.start), round(x_of(b.end) - x_of(b.start), 2)) for b in blocks
        ]

    rows: list[Row] = []
    shifts_of_layers = layer_shifts(schedule, start, end)
    for index, layer in enumerate(schedule.layers, start=1):
        blocks = [
            Block(max(s.start, start), min(s.end, end), names.get(s.user, f"user {s.user}"), "shift")
            for s in shifts_of_layers
            if s.layer_id == layer.id
        ]
        rows.append(Row(f"layer-{layer.id}", f"Layer {index} ({layer.id})", placed(blocks)))
    override_blocks = [
        Block(max(row.starts_at, start), min(row.ends_at, end), _short_override(row, names), "override")
        for row in stored.overrides
        if row.ends_at > start and row.starts_at < end
    ]
    rows.append(Row("overrides", "Overrides", placed(sorted(override_blocks, key=lambda b: b.start))))
    rows.append(Row("final", "Final schedule", placed(_final_blocks(schedule, overrides, start, end, names))))
    rows = [Row(row.key, row.title, row.blocks, AXIS_HEIGHT + i * ROW_HEIGHT) for i, row in enumerate(rows)]
    days = [today + timedelta(days=offset) for offset in range(TIMELINE_DAYS)]
    ticks = [Tick(x_of(_midnight(day, zone)), f"{day:%a} {day.day}") for day in days]
    return Timeline(
        start=start,
        end=end,
        rows=rows,
        ticks=ticks,
        now_x=x_of(now) if start <= now < end else None,
        width=LABEL_WIDTH + TIMELINE_DAYS * DAY_WIDTH,
        height=AXIS_HEIGHT + len(rows) * ROW_HEIGHT,
    )


def _short_override(row: OncallOverride, names: dict[int, str]) -> str:
    person = names.get(row.user_id, f"user {row.user_id}")
    if row.kind == "add":
        return f"+ {person}"
    if row.kind == "remove":
        return f"− {person}"
    return f"{person} for {names.get(row.replaces_user_id or 0, f'user {row.replaces_user_id}')}"


def _final_blocks(
    schedule: Schedule, overrides: Sequence[Any], start: datetime, end: datetime, names: dict[int, str]
) -> list[Block]:
    """The final schedule's stretches, each marked as the layers' own, an override's doing, or a gap.

    A stretch is an override's doing where its people differ from what the layers alone put on call."""
    final = final_schedule(schedule, overrides, start, end)
    layers_only = final_schedule(schedule, [], start, end)
    cuts = sorted({s.start for s in final} | {s.start for s in layers_only} | {end})
    pieces: list[tuple[datetime, datetime, frozenset[int], bool]] = []
    for piece_start, piece_end in pairwise(cuts):
        people = _people_at(final, piece_start)
        changed = people != _people_at(layers_only, piece_start)
        if pieces and pieces[-1][2] == people and pieces[-1][3] == changed:
            pieces[-1] = (pieces[-1][0], piece_end, people, changed)
        else:
            pieces.append((piece_start, piece_end, people, changed))
    return [
        Block(
            s,
            e,
            _names(names, people) if people else "No one on call",
            "gap" if not people else "override" if changed else "shift",
        )
        for s, e, people, changed in pieces
    ]


def _people_at(shifts: Sequence[Shift], at: datetime) -> frozenset[int]:
    return next((s.people for s in shifts if s.start <= at < s.end), frozenset())


# Escalation policies in words


def _target_words(target: StepTarget, users: dict[int, str], schedules: dict[str, str]) -> str:
    if target.kind == "user":
        return users.get(int(target.ref or 0), f"user {target.ref}")
    if target.kind == "schedule":
        return f"whoever is on call on {schedules.get(str(target.ref), str(target.ref))}"
    if target.kind == "team":
        return f"every member of team {target.ref}"
    return "one of " + ", ".join(users.get(u, f"user {u}") for u in target.users) + " in turn"


def _policy_line(row: EscalationPolicyRow, users: dict[int, str], schedules: dict[str, str]) -> PolicyLine:
    policy = policy_from_spec(row.spec)
    steps = []
    for number, step in enumerate(policy.steps, start=1):
        who = " and ".join(_target_words(target, users, schedules) for target in step.targets)
        when = (
            "while nobody has acknowledged"
            if step.condition is Condition.NOT_ACKNOWLEDGED
            else "while the incident is not resolved, even once acknowledged"
        )
        wait = duration_words(step.escalate_after.total_seconds())
        if number < len(policy.steps):
            steps.append(f"Pages {who}, {when}; step {number + 1} comes {wait} later.")
        elif policy.repeat:
            steps.append(f"Pages {who}, {when}; step 1 comes again {wait} later.")
        else:
            steps.append(f"Pages {who}, {when}. Nobody more is paged after it.")
    after = []
    if policy.repeat:
        times = f"{policy.repeat} more time{'s' if policy.repeat != 1 else ''}"
        after.append(f"The steps run {times} after the first time through.")
    if policy.ack_timeout is not None:
        lapse = duration_words(policy.ack_timeout.total_seconds())
        after.append(f"An acknowledgement left {lapse} without a resolve lapses, and the steps start again.")
    return PolicyLine(row.slug, row.name, row.version, steps, after)


def _policy_lines(session: Session, actor: Actor) -> list[PolicyLine]:
    rows = escalation_services.list_policies(session, actor)
    user_ids: set[int] = set()
    for row in rows:
        for step in policy_from_spec(row.spec).steps:
            for target in step.targets:
                if target.kind == "user":
                    user_ids.add(int(target.ref or 0))
                user_ids.update(target.users)
    users = _user_names(session, user_ids)
    schedules = {row.slug: row.name for row in oncall_services.list_schedules(session, actor)}
    return [_policy_line(row, users, schedules) for row in rows]


# Admin: the list and one schedule


@router.get("/admin/oncall")
def schedules_page(request: Request, visitor: Admin) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        lines = _schedule_lines(session, visitor.actor, now, None)  # in each schedule's own zone
        policies = _policy_lines(session, visitor.actor)
    context = {"title": "On call", "schedules": lines, "policies": policies, "gap_days": oncall_services.GAP_DAYS}
    return render(request, "admin/oncall.html", context)


@router.get("/admin/oncall/{slug}")
def schedule_page(request: Request, visitor: Admin, slug: Slug) -> HTMLResponse:
    return _schedule_page(request, visitor.actor, slug, _blank_override())


def _blank_override() -> dict[str, str]:
    return {name: "" for name in ("kind", "user_id", "replaces_user_id", "start", "end", "reason")} | {"kind": "add"}


def _schedule_page(
    request: Request, actor: Actor, slug: str, values: dict[str, str], error: SladeskError | None = None
) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        stored = oncall_services.get_schedule(session, actor, slug)
        zone = stored.schedule.zone
        line = _schedule_line(session, stored, now, zone)
        layer_people = {person for layer in stored.schedule.layers for person in layer.people}
        names = _user_names(session, layer_people | _override_people(stored.overrides))
        timeline = _timeline(stored, names, now)
        overrides = [
            OverrideLine(row.id, row.kind, _override_words(row, names), row.starts_at, row.ends_at, row.reason)
            for row in stored.overrides
            if row.ends_at > now
        ]
        people = [
            user
            for role in (Role.AGENT, Role.ADMIN)
            for user in accounts.list_users(session, actor, role=role, limit=1000)
            if user.active
        ]
    field_name = getattr(error, "field", None)
    context = {
        "title": f"On call: {stored.row.name}",
        "schedule": stored.row,
        "line": line,
        "zone": zone,
        "timeline": timeline,
        "days": TIMELINE_DAYS,
        "overrides": overrides,
        "past_overrides": len(stored.overrides) - len(overrides),
        "people": sorted(people, key=lambda user: (user.name, user.id)),
        "kinds": OVERRIDE_KINDS,
        "values": values,
        "error": error,
        "error_field": field_name,
        "error_message": str(error).removeprefix(f"{field_name}: ") if error is not None else "",
    }
    status = 200 if error is None else 409 if isinstance(error, ConflictError) else 422
    return render(request, "admin/oncall_schedule.html", context, status_code=status)


@router.post("/admin/oncall/{slug}/overrides", response_model=None)
def add_override_page(request: Request, visitor: Admin, form: CheckedForm, slug: Slug) -> Response:
    values = {name: field(form, name).strip() for name in _blank_override()}
    try:
        with reading(sessions_of(request)) as session:
            zone = oncall_services.get_schedule(session, visitor.actor, slug).schedule.zone
        wanted = _override_input(values, zone)
        with transaction(sessions_of(request)) as session:
            oncall_services.add_override(session, visitor.actor, slug, wanted, now=now_of(request))
    except (InvalidFieldError, ConflictError) as error:
        return _schedule_page(request, visitor.actor, slug, values, error)
    span = f"from {local_time(wanted.start, zone)} to {local_time(wanted.end, zone)}"
    done = f"Override added: {KIND_WORDS[wanted.kind].lower()} {span}."
    return redirect(f"/admin/oncall/{slug}", done=done)


def _override_input(values: dict[str, str], zone: ZoneInfo) -> OverrideInput:
    """The form's override; InvalidFieldError names the first field to fix."""
    kind = values["kind"]
    if kind not in OVERRIDE_KINDS:
        raise InvalidFieldError("kind", "choose add, remove or replace")
    user_id = _person(values["user_id"], "user_id")
    replaces = _person(values["replaces_user_id"], "replaces_user_id") if kind == "replace" else None
    if kind == "replace" and replaces is None:
        raise InvalidFieldError("replaces_user_id", "choose who they stand in for")
    if user_id is None:
        raise InvalidFieldError("user_id", "choose a person")
    start = _wall_instant(values["start"], zone, "start")
    end = _wall_instant(values["end"], zone, "end")
    return OverrideInput(kind, user_id, start, end, replaces, values["reason"] or None)


def _person(text: str, name: str) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        raise InvalidFieldError(name, "choose a person from the list")
    return int(text)


def _wall_instant(text: str, zone: ZoneInfo, name: str) -> datetime:
    """A `datetime-local` value (2026-03-05T13:00) as the instant it names in the schedule's zone, read as the
    layers' wall times are: a time the spring change skips is the change itself, a repeated one its first."""
    try:
        value = datetime.fromisoformat(text) if text else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is not None:
        raise InvalidFieldError(name, "give a date and time such as 2026-12-07T14:00")
    if not oncall_services.EARLIEST.year <= value.year < oncall_services.LATEST.year:
        raise InvalidFieldError(
            name, f"must be in the years {oncall_services.EARLIEST.year} to {oncall_services.LATEST.year - 1}"
        )
    epoch = wall_to_epoch(zone, value.date(), value.hour * 60 + value.minute) + value.second
    return datetime.fromtimestamp(epoch, UTC)


@router.post("/admin/oncall/{slug}/overrides/{override_id}/delete", response_model=None)
def delete_override_page(
    request: Request, visitor: Admin, form: CheckedForm, slug: Slug, override_id: OverrideId
) -> Response:
    with transaction(sessions_of(request)) as session:
        oncall_services.remove_override(session, visitor.actor, slug, override_id, now=now_of(request))
    return redirect(f"/admin/oncall/{slug}", done=f"Override {override_id} deleted.")


# Console: who is on call now


@router.get("/console/oncall")
def on_call_now_page(request: Request, visitor: Staff) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        lines = _schedule_lines(session, visitor.actor, now, visitor)
    return render(request, "console/oncall.html", {"title": "On call now", "schedules": lines})
