"""The customer portal: the organisation's requests, and submitting a new one."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from sladesk.services.views import TicketFilters, ticket_page
from sladesk.store import reading
from sladesk.web.pages import Customer, now_of, page_router, render, sessions_of

PAGE_SIZE = 50

router = page_router()


@router.get("/portal")
def requests(request: Request, visitor: Customer) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        page = ticket_page(session, visitor.actor, TicketFilters(), now, after=None, limit=PAGE_SIZE)
    return render(request, "portal/requests.html", {"title": "My requests", "tickets": page.items})
