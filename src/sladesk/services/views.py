"""Read models: tickets, pages of tickets, the conversation, the history and the queue, as people see them.

Each is a frozen value with visibility already applied (customers see no trace of internal activity)
and every clock read for the reader's `now`, so the API, the pages and the CLI show the same thing.
A page of tickets costs a fixed number of statements: the tickets, then all their clocks at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.actors import Actor
from sladesk.services.clocks import instants_of
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.policies import policy_at
from sladesk.services.tickets import Change, get_ticket, visible_version
from sladesk.sla import ClockInstants, ClockReading, MetricState, event_of, read_clock
from sladesk.sla.queue import QueueEntry, QueuePosition, explain_order
from sladesk.store.tables import Comment, SlaClock, Team, TeamMember, Ticket, TicketEvent, User


@dataclass(frozen=True)
class ClockView:
    instants: ClockInstants
    reading: ClockReading

    @property
    def metric(self) -> str:
        return self.instants.metric_id


@dataclass(frozen=True)
class TicketView:
    """A ticket as one reader sees it at `now`."""

    id: int
    subject: str
    description: str
    status: str
    severity: int
    severity_code: str
    requested_severity: int | None
    category: str | None
    tier: str | None
    organisation_id: int
    requester_id: int
    assignee_id: int | None
    policy_id: str
    policy_version: int
    intake: dict[str, Any]
    outside_incident: str | None
    follow_up_of: int | None
    version: int  # the version the reader sends back in If-Match
    opened_at: datetime
    updated_at: datetime  # the last change the reader can see
    next_due_at: datetime | None
    clocks: tuple[ClockView, ...]
    awaiting_triage: bool = False  # support has not confirmed the severity yet (a policy where support assigns it)
    path: str | None = None  # the resolution path staff marked (`release`, `hotfix`)
    team: str | None = None  # the slug of the team whose queue holds it (staff only)
    pinned_until: datetime | None = None  # a staff pin in force at `now` (staff only)
    pin_reason: str | None = None
    pinned_by: str | None = None  # the pin's author, by name

    @property
    def breached(self) -> bool:
        return any(clock.reading.state is MetricState.BREACHED for clock in self.clocks)


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    severity: int | None = None
    organisation_id: int | None = None
    breached: bool | None = None
    due_before: datetime | None = None


@dataclass(frozen=True)
class TicketPageView:
    items: tuple[TicketView, ...]
    last_id: int | None  # where the next page starts after, if there is one


@dataclass(frozen=True)
class CommentView:
    id: int
    author_id: int
    public: bool
    body: str
    created_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    sequence: int  # customers' count only what they see, so no gap hints at an internal event
    at: datetime
    type: str
    actor_id: int | None
    data: dict[str, Any]
    summary: str  # the event's own words, as the domain says it ("Assigned to user 7")
    actor_name: str | None = None  # who did it, by name (None: the desk itself)
    display: str = ""  # the summary with the people it names by name ("Assigned to Alice")


@dataclass(frozen=True)
class QueueItem:
    position: int
    ticket_id: int
    subject: str
    severity: int
    severity_code: str
    tier: str | None
    next_due_at: datetime | None
    sla_state: MetricState  # the most urgent state among the ticket's clocks at `now` (none: no clock has a target)
    reason: str
    team: str | None = None  # the slug of the team whose queue holds it
    awaiting_triage: bool = False
    pinned_until: datetime | None = None  # a pin in force at `now`
    pin_reason: str | None = None
    pinned_by: str | None = None


def breached_at(now: datetime) -> ColumnElement[bool]:
    """SQL: the ticket has a clock breached at `now` (still running past its due, or stopped after it)."""
    return exists().where(
        SlaClock.ticket_id == Ticket.id,
        SlaClock.due_at.is_not(None),
        or_(and_(SlaClock.stopped_at.is_(None), SlaClock.due_at < now), SlaClock.stopped_at > SlaClock.due_at),
    )


def pin_in_force(now: datetime) -> ColumnElement[bool]:
    """SQL: the ticket has a staff pin still in force at `now`."""
    return and_(Ticket.pinned_at.is_not(None), Ticket.pinned_until.is_not(None), Ticket.pinned_until > now)


def queue_rows(session: Session, query: Select[Any], now: datetime, limit: int) -> list[Any]:
    """The first `limit` rows of `query` (a select of tickets, filtered as wished) in the one total order at
    `now`, as `sla.queue.order_queue` sorts it: the open tickets pinned at `now` first (the earliest pinned,
    then id), then the others in the computed order of `queue_order`.

    Two statements, so the unpinned part still reads `ix_tickets_queue_order` in order and stops at `limit`.
    """
    pinned = pin_in_force(now)
    first = list(
        session.execute(
            query.where(Ticket.is_open.is_(True), pinned).order_by(Ticket.pinned_at, Ticket.id).limit(limit)
        )
    )
    if len(first) >= limit:
        return first
    return first + list(session.execute(queue_order(query.where(~pinned)).limit(limit - len(first))))


def queue_order(query: Select[Any]) -> Select[Any]:
    """The computed order of work (severity, tier, next due, opened, id), on `ix_tickets_queue_order`; pins in
    force come before it (`queue_rows`)."""
    query = query.where(Ticket.is_open.is_(True))
    return query.order_by(
        Ticket.severity_rank,
        Ticket.tier_rank.asc().nulls_last(),
        Ticket.next_due_at.asc().nulls_last(),
        Ticket.opened_at,
        Ticket.id,
    )


def ticket_view(session: Session, actor: Actor, ticket_id: int, now: datetime) -> TicketView:
    ticket = get_ticket(session, actor, ticket_id)
    clocks = list(session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket.id)))
    return _view(session, ticket, clocks, actor, now)


def changed_view(session: Session, actor: Actor, change: Change, now: datetime) -> TicketView:
    """The ticket a use case just changed, from what it wrote (no second read)."""
    return _view(session, change.ticket, change.clocks, actor, now)


def ticket_page(
    session: Session,
    actor: Actor,
    filters: TicketFilters,
    now: datetime,
    *,
    after: int | None,
    limit: int,
    newest_first: bool = False,
) -> TicketPageView:
    """The tickets the actor may see, by id (the newest first if asked), a page at a time, the page after the
    ticket `after`; filters compare instants with `now` in SQL."""
    query = select(Ticket).order_by(Ticket.id.desc() if newest_first else Ticket.id).limit(limit + 1)
    if not actor.is_staff:
        query = query.where(Ticket.organisation_id == actor.organisation_id)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    if filters.severity is not None:
        query = query.where(Ticket.severity_rank == filters.severity)
    if filters.organisation_id is not None:
        query = query.where(Ticket.organisation_id == filters.organisation_id)
    if filters.breached is not None:
        clause = breached_at(now)
        query = query.where(clause if filters.breached else ~clause)
    if filters.due_before is not None:
        query = query.where(Ticket.next_due_at < filters.due_before)
    if after is not None:
        query = query.where(Ticket.id < after if newest_first else Ticket.id > after)
    rows = list(session.scalars(query))
    page = rows[:limit]
    _load_teams(session, {ticket.team_id for ticket in page if ticket.team_id is not None})
    clocks = _clocks_of(session, [ticket.id for ticket in page])
    items = tuple(_view(session, ticket, clocks[ticket.id], actor, now) for ticket in page)
    return TicketPageView(items, page[-1].id if len(rows) > limit else None)


def conversation(session: Session, actor: Actor, ticket_id: int) -> list[CommentView]:
    """The comments, oldest first; customers never see internal notes."""
    get_ticket(session, actor, ticket_id)
    query = select(Comment).where(Comment.ticket_id == ticket_id).order_by(Comment.id)
    if not actor.is_staff:
        query = query.where(Comment.public.is_(True))
    return [CommentView(c.id, c.author_id, c.public, c.body, c.created_at) for c in session.scalars(query)]


def history(session: Session, actor: Actor, ticket_id: int) -> list[HistoryEntry]:
    """The ticket's events in words; customers do not see internal notes or internal attachments."""
    get_ticket(session, actor, ticket_id)
    rows = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.sequence))
    entries: list[HistoryEntry] = []
    for row in rows:
        event = event_of(row.type, row.at, row.data)
        if not actor.is_staff and not event.public:
            continue
        sequence = row.sequence if actor.is_staff else len(entries) + 1
        entries.append(HistoryEntry(sequence, row.at, row.type, row.actor_id, row.data, event.describe()))
    return _named(session, entries)


def _named(session: Session, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The entries with their actor and any assignee named, read in one query for the whole history."""
    user_ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    user_ids |= {
        entry.data["to"] for entry in entries if entry.type == "assigned" and isinstance(entry.data.get("to"), int)
    }
    names: dict[int, str] = {}
    if user_ids:
        names = {
            user_id: name for user_id, name in session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        }
    named = []
    for entry in entries:
        to = entry.data.get("to")
        display = entry.summary
        if entry.type == "assigned" and isinstance(to, int) and to in names:
            display = f"Assigned to {names[to]}"
        actor_name = names.get(entry.actor_id) if entry.actor_id is not None else None
        named.append(replace(entry, actor_name=actor_name, display=display))
    return named


MY_TEAMS = "mine"  # the team filter's value for "the teams I belong to"


def team_filter(session: Session, actor: Actor, team: str) -> ColumnElement[bool]:
    """SQL: the ticket is in the queue of team `team` (a slug), or of one of the actor's teams for `mine`."""
    if team == MY_TEAMS:
        return Ticket.team_id.in_(select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id))
    team_id = session.scalar(select(Team.id).where(Team.slug == team))
    if team_id is None:
        raise InvalidFieldError("team", f"no team {team[:64]!r}")
    return Ticket.team_id == team_id


def queue_page(
    session: Session, actor: Actor, now: datetime, limit: int, *, team: str | None = None
) -> list[QueueItem]:
    """Open tickets in the one total order at `now` (of one team's queue, or the actor's teams' with `mine`),
    each with its state at `now` and the reason for its place."""
    if not actor.is_staff:
        raise ForbiddenError("the work queue is for agents and admins")
    query = select(Ticket)
    if team is not None:
        query = query.where(team_filter(session, actor, team))
    # one more row than shown, so the last one shown can say why it is ahead of the next
    rows: list[Ticket] = [row[0] for row in queue_rows(session, query, now, limit + 1)]
    clocks = _clocks_of(session, [ticket.id for ticket in rows])
    teams = _load_teams(session, {ticket.team_id for ticket in rows if ticket.team_id is not None})
    authors = _user_names(session, {ticket.pinned_by_id for ticket in rows if ticket.pinned_by_id is not None})
    entries: list[QueueEntry] = []
    states: dict[int, MetricState] = {}
    for ticket in rows:
        policy = policy_at(session, ticket.policy_id, ticket.policy_version)
        entries.append(queue_entry(ticket, policy, authors.get(ticket.pinned_by_id or 0)))
        states[ticket.id] = _most_urgent(_readings(policy, clocks[ticket.id], now))
    by_id = {ticket.id: ticket for ticket in rows}
    return [_queue_item(position, by_id, teams, states, now) for position in explain_order(entries, now)[:limit]]


def queue_entry(ticket: Ticket, policy: Policy, pinned_by: str | None = None) -> QueueEntry:
    """The ticket as the queue orders it (the order of `queue_order`, explained by `sla.queue`)."""
    return QueueEntry(
        ticket_id=ticket.id,
        severity_rank=ticket.severity_rank,
        severity_code=policy.severity(ticket.severity_rank).code,
        tier=ticket.tier,
        tier_rank=ticket.tier_rank,
        next_due=ticket.next_due_at,
        opened_at=ticket.opened_at,
        pinned_at=ticket.pinned_at,
        pinned_until=ticket.pinned_until,
        pin_reason=ticket.pin_reason,
        pinned_by=pinned_by,
    )


def _queue_item(
    position: QueuePosition,
    tickets: dict[int, Ticket],
    teams: dict[int, Team],
    states: dict[int, MetricState],
    now: datetime,
) -> QueueItem:
    entry = position.entry
    ticket = tickets[int(entry.ticket_id)]
    pinned = entry.pin_in_force(now)
    return QueueItem(
        position=position.position,
        ticket_id=ticket.id,
        subject=ticket.subject,
        severity=entry.severity_rank,
        severity_code=entry.severity_code,
        tier=entry.tier,
        next_due_at=entry.next_due,
        sla_state=states[ticket.id],
        reason=position.reason,
        team=teams[ticket.team_id].slug if ticket.team_id is not None and ticket.team_id in teams else None,
        awaiting_triage=ticket.awaiting_triage,
        pinned_until=entry.pinned_until if pinned else None,
        pin_reason=entry.pin_reason if pinned else None,
        pinned_by=entry.pinned_by if pinned else None,
    )


def _load_teams(session: Session, team_ids: set[int]) -> dict[int, Team]:
    """The teams by id, read in one statement (and kept in the session for `session.get`)."""
    if not team_ids:
        return {}
    return {team.id: team for team in session.scalars(select(Team).where(Team.id.in_(team_ids)))}


def _user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {user_id: name for user_id, name in session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))}


_URGENCY = (
    MetricState.BREACHED,
    MetricState.RUNNING,
    MetricState.PAUSED,
    MetricState.NOT_STARTED,
    MetricState.MET,
    MetricState.CANCELLED,
)


def _most_urgent(clocks: Sequence[ClockView]) -> MetricState:
    states = {clock.reading.state for clock in clocks}
    return next((state for state in _URGENCY if state in states), MetricState.NONE)


def _clocks_of(session: Session, ticket_ids: list[int]) -> dict[int, list[SlaClock]]:
    grouped: dict[int, list[SlaClock]] = defaultdict(list)
    if ticket_ids:
        for row in session.scalars(select(SlaClock).where(SlaClock.ticket_id.in_(ticket_ids))):
            grouped[row.ticket_id].append(row)
    return grouped


def _readings(policy: Policy, rows: Sequence[SlaClock], now: datetime) -> tuple[ClockView, ...]:
    order = {metric_id: index for index, metric_id in enumerate(policy.metric_ids)}
    ordered = sorted(rows, key=lambda row: (order.get(row.metric, len(order)), row.metric))
    views = []
    for row in ordered:
        instants = instants_of(row)
        views.append(ClockView(instants, read_clock(instants, policy.calendar(row.calendar), now)))
    return tuple(views)


def _view(session: Session, ticket: Ticket, clocks: Sequence[SlaClock], actor: Actor, now: datetime) -> TicketView:
    policy = policy_at(session, ticket.policy_id, ticket.policy_version)
    staff = actor.is_staff
    team = session.get(Team, ticket.team_id) if staff and ticket.team_id is not None else None
    pinned = staff and ticket.pinned_at is not None and ticket.pinned_until is not None and ticket.pinned_until > now
    author = session.get(User, ticket.pinned_by_id) if pinned and ticket.pinned_by_id is not None else None
    return TicketView(
        id=ticket.id,
        subject=ticket.subject,
        description=ticket.description,
        status=ticket.status,
        severity=ticket.severity_rank,
        severity_code=policy.severity(ticket.severity_rank).code,
        requested_severity=ticket.requested_severity_rank,
        category=ticket.category,
        tier=ticket.tier,
        organisation_id=ticket.organisation_id,
        requester_id=ticket.requester_id,
        assignee_id=ticket.assignee_id,
        policy_id=ticket.policy_id,
        policy_version=ticket.policy_version,
        intake=ticket.intake,
        outside_incident=ticket.outside_incident_reason if ticket.outside_incident else None,
        follow_up_of=ticket.follow_up_of_id,
        version=visible_version(ticket, actor),
        opened_at=ticket.opened_at,
        updated_at=ticket.updated_at if actor.is_staff else ticket.public_updated_at,
        next_due_at=ticket.next_due_at,
        clocks=_readings(policy, clocks, now),
        awaiting_triage=ticket.awaiting_triage,
        path=ticket.path,
        team=team.slug if team is not None else None,
        pinned_until=ticket.pinned_until if pinned else None,
        pin_reason=ticket.pin_reason if pinned else None,
        pinned_by=author.name if author is not None else None,
    )
