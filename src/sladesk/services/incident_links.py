"""Acknowledging or resolving a ticket's on-call incident from its page: signed links, and the words of a reply.

A page email carries two links, one to acknowledge and one to resolve, each a token naming the ticket, its
incident (the id of the event that started it), the person paged and the action, valid for `LINK_LIFETIME`
from the page. The token is signed with HMAC-SHA256 over the desk's `secret_key`; it is the credential, so
whoever opens the link acts as the person paged. A staff member may instead answer the page (or any mail of
the ticket) with `ACK` or `RESOLVE` as the first line of their reply.

Either way the change goes through `acknowledge_incident` / `resolve_incident`, as the API's does; an incident
acknowledged or resolved already is refused with who did it and when (`AlreadyDoneError`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from sladesk.config import Settings
from sladesk.errors import SladeskError
from sladesk.paging import policy_from_spec
from sladesk.services.actors import Actor, Role
from sladesk.services.clocks import ticket_policy
from sladesk.services.errors import ConflictError, NotFoundError
from sladesk.services.incidents import acknowledge_incident, resolve_incident
from sladesk.services.tickets import Change
from sladesk.sla import event_of
from sladesk.sla.events import IncidentEvent, PageEvent
from sladesk.store.tables import Ticket, TicketEvent, User

LINK_LIFETIME = timedelta(hours=24)
# A token is five numbers and a letter, then the signature: far shorter than this.
TOKEN_MAX_LENGTH = 200
REPLY_INSTRUCTIONS = "Or reply to this message with ACK or RESOLVE."

Action = Literal["acknowledge", "resolve"]
_ACTION_CODES: dict[Action, str] = {"acknowledge": "a", "resolve": "r"}
_DONE: dict[Action, str] = {"acknowledge": "acknowledged", "resolve": "resolved"}
_SIGNED_PURPOSE = b"sladesk incident link v1\n"
_TOKEN = re.compile(r"(\d{1,18})\.(\d{1,18})\.(\d{1,18})\.([ar])\.(\d{1,12})\.([A-Za-z0-9_-]{43})")
# What a reply's first line may say, in any case, with a full stop or exclamation mark after it.
_REPLY_WORDS: dict[str, Action] = {"ack": "acknowledge", "acknowledge": "acknowledge", "resolve": "resolve"}


class LinkError(SladeskError):
    """A link the desk cannot act on; `status` is the HTTP status its page answers with."""

    status = 400


class BadLinkError(LinkError):
    """Not a link this desk signed: cut short, changed, or signed with another key."""


class ExpiredLinkError(LinkError):
    """A link the desk signed whose time is over, or whose incident is not the ticket's any more."""

    status = 410


class LinksUnavailableError(LinkError):
    """The desk has no `secret_key`, so it can neither sign nor check links."""

    status = 503


class AlreadyDoneError(ConflictError):
    """The incident was acknowledged or resolved already; says by whom and when."""


@dataclass(frozen=True)
class IncidentLink:
    """What a signed link names: who may do what to which incident, until when."""

    ticket_id: int
    incident_id: int  # the id of the `incident` event that started it
    user_id: int
    action: Action
    expires_at: datetime


@dataclass(frozen=True)
class IncidentState:
    """A ticket's incident as a link's page shows it: who last acknowledged it and who resolved it, when
    (None: not yet), and when that acknowledgement lapses under the policy's `ack_timeout` (None: never)."""

    incident_id: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledgement_lapses_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None

    def done(self, action: Action, now: datetime) -> str | None:
        """Why `action` has nothing left to do at `now` (`acknowledged already by ann at …`), or None if it has.

        An acknowledgement that lapsed leaves acknowledging to do again."""
        if self.resolved_at is not None:
            return f"resolved already by {self.resolved_by} at {_minute(self.resolved_at)}"
        lapses_at = self.acknowledgement_lapses_at
        if action == "acknowledge" and self.acknowledged_at is not None and (lapses_at is None or now < lapses_at):
            return f"acknowledged already by {self.acknowledged_by} at {_minute(self.acknowledged_at)}"
        return None


def signing_key(settings: Settings) -> bytes | None:
    """The key links are signed with, or None while the desk has no `secret_key`."""
    return settings.secret_key.get_secret_value().encode() if settings.secret_key is not None else None


def sign_link(link: IncidentLink, key: bytes) -> str:
    """The URL-safe token for `link`."""
    body = ".".join(
        (
            str(link.ticket_id),
            str(link.incident_id),
            str(link.user_id),
            _ACTION_CODES[link.action],
            str(int(link.expires_at.timestamp())),
        )
    )
    return f"{body}.{_signature(body, key)}"


def read_link(token: str, key: bytes | None, now: datetime) -> IncidentLink:
    """The link `token` stands for, once its signature holds and it has not expired."""
    if key is None:
        raise LinksUnavailableError("this desk cannot check links: its secret key (SLADESK_SECRET_KEY) is not set")
    found = _TOKEN.fullmatch(token) if len(token) <= TOKEN_MAX_LENGTH else None
    if found is None:
        raise BadLinkError("this link is not one the desk sent: it may have been cut short; copy it whole")
    body, signature = token.rpartition(".")[0], found.group(6)
    if not hmac.compare_digest(signature.encode(), _signature(body, key).encode()):
        raise BadLinkError("this link is not one the desk sent: it has been changed, or was signed with another key")
    ticket, incident, user, code, expires = found.group(1, 2, 3, 4, 5)
    expires_at = datetime.fromtimestamp(int(expires), UTC)
    if now >= expires_at:
        raise ExpiredLinkError(
            f"this link expired at {_minute(expires_at)}; acknowledge or resolve from the ticket in the console"
        )
    action: Action = "acknowledge" if code == "a" else "resolve"
    return IncidentLink(int(ticket), int(incident), int(user), action, expires_at)


def page_links(ticket: Ticket, row: TicketEvent, user: User, settings: Settings) -> dict[Action, str]:
    """The acknowledge and resolve links of the page `row` for `user`; none without a public URL or a key."""
    key = signing_key(settings)
    session = object_session(ticket)
    if settings.public_url is None or key is None or session is None:
        return {}
    incident_id = _incident_event_id(session, ticket.id)
    if incident_id is None:
        return {}
    expires_at = row.at + LINK_LIFETIME
    actions: tuple[Action, ...] = ("acknowledge", "resolve")
    return {
        action: f"{settings.public_url}/incident/"
        + sign_link(IncidentLink(ticket.id, incident_id, user.id, action, expires_at), key)
        for action in actions
    }


def page_lines(ticket: Ticket, row: TicketEvent, event: PageEvent, user: User, settings: Settings) -> list[str]:
    """What a page email says: who is paged for which ticket and severity, and how to acknowledge or resolve."""
    session = object_session(ticket)
    severity = str(ticket.severity_rank)
    if session is not None:
        level = ticket_policy(session, ticket).severity(ticket.severity_rank)
        severity = f"{level.code} ({level.name})"
    lines = [f"{user.name}, you are paged for ticket #{ticket.id}, severity {severity}.", event.describe() + ".", ""]
    links = page_links(ticket, row, user, settings)
    if links:
        lines += [f"Acknowledge: {links['acknowledge']}", f"Resolve: {links['resolve']}", ""]
    return [*lines, REPLY_INSTRUCTIONS]


def incident_state(session: Session, ticket_id: int) -> IncidentState | None:
    """The ticket's incident with the names of who last acknowledged it and who resolved it, or None if none
    started."""
    rows = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type == "incident")
        .order_by(TicketEvent.sequence)
    )
    started: IncidentEvent | None = None
    started_id = 0
    acknowledged: TicketEvent | None = None
    resolved: TicketEvent | None = None
    for row in rows:
        event = event_of(row.type, row.at, row.data)
        assert isinstance(event, IncidentEvent)
        if event.action == "triggered" and started is None:
            started, started_id = event, row.id
        elif event.action == "acknowledged" and started is not None:
            acknowledged = row
        elif event.action == "resolved" and started is not None and resolved is None:
            resolved = row
    if started is None:
        return None
    timeout = policy_from_spec(started.snapshot).ack_timeout if started.snapshot else None
    return IncidentState(
        started_id,
        _name(session, acknowledged),
        acknowledged.at if acknowledged is not None else None,
        acknowledged.at + timeout if acknowledged is not None and timeout is not None else None,
        _name(session, resolved),
        resolved.at if resolved is not None else None,
    )


def act_on_incident(session: Session, actor: Actor, ticket_id: int, action: Action, now: datetime) -> Change:
    """Acknowledge or resolve the ticket's incident as `actor`; refused with who did it if that is done already."""
    state = incident_state(session, ticket_id)
    if state is not None and (done := state.done(action, now)) is not None:
        raise AlreadyDoneError(f"the on-call incident of ticket #{ticket_id} was {done}")
    if action == "acknowledge":
        return acknowledge_incident(session, actor, ticket_id, now=now)
    return resolve_incident(session, actor, ticket_id, now=now)


@dataclass(frozen=True)
class LinkTarget:
    """What a checked link acts on: the ticket, the person paged, and the incident as it is now."""

    link: IncidentLink
    ticket: Ticket
    person: User
    severity: str
    state: IncidentState


def link_target(session: Session, link: IncidentLink) -> LinkTarget:
    """The ticket, person and incident `link` names, as long as that incident is still the ticket's."""
    ticket = session.get(Ticket, link.ticket_id)
    person = session.get(User, link.user_id)
    if ticket is None or person is None:
        raise NotFoundError("the ticket or the person this link names is no longer on the desk")
    if not person.active:
        raise ExpiredLinkError(f"this link was for {person.name}, who can no longer act on the desk")
    state = incident_state(session, ticket.id)
    if state is None or state.incident_id != link.incident_id:
        raise ExpiredLinkError(f"this link is for an on-call incident that is no longer ticket #{ticket.id}'s")
    level = ticket_policy(session, ticket).severity(ticket.severity_rank)
    return LinkTarget(link, ticket, person, f"{level.code} ({level.name})", state)


def act_by_link(session: Session, link: IncidentLink, now: datetime) -> Change:
    """Do what `link` says as the person it was sent to (who must still be active staff)."""
    person = link_target(session, link).person
    actor = Actor(person.id, Role(person.role), person.organisation_id)
    return act_on_incident(session, actor, link.ticket_id, link.action, now)


def reply_action(text: str) -> Action | None:
    """The action a reply's new text asks for: its first line `ack`, `acknowledge` or `resolve` (any case)."""
    for line in text.splitlines():
        if line.strip():
            return _REPLY_WORDS.get(line.strip().rstrip(".!").strip().lower())
    return None


def done_words(action: Action) -> str:
    """`acknowledged` or `resolved`."""
    return _DONE[action]


def _signature(body: str, key: bytes) -> str:
    digest = hmac.new(key, _SIGNED_PURPOSE + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _incident_event_id(session: Session, ticket_id: int) -> int | None:
    state = incident_state(session, ticket_id)
    return state.incident_id if state is not None else None


def _name(session: Session, row: TicketEvent | None) -> str | None:
    if row is None:
        return None
    person = session.get(User, row.actor_id) if row.actor_id is not None else None
    return person.name if person is not None else "the desk"


def _minute(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
