"""Ticket events, one typed model per kind, and the replay input parsed from JSON-like data with exact errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from sladesk.errors import InputError


class _Event(BaseModel):
    """What every event has: when it happened and, where it matters, who did it (agent or customer)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    at: AwareDatetime
    by: str | None = None

    @property
    def public(self) -> bool:
        """Whether customers see the event (internal notes and internal attachments they do not)."""
        return True

    def data(self) -> dict[str, Any]:
        """The event's fields as stored beside its type and instant (JSON values, unset ones left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"at", "type"}, exclude_none=True)


class OpenedEvent(_Event):
    type: Literal["opened"] = "opened"
    severity: int | str | None = None  # the replay input gives the ticket's facts apart instead
    tier: str | None = None
    category: str | None = None
    follow_up_of: int | None = None
    team: str | None = None  # the team a routing rule of the policy sent it to
    support_contact: bool | None = None  # whether the customer who opened it is a named support contact

    def describe(self) -> str:
        facts = [f"severity {self.severity}"] if self.severity is not None else []
        facts += [f"tier {self.tier}"] if self.tier else []
        facts += [f"category {self.category}"] if self.category else []
        facts += [f"routed to team {self.team}"] if self.team else []
        text = "Opened" + (f" by the {self.by}" if self.by else "") + (f": {', '.join(facts)}" if facts else "")
        return text + (f", following up ticket {self.follow_up_of}" if self.follow_up_of else "")


class ReplyEvent(_Event):
    type: Literal["reply"] = "reply"
    by: Literal["agent", "customer"]
    public_reply: bool = Field(default=True, alias="public")

    @property
    def public(self) -> bool:
        return self.public_reply

    def describe(self) -> str:
        return "Internal note by an agent" if not self.public_reply else f"Public reply by the {self.by}"


class StatusEvent(_Event):
    type: Literal["status"] = "status"
    to: str
    merged_into: int | None = None
    reason: str | None = None  # set when the desk itself moved the ticket (an auto-close)

    def describe(self) -> str:
        merged = f" (merged into ticket {self.merged_into})" if self.merged_into is not None else ""
        return f"Status became {self.to}{merged}" + (f": {self.reason}" if self.reason else "")


class SeverityEvent(_Event):
    type: Literal["severity"] = "severity"
    to: int | str
    reason: str | None = None

    def describe(self) -> str:
        return f"Severity became {self.to}" + (f": {self.reason}" if self.reason else "")


class TriagedEvent(_Event):
    """Support confirmed the ticket's severity (where the policy says support assigns it): triage ends."""

    type: Literal["triaged"] = "triaged"
    severity: int | str
    reason: str | None = None

    def describe(self) -> str:
        return f"Severity confirmed as {self.severity}" + (f": {self.reason}" if self.reason else "")


class PathEvent(_Event):
    """Staff marked the resolution path (`release`: needs a new version, `hotfix`), or cleared it."""

    type: Literal["path"] = "path"
    to: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        return f"Resolution path became {self.to or 'none'}" + (f": {self.reason}" if self.reason else "")


class PinnedEvent(_Event):
    """A staff pin puts the ticket above its computed place in the queue until `until`, or lifts it."""

    type: Literal["pinned"] = "pinned"
    set: bool = True
    until: AwareDatetime | None = None
    reason: str | None = None

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        if not self.set:
            return "Pin lifted" + (f": {self.reason}" if self.reason else "")
        until = f" until {self.until.isoformat()}" if self.until else ""
        return f"Pinned to the top of the queue{until}" + (f": {self.reason}" if self.reason else "")


class TeamEvent(_Event):
    """The ticket moved to a team's queue (by staff, or by a routing rule of the policy), or left it."""

    type: Literal["team"] = "team"
    to: str | None = None  # the team's slug
    reason: str | None = None

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        return f"Team became {self.to or 'none'}" + (f": {self.reason}" if self.reason else "")


class TimeLoggedEvent(_Event):
    """An agent logged time spent on the ticket."""

    type: Literal["time_logged"] = "time_logged"
    minutes: int
    note: str | None = None

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        return f"Logged {self.minutes} min of work" + (f": {self.note}" if self.note else "")


class IncidentEvent(_Event):
    """The ticket's on-call incident started (with its escalation policy as it was then), was acknowledged,
    or was resolved."""

    type: Literal["incident"] = "incident"
    action: Literal["triggered", "acknowledged", "resolved"]
    escalation_policy: str | None = None  # its slug, when triggered
    snapshot: dict[str, Any] | None = None  # the escalation policy's steps when the incident started
    started_at: AwareDatetime | None = None  # when triggered: the instant the paging severity took effect
    reason: str | None = None

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        if self.action == "triggered":
            policy = f" under escalation policy {self.escalation_policy}" if self.escalation_policy else ""
            return f"On-call incident started{policy}" + (f": {self.reason}" if self.reason else "")
        return f"On-call incident {self.action}" + (f": {self.reason}" if self.reason else "")


class PageEvent(_Event):
    """One escalation step paged its people (a round and step of the incident's escalation policy)."""

    type: Literal["page"] = "page"
    round: int
    step: int
    due_at: AwareDatetime  # when the step fell due
    people: tuple[int, ...] = ()
    notified: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        who = ", ".join(self.notified) if self.notified else "nobody (no one on call)"
        return f"Paged {who} (escalation step {self.step + 1}, round {self.round + 1})"


class TierEvent(_Event):
    type: Literal["tier"] = "tier"
    to: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        return f"Tier became {self.to or 'none'}" + (f": {self.reason}" if self.reason else "")


class CategoryEvent(_Event):
    type: Literal["category"] = "category"
    to: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        return f"Category became {self.to or 'none'}" + (f": {self.reason}" if self.reason else "")


class OutsideIncidentEvent(_Event):
    type: Literal["outside_incident"] = "outside_incident"
    set: bool = True
    reason: str | None = None

    def describe(self) -> str:
        if not self.set:
            return "No longer marked as caused by an outside incident"
        return "Marked as caused by an outside incident" + (f": {self.reason}" if self.reason else "")


class AssignedEvent(_Event):
    type: Literal["assigned"] = "assigned"
    to: int | None = None

    def describe(self) -> str:
        return f"Assigned to user {self.to}" if self.to is not None else "Unassigned"


class MergedEvent(_Event):
    type: Literal["merged"] = "merged"
    from_ticket: int = Field(alias="from")

    def describe(self) -> str:
        return f"Ticket {self.from_ticket} was merged into this one"


class AttachmentEvent(_Event):
    type: Literal["attachment"] = "attachment"
    attachment_id: int
    filename: str
    size_bytes: int
    public_file: bool = Field(default=True, alias="public")

    @property
    def public(self) -> bool:
        return self.public_file

    def describe(self) -> str:
        internal = "Internal attachment" if not self.public_file else "Attached"
        return f"{internal} {self.filename} ({self.size_bytes:,} bytes)"


class BelievedResolvedEvent(_Event):
    """Support's structured note that it believes the issue is resolved (an auto-close rule may wait for it)."""

    type: Literal["believed_resolved"] = "believed_resolved"
    set: bool = True
    reason: str | None = None

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        text = "Support believes the issue is resolved" if self.set else "No longer marked as believed resolved"
        return text + (f": {self.reason}" if self.reason else "")


def _recipients(notified: tuple[str, ...]) -> str:
    return f"; notified {', '.join(notified)}" if notified else ""


SlaMoment = Literal["warning", "goal_missed", "breached"]


class SlaEvent(_Event):
    """A clock reached its warning, missed its goal or fell due, as the desk saw it when its timer fired."""

    type: Literal["sla"] = "sla"
    moment: SlaMoment
    metric: str
    cycle: int = 1
    reached_at: AwareDatetime
    notified: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        what = {"warning": "warning reached", "goal_missed": "goal missed", "breached": "breached"}[self.moment]
        return f"{self.metric}: {what} at {self.reached_at.isoformat()}{_recipients(self.notified)}"


class NotifiedEvent(_Event):
    """People told of a clock's moment some time after it (a notification rule's `after`), the clock still running."""

    type: Literal["notified"] = "notified"
    moment: str
    metric: str | None = None
    rule: int  # the notification rule's index in the policy
    reached_at: AwareDatetime  # when the moment itself was reached
    due_at: AwareDatetime  # when the rule's `after` had passed
    notified: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        still = f"still {self.moment.replace('_', ' ')} since {self.reached_at.isoformat()}"
        return (f"{self.metric}: {still}" if self.metric else still.capitalize()) + _recipients(self.notified)


class CloseNoticeEvent(_Event):
    """The customer was told that the ticket will be closed automatically at `close_at`."""

    type: Literal["close_notice"] = "close_notice"
    close_at: AwareDatetime
    notified: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"Notice: closes automatically at {self.close_at.isoformat()}{_recipients(self.notified)}"


OverloadCause = Literal["nobody_on_shift", "load"]


class NoticeEvent(_Event):
    """The customer was told that the desk is overloaded (`cause`) and that team members arrive at `arrival`
    (the policy's `overload_notice`); `text` is the notice as sent. No clock moves."""

    type: Literal["overload_notice"] = "overload_notice"
    arrival: AwareDatetime
    cause: OverloadCause
    text: str
    notified: tuple[str, ...] = ()

    def describe(self) -> str:
        # The notice's own words, as the customer's email says them (the email adds the final full stop).
        return self.text.rstrip().removesuffix(".")


class CommsEvent(_Event):
    """An internal or external communication posted for the ticket, or a reminder that one is overdue."""

    type: Literal["comms"] = "comms"
    action: Literal["update", "overdue"]
    channel: Literal["internal", "external"]
    note: str | None = None
    due_at: AwareDatetime | None = None  # for a reminder: when the update fell due
    notified: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return False

    def describe(self) -> str:
        if self.action == "overdue":
            due = f" (due {self.due_at.isoformat()})" if self.due_at else ""
            return f"{self.channel.capitalize()} update overdue{due}{_recipients(self.notified)}"
        return f"{self.channel.capitalize()} update posted" + (f": {self.note}" if self.note else "")


Event = Annotated[
    OpenedEvent
    | ReplyEvent
    | StatusEvent
    | SeverityEvent
    | TriagedEvent
    | PathEvent
    | PinnedEvent
    | TeamEvent
    | TimeLoggedEvent
    | IncidentEvent
    | PageEvent
    | TierEvent
    | CategoryEvent
    | OutsideIncidentEvent
    | AssignedEvent
    | MergedEvent
    | AttachmentEvent
    | BelievedResolvedEvent
    | SlaEvent
    | NotifiedEvent
    | CloseNoticeEvent
    | NoticeEvent
    | CommsEvent,
    Field(discriminator="type"),
]
"""One entry of a ticket's history: written by the services, replayed by the engine, shown to people."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: tuple[str, ...] = (
    "opened",
    "reply",
    "status",
    "severity",
    "triaged",
    "path",
    "pinned",
    "team",
    "time_logged",
    "incident",
    "page",
    "tier",
    "category",
    "outside_incident",
    "assigned",
    "merged",
    "attachment",
    "believed_resolved",
    "sla",
    "notified",
    "close_notice",
    "overload_notice",
    "comms",
)
# the event types a `sladesk sla replay` input may hold, and the fields each may carry there
_REPLAY_FIELDS: dict[str, set[str]] = {
    "opened": {"by", "support_contact"},
    "reply": {"by", "public"},
    "status": {"to", "by"},
    "severity": {"to", "by", "reason"},
    "triaged": {"severity", "by", "reason"},
    "path": {"to", "by", "reason"},
    "tier": {"to", "by", "reason"},
    "category": {"to", "by", "reason"},
    "outside_incident": {"set", "reason", "by"},
}


def event_of(kind: str, at: datetime, data: Mapping[str, Any]) -> Event:
    """A stored event (its type, instant and data) as its typed model."""
    return EVENT_ADAPTER.validate_python({**data, "type": kind, "at": at})


@dataclass(frozen=True)
class TicketFacts:
    """What the policy needs to know about the ticket besides its events: its facts when it opened."""

    severity: int | str
    tier: str | None = None
    category: str | None = None
    intake: Mapping[str, Any] | None = None  # the answers routing rules may look at


@dataclass(frozen=True)
class ReplayInput:
    policy: str
    ticket: TicketFacts
    events: tuple[Event, ...]
    now: datetime | None


def parse_instant(value: Any, what: str, event_index: int | None = None) -> datetime:
    """An ISO 8601 instant that must carry a UTC offset."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{what} {value!r} is not an ISO 8601 instant", event_index) from None
    else:
        raise InputError(f"{what} must be an ISO 8601 string, got {value!r}", event_index)
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InputError(f"{what} {value!r} has no UTC offset (naive timestamps are refused)", event_index)
    return instant


def parse_event(raw: Any, index: int) -> Event:
    if not isinstance(raw, Mapping):
        raise InputError(f"must be an object with `at` and `type`, got {raw!r}", index)
    kind = raw.get("type")
    if kind not in _REPLAY_FIELDS:
        raise InputError(f"unknown type {kind!r} (expected one of: {', '.join(_REPLAY_FIELDS)})", index)
    if "at" not in raw:
        raise InputError("missing `at`", index)
    unknown = set(raw) - {"at", "type"} - _REPLAY_FIELDS[kind]
    if unknown:
        raise InputError(f"unknown field(s) for a {kind} event: {', '.join(sorted(unknown))}", index)
    at = parse_instant(raw["at"], "`at`", index)
    by = raw.get("by")
    if kind == "reply" and by not in ("agent", "customer"):
        raise InputError(f"a reply needs `by`: agent or customer, got {by!r}", index)
    public = raw.get("public", True)
    if not isinstance(public, bool):
        raise InputError(f"`public` must be true or false, got {public!r}", index)
    to = raw.get("to")
    if kind in ("status", "severity") and (to is None or isinstance(to, bool) or not isinstance(to, str | int)):
        raise InputError(f"a {kind} event needs `to`, got {to!r}", index)
    if kind in ("tier", "category", "path") and to is not None and not isinstance(to, str):
        raise InputError(f"a {kind} event's `to` must be a name or null, got {to!r}", index)
    flag = raw.get("set", True)
    if not isinstance(flag, bool):
        raise InputError(f"`set` must be true or false, got {flag!r}", index)
    reason = raw.get("reason")
    fields: dict[str, Any] = {"at": at, "type": kind, "by": str(by) if by is not None else None}
    if kind == "opened" and "support_contact" in raw:
        if not isinstance(raw["support_contact"], bool):
            raise InputError(f"`support_contact` must be true or false, got {raw['support_contact']!r}", index)
        fields["support_contact"] = raw["support_contact"]
    if kind == "reply":
        fields["public"] = public
    elif kind == "status":
        fields["to"] = str(to)
    elif kind in ("severity", "tier", "category", "path"):
        fields |= {"to": to, "reason": str(reason) if reason is not None else None}
    elif kind == "triaged":
        severity = raw.get("severity")
        if severity is None or isinstance(severity, bool) or not isinstance(severity, str | int):
            raise InputError(f"a triaged event needs `severity`, got {severity!r}", index)
        fields |= {"severity": severity, "reason": str(reason) if reason is not None else None}
    elif kind == "outside_incident":
        fields |= {"set": flag, "reason": str(reason) if reason is not None else None}
    return EVENT_ADAPTER.validate_python(fields)


def parse_events(raw: Any) -> tuple[Event, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InputError("`events` must be a list")
    return tuple(parse_event(item, index) for index, item in enumerate(raw))


def parse_ticket(raw: Any) -> TicketFacts:
    if not isinstance(raw, Mapping):
        raise InputError("`ticket` must be an object with at least `severity`")
    unknown = set(raw) - {"severity", "tier", "category", "intake"}
    if unknown:
        raise InputError(f"unknown field(s) in `ticket`: {', '.join(sorted(unknown))}")
    severity = raw.get("severity")
    if severity is None or isinstance(severity, bool) or not isinstance(severity, int | str):
        raise InputError(f"`ticket.severity` must be a rank or a code, got {severity!r}")
    tier, category, intake = raw.get("tier"), raw.get("category"), raw.get("intake")
    if intake is not None and not isinstance(intake, Mapping):
        raise InputError(f"`ticket.intake` must map intake field ids to answers, got {intake!r}")
    return TicketFacts(
        severity=severity,
        tier=str(tier) if tier is not None else None,
        category=str(category) if category is not None else None,
        intake=dict(intake) if intake is not None else None,
    )


def parse_replay_input(raw: Any) -> ReplayInput:
    """The `sladesk sla replay` input document (docs/clocks.md)."""
    if not isinstance(raw, Mapping):
        raise InputError("the input must be a JSON object with policy, ticket and events")
    unknown = set(raw) - {"policy", "ticket", "events", "now"}
    if unknown:
        raise InputError(f"unknown field(s) in the input: {', '.join(sorted(unknown))}")
    policy = raw.get("policy")
    if not isinstance(policy, str) or not policy:
        raise InputError("`policy` must be a built-in policy id or a path to a policy file")
    if "events" not in raw:
        raise InputError("missing `events`")
    now = parse_instant(raw["now"], "`now`") if raw.get("now") is not None else None
    return ReplayInput(policy, parse_ticket(raw.get("ticket")), parse_events(raw["events"]), now)
