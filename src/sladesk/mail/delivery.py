"""One received mail filed in a unit of work of its own: what both receivers (SMTP, IMAP) do with a message.

A database failure propagates, so the receiver leaves the message with its sender (SMTP `451`) or unseen in
the mailbox (IMAP) to try again. Any other failure keeps the message in the quarantine, so it is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sladesk.errors import StoreError
from sladesk.jobs.metrics import INBOUND
from sladesk.services.inbound import InboundResult, quarantine, receive_mail
from sladesk.store.transaction import transaction

log = logging.getLogger("sladesk.mail")

# Errors worth trying again later: the database is down, busy or lost the connection.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (DBAPIError, StoreError)


def file_mail(
    sessions: sessionmaker[Session],
    raw: bytes,
    *,
    source: str,
    now: datetime,
    desk_addresses: Iterable[str],
    mail_domain: str | None = None,
    attachments_dir: Path | None = None,
) -> InboundResult:
    """Receive `raw` in a committed unit of work; the quarantine if the desk fails on it; database errors raise."""
    addresses = tuple(desk_addresses)
    try:
        with transaction(sessions) as session:
            result = receive_mail(
                session,
                raw,
                source=source,
                now=now,
                desk_address=addresses,
                mail_domain=mail_domain,
                attachments_dir=attachments_dir,
            )
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        log.exception("inbound mail could not be filed; keeping it in the quarantine")
        with transaction(sessions) as session:
            result = quarantine(session, raw, source=source, now=now, reason=f"could not be processed: {error!r}")
    INBOUND.labels(result.outcome.value).inc()
    log.info(
        "inbound mail %s",
        result.outcome.value,
        extra={
            "source": source,
            "inbound_id": result.inbound_id,
            "outcome": result.outcome.value,
            "ticket_id": result.ticket_id,
            "duplicate": result.duplicate,
        },
    )
    return result
