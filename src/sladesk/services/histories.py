"""Many tickets' histories read from the store as columns, for replaying them at once (`reports.bulk`).

`read_histories` reads the given tickets' events and the columns a report groups them by in one pass: on
PostgreSQL with `COPY ... TO STDOUT` on the session's own connection (so inside its transaction), on SQLite
with a plain select. Each event is kept as its instant and its shape, the distinct (type, data) pairs a desk
repeats (replies, status changes...); a shape is typed once (`sla.event_of`), and `StoredHistories.columns`
decodes the shapes under a policy with `reports.bulk.kind_of` into the bulk replay's `Histories`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.reports.bulk import Histories, Kind, kind_of
from sladesk.sla import Event, event_of
from sladesk.sla.events import OpenedEvent
from sladesk.store.tables import Ticket, TicketEvent

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NONE_ID = -1  # in an id column (team, assignee): none
BATCH = 10_000  # tickets read at a time on SQLite (each a bound parameter)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_SOME_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)  # a shape is typed at any instant: only its data matters

Progress = Callable[[int, int], None]
"""`progress(read, total)`: tickets read so far, told after each batch."""


@dataclass(frozen=True)
class Shape:
    """One distinct (type, data) of the stored events, typed as the one-at-a-time replay types it."""

    type: str
    data: dict[str, Any]
    event: Event | None  # None: a type whose data the clocks do not read (`READ_DATA`), or data that does not
    # read as an event (the ticket is then read one at a time)


@dataclass(frozen=True)
class StoredHistories:
    """Tickets (in id order) with the labels a report groups them by, and their events as columns.

    Events are grouped by ticket, each ticket's in the order of its history; `event_ticket` is each event's
    row in `ticket_ids` and `shape` its index in `shapes`.
    """

    ticket_ids: IntArray
    organisation_id: IntArray
    team_id: IntArray  # NONE_ID: none
    assignee_id: IntArray  # NONE_ID: none
    tier: tuple[str | None, ...]
    policy_id: tuple[str, ...]
    policy_version: IntArray
    event_ticket: IntArray
    at_us: IntArray  # epoch microseconds
    shape: IntArray
    shapes: tuple[Shape, ...]

    @property
    def first_event(self) -> IntArray:
        """Each ticket's first event (its opening), as an index into the event columns."""
        return np.searchsorted(self.event_ticket, np.arange(len(self.ticket_ids)), side="left")

    def columns(
        self,
        policy: Policy,
        rows: IntArray,
        ranks_of: Policy | None = None,
    ) -> Histories:
        """The histories of the tickets in `rows` (indexes into `ticket_ids`) as `replay_many` reads them under
        `policy`. With `ranks_of`, every severity is first read under that policy (the tickets' own) and given
        to `policy` by its rank, as a what-if gives them to a candidate; a rank `policy` lacks leaves the ticket
        to the one-at-a-time replay."""
        codes = np.array([_code(policy, shape, ranks_of) for shape in self.shapes] or [(0, 0, 0, 0)], dtype=np.int64)
        chosen = np.zeros(len(self.ticket_ids), dtype=np.bool_)
        chosen[rows] = True
        # only the events from the first chosen ticket's to the last's are looked at: a chunk of tickets reads
        # its own part of the columns, not all of them
        low, high = np.searchsorted(self.event_ticket, [rows.min(), rows.max() + 1]) if len(rows) else (0, 0)
        window = self.event_ticket[low:high]
        kept = chosen[window]
        renumber = np.full(len(self.ticket_ids), -1, dtype=np.int64)
        renumber[rows] = np.arange(len(rows))
        shape = self.shape[low:high][kept]
        kind = codes[shape, 0].astype(np.int8)
        event_ticket = renumber[window[kept]]
        first = np.searchsorted(event_ticket, np.arange(len(rows)), side="left")
        opening = shape[np.minimum(first, max(len(shape) - 1, 0))] if len(shape) else np.zeros(0, np.int64)
        severity = codes[opening, 2] if len(rows) else np.zeros(0, dtype=np.int64)
        pairs: list[tuple[str | None, str | None]] = []
        situation_of_shape: dict[int, int] = {}
        for number in np.unique(opening).tolist():
            event = self.shapes[number].event
            pair = (event.category, event.tier) if isinstance(event, OpenedEvent) else (None, None)
            if pair not in pairs:
                pairs.append(pair)
            situation_of_shape[number] = pairs.index(pair)
        lookup = np.zeros(len(self.shapes) or 1, dtype=np.int64)
        for number, index in situation_of_shape.items():
            lookup[number] = index
        return Histories(
            ticket_ids=self.ticket_ids[rows],
            severity=severity.astype(np.int64),
            event_ticket=event_ticket,
            kind=kind,
            at_us=self.at_us[low:high][kept],
            value=codes[shape, 1],
            situation=lookup[opening] if len(rows) else np.zeros(0, dtype=np.int64),
            situations=tuple(pairs) or ((None, None),),
        )


def _code(policy: Policy, shape: Shape, ranks_of: Policy | None) -> tuple[int, int, int, int]:
    """A shape under `policy`: its kind, its value, and for an opening the severity rank (-1 if unknown)."""
    event = shape.event
    if shape.type not in READ_DATA:
        kind, value = kind_of(policy, shape.type, {})
        return kind, value, -1, 0
    if event is None:
        return Kind.OTHER, 0, -1, 0
    data = shape.data
    rank = -1
    if isinstance(event, OpenedEvent):
        rank = _rank(policy, event.severity, ranks_of)
    elif shape.type == "severity" and ranks_of is not None:
        translated = _rank(policy, data.get("to"), ranks_of)
        if translated < 0:
            return Kind.OTHER, 0, -1, 0
        data = {**data, "to": translated}
    kind, value = kind_of(policy, shape.type, {"by": event.by, **data})
    return kind, value, rank, 0


def _rank(policy: Policy, severity: Any, ranks_of: Policy | None) -> int:
    """The severity's rank under `policy` (read under `ranks_of` first, if given); -1 if either lacks it."""
    if severity is None:
        return -1
    try:
        rank = (ranks_of or policy).severity(severity).rank
        return policy.severity(rank).rank
    except SladeskError:
        return -1


def micros(instant: datetime) -> int:
    """An aware instant as exact epoch microseconds."""
    return (instant - _EPOCH) // _ONE_MICROSECOND


def read_histories(
    session: Session, tickets: Sequence[int] | Select[Any], progress: Progress | None = None
) -> StoredHistories:
    """The labels and histories of the tickets given by id or by a select of their ids, in id order (ids of
    tickets not stored are left out). On PostgreSQL a select is read inside the copies, not sent as ids."""
    if session.get_bind().dialect.name == "postgresql":
        if isinstance(tickets, Select):
            compiled = tickets.compile(dialect=session.get_bind().dialect)
            chosen, params = f"IN ({compiled})", dict(compiled.params)
        else:
            chosen, params = "= ANY(%(ids)s)", {"ids": sorted(set(tickets))}
        found, events = _copy(session, chosen, params)
    else:
        chosen_ids = session.scalars(tickets) if isinstance(tickets, Select) else tickets
        ids = sorted({int(ticket_id) for ticket_id in chosen_ids})
        found, events = _select(session, ids, progress)
    if progress is not None:
        progress(len(found), len(found))
    return _assemble(found, events)


# the event types whose data the clocks read; the others are read by their type alone (quiet, or a shape the
# bulk replay leaves to the one-at-a-time replay)
READ_DATA = ("opened", "reply", "attachment", "status", "severity", "outside_incident")
_TICKETS = ("id", "organisation_id", "team_id", "assignee_id", "tier", "policy_id", "policy_version")
# a ticket's id and what a report groups it by, as `TicketLabels` holds them
LABEL_COLUMNS = tuple(getattr(Ticket, name) for name in _TICKETS)
_EVENTS = ("ticket_id", "sequence", "type", "at_us", "data")


def _copy(session: Session, chosen: str, params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both reads as `COPY ... TO STDOUT` on the session's connection (inside its transaction), of the tickets
    whose id is `chosen` (`IN (SELECT ...)` or `= ANY(...)`, with `params`)."""
    connection: Any = session.connection().connection.driver_connection
    with connection.cursor() as cursor:  # compiling the scans costs more than it saves, for this transaction
        cursor.execute("SET LOCAL jit = off")
    kinds = ", ".join(repr(kind) for kind in READ_DATA)
    tickets = _copied(
        connection,
        "COPY (SELECT id, organisation_id, coalesce(team_id, -1), coalesce(assignee_id, -1), tier, policy_id, "
        f"policy_version FROM tickets WHERE id {chosen} ORDER BY id) TO STDOUT (FORMAT csv)",
        params,
        _TICKETS,
        {"id": np.int64, "organisation_id": np.int64, "team_id": np.int64, "assignee_id": np.int64, "tier": object},
    )
    events = _copied(
        connection,
        "COPY (SELECT ticket_id, sequence, type, (extract(epoch FROM at) * 1000000)::bigint, "
        f"CASE WHEN type IN ({kinds}) THEN data::text END "
        f"FROM ticket_events WHERE ticket_id {chosen}) TO STDOUT (FORMAT csv)",
        params,
        _EVENTS,
        {"ticket_id": np.int64, "sequence": np.int64, "at_us": np.int64, "type": "category", "data": "category"},
    )
    return tickets, events


def _copied(connection: Any, statement: str, params: dict[str, Any], names: Sequence[str], types: Any) -> pd.DataFrame:
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(statement, params) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    if not buffer.getbuffer().nbytes:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    frame = pd.read_csv(buffer, names=list(names), dtype=types, keep_default_na=False, na_values={"tier": [""]})
    return frame


def _select(session: Session, ids: list[int], progress: Progress | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    ticket_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        ticket_rows += [tuple(row) for row in session.execute(select(*LABEL_COLUMNS).where(Ticket.id.in_(batch)))]
        event_rows += [
            (ticket_id, sequence, kind, micros(at), json.dumps(data, sort_keys=True) if kind in READ_DATA else "")
            for ticket_id, sequence, kind, at, data in session.execute(
                select(
                    TicketEvent.ticket_id, TicketEvent.sequence, TicketEvent.type, TicketEvent.at, TicketEvent.data
                ).where(TicketEvent.ticket_id.in_(batch))
            )
        ]
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    tickets = pd.DataFrame(ticket_rows, columns=list(_TICKETS))
    tickets = tickets.sort_values("id", kind="stable") if len(tickets) else tickets
    return tickets, pd.DataFrame(event_rows, columns=list(_EVENTS))


def _assemble(tickets: pd.DataFrame, events: pd.DataFrame) -> StoredHistories:
    ticket_ids = tickets["id"].to_numpy(dtype=np.int64)
    if len(events):
        grouped = events.groupby(["type", "data"], sort=False, observed=True)
        shape_of = grouped.ngroup().to_numpy().astype(np.int64)
        distinct = grouped.head(1)[["type", "data"]]
        shapes = tuple(_shape(str(kind), str(text)) for kind, text in distinct.itertuples(index=False))
        order = np.lexsort((events["sequence"].to_numpy(), events["ticket_id"].to_numpy()))
        event_ids = events["ticket_id"].to_numpy(dtype=np.int64)[order]
        at_us = events["at_us"].to_numpy(dtype=np.int64)[order]
        shape_of = shape_of[order]
    else:
        shapes, event_ids = (), np.zeros(0, dtype=np.int64)
        at_us, shape_of = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    event_ticket = np.searchsorted(ticket_ids, event_ids)
    return StoredHistories(
        ticket_ids=ticket_ids,
        organisation_id=tickets["organisation_id"].to_numpy(dtype=np.int64),
        team_id=_ids(tickets["team_id"]),
        assignee_id=_ids(tickets["assignee_id"]),
        tier=tuple(None if tier is None or tier != tier else str(tier) for tier in tickets["tier"].tolist()),
        policy_id=tuple(str(policy) for policy in tickets["policy_id"].tolist()),
        policy_version=tickets["policy_version"].to_numpy(dtype=np.int64),
        event_ticket=event_ticket.astype(np.int64),
        at_us=at_us,
        shape=shape_of,
        shapes=shapes,
    )


def _ids(column: pd.Series) -> IntArray:
    values: IntArray = column.fillna(NONE_ID).to_numpy(dtype=np.int64)
    return values


def _shape(kind: str, text: str) -> Shape:
    if kind not in READ_DATA:
        return Shape(kind, {}, None)
    data = json.loads(text) if text else {}
    try:
        event: Event | None = event_of(kind, _SOME_INSTANT, data)
    except (SladeskError, ValueError, TypeError):
        event = None
    return Shape(kind, data if isinstance(data, dict) else {}, event)
