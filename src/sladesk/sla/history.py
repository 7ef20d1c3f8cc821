"""A ticket's event history checked against its policy and turned into timed facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sladesk.errors import InputError, SladeskError
from sladesk.policy import Policy, SeveritySpec, StatusKind
from sladesk.policy.policy import Situation
from sladesk.sla.events import (
    AttachmentEvent,
    BelievedResolvedEvent,
    CategoryEvent,
    CommsEvent,
    Event,
    OpenedEvent,
    OutsideIncidentEvent,
    PathEvent,
    ReplyEvent,
    SeverityEvent,
    StatusEvent,
    TeamEvent,
    TicketFacts,
    TierEvent,
    TriagedEvent,
)


@dataclass(frozen=True)
class StatusSpan:
    """The ticket sat in `status` from `start` until `end` (None: still there at `now`)."""

    start: datetime
    end: datetime | None
    status: str


@dataclass(frozen=True)
class SeverityChange:
    at: datetime
    severity: SeveritySpec
    reason: str | None
    by: str | None


@dataclass(frozen=True)
class History:
    """What happened up to `now`, as the clocks need it."""

    now: datetime
    opened_at: datetime
    status_spans: tuple[StatusSpan, ...]
    first_agent_reply: datetime | None
    initial_severity: SeveritySpec
    severity_changes: tuple[SeverityChange, ...]
    outside_incident: str | None
    tier: str | None  # as it is at `now`: the tier at opening, or the last tier change
    category: str | None
    last_customer_reply: datetime | None = None
    believed_resolved_at: datetime | None = None  # support's marker, unless cleared or answered by the customer
    comms_updates: tuple[tuple[str, datetime], ...] = ()  # (channel, instant) of posted updates and reminders
    path: str | None = None  # the resolution path staff marked, as it is at `now`
    awaiting_triage: bool = False  # support assigns severity and has not confirmed one yet
    requested_severity: SeveritySpec | None = None  # what the customer asked for, when triage applies
    team: str | None = None  # the team whose queue holds the ticket: routed at opening, or as changed

    @property
    def severity(self) -> SeveritySpec:
        return self.severity_changes[-1].severity if self.severity_changes else self.initial_severity

    @property
    def status(self) -> str:
        return self.status_spans[-1].status


def build_history(policy: Policy, ticket: TicketFacts, events: Sequence[Event], now: datetime) -> History:
    """Check every event against the policy (in order, with its index) and keep those up to `now`."""
    if not events or not isinstance(events[0], OpenedEvent):
        raise InputError("the first event must be `opened`", 0 if events else None)
    requested = _severity(policy, ticket.severity, None)
    initial_severity = requested
    triage = policy.spec.severity_assignment.by == "support" and events[0].by != "agent"
    if triage:
        initial_severity = provisional_severity(policy, requested)
    _check_tier(policy, ticket.tier, None)
    _check_category(policy, ticket.category, None)
    tier_changes: list[tuple[datetime, str | None]] = []
    category_changes: list[tuple[datetime, str | None]] = []
    path_changes: list[tuple[datetime, str | None]] = []
    team_changes: list[tuple[datetime, str | None]] = []
    opened = events[0]
    assert isinstance(opened, OpenedEvent)
    if opened.by == "customer" and opened.support_contact is False and policy.spec.opening.requires_support_contact:
        raise InputError(support_contact_refusal(policy), 0)
    routed = opened.team
    if routed is None:
        facts = Situation(ticket.category, ticket.tier, None)
        routed = policy.route(initial_severity, facts, ticket.intake)
    confirmed: list[datetime] = []
    opened_at = events[0].at
    if now < opened_at:
        raise InputError(f"`now` ({now.isoformat()}) is before the ticket was opened ({opened_at.isoformat()})")

    status = policy.initial_status
    spans: list[StatusSpan] = []
    span_start = opened_at
    agent_replies: list[datetime] = []
    changes: list[SeverityChange] = []
    incidents: list[tuple[datetime, str | None]] = []
    customer_replies: list[datetime] = []
    markers: list[tuple[datetime, bool]] = []
    comms: list[tuple[str, datetime]] = []
    previous = opened_at

    def move(to: str, at: datetime) -> None:
        nonlocal status, span_start
        if to != status:
            spans.append(StatusSpan(span_start, at, status))
            status, span_start = to, at

    for index, event in enumerate(events):
        if event.at < previous:
            raise InputError(
                f"out of order: {event.at.isoformat()} is before the previous event ({previous.isoformat()})",
                index,
            )
        previous = event.at
        if index > 0 and isinstance(event, OpenedEvent):
            raise InputError("a ticket is opened only once (`opened` must be the first event only)", index)
        if isinstance(event, ReplyEvent | AttachmentEvent) and event.public and refuses_updates(policy, status):
            raise InputError(closed_refusal(policy), index)
        if isinstance(event, StatusEvent):
            target = event.to
            _named(policy.status, target, index)
            if not policy.can_move(status, target):
                allowed = ", ".join(policy.spec.transitions.get(status, ())) or "none"
                raise InputError(f"status cannot move from {status!r} to {target!r} (allowed: {allowed})", index)
            move(target, event.at)
        elif isinstance(event, ReplyEvent):
            if event.by == "agent" and event.public:
                agent_replies.append(event.at)
            if event.by == "customer" and event.public:
                customer_replies.append(event.at)
            rule = policy.spec.customer_reply
            if event.by == "customer" and rule.to is not None and status in rule.moves_from:
                move(rule.to, event.at)
        elif isinstance(event, SeverityEvent):
            changes.append(SeverityChange(event.at, _severity(policy, event.to, index), event.reason, event.by))
            confirmed.append(event.at)
        elif isinstance(event, TriagedEvent):
            reason = event.reason or "severity confirmed in triage"
            changes.append(SeverityChange(event.at, _severity(policy, event.severity, index), reason, event.by))
            confirmed.append(event.at)
        elif isinstance(event, TeamEvent):
            team_changes.append((event.at, event.to))
        elif isinstance(event, PathEvent):
            path_changes.append((event.at, _check_path(policy, event.to, index)))
        elif isinstance(event, TierEvent):
            tier_changes.append((event.at, _check_tier(policy, event.to, index)))
        elif isinstance(event, CategoryEvent):
            category_changes.append((event.at, _check_category(policy, event.to, index)))
        elif isinstance(event, OutsideIncidentEvent):
            incidents.append((event.at, (event.reason or "outside incident") if event.set else None))
        elif isinstance(event, BelievedResolvedEvent):
            markers.append((event.at, event.set))
        elif isinstance(event, CommsEvent):
            comms.append((event.channel, event.at))
    spans.append(StatusSpan(span_start, None, status))

    # Every event was checked; the replay itself stops at `now`.
    until_now = [span for span in spans if span.start <= now]
    last = until_now[-1]
    if last.end is not None and last.end > now:
        until_now[-1] = StatusSpan(last.start, None, last.status)
    replies = [at for at in agent_replies if at <= now]
    incident = [reason for at, reason in incidents if at <= now]
    tiers = [tier for at, tier in tier_changes if at <= now]
    categories = [category for at, category in category_changes if at <= now]
    paths = [path for at, path in path_changes if at <= now]
    teams = [team for at, team in team_changes if at <= now]
    answered = [at for at in customer_replies if at <= now]
    marked = [(at, flag) for at, flag in markers if at <= now]
    marker_at = marked[-1][0] if marked and marked[-1][1] else None
    if marker_at is not None and answered and answered[-1] > marker_at:
        marker_at = None  # the customer gave an update since support's note
    return History(
        now=now,
        opened_at=opened_at,
        status_spans=tuple(until_now),
        first_agent_reply=replies[0] if replies else None,
        initial_severity=initial_severity,
        severity_changes=tuple(c for c in changes if c.at <= now),
        outside_incident=incident[-1] if incident else None,
        tier=tiers[-1] if tiers else ticket.tier,
        category=categories[-1] if categories else ticket.category,
        last_customer_reply=answered[-1] if answered else None,
        believed_resolved_at=marker_at,
        comms_updates=tuple((channel, at) for channel, at in comms if at <= now),
        path=paths[-1] if paths else None,
        team=teams[-1] if teams else routed,
        awaiting_triage=triage and not any(at <= now for at in confirmed),
        requested_severity=requested if triage else None,
    )


def refuses_updates(policy: Policy, status: str) -> bool:
    """Whether a public reply or attachment is refused in `status`: a closed kind, under `closed: refused`."""
    return policy.spec.closed.updates == "refused" and policy.status(status).kind is StatusKind.CLOSED


def support_contact_refusal(policy: Policy) -> str:
    """What a customer who is not a named support contact is told when the policy asks for one."""
    hint = policy.spec.opening.hint or "ask one of your organisation's support contacts to open it"
    return f"only your organisation's support contacts open tickets: {hint}"


def closed_refusal(policy: Policy) -> str:
    """What a refused update on a closed ticket is told: the policy's hint, or a plain one."""
    hint = policy.spec.closed.hint or "open a new ticket for any update, as a follow-up of this one"
    return f"the ticket is closed and takes no update: {hint}"


def provisional_severity(policy: Policy, requested: SeveritySpec) -> SeveritySpec:
    """The severity a ticket's clocks run on in triage: the more severe of the requested and the policy's
    provisional one ("when in doubt, choose the more severe")."""
    provisional = policy.spec.severity_assignment.provisional
    if provisional is None:
        return requested
    default = policy.severity(provisional)
    return default if default.rank < requested.rank else requested


def _severity(policy: Policy, value: int | str, index: int | None) -> SeveritySpec:
    try:
        return policy.severity(value)
    except SladeskError as error:
        raise InputError(str(error), index) from None


def _named(lookup: Callable[[str], object], value: str, index: int | None) -> None:
    try:
        lookup(value)
    except SladeskError as error:
        raise InputError(str(error), index) from None


def _check_tier(policy: Policy, tier: str | None, index: int | None) -> str | None:
    if tier is not None:
        _named(policy.tier_rank, tier, index)
    return tier


def _check_path(policy: Policy, path: str | None, index: int | None) -> str | None:
    paths = [p.id for p in policy.spec.paths]
    if path is not None and path not in paths:
        known = ", ".join(paths) or "none defined"
        raise InputError(f"policy {policy.id!r} has no resolution path {path!r} (known: {known})", index)
    return path


def _check_category(policy: Policy, category: str | None, index: int | None) -> str | None:
    categories = [c.id for c in policy.spec.categories]
    if category is not None and categories and category not in categories:
        known = ", ".join(categories)
        raise InputError(f"policy {policy.id!r} has no category {category!r} (known: {known})", index)
    return category
