"""/api/v1 routes for pins and logged time."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.paging import Cursor, decode_cursor, encode_cursor
from sladesk.api.routes.tickets import TicketId, answer_ticket, if_match_version, request_now
from sladesk.api.schemas import MAX_ID, PinRequest, TicketOut, TimeLogCreate, TimeLogOut, TimeLogPage, Work
from sladesk.services.pins import pin_ticket, unpin_ticket
from sladesk.services.worklog import TimeLogFilters, log_time, time_logs
from sladesk.store import reading, transaction

router = APIRouter(prefix="/api/v1", tags=["worklog"])


@router.post("/tickets/{ticket_id}/pin", response_model=TicketOut)
def pin(
    ticket_id: TicketId,
    body: PinRequest,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Pin an open ticket above its computed place in the queue until `until`, with a reason (staff).

    Pinned tickets come first in the queue, the earliest pinned first; a pin stops counting at `until`.
    Pinning a pinned ticket replaces its pin. If-Match is optional.
    """
    version = if_match_version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        pin_ticket(
            session, actor, ticket_id, body.until, body.reason, expected_version=version, now=request_now(request)
        )
        return answer_ticket(session, actor, ticket_id, request, response)


@router.delete("/tickets/{ticket_id}/pin", response_model=TicketOut)
def unpin(
    ticket_id: TicketId,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    reason: Annotated[str | None, Query(max_length=2000, description="Why the pin is lifted (optional)")] = None,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Lift a pin still in force (staff); the ticket goes back to its computed place. 409 when none is."""
    version = if_match_version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        unpin_ticket(session, actor, ticket_id, reason, expected_version=version, now=request_now(request))
        return answer_ticket(session, actor, ticket_id, request, response)


@router.post("/time-logs", status_code=201, response_model=TimeLogOut)
def create_time_log(body: TimeLogCreate, actor: CurrentActor, sessions: Sessions, request: Request) -> TimeLogOut:
    """Log time the caller spent (staff): `customer` work on a ticket (its history records it too), or
    `internal` work on no ticket."""
    with transaction(sessions) as session:
        line = log_time(
            session,
            actor,
            body.minutes,
            body.work,
            body.ticket_id,
            body.note,
            body.worked_on,
            now=request_now(request),
        )
    return TimeLogOut.of(line)


@router.get("/time-logs", response_model=TimeLogPage)
def list_time_logs(
    actor: CurrentActor,
    sessions: Sessions,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this agent's logs")] = None,
    ticket_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only the logs on this ticket")] = None,
    work: Annotated[Work | None, Query(description="Only customer or internal work")] = None,
    since: Annotated[date | None, Query(description="Only work on or after this day")] = None,
    until: Annotated[date | None, Query(description="Only work on or before this day")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TimeLogPage:
    """Logged time (staff), in the order it was logged, a page at a time."""
    filters = TimeLogFilters(user_id=user_id, ticket_id=ticket_id, work=work, since=since, until=until)
    with reading(sessions) as session:
        lines = time_logs(session, actor, filters, after=decode_cursor("l", cursor), limit=limit + 1)
    page = lines[:limit]
    next_cursor = encode_cursor("l", page[-1].id) if len(lines) > limit else None
    return TimeLogPage(items=[TimeLogOut.of(line) for line in page], next_cursor=next_cursor)
