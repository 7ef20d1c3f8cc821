"""Staff pins: a ticket put above its computed place in the queue, with a reason, an author and an expiry.

A pin is a `PinnedEvent` in the ticket's history and the ticket's pin columns, written together in the
caller's unit of work. The queue reads the columns for its `now`: a pin whose expiry has passed simply
stops counting, with no job and no event needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sladesk.services.actors import Actor
from sladesk.services.errors import ConflictError, ForbiddenError, InvalidFieldError
from sladesk.services.tickets import Change, change_ticket
from sladesk.sla import Event
from sladesk.sla.events import PinnedEvent
from sladesk.store.tables import Ticket

MAX_PIN = timedelta(days=30)  # the longest a pin may last: a deviation from the order, not a new order
MAX_REASON = 2000


def pin_ticket(
    session: Session,
    actor: Actor,
    ticket_id: int,
    until: datetime,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Pin an open ticket to the top of the queue until `until` (after now, at most `MAX_PIN` ahead), with a
    reason. Pinning a pinned ticket replaces its pin: the new one counts from now."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins pin tickets")
    text = _reason(reason)
    if until.tzinfo is None:
        raise InvalidFieldError("until", "give a UTC offset")
    try:
        expiry = until.astimezone(UTC)
    except OverflowError:
        raise InvalidFieldError("until", "is outside the years 1 to 9999 in UTC") from None

    def change(ticket: Ticket, at: datetime) -> Event:
        if not ticket.is_open:
            raise ConflictError("the ticket is finished: only open tickets are in the queue")
        if expiry <= at:
            raise InvalidFieldError("until", f"must be in the future (after {at.isoformat()})")
        if expiry > at + MAX_PIN:
            raise InvalidFieldError(
                "until", f"a pin lasts at most {MAX_PIN.days} days (until {(at + MAX_PIN).isoformat()})"
            )
        return PinnedEvent(at=at, set=True, until=expiry, reason=text)

    done = change_ticket(session, actor, ticket_id, expected_version, now, change)
    ticket = done.ticket
    ticket.pinned_at, ticket.pinned_until = done.event.at, expiry
    ticket.pin_reason, ticket.pinned_by_id = text, actor.user_id
    session.flush()
    return done


def unpin_ticket(
    session: Session,
    actor: Actor,
    ticket_id: int,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Lift a pin still in force; the ticket goes back to its computed place."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins lift pins")
    text = _reason(reason) if reason is not None and reason.strip() else None

    def change(ticket: Ticket, at: datetime) -> Event:
        if ticket.pinned_until is None or ticket.pinned_until <= at:
            raise ConflictError("the ticket is not pinned")
        return PinnedEvent(at=at, set=False, reason=text)

    done = change_ticket(session, actor, ticket_id, expected_version, now, change)
    ticket = done.ticket
    ticket.pinned_at = ticket.pinned_until = ticket.pin_reason = ticket.pinned_by_id = None
    session.flush()
    return done


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidFieldError("reason", "say why the ticket deviates from the queue's order")
    if len(reason) > MAX_REASON:
        raise InvalidFieldError("reason", f"is {len(reason)} characters long; the limit is {MAX_REASON}")
    return reason.strip()
