"""The worker's periodic chores besides timers and the outbox: polling the mailbox, keeping house."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import Settings
from sladesk.jobs.worker import Chore

MAIL_POLL_EVERY = timedelta(seconds=30)


def default_chores(settings: Settings, attachments_dir: Path | None = None) -> list[tuple[timedelta, Chore]]:
    """What every worker does now and then: poll the IMAP mailbox when one is configured."""
    from sladesk.mail.settings import load_mailbox_settings

    chores: list[tuple[timedelta, Chore]] = []
    mailbox = load_mailbox_settings()
    if mailbox.imap_host:

        def poll_mailbox(sessions: sessionmaker[Session], now: datetime) -> int:
            from sladesk.mail.imap import poll_once

            return poll_once(sessions, mailbox, now, attachments_dir=attachments_dir)

        chores.append((MAIL_POLL_EVERY, poll_mailbox))
    return chores
