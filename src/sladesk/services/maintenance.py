"""Bringing a desk's database up to date: the schema, then the caches the schema change emptied."""

from __future__ import annotations

from sqlalchemy import Engine

from sladesk.services.record import rebuild_clocks
from sladesk.store import make_sessions, transaction, upgrade


def upgrade_desk(engine: Engine, revision: str = "head") -> list[str]:
    """Migrate the database to `revision`, then recompute the stored clocks of tickets that have none.

    Returns the revisions applied, oldest first.
    """
    applied = upgrade(engine, revision)
    if revision == "head":
        with transaction(make_sessions(engine)) as session:
            rebuild_clocks(session)
    return applied
