"""/api/v1 routes for a ticket's on-call incident: acknowledge it (the chain stops), resolve it (paging ends)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.routes.tickets import TicketId, answer_ticket, if_match_version, request_now
from sladesk.api.schemas import TicketOut
from sladesk.services.incidents import acknowledge_incident, resolve_incident
from sladesk.store import transaction

router = APIRouter(prefix="/api/v1", tags=["incidents"])


@router.post("/tickets/{ticket_id}/incident/acknowledge", response_model=TicketOut)
def acknowledge(
    ticket_id: TicketId,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Acknowledge the ticket's on-call incident (staff): the steps that wait for an acknowledgement stop.

    409 when the ticket has no incident or it is resolved. If-Match is optional.
    """
    version = if_match_version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        acknowledge_incident(session, actor, ticket_id, expected_version=version, now=request_now(request))
        return answer_ticket(session, actor, ticket_id, request, response)


@router.post("/tickets/{ticket_id}/incident/resolve", response_model=TicketOut)
def resolve(
    ticket_id: TicketId,
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketOut:
    """Resolve the ticket's on-call incident (staff): nobody is paged for it any more. The ticket stays open."""
    version = if_match_version(if_match) if if_match is not None else None
    with transaction(sessions) as session:
        resolve_incident(session, actor, ticket_id, expected_version=version, now=request_now(request))
        return answer_ticket(session, actor, ticket_id, request, response)
