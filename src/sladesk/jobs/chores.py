"""The worker's periodic chores besides timers and the outbox: overload notices, polling the mailbox, keeping
house."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import Settings
from sladesk.jobs.worker import Chore

MAIL_POLL_EVERY = timedelta(seconds=30)
HOUSEKEEPING_EVERY = timedelta(hours=1)
OVERLOAD_EVERY = timedelta(minutes=1)


def default_chores(settings: Settings, attachments_dir: Path | None = None) -> list[tuple[timedelta, Chore]]:
    """What every worker does now and then: tell waiting customers of an overloaded desk when help arrives
    (every minute), keep house hourly (old idempotency keys, orphaned attachment files) and poll the IMAP
    mailbox when one is configured."""
    from sladesk.mail.settings import load_mailbox_settings

    def overload_notices(sessions: sessionmaker[Session], now: datetime) -> int:
        from sladesk.services.overload import overload_notices_due, send_overload_notices
        from sladesk.store.transaction import reading, transaction

        with reading(sessions) as session:
            if not overload_notices_due(session, now):
                return 0  # nobody to tell: no write lock taken
        with transaction(sessions) as session:
            return sum(len(run.told) for run in send_overload_notices(session, now))

    def housekeeping(sessions: sessionmaker[Session], now: datetime) -> object:
        from sladesk.services.maintenance import keep_house
        from sladesk.store.transaction import transaction

        with transaction(sessions) as session:
            return keep_house(session, now, attachments_dir)

    chores: list[tuple[timedelta, Chore]] = [(OVERLOAD_EVERY, overload_notices), (HOUSEKEEPING_EVERY, housekeeping)]
    mailbox = load_mailbox_settings()
    if mailbox.imap_host:

        def poll_mailbox(sessions: sessionmaker[Session], now: datetime) -> int:
            from sladesk.mail.imap import poll_once

            return poll_once(sessions, mailbox, now, attachments_dir=attachments_dir)

        chores.append((MAIL_POLL_EVERY, poll_mailbox))
    return chores
