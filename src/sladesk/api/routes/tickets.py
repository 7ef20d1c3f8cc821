"""/api/v1/tickets: open, list, read and change tickets, their comments, history and SLA state."""

from __future__ import annotations

import contextlib
import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.paging import Cursor, decode_cursor, encode_cursor
from sladesk.api.schemas import (
    MAX_ID,
    CommentCreate,
    CommentOut,
    CommsUpdate,
    EventOut,
    MergeRequest,
    TicketChange,
    TicketCreate,
    TicketOut,
    TicketPage,
    TriageRequest,
)
from sladesk.services import (
    Actor,
    InvalidFieldError,
    assign,
    change_category,
    change_severity,
    change_status,
    change_tier,
    get_ticket,
    idempotency,
    merge_duplicate,
    open_ticket,
    reply,
    set_outside_incident,
)
from sladesk.services.clocks import load_events, replay_events, ticket_policy
from sladesk.services.tickets import change_path, confirm_severity, mark_believed_resolved, post_comms_update
from sladesk.services.views import TicketFilters, changed_view, conversation, history, ticket_page, ticket_view
from sladesk.sla.explain import explain
from sladesk.sla.timers import plan_timers
from sladesk.store import reading, transaction
from sladesk.store.tables import Comment

TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="A ticket id")]
AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def request_now(request: Request) -> datetime:
    """The instant the desk reads as now for this request (its clock, fixed in tests)."""
    clock = request.app.state.clock
    now: datetime = clock()
    return now


def answer_ticket(session: Session, actor: Actor, ticket_id: int, request: Request, response: Response) -> TicketOut:
    """The ticket as the actor sees it now, with its ETag (the version to send back in If-Match)."""
    view = ticket_view(session, actor, ticket_id, request_now(request))
    response.headers["ETag"] = f'"{view.version}"'
    return TicketOut.of(view)


_VERSION = re.compile(r"[0-9]{1,18}")  # no ticket is changed 10**18 times


def if_match_version(value: str | None) -> int:
    if value is None:
        raise HTTPException(428, "send If-Match with the ticket's version (its ETag) to change it")
    text = value.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(text):  # ASCII digits only: str.isdigit() takes '²', which int() refuses
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise InvalidFieldError("If-Match", f'{shown!r} is not a ticket version such as "3"')
    return int(text)


@router.post("", status_code=201, response_model=TicketOut)
def create_ticket(
    body: TicketCreate,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Send the same key to retry safely")
    ] = None,
) -> Any:
    """Open a ticket under the organisation's policy; a retry with the same Idempotency-Key opens none."""
    now = request_now(request)
    held: idempotency.Claim | None = None
    if idempotency_key is not None:
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        earlier = idempotency.claim(sessions, actor.user_id, idempotency_key, digest, now)
        if isinstance(earlier, idempotency.Remembered):
            headers = {"Location": earlier.location} if earlier.location else None
            return JSONResponse(earlier.response, status_code=earlier.status_code, headers=headers)
        held = earlier
    try:
        # The ticket, its answer and the key's memory of that answer are kept together or not at all.
        with transaction(sessions) as session:
            change = open_ticket(
                session,
                actor,
                subject=body.subject,
                description=body.description,
                severity=body.severity,
                category=body.category,
                intake=body.intake,
                organisation_id=body.organisation_id,
                requester_id=body.requester_id,
                follow_up_of=body.follow_up_of,
                now=now,
            )
            created = TicketOut.of(changed_view(session, actor, change, now))
            location = f"/api/v1/tickets/{created.id}"
            if held is not None:
                idempotency.remember(session, held, 201, created.model_dump(mode="json"), location)
    except Exception:
        if held is not None:
            with contextlib.suppress(Exception):  # if the key cannot be released now, its lease runs out
                idempotency.forget(sessions, held)
        raise
    response.headers["Location"] = location
    response.headers["ETag"] = f'"{created.version}"'
    return created


@router.get("", response_model=TicketPage)
def list_tickets(
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    status: Annotated[str | None, Query(description="Only tickets in this status")] = None,
    severity: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only tickets of this severity rank")] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    breached: Annotated[bool | None, Query(description="Only tickets with (or without) a breached clock")] = None,
    due_before: Annotated[
        datetime | None, Query(description="Only tickets whose next due instant is before this")
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TicketPage:
    """The tickets the caller may see, oldest first, a page at a time; `breached` is judged now."""
    if due_before is not None:
        if due_before.tzinfo is None:
            raise InvalidFieldError("due_before", "give a UTC offset")
        try:
            due_before = due_before.astimezone(UTC)
        except OverflowError:
            raise InvalidFieldError("due_before", "is outside the years 1 to 9999 in UTC") from None
    filters = TicketFilters(status, severity, organisation_id, breached, due_before)
    with reading(sessions) as session:
        page = ticket_page(session, actor, filters, request_now(request), after=decode_cursor("t", cursor), limit=limit)
    next_cursor = encode_cursor("t", page.last_id) if page.last_id is not None else None
    return TicketPage(items=[TicketOut.of(view) for view in page.items], next_cursor=next_cursor)


@router.get("/{ticket_id}", response_model=TicketOut)
def read_ticket(
    ticket_id: TicketId, actor: CurrentActor, sessions: Sessions, request: Request, response: Response
) -> TicketOut:
    """One ticket with its SLA clocks as they read now; the ETag is its version, for If-Match."""
    with reading(sessions) as session:
        return answer_ticket(session, actor, ticket_id, request, response)


@router.patch("/{ticket_id}", response_model=TicketOut)
def change_ticket(
    ticket_id: TicketId,
    body: TicketChange,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """One change (status, severity, tier, category or resolution path with a reason, assignee, outside incident)
    at the version read."""
    version = if_match_version(if_match)
    given = body.model_dump(exclude_unset=True)
    changes = [key for key in given if key not in ("severity_reason", "reason")]
    if len(changes) != 1:
        raise InvalidFieldError(
            "body",
            "send exactly one of status, severity, tier, category, path, assignee_id, outside_incident,"
            " believed_resolved",
        )
    now = request_now(request)
    with transaction(sessions) as session:
        if "status" in given and body.status is not None:
            change_status(session, actor, ticket_id, body.status, expected_version=version, now=now)
        elif "severity" in given and body.severity is not None:
            if not body.severity_reason:
                raise InvalidFieldError("severity_reason", "say why the severity changes")
            change_severity(
                session, actor, ticket_id, body.severity, body.severity_reason, expected_version=version, now=now
            )
        elif "tier" in given or "category" in given:
            if not body.reason:
                raise InvalidFieldError("reason", f"say why the {changes[0]} changes")
            use_case = change_tier if "tier" in given else change_category
            use_case(session, actor, ticket_id, given[changes[0]], body.reason, expected_version=version, now=now)
        elif "path" in given:
            if not body.reason:
                raise InvalidFieldError("reason", "say why the resolution path changes")
            change_path(session, actor, ticket_id, body.path, body.reason, expected_version=version, now=now)
        elif "assignee_id" in given:
            assign(session, actor, ticket_id, body.assignee_id, expected_version=version, now=now)
        elif "outside_incident" in given:
            reason = body.outside_incident or None
            set_outside_incident(session, actor, ticket_id, reason, expected_version=version, now=now)
        elif "believed_resolved" in given and body.believed_resolved is not None:
            mark_believed_resolved(
                session, actor, ticket_id, body.believed_resolved, body.reason, expected_version=version, now=now
            )
        else:
            raise InvalidFieldError(changes[0], "must not be null")
        return answer_ticket(session, actor, ticket_id, request, response)


@router.post("/{ticket_id}/triage", response_model=TicketOut)
def triage_ticket(
    ticket_id: TicketId,
    body: TriageRequest,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Support confirms the severity of a ticket awaiting triage (`awaiting_triage`); the clocks follow it from
    their start. If-Match is optional: a ticket leaves triage once, so a second confirmation answers 409."""
    version = if_match_version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        confirm_severity(
            session, actor, ticket_id, body.severity, body.reason, expected_version=version, now=request_now(request)
        )
        return answer_ticket(session, actor, ticket_id, request, response)


@router.post("/{ticket_id}/comms", response_model=TicketOut)
def record_comms_update(
    ticket_id: TicketId,
    body: CommsUpdate,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Record that an internal or external update was posted; the next one falls due a cadence later.

    If-Match is optional here, as for comments: an update is added, never overwritten.
    """
    version = if_match_version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        post_comms_update(
            session, actor, ticket_id, body.channel, body.note, expected_version=version, now=request_now(request)
        )
        return answer_ticket(session, actor, ticket_id, request, response)


@router.post("/{ticket_id}/merge", response_model=TicketOut)
def merge_ticket(
    ticket_id: TicketId,
    body: MergeRequest,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Close this duplicate into another ticket; both histories record the merge."""
    version = if_match_version(if_match)
    with transaction(sessions) as session:
        merge_duplicate(session, actor, ticket_id, body.into, expected_version=version, now=request_now(request))
        return answer_ticket(session, actor, ticket_id, request, response)


@router.post("/{ticket_id}/comments", status_code=201, response_model=CommentOut)
def add_comment(
    ticket_id: TicketId, body: CommentCreate, actor: CurrentActor, sessions: Sessions, request: Request
) -> CommentOut:
    """A public reply, or for agents an internal note (`public: false`)."""
    with transaction(sessions) as session:
        change = reply(session, actor, ticket_id, body.body, public=body.public, now=request_now(request))
        comment = session.scalars(select(Comment).where(Comment.event_id == change.event.id)).one()
        return CommentOut(
            id=comment.id,
            author_id=comment.author_id,
            public=comment.public,
            body=comment.body,
            created_at=comment.created_at,
        )


@router.get("/{ticket_id}/comments", response_model=list[CommentOut])
def list_comments(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions) -> list[CommentOut]:
    """The conversation; customers never see internal notes."""
    with reading(sessions) as session:
        return [CommentOut.model_validate(c, from_attributes=True) for c in conversation(session, actor, ticket_id)]


@router.get("/{ticket_id}/events", response_model=list[EventOut])
def list_events(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions) -> list[EventOut]:
    """The ticket's history, one event per change, each in words; customers see none of the internal ones."""
    with reading(sessions) as session:
        return [EventOut.model_validate(e, from_attributes=True) for e in history(session, actor, ticket_id)]


@router.get("/{ticket_id}/sla")
def ticket_sla(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions, request: Request) -> dict[str, Any]:
    """The SLA state now, recomputed from the events (the replay JSON of docs/clocks.md), with the explanation.

    Staff also get `upcoming`: the instants at which the desk will act on the ticket (warnings, due instants,
    the auto-close and its notice, comms updates falling due), as the worker will find them.
    """
    with reading(sessions) as session:
        ticket = get_ticket(session, actor, ticket_id)
        events = load_events(session, ticket.id)
        report = replay_events(ticket_policy(session, ticket), events, max(request_now(request), events[-1].at))
    document = report.to_json()
    document["explanation"] = explain(report)
    if actor.is_staff:
        document["upcoming"] = [
            {"kind": timer.kind, "subject": timer.subject, "at": timer.at.astimezone(report.policy.tz).isoformat()}
            for timer in plan_timers(report, events)
        ]
    return document
