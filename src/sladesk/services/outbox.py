"""The transactional outbox: messages to the outside world, written in the caller's unit of work.

A message is stored with its cause (the ticket and event) in the same transaction, so it exists if and only
if the change committed. Workers deliver it later (`sladesk.notify`), at least once, with its idempotency key.

Kinds and their payloads (JSON):
- `email`: `to` (addresses), `subject`, `text`, `message_id`, `in_reply_to` (or None), `references` (list),
  `headers` (extra headers such as Auto-Submitted).
- `webhook`: `url`, `secret`, `event_type`, `body` (the JSON document to POST).
- `chat`: `url`, `text` (Slack and Mattermost incoming-webhook format).
- `pagerduty`: `url`, `routing_key`, `event_action`, `dedup_key`, `summary`, `severity`, `source`,
  `custom_details`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from sladesk.store.tables import OutboxMessage

Kind = Literal["email", "webhook", "chat", "pagerduty"]


def enqueue(
    session: Session,
    kind: Kind,
    payload: dict[str, Any],
    *,
    idempotency_key: str,
    now: datetime,
    available_at: datetime | None = None,
    ticket_id: int | None = None,
    event_id: int | None = None,
) -> OutboxMessage:
    """Store one message to deliver from `available_at` (default: now) on; it is sent only if the caller commits."""
    message = OutboxMessage(
        **message_values(
            kind,
            payload,
            idempotency_key=idempotency_key,
            now=now,
            available_at=available_at,
            ticket_id=ticket_id,
            event_id=event_id,
        )
    )
    session.add(message)
    return message


def message_values(
    kind: Kind,
    payload: dict[str, Any],
    *,
    idempotency_key: str,
    now: datetime,
    available_at: datetime | None = None,
    ticket_id: int | None = None,
    event_id: int | None = None,
) -> dict[str, Any]:
    """The `outbox` columns of one pending message, for a caller that writes many with one statement."""
    return {
        "kind": kind,
        "ticket_id": ticket_id,
        "event_id": event_id,
        "idempotency_key": idempotency_key,
        "status": "pending",
        "payload": payload,
        "created_at": now,
        "available_at": available_at or now,
        "attempts": 0,
        "sent_at": None,
        "last_error": None,
    }
