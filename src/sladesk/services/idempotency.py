"""Idempotency keys: a creating request sent twice with the same key is answered once.

The first request with a key claims it (a row with no answer yet) and stores its answer in the same
transaction as the work it did, so a key either has the answer to work that was committed or has none and
no work was kept. A claim is a lease of `LEASE` from the row's `created_at`: while it runs, a retry is told
the request is still being answered; once it has run out (the request died with its server), a retry takes
the key over and does the work. The claim's instant fences the lease: a request whose key was taken over
cannot store its answer, and so cannot commit its work.

Keys are kept for `RETENTION` after they were claimed; `purge_idempotency_keys` forgets older ones, so a
request sent again after that is a new request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sladesk.services.errors import ConflictError, InvalidFieldError
from sladesk.store.tables import IdempotencyKey
from sladesk.store.transaction import transaction

MAX_KEY_LENGTH = 200
LEASE = timedelta(seconds=30)
RETENTION = timedelta(hours=24)  # how long a key's answer is given again
_ATTEMPTS = 3  # a key forgotten or taken over between two looks at it is looked at again, a few times


@dataclass(frozen=True)
class Remembered:
    """The answer given to the first request with this key."""

    status_code: int
    response: dict[str, Any]
    location: str | None


@dataclass(frozen=True)
class Claim:
    """A key this request holds, since `claimed_at`, until it stores its answer or forgets the key."""

    user_id: int
    key: str
    claimed_at: datetime


_PRINTABLE = re.compile(r"[\x20-\x7e]+")  # what a header carries safely, and every database stores


def claim(
    sessions: sessionmaker[Session], user_id: int, key: str, request_sha256: str, now: datetime
) -> Claim | Remembered:
    """A Claim if this request is to answer (then `remember` in its transaction); else the earlier answer.

    ConflictError while another request holds the key's lease.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidFieldError("Idempotency-Key", f"give 1 to {MAX_KEY_LENGTH} characters")
    if not _PRINTABLE.fullmatch(key):
        raise InvalidFieldError("Idempotency-Key", "use printable ASCII characters only (a UUID, say)")
    for _ in range(_ATTEMPTS):
        try:
            with transaction(sessions) as session:
                session.add(IdempotencyKey(user_id=user_id, key=key, request_sha256=request_sha256, created_at=now))
            return Claim(user_id, key, now)
        except IntegrityError:
            pass
        with sessions() as session:
            row = session.scalars(
                select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            ).one_or_none()
        if row is None:  # forgotten since: claim it afresh
            continue
        if row.request_sha256 != request_sha256:
            raise InvalidFieldError("Idempotency-Key", "this key was used for a different request")
        if row.status_code is not None and row.response is not None:
            return Remembered(row.status_code, row.response, row.location)
        if now < row.created_at + LEASE:
            raise ConflictError("a request with this Idempotency-Key is still being answered; retry shortly")
        with transaction(sessions) as session:
            taken = cast(
                "CursorResult[Any]",
                session.execute(
                    update(IdempotencyKey)
                    .where(_held(Claim(user_id, key, row.created_at)))
                    .values(created_at=now)
                    .execution_options(synchronize_session=False)
                ),
            )
        if taken.rowcount == 1:
            return Claim(user_id, key, now)
    raise ConflictError("a request with this Idempotency-Key is still being answered; retry shortly")


def remember(session: Session, held: Claim, status_code: int, response: dict[str, Any], location: str | None) -> None:
    """Store the answer, in the transaction of the work it answers; ConflictError if the lease was taken over."""
    stored = cast(
        "CursorResult[Any]",
        session.execute(
            update(IdempotencyKey)
            .where(_held(held))
            .values(status_code=status_code, response=response, location=location)
            .execution_options(synchronize_session=False)
        ),
    )
    if stored.rowcount != 1:
        raise ConflictError("this request's Idempotency-Key was taken over by a retry; its work is not kept")


def forget(sessions: sessionmaker[Session], held: Claim) -> None:
    """Release a key whose request failed, so that it can be retried at once (unless a retry took it over)."""
    with transaction(sessions) as session:
        session.execute(delete(IdempotencyKey).where(_held(held)).execution_options(synchronize_session=False))


def purge_idempotency_keys(session: Session, now: datetime, older_than: timedelta = RETENTION) -> int:
    """Forget the keys claimed more than `older_than` before `now`, answered or not; returns how many.

    `older_than` must be longer than `LEASE`: a key whose lease still runs belongs to a request at work.
    """
    if older_than <= LEASE:
        raise ValueError(f"keys are kept longer than their lease of {LEASE}, not {older_than}")
    purged = cast(
        "CursorResult[Any]",
        session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.created_at < now - older_than)
            .execution_options(synchronize_session=False)
        ),
    )
    return purged.rowcount


def _held(held: Claim) -> Any:
    return (
        (IdempotencyKey.user_id == held.user_id)
        & (IdempotencyKey.key == held.key)
        & IdempotencyKey.status_code.is_(None)
        & (IdempotencyKey.created_at == held.claimed_at)
    )
