"""The overload notice on a desk: when a policy's desk is overloaded, each waiting customer is told once
when help arrives (the policy's `overload_notice`; the decision itself is `sladesk.sla.overload`).

`send_overload_notices` runs in the caller's unit of work (a worker's chore, every minute). For each
policy with open tickets whose current version has an `overload_notice`, it asks the policy's on-call
schedule whether anyone is on shift now and when the next shift starts, reads the open tickets' clocks
at `now`, and records one `overload_notice` event through the write seam for each waiting ticket that
has had none, with an email to the requester that gives the arrival in the requester's time zone (else
their organisation's, else the policy's). The tickets are locked first (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, the write lock on SQLite) and their histories read again under the lock, so two workers
never tell a ticket twice: a ticket another worker holds is left to it, and one it has told since
shows the notice in its history. A schedule the desk does not have is logged and the policy skipped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.policy.model import OverloadNoticeSpec
from sladesk.services.clocks import instants_of, ticket_policy
from sladesk.services.errors import NotFoundError
from sladesk.services.notifications import label
from sladesk.services.oncall import load_schedule, next_on_call, who_is_on_call
from sladesk.services.policies import current_policy
from sladesk.services.record import Change, prepare_change, record_changes
from sladesk.sla import Event, event_of, read_clock
from sladesk.sla.events import NoticeEvent, OverloadCause
from sladesk.sla.overload import WaitingTicket, notice_text, overload_notices, share_waited
from sladesk.store.tables import Organisation, SlaClock, Ticket, TicketEvent, User

log = logging.getLogger("sladesk.overload")


@dataclass(frozen=True)
class OverloadRun:
    """What one run found for one policy: why it is overloaded (None: it is not), when help arrives, and
    the tickets told now (read without writing: the tickets to tell)."""

    policy_id: str
    cause: OverloadCause | None
    arrival: datetime | None
    told: tuple[int, ...]


def send_overload_notices(session: Session, now: datetime) -> list[OverloadRun]:
    """Tell the waiting customers of every overloaded policy once when help arrives; one run per policy
    with an `overload_notice` and open tickets."""
    return _runs(session, now, record=True)


def overload_notices_due(session: Session, now: datetime) -> int:
    """How many tickets `send_overload_notices` would tell at `now`, read without writing (so a worker takes
    the write lock only when there is someone to tell)."""
    return sum(len(run.told) for run in _runs(session, now, record=False))


def _runs(session: Session, now: datetime, *, record: bool) -> list[OverloadRun]:
    open_policies = session.scalars(select(Ticket.policy_id).where(Ticket.is_open.is_(True)).distinct()).all()
    runs = []
    for policy_id in sorted(open_policies):
        try:
            policy = current_policy(session, policy_id)
        except SladeskError:
            log.warning("overload notice skipped: unknown policy", extra={"policy": policy_id})
            continue
        rule = policy.spec.overload_notice
        if rule is not None:
            run = _run_policy(session, policy, rule, now, record)
            if run is not None:
                runs.append(run)
    return runs


def _run_policy(
    session: Session, policy: Policy, rule: OverloadNoticeSpec, now: datetime, record: bool
) -> OverloadRun | None:
    try:
        schedule = load_schedule(session, rule.schedule)
    except NotFoundError:
        log.warning(
            "overload notice skipped: the desk has no such on-call schedule",
            extra={"policy": policy.id, "schedule": rule.schedule},
        )
        return None
    on_shift = bool(who_is_on_call(schedule, now))
    shift = next_on_call(schedule, now)
    waiting = _waiting(session, policy.id, rule, now, _open_tickets(session, policy.id))
    decision = overload_notices(rule, waiting, on_shift=on_shift, arrival=shift.start if shift else None)
    if decision.cause is not None and decision.arrival is None:
        log.warning(
            "overload notice not sent: no shift with someone on call ahead",
            extra={"policy": policy.id, "schedule": rule.schedule},
        )
    if not record:
        return OverloadRun(policy.id, decision.cause, decision.arrival, _with_customer(session, decision.tickets))
    told = _tell(session, policy, rule, decision.cause, decision.arrival, decision.tickets, now)
    return OverloadRun(policy.id, decision.cause, decision.arrival, told)


def _with_customer(session: Session, ticket_ids: Sequence[int]) -> tuple[int, ...]:
    """Those of the tickets whose requester is an active customer: someone outside to tell."""
    if not ticket_ids:
        return ()
    query = (
        select(Ticket.id)
        .join(User, User.id == Ticket.requester_id)
        .where(Ticket.id.in_(ticket_ids), User.active.is_(True), User.role == "customer")
        .order_by(Ticket.id)
    )
    return tuple(session.scalars(query))


def _open_tickets(session: Session, policy_id: str) -> list[Ticket]:
    query = select(Ticket).where(Ticket.policy_id == policy_id, Ticket.is_open.is_(True)).order_by(Ticket.id)
    return list(session.scalars(query))


def _waiting(
    session: Session, policy_id: str, rule: OverloadNoticeSpec, now: datetime, tickets: Sequence[Ticket]
) -> list[WaitingTicket]:
    """The tickets waiting on support at `now`, each with the largest share of a running target it used
    and whether it was told of an overload before (read from its history)."""
    ids = [ticket.id for ticket in tickets]
    if not ids:
        return []
    clocks: dict[int, list[SlaClock]] = defaultdict(list)
    for row in session.scalars(select(SlaClock).where(SlaClock.ticket_id.in_(ids))):
        clocks[row.ticket_id].append(row)
    told = set(
        session.scalars(
            select(TicketEvent.ticket_id)
            .where(TicketEvent.ticket_id.in_(ids), TicketEvent.type == "overload_notice")
            .distinct()
        )
    )
    metrics = rule.when.metrics if rule.when is not None else ()
    waiting = []
    for ticket in tickets:
        try:
            policy = ticket_policy(session, ticket)
            kind = policy.status(ticket.status).kind
            readings = []
            for row in clocks[ticket.id]:
                instants = instants_of(row)
                readings.append((instants, read_clock(instants, policy.calendar(instants.calendar_id), now)))
        except SladeskError:  # a policy version or status the desk no longer knows: not this ticket's turn
            log.warning("overload notice: ticket skipped", extra={"policy": policy_id, "ticket": ticket.id})
            continue
        share = share_waited(kind, readings, metrics)
        if share is not None:
            waiting.append(WaitingTicket(ticket.id, share, ticket.id in told))
    return waiting


def _tell(
    session: Session,
    policy: Policy,
    rule: OverloadNoticeSpec,
    cause: OverloadCause | None,
    arrival: datetime | None,
    ticket_ids: Sequence[int],
    now: datetime,
) -> tuple[int, ...]:
    """Record one notice on each ticket still waiting and untold once locked; the ids told."""
    if cause is None or arrival is None or not ticket_ids:
        return ()
    query = select(Ticket).where(Ticket.id.in_(ticket_ids)).order_by(Ticket.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a ticket another worker or a request holds: theirs
    locked = list(session.scalars(query.execution_options(populate_existing=True)))
    still = {t.ticket_id for t in _waiting(session, policy.id, rule, now, locked) if not t.noticed}
    histories = _histories(session, sorted(still))
    changes: list[Change] = []
    for ticket in locked:
        if ticket.id not in still:
            continue
        requester = session.get(User, ticket.requester_id)
        if requester is None or not requester.active or requester.role != "customer":
            continue  # nobody outside to tell
        zone = _zone_of(session, requester, ticket) or policy.tz
        event = NoticeEvent(
            at=max(now, ticket.updated_at),
            arrival=arrival,
            cause=cause,
            text=notice_text(rule, arrival, zone),
            notified=(label(requester),),
        )
        try:
            change = prepare_change(
                ticket,
                event,
                actor_id=None,
                prior=histories[ticket.id],
                policy=ticket_policy(session, ticket),
                told=[requester],
            )
        except SladeskError:
            log.warning("overload notice: ticket skipped", extra={"policy": policy.id, "ticket": ticket.id})
            continue
        changes.append(change)
    record_changes(session, changes)
    for change in changes:
        log.info(
            "overload notice",
            extra={"policy": policy.id, "ticket": change.ticket.id, "cause": cause, "arrival": arrival.isoformat()},
        )
    return tuple(change.ticket.id for change in changes)


def _zone_of(session: Session, requester: User, ticket: Ticket) -> ZoneInfo | None:
    """The zone the requester reads times in: their own, else their organisation's (None: the policy's)."""
    if requester.timezone:
        return ZoneInfo(requester.timezone)
    organisation = session.get(Organisation, ticket.organisation_id)
    return ZoneInfo(organisation.timezone) if organisation is not None and organisation.timezone else None


def _histories(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[Event]]:
    """The whole history of each ticket, oldest first, in one query."""
    histories: dict[int, list[Event]] = {ticket_id: [] for ticket_id in ticket_ids}
    if not ticket_ids:
        return histories
    rows = session.execute(
        select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.at, TicketEvent.data)
        .where(TicketEvent.ticket_id.in_(ticket_ids))
        .order_by(TicketEvent.ticket_id, TicketEvent.sequence)
    )
    for ticket_id, kind, at, data in rows:
        histories[ticket_id].append(event_of(kind, at, data))
    return histories
