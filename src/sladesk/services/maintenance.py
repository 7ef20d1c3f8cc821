"""Keeping a desk's database and data directory in order: the schema, the caches a schema change emptied,
and the housekeeping that time makes due."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sladesk.services.attachments import SweptFiles, sweep_orphan_files
from sladesk.services.idempotency import purge_idempotency_keys
from sladesk.services.record import rebuild_clocks
from sladesk.services.signin import forget_sign_ins
from sladesk.store import make_sessions, transaction, upgrade

log = logging.getLogger("sladesk.maintenance")


@dataclass(frozen=True)
class Housekeeping:
    """What `keep_house` did: idempotency keys forgotten, and what the attachments sweep did (None: not run)."""

    idempotency_keys: int
    files: SweptFiles | None
    sign_ins: int = 0  # ended web sessions, aged failed sign-ins and expired reset links deleted


def keep_house(session: Session, now: datetime, attachments_dir: Path | None = None) -> Housekeeping:
    """Forget idempotency keys past their retention and ended sign-ins, and, given the attachments directory,
    sweep its orphans.

    Each with its default age (`idempotency.RETENTION`, `signin.IDLE_LIMIT`, `attachments.ORPHAN_FILE_GRACE`).
    """
    keys = purge_idempotency_keys(session, now)
    sign_ins = forget_sign_ins(session, now)
    files = sweep_orphan_files(session, attachments_dir, now) if attachments_dir is not None else None
    return Housekeeping(keys, files, sign_ins)


def upgrade_desk(
    engine: Engine,
    revision: str = "head",
    *,
    attachments_dir: Path | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Migrate the database to `revision`; at the head, recompute the stored clocks of tickets that have none
    and keep house (`keep_house`, at `now`, the wall clock unless given).

    Returns the revisions applied, oldest first.
    """
    applied = upgrade(engine, revision)
    if revision == "head":
        sessions = make_sessions(engine)
        with transaction(sessions) as session:
            rebuild_clocks(session)
        try:
            with transaction(sessions) as session:
                keep_house(session, now or datetime.now(UTC), attachments_dir)
        except OSError as error:  # a desk whose directory cannot be tidied is still worth serving
            log.warning("housekeeping of the attachments directory %s failed: %s", attachments_dir, error)
    return applied
