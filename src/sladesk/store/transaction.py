"""Units of work: the adapters (API, pages, CLI, workers) open them; the use cases run inside.

A writing unit of work says so when it starts, so that SQLite takes its write lock then (`BEGIN
IMMEDIATE`) and two writers take turns instead of the second failing on a stale snapshot; a reading
one starts a plain deferred transaction and never blocks a writer. PostgreSQL needs neither: the
services lock the rows they change (`SELECT ... FOR UPDATE`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

WRITES = "sladesk_writes"  # the execution option a writing unit of work sets on its connection


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A writing unit of work: committed when the block ends, rolled back (nothing stored) if it raises."""
    with sessions() as session, session.begin():
        session.connection(execution_options={WRITES: True})
        yield session


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A reading unit of work: one consistent snapshot, no write lock."""
    with sessions() as session:
        yield session
