"""The agent console: the one work queue, with the number-one item first."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from sladesk.services.views import queue_page
from sladesk.store import reading
from sladesk.web.pages import Staff, now_of, page_router, render, sessions_of

QUEUE_LENGTH = 100

router = page_router()


@router.get("/queue")
def queue(request: Request, visitor: Staff) -> HTMLResponse:
    now = now_of(request)
    with reading(sessions_of(request)) as session:
        items = queue_page(session, visitor.actor, now, QUEUE_LENGTH)
    return render(request, "queue.html", {"title": "Queue", "items": items})
