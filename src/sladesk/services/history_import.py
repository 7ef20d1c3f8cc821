"""Importing whole ticket histories at once, as a desk moving from another help desk brings its past.

Each history is an opening and its later events in order. A history is checked as the write seam
(`services.record`) checks each of its events, but with one replay of the whole history instead of one per
event: the replay checks every event in order (a transition the policy does not allow, an update to a closed
ticket, an event out of order, ...) whatever instant it is replayed at, so it refuses exactly what replaying
each event on the history before it would. The rows written are what recording the events one by one stores:
the ticket row (its derived columns and versions), the events with their sequence numbers and actors, the
clocks as the last event left them, and the timers the seam plans for the last event. No messages are
queued: the past was told to its people by the desk it happened on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, Table, insert, select, text
from sqlalchemy.orm import Session

from sladesk.errors import InputError, SladeskError
from sladesk.policy import Policy
from sladesk.services.actors import Actor, Role
from sladesk.services.bulk import OpeningChecks
from sladesk.services.clocks import clock_values, facts_of
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.record import apply_report, bump_version, timer_values
from sladesk.services.tickets import Opening
from sladesk.sla import Event, ReplayReport, replay
from sladesk.sla.events import AssignedEvent, OutsideIncidentEvent, ReplyEvent, StatusEvent
from sladesk.sla.timers import PlannedTimer, plan_timers
from sladesk.store.tables import Base, SlaClock, Ticket, TicketEvent, Timer, User
from sladesk.store.wakeup import timer_written

BATCH = 1000  # tickets written per multi-row statement

# What a past may hold: the changes people made. What the desk itself did on time (SLA moments, notices,
# pages, reminders) is not imported: it is planned anew from the history, and merges and attachments
# need rows of their own.
IMPORTED_TYPES = (
    "reply",
    "status",
    "severity",
    "triaged",
    "path",
    "tier",
    "category",
    "outside_incident",
    "believed_resolved",
    "assigned",
)


@dataclass(frozen=True)
class PastEvent:
    """One later event of an imported history and the user who made it."""

    event: Event
    actor_id: int


@dataclass(frozen=True)
class History:
    """A ticket's whole history: its opening (at `opening.opened_at`) and its later events, oldest first."""

    opening: Opening
    events: Sequence[PastEvent] = ()


@dataclass
class _Prepared:
    ticket: Ticket
    events: list[Event]
    actors: list[int]
    report: ReplayReport
    timers: list[PlannedTimer]


def import_histories(
    session: Session,
    actor: Actor,
    histories: Sequence[History],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Import every history of `histories` in the caller's unit of work (staff only); the new tickets' ids.

    A refused history raises InvalidFieldError naming it (`histories[3].events[5]`, or a field of its
    opening such as `histories[3].opening.severity`) and, the caller's transaction rolled back, nothing is
    stored. `progress` hears how many tickets were imported so far, after each batch.
    """
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins import ticket histories")
    checks = OpeningChecks(session, actor, [history.opening for history in histories])
    users = _users(session, histories)
    ids: list[int] = []
    for start in range(0, len(histories), BATCH):
        prepared = [
            _prepare(checks, users, history, f"histories[{index}]")
            for index, history in enumerate(histories[start : start + BATCH], start=start)
        ]
        ids.extend(_write(session, prepared, actor.user_id))
        if progress is not None:
            progress(len(ids))
    return ids


def _users(session: Session, histories: Sequence[History]) -> dict[int, tuple[Role, int | None]]:
    """The role and organisation of every user the histories name (as actors or assignees)."""
    wanted = {past.actor_id for history in histories for past in history.events}
    wanted |= {
        past.event.to
        for history in histories
        for past in history.events
        if isinstance(past.event, AssignedEvent) and past.event.to is not None
    }
    rows = session.execute(select(User.id, User.role, User.organisation_id).where(User.id.in_(wanted)))
    return {row.id: (Role(row.role), row.organisation_id) for row in rows}


def _prepare(
    checks: OpeningChecks, users: dict[int, tuple[Role, int | None]], history: History, where: str
) -> _Prepared:
    """The history checked and replayed once, its ticket row brought in step with its last event, in memory."""
    ticket, opened, policy = checks.prepare(history.opening, f"{where}.opening")
    events: list[Event] = [opened]
    for index, past in enumerate(history.events):
        _check_event(policy, users, ticket, past, f"{where}.events[{index}]")
        events.append(past.event)
    try:  # replayed as of its last event, which the replay refuses if it comes before an earlier one
        report = replay(policy, facts_of(events), events, max(event.at for event in events))
    except InputError as error:
        raise _refusal(error, where) from None
    timers = plan_timers(report, events)
    for past in history.events:
        bump_version(ticket, past.event)
        if isinstance(past.event, AssignedEvent):
            ticket.assignee_id = past.event.to
        elif isinstance(past.event, OutsideIncidentEvent):
            ticket.outside_incident = past.event.reason is not None
            ticket.outside_incident_reason = past.event.reason
    apply_report(ticket, report, timers)
    return _Prepared(ticket, events, [past.actor_id for past in history.events], report, timers)


def _check_event(
    policy: Policy, users: dict[int, tuple[Role, int | None]], ticket: Ticket, past: PastEvent, where: str
) -> None:
    """What the use case that records the event checks besides the replay: its type, who made it, its assignee."""
    event = past.event
    if event.type not in IMPORTED_TYPES:
        imported = ", ".join(IMPORTED_TYPES)
        raise InvalidFieldError(f"{where}.type", f"{event.type!r} is not imported (imported: {imported})")
    user = users.get(past.actor_id)
    if user is None:
        raise InvalidFieldError(f"{where}.actor_id", f"no user {past.actor_id}")
    role, organisation_id = user
    staff = role is not Role.CUSTOMER
    if not staff and organisation_id != ticket.organisation_id:
        raise InvalidFieldError(f"{where}.actor_id", f"user {past.actor_id} is a customer of another organisation")
    if isinstance(event, ReplyEvent):
        if staff != (event.by == "agent"):
            maker = "a customer" if event.by == "customer" else "an agent or admin"
            raise InvalidFieldError(f"{where}.by", f"a reply by the {event.by} is made by {maker}")
    elif not staff and not (isinstance(event, StatusEvent) and _finishes(policy, event.to)):
        raise InvalidFieldError(f"{where}.actor_id", "customers only reply to, resolve or close their tickets")
    if isinstance(event, AssignedEvent) and event.to is not None:
        assignee = users.get(event.to)
        if assignee is None or assignee[0] is Role.CUSTOMER:
            raise InvalidFieldError(f"{where}.to", f"no agent {event.to}")


def _insert_tickets(session: Session, tickets: Sequence[Ticket]) -> list[int]:
    """The ticket rows, their ids in order: on PostgreSQL taken from the table's sequence and written by COPY."""
    table = _table(Ticket)
    columns = [c.key for c in table.columns if c.key != "id"]
    rows = [{column: getattr(ticket, column) for column in columns} for ticket in tickets]
    if session.get_bind().dialect.name != "postgresql":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    ids = sorted(
        session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('tickets', 'id')) FROM generate_series(1, :count)"),
            {"count": len(rows)},
        )
    )
    _insert(session, table, [{"id": ticket_id, **row} for ticket_id, row in zip(ids, rows, strict=True)])
    return ids


def _insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Many rows into `table` in the caller's transaction: on PostgreSQL by one COPY, elsewhere by a multi-row
    INSERT. The values are those the INSERT would bind: instants in UTC, JSON columns as `json.dumps` text."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    as_json = {column for column in columns if isinstance(table.c[column].type, JSON)}
    connection: Any = session.connection().connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[column]) if column in as_json and row[column] is not None else _utc(row[column])
                    for column in columns
                ]
            )


def _utc(value: object) -> object:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _table(model: type[Base]) -> Table:
    """The model's table, for Core INSERTs that send many rows in one statement."""
    return cast(Table, model.__table__)


def _finishes(policy: Policy, status: str) -> bool:
    try:
        return policy.is_finished(status)
    except SladeskError:  # an unknown status: the replay names it
        return False


def _refusal(error: InputError, where: str) -> InvalidFieldError:
    """The replay's refusal of event `error.event_index` (0: the opening) as the field of the history it names."""
    index = error.event_index
    message = str(error).removeprefix(f"event {index}: ") if index is not None else str(error)
    if index is None or index == 0:
        return InvalidFieldError(f"{where}.opening", message)
    return InvalidFieldError(f"{where}.events[{index - 1}]", message)


def _write(session: Session, prepared: Sequence[_Prepared], actor_id: int) -> list[int]:
    """The batch written with one statement per table (COPY on PostgreSQL); the tickets' ids, in order."""
    if not prepared:
        return []
    ids = _insert_tickets(session, [p.ticket for p in prepared])
    event_rows: list[dict[str, Any]] = []
    clock_rows: list[dict[str, Any]] = []
    timer_rows: list[dict[str, object]] = []
    soonest: tuple[timedelta, datetime, datetime] | None = None  # (how soon, due, last event) of the batch's timers
    for ticket_id, p in zip(ids, prepared, strict=True):
        p.ticket.id = ticket_id
        event_rows += [
            {
                "ticket_id": ticket_id,
                "sequence": sequence,
                "at": event.at,
                "type": event.type,
                "actor_id": actor,
                "data": event.data(),
            }
            for sequence, (event, actor) in enumerate(zip(p.events, [actor_id, *p.actors], strict=True), start=1)
        ]
        clock_rows += [clock_values(p.ticket, metric.instants) for metric in p.report.metrics.values()]
        last = p.events[-1].at
        timer_rows += timer_values(p.ticket, p.timers, last)
        if p.timers and (soonest is None or p.timers[0].at - last < soonest[0]):
            soonest = (p.timers[0].at - last, p.timers[0].at, last)
    _insert(session, _table(TicketEvent), event_rows)
    _insert(session, _table(SlaClock), clock_rows)
    _insert(session, _table(Timer), timer_rows)
    if soonest is not None:
        timer_written(session, soonest[1], soonest[2])
    return ids


__all__ = ["IMPORTED_TYPES", "History", "PastEvent", "import_histories"]
