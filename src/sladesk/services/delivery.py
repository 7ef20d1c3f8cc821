"""Delivering the outbox: claim due messages under a lease, send each, then record what happened.

Sending happens outside any database transaction (a slow receiver must not hold SQLite's write lock or
PostgreSQL row locks): a short unit of work claims messages by moving their `available_at` past a lease
and counting the attempt; the sends follow; a second short unit of work marks each sent, schedules its
retry after `backoff`, or moves it to `dead` after the last attempt. A worker killed mid-send leaves its
messages to be claimed again when the lease ends, so delivery is at least once, and every message
carries its idempotency key for the receiver to drop a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import Settings
from sladesk.notify import MAX_ATTEMPTS, DeliveryFailed, backoff, deliver
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ConflictError, ForbiddenError, NotFoundError
from sladesk.services.notifications import render
from sladesk.store.tables import OutboxMessage
from sladesk.store.transaction import transaction

LEASE = timedelta(minutes=2)  # longer than any one send may take (each channel times out well before)

Deliver = Callable[[str, dict[str, Any], str, Settings], None]


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    idempotency_key: str
    attempts: int
    payload: dict[str, Any] | None  # None: what it was about is gone


@dataclass
class Delivered:
    sent: list[str] = field(default_factory=list)  # idempotency keys
    retried: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # each handled message's channel, by idempotency key


def claim_messages(session: Session, now: datetime, settings: Settings, *, limit: int = 50) -> list[Claimed]:
    """Lease up to `limit` pending messages due by `now`, rendered and ready to send.

    Email waits, unclaimed and unattempted, while no SMTP server is configured (`SLADESK_SMTP_HOST`).
    """
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    if not settings.smtp_host:
        statement = statement.where(OutboxMessage.kind != "email")
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    messages = list(session.scalars(statement))
    for message in messages:
        message.attempts += 1
        message.available_at = now + LEASE
    session.flush()
    return [Claimed(m.id, m.kind, m.idempotency_key, m.attempts, render(session, m, settings)) for m in messages]


def deliver_due(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    settings: Settings,
    *,
    limit: int = 50,
    send: Deliver = deliver,
) -> Delivered:
    """One pass: claim, send each message outside any transaction, then record the outcomes."""
    with transaction(sessions) as session:
        claimed = claim_messages(session, now(), settings, limit=limit)
    outcomes: list[tuple[Claimed, DeliveryFailed | None]] = []
    for message in claimed:
        if message.payload is None:
            outcomes.append((message, DeliveryFailed("what the message was about no longer exists", False)))
            continue
        try:
            send(message.kind, message.payload, message.idempotency_key, settings)
        except DeliveryFailed as failure:
            outcomes.append((message, failure))
        else:
            outcomes.append((message, None))
    result = Delivered()
    if outcomes:
        with transaction(sessions) as session:
            record_outcomes(session, outcomes, now(), result)
    return result


def record_outcomes(
    session: Session, outcomes: Sequence[tuple[Claimed, DeliveryFailed | None]], now: datetime, result: Delivered
) -> None:
    for claimed, failure in outcomes:
        result.kinds[claimed.idempotency_key] = claimed.kind
        message = session.get(OutboxMessage, claimed.id)
        if message is None or message.status != "pending":
            continue
        if failure is None:
            message.status, message.sent_at, message.last_error = "sent", now, None
            result.sent.append(message.idempotency_key)
            continue
        message.last_error = failure.reason[:2000]
        if not failure.retryable or message.attempts >= MAX_ATTEMPTS:
            message.status = "dead"
            result.dead.append(message.idempotency_key)
        else:
            wait = max(backoff(message.attempts), failure.retry_after or timedelta())
            message.available_at = now + wait
            result.retried.append(message.idempotency_key)


def list_messages(
    session: Session, actor: Actor, *, status: str = "dead", limit: int = 100, before_id: int | None = None
) -> list[OutboxMessage]:
    """Outbox messages in `status`, newest first: admins see the dead letters and what went wrong."""
    _require_admin(actor)
    statement = select(OutboxMessage).where(OutboxMessage.status == status)
    if before_id is not None:
        statement = statement.where(OutboxMessage.id < before_id)
    return list(session.scalars(statement.order_by(OutboxMessage.id.desc()).limit(limit)))


def retry_message(session: Session, actor: Actor, message_id: int, now: datetime) -> OutboxMessage:
    """Send a dead message again from now, with a fresh count of attempts and the same idempotency key."""
    _require_admin(actor)
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFoundError(f"no outbox message {message_id}")
    if message.status != "dead":
        raise ConflictError(f"outbox message {message_id} is {message.status}: only dead messages are retried")
    message.status, message.attempts, message.available_at = "pending", 0, now
    session.flush()
    return message


def outbox_depth(session: Session) -> dict[str, int]:
    """How many messages are in each status."""
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {status: count for status, count in rows}


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins read and retry the outbox")
