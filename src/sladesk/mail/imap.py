"""The IMAP poller (imapclient): the support mailbox's unseen messages become tickets and replies.

Each message is read without marking it (`BODY.PEEK[]`), filed in a unit of work of its own, and marked
`\\Seen` only after that committed. A poll that dies half-way leaves the rest unseen for the next one; a
message filed but not yet marked is found again and dropped as a duplicate by its Message-ID.
"""

from __future__ import annotations

import ssl
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError  # type: ignore[import-untyped]
from sqlalchemy.orm import Session, sessionmaker

from sladesk.config import ConfigError
from sladesk.errors import SladeskError
from sladesk.mail.delivery import file_mail
from sladesk.mail.settings import MailboxSettings

SEEN = b"\\Seen"
TIMEOUT_SECONDS = 30.0
_BODY = b"BODY[]"


class MailboxError(SladeskError):
    """The IMAP server cannot be reached, refuses the login, or has no such folder."""


def poll_once(
    sessions: sessionmaker[Session], settings: MailboxSettings, now: datetime, *, attachments_dir: Path | None = None
) -> int:
    """File every unseen message of the configured folder, each in its own unit of work; how many were filed.

    `now` is the instant the messages are received at. A database failure stops the poll (raised), leaving
    the message in hand and the rest unseen for the next poll.
    """
    if not settings.imap_host:
        raise ConfigError("SLADESK_IMAP_HOST: set the IMAP server to poll")
    addresses = settings.desk_addresses
    if not addresses:
        raise ConfigError("SLADESK_INBOUND_ADDRESSES or SLADESK_MAIL_FROM: set the desk's own address")
    filed = 0
    try:
        with _connect(settings) as client:
            client.select_folder(settings.imap_folder)
            for uid in client.search(["UNSEEN"]):
                raw = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(_BODY)
                if not isinstance(raw, bytes):
                    continue  # deleted since the search
                file_mail(
                    sessions,
                    raw,
                    source="imap",
                    now=now,
                    desk_addresses=addresses,
                    mail_domain=settings.message_id_domain,
                    attachments_dir=attachments_dir,
                )
                client.add_flags([uid], [SEEN])
                filed += 1
    except (IMAPClientError, OSError) as error:
        raise MailboxError(f"IMAP {settings.imap_host}:{settings.port}: {error}") from error
    return filed


def _connect(settings: MailboxSettings) -> IMAPClient:
    """A logged-in client of the configured server (TLS as `imap_security` says)."""
    assert settings.imap_host is not None
    context = ssl.create_default_context()
    client = IMAPClient(
        settings.imap_host,
        port=settings.port,
        ssl=settings.imap_security == "tls",
        ssl_context=context if settings.imap_security == "tls" else None,
        timeout=TIMEOUT_SECONDS,
    )
    try:
        if settings.imap_security == "starttls":
            client.starttls(context)
        if settings.imap_username:
            password = settings.imap_password.get_secret_value() if settings.imap_password else ""
            client.login(settings.imap_username, password)
    except BaseException:
        client.shutdown()
        raise
    return client
