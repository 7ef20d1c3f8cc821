"""Ticket use cases: each is one transaction that appends one event and refreshes the clocks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sladesk.errors import InputError, SladeskError, UnknownPolicyError
from sladesk.policy import Policy
from sladesk.services.actors import Actor, Role
from sladesk.services.clocks import apply_report, clock_rows, refresh_clocks, sla_events, ticket_policy
from sladesk.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidFieldError,
    NotFoundError,
    StaleVersionError,
)
from sladesk.services.policies import pin_policy
from sladesk.sla import TicketFacts, replay
from sladesk.store.tables import Comment, Organisation, SlaClock, Ticket, TicketEvent, User

Sessions = sessionmaker[Session]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Change:
    """What a use case did: the ticket as it now is and the event it appended.

    `clocks` are the ticket's clock rows when the use case wrote them all itself (a new ticket), so the
    answer needs no second read; None otherwise.
    """

    ticket: Ticket
    event: TicketEvent
    clocks: list[SlaClock] | None = None


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def open_ticket(
    sessions: Sessions,
    actor: Actor,
    *,
    subject: str,
    description: str,
    severity: int | str,
    category: str | None = None,
    intake: Mapping[str, Any] | None = None,
    organisation_id: int | None = None,
    requester_id: int | None = None,
    follow_up_of: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Open a ticket under its organisation's policy; the requester's severity is kept apart.

    A new ticket's history is its one `opened` event, so its clocks come from a replay in memory and
    the ticket, the event and the clock rows are written once each, already in their final state.
    """
    at = _now(now)
    if actor.role is Role.CUSTOMER:
        if organisation_id not in (None, actor.organisation_id) or requester_id not in (None, actor.user_id):
            raise ForbiddenError("customers open tickets for themselves in their own organisation")
        organisation_id, requester_id = actor.organisation_id, actor.user_id
    if organisation_id is None:
        raise InvalidFieldError("organisation_id", "give the organisation the ticket is opened for")
    with sessions.begin() as session:
        organisation, requester = _organisation_and_requester(session, organisation_id, requester_id)
        try:
            policy = pin_policy(session, organisation.policy_id)
        except UnknownPolicyError as error:
            raise ConflictError(f"organisation {organisation.id}: {error}") from None
        rank = _severity_rank(policy, severity)
        _check_text("subject", subject, 300)
        _check_text("description", description, 100_000)
        if category is not None and policy.spec.categories:
            known = [c.id for c in policy.spec.categories]
            if category not in known:
                raise InvalidFieldError("category", f"{category!r} is not one of {', '.join(known)}")
        answers = check_intake(policy, intake or {})
        if follow_up_of is not None:
            earlier = session.get(Ticket, follow_up_of)
            if earlier is None or not actor.may_see_organisation(earlier.organisation_id):
                raise InvalidFieldError("follow_up_of", f"no ticket {follow_up_of}")
        ticket = Ticket(
            organisation_id=organisation.id,
            requester_id=requester.id,
            subject=subject.strip(),
            description=description,
            tier_rank=policy.tier_rank(organisation.tier),
            requested_severity_rank=rank if actor.role is Role.CUSTOMER else None,
            category=category,
            policy_id=policy.id,
            policy_version=policy.version,
            intake=answers,
            outside_incident=False,
            follow_up_of_id=follow_up_of,
            version=1,
            public_version=1,
            opened_at=at,
            updated_at=at,
            public_updated_at=at,
        )
        data: dict[str, Any] = {"severity": rank, "by": "agent" if actor.is_staff else "customer"}
        if follow_up_of is not None:
            data["follow_up_of"] = follow_up_of
        event = TicketEvent(sequence=1, at=at, type="opened", actor_id=actor.user_id, data=data)
        facts = TicketFacts(severity=rank, tier=organisation.tier, category=category)
        report = replay(policy, facts, sla_events([event]), at)
        apply_report(ticket, report)
        session.add(ticket)
        session.flush()  # the ticket's id, for the event and the clock rows
        event.ticket_id = ticket.id
        clocks = clock_rows(ticket.id, report, at)
        session.add(event)
        session.add_all(clocks)
    return Change(ticket, event, sorted(clocks, key=lambda clock: clock.metric))


def _organisation_and_requester(
    session: Session, organisation_id: int, requester_id: int | None
) -> tuple[Organisation, User]:
    """The ticket's organisation and a requester who belongs to it, read in one statement."""
    if requester_id is not None:
        row = session.execute(
            select(Organisation, User)
            .join(User, User.organisation_id == Organisation.id)
            .where(Organisation.id == organisation_id, User.id == requester_id, User.active.is_(True))
        ).one_or_none()
        if row is not None:
            return row[0], row[1]
    if session.get(Organisation, organisation_id) is None:
        raise InvalidFieldError("organisation_id", f"no organisation {organisation_id}")
    raise InvalidFieldError("requester_id", "the requester must be an active user of the ticket's organisation")


def reply(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    body: str,
    *,
    public: bool = True,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """A public reply (agents' first one stops first response) or, for staff, an internal note."""
    if not public and not actor.is_staff:
        raise ForbiddenError("only agents and admins write internal notes")
    _check_text("body", body, 100_000)

    def change(session: Session, ticket: Ticket, at: datetime) -> TicketEvent:
        by = "agent" if actor.is_staff else "customer"
        event = append_event(session, ticket, actor, "reply", {"by": by, "public": public}, at)
        session.add(
            Comment(
                ticket_id=ticket.id, event_id=event.id, author_id=actor.user_id, public=public, body=body, created_at=at
            )
        )
        return event

    return change_ticket(sessions, actor, ticket_id, expected_version, now, change)


def change_status(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    to: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Move the ticket along a transition its policy allows (customers may only resolve or close)."""

    def change(session: Session, ticket: Ticket, at: datetime) -> TicketEvent:
        policy = ticket_policy(session, ticket)
        try:
            policy.status(to)
        except SladeskError as error:
            raise InvalidFieldError("status", str(error)) from None
        if not actor.is_staff and not policy.is_finished(to):
            raise ForbiddenError("customers may only resolve or close their tickets")
        if to == ticket.status or not policy.can_move(ticket.status, to):
            allowed = ", ".join(policy.spec.transitions.get(ticket.status, ())) or "none"
            hint = f" ({policy.spec.reopen.otherwise})" if policy.spec.reopen.otherwise else ""
            raise ConflictError(f"status cannot move from {ticket.status!r} to {to!r} (allowed: {allowed}){hint}")
        return append_event(session, ticket, actor, "status", {"to": to}, at)

    return change_ticket(sessions, actor, ticket_id, expected_version, now, change)


def change_severity(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    to: int | str,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Support assigns a severity, with a reason; its targets apply from the clocks' original start."""
    if not actor.is_staff:
        raise ForbiddenError("severity is assigned by support")
    _check_text("reason", reason, 2000)

    def change(session: Session, ticket: Ticket, at: datetime) -> TicketEvent:
        rank = _severity_rank(ticket_policy(session, ticket), to)
        if rank == ticket.severity_rank:
            raise ConflictError(f"the ticket already has severity {rank}")
        return append_event(session, ticket, actor, "severity", {"to": rank, "reason": reason.strip()}, at)

    return change_ticket(sessions, actor, ticket_id, expected_version, now, change)


def assign(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    assignee_id: int | None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Give the ticket to an agent (or to nobody)."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins assign tickets")

    def change(session: Session, ticket: Ticket, at: datetime) -> TicketEvent:
        if assignee_id is not None:
            assignee = session.get(User, assignee_id)
            if assignee is None or assignee.role == Role.CUSTOMER or not assignee.active:
                raise InvalidFieldError("assignee_id", f"no active agent {assignee_id}")
        ticket.assignee_id = assignee_id
        return append_event(session, ticket, actor, "assigned", {"to": assignee_id}, at)

    return change_ticket(sessions, actor, ticket_id, expected_version, now, change)


def set_outside_incident(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    reason: str | None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Mark the ticket as caused by an outside incident (breaches become excused), or clear it with None."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins mark outside incidents")

    def change(session: Session, ticket: Ticket, at: datetime) -> TicketEvent:
        if reason is not None:
            _check_text("reason", reason, 2000)
        ticket.outside_incident = reason is not None
        ticket.outside_incident_reason = reason
        data = {"set": reason is not None, "reason": reason}
        return append_event(session, ticket, actor, "outside_incident", data, at)

    return change_ticket(sessions, actor, ticket_id, expected_version, now, change)


def merge_duplicate(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    into_id: int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Close a duplicate into another ticket of the same organisation; each ticket records it in its history."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins merge tickets")
    if into_id == ticket_id:
        raise InvalidFieldError("into", "a ticket cannot be merged into itself")

    def change(session: Session, ticket: Ticket, at: datetime) -> TicketEvent:
        target = session.get(Ticket, into_id, with_for_update=True)
        if target is None or target.organisation_id != ticket.organisation_id:
            raise InvalidFieldError("into", f"no ticket {into_id} in the same organisation")
        if ticket.merged_into_id is not None:
            raise ConflictError(f"ticket {ticket.id} is already merged into {ticket.merged_into_id}")
        policy = ticket_policy(session, ticket)
        closed = next((s.id for s in policy.spec.statuses if s.kind.value == "closed"), None)
        if closed is None or not policy.can_move(ticket.status, closed):
            raise ConflictError(f"status cannot move from {ticket.status!r} to a closed status to merge")
        ticket.merged_into_id = target.id
        merged = append_event(session, target, actor, "merged", {"from": ticket.id}, at)
        bump_version(target, merged, at)
        return append_event(session, ticket, actor, "status", {"to": closed, "merged_into": target.id}, at)

    return change_ticket(sessions, actor, ticket_id, expected_version, now, change)


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the actor may see it; otherwise the same NotFound as for a ticket that does not exist.

    `for_update` locks the row (PostgreSQL), so concurrent writers to one ticket take turns.
    """
    ticket = session.get(Ticket, ticket_id, with_for_update=for_update)
    if ticket is None or not actor.may_see_organisation(ticket.organisation_id):
        raise NotFoundError(f"no ticket {ticket_id}")
    return ticket


def check_intake(policy: Policy, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The policy's intake answers, checked field by field (`intake.<id>` names the failing one)."""
    fields = {f.id: f for f in policy.spec.intake}
    for key in answers:
        if key not in fields:
            raise InvalidFieldError(f"intake.{key}", f"unknown field (known: {', '.join(fields) or 'none'})")
    checked: dict[str, Any] = {}
    for field in policy.spec.intake:
        value = answers.get(field.id)
        if value is None or value == "":
            if field.required:
                raise InvalidFieldError(f"intake.{field.id}", f"{field.label} is required")
            continue
        if field.type == "attachment":
            raise InvalidFieldError(f"intake.{field.id}", "attach files to the ticket instead of sending them here")
        if not isinstance(value, str):
            raise InvalidFieldError(f"intake.{field.id}", "must be text")
        if field.type == "email" and not _EMAIL.match(value):
            raise InvalidFieldError(f"intake.{field.id}", f"{value!r} is not an email address")
        if field.type == "choice" and value not in field.choices:
            raise InvalidFieldError(f"intake.{field.id}", f"choose one of: {', '.join(field.choices)}")
        if field.type == "datetime":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise InvalidFieldError(f"intake.{field.id}", f"{value!r} is not an ISO 8601 date and time") from None
        checked[field.id] = value
    return checked


def change_ticket(
    sessions: Sessions,
    actor: Actor,
    ticket_id: int,
    expected_version: int | None,
    now: datetime | None,
    change: Callable[[Session, Ticket, datetime], TicketEvent],
) -> Change:
    """Run `change` on the locked ticket in one transaction: check the version, then refresh the clocks.

    Every ticket use case goes through here, so each appends its one event and bumps the version once.
    """
    with sessions.begin() as session:
        ticket = get_ticket(session, actor, ticket_id, for_update=True)
        current = visible_version(ticket, actor)
        if expected_version is not None and current != expected_version:
            raise StaleVersionError(ticket_id, expected_version, current)
        at = max(_now(now), _last_event_at(session, ticket))
        event = change(session, ticket, at)
        bump_version(ticket, event, at)
        try:
            refresh_clocks(session, ticket, at)
        except InputError as error:  # the history the engine refuses: a transition the policy forbids
            raise ConflictError(str(error)) from None
    return Change(ticket, event)


def visible_version(ticket: Ticket, actor: Actor) -> int:
    """The version the actor sees and sends back in If-Match: customers' counts only what they see."""
    return ticket.version if actor.is_staff else ticket.public_version


def bump_version(ticket: Ticket, event: TicketEvent, at: datetime) -> None:
    """One more version for the event; the customers' version and change time move only if they see it."""
    ticket.version += 1
    ticket.updated_at = at
    if event.public:
        ticket.public_version += 1
        ticket.public_updated_at = at


def append_event(
    session: Session, ticket: Ticket, actor: Actor, kind: str, data: dict[str, Any], at: datetime
) -> TicketEvent:
    """The ticket's next event in its history (sequence numbers start at 1)."""
    sequence = session.scalar(
        select(func.coalesce(func.max(TicketEvent.sequence), 0)).where(TicketEvent.ticket_id == ticket.id)
    )
    event = TicketEvent(
        ticket_id=ticket.id, sequence=(sequence or 0) + 1, at=at, type=kind, actor_id=actor.user_id, data=data
    )
    session.add(event)
    session.flush()
    return event


def _last_event_at(session: Session, ticket: Ticket) -> datetime:
    last = session.scalar(select(func.max(TicketEvent.at)).where(TicketEvent.ticket_id == ticket.id))
    return last if last is not None else ticket.opened_at


def _severity_rank(policy: Policy, value: int | str) -> int:
    try:
        return policy.severity(value).rank
    except SladeskError as error:
        raise InvalidFieldError("severity", str(error)) from None


def _check_text(field: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFieldError(field, "must not be empty")
    if len(value) > limit:
        raise InvalidFieldError(field, f"is {len(value)} characters long; the limit is {limit}")
