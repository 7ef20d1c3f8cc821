"""The desk's SMTP receiver (aiosmtpd): mail for the desk's addresses becomes tickets and replies.

A message is acknowledged (`250`) only after its unit of work committed, so a mail is either stored or
still the sending server's to retry: a database that is down or busy answers `451` (try again later).
A message the desk fails on for any other reason is kept in the quarantine and acknowledged
(`sladesk.mail.delivery`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from sladesk.mail.delivery import TRANSIENT_ERRORS, file_mail

log = logging.getLogger("sladesk.mail")

ACCEPTED = "250 2.0.0 Message accepted"
UNKNOWN_MAILBOX = "550 5.1.1 No such mailbox here"
TRY_AGAIN = "451 4.3.0 The desk cannot store mail right now; try again later"


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class DeskHandler:
    """aiosmtpd handler: accepts mail for `addresses` and files each message in a unit of work of its own.

    `clock` gives `now` for each message (the wall clock unless a test fixes it).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        addresses: Iterable[str],
        *,
        mail_domain: str | None = None,
        attachments_dir: Path | None = None,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self.sessions = sessions
        self.addresses = frozenset(address.lower() for address in addresses)
        if not self.addresses:
            raise ValueError("the SMTP receiver needs at least one desk address to accept mail for")
        self.mail_domain = mail_domain
        self.attachments_dir = attachments_dir
        self.clock = clock

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.addresses:
            return UNKNOWN_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        # The receiver is the mail's last stop, so it records the envelope sender as the Return-Path
        # (RFC 5321, 4.4): an empty one (`<>`) marks a bounce, which must never be answered.
        envelope_sender = (envelope.mail_from or "").strip().strip("<>")  # aiosmtpd gives `<>` for the null sender
        raw = f"Return-Path: <{envelope_sender}>\r\n".encode() + content
        return await asyncio.get_running_loop().run_in_executor(None, self.deliver, raw)

    def deliver(self, raw: bytes) -> str:
        """File one message and give the SMTP answer: 250 once it is stored, 451 if it could not be."""
        try:
            file_mail(
                self.sessions,
                raw,
                source="smtp",
                now=self.clock(),
                desk_addresses=self.addresses,
                mail_domain=self.mail_domain,
                attachments_dir=self.attachments_dir,
            )
        except TRANSIENT_ERRORS as error:
            log.warning("inbound mail deferred: the database failed: %s", error)
            return TRY_AGAIN
        return ACCEPTED


def receiver(handler: DeskHandler, host: str, port: int, **smtp_options: Any) -> Controller:
    """An SMTP server for `handler` on host:port, not started yet (`start()`, then `stop()`)."""
    return Controller(handler, hostname=host, port=port, **smtp_options)
