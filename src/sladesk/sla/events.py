"""Replay input: a ticket's facts and its event history, parsed from JSON-like data with exact errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sladesk.errors import InputError

EventType = Literal["opened", "reply", "status", "severity", "outside_incident"]
EVENT_TYPES: tuple[str, ...] = ("opened", "reply", "status", "severity", "outside_incident")
_FIELDS: dict[str, set[str]] = {
    "opened": {"by"},
    "reply": {"by", "public"},
    "status": {"to", "by"},
    "severity": {"to", "by", "reason"},
    "outside_incident": {"set", "reason", "by"},
}


@dataclass(frozen=True)
class Event:
    """One entry of a ticket's history, as the SLA engine reads it."""

    at: datetime
    type: EventType
    by: str | None = None
    public: bool = True
    to: str | int | None = None
    reason: str | None = None
    set: bool = True


@dataclass(frozen=True)
class TicketFacts:
    """What the policy needs to know about the ticket besides its events."""

    severity: int | str
    tier: str | None = None
    category: str | None = None


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
    if kind not in EVENT_TYPES:
        raise InputError(f"unknown type {kind!r} (expected one of: {', '.join(EVENT_TYPES)})", index)
    if "at" not in raw:
        raise InputError("missing `at`", index)
    unknown = set(raw) - {"at", "type"} - _FIELDS[kind]
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
    flag = raw.get("set", True)
    if not isinstance(flag, bool):
        raise InputError(f"`set` must be true or false, got {flag!r}", index)
    reason = raw.get("reason")
    return Event(
        at=at,
        type=kind,
        by=str(by) if by is not None else None,
        public=public,
        to=to,
        reason=str(reason) if reason is not None else None,
        set=flag,
    )


def parse_events(raw: Any) -> tuple[Event, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InputError("`events` must be a list")
    return tuple(parse_event(item, index) for index, item in enumerate(raw))


def parse_ticket(raw: Any) -> TicketFacts:
    if not isinstance(raw, Mapping):
        raise InputError("`ticket` must be an object with at least `severity`")
    unknown = set(raw) - {"severity", "tier", "category"}
    if unknown:
        raise InputError(f"unknown field(s) in `ticket`: {', '.join(sorted(unknown))}")
    severity = raw.get("severity")
    if severity is None or isinstance(severity, bool) or not isinstance(severity, int | str):
        raise InputError(f"`ticket.severity` must be a rank or a code, got {severity!r}")
    tier, category = raw.get("tier"), raw.get("category")
    return TicketFacts(
        severity=severity,
        tier=str(tier) if tier is not None else None,
        category=str(category) if category is not None else None,
    )


def parse_replay_input(raw: Any) -> ReplayInput:
    """The `sladesk sla replay` input document (DESIGN.md)."""
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
