"""Waking the workers when a change writes a timer that falls due soon.

A worker sleeps until the earliest timer it knows of, with a short safety poll behind it. A change that
writes an earlier one says so: on PostgreSQL with `NOTIFY sladesk_timers` inside its transaction (delivered
to every listening worker on commit, and never if it rolls back), and in the same process (the embedded
worker on SQLite) by setting the waker of its session factory after commit.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

CHANNEL = "sladesk_timers"
SOON = timedelta(seconds=5)  # a worker's safety poll: timers further out are found by it anyway
_PENDING = "sladesk_wake_after_commit"
IN_WORKER = "sladesk_in_worker"  # set on a worker's session: a timer it writes already due, it fires itself


def waker(session: Session) -> threading.Event:
    """The in-process event that the workers on this session factory wait on."""
    caches: dict[str, Any] = session.info.setdefault("caches", {})
    found = caches.get("waker")
    if found is None:
        found = caches.setdefault("waker", threading.Event())
    return found  # type: ignore[no-any-return]


def timer_written(session: Session, due_at: datetime, now: datetime) -> None:
    """Note a timer due at `due_at`, written in `session`'s transaction; wake the workers if it is soon."""
    if due_at - now > SOON or (due_at <= now and session.info.get(IN_WORKER)):
        return
    session.info[_PENDING] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    session.info.pop(IN_WORKER, None)
    if session.info.pop(_PENDING, False):
        waker(session).set()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(IN_WORKER, None)
