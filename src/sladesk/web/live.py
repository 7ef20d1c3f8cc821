"""Live updates for the console: server-sent events that say when the queue or a ticket changed.

`GET /events/queue` and `GET /events/tickets/{id}` are `text/event-stream` responses for agents. Every
second they read, in a worker thread so the event loop never waits on the database, a mark that moves
with every change (the count of all tickets' newest events, or the ticket's version), and send
`event: changed` when it moved. The page then fetches itself again and swaps its live regions (static/app.js). A comment
line every 15 s keeps proxies from closing a quiet stream; at each, the stream also ends if the agent's
session has ended meanwhile. It ends too when the browser goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Path, Request
from fastapi.responses import StreamingResponse

from sladesk.services.console_views import event_floor, queue_mark, signed_in_still, ticket_mark
from sladesk.services.signin import Visitor
from sladesk.store import reading
from sladesk.web.pages import Staff, now_of, page_router, sessions_of

POLL_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000

router = page_router()


@router.get("/events/queue")
async def queue_events(request: Request, visitor: Staff) -> StreamingResponse:
    sessions = sessions_of(request)

    floor: int | None = None

    def mark() -> Hashable:
        nonlocal floor
        with reading(sessions) as session:
            if floor is None:
                floor = event_floor(session)
            return queue_mark(session, floor)

    return await _stream(request, visitor, mark)


@router.get("/events/tickets/{ticket_id}")
async def ticket_events(
    request: Request, visitor: Staff, ticket_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> StreamingResponse:
    sessions = sessions_of(request)

    def mark() -> Hashable:
        with reading(sessions) as session:
            return ticket_mark(session, visitor.actor, ticket_id)

    return await _stream(request, visitor, mark)


async def _stream(request: Request, visitor: Visitor, read_mark: Callable[[], Hashable]) -> StreamingResponse:
    first = await anyio.to_thread.run_sync(read_mark)  # a ticket the agent may not see is refused here, as a page
    sessions = sessions_of(request)

    def still_signed_in() -> bool:
        with reading(sessions) as session:
            return signed_in_still(session, visitor.session_id, now_of(request))

    async def events() -> AsyncIterator[str]:
        last = first
        quiet = 0.0
        yield f"retry: {RETRY_MILLISECONDS}\n: watching\n\n"
        while True:  # ends when the browser goes away: the response's send fails and cancels this
            await anyio.sleep(POLL_SECONDS)
            mark = await anyio.to_thread.run_sync(read_mark)
            if mark != last:
                last, quiet = mark, 0.0
                yield "event: changed\ndata: {}\n\n"
            else:
                quiet += POLL_SECONDS
                if quiet >= KEEP_ALIVE_SECONDS:
                    quiet = 0.0
                    if not await anyio.to_thread.run_sync(still_signed_in):
                        yield "event: signed-out\ndata: {}\n\n"
                        return
                    yield ": keep-alive\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
