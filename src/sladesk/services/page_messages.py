"""The messages a page and an incident's acknowledgement or resolve send, per person.

A page tells each person it names through their own notification rules (`services.notification_rules`): one
outbox message per rule, due at the page's instant plus the rule's `after`, whatever their quiet hours.
Someone without rules gets one email at once. Email goes through the usual rendering at delivery; a chat
message and a PagerDuty trigger are stored whole. Every PagerDuty event about a ticket carries the
`dedup_key` `sladesk-ticket-{id}`, the key the desk's PagerDuty subscriptions use too, so PagerDuty keeps one
incident per ticket.

When the incident is acknowledged or resolved, the rule messages not yet tried are cancelled (a later rule
has nothing left to ask for), and every PagerDuty routing key that got a trigger for it gets `acknowledge` or
`resolve` with the same `dedup_key`. A message already being delivered, or tried and waiting to be tried
again, is left to go: it may have reached its receiver already, so its routing key is told too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.notification_rules import DEFAULT_RULES, NotificationRule, rules_of
from sladesk.services.outbox import message_values
from sladesk.sla import Event
from sladesk.sla.events import IncidentEvent, PageEvent
from sladesk.store.tables import OutboxMessage, Ticket, TicketEvent, User

PAGE_KEY_PREFIX = "page-"  # the idempotency keys of rule messages, which an acknowledgement may cancel
CANCELLED = "cancelled"
SOURCE = "sladesk"


def dedup_key(ticket_id: int) -> str:
    """The PagerDuty incident of a ticket: one key per ticket, for triggers, acknowledgements and resolves."""
    return f"sladesk-ticket-{ticket_id}"


def page_label(user: User) -> str:
    """How a paged person is named in the ticket's history: with the channels their rules reach them by, e.g.
    `Ann <ann@example.com> by email, by chat after 5m, by PagerDuty after 10m`."""
    ways = []
    for rule in rules_of(user) or DEFAULT_RULES:
        way = f"by {CHANNEL_NAMES[rule.channel]}"
        ways.append(way if not rule.after else f"{way} after {rule.stored()['after']}")
    return f"{user.name} <{user.email}> " + ", ".join(dict.fromkeys(ways))


CHANNEL_NAMES = {"email": "email", "chat": "chat", "pagerduty": "PagerDuty"}


def page_messages(
    session: Session, ticket: Ticket, row: TicketEvent, event: Event, users: Sequence[User], policy: Policy
) -> list[dict[str, Any]]:
    """The outbox rows telling `users` of the recorded page `row`: one per rule of each, in rule order."""
    messages = []
    for user in users:
        for index, rule in enumerate(rules_of(user) or DEFAULT_RULES):
            messages.append(
                message_values(
                    rule.channel,
                    _payload(ticket, row, event, user, rule, policy),
                    idempotency_key=f"{PAGE_KEY_PREFIX}{row.id}-user-{user.id}-rule-{index}",
                    now=row.at,
                    available_at=row.at + rule.after,
                    ticket_id=ticket.id,
                    event_id=row.id,
                )
            )
    return messages


def _payload(
    ticket: Ticket, row: TicketEvent, event: Event, user: User, rule: NotificationRule, policy: Policy
) -> dict[str, Any]:
    if rule.channel == "email":
        return {"render": "event_email", "event_id": row.id, "user_id": user.id}
    severity = policy.severity(ticket.severity_rank).code
    step = f"escalation step {event.step + 1}, round {event.round + 1}" if isinstance(event, PageEvent) else "page"
    if rule.channel == "chat":
        text = f"Page for {user.name}: {severity} #{ticket.id} {ticket.subject} ({step})"
        return {"url": rule.to, "text": text}
    return {
        "url": rule.url,
        "routing_key": rule.to,
        "event_action": "trigger",
        "dedup_key": dedup_key(ticket.id),
        "summary": f"{severity} #{ticket.id} {ticket.subject}"[:1024],
        "severity": "critical" if ticket.severity_rank == 1 else "error",
        "source": SOURCE,
        "custom_details": {
            "ticket": ticket.id,
            "subject": ticket.subject,
            "severity": severity,
            "paged": user.name,
            "step": step,
        },
    }


def incident_messages(session: Session, ticket: Ticket, row: TicketEvent, event: Event) -> list[dict[str, Any]]:
    """The outbox rows an incident's acknowledgement or resolve causes: PagerDuty `acknowledge` or `resolve` for
    each routing key that got a trigger. Rule messages of the incident not yet tried are cancelled first.

    Any other event given here ended the incident by finishing the ticket (resolved or closed): a resolve."""
    if isinstance(event, IncidentEvent) and event.action == "triggered":
        return []
    _cancel_waiting(session, ticket.id)
    action = "acknowledge" if isinstance(event, IncidentEvent) and event.action == "acknowledged" else "resolve"
    messages = []
    for index, (url, routing_key) in enumerate(_triggered(session, ticket.id)):
        messages.append(
            message_values(
                "pagerduty",
                {"url": url, "routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(ticket.id)},
                idempotency_key=f"incident-{row.id}-pagerduty-{index}",
                now=row.at,
                ticket_id=ticket.id,
                event_id=row.id,
            )
        )
    return messages


def _cancel_waiting(session: Session, ticket_id: int) -> None:
    """Cancel the ticket's rule messages that no delivery has claimed yet (none attempted): they never go out.

    A delivery pass that claims one at the same moment either goes first (its attempt counted: the message goes)
    or finds it cancelled: the status and the attempt are checked in the one UPDATE.
    """
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.status == "pending",
            OutboxMessage.attempts == 0,
            OutboxMessage.idempotency_key.startswith(PAGE_KEY_PREFIX, autoescape=True),
        )
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )


def _triggered(session: Session, ticket_id: int) -> list[tuple[str | None, str]]:
    """(Events API URL, routing key) of each PagerDuty trigger a page of the ticket sent or is sending, each once."""
    payloads = session.scalars(
        select(OutboxMessage.payload)
        .where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.kind == "pagerduty",
            OutboxMessage.status.in_(("pending", "sent")),
            OutboxMessage.idempotency_key.startswith(PAGE_KEY_PREFIX, autoescape=True),
        )
        .order_by(OutboxMessage.id)
    )
    found: dict[tuple[str | None, str], None] = {}
    for payload in payloads:
        if payload.get("event_action") == "trigger":
            found.setdefault((payload.get("url"), payload["routing_key"]), None)
    return list(found)
