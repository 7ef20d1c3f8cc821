"""What the agent console reads: the filtered queue, saved views, a ticket's whole page, and change marks.

Reads only, except saved views (each agent's own rows): the queue keeps the one total order of
`services.views.queue_rows`, filters only narrow it, and every clock is read for the reader's `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError
from sladesk.policy import Policy
from sladesk.policy.policy import Situation
from sladesk.services.actors import Actor, Role
from sladesk.services.clocks import instants_of, load_events, replay_events, ticket_policy
from sladesk.services.errors import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError
from sladesk.services.views import (
    ClockView,
    CommentView,
    HistoryEntry,
    TicketView,
    breached_at,
    conversation,
    history,
    queue_entry,
    queue_rows,
    team_filter,
    ticket_view,
)
from sladesk.sla import ClockInstants, MetricState, read_clock
from sladesk.sla.events import CommsEvent, Event
from sladesk.sla.explain import explain_metric
from sladesk.sla.history import History
from sladesk.sla.queue import QueueEntry, explain_order
from sladesk.sla.timers import comms_due
from sladesk.store.tables import Attachment, Organisation, SavedView, SlaClock, Team, Ticket, TicketEvent, TimeLog, User

Assignee = Literal["me", "unassigned"]
StateFilter = Literal["breached", "warning"]
MAX_VIEW_NAME = 100


@dataclass(frozen=True)
class QueueFilters:
    """What narrows the queue; the order stays the one total order."""

    severity: int | None = None
    organisation_id: int | None = None
    assignee: Assignee | None = None
    state: StateFilter | None = None
    team: str | None = None  # a team's slug, or `mine`: the teams the agent belongs to

    @classmethod
    def of(cls, values: Mapping[str, str]) -> QueueFilters:
        """Filters from a query string or a saved view; an empty value means no filter."""
        team = (values.get("team") or "").strip() or None
        if team is not None and (len(team) > 64 or not team.isascii() or not team.isprintable()):
            raise InvalidFieldError("team", "choose a team")
        severity = _whole_number(values, "severity")
        organisation_id = _whole_number(values, "organisation")
        assignee = values.get("assignee") or None
        if assignee not in (None, "me", "unassigned"):
            raise InvalidFieldError("assignee", "choose me or unassigned")
        state = values.get("state") or None
        if state not in (None, "breached", "warning"):
            raise InvalidFieldError("state", "choose breached or warning")
        return cls(
            severity, organisation_id, cast("Assignee | None", assignee), cast("StateFilter | None", state), team
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set), as a saved view keeps them."""
        values = {
            "severity": str(self.severity) if self.severity is not None else "",
            "organisation": str(self.organisation_id) if self.organisation_id is not None else "",
            "assignee": self.assignee or "",
            "state": self.state or "",
            "team": self.team or "",
        }
        return {name: value for name, value in values.items() if value}

    @property
    def any(self) -> bool:
        return bool(self.query())


def _whole_number(values: Mapping[str, str], name: str) -> int | None:
    text = (values.get(name) or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidFieldError(name, f"{text[:40]!r} is not a number")
    return int(text)


@dataclass(frozen=True)
class ConsoleRow:
    """One open ticket in the queue, with the most urgent state among its clocks at `now`."""

    position: int
    ticket_id: int
    subject: str
    severity_code: str
    severity_name: str
    tier: str | None
    organisation: str
    assignee: str | None
    status: str
    next_due_at: datetime | None
    state: MetricState
    warning: bool  # the most urgent clock is running past its warning instant (a paused one reads paused)
    excused: str | None  # the most urgent clock is breached, excused by an outside incident
    reason: str  # why it stands where it does
    team: str | None = None  # the name of the team whose queue holds it
    awaiting_triage: bool = False  # support has not confirmed the severity yet
    pinned_until: datetime | None = None  # a staff pin in force at `now`
    pin_reason: str | None = None
    pinned_by: str | None = None

    @property
    def mark(self) -> str:
        """The state's colour class: running, warning, breached, paused, excused, met, ..."""
        if self.excused:
            return "excused"
        return "warning" if self.warning else self.state.value


def console_queue(session: Session, actor: Actor, filters: QueueFilters, now: datetime, limit: int) -> list[ConsoleRow]:
    """Open tickets in the one total order, narrowed by `filters` judged at `now`."""
    if not actor.is_staff:
        raise ForbiddenError("the work queue is for agents and admins")
    joined = select(Ticket, Organisation.name).join(Organisation, Organisation.id == Ticket.organisation_id)
    query = cast("Select[Any]", joined)
    if filters.team is not None:
        query = query.where(team_filter(session, actor, filters.team))
    if filters.severity is not None:
        query = query.where(Ticket.severity_rank == filters.severity)
    if filters.organisation_id is not None:
        query = query.where(Ticket.organisation_id == filters.organisation_id)
    if filters.assignee == "me":
        query = query.where(Ticket.assignee_id == actor.user_id)
    elif filters.assignee == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    if filters.state == "breached":
        query = query.where(breached_at(now))
    elif filters.state == "warning":
        query = query.where(warning_at(now))
    rows: list[tuple[Ticket, str]] = [(row[0], row[1]) for row in queue_rows(session, query, now, limit + 1)]
    tickets = [ticket for ticket, _ in rows]
    organisations = {ticket.id: name for ticket, name in rows}
    clocks = _clocks_of(session, [ticket.id for ticket in tickets])
    people = {t.assignee_id for t in tickets if t.assignee_id is not None}
    people |= {t.pinned_by_id for t in tickets if t.pinned_by_id is not None}
    assignees = _names(session, people)
    teams = _team_names(session, {t.team_id for t in tickets if t.team_id is not None})
    entries: list[QueueEntry] = []
    readings: dict[int, list[ClockView]] = {}
    for ticket in tickets:
        policy = ticket_policy(session, ticket)
        entries.append(queue_entry(ticket, policy, assignees.get(ticket.pinned_by_id or 0)))
        readings[ticket.id] = [
            ClockView(instants, read_clock(instants, policy.calendar(instants.calendar_id), now))
            for instants in clocks.get(ticket.id, [])
        ]
    by_id = {ticket.id: ticket for ticket in tickets}
    result = []
    for position in explain_order(entries, now)[:limit]:
        ticket = by_id[int(position.entry.ticket_id)]
        pinned = position.entry.pin_in_force(now)
        urgent = most_urgent(readings[ticket.id])
        policy = ticket_policy(session, ticket)
        result.append(
            ConsoleRow(
                position=position.position,
                ticket_id=ticket.id,
                subject=ticket.subject,
                severity_code=position.entry.severity_code,
                severity_name=policy.severity(ticket.severity_rank).name,
                tier=ticket.tier,
                organisation=organisations[ticket.id],
                assignee=assignees.get(ticket.assignee_id) if ticket.assignee_id is not None else None,
                status=_known_status(policy, ticket.status),
                next_due_at=ticket.next_due_at,
                state=urgent.reading.state if urgent else MetricState.NONE,
                warning=bool(urgent and mark_of(urgent) == "warning"),
                excused=urgent.reading.excused if urgent else None,
                reason=position.reason,
                team=teams.get(ticket.team_id) if ticket.team_id is not None else None,
                awaiting_triage=ticket.awaiting_triage,
                pinned_until=ticket.pinned_until if pinned else None,
                pin_reason=ticket.pin_reason if pinned else None,
                pinned_by=position.entry.pinned_by if pinned else None,
            )
        )
    return result


def warning_at(now: datetime) -> ColumnElement[bool]:
    """SQL: the ticket has a clock still counting towards its due, past its warning instant at `now`."""
    return exists().where(
        SlaClock.ticket_id == Ticket.id,
        SlaClock.stopped_at.is_(None),
        SlaClock.started_at.is_not(None),
        SlaClock.warning_at.is_not(None),
        SlaClock.warning_at <= now,
        or_(SlaClock.due_at.is_(None), SlaClock.due_at >= now),
    )


# Most urgent first: a breach, a warning, a clock running, ... an excused breach, then clocks done or without target.
_URGENCY = {
    "breached": 0,
    "warning": 1,
    "running": 2,
    "paused": 3,
    "excused": 4,
    "not_started": 5,
    "met": 6,
    "cancelled": 7,
    "none": 8,
}


def mark_of(clock: ClockView) -> str:
    """The clock's state as the pages colour it: running, warning, breached, paused, excused, met, ..."""
    reading = clock.reading
    if reading.excused:
        return "excused"
    return "warning" if reading.warning_reached and reading.state is MetricState.RUNNING else reading.state.value


def most_urgent(clocks: Sequence[ClockView]) -> ClockView | None:
    """The clock that says most about what to do now (None: the ticket has no clock)."""
    return min(clocks, key=lambda clock: _URGENCY[mark_of(clock)], default=None)


def _clocks_of(session: Session, ticket_ids: list[int]) -> dict[int, list[ClockInstants]]:
    grouped: dict[int, list[ClockInstants]] = {}
    if ticket_ids:
        for row in session.scalars(select(SlaClock).where(SlaClock.ticket_id.in_(ticket_ids))):
            grouped.setdefault(row.ticket_id, []).append(instants_of(row))
    return grouped


def _team_names(session: Session, team_ids: set[int]) -> dict[int, str]:
    if not team_ids:
        return {}
    return {team_id: name for team_id, name in session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))}


def team_choices(session: Session) -> list[Choice]:
    """Every team, by name, for the queue's team filter (its value is the team's slug)."""
    return [Choice(slug, name) for slug, name in session.execute(select(Team.slug, Team.name).order_by(Team.name))]


def _names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {user_id: name for user_id, name in session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))}


# Saved views


@dataclass(frozen=True)
class SavedViewLine:
    id: int
    name: str
    filters: QueueFilters


def saved_views(session: Session, actor: Actor) -> list[SavedViewLine]:
    """The agent's own saved views, by name."""
    rows = session.scalars(select(SavedView).where(SavedView.user_id == actor.user_id).order_by(SavedView.name))
    return [SavedViewLine(row.id, row.name, QueueFilters.of(row.filters)) for row in rows]


def save_view(session: Session, actor: Actor, name: str, filters: QueueFilters, now: datetime) -> SavedViewLine:
    """Keep `filters` under `name` for the agent; a view of the same name is replaced."""
    if not actor.is_staff:
        raise ForbiddenError("saved views are for agents and admins")
    name = " ".join(name.split())
    if not name:
        raise InvalidFieldError("name", "give the view a name")
    if len(name) > MAX_VIEW_NAME:
        raise InvalidFieldError("name", f"must be at most {MAX_VIEW_NAME} characters long")
    if not filters.any:
        raise InvalidFieldError("filters", "choose at least one filter to save")
    row = session.scalar(select(SavedView).where(SavedView.user_id == actor.user_id, SavedView.name == name))
    if row is None:
        row = SavedView(user_id=actor.user_id, name=name, filters=filters.query(), created_at=now)
        session.add(row)
    else:
        row.filters = filters.query()
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(f"a view named {name!r} was saved meanwhile; save again to replace it") from None
    return SavedViewLine(row.id, row.name, filters)


def delete_view(session: Session, actor: Actor, view_id: int) -> str:
    """Forget one of the agent's saved views; its name."""
    row = session.get(SavedView, view_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFoundError(f"no saved view {view_id}")
    session.delete(row)
    return row.name


# The ticket page


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class MetricPanel:
    """One SLA metric: its clock at `now`, its target in words and the engine's explanation."""

    metric_id: str
    name: str
    clock: ClockView
    due_words: str | None
    goal_words: str | None
    explanation: list[str]
    informational: bool = False  # tracked and shown, never due
    case: str | None = None  # the facts that chose this target over the severity's own one

    @property
    def mark(self) -> str:
        return mark_of(self.clock)


@dataclass(frozen=True)
class AttachmentLine:
    id: int
    filename: str
    size_bytes: int
    public: bool
    uploaded_by: str
    created_at: datetime


@dataclass(frozen=True)
class CommsLine:
    """One communication the ticket's severity requires: when it was last posted and when the next is due."""

    channel: str  # internal or external
    label: str
    last_posted_at: datetime | None
    due_at: datetime
    overdue: bool  # the due instant has passed at the reader's `now`


COMMS_LABELS = {"internal": "Internal update", "external": "External status update"}


@dataclass(frozen=True)
class ConsoleTicket:
    """Everything the agent's ticket page shows, read at `now`."""

    ticket: TicketView
    organisation: str
    requester: str
    assignee: str | None
    status_name: str
    severity_name: str
    policy_name: str
    zone: str  # the policy's time zone
    comments: list[CommentView]
    attachments: list[AttachmentLine]
    history: list[HistoryEntry]
    metrics: list[MetricPanel]
    people: dict[int, str]  # authors and actors by id
    next_statuses: list[Choice]
    severities: list[Choice]
    tiers: list[Choice]
    categories: list[Choice]
    agents: list[Choice]
    believed_resolved: bool
    merged_into: int | None
    comms: list[CommsLine]  # empty when the severity requires none (or the ticket is finished)
    paths: list[Choice] = field(default_factory=list)  # the policy's resolution paths (none: it defines none)
    team: str | None = None  # the name of the team whose queue holds it
    logged_minutes: int = 0  # the time agents logged on the ticket, all of them together


def console_ticket(session: Session, actor: Actor, ticket_id: int, now: datetime) -> ConsoleTicket:
    """The ticket page of an agent: conversation, attachments, history, SLA with explanations, choices."""
    if not actor.is_staff:
        raise ForbiddenError("this page is for agents; customers use the portal")
    view = ticket_view(session, actor, ticket_id, now)
    ticket = session.get_one(Ticket, ticket_id)
    policy = ticket_policy(session, ticket)
    events = load_events(session, ticket_id)
    report = replay_events(policy, events, max(now, events[-1].at))
    comments = conversation(session, actor, ticket_id)
    entries = history(session, actor, ticket_id)
    files = list(session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)))
    user_ids = {ticket.requester_id, *(c.author_id for c in comments), *(f.uploaded_by_id for f in files)}
    if ticket.assignee_id is not None:
        user_ids.add(ticket.assignee_id)
    people = _names(session, user_ids)
    severity = policy.severity(ticket.severity_rank)
    metrics = []
    for clock in view.clocks:
        # the rule the replay used: a case of the target (category, tier, resolution path) if one applies
        rule = (
            report.metrics[clock.metric].rule
            if clock.metric in report.metrics
            else policy.clock_rule(severity, clock.metric, Situation(ticket.category, ticket.tier, ticket.path))
        )
        explanation = explain_metric(report, clock.metric) if clock.metric in report.metrics else []
        metrics.append(
            MetricPanel(
                clock.metric,
                rule.metric.name,
                clock,
                rule.due_words,
                rule.goal_words,
                explanation,
                rule.informational,
                rule.case,
            )
        )
    agents = session.execute(
        select(User.id, User.name).where(User.role != Role.CUSTOMER.value, User.active.is_(True)).order_by(User.name)
    )
    return ConsoleTicket(
        ticket=view,
        organisation=session.get_one(Organisation, ticket.organisation_id).name,
        requester=people.get(ticket.requester_id, f"user {ticket.requester_id}"),
        assignee=people.get(ticket.assignee_id) if ticket.assignee_id is not None else None,
        status_name=policy.status(ticket.status).name,
        severity_name=severity.name,
        policy_name=policy.name,
        zone=policy.spec.timezone,
        comments=comments,
        attachments=[
            AttachmentLine(f.id, f.filename, f.size_bytes, f.public, people.get(f.uploaded_by_id, ""), f.created_at)
            for f in files
        ],
        history=entries,
        metrics=metrics,
        people=people,
        next_statuses=[
            Choice(target, _known_status(policy, target)) for target in policy.spec.transitions.get(ticket.status, ())
        ],
        severities=[Choice(str(s.rank), f"{s.code} · {s.name}") for s in policy.severities],
        tiers=[Choice(t.id, t.name) for t in policy.spec.tiers],
        categories=[Choice(c.id, c.name) for c in policy.spec.categories],
        agents=[Choice(str(user_id), name) for user_id, name in agents],
        believed_resolved=report.history.believed_resolved_at is not None,
        merged_into=ticket.merged_into_id,
        comms=comms_checklist(policy, report.history, events, now),
        paths=[Choice(p.id, p.name) for p in policy.spec.paths],
        team=session.get_one(Team, ticket.team_id).name if ticket.team_id is not None else None,
        logged_minutes=session.scalar(
            select(func.coalesce(func.sum(TimeLog.minutes), 0)).where(TimeLog.ticket_id == ticket_id)
        )
        or 0,
    )


def comms_checklist(policy: Policy, history: History, events: Sequence[Event], now: datetime) -> list[CommsLine]:
    """Each required communication with its last posted update (reminders are not updates) and next due instant."""
    posted: dict[str, datetime] = {}
    for event in events:
        if isinstance(event, CommsEvent) and event.action == "update" and event.at <= now:
            posted[event.channel] = max(event.at, posted.get(event.channel, event.at))
    return [
        CommsLine(channel, COMMS_LABELS[channel], posted.get(channel), due, due <= now)
        for channel, due in comms_due(policy, history).items()
    ]


def _known_status(policy: Policy, status_id: str) -> str:
    try:
        return policy.status(status_id).name
    except SladeskError:
        return status_id


# Live updates


# Events are only ever appended. Ids are handed out before commit, so a change may become visible with an id
# below one seen already; counting the events above a floor set well below the last id catches it too.
EVENT_ID_MARGIN = 1000


def event_floor(session: Session) -> int:
    """Where a queue watcher starts counting: a margin below the last event's id."""
    return max((session.scalar(select(func.max(TicketEvent.id))) or 0) - EVENT_ID_MARGIN, 0)


def queue_mark(session: Session, floor: int) -> int:
    """A value that moves whenever any ticket changes: the number of events above `floor` (an index range)."""
    return session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.id > floor)) or 0


def ticket_mark(session: Session, actor: Actor, ticket_id: int) -> int:
    """The ticket's version: one more with every event."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not actor.may_see_organisation(ticket.organisation_id):
        raise NotFoundError(f"no ticket {ticket_id}")
    return ticket.version


def organisation_choices(session: Session) -> list[Choice]:
    """Every organisation, by name, for the queue's organisation filter."""
    rows = session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.name))
    return [Choice(str(organisation_id), name) for organisation_id, name in rows]
