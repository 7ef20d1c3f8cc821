"""Idempotency keys: a creating request sent twice with the same key is answered once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sladesk.services.errors import ConflictError, InvalidFieldError
from sladesk.store.tables import IdempotencyKey
from sladesk.store.transaction import transaction

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Remembered:
    """The answer given to the first request with this key."""

    status_code: int
    response: dict[str, Any]
    location: str | None


def claim(sessions: sessionmaker[Session], user_id: int, key: str, request_sha256: str) -> Remembered | None:
    """None if this is the first request with `key` (answer it, then `remember`); else the earlier answer."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidFieldError("Idempotency-Key", f"give 1 to {MAX_KEY_LENGTH} characters")
    try:
        with transaction(sessions) as session:
            session.add(
                IdempotencyKey(user_id=user_id, key=key, request_sha256=request_sha256, created_at=datetime.now(UTC))
            )
        return None
    except IntegrityError:
        pass
    with sessions() as session:
        row = session.scalars(
            select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        ).one()
    if row.request_sha256 != request_sha256:
        raise InvalidFieldError("Idempotency-Key", "this key was used for a different request")
    if row.status_code is None or row.response is None:
        raise ConflictError("a request with this Idempotency-Key is still being answered; retry shortly")
    return Remembered(row.status_code, row.response, row.location)


def remember(
    sessions: sessionmaker[Session],
    user_id: int,
    key: str,
    status_code: int,
    response: dict[str, Any],
    location: str | None,
) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            .values(status_code=status_code, response=response, location=location)
        )


def forget(sessions: sessionmaker[Session], user_id: int, key: str) -> None:
    """Release a key whose request failed, so that it can be retried."""
    with transaction(sessions) as session:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))
