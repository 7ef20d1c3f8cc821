"""Who hears of a ticket's events, and the outbox messages that tell them.

Messages are queued in the unit of work that records the event, so they exist if and only if it commits.
Their text is rendered when they are delivered (`render_all`, a delivery pass at a time), from the stored
event and comment.

- People: the policy's notification rules name the assignee (the team while unassigned), the team, the
  managers (the desk's admins) or the customer; each person gets an email, held back while their quiet
  hours last.
- Customers: the requester gets agents' public replies and status changes by email.
- Subscriptions: each active webhook, chat or PagerDuty subscription gets the event types it asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from sladesk.config import Settings
from sladesk.mail.reference import ticket_message_id, ticket_subject
from sladesk.policy import Policy
from sladesk.policy.model import NotificationMoment, Recipient
from sladesk.services.outbox import message_values
from sladesk.sla import Event, event_of
from sladesk.sla.events import CloseNoticeEvent, CommsEvent, PageEvent, ReplyEvent, SlaEvent, StatusEvent
from sladesk.store.tables import Comment, Subscription, Ticket, TicketEvent, User

MESSAGE_DOMAIN_DEFAULT = "sladesk.invalid"  # Message-IDs' domain while no SLADESK_MAIL_FROM or _DOMAIN is set


def event_type(event: Event) -> str:
    """The name subscribers ask for: `ticket.<type>`, or `sla.<moment>` for a clock's moments."""
    if isinstance(event, SlaEvent):
        return f"sla.{event.moment}"
    if isinstance(event, CommsEvent):
        return f"comms.{event.action}"
    return f"ticket.{event.type}"


def recipients(
    session: Session,
    policy: Policy,
    ticket: Ticket,
    moment: NotificationMoment,
    *,
    metric: str | None,
) -> list[User]:
    """The active people the policy's rules name for `moment` on this ticket, each once (rules with an `after`
    are told later, by their own timer)."""
    severity = policy.severity(ticket.severity_rank).code
    wanted: set[Recipient] = set()
    for rule in policy.spec.notifications:
        if rule.after is None and rule.applies(moment, metric, severity):
            wanted.update(rule.notify)
    return people(session, ticket, wanted)


def people(session: Session, ticket: Ticket, wanted: Iterable[Recipient]) -> list[User]:
    """The active users standing for each kind of recipient on `ticket`, in a stable order, each once."""
    wanted = set(wanted)
    found: dict[int, User] = {}

    def add(users: Iterable[User]) -> None:
        for user in users:
            if user.active:
                found.setdefault(user.id, user)

    staff = select(User).where(User.active.is_(True)).order_by(User.id)
    if "assignee" in wanted:
        assignee = session.get(User, ticket.assignee_id) if ticket.assignee_id is not None else None
        if assignee is not None and assignee.active:
            add([assignee])
        else:
            wanted.add("team")
    if "team" in wanted:
        add(_per_transaction(session, "team", lambda: list(session.scalars(staff.where(User.role == "agent")))))
    if "managers" in wanted:
        add(_per_transaction(session, "managers", lambda: list(session.scalars(staff.where(User.role == "admin")))))
    if "customer" in wanted:
        requester = session.get(User, ticket.requester_id)
        if requester is not None:
            add([requester])
    return list(found.values())


def label(user: User) -> str:
    """How a notified person is named in the ticket's history."""
    return f"{user.name} <{user.email}> by email"


def people_messages(ticket: Ticket, row: TicketEvent, users: Sequence[User], policy: Policy) -> list[dict[str, Any]]:
    """One email per person about the recorded event `row`, each held back until their quiet hours end
    (the `outbox` rows, written by the caller in the event's unit of work)."""
    messages = []
    for user in users:
        zone = _zone(user.timezone) or policy.tz
        # a page goes out whatever the person's quiet hours
        available = row.at if row.type == "page" else quiet_until(user.quiet_hours, zone, row.at) or row.at
        messages.append(
            message_values(
                "email",
                {"render": "event_email", "event_id": row.id, "user_id": user.id},
                idempotency_key=f"event-{row.id}-user-{user.id}",
                now=row.at,
                available_at=available,
                ticket_id=ticket.id,
                event_id=row.id,
            )
        )
    return messages


def event_messages(
    session: Session, ticket: Ticket, row: TicketEvent, event: Event, policy: Policy
) -> list[dict[str, Any]]:
    """The messages every recorded event causes on its own: the customer's copy and the subscriptions'."""
    messages = []
    if _customer_hears(event, row, ticket):
        requester = session.get(User, ticket.requester_id)
        if requester is not None and requester.active and requester.role == "customer":
            messages += people_messages(ticket, row, [requester], policy)
    kind = event_type(event)
    for subscription in active_subscriptions(session):
        if kind in subscription.event_types or "*" in subscription.event_types:
            messages.append(
                message_values(
                    subscription.kind,  # type: ignore[arg-type]
                    {"render": "event_subscription", "event_id": row.id, "subscription_id": subscription.id},
                    idempotency_key=f"event-{row.id}-subscription-{subscription.id}",
                    now=row.at,
                    ticket_id=ticket.id,
                    event_id=row.id,
                )
            )
    return messages


def active_subscriptions(session: Session) -> list[Subscription]:
    query = select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.id)
    return _per_transaction(session, "subscriptions", lambda: list(session.scalars(query)))


_CACHE = "sladesk_notification_lookups"
Found = TypeVar("Found")


def _per_transaction(session: Session, key: str, look_up: Callable[[], Found]) -> Found:
    """`look_up()` once per transaction of `session` (a worker's pass fires many timers in one)."""
    cache: dict[str, Any] = session.info.setdefault(_CACHE, {})
    if key not in cache:
        cache[key] = look_up()
    return cache[key]  # type: ignore[no-any-return]


@event.listens_for(Session, "after_transaction_end")
def _forget_lookups(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(_CACHE, None)


def _customer_hears(event: Event, row: TicketEvent, ticket: Ticket) -> bool:
    """Agents' public replies and status changes reach the requester; their own doings do not echo back."""
    if row.actor_id is not None and row.actor_id == ticket.requester_id:
        return False
    if isinstance(event, ReplyEvent):
        return event.by == "agent" and event.public
    return isinstance(event, StatusEvent) and event.merged_into is None


def quiet_until(quiet_hours: str | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in (`22:00-07:00` in `zone`), or None outside them."""
    if not quiet_hours:
        return None
    start, end = (time.fromisoformat(part.strip()) for part in quiet_hours.split("-", 1))
    local = now.astimezone(zone)
    today = local.date()
    for day in (today - timedelta(days=1), today):
        begin = datetime.combine(day, start, zone)
        finish = datetime.combine(day if end > start else day + timedelta(days=1), end, zone)
        if begin <= local < finish:
            return finish
    return None


def check_quiet_hours(value: str) -> str:
    """`HH:MM-HH:MM`, or ValueError saying how to write it."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-", 1))
    except ValueError:
        raise ValueError(f"{value!r}: write quiet hours like 22:00-07:00") from None
    if start == end:
        raise ValueError(f"{value!r}: quiet hours must not start and end at the same time")
    return f"{start:%H:%M}-{end:%H:%M}"


def _zone(name: str | None) -> ZoneInfo | None:
    return ZoneInfo(name) if name else None


# rendering, at delivery time


def thread_id(ticket_id: int, domain: str) -> str:
    """The Message-ID every mail about a ticket answers, so mail programs keep one thread per ticket."""
    return ticket_message_id(ticket_id, "thread", domain)


def render_all(session: Session, payloads: Sequence[dict[str, Any]], settings: Settings) -> list[dict[str, Any] | None]:
    """The full payload of each stored payload, in order; None where what its message was about is gone.

    What the messages refer to is read with one query per table, not one per message.
    """
    queued = [payload for payload in payloads if payload.get("render") is not None]
    rows = _by_id(session, TicketEvent, {payload["event_id"] for payload in queued})
    tickets = _by_id(session, Ticket, {row.ticket_id for row in rows.values()})
    users = _by_id(session, User, {payload["user_id"] for payload in queued if "user_id" in payload})
    subscriptions = _by_id(
        session, Subscription, {payload["subscription_id"] for payload in queued if "subscription_id" in payload}
    )
    mailed = [payload["event_id"] for payload in queued if payload["render"] == "event_email"]
    comments = {
        comment.event_id: comment
        for comment in (session.scalars(select(Comment).where(Comment.event_id.in_(mailed))) if mailed else [])
    }
    rendered: list[dict[str, Any] | None] = []
    for payload in payloads:
        how = payload.get("render")
        row = rows.get(payload["event_id"]) if how is not None else None
        ticket = tickets.get(row.ticket_id) if row is not None else None
        if how is None:
            rendered.append(payload)
        elif row is None or ticket is None:
            rendered.append(None)
        elif how == "event_email":
            user = users.get(payload["user_id"])
            event = event_of(row.type, row.at, row.data)
            rendered.append(None if user is None else _email(ticket, row, event, user, comments.get(row.id), settings))
        else:
            subscription = subscriptions.get(payload["subscription_id"])
            event = event_of(row.type, row.at, row.data)
            rendered.append(None if subscription is None else _subscription_payload(ticket, row, event, subscription))
    return rendered


Row = TypeVar("Row", TicketEvent, Ticket, User, Subscription)


def _by_id(session: Session, table: type[Row], ids: set[int]) -> dict[int, Row]:
    if not ids:
        return {}
    return {found.id: found for found in session.scalars(select(table).where(table.id.in_(ids)))}


def _email(
    ticket: Ticket, row: TicketEvent, event: Event, user: User, comment: Comment | None, settings: Settings
) -> dict[str, Any]:
    domain = settings.mail_domain or MESSAGE_DOMAIN_DEFAULT
    lines = [f"Ticket #{ticket.id}: {ticket.subject}", ""]
    if isinstance(event, ReplyEvent) and comment is not None:
        lines += [comment.body, ""]
    elif isinstance(event, CloseNoticeEvent):
        lines += [
            "We believe your issue is resolved. Unless you reply, this ticket closes automatically at "
            f"{event.close_at.isoformat()}.",
            "",
        ]
    elif isinstance(event, PageEvent):
        # imported here: incident_links reaches this module through the incidents service
        from sladesk.services.incident_links import page_lines

        lines += [*page_lines(ticket, row, event, user, settings), ""]
    else:
        lines += [event.describe() + ".", ""]
    lines.append(f"Status: {ticket.status}")
    root = thread_id(ticket.id, domain)
    return {
        "to": [user.email],
        "subject": ticket_subject(ticket.id, ticket.subject),
        "text": "\n".join(lines) + "\n",
        "message_id": ticket_message_id(ticket.id, f"{row.id}-{user.id}", domain),
        "in_reply_to": root,
        "references": [root],
        "headers": {"Auto-Submitted": "auto-generated"} if row.actor_id is None else {},
    }


def _subscription_payload(ticket: Ticket, row: TicketEvent, event: Event, subscription: Subscription) -> dict[str, Any]:
    kind = event_type(event)
    summary = f"#{ticket.id} {ticket.subject}: {event.describe()}"
    if subscription.kind == "chat":
        return {"url": subscription.url, "text": summary}
    if subscription.kind == "pagerduty":
        resolved = isinstance(event, StatusEvent) and not ticket.is_open
        return {
            "url": subscription.url,
            "routing_key": subscription.secret or "",
            "event_action": "resolve" if resolved else "trigger",
            "dedup_key": f"sladesk-ticket-{ticket.id}",
            "summary": summary[:1024],
            "severity": {1: "critical", 2: "error"}.get(ticket.severity_rank, "warning"),
            "source": "sladesk",
            "custom_details": {"ticket": ticket.id, "event": kind},
        }
    return {
        "url": subscription.url,
        "secret": subscription.secret or "",
        "event_type": kind,
        "body": {
            "type": kind,
            "timestamp": row.at.isoformat(),
            "data": {
                "ticket": {
                    "id": ticket.id,
                    "subject": ticket.subject,
                    "status": ticket.status,
                    "severity_rank": ticket.severity_rank,
                    "organisation_id": ticket.organisation_id,
                    "version": ticket.version,
                },
                "event": {"id": row.id, "type": row.type, "at": row.at.isoformat(), **row.data},
                "description": event.describe(),
            },
        },
    }
