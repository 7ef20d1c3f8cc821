"""/api/v1/tickets: open, list, read and change tickets, their comments, history and SLA state."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.paging import Cursor, decode_cursor, encode_cursor
from sladesk.api.schemas import (
    MAX_ID,
    CommentCreate,
    CommentOut,
    EventOut,
    MergeRequest,
    TicketChange,
    TicketCreate,
    TicketOut,
    TicketPage,
)
from sladesk.services import (
    Actor,
    InvalidFieldError,
    assign,
    change_severity,
    change_status,
    get_ticket,
    idempotency,
    merge_duplicate,
    open_ticket,
    reply,
    set_outside_incident,
)
from sladesk.services.clocks import replay_ticket
from sladesk.services.tickets import visible_version
from sladesk.sla.explain import explain
from sladesk.store.tables import Comment, SlaClock, Ticket, TicketEvent

TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="A ticket id")]
AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def _now(request: Request) -> datetime:
    clock = request.app.state.clock
    now: datetime = clock()
    return now


def _out(session: Session, ticket: Ticket, actor: Actor) -> TicketOut:
    clocks = list(session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket.id).order_by(SlaClock.metric)))
    return TicketOut.of(ticket, clocks, staff=actor.is_staff)


def _read(sessions: Sessions, actor: Actor, ticket_id: int, response: Response) -> TicketOut:
    with sessions() as session:
        ticket = get_ticket(session, actor, ticket_id)
        response.headers["ETag"] = f'"{visible_version(ticket, actor)}"'
        return _out(session, ticket, actor)


def _if_match(value: str | None) -> int:
    if value is None:
        raise HTTPException(428, "send If-Match with the ticket's version (its ETag) to change it")
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidFieldError("If-Match", f'{value!r} is not a ticket version such as "3"')
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
    if idempotency_key is not None:
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        earlier = idempotency.claim(sessions, actor.user_id, idempotency_key, digest)
        if earlier is not None:
            headers = {"Location": earlier.location} if earlier.location else None
            return JSONResponse(earlier.response, status_code=earlier.status_code, headers=headers)
    try:
        change = open_ticket(
            sessions,
            actor,
            subject=body.subject,
            description=body.description,
            severity=body.severity,
            category=body.category,
            intake=body.intake,
            organisation_id=body.organisation_id,
            requester_id=body.requester_id,
            follow_up_of=body.follow_up_of,
            now=_now(request),
        )
    except Exception:
        if idempotency_key is not None:
            idempotency.forget(sessions, actor.user_id, idempotency_key)
        raise
    location = f"/api/v1/tickets/{change.ticket.id}"
    response.headers["Location"] = location
    assert change.clocks is not None  # a new ticket's clocks are all written by open_ticket
    response.headers["ETag"] = f'"{visible_version(change.ticket, actor)}"'
    created = TicketOut.of(change.ticket, change.clocks, staff=actor.is_staff)
    if idempotency_key is not None:
        idempotency.remember(sessions, actor.user_id, idempotency_key, 201, created.model_dump(mode="json"), location)
    return created


@router.get("", response_model=TicketPage)
def list_tickets(
    actor: CurrentActor,
    sessions: Sessions,
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
    """The tickets the caller may see, oldest first, a page at a time."""
    query = select(Ticket).order_by(Ticket.id).limit(limit + 1)
    if not actor.is_staff:
        query = query.where(Ticket.organisation_id == actor.organisation_id)
    if status is not None:
        query = query.where(Ticket.status == status)
    if severity is not None:
        query = query.where(Ticket.severity_rank == severity)
    if organisation_id is not None:
        query = query.where(Ticket.organisation_id == organisation_id)
    if breached is not None:
        clause = exists().where(SlaClock.ticket_id == Ticket.id, SlaClock.state == "breached")
        query = query.where(clause if breached else ~clause)
    if due_before is not None:
        if due_before.tzinfo is None:
            raise InvalidFieldError("due_before", "give a UTC offset")
        query = query.where(Ticket.next_due_at < due_before)
    after = decode_cursor("t", cursor)
    if after is not None:
        query = query.where(Ticket.id > after)
    with sessions() as session:
        rows = list(session.scalars(query))
        page = rows[:limit]
        items = [_out(session, ticket, actor) for ticket in page]
    next_cursor = encode_cursor("t", page[-1].id) if len(rows) > limit else None
    return TicketPage(items=items, next_cursor=next_cursor)


@router.get("/{ticket_id}", response_model=TicketOut)
def read_ticket(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions, response: Response) -> TicketOut:
    """One ticket with its SLA clocks; the ETag is its version, for If-Match."""
    return _read(sessions, actor, ticket_id, response)


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
    """One change (status, severity with its reason, assignee or outside incident) at the version read."""
    version = _if_match(if_match)
    given = body.model_dump(exclude_unset=True)
    changes = [key for key in given if key != "severity_reason"]
    if len(changes) != 1:
        raise InvalidFieldError("body", "send exactly one of status, severity, assignee_id, outside_incident")
    now = _now(request)
    if "status" in given and body.status is not None:
        change_status(sessions, actor, ticket_id, body.status, expected_version=version, now=now)
    elif "severity" in given and body.severity is not None:
        if not body.severity_reason:
            raise InvalidFieldError("severity_reason", "say why the severity changes")
        change_severity(
            sessions, actor, ticket_id, body.severity, body.severity_reason, expected_version=version, now=now
        )
    elif "assignee_id" in given:
        assign(sessions, actor, ticket_id, body.assignee_id, expected_version=version, now=now)
    elif "outside_incident" in given:
        reason = body.outside_incident or None
        set_outside_incident(sessions, actor, ticket_id, reason, expected_version=version, now=now)
    else:
        raise InvalidFieldError(changes[0], "must not be null")
    return _read(sessions, actor, ticket_id, response)


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
    merge_duplicate(sessions, actor, ticket_id, body.into, expected_version=_if_match(if_match), now=_now(request))
    return _read(sessions, actor, ticket_id, response)


@router.post("/{ticket_id}/comments", status_code=201, response_model=CommentOut)
def add_comment(
    ticket_id: TicketId, body: CommentCreate, actor: CurrentActor, sessions: Sessions, request: Request
) -> CommentOut:
    """A public reply, or for agents an internal note (`public: false`)."""
    change = reply(sessions, actor, ticket_id, body.body, public=body.public, now=_now(request))
    with sessions() as session:
        comment = session.scalars(select(Comment).where(Comment.event_id == change.event.id)).one()
        return _comment_out(comment)


@router.get("/{ticket_id}/comments", response_model=list[CommentOut])
def list_comments(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions) -> list[CommentOut]:
    """The conversation; customers never see internal notes."""
    with sessions() as session:
        get_ticket(session, actor, ticket_id)
        query = select(Comment).where(Comment.ticket_id == ticket_id).order_by(Comment.id)
        if not actor.is_staff:
            query = query.where(Comment.public.is_(True))
        return [_comment_out(c) for c in session.scalars(query)]


@router.get("/{ticket_id}/events", response_model=list[EventOut])
def list_events(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions) -> list[EventOut]:
    """The ticket's history, one event per change; customers do not see internal notes or attachments."""
    with sessions() as session:
        get_ticket(session, actor, ticket_id)
        events = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.sequence)
        )
        shown = [e for e in events if actor.is_staff or e.public]
        # customers' sequence counts only the events they see, so no gap hints at an internal one
        return [
            EventOut(
                sequence=e.sequence if actor.is_staff else position,
                at=e.at,
                type=e.type,
                actor_id=e.actor_id,
                data=e.data,
            )
            for position, e in enumerate(shown, start=1)
        ]


@router.get("/{ticket_id}/sla")
def ticket_sla(ticket_id: TicketId, actor: CurrentActor, sessions: Sessions, request: Request) -> dict[str, Any]:
    """The SLA state now, recomputed from the events (the replay JSON of DESIGN.md), with the explanation."""
    with sessions() as session:
        ticket = get_ticket(session, actor, ticket_id)
        report = replay_ticket(session, ticket, _now(request))
    document = report.to_json()
    document["explanation"] = explain(report)
    return document


def _comment_out(comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        author_id=comment.author_id,
        public=comment.public,
        body=comment.body,
        created_at=comment.created_at,
    )
