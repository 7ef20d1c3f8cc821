"""Ticket use cases: each runs in its caller's unit of work and records one event through `record_change`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError, UnknownPolicyError
from sladesk.policy import Policy
from sladesk.policy.model import StatusKind
from sladesk.policy.policy import Situation
from sladesk.services.actors import Actor, Role
from sladesk.services.clocks import ticket_policy
from sladesk.services.contacts import check_may_open
from sladesk.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidFieldError,
    NotFoundError,
    StaleVersionError,
)
from sladesk.services.policies import pin_policy
from sladesk.services.record import record_change
from sladesk.services.teams import routed_team_row, team_by_slug
from sladesk.sla import Event
from sladesk.sla.events import (
    AssignedEvent,
    AttachmentEvent,
    BelievedResolvedEvent,
    CategoryEvent,
    CommsEvent,
    MergedEvent,
    OpenedEvent,
    OutsideIncidentEvent,
    PathEvent,
    ReplyEvent,
    SeverityEvent,
    StatusEvent,
    TeamEvent,
    TierEvent,
    TriagedEvent,
)
from sladesk.store.tables import Comment, Organisation, SlaClock, Team, Ticket, TicketEvent, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Change:
    """What a use case did: the ticket as it now is, the event it appended, and the ticket's clock rows."""

    ticket: Ticket
    event: TicketEvent
    clocks: list[SlaClock]


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def open_ticket(
    session: Session,
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

    The organisation's tier is recorded on the ticket when it opens: moving the organisation later
    changes its new tickets, never this one.
    """
    at = _now(now)
    if actor.role is Role.CUSTOMER:
        if organisation_id not in (None, actor.organisation_id) or requester_id not in (None, actor.user_id):
            raise ForbiddenError("customers open tickets for themselves in their own organisation")
        organisation_id, requester_id = actor.organisation_id, actor.user_id
    if organisation_id is None:
        raise InvalidFieldError("organisation_id", "give the organisation the ticket is opened for")
    organisation, requester = _organisation_and_requester(session, organisation_id, requester_id)
    opening = Opening(
        organisation_id=organisation.id,
        requester_id=requester.id,
        subject=subject,
        description=description,
        severity=severity,
        opened_at=at,
        category=category,
        intake=intake,
        follow_up_of=follow_up_of,
    )
    ticket, event, policy = prepare_opening(session, actor, opening, organisation, requester=requester)
    recorded = record_change(session, ticket, event, actor_id=actor.user_id, prior=[], policy=policy)
    return Change(ticket, recorded.event, recorded.clocks)


@dataclass(frozen=True)
class Opening:
    """What opening one ticket takes, for the requester of an organisation, at an instant."""

    organisation_id: int
    requester_id: int
    subject: str
    description: str
    severity: int | str
    opened_at: datetime
    category: str | None = None
    intake: Mapping[str, Any] | None = None
    follow_up_of: int | None = None


def prepare_opening(
    session: Session,
    actor: Actor,
    opening: Opening,
    organisation: Organisation,
    *,
    requester: User | None = None,
    policy: Policy | None = None,
) -> tuple[Ticket, OpenedEvent, Policy]:
    """Check an opening against its organisation's current policy: the new ticket row and its `opened` event.

    With `requester` (the user the ticket is opened for), a policy that lets only support contacts open tickets
    is enforced on them (an import, which gives none, records tickets that were opened elsewhere). The first
    routing rule of the policy that matches the ticket's facts sends it to its team, created if the desk has
    none by that id yet. `policy` is the organisation's policy as `pin_policy` gave it, for a caller that opens
    many tickets and pins each policy once.
    """
    try:
        policy = policy or pin_policy(session, organisation.policy_id)
    except UnknownPolicyError as error:
        raise ConflictError(f"organisation {organisation.id}: {error}") from None
    if requester is not None:
        check_may_open(session, policy, organisation, requester, on_behalf=actor.user_id != requester.id)
    rank = _severity_rank(policy, opening.severity)
    _check_text("subject", opening.subject, 300)
    _check_text("description", opening.description, 100_000)
    if opening.category is not None:
        _check_category(policy, opening.category)
    tier = organisation.tier
    try:
        policy.tier_rank(tier)
    except SladeskError as error:
        raise ConflictError(f"organisation {organisation.id}: {error}") from None
    answers = check_intake(policy, opening.intake or {})
    if opening.follow_up_of is not None:
        earlier = session.get(Ticket, opening.follow_up_of)
        if earlier is None or not actor.may_see_organisation(earlier.organisation_id):
            raise InvalidFieldError("follow_up_of", f"no ticket {opening.follow_up_of}")
    at = opening.opened_at
    routed = policy.route(policy.severity(rank), Situation(opening.category, tier, None), answers)
    team = routed_team_row(session, policy, routed, at) if routed is not None else None
    ticket = Ticket(
        organisation_id=organisation.id,
        requester_id=opening.requester_id,
        subject=opening.subject.strip(),
        description=opening.description,
        requested_severity_rank=rank if actor.role is Role.CUSTOMER else None,
        policy_id=policy.id,
        policy_version=policy.version,
        intake=answers,
        outside_incident=False,
        follow_up_of_id=opening.follow_up_of,
        team_id=team.id if team is not None else None,
        version=1,
        public_version=1,
        opened_at=at,
        updated_at=at,
        public_updated_at=at,
    )
    event = OpenedEvent(
        at=at,
        by="agent" if actor.is_staff else "customer",
        severity=rank,
        tier=tier,
        category=opening.category,
        follow_up_of=opening.follow_up_of,
        team=team.slug if team is not None else None,
        support_contact=requester.support_contact if requester is not None and not actor.is_staff else None,
    )
    return ticket, event, policy


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
    session: Session,
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
    by: Literal["agent", "customer"] = "agent" if actor.is_staff else "customer"
    change = change_ticket(
        session,
        actor,
        ticket_id,
        expected_version,
        now,
        lambda ticket, at: ReplyEvent(at=at, by=by, public_reply=public),
    )
    session.add(
        Comment(
            ticket_id=ticket_id,
            event_id=change.event.id,
            author_id=actor.user_id,
            public=public,
            body=body,
            created_at=change.event.at,
        )
    )
    return change


def change_status(
    session: Session,
    actor: Actor,
    ticket_id: int,
    to: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Move the ticket along a transition its policy allows (customers may only resolve or close)."""

    def change(ticket: Ticket, at: datetime) -> Event:
        policy = ticket_policy(session, ticket)
        try:
            policy.status(to)
        except SladeskError as error:
            raise InvalidFieldError("status", str(error)) from None
        if not actor.is_staff and not policy.is_finished(to):
            raise ForbiddenError("customers may only resolve or close their tickets")
        _check_transition(policy, ticket.status, to)
        return StatusEvent(at=at, to=to)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def change_severity(
    session: Session,
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

    def change(ticket: Ticket, at: datetime) -> Event:
        rank = _severity_rank(ticket_policy(session, ticket), to)
        if rank == ticket.severity_rank:
            raise ConflictError(f"the ticket already has severity {rank}")
        return SeverityEvent(at=at, to=rank, reason=reason.strip())

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def confirm_severity(
    session: Session,
    actor: Actor,
    ticket_id: int,
    severity: int | str,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Support confirms a severity for a ticket in triage: triage ends, and the clocks follow the confirmed
    severity from their original start (as any severity change does)."""
    if not actor.is_staff:
        raise ForbiddenError("severity is confirmed by support")
    if reason is not None:
        _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        rank = _severity_rank(ticket_policy(session, ticket), severity)
        if not ticket.awaiting_triage:
            raise ConflictError("the ticket is not awaiting triage: change its severity instead")
        return TriagedEvent(at=at, severity=rank, reason=reason.strip() if reason else None)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def change_path(
    session: Session,
    actor: Actor,
    ticket_id: int,
    to: str | None,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Staff mark the resolution path (`release`, `hotfix`) or clear it, with a reason; the clocks follow."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins change a ticket's resolution path")
    _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        known = [p.id for p in ticket_policy(session, ticket).spec.paths]
        if to is not None and to not in known:
            listed = ", ".join(known) or "none: this policy defines no resolution paths"
            raise InvalidFieldError("path", f"{to!r} is not one of {listed}")
        if to == ticket.path:
            raise ConflictError(f"the ticket already has path {to}")
        return PathEvent(at=at, to=to, reason=reason.strip())

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def mark_believed_resolved(
    session: Session,
    actor: Actor,
    ticket_id: int,
    believed: bool,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Support's structured note that it believes the issue is resolved (or takes it back).

    A policy's auto-close rule may wait for it (`requires: believed_resolved`); a customer's public reply
    after it cancels it.
    """
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins mark a ticket as believed resolved")
    if reason is not None:
        _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        return BelievedResolvedEvent(at=at, set=believed, reason=reason.strip() if reason else None)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def post_comms_update(
    session: Session,
    actor: Actor,
    ticket_id: int,
    channel: Literal["internal", "external"],
    note: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Record that an internal or external update was posted; the next one falls due a cadence later."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins record comms updates")
    if channel not in ("internal", "external"):
        raise InvalidFieldError("channel", "must be internal or external")
    _check_text("note", note, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        return CommsEvent(at=at, action="update", channel=channel, note=note.strip())

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def change_tier(
    session: Session,
    actor: Actor,
    ticket_id: int,
    to: str | None,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Staff change the ticket's own tier (its place in the queue), with a reason."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins change a ticket's tier")
    _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        try:
            ticket_policy(session, ticket).tier_rank(to)
        except SladeskError as error:
            raise InvalidFieldError("tier", str(error)) from None
        if to == ticket.tier:
            raise ConflictError(f"the ticket already has tier {to}")
        return TierEvent(at=at, to=to, reason=reason.strip())

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def change_category(
    session: Session,
    actor: Actor,
    ticket_id: int,
    to: str | None,
    reason: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Staff change the ticket's category (a bug found to be an incident, say), with a reason."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins change a ticket's category")
    _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        if to is not None:
            _check_category(ticket_policy(session, ticket), to)
        if to == ticket.category:
            raise ConflictError(f"the ticket already has category {to}")
        return CategoryEvent(at=at, to=to, reason=reason.strip())

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def assign(
    session: Session,
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

    def change(ticket: Ticket, at: datetime) -> Event:
        if assignee_id is not None:
            assignee = session.get(User, assignee_id)
            if assignee is None or assignee.role == Role.CUSTOMER or not assignee.active:
                raise InvalidFieldError("assignee_id", f"no active agent {assignee_id}")
        ticket.assignee_id = assignee_id
        return AssignedEvent(at=at, to=assignee_id)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def change_team(
    session: Session,
    actor: Actor,
    ticket_id: int,
    to: str | None,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Staff move the ticket to another team's queue (by its slug), or out of every team with None."""
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins move tickets between teams")
    if reason is not None:
        _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        team: Team | None = None
        if to is not None:
            team = team_by_slug(session, to)
            if team is None:
                known = ", ".join(session.scalars(select(Team.slug).order_by(Team.slug))) or "none yet"
                raise InvalidFieldError("team", f"no team {to!r} (teams: {known})")
        if (team.id if team is not None else None) == ticket.team_id:
            raise ConflictError(f"the ticket is already in team {to}" if to else "the ticket is in no team already")
        ticket.team_id = team.id if team is not None else None
        return TeamEvent(at=at, to=to, reason=reason.strip() if reason else None)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def set_outside_incident(
    session: Session,
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
    if reason is not None:
        _check_text("reason", reason, 2000)

    def change(ticket: Ticket, at: datetime) -> Event:
        ticket.outside_incident = reason is not None
        ticket.outside_incident_reason = reason
        return OutsideIncidentEvent(at=at, set=reason is not None, reason=reason)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def merge_duplicate(
    session: Session,
    actor: Actor,
    ticket_id: int,
    into_id: int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Close a duplicate into another ticket of the same organisation; each ticket records it in its history.

    Both rows are locked in id order first, so two crossed merges (A into B, B into A) take turns: the
    second finds its ticket or its target already merged and is refused, never deadlocked.
    """
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins merge tickets")
    if into_id == ticket_id:
        raise InvalidFieldError("into", "a ticket cannot be merged into itself")
    locked = {
        row.id: row
        for row in session.scalars(
            select(Ticket).where(Ticket.id.in_((ticket_id, into_id))).order_by(Ticket.id).with_for_update()
        )
    }
    ticket = locked.get(ticket_id)
    if ticket is None or not actor.may_see_organisation(ticket.organisation_id):
        raise NotFoundError(f"no ticket {ticket_id}")
    target = locked.get(into_id)
    if target is None or target.organisation_id != ticket.organisation_id:
        raise InvalidFieldError("into", f"no ticket {into_id} in the same organisation")

    def change(ticket: Ticket, at: datetime) -> Event:
        if ticket.merged_into_id is not None:
            raise ConflictError(f"ticket {ticket.id} is already merged into {ticket.merged_into_id}")
        if target.merged_into_id is not None:
            raise ConflictError(f"ticket {target.id} is itself merged into {target.merged_into_id}")
        policy = ticket_policy(session, ticket)
        closed = next((s.id for s in policy.spec.statuses if s.kind.value == "closed"), None)
        if closed is None or not policy.can_move(ticket.status, closed):
            raise ConflictError(f"status cannot move from {ticket.status!r} to a closed status to merge")
        ticket.merged_into_id = target.id
        record_change(session, target, MergedEvent(at=at, from_ticket=ticket.id), actor_id=actor.user_id)
        return StatusEvent(at=at, to=closed, merged_into=target.id)

    return change_ticket(session, actor, ticket_id, expected_version, now, change)


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the actor may see it; otherwise the same NotFound as for a ticket that does not exist.

    `for_update` locks the row (PostgreSQL), so concurrent writers to one ticket take turns.
    """
    ticket = session.get(Ticket, ticket_id, with_for_update=for_update)
    if ticket is None or not actor.may_see_organisation(ticket.organisation_id):
        raise NotFoundError(f"no ticket {ticket_id}")
    return ticket


# The longest answer an intake field of each type takes (a choice is one of the policy's own).
INTAKE_MAX_LENGTHS = {"text": 2_000, "long_text": 100_000, "email": 320, "url": 2_048, "datetime": 64}


def check_intake(policy: Policy, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The policy's intake answers, checked field by field (`intake.<id>` names the failing one).

    Each answer is at most as long as `INTAKE_MAX_LENGTHS` allows for its field's type.
    """
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
        longest = INTAKE_MAX_LENGTHS.get(field.type)
        if longest is not None and len(value) > longest:
            raise InvalidFieldError(f"intake.{field.id}", f"must be at most {longest} characters long")
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
    session: Session,
    actor: Actor,
    ticket_id: int,
    expected_version: int | None,
    now: datetime | None,
    change: Callable[[Ticket, datetime], Event],
) -> Change:
    """Lock the ticket, check the version the actor read, and record the one event `change` makes.

    Every change to an existing ticket goes through here, so each appends one event and bumps the
    version once. Events never go back in time: a change is recorded at the ticket's last event at
    the earliest.
    """
    ticket = get_ticket(session, actor, ticket_id, for_update=True)
    current = visible_version(ticket, actor)
    if expected_version is not None and current != expected_version:
        raise StaleVersionError(ticket_id, expected_version, current)
    at = max(_now(now), ticket.updated_at)
    event = change(ticket, at)
    if _updates_conversation(event):
        refusal = closed_refusal(session, ticket)
        if refusal is not None:
            raise refusal
    recorded = record_change(session, ticket, event, actor_id=actor.user_id)
    return Change(ticket, recorded.event, recorded.clocks)


FOLLOW_UP_PORTAL = "/portal/new?follow_up_of={ticket_id}"
FOLLOW_UP_API = "/api/v1/tickets"
CLOSED_HINT = "This ticket is closed: open a new ticket for any update."


class ClosedTicketError(ConflictError):
    """A reply on a ticket that is closed under a policy that refuses updates on closed tickets.

    The message is the policy's hint and where to open the follow-up ticket that takes the update instead;
    `follow_up` holds the same links for a client to follow.
    """

    def __init__(self, ticket_id: int, hint: str) -> None:
        self.ticket_id = ticket_id
        self.hint = hint
        self.portal_url = FOLLOW_UP_PORTAL.format(ticket_id=ticket_id)
        super().__init__(
            f"{hint} Open a follow-up ticket: {self.portal_url} on the portal, or POST {FOLLOW_UP_API} "
            f'with "follow_up_of": {ticket_id}.'
        )

    @property
    def details(self) -> dict[str, Any]:
        return {"follow_up": self.follow_up}

    @property
    def follow_up(self) -> dict[str, object]:
        """Where the follow-up ticket is opened: the portal's form, and the API's request."""
        return {
            "portal": self.portal_url,
            "api": {"method": "POST", "path": FOLLOW_UP_API, "body": {"follow_up_of": self.ticket_id}},
        }


def closed_refusal(session: Session, ticket: Ticket) -> ClosedTicketError | None:
    """The refusal of an update on `ticket`, if it is closed under a policy whose closed tickets take none."""
    policy = ticket_policy(session, ticket)
    if policy.spec.closed.updates != "refused":
        return None
    try:
        closed = policy.status(ticket.status).kind is StatusKind.CLOSED
    except SladeskError:  # a status the policy version no longer knows is not one of its closed ones
        closed = False
    if not closed:
        return None
    hint = (policy.spec.closed.hint or policy.spec.reopen.otherwise or CLOSED_HINT).strip()
    return ClosedTicketError(ticket.id, " ".join(hint.split()))


def _updates_conversation(event: Event) -> bool:
    """Whether the event adds to the conversation the customer sees: a public reply or a public file."""
    if isinstance(event, ReplyEvent):
        return event.public_reply
    return isinstance(event, AttachmentEvent) and event.public_file


def visible_version(ticket: Ticket, actor: Actor) -> int:
    """The version the actor sees and sends back in If-Match: customers' counts only what they see."""
    return ticket.version if actor.is_staff else ticket.public_version


def _check_transition(policy: Policy, current: str, to: str) -> None:
    if to == current or not policy.can_move(current, to):
        allowed = ", ".join(policy.spec.transitions.get(current, ())) or "none"
        hint = f" ({policy.spec.reopen.otherwise})" if policy.spec.reopen.otherwise else ""
        raise ConflictError(f"status cannot move from {current!r} to {to!r} (allowed: {allowed}){hint}")


def _check_category(policy: Policy, category: str) -> None:
    known = [c.id for c in policy.spec.categories]
    if known and category not in known:
        raise InvalidFieldError("category", f"{category!r} is not one of {', '.join(known)}")


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
