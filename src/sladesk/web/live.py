"""Live updates for the console: server-sent events that say when the queue or a ticket changed.

`GET /events/queue` and `GET /events/tickets/{id}` are `text/event-stream` responses for agents. Every
second they read, in a worker thread so the event loop never waits on the database, a mark that moves
with every change (a count of the newest events of all tickets, or the ticket's version), and send
`event: changed` when it moved. The page then fetches itself again and swaps its live regions
(static/app.js). A comment line every 15 s keeps proxies from closing a quiet stream.

A stream ends by itself after `STREAM_SECONDS`, so that stopping the server never waits long on open
pages; the browser connects again after `retry` and sends the last mark it was given (`id:`, which comes
back as `Last-Event-ID`), so a change made in between is announced at once. Reconnecting checks the
session again without counting as activity: an open page does not keep a forgotten session alive, and a
session that has ended gets the sign-in redirect, on which the browser stops listening.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse

from sladesk.services import ForbiddenError, Role
from sladesk.services.console_views import event_floor, queue_mark, ticket_mark
from sladesk.services.signin import Visitor, visitor_for
from sladesk.store import reading
from sladesk.web.pages import SESSION_COOKIE, SignInRequiredError, now_of, page_router, sessions_of

POLL_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 15.0
STREAM_SECONDS = 30.0
RETRY_MILLISECONDS = 3000

router = page_router()


def watching_staff(request: Request) -> Visitor:
    """The signed-in agent or admin; a stream's check is not activity (it records no `last_seen_at`)."""
    with reading(sessions_of(request)) as session:
        visitor = visitor_for(session, request.cookies.get(SESSION_COOKIE, ""), now_of(request))
    if visitor is None:
        raise SignInRequiredError
    if visitor.role is Role.CUSTOMER:
        raise ForbiddenError("live updates are for agents; customers use the portal")
    return visitor


WatchingStaff = Annotated[Visitor, Depends(watching_staff)]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
# The mark of the snapshot a page was rendered from (`?since=`): the first stream after a page loads starts
# there, so a change committed between the page's read and the stream's opening is announced too.
Since = Annotated[str | None, Query(max_length=40)]


@router.get("/events/queue")
async def queue_events(
    request: Request, visitor: WatchingStaff, last_event_id: LastEventId = None, since: Since = None
) -> StreamingResponse:
    sessions = sessions_of(request)
    resumed = _queue_mark_of(last_event_id) or _queue_mark_of(since)
    floor = resumed[0] if resumed else None

    def mark() -> str:
        nonlocal floor
        with reading(sessions) as session:
            if floor is None:
                floor = event_floor(session)
            return f"{floor}:{queue_mark(session, floor)}"

    return await _stream(mark, f"{resumed[0]}:{resumed[1]}" if resumed else None)


def _queue_mark_of(text: str | None) -> tuple[int, int] | None:
    """A queue mark sent back as `Last-Event-ID` (`floor:count`); None when there is none or it is not one."""
    floor, _, count = (text or "").partition(":")
    if not (_whole(floor) and _whole(count)):
        return None
    return int(floor), int(count)


def _whole(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


@router.get("/events/tickets/{ticket_id}")
async def ticket_events(
    request: Request,
    visitor: WatchingStaff,
    ticket_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    last_event_id: LastEventId = None,
    since: Since = None,
) -> StreamingResponse:
    sessions = sessions_of(request)

    def mark() -> str:
        with reading(sessions) as session:
            return str(ticket_mark(session, visitor.actor, ticket_id))

    resumed = next((text for text in (last_event_id, since) if text is not None and _whole(text)), None)
    return await _stream(mark, resumed)


async def _stream(read_mark: Callable[[], str], resumed: str | None) -> StreamingResponse:
    current = await anyio.to_thread.run_sync(read_mark)  # a ticket the agent may not see is refused here, as a page

    async def events() -> AsyncIterator[str]:
        last = resumed if resumed is not None else current
        yield f"retry: {RETRY_MILLISECONDS}\nid: {last}\n: watching\n\n"
        mark, waited, quiet = current, 0.0, 0.0
        while True:  # until STREAM_SECONDS, or until the browser goes away: then sending fails and cancels this
            if mark != last:
                last, quiet = mark, 0.0
                yield f"id: {mark}\nevent: changed\ndata: {{}}\n\n"
            elif quiet >= KEEP_ALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            if waited >= STREAM_SECONDS:
                return
            await anyio.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            quiet += POLL_SECONDS
            mark = await anyio.to_thread.run_sync(read_mark)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
