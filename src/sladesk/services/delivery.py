"""Delivering the outbox: claim due messages under a lease, send each, then record what happened.

Sending happens outside any database transaction (a slow receiver must not hold SQLite's write lock or
PostgreSQL row locks): a short unit of work claims a batch of messages by moving their `available_at` past
a lease (`SLADESK_DELIVERY_LEASE_SECONDS`) and counting the attempt, and renders them with one query per
table; the sends follow, each channel's in order over one connection for the pass (`sladesk.notify.Channels`),
the channels side by side;
a second short unit of work marks the sent ones with one statement, schedules each failure's retry after
`backoff`, or moves it to `dead` after the last attempt. A pass stops sending at half its lease and hands
back what it has not tried. A worker killed mid-send leaves its messages to be claimed again when the lease
ends, so delivery is at least once, and every message carries its idempotency key for the receiver to drop
a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import Settings
from sladesk.notify import MAX_ATTEMPTS, Channels, DeliveryFailed, backoff
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ConflictError, ForbiddenError, NotFoundError
from sladesk.services.notifications import render_all
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


def lease(settings: Settings) -> timedelta:
    """How long a pass holds the messages it claims: `SLADESK_DELIVERY_LEASE_SECONDS`, else `LEASE`."""
    seconds = settings.delivery_lease_seconds
    return LEASE if seconds is None else timedelta(seconds=seconds)


def claim_messages(session: Session, now: datetime, settings: Settings, *, limit: int = 50) -> list[Claimed]:
    """Lease up to `limit` pending messages due by `now`, rendered and ready to send, earliest first.

    Email waits, unclaimed and unattempted, while no SMTP server is configured (`SLADESK_SMTP_HOST`).
    """
    statement = (
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.idempotency_key, OutboxMessage.attempts)
        .add_columns(OutboxMessage.payload)
        .where(OutboxMessage.status == "pending", OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    if not settings.smtp_host:
        statement = statement.where(OutboxMessage.kind != "email")
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = list(session.execute(statement))
    if not rows:
        return []
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row.id for row in rows]))
        .values(attempts=OutboxMessage.attempts + 1, available_at=now + lease(settings))
        .execution_options(synchronize_session=False)
    )
    payloads = render_all(session, [row.payload for row in rows], settings)
    return [
        Claimed(row.id, row.kind, row.idempotency_key, row.attempts + 1, payload)
        for row, payload in zip(rows, payloads, strict=True)
    ]


def deliver_due(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    settings: Settings,
    *,
    limit: int = 50,
    send: Deliver | None = None,
) -> Delivered:
    """One pass: claim, send each message outside any transaction, then record the outcomes.

    `send` delivers one message (a stand-in for the channels), the messages one after the other. By default
    each channel sends its messages in order over its own connection, the channels side by side, so a mail
    server's answer is not waited for before the next webhook goes out.
    """
    with transaction(sessions) as session:
        claimed = claim_messages(session, now(), settings, limit=limit)
    if not claimed:
        return Delivered()
    stop_at = time.monotonic() + lease(settings).total_seconds() / 2
    if send is not None:
        sent = [_send_in_order(claimed, send, settings, stop_at)]
    else:
        by_kind: dict[str, list[Claimed]] = {}
        for message in claimed:
            by_kind.setdefault(message.kind, []).append(message)
        with ThreadPoolExecutor(max_workers=len(by_kind), thread_name_prefix="sladesk-delivery") as pool:
            sending = [pool.submit(_send_over_channels, messages, settings, stop_at) for messages in by_kind.values()]
            sent = [future.result() for future in sending]
    result = Delivered()
    with transaction(sessions) as session:
        record_outcomes(session, [outcome for outcomes, _ in sent for outcome in outcomes], now(), result)
        untried = [message for _, left in sent for message in left]
        if untried:
            _hand_back(session, untried, now())
    return result


Sent = tuple[list[tuple[Claimed, DeliveryFailed | None]], list[Claimed]]  # the outcomes, and what was not tried


def _send_over_channels(messages: Sequence[Claimed], settings: Settings, stop_at: float) -> Sent:
    with Channels(settings) as channels:
        return _send_in_order(messages, channels.deliver, settings, stop_at)


def _send_in_order(messages: Sequence[Claimed], send: Deliver, settings: Settings, stop_at: float) -> Sent:
    """Send each message in turn until the monotonic instant `stop_at` (half the lease) has passed."""
    outcomes: list[tuple[Claimed, DeliveryFailed | None]] = []
    untried: list[Claimed] = []
    for message in messages:
        if time.monotonic() > stop_at:  # the lease is running out: another pass takes the rest
            untried.append(message)
            continue
        if message.payload is None:
            outcomes.append((message, DeliveryFailed("what the message was about no longer exists", False)))
            continue
        try:
            send(message.kind, message.payload, message.idempotency_key, settings)
        except DeliveryFailed as failure:
            outcomes.append((message, failure))
        else:
            outcomes.append((message, None))
    return outcomes, untried


def record_outcomes(
    session: Session, outcomes: Sequence[tuple[Claimed, DeliveryFailed | None]], now: datetime, result: Delivered
) -> None:
    """Mark the sent messages with one statement; schedule each failure's retry, or give it up as dead."""
    for claimed, _ in outcomes:
        result.kinds[claimed.idempotency_key] = claimed.kind
    sent = [claimed.id for claimed, failure in outcomes if failure is None]
    if sent:
        marked = session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sent), OutboxMessage.status == "pending")
            .values(status="sent", sent_at=now, last_error=None)
            .returning(OutboxMessage.idempotency_key)
            .execution_options(synchronize_session=False)
        )
        done = set(marked)
        result.sent += [claimed.idempotency_key for claimed, failure in outcomes if claimed.idempotency_key in done]
    for claimed, failure in outcomes:
        if failure is None:
            continue
        message = session.get(OutboxMessage, claimed.id)
        if message is None or message.status != "pending":
            continue
        message.last_error = failure.reason[:2000]
        if not failure.retryable or message.attempts >= MAX_ATTEMPTS:
            message.status = "dead"
            result.dead.append(message.idempotency_key)
        else:
            wait = max(backoff(message.attempts), failure.retry_after or timedelta())
            message.available_at = now + wait
            result.retried.append(message.idempotency_key)


def _hand_back(session: Session, untried: Sequence[Claimed], now: datetime) -> None:
    """Messages a pass claimed and did not try: due again now, the attempt not counted (never below 0: an admin
    may have retried one meanwhile, with a fresh count)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([claimed.id for claimed in untried]), OutboxMessage.status == "pending")
        .values(attempts=case((OutboxMessage.attempts > 0, OutboxMessage.attempts - 1), else_=0), available_at=now)
        .execution_options(synchronize_session=False)
    )


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
    """Send a failed message again from now, with a fresh count of attempts and the same idempotency key.

    A failed message is a dead one, or a pending one whose last attempt failed (it waits for its backoff: the
    retry makes it due now). Its last error is cleared, so it no longer reads as failing until it fails again.
    """
    _require_admin(actor)
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFoundError(f"no outbox message {message_id}")
    failed = message.status == "dead" or (message.status == "pending" and message.last_error is not None)
    if not failed:
        state = {
            "sent": "sent",
            "cancelled": "cancelled (its page was acknowledged or resolved before it was due)",
        }.get(message.status, "pending and has not failed")
        raise ConflictError(f"outbox message {message_id} is {state}: only failed messages are retried")
    message.status, message.attempts, message.available_at, message.last_error = "pending", 0, now, None
    session.flush()
    return message


def outbox_depth(session: Session) -> dict[str, int]:
    """How many messages are in each status."""
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {status: count for status, count in rows}


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins read and retry the outbox")
