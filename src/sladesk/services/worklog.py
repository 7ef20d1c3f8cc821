"""Logged time: what agents spent on customers' tickets and on internal work, to see how their time splits.

Time logged on a ticket is also a `TimeLoggedEvent` in the ticket's history, written in the same unit of
work as the log; internal work belongs to no ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.services.actors import Actor
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.tickets import change_ticket
from sladesk.sla.events import TimeLoggedEvent
from sladesk.store.tables import TimeLog, User

Work = Literal["customer", "internal"]
WORK_KINDS: tuple[Work, ...] = ("customer", "internal")
MAX_MINUTES = 24 * 60  # one log covers at most one day's work
MAX_NOTE = 2000


@dataclass(frozen=True)
class TimeLogLine:
    """One log as the desk lists it."""

    id: int
    user_id: int
    user_name: str
    ticket_id: int | None
    work: Work
    minutes: int
    note: str | None
    worked_on: date
    logged_at: datetime


@dataclass(frozen=True)
class TimeLogFilters:
    """What narrows a listing of logs; dates are inclusive."""

    user_id: int | None = None
    ticket_id: int | None = None
    work: Work | None = None
    since: date | None = None
    until: date | None = None


def log_time(
    session: Session,
    actor: Actor,
    minutes: int,
    work: str,
    ticket_id: int | None = None,
    note: str | None = None,
    worked_on: date | None = None,
    *,
    now: datetime | None = None,
) -> TimeLogLine:
    """Log `minutes` (1 to 1440) of the actor's work on `worked_on` (today by default, in UTC): `customer`
    work on a ticket, which its history records too, or `internal` work, on no ticket."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins log time")
    at = now if now is not None else datetime.now(UTC)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise InvalidFieldError("minutes", f"must be a whole number of minutes from 1 to {MAX_MINUTES}")
    if work not in WORK_KINDS:
        raise InvalidFieldError("work", "choose customer (work on a ticket) or internal")
    if work == "customer" and ticket_id is None:
        raise InvalidFieldError("ticket_id", "customer work is logged on the ticket it was for")
    if work == "internal" and ticket_id is not None:
        raise InvalidFieldError("ticket_id", "internal work belongs to no ticket: leave it out")
    text = _note(note)
    day = worked_on if worked_on is not None else at.astimezone(UTC).date()
    if day > (at + timedelta(days=1)).date():
        raise InvalidFieldError("worked_on", f"{day.isoformat()} is in the future")
    logged_at = at
    if ticket_id is not None:
        done = change_ticket(
            session,
            actor,
            ticket_id,
            None,
            at,
            lambda ticket, when: TimeLoggedEvent(at=when, minutes=minutes, note=text),
        )
        logged_at = done.event.at
    row = TimeLog(
        user_id=actor.user_id,
        ticket_id=ticket_id,
        work=work,
        minutes=minutes,
        note=text,
        worked_on=day,
        logged_at=logged_at,
    )
    session.add(row)
    session.flush()
    name = session.scalar(select(User.name).where(User.id == actor.user_id)) or f"user {actor.user_id}"
    return _line(row, name)


def time_logs(
    session: Session, actor: Actor, filters: TimeLogFilters, *, after: int | None = None, limit: int = 500
) -> list[TimeLogLine]:
    """The logs that match `filters`, in the order they were logged, `limit` at a time after the log `after`."""
    if not actor.is_staff:
        raise ForbiddenError("logged time is for agents and admins")
    if filters.since is not None and filters.until is not None and filters.since > filters.until:
        raise InvalidFieldError("since", "must not be after `until`")
    query = select(TimeLog, User.name).join(User, User.id == TimeLog.user_id).order_by(TimeLog.id).limit(limit)
    if filters.user_id is not None:
        query = query.where(TimeLog.user_id == filters.user_id)
    if filters.ticket_id is not None:
        query = query.where(TimeLog.ticket_id == filters.ticket_id)
    if filters.work is not None:
        query = query.where(TimeLog.work == filters.work)
    if filters.since is not None:
        query = query.where(TimeLog.worked_on >= filters.since)
    if filters.until is not None:
        query = query.where(TimeLog.worked_on <= filters.until)
    if after is not None:
        query = query.where(TimeLog.id > after)
    return [_line(row, name) for row, name in session.execute(query)]


def minutes_by_work(logs: Sequence[TimeLogLine]) -> dict[Work, int]:
    """The minutes of `logs` per kind of work, every kind listed (0 when none)."""
    totals: dict[Work, int] = dict.fromkeys(WORK_KINDS, 0)
    for log in logs:
        totals[log.work] += log.minutes
    return totals


def _note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > MAX_NOTE:
        raise InvalidFieldError("note", f"is {len(note)} characters long; the limit is {MAX_NOTE}")
    return note.strip()


def _line(row: TimeLog, user_name: str) -> TimeLogLine:
    return TimeLogLine(
        id=row.id,
        user_id=row.user_id,
        user_name=user_name,
        ticket_id=row.ticket_id,
        work=cast("Work", row.work),
        minutes=row.minutes,
        note=row.note,
        worked_on=row.worked_on,
        logged_at=row.logged_at,
    )
