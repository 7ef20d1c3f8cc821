"""/api/v1/oncall routes: schedules and who is on call, overrides, escalation policies, calendar feeds;
and /oncall/feeds/{secret}.ics, the feeds themselves, which calendar apps fetch without an API token."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime
from starlette.exceptions import HTTPException

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.oncall_schemas import (
    EscalationPolicyCreate,
    EscalationPolicyOut,
    EscalationPolicyUpdate,
    FeedCreate,
    FeedOut,
    FinalOut,
    GapOut,
    GapsOut,
    NextOut,
    OnCallOut,
    OverrideCreate,
    OverrideOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
    ShiftOut,
    people,
)
from sladesk.api.routes.tickets import request_now
from sladesk.api.schemas import MAX_ID
from sladesk.services import InvalidFieldError, oncall
from sladesk.services import escalation_policies as policies
from sladesk.services.oncall_feeds import feed_calendar, issue_feed
from sladesk.store import reading, transaction

router = APIRouter(tags=["oncall"])
PREFIX = "/api/v1/oncall"

Slug = Annotated[str, Path(min_length=1, max_length=64, description="The schedule's slug")]
PolicySlug = Annotated[str, Path(min_length=1, max_length=64, description="The escalation policy's slug")]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID)]
At = Annotated[AwareDatetime | None, Query(description="An instant with an offset (default: now)")]


def _policy(body: EscalationPolicyUpdate) -> None:
    """Run the body through `sladesk.paging`'s own checks (a 422 for anything they refuse)."""
    try:
        body.to_policy()
    except ValueError as error:
        raise InvalidFieldError("steps", str(error)) from None


# Schedules


@router.get(f"{PREFIX}/schedules", response_model=list[ScheduleOut])
def list_schedules(actor: CurrentActor, sessions: Sessions) -> list[ScheduleOut]:
    """Every on-call schedule, by slug (agents and admins)."""
    with reading(sessions) as session:
        return [ScheduleOut.of(row) for row in oncall.list_schedules(session, actor)]


@router.post(f"{PREFIX}/schedules", status_code=201, response_model=ScheduleOut)
def create_schedule(
    body: ScheduleCreate, actor: CurrentActor, sessions: Sessions, request: Request, response: Response
) -> ScheduleOut:
    """A new schedule (admins); 422 naming the field path of a bad layer, 409 when the slug is taken."""
    with transaction(sessions) as session:
        row = oncall.create_schedule(
            session, actor, body.slug, body.name, body.timezone, body.layers, now=request_now(request)
        )
        created = ScheduleOut.of(row)
    response.headers["Location"] = f"{PREFIX}/schedules/{created.slug}"
    return created


@router.get(f"{PREFIX}/schedules/{{slug}}", response_model=ScheduleOut)
def read_schedule(slug: Slug, actor: CurrentActor, sessions: Sessions) -> ScheduleOut:
    """One schedule (agents and admins)."""
    with reading(sessions) as session:
        return ScheduleOut.of(oncall.get_schedule(session, actor, slug).row)


@router.put(f"{PREFIX}/schedules/{{slug}}", response_model=ScheduleOut)
def replace_schedule(
    slug: Slug, body: ScheduleUpdate, actor: CurrentActor, sessions: Sessions, request: Request
) -> ScheduleOut:
    """Replace a schedule's name, zone and layers (admins); its overrides stay."""
    with transaction(sessions) as session:
        row = oncall.update_schedule(
            session, actor, slug, body.name, body.timezone, body.layers, now=request_now(request)
        )
        return ScheduleOut.of(row)


@router.delete(f"{PREFIX}/schedules/{{slug}}", status_code=204)
def delete_schedule(slug: Slug, actor: CurrentActor, sessions: Sessions) -> Response:
    """Delete a schedule, its overrides and its feeds (admins); 409 while an escalation policy pages it."""
    with transaction(sessions) as session:
        oncall.delete_schedule(session, actor, slug)
    return Response(status_code=204)


@router.get(f"{PREFIX}/schedules/{{slug}}/now", response_model=OnCallOut)
def on_call_now(slug: Slug, actor: CurrentActor, sessions: Sessions, request: Request, at: At = None) -> OnCallOut:
    """Who is on call at `at` (default now), overrides applied (agents and admins)."""
    instant = at or request_now(request)
    with reading(sessions) as session:
        stored = oncall.get_schedule(session, actor, slug)
        ids = oncall.who_is_on_call(stored, instant)
        return OnCallOut(schedule=slug, at=instant, on_call=people(ids, oncall.user_names(session, ids)))


@router.get(f"{PREFIX}/schedules/{{slug}}/next", response_model=NextOut)
def on_call_next(
    slug: Slug,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    after: Annotated[AwareDatetime | None, Query(description="An instant with an offset (default: now)")] = None,
) -> NextOut:
    """The next shift with someone other than those on call at `after` (default now); null within 90 days."""
    instant = after or request_now(request)
    with reading(sessions) as session:
        stored = oncall.get_schedule(session, actor, slug)
        shift = oncall.next_on_call(stored, instant)
        names = oncall.user_names(session, shift.people if shift else ())
        return NextOut(schedule=slug, after=instant, next=ShiftOut.of(shift, names) if shift else None)


@router.get(f"{PREFIX}/schedules/{{slug}}/final", response_model=FinalOut)
def final(
    slug: Slug,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Default: now")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Default: 14 days after `from`")] = None,
) -> FinalOut:
    """The final schedule from `from` to `to` (at most 62 days): shifts with their people, gaps with none."""
    with reading(sessions) as session:
        stored = oncall.get_schedule(session, actor, slug)
        first, last, shifts = oncall.resolved_shifts(stored, start or request_now(request), end)
        names = oncall.user_names(session, oncall.people_of(shifts))
        return FinalOut(schedule=slug, start=first, end=last, shifts=[ShiftOut.of(s, names) for s in shifts])


@router.get(f"{PREFIX}/schedules/{{slug}}/gaps", response_model=GapsOut)
def schedule_gaps(slug: Slug, actor: CurrentActor, sessions: Sessions, request: Request) -> GapsOut:
    """The stretches of the next 30 days with no one on call (agents and admins)."""
    now = request_now(request)
    with reading(sessions) as session:
        stored = oncall.get_schedule(session, actor, slug)
        found = oncall.schedule_gaps(stored, now)
    end = now + timedelta(days=oncall.GAP_DAYS)
    return GapsOut(schedule=slug, start=now, end=end, gaps=[GapOut(start=g.start, end=g.end) for g in found])


# Overrides


@router.post(f"{PREFIX}/schedules/{{slug}}/overrides", status_code=201, response_model=OverrideOut)
def create_override(
    slug: Slug, body: OverrideCreate, actor: CurrentActor, sessions: Sessions, request: Request
) -> OverrideOut:
    """Add an override to the schedule (agents and admins)."""
    wanted = oncall.OverrideInput(
        kind=body.kind,
        user_id=body.user_id,
        start=body.start,
        end=body.end,
        replaces_user_id=body.replaces_user_id,
        reason=body.reason,
    )
    with transaction(sessions) as session:
        return OverrideOut.of(oncall.add_override(session, actor, slug, wanted, now=request_now(request)))


@router.get(f"{PREFIX}/schedules/{{slug}}/overrides", response_model=list[OverrideOut])
def list_overrides(slug: Slug, actor: CurrentActor, sessions: Sessions) -> list[OverrideOut]:
    """The schedule's overrides in the order they apply (agents and admins)."""
    with reading(sessions) as session:
        return [OverrideOut.of(row) for row in oncall.get_schedule(session, actor, slug).overrides]


@router.delete(f"{PREFIX}/schedules/{{slug}}/overrides/{{override_id}}", status_code=204)
def delete_override(
    slug: Slug, override_id: OverrideId, actor: CurrentActor, sessions: Sessions, request: Request
) -> Response:
    """Remove an override (agents and admins)."""
    with transaction(sessions) as session:
        oncall.remove_override(session, actor, slug, override_id, now=request_now(request))
    return Response(status_code=204)


# Escalation policies


@router.get(f"{PREFIX}/escalation-policies", response_model=list[EscalationPolicyOut])
def list_escalation_policies(actor: CurrentActor, sessions: Sessions) -> list[EscalationPolicyOut]:
    """Every escalation policy, by slug (agents and admins)."""
    with reading(sessions) as session:
        return [EscalationPolicyOut.of(row) for row in policies.list_policies(session, actor)]


@router.post(f"{PREFIX}/escalation-policies", status_code=201, response_model=EscalationPolicyOut)
def create_escalation_policy(
    body: EscalationPolicyCreate, actor: CurrentActor, sessions: Sessions, request: Request, response: Response
) -> EscalationPolicyOut:
    """A new escalation policy (admins); 422 naming a target the desk does not have."""
    _policy(body)
    with transaction(sessions) as session:
        row = policies.create_policy(session, actor, body.slug, body.name, body.spec(), now=request_now(request))
        created = EscalationPolicyOut.of(row)
    response.headers["Location"] = f"{PREFIX}/escalation-policies/{created.slug}"
    return created


@router.get(f"{PREFIX}/escalation-policies/{{slug}}", response_model=EscalationPolicyOut)
def read_escalation_policy(slug: PolicySlug, actor: CurrentActor, sessions: Sessions) -> EscalationPolicyOut:
    """One escalation policy (agents and admins)."""
    with reading(sessions) as session:
        return EscalationPolicyOut.of(policies.get_policy(session, actor, slug))


@router.put(f"{PREFIX}/escalation-policies/{{slug}}", response_model=EscalationPolicyOut)
def replace_escalation_policy(
    slug: PolicySlug, body: EscalationPolicyUpdate, actor: CurrentActor, sessions: Sessions, request: Request
) -> EscalationPolicyOut:
    """Replace a policy's name and steps (admins); its version goes up by one."""
    _policy(body)
    with transaction(sessions) as session:
        row = policies.update_policy(session, actor, slug, body.name, body.spec(), now=request_now(request))
        return EscalationPolicyOut.of(row)


@router.delete(f"{PREFIX}/escalation-policies/{{slug}}", status_code=204)
def delete_escalation_policy(slug: PolicySlug, actor: CurrentActor, sessions: Sessions) -> Response:
    """Delete an escalation policy (admins)."""
    with transaction(sessions) as session:
        policies.delete_policy(session, actor, slug)
    return Response(status_code=204)


# Calendar feeds


@router.post(f"{PREFIX}/feeds", status_code=201, response_model=FeedOut)
def create_feed(body: FeedCreate, actor: CurrentActor, sessions: Sessions, request: Request) -> FeedOut:
    """A calendar feed URL for a schedule (agents and admins) or a person (themselves; admins anyone).

    The URL holds the feed's secret and is shown this once.
    """
    with transaction(sessions) as session:
        feed = issue_feed(session, actor, schedule=body.schedule, user_id=body.user_id, now=request_now(request))
    return FeedOut.of(feed, str(request.base_url))


@router.get(
    "/oncall/feeds/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "An iCalendar document"}},
)
def feed(token: Annotated[str, Path(max_length=200)], sessions: Sessions, request: Request) -> Response:
    """A calendar feed's shifts from 7 days ago to 60 days ahead; the secret in the URL is the credential.

    Its ETag is a hash of the text: a calendar app that sends it back in If-None-Match gets 304 while
    nothing changed.
    """
    now: datetime = request_now(request)
    with reading(sessions) as session:
        text = feed_calendar(session, token, now)
    if text is None:
        raise HTTPException(404, "no such calendar feed")
    etag = f'"{hashlib.sha256(text).hexdigest()[:32]}"'
    headers = {"Cache-Control": "private, max-age=300", "ETag": etag}
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(text, media_type="text/calendar; charset=utf-8", headers=headers)
